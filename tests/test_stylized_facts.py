"""Stylized facts 1 to 7 of the literature, on average over replicates of synthetic parks.

Each comparison runs the same seeds under two conditions, so the difference is
the policy's or cost's effect, not the draw of the park.
"""

import numpy as np
import pytest
from conftest import DATA, run

from simulation.model.contract import END_REASONS
from simulation.scenario import load

SEEDS = (1, 2, 3, 4)


def replicate(*overrides, seeds=SEEDS, park="facts_park.toml"):
    scenario = load(DATA / park, ["events=[]", *overrides])
    return [run(scenario, seed=seed, record_exchanges=False) for seed in seeds]


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


# Since scrap is sold and capex financed, policy effects are a few per cent of links with some seeds below zero:
# twelve pairs and a one-sided paired t test at alpha = 0.05 (the claims also hold on seeds 13-24).
PAIRED_SEEDS = tuple(range(1, 13))
ALPHA = 0.05


def significantly_positive(gain):
    from scipy import stats

    return stats.ttest_1samp(gain, 0.0, alternative="greater").pvalue < ALPHA


def paired(low, high, measure):
    """Per-seed differences high - low (same seed, same park layout)."""
    return np.array([measure(b) - measure(a) for a, b in zip(low, high)])


@pytest.fixture(scope="module")
def tax_runs():
    return {tax: replicate(f"policy.landfill_tax_eur_per_t={tax}", seeds=PAIRED_SEEDS) for tax in (0, 200)}


def test_fact_1_landfill_tax_raises_exchanges(tax_runs):
    gain = paired(tax_runs[0], tax_runs[200], active_links)
    assert significantly_positive(gain), gain


@pytest.mark.xfail(strict=True, reason="since scrap is sold rather than landfilled (issue 11), a 200 EUR/t landfill tax "
                   "adds links but no significant diversion (seeds 1-12: -0.06 points, p = 0.54; seeds 13-24: +0.3 "
                   "points, p = 0.19); the mechanisms of the next issue are to restore it or the ODD to say why not")
def test_fact_1_landfill_tax_raises_diversion_and_cuts_landfill(tax_runs):
    low, high = tax_runs[0], tax_runs[200]
    assert significantly_positive(paired(low, high, diverted))
    assert significantly_positive(-paired(low, high, landfilled))


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


def government_net_cost(model):
    return model.datacollector.get_model_vars_dataframe().government_net_cost_eur.sum()


def mass_links_born(model):
    book = model.contracts
    return int(model.materials.is_mass[book.waste[book.renewal_of < 0]].sum())


def test_fact_2_subsidy_raises_exchanges_and_government_net_cost():
    none = replicate("policy.subsidy_eur_per_t=0", seeds=PAIRED_SEEDS)
    paid = replicate("policy.subsidy_eur_per_t=10", seeds=PAIRED_SEEDS)
    gain = paired(none, paid, active_links)
    assert significantly_positive(gain) and gain.mean() > 0.05 * mean(none, active_links), gain
    assert significantly_positive(paired(none, paid, mass_links_born)), "the subsidy is paid on mass wastes, so more of them trade"
    # The subsidy bill outweighs any change in the landfill tax collected.
    assert (paired(none, paid, government_net_cost) > 0).all()


# Fact 4. Without a contract a side walks away, free, after one losing month; under a contract
# breaking costs two years of the larger side's expected gain. Both sign the same deals.
NO_CONTRACT = ("policy.breach_penalty_months=0", "contract.review_months=1")
CONTRACT = ("policy.breach_penalty_months=24",)


def link_life(model):
    """Mean months a link delivers: link-months over links born (links alive at the end count to the end)."""
    frame = model.datacollector.get_model_vars_dataframe()
    return frame.active_links.sum() / frame.links_born.sum()


def break_rate(model):
    """Links ended (breached, lapsed or dropped; renewals excluded) per 100 link-years."""
    frame = model.datacollector.get_model_vars_dataframe()
    return 1200 * frame.links_ended.sum() / frame.active_links.sum()


@pytest.fixture(scope="module")
def contract_runs():
    """Runs with and without contracts, under calm and turbulent virgin prices."""
    return {(contract, turbulence): replicate(*overrides, f"market.price_volatility={turbulence}")
            for contract, overrides in (("none", NO_CONTRACT), ("contract", CONTRACT))
            for turbulence in (0.0, 0.15)}


def test_fact_4_contracts_give_longer_links_and_fewer_breaks(contract_runs):
    none, contract = contract_runs["none", 0.15], contract_runs["contract", 0.15]
    assert (paired(none, contract, link_life) > 0).sum() >= 3
    assert mean(contract, link_life) > 1.05 * mean(none, link_life)
    assert (paired(none, contract, break_rate) < 0).all()
    assert mean(contract, break_rate) < 0.85 * mean(none, break_rate)


