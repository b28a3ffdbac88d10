"""A run's result tables: CSV tables, run metadata and the summary table.

:mod:`simulation.output.results` writes them (with the figures) into a staging
folder next to the destination, swapped in only when complete
(:mod:`simulation.output.files`), so a failed run never leaves a half-written
result, and an earlier result is replaced as a whole or not at all. Files contain no timestamps or timings, so the same scenario and
seed give byte-identical files. Numbers are written at full precision (each
float as the shortest text that reads back to the same value) and are all
finite: a NaN or infinity stops the writing with
:class:`~simulation.errors.RunFailed`.
"""

import platform

import numpy as np
import pandas as pd

from simulation import __version__
from simulation.errors import RunFailed
from simulation.measures.summary import distinct_links
from simulation.model.contract import END_REASONS, LOG_COLUMNS, MODES
from simulation.model.firm import EXIT_REASONS
from simulation.model.recorder import FLOW_COLUMNS, MEASURES


def period_table(model):
    frame = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    frame.insert(0, "month", [model.calendar.label(t) for t in range(len(frame))])
    frame.insert(0, "period", range(len(frame)))
    return frame


def flow_table(model):
    rows = []
    for t, table in enumerate(model.recorder.material_flows):
        for i, material in enumerate(model.materials.ids):
            if table[i].any():
                rows.append([t, material, model.materials.unit[i], *table[i].tolist()])
    return pd.DataFrame(rows, columns=["period", "material", "unit", *FLOW_COLUMNS])


def exchange_table(model):
    book = model.contracts
    parts = []
    for period, ids, promised, shipped, received in model.recorder.exchanges:
        parts.append(pd.DataFrame({
            "period": period, "contract": ids, "link": book.link[ids],
            "promised": promised, "shipped": shipped, "received_as_input": received,
        }))
    if not parts:
        return pd.DataFrame(columns=["period", "contract", "link", "promised", "shipped", "received_as_input"])
    return pd.concat(parts, ignore_index=True)


def contract_table(model):
    rows = model.contracts.log_rows(model.firm_ids, model.materials.ids, model.calendar, model.networks.ids)
    return pd.DataFrame(rows, columns=LOG_COLUMNS)  # the header even when no contract was signed


def link_table(model):
    """One row per link (supplier + receiver + waste + input, across renewals): the timeline of the network.

    ``delivering_from`` is the first month it delivered (empty if its pipeline was
    never finished); ``ended`` and ``end_reason`` are its last contract's, empty
    while it still runs at the end.
    """
    book = model.contracts
    label = model.calendar.label
    # Contracts grouped by link, in signing order within each (one sort, not one scan per link).
    by_link = book.link.argsort(kind="stable")
    bounds = book.link[by_link].searchsorted(np.arange(book.n_links + 1))
    rows = []
    for link in range(book.n_links):
        ids = by_link[bounds[link]:bounds[link + 1]]
        first, last = int(ids[0]), int(ids[-1])
        still_running = book.end[last] < 0 or END_REASONS[book.reason[last]] == "run ended"
        start = int(model.deals.link_start[link])
        rows.append({
            "link": link,
            "material": model.materials.ids[book.waste[first]],
            "replaces": model.materials.ids[book.input[first]],
            "supplier": model.firm_ids[book.supplier[first]],
            "receiver": model.firm_ids[book.receiver[first]],
            "mode": MODES[book.mode[first]],
            "distance_km": float(book.distance_km[first]),
            "signed": label(int(book.start[first])),
            "delivering_from": label(start) if start >= 0 else "",
            "ended": "" if still_running else label(int(book.end[last])),
            "end_reason": "" if still_running else END_REASONS[book.reason[last]],
            "contracts": len(ids),
            "delivered_total": float(book.delivered_total[ids].sum()),
            "unit": model.materials.unit[book.waste[first]],
            # Under toll conversion the receiver converts and the product replaces the supplier's own input.
            "product_returned_to": model.firm_ids[book.supplier[first]] if book.toll[first] else "",
        })
    return pd.DataFrame(rows, columns=LINK_COLUMNS)


