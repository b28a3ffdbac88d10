"""Stylized facts 1, 3 and 7 of the literature, on average over replicates of a synthetic park.

Each comparison runs the same seeds under two conditions, so the difference is
the policy's or cost's effect, not the draw of the park.
"""

import numpy as np
import pytest

from conftest import DATA, run
from simulation.contract import END_REASONS
from simulation.scenario import load

SEEDS = (1, 2, 3, 4)


def replicate(*overrides):
    scenario = load(DATA / "facts_park.toml", ["events=[]", *overrides])
    return [run(scenario, seed=seed, record_exchanges=False) for seed in SEEDS]


def mean(models, measure):
    return float(np.mean([measure(m) for m in models]))


def active_links(model):
    """Active links averaged over the run."""
    return model.datacollector.get_model_vars_dataframe().active_links.mean()


def diverted(model):
    frame = model.datacollector.get_model_vars_dataframe()
    return (frame.waste_exchanged_t.sum() + frame.waste_reused_t.sum()) / frame.waste_generated_t.sum()


def mean_link_km(model):
    book = model.contracts
    return float(book.distance_km[book.renewal_of < 0].mean())


def landfilled(model):
    frame = model.datacollector.get_model_vars_dataframe()
    return frame.waste_landfilled_t.sum() / frame.waste_generated_t.sum()


def paired(low, high, measure):
    """Per-seed differences high - low (same seed, same park layout)."""
    return np.array([measure(b) - measure(a) for a, b in zip(low, high)])


def test_fact_1_landfill_tax_raises_exchanges_and_diversion():
    low = replicate("policy.landfill_tax_eur_per_t=0")
    high = replicate("policy.landfill_tax_eur_per_t=200")
    for measure in (active_links, diverted):
        gain = paired(low, high, measure)
        assert gain.mean() > 0 and (gain > 0).sum() >= 3, (measure.__name__, gain)
    assert paired(low, high, landfilled).mean() < 0


def test_fact_3_transport_cost_gives_fewer_and_shorter_links():
    cheap = replicate("park.radius_km=30", "logistics.transport_cost_factor=1")
    dear = replicate("park.radius_km=30", "logistics.transport_cost_factor=10")
    assert mean(dear, active_links) < 0.85 * mean(cheap, active_links)
    assert mean(dear, mean_link_km) < 0.9 * mean(cheap, mean_link_km)


def test_fact_3_larger_distances_give_fewer_links():
    compact = replicate("park.radius_km=8")
    spread = replicate("park.radius_km=150")
    assert mean(spread, active_links) < 0.8 * mean(compact, active_links)


@pytest.mark.parametrize("seed", SEEDS)
def test_fact_7_fuel_switch_ends_only_the_links_on_the_vanished_wastes(seed):
    model = run(load(DATA / "facts_park.toml"), seed=seed, record_exchanges=False)
    book, switch = model.contracts, model.calendar.period_of("2030-01")
    hub = model.firm_ids.index("hub")
    gone = {model.materials.index[m] for m in ("fly_ash", "fgd_gypsum")}
    kept = {model.materials.index[m] for m in ("steam", "surplus_heat", "warm_seawater")}
    from_hub = np.flatnonzero(book.supplier == hub)
    before = from_hub[book.start[from_hub] < switch]
    on_gone = [c for c in before if book.waste[c] in gone]
    on_kept = [c for c in before if book.waste[c] in kept and (book.end[c] < 0 or book.end[c] > switch)]
    assert on_gone and on_kept, "the hub should have links on both kinds of output before the switch"
    for c in on_gone:
        # Each ended by the switch at the latest (unless renewed or ended earlier for its own reasons).
        assert 0 <= book.end[c] <= switch
        if book.end[c] == switch:
            assert END_REASONS[book.reason[c]] == "supply stopped"
    assert not any(book.waste[c] in gone for c in from_hub[book.start[from_hub] >= switch])
    assert any(END_REASONS[book.reason[c]] != "supply stopped" for c in on_kept)
