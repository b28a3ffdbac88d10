"""Unit costs: what firms pay per unit follows the policy in force and scheduled price events."""

import pytest
from conftest import mini

from simulation.model.materials import MaterialTable, SubstitutionTable
from simulation.model.policy import PolicyTimeline


def test_unit_costs_follow_price_events_under_one_policy():
    scenario = mini()
    materials = MaterialTable(scenario.catalogue)
    policy = PolicyTimeline(scenario.policy).at(0)
    material = materials.ids[0]
    before = materials.unit_costs(policy)
    materials.set_value(material, "gate_fee_eur", float(materials.gate_fee[0]) + 100.0)
    materials.set_value(material, "virgin_price_eur", float(materials.base_price[0]) + 10.0)
    after = materials.unit_costs(policy)
    assert after.disposal[0] == pytest.approx(before.disposal[0] + 100.0)
    assert after.virgin[0] == pytest.approx(before.virgin[0] + 10.0 * materials.price_multiplier[0])


def test_unit_costs_follow_the_policy_in_force():
    # A landfill tax and a carbon price that change in 2027 (month 24).
    scenario = mini('policy.landfill_tax_eur_per_t=[["2025-01", 30], ["2027-01", 90]]',
                    'policy.carbon_price_eur_per_t=[["2025-01", 0], ["2027-01", 50]]')
    materials = MaterialTable(scenario.catalogue)
    subs = SubstitutionTable(scenario.catalogue, materials)
    timeline = PolicyTimeline(scenario.policy)
    early, late = timeline.at(0), timeline.at(30)
    landfilled = (materials.to_landfill & materials.is_mass).nonzero()[0]
    assert len(landfilled)
    costs = [materials.unit_costs(p) for p in (early, late, early)]  # back and forth between policies
    assert costs[1].waste_tax[landfilled] == pytest.approx([90.0] * len(landfilled))
    assert costs[2].waste_tax[landfilled] == pytest.approx([30.0] * len(landfilled))
    assert costs[1].carbon_disposal == pytest.approx(50.0 * materials.co2_disposal)
    for carbon_price in (0.0, 50.0, 0.0):
        assert subs.treatment_unit(carbon_price) == pytest.approx(subs.treatment + carbon_price * subs.treatment_co2)


def test_a_waste_with_a_resale_value_is_sold_never_taxed_or_counted_as_landfilled():
    import numpy as np
    from conftest import ROOT, run

    from simulation.model.recorder import DISPOSED, SOLD
    from simulation.scenario import load

    scenario = load(ROOT / "scenarios" / "synthetic_park.toml", ["scenario.years=2", "policy.landfill_tax_eur_per_t=150"])
    materials = MaterialTable(scenario.catalogue)
    scrap = materials.index["scrap_metal"]
    costs = materials.unit_costs(PolicyTimeline(scenario.policy).at(0))
    assert costs.waste_tax[scrap] == 0.0 and costs.disposal[scrap] == -materials.resale[scrap] < 0
    model = run(scenario, seed=3)
    flows = np.array(model.recorder.material_flows)  # month x material x column
    assert flows[:, scrap, SOLD].sum() > 0 and flows[:, scrap, DISPOSED].sum() == 0.0
    frame = model.datacollector.get_model_vars_dataframe()
    mass = materials.is_mass
    assert frame.waste_sold_t.sum() == pytest.approx(flows[:, mass, SOLD].sum())
    landfill = materials.to_landfill & mass
    assert frame.waste_landfilled_t.sum() == pytest.approx(flows[:, landfill, DISPOSED].sum())
    assert not landfill[scrap]


def test_product_margins_pass_on_the_set_share_of_input_price_changes():
    import numpy as np
    from conftest import run

    model = run(mini("scenario.years=1", "market.price_pass_through=0.7"))
    before = model.unit_margin()
    materials = model.materials
    materials.price_multiplier = np.full(len(materials), 1.5)  # every virgin price up by half
    model.month.costs = materials.unit_costs(model.policy_now)
    demand = model.demand
    alive = demand.alive
    rise = np.bincount(demand.firm[alive], weights=(demand.coef * 0.5 * materials.base_price[demand.material])[alive],
                       minlength=len(before))
    assert rise.max() > 0
    np.testing.assert_allclose(model.unit_margin() - before, 0.7 * rise, rtol=1e-12, atol=1e-9)


def test_price_turbulence_bankrupts_fewer_firms_when_product_prices_follow_input_prices():
    import numpy as np
    from conftest import ROOT, run

    from simulation.scenario import load

    def exits(pass_through, seed):
        scenario = load(ROOT / "scenarios" / "synthetic_park.toml", [
            "scenario.years=12", "market.price_volatility=0.15", f"market.price_pass_through={pass_through}"])
        return int(np.count_nonzero(run(scenario, seed=seed, record_exchanges=False).firms.left >= 0))

    seeds = range(11, 17)
    fixed = [exits(0.0, seed) for seed in seeds]  # margins fixed while input prices move
    passed = [exits(0.7, seed) for seed in seeds]
    assert sum(fixed) > 0 and sum(passed) < sum(fixed), (fixed, passed)