LINK_COLUMNS = ["link", "material", "replaces", "supplier", "receiver", "mode", "distance_km", "signed",
                "delivering_from", "ended", "end_reason", "contracts", "delivered_total", "unit", "product_returned_to"]

YEARLY = {  # yearly benefit -> monthly measure summed over the year
    "co2_avoided_t": "co2_avoided_t",
    "co2_attributed_t": "co2_attributed_t",
    "water_saved_m3": "water_exchanged_m3",
    "energy_exchanged_mwh": "energy_exchanged_mwh",
    "energy_saved_mwh": "energy_saved_mwh",
    "virgin_materials_saved_t": "virgin_avoided_t",
    "waste_exchanged_t": "waste_exchanged_t",
    "waste_reused_t": "waste_reused_t",
    "waste_landfilled_t": "waste_landfilled_t",
    "waste_sold_t": "waste_sold_t",
    "firms_savings_eur": "savings_eur",
    "government_net_fiscal_effect_eur": "fiscal_effect_eur",
}


def yearly_table(model):
    """Benefits by calendar year: sums of the monthly measures, and links active at the year's end.

    Waste diverted is what was exchanged or reused instead of disposed of; the
    government's net fiscal effect is what the exchanges changed in its net
    revenue, + = the state gains (taxes forgone and subsidies paid make it negative).
    """
    frame = period_table(model)
    frame["year"] = frame["month"].str.slice(0, 4).astype(int)
    grouped = frame.groupby("year")
    table = pd.DataFrame({name: grouped[measure].sum() for name, measure in YEARLY.items()})
    table.insert(table.columns.get_loc("waste_reused_t") + 1, "waste_diverted_t", table["waste_exchanged_t"] + table["waste_reused_t"])
    table["active_links_end_of_year"] = grouped["active_links"].last()
    table["months"] = grouped.size()
    return table.reset_index()


def formed(links):
    """Month each link of a link table formed: its first delivery, or its signing if it never delivered."""
    return links["delivering_from"].where(links["delivering_from"] != "", links["signed"])


def format_timeline(links, calendar_end):
    """The link timeline as printed text: one line per link, oldest first."""
    if links.empty:
        return "  no link formed"
    lines = [f"  {'material':<22} {'supplier':<16} -> {'receiver':<16} {'formed':<7} {'ended':<7} why it ended"]
    for row in links.assign(formed=formed(links)).sort_values(["signed", "link"]).itertuples():
        formed_year = row.formed[:4]
        ended = row.ended[:4] if row.ended else "-"
        reason = row.end_reason or f"running in {calendar_end}"
        lines.append(f"  {row.material:<22} {row.supplier:<16} -> {row.receiver:<16} {formed_year:<7} {ended:<7} {reason}")
    return "\n".join(lines)


def metadata(model, command, outcome):
    scenario = model.config
    return {
        "scenario": scenario.name,
        "scenario_file": str(scenario.path),
        "scenario_sha256": scenario.content_hash,
        "overrides": list(scenario.overrides),
        "seed": model.seed,
        "periods": model.period,
        "start": model.calendar.label(0),
        "package_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "command": command,
        "outcome": {
            "regime": outcome.regime,
            "formed": model.calendar.label(outcome.formed_period) if outcome.formed_period is not None else None,
            "collapsed": model.calendar.label(outcome.collapsed_period) if outcome.collapsed_period is not None else None,
            "peak_network_firms": float(outcome.peak_firms),
            "peak_network_flow_eur": float(outcome.peak_flow_eur),
            "drop_share": float(outcome.drop_share),
        },
        "measures": MEASURES,
    }


def firm_table(model):
    """One row per firm: who it is, when it entered and left the park and why (empty while it stays)."""
    f, label = model.firms, model.calendar.label
    rows = [{"firm": spec.id, "name": spec.name or spec.id, "sector": spec.sector,
             "process": agent.process if agent is not None else "",
             "entered": label(int(f.entry[i])) if agent is not None else "",
             "left": label(int(f.left[i])) if f.left[i] >= 0 else "",
             "why_left": EXIT_REASONS[f.exit_reason[i]]}
            for i, (spec, agent) in enumerate(zip(f.specs, f.agents))]
    return pd.DataFrame(rows, columns=["firm", "name", "sector", "process", "entered", "left", "why_left"])


