"""What one run of a sweep adds up to: its outcome measures.

Totals are sums over the run's months of the monthly measures of
:mod:`simulation.model.recorder`; waste in t counts mass streams only, as there.
"""

import math

import numpy as np

from simulation.errors import RunFailed
from simulation.model.contract import ENDED, REASON
from simulation.model.keyed import first_occurrences
from simulation.model.recorder import MEASURES

SUMMED = ("waste_generated_t", "waste_landfilled_t", "waste_sold_t", "virgin_avoided_t", "energy_exchanged_mwh", "water_exchanged_m3",
          "co2_avoided_t", "savings_eur", "government_net_revenue_eur", "fiscal_effect_eur", "subsidies_eur", "waste_tax_eur")


def _totals(names):
    """Summed monthly measures, described as in :mod:`simulation.model.recorder`."""
    return {name: f"{MEASURES[name]} (run total)" for name in names}


RUN_MEASURES = {
    "links_formed": "links formed over the run (renewals excluded)",
    "distinct_links_formed": "distinct (supplier, receiver, material) triples linked over the run: a link formed again counts once",
    "active_links_end": "links delivering in the last month",
    "mean_active_links": "mean links delivering per month",
    "peak_network_firms": "peak of the network's smoothed size, firms (outcome rule)",
    "peak_network_flow_eur": "peak of the network's smoothed monthly flow at catalogue prices, EUR (outcome rule)",
    "firms_linked_end": "firms with at least one active link in the last month",
    **_totals(SUMMED[:1]),
    "waste_diverted_t": "waste exchanged or reused, t",
    "waste_diverted_share": "diverted / generated, mass streams (NaN if none generated)",
    **_totals(SUMMED[1:]),
    "mean_link_life_months": "mean months from first delivery to end (or run end) of links that delivered; NaN if none",
    "links_broken": "contracts ended by a breach",
    "formed_month": "period the network formed (NaN if never)",
    "collapsed_month": "period the network collapsed (NaN if not)",
}
# Measures renamed since stores were first written: old name -> (new name, factor turning an old value into a new one).
# Stores keep their columns; readers see the new names, so old results stay readable.
RENAMED = {"government_net_cost_eur": ("government_net_revenue_eur", -1.0)}  # sign flipped: + = the state gains
BREACHES = (REASON["breached by supplier"], REASON["breached by receiver"])
# Measures that are NaN when they do not apply (nothing generated, no link, never formed); all others are finite.
UNDEFINED_WHEN_NOT_APPLICABLE = ("waste_diverted_share", "mean_link_life_months", "formed_month", "collapsed_month")


def distinct_links(book):
    """How many distinct (supplier, receiver, material) triples the contract book links."""
    return len(set(zip(book.supplier.tolist(), book.receiver.tolist(), book.waste.tolist())))


def run_measures(model, outcome):
    """Every measure of :data:`RUN_MEASURES` for a finished run, as floats.

    Reads the months from ``model.recorder``, so it needs no DataCollector. numpy's
    sum of a float64 series is the one pandas' ``Series.sum`` makes (pairwise), so
    the totals are those of the DataCollector frame to the bit.
    """
    series = model.recorder.series
    totals = {name: float(series(name).sum()) for name in SUMMED}
    diverted = float(series("waste_exchanged_t").sum() + series("waste_reused_t").sum())
    generated = totals["waste_generated_t"]
    book = model.contracts
    return _checked(model, {
        "links_formed": float(book.n_links),
        "distinct_links_formed": float(distinct_links(book)),
        "active_links_end": float(series("active_links")[-1]),
        "mean_active_links": float(series("active_links").mean()),
        "peak_network_firms": float(outcome.peak_firms),
        "peak_network_flow_eur": float(outcome.peak_flow_eur),
        "firms_linked_end": float(series("firms_linked")[-1]),
        **totals,
        "waste_diverted_t": diverted,
        "waste_diverted_share": diverted / generated if generated > 0 else float("nan"),
        "mean_link_life_months": mean_link_life(model),
        "links_broken": float(np.isin(book.reason[book.status == ENDED], BREACHES).sum()),
        "formed_month": _month(outcome.formed_period),
        "collapsed_month": _month(outcome.collapsed_period),
    })


def _checked(model, measures):
    """The measures, or RunFailed if one is infinite, or NaN where it should have a value."""
    for name, value in measures.items():
        if math.isinf(value) or (math.isnan(value) and name not in UNDEFINED_WHEN_NOT_APPLICABLE):
            raise RunFailed(model.config.path, name, f"came out {value} over the run; a value of the scenario is "
                                                     f"probably far outside what the model can compute with")
    return measures


def mean_link_life(model):
    """Mean months from a link's first delivery to its end, counting links still running up to the run's end."""
    book, start = model.contracts, model.deals.link_start
    if book.size == 0:
        return float("nan")
    # The latest contract of a link (its last renewal) says whether and when the link ended.
    last = book.size - 1 - first_occurrences(book.link[::-1])
    links = book.link[last]
    delivered = start[links] >= 0
    end = np.where(book.status[last] == ENDED, book.end[last], model.period)
    life = (end - start[links])[delivered]
    return float(life.mean()) if len(life) else float("nan")


def _month(period):
    return float("nan") if period is None else float(period)
