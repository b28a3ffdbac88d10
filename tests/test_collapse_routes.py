"""Routes to collapse from the model's own dynamics (ODD 7.11, 7.12 and 7.14): fixed costs, plants closed
after sustained losses, an insolvency cascade down a chain of coupled plants, and hold-up after sunk
investment. Each check is run with its mechanism switched off, and then fails."""

import numpy as np
import pytest
from conftest import mini_with_catalogue
from test_coupling import CHAIN, FIRMS, SHOCK, STEADY
from test_mechanisms import BROKE, CEMENT, POWER, firm_spec, negative_runs, park

from simulation.model import SymbiosisModel
from simulation.model.contract import END_REASONS, PIPELINE
from simulation.model.firm import EXIT_REASONS

# -- fixed costs --------------------------------------------------------------------------------

# The mini park's cement process again, with fixed costs spread over its normal output.
FIXED_CEMENT = """
[processes.cement_fixed]
sector = "cement"
product = "cement"
product_unit = "t"
margin_eur = 80.0
fixed_cost_eur = FIXED
inputs = { clinker = 0.9 }
"""


def cement_cash_and_output(folder, fixed):
    spec = POWER, firm_spec("cement", "cement", 2.0, 0.0, 3000.0, process="cement_fixed")
    scenario = mini_with_catalogue(folder, f"fixed_{fixed}.toml", FIXED_CEMENT.replace("FIXED", repr(float(fixed))),
                                   f"firms=[{', '.join(spec)}]", "events=[]", "scenario.years=2")
    model = SymbiosisModel(scenario, seed=3)
    cement = model.firm_ids.index("cement")
    cash, made = [], []
    while model.running:
        model.step()
        cash.append(model.firms.cash[cement])
        made.append(model.firms.production[cement])
    normal = model.firms.capacity[cement] * model.params.demand.mean_utilisation
    return np.array(cash), np.array(made), normal


def test_fixed_costs_are_paid_on_the_output_not_made_and_change_nothing_at_normal_output(tmp_path):
    """At normal output a firm earns its margin, fixed costs or not; each unit short of it costs the
    fixed cost besides the margin, and a unit above it earns the fixed cost back (utilisation varies)."""
    cash_0, made_0, normal = cement_cash_and_output(tmp_path, 0)
    cash_f, made_f, _ = cement_cash_and_output(tmp_path, 25)
    np.testing.assert_array_equal(made_f, made_0)  # the same plant, the same months
    assert made_0.min() < normal < made_0.max()
    np.testing.assert_allclose(cash_f - cash_0, np.cumsum(25.0 * (made_0 - normal)), rtol=1e-9, atol=1e-6)


# -- closing after sustained losses -------------------------------------------------------------

RICH = "firm_defaults.initial_cash_months=1000"  # never out of cash: only the closure rule can end it
# Losing money in months 0-1 and 3-4 (a landfill tax of 500 EUR/t), earning in month 2 and from month 5 on.
TWO_SPELLS = "policy.landfill_tax_eur_per_t=[[0, 500.0], [2, 0.0], [3, 500.0], [5, 0.0]]"
CLOSURE_CASES = [
    # (overrides, close_after_loss_months, month the power station closes or None)
    pytest.param(["policy.landfill_tax_eur_per_t=500"], 3, 2, id="losing-for-good-3"),
    pytest.param(["policy.landfill_tax_eur_per_t=500"], 7, 6, id="losing-for-good-7"),
    pytest.param([TWO_SPELLS], 2, 1, id="two-spells-limit-2"),
    pytest.param([TWO_SPELLS], 3, None, id="two-spells-limit-3"),
    pytest.param(["policy.landfill_tax_eur_per_t=500"], 0, None, id="rule-off"),
]


def check_closure(overrides, limit, closes):
    model = SymbiosisModel(park(POWER, CEMENT, extra=[*BROKE, RICH, *overrides,
                                                      f"firm_defaults.close_after_loss_months={limit}"]), seed=1)
    power = model.firm_ids.index("power")
    results = []
    while model.running:
        cash = model.firms.cash[power]
        model.step()
        if model.firms.left[power] < 0 or model.firms.left[power] == model.period - 1:
            results.append(model.firms.cash[power] - cash)
    runs = negative_runs(results)
    assert (model.firms.cash > 0).all(), "the rule under test, not the cash, ends the firm"
    if closes is None:
        assert model.firms.active[power] and model.recorder.series("exits").sum() == 0
        return
    assert model.firms.left[power] == closes and runs[closes] == limit and max(runs[:closes], default=0) < limit, runs
    assert EXIT_REASONS[model.firms.exit_reason[power]] == "closed after losses"
    book = model.contracts
    assert {END_REASONS[r] for r in book.reason[book.supplier == power]} == {"partner left"}


@pytest.mark.parametrize("overrides, limit, closes", CLOSURE_CASES)
def test_an_owner_closes_a_plant_after_exactly_the_months_of_losses_allowed_in_a_row(overrides, limit, closes):
    """A plant whose month has lost money ``firm_defaults.close_after_loss_months`` months in a row closes
    in the last of them, however much cash it has; a good month starts the count again; 0 closes none."""
    check_closure(overrides, limit, closes)


def test_the_closure_check_fails_when_losses_need_not_be_in_a_row(monkeypatch):
    from simulation.model import accounts

    def settle_counting_every_loss(self, month, settle=accounts.Accounts._settle):
        before = self.firms.result_loss_months.copy()
        settle(self, month)
        lost = self.firms.result_loss_months > 0
        self.firms.result_loss_months = before + lost  # never back to 0
    monkeypatch.setattr(accounts.Accounts, "_settle", settle_counting_every_loss)
    with pytest.raises(AssertionError):
        check_closure([TWO_SPELLS], 3, None)


