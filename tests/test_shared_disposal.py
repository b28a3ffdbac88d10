"""Shared disposal: a facility several firms send what they cannot place to (ODD §7.18)."""

import numpy as np
import pytest
from conftest import run, shipped_park_header, with_shipped_catalogue

from simulation.model.finance import monthly_payment
from simulation.model.recorder import DISPOSED

# A power station's fly ash can replace clinker at a cement works 220 km away: with no landfill tax, the 25 EUR/t
# gate fee it saves just pays for the haul. A park landfill cell the station shares with a foundry takes it for
# 10 EUR/t.
PARK = shipped_park_header("shared_landfill", 3) + """
[[firms]]
id = "power"
sector = "power"
x_km = 0.0
y_km = 0.0
capacity = 100000.0

[[firms]]
id = "foundry"
sector = "foundry"
x_km = 1.0
y_km = 0.0
capacity = 2000.0

[[firms]]
id = "cement"
sector = "cement"
x_km = 220.0
y_km = 0.0
capacity = 30000.0

[[shared_disposal]]
id = "park_landfill"
materials = ["fly_ash", "spent_foundry_sand"]
members = ["power", "foundry"]
fee_eur_per_unit = 10.0
capex_eur = 2000000.0
payoff_months = 240
opex_eur_per_month = 5000.0
sharing = "equal"
"""


def landfill_park(folder, *overrides, seed=1):
    return run(with_shipped_catalogue(folder, PARK, *overrides), seed=seed)


def fly_ash_links(model):
    book, waste = model.contracts, model.materials.index["fly_ash"]
    return [c for c in range(len(book)) if book.waste[c] == waste]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cheaper_shared_disposal_keeps_the_fly_ash_from_a_far_reuse_that_the_public_gate_fee_pays_for(tmp_path, seed):
    """Cheaper disposal is a cheaper outside option: the supplier saves less by exchanging its waste."""
    assert fly_ash_links(landfill_park(tmp_path, "shared_disposal=[]", seed=seed))
    assert fly_ash_links(landfill_park(tmp_path, seed=seed)) == []
    # At the public gate fee the facility saves nothing, and the exchange pays as without it.
    assert fly_ash_links(landfill_park(tmp_path, "shared_disposal.0.fee_eur_per_unit=25", seed=seed))


def facility_cost(model, capex=2_000_000.0, opex=5000.0):
    return monthly_payment(capex, model.params.firm_defaults.interest_rate_per_year, 240) + opex


@pytest.mark.parametrize("sharing", ["equal", "flow"])
def test_the_members_pay_the_facility_cost_every_month_and_the_savings_still_add_up(tmp_path, sharing):
    model = landfill_park(tmp_path, f"shared_disposal.0.sharing={sharing}")
    assert model.recorder.series("shared_disposal_eur") == pytest.approx(facility_cost(model), rel=1e-12)
    firms_savings = model.datacollector.get_agent_vars_dataframe()["savings"].groupby(level=0).sum().to_numpy()
    assert firms_savings == pytest.approx(model.recorder.series("savings_eur"), rel=1e-9, abs=1e-6)


def test_the_members_pay_its_fee_in_place_of_the_gate_fee(tmp_path):
    """Without any exchange (the cement works gone), the station and the foundry pay the fee on all they dispose of
    instead of the gate fee: their cash ends higher by (gate fee - fee) x what they disposed of, less the facility."""
    alone = ("firms=[" + ", ".join([
        '{id = "power", sector = "power", x_km = 0.0, y_km = 0.0, capacity = 100000.0}',
        '{id = "foundry", sector = "foundry", x_km = 1.0, y_km = 0.0, capacity = 2000.0}']) + "]",)
    shared, public = landfill_park(tmp_path, *alone), landfill_park(tmp_path, *alone, "shared_disposal=[]")
    flows, materials = np.array(shared.recorder.material_flows), shared.config.catalogue.materials
    saved = sum((materials[m].gate_fee_eur - 10.0) * flows[:, shared.materials.index[m], DISPOSED].sum()
                for m in ("fly_ash", "spent_foundry_sand"))
    months = shared.n_periods
    assert shared.firms.cash.sum() - public.firms.cash.sum() == pytest.approx(saved - months * facility_cost(shared),
                                                                              rel=1e-9)


def test_a_facility_dearer_per_unit_than_the_public_route_is_not_used_but_still_paid_for(tmp_path):
    """Shared by flow, a facility whose cost per tonne sent would exceed what it saves is passed over: the members
    use the public route (so the far reuse pays again) and pay for the facility in equal shares."""
    dear = landfill_park(tmp_path, "shared_disposal.0.sharing=flow", "shared_disposal.0.capex_eur=2e7")
    assert fly_ash_links(dear)
    assert dear.recorder.series("shared_disposal_eur") == pytest.approx(facility_cost(dear, capex=2e7), rel=1e-12)


def test_under_the_flow_rule_the_route_does_not_swing_from_month_to_month(tmp_path):
    """The charge per tonne is reckoned on the waste the members expect and have not promised away, not on what
    went through last month: otherwise a facility used one month looks dear the next (little went through), is
    dropped, looks cheap again, and the members' outside option flips every other month."""
    model = run(with_shipped_catalogue(tmp_path, PARK, "shared_disposal.0.sharing=flow", "shared_disposal.0.capex_eur=1e7"),
                seed=1, collect=False)
    streams = np.arange(len(model.supply.material))
    used = []
    while model.running:
        model.step()
        used.append(tuple(model.economics.disposal_routes(model.month, streams)[0].tolist()))
    flips = [t for t in range(1, len(used) - 1) if used[t - 1] == used[t + 1] != used[t]]
    assert not flips, f"routes flip back and forth in months {flips}"
