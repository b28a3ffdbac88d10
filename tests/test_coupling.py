"""Coupled production: a critical input that fails to arrive costs output, and the loss travels down the chain.

A chain of three plants built for the test: a steam plant whose surplus steam replaces the process
steam a mill cannot run without, and the mill's residue, the feedstock a digester cannot run without.
In 2026 the steam plant closes: the mill, with no boiler of its own kept, loses its steam for the month
it takes to arrange other supply, so next month it makes less and yields less residue, and the digester
then falls short in turn.
"""


import numpy as np
import pytest
from conftest import mini_with_catalogue

from simulation.model import SymbiosisModel
from simulation.model.coupling import critical_shortfalls, output_limits
from simulation.model.firm import Firm, keeping_backup

CHAIN = """
[materials.surplus_steam]
name = "Surplus steam"
kind = "energy"
unit = "MWh"
virgin_price_eur = 0.0
disposal_route = "venting"
gate_fee_eur = 0.0
co2_virgin_t = 0.0
co2_disposal_t = 0.0
transport = { pipeline = 0.02 }
storable = false

[materials.process_steam]
name = "Process steam from own boilers"
kind = "energy"
unit = "MWh"
virgin_price_eur = 40.0
disposal_route = "venting"
gate_fee_eur = 0.0
co2_virgin_t = 0.2
co2_disposal_t = 0.0
transport = { pipeline = 0.02 }
storable = false
short_notice_share = 0.0
standby_eur = STANDBY

[materials.residue]
name = "Mill residue"
kind = "solid"
unit = "t"
virgin_price_eur = 0.0
disposal_route = "landfill"
gate_fee_eur = 40.0
co2_virgin_t = 0.0
co2_disposal_t = 0.0
transport = { truck = 0.1 }
storable = false

[materials.feedstock]
name = "Digester feedstock"
kind = "solid"
unit = "t"
virgin_price_eur = 30.0
disposal_route = "landfill"
gate_fee_eur = 40.0
co2_virgin_t = 0.01
co2_disposal_t = 0.0
transport = { truck = 0.1 }
storable = false
short_notice_share = 0.0
standby_eur = STANDBY

[processes.steam_plant]
sector = "power"
product = "electricity"
product_unit = "MWh"
margin_eur = 60.0
inputs = { coal = 0.4 }
outputs = { surplus_steam = 1.0 }

[processes.mill]
sector = "cement"
product = "pulp"
product_unit = "t"
margin_eur = 100.0
inputs = { process_steam = 1.0 }
outputs = { residue = 0.5 }
critical = CRITICAL_MILL

[processes.digester]
sector = "boards"
product = "biogas"
product_unit = "MWh"
margin_eur = 50.0
inputs = { feedstock = 1.0 }
critical = CRITICAL_DIGESTER

[[substitutions]]
waste = "surplus_steam"
replaces = "process_steam"
ratio = 1.0
treatment_eur = 0.0

[[substitutions]]
waste = "residue"
replaces = "feedstock"
ratio = 1.0
treatment_eur = 0.0
"""
FIRMS = ('firms=[{id = "steam", sector = "power", process = "steam_plant", x_km = 0.0, y_km = 0.0, capacity = 2000.0},'
         ' {id = "mill", sector = "cement", process = "mill", x_km = 0.5, y_km = 0.0, capacity = 1000.0},'
         ' {id = "digester", sector = "boards", process = "digester", x_km = 1.0, y_km = 0.0, capacity = 1000.0}]')
STEADY = ["search.rate_per_month=1", "outages.rate_per_month=0", "demand.volatility=0", "scenario.years=2",
          "logistics.pipeline_lead_months=0", "policy.breach_penalty_months=1000"]
SHOCK = 'events=[{at = "2026-01", firm = "steam", leave = true}]'


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """``chain(critical=True, standby=1e5, shock=True)``: the three-plant chain run, seed 1."""
    folder = tmp_path_factory.mktemp("chain")

    def run(critical=True, standby=1e5, shock=True):
        text = (CHAIN.replace("STANDBY", repr(float(standby)))
                .replace("CRITICAL_MILL", '["process_steam"]' if critical else "[]")
                .replace("CRITICAL_DIGESTER", '["feedstock"]' if critical else "[]"))
        scenario = mini_with_catalogue(folder, f"chain_{critical}_{standby}.toml", text, FIRMS,
                                       SHOCK if shock else "events=[]", *STEADY)
        return SymbiosisModel(scenario, seed=1).run()
    return run