def departures(model):
    """The firms that left, in order, as text: ``power 2033-07 (closed after losses)``; "none" if none did."""
    table = firm_table(model)
    gone = table[table["left"] != ""].sort_values("left", kind="stable")
    return ", ".join(f"{row.firm} {row.left} ({row.why_left})" for row in gone.itertuples()) or "none"


def endings(model):
    """How many links ended (renewals not counted) for each reason, most common first, as text."""
    book = model.contracts
    counts = pd.Series([END_REASONS[r] for r in book.reason[book.end >= 0]], dtype=object)
    counts = counts[~counts.isin(["renewed", "run ended"])].value_counts(sort=True)
    return ", ".join(f"{count} {reason}" for reason, count in counts.items()) or "none"


def clauses(model):
    """What the contracts signed carry (price indexation, deliver-or-pay, take-or-pay), as text; "none" if none does."""
    book = model.contracts
    n = book.size
    parts = [f"{np.count_nonzero(share[:n] > 0)} of {n} with {name}"
             for name, share in (("price indexation", book.indexation), ("deliver-or-pay", book.deliver_or_pay),
                                 ("take-or-pay", book.take_or_pay)) if (share[:n] > 0).any()]
    return ", ".join(parts) or "none"


def summary(model, outcome):
    """Key figures of a run as (label, value) rows."""
    frame = model.datacollector.get_model_vars_dataframe()
    generated = frame["waste_generated_t"].sum()
    diverted = frame["waste_exchanged_t"].sum() + frame["waste_reused_t"].sum()
    book = model.contracts
    return [
        ("outcome", outcome.describe(model.calendar)),
        ("links formed (ever)", f"{book.n_links}, between {distinct_links(book)} distinct supplier-receiver-material "
                                f"triples, in {len(book)} contracts with renewals"),
        ("links active at end", f"{int(frame['active_links'].iloc[-1])}"),
        ("firms linked at end", f"{int(frame['firms_linked'].iloc[-1])} of {int(frame['active_firms'].iloc[-1])}"),
        ("firms that left", departures(model)),
        ("contracts ended", endings(model)),
        ("contract clauses", clauses(model)),
        ("waste diverted", f"{diverted / generated:.1%} of {generated:,.0f} t" if generated else "no mass waste"),
        ("energy exchanged", f"{frame['energy_exchanged_mwh'].sum():,.0f} MWh delivered (gross); "
                             f"{frame['energy_saved_mwh'].sum():,.0f} MWh of fuel saved (net)"),
        ("water exchanged", f"{frame['water_exchanged_m3'].sum():,.0f} m3"),
        ("CO2 avoided", f"{frame['co2_avoided_t'].sum():,.0f} t"),
        ("firms' savings", f"{frame['savings_eur'].sum():,.0f} EUR"),
        ("government net revenue", f"{frame['government_net_revenue_eur'].sum():+,.0f} EUR (taxes - subsidies; {STATE_GAINS})"),
        ("fiscal effect of exchanges", f"{frame['fiscal_effect_eur'].sum():+,.0f} EUR (vs no exchange; {STATE_GAINS})"),
    ]


STATE_GAINS = "+ = the state gains"  # the one sign convention for every government figure


def format_summary(rows):
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label:<{width}}  {value}" for label, value in rows)


TABLES = {
    "periods.csv": period_table,
    "contracts.csv": contract_table,
    "exchanges.csv": exchange_table,
    "flows.csv": flow_table,
    "links.csv": link_table,
    "yearly.csv": yearly_table,
    "firms.csv": firm_table,
}


def check_finite(frame, name, model):
    """Refuse to write a table holding NaN or an infinity (empty cells of text columns are fine)."""
    numbers = frame.select_dtypes("number")
    bad = ~np.isfinite(numbers.to_numpy(float))
    if bad.any():
        row, column = (int(i[0]) for i in np.nonzero(bad))
        raise RunFailed(model.config.path, f"{name}: {numbers.columns[column]}",
                        f"is {numbers.iat[row, column]} in row {row + 1}; a value of the scenario is probably far "
                        f"outside what the model can compute with, so nothing was written")