# -- an insolvency cascade down a chain of coupled plants ---------------------------------------

# The chain of tests/test_coupling.py with thin margins: the mill pays its way only with the steam
# plant's surplus steam (40 EUR/MWh from its own boiler against a margin of 35), the digester only
# with the mill's residue (30 EUR/t of bought feedstock against 25). Both have fixed costs.
THIN = (CHAIN.replace("margin_eur = 100.0", "margin_eur = 35.0\nfixed_cost_eur = 10.0")
        .replace("margin_eur = 50.0", "margin_eur = 25.0\nfixed_cost_eur = 10.0"))
CLOSE_AFTER = 6


def thin_chain(folder, close_after, shock=True):
    text = THIN.replace("STANDBY", "1e5").replace("CRITICAL_MILL", '["process_steam"]').replace(
        "CRITICAL_DIGESTER", '["feedstock"]')
    scenario = mini_with_catalogue(folder, "thin_chain.toml", text, FIRMS, SHOCK if shock else "events=[]", *STEADY,
                                   "scenario.years=4", "firm_defaults.initial_cash_months=3",
                                   f"firm_defaults.close_after_loss_months={close_after}")
    return SymbiosisModel(scenario, seed=1).run()


def check_cascade(folder):
    calm, shocked = thin_chain(folder, CLOSE_AFTER, shock=False), thin_chain(folder, CLOSE_AFTER)
    assert calm.firms.active.all(), "without the shock the chain pays its way"
    f, ids = shocked.firms, shocked.firm_ids
    mill, digester = ids.index("mill"), ids.index("digester")
    shock = shocked.calendar.period_of("2026-01")
    # The mill runs at a loss from the month after its steam fails (what is lost in a month limits the
    # next: ODD 7.11), and closes after CLOSE_AFTER such months; the digester then loses its residue,
    # buys feedstock at a loss, and closes in turn.
    assert f.left[mill] == shock + CLOSE_AFTER
    # The mill closes at the end of its month, so the digester's residue fails the month after.
    assert f.left[digester] == f.left[mill] + 1 + CLOSE_AFTER
    assert {EXIT_REASONS[f.exit_reason[i]] for i in (mill, digester)} == {"closed after losses"}
    assert shocked.recorder.series("active_links")[f.left[digester] + 1:].max() == 0


def test_a_plant_closing_takes_down_the_plants_that_pay_their_way_only_with_its_waste(tmp_path):
    check_cascade(tmp_path)


def test_the_cascade_check_fails_without_closures_for_losses(tmp_path, monkeypatch):
    monkeypatch.setattr("test_collapse_routes.CLOSE_AFTER", 0)
    with pytest.raises(AssertionError):
        check_cascade(tmp_path)


# -- hold-up after sunk investment --------------------------------------------------------------

def steam_chain(folder, holdup_share, penalty_months):
    """The chain without a shock: the mill builds a pipeline for the steam plant's surplus steam."""
    text = CHAIN.replace("STANDBY", "1e5").replace("CRITICAL_MILL", "[]").replace("CRITICAL_DIGESTER", "[]")
    scenario = mini_with_catalogue(folder, f"hold_{holdup_share}_{penalty_months}.toml", text, FIRMS, "events=[]",
                                   *STEADY, "logistics.pipeline_lead_months=2",
                                   f"contract.holdup_share={holdup_share}",
                                   f"policy.breach_penalty_months={penalty_months}")
    return SymbiosisModel(scenario, seed=1).run()


def pipeline_contract(model):
    book = model.contracts
    piped = np.flatnonzero((book.mode == PIPELINE) & (book.capex_eur > 0))
    assert len(piped) == 1
    return int(piped[0])


def check_hold_up(folder):
    honest, opportunist = steam_chain(folder, 0.0, 0), steam_chain(folder, 0.9, 0)
    c = pipeline_contract(opportunist)
    assert pipeline_contract(honest) == c
    fair, held = honest.contracts, opportunist.contracts
    # Once the pipeline is built the steam plant asks more; the mill pays, trusts it less, and stays.
    assert held.holdup_eur[c] > 0 and fair.holdup_eur[c] == 0
    assert held.price[c] == pytest.approx(fair.price[c] + held.holdup_eur[c] / held.quantity[c], rel=1e-9)
    assert opportunist.recorder.series("contracts_held_up").sum() == 1
    assert held.trust_in_supplier[c] < fair.trust_in_supplier[c]
    assert END_REASONS[held.reason[c]] in ("", "run ended")
    # The digester, the mill's neighbour, hears of it: its trust in the steam plant falls too.
    ids = opportunist.firm_ids
    digester, steam = np.array([ids.index("digester")]), np.array([ids.index("steam")])
    assert opportunist.trust_between(digester, steam)[0] < honest.trust_between(digester, steam)[0]
    # Strong enforcement leaves nothing to hold up with: breaking would cost the steam plant more.
    enforced = steam_chain(folder, 0.9, 1000)
    assert enforced.contracts.holdup_eur[c] == 0 and enforced.contracts.price[c] == fair.price[c]


def test_a_supplier_holds_up_a_receiver_whose_pipeline_is_sunk_unless_the_contract_is_enforced(tmp_path):
    check_hold_up(tmp_path)


def test_the_hold_up_check_fails_when_suppliers_never_renegotiate(tmp_path, monkeypatch):
    from simulation.model import review
    monkeypatch.setattr(review, "holding_up", lambda own, *rest: np.zeros(len(own)))
    with pytest.raises(AssertionError):
        check_hold_up(tmp_path)