def production(model, firm):
    """Monthly production of ``firm`` (product units), from the agent records."""
    frame = model.datacollector.get_agent_vars_dataframe()
    unique_id = model.firm_list[model.firm_ids.index(firm)].unique_id
    return frame.xs(unique_id, level="AgentID")["production"].to_numpy()


def test_the_chain_exchanges_before_the_shock(chain):
    model = chain(shock=False)
    book = model.contracts
    assert {(model.firm_ids[s], model.firm_ids[r]) for s, r in zip(book.supplier, book.receiver)} == {
        ("steam", "mill"), ("mill", "digester")}
    assert model.recorder.series("firms_short_of_inputs").max() == 0


def test_a_failed_critical_supply_travels_down_the_chain(chain):
    calm, shocked = chain(shock=False), chain()
    mill, digester = (production(m, "mill") for m in (calm, shocked)), (production(m, "digester") for m in (calm, shocked))
    mill_calm, mill_shocked = mill
    digester_calm, digester_shocked = digester
    np.testing.assert_array_equal(mill_shocked[:13], mill_calm[:13])  # the month of the shock the mill still runs
    assert mill_shocked[13] < 0.5 * mill_calm[13]  # next month it lacks most of its steam
    np.testing.assert_array_equal(digester_shocked[:14], digester_calm[:14])
    assert digester_shocked[14] < 0.8 * digester_calm[14]  # and a month later the digester lacks residue
    assert shocked.recorder.series("firms_short_of_inputs")[12:16].max() >= 1


def test_standby_plant_contains_the_shock(chain):
    """With a backup boiler cheap to keep, the mill keeps one, covers the failed steam, and nobody downstream notices."""
    calm, shocked = chain(shock=False, standby=0.01), chain(standby=0.01)
    assert (shocked.demand.backup > 0).any()
    np.testing.assert_array_equal(production(shocked, "mill"), production(calm, "mill"))
    np.testing.assert_array_equal(production(shocked, "digester"), production(calm, "digester"))


def test_inputs_that_are_not_critical_are_bought_and_nothing_is_lost(chain):
    calm, shocked = chain(critical=False, shock=False), chain(critical=False)
    np.testing.assert_array_equal(production(shocked, "mill"), production(calm, "mill"))
    assert shocked.recorder.series("firms_short_of_inputs").max() == 0


def test_the_fallbacks_in_order_standby_then_the_short_notice_market_then_loss():
    failed, missing = np.array([100.0, 100.0, 100.0, 30.0]), np.array([100.0, 100.0, 100.0, 100.0])
    backup, critical = np.array([40.0, 0.0, 0.0, 0.0]), np.array([True, True, False, True])
    short, lost = critical_shortfalls(failed, missing, backup, critical, np.array([0.5, 0.25, 0.5, 0.0]))
    np.testing.assert_allclose(short, [30.0, 25.0, 0.0, 0.0])
    np.testing.assert_allclose(lost, [30.0, 75.0, 0.0, 30.0])
    # A firm runs the share of capacity its worst-supplied critical input allows.
    np.testing.assert_allclose(output_limits(lost, np.array([100.0, 300.0, 100.0, 100.0]), np.array([0, 0, 1, 2]), 3),
                               [0.7, 1.0, 0.7])


def test_keeping_a_backup_for_all_streams_equals_each_firm_s_own_rule():
    rng = np.random.default_rng(7)
    standby, loss = rng.uniform(0, 1e4, 200), rng.uniform(-1e3, 1e4, 200)
    loss[:20] = 0.0
    firm = object.__new__(Firm)  # the rule reads nothing of the firm's state
    assert keeping_backup(standby, loss).tolist() == [bool(Firm.keeps_backup(firm, s, v)) for s, v in zip(standby, loss)]