def test_fact_4_contracts_stabilise_most_under_price_turbulence(contract_runs):
    """The literature's interaction with market turbulence (docs/odd.md §1.1: not the one with supply uncertainty)."""
    def effect(turbulence, measure):
        return paired(contract_runs["none", turbulence], contract_runs["contract", turbulence], measure).mean()

    assert effect(0.15, link_life) > effect(0.0, link_life) + 2
    assert effect(0.15, break_rate) < effect(0.0, break_rate) - 1


# Fact 5: early formation (three years) shows what a platform adds to search by neighbourhood,
# acquaintances and discovery; more seeds, as the platform's effect is a few links in ninety.
PLATFORM_SEEDS = tuple(range(1, 17))


def savings(model):
    return model.datacollector.get_model_vars_dataframe().savings_eur.sum()


def test_fact_5_platform_has_a_participation_threshold():
    runs = {share: replicate(f"policy.facilitator_participation={share}", "scenario.years=3", seeds=PLATFORM_SEEDS)
            for share in (0.0, 0.1, 0.4, 1.0)}
    for measure in (active_links, savings):
        gain = {share: paired(runs[0.0], runs[share], measure) for share in (0.1, 0.4, 1.0)}
        full = gain[1.0].mean()
        assert full > 0 and (gain[1.0] > 0).sum() >= 14, (measure.__name__, gain[1.0])
        # Below the threshold: no measurable effect, about as often worse as better.
        assert abs(gain[0.1].mean()) < 0.2 * full and (gain[0.1] > 0).sum() <= 10, (measure.__name__, gain[0.1])
        # Above it the benefit grows with participation.
        assert gain[0.1].mean() < gain[0.4].mean() < gain[1.0].mean(), (measure.__name__, gain)


# Fact 6 on a small park whose power station ("hub") alone feeds most neighbours; a second,
# identical station ("backup") makes its wastes redundant unless an event takes it out at month 0.
HUB_EXIT = "2029-01"
HUB_SEEDS = (1, 2, 3, 4, 5, 6)


def hub_removal(redundant):
    events = ([] if redundant else ['{at = 0, firm = "backup", leave = true}']) + [f'{{at = "{HUB_EXIT}", firm = "hub", leave = true}}']
    return replicate("events=[" + ", ".join(events) + "]", park="hub_park.toml", seeds=HUB_SEEDS)


def deliveries_at(model, period, supplier=None):
    """(receiver, waste) pairs with a link delivering in ``period`` (from ``supplier`` only, if given)."""
    book = model.contracts
    started = model.deals.link_start[book.link]
    alive = (started >= 0) & (started <= period) & (book.start <= period) & ((book.end < 0) | (book.end > period))
    if supplier is not None:
        alive &= book.supplier == model.firm_ids.index(supplier)
    return set(zip(book.receiver[alive].tolist(), book.waste[alive].tolist()))


def resupplied(model):
    """Share of the (receiver, waste) pairs the hub fed in its last month that are fed again two years on."""
    exit = model.calendar.period_of(HUB_EXIT)
    fed = deliveries_at(model, exit - 1, supplier="hub")
    assert fed, "the hub should feed its neighbours before it leaves"
    return len(fed & deliveries_at(model, exit + 24)) / len(fed)


def largest_group(model, first, last):
    """Share of active firms in the largest linked group, averaged over months ``first`` to ``last`` after the exit."""
    exit = model.calendar.period_of(HUB_EXIT)
    return model.datacollector.get_model_vars_dataframe().largest_component_share[exit + first:exit + last + 1].mean()


def component_after_exit(model):
    """The largest linked group over the second year after the exit."""
    return largest_group(model, 12, 23)


@pytest.fixture(scope="module")
def hub_runs():
    return {redundant: hub_removal(redundant) for redundant in (False, True)}


def test_fact_6_removing_a_sole_producer_hub_breaks_the_network(hub_runs):
    alone = hub_runs[False]
    # The hub's receivers find no other source, and the linked network falls apart.
    assert mean(alone, resupplied) < 0.2
    assert all(largest_group(m, -1, -1) == 1.0 for m in alone), "every firm is linked to the rest before the exit"
    assert mean(alone, component_after_exit) < 0.75


def test_fact_6_redundant_producers_make_the_network_resilient(hub_runs):
    alone, backed = hub_runs[False], hub_runs[True]
    assert (paired(alone, backed, resupplied) >= 0.25).all()
    assert (paired(alone, backed, component_after_exit) > 0).all()
    assert mean(backed, component_after_exit) > 0.95
