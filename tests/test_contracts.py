"""A contract's life cycle: construction, deliveries and shortfalls, breach, expiry and renewal."""

import numpy as np
import pytest
from conftest import mini, run

from simulation.model import SymbiosisModel
from simulation.model.contract import (
    ACTIVE,
    END_REASONS,
    ENDED,
    PENDING,
    PIPELINE,
    TRUCK,
)

POWER = '{id = "power", sector = "power", x_km = 0.0, y_km = 0.0, capacity = 10000.0}'
CEMENT = '{id = "cement", sector = "cement", x_km = 2.0, y_km = 0.0, capacity = 3000.0}'
GREENHOUSE = '{id = "greenhouse", sector = "greenhouse", x_km = 0.5, y_km = 0.0, capacity = 400.0}'
CERTAIN_SEARCH = ["search.rate_per_month=1", "outages.rate_per_month=0", "events=[]"]


def pair(*firms, extra=()):
    return mini(f"firms=[{', '.join(firms)}]", *CERTAIN_SEARCH, *extra)


def reasons(model):
    return [END_REASONS[r] for r in model.contracts.reason]


def deliveries(model, contract):
    return {period: shipped[list(ids).index(contract)]
            for period, ids, _, shipped, _ in model.recorder.exchanges if contract in ids}


def test_pipeline_contract_delivers_only_once_built():
    model = run(pair(POWER, GREENHOUSE, extra=["logistics.pipeline_lead_months=6.5", "scenario.years=2"]))
    book = model.contracts
    pipes = np.flatnonzero(book.mode == PIPELINE)
    assert len(pipes) >= 1
    c = int(pipes[0])
    signed = int(book.start[c])
    shipped = deliveries(model, c)
    assert min(shipped) == signed + 6  # the pipe comes into service half-way through this month
    assert 0.3 < shipped[signed + 6] / shipped[signed + 7] < 0.7
    assert all(v > 0 for v in shipped.values())
    assert book.capex_eur[c] > 0


def test_pending_contract_is_not_counted_as_a_link():
    scenario = pair(POWER, GREENHOUSE, extra=["logistics.pipeline_lead_months=6", "scenario.years=2"])
    from simulation.model import SymbiosisModel

    model = SymbiosisModel(scenario)
    model.step()
    assert (model.contracts.status == PENDING).sum() == 1
    assert model.recorder.current["active_links"] == 0 and model.recorder.current["pending_links"] == 1


def test_shortfall_erodes_trust():
    # Plants down about half of every month deliver short of what they promised.
    years = "scenario.years=2"
    steady = run(pair(POWER, CEMENT, extra=[years]))
    failing = run(pair(POWER, CEMENT, extra=["outages.rate_per_month=1", "outages.mean_repair_days=15", years]))
    book = failing.contracts
    trucks = np.flatnonzero(book.mode == TRUCK)
    assert len(trucks)
    assert (book.delivered_total[trucks] < 0.95 * book.promised_total[trucks]).all()
    np.testing.assert_allclose(steady.contracts.delivered_total, steady.contracts.promised_total, rtol=1e-6)
    assert book.trust_in_supplier[trucks].max() < steady.contracts.trust_in_supplier.min()


def test_breach_when_the_deal_turns_bad_and_enforcement_is_weak():
    # From 2026 fly ash costs nothing to dispose of: the supplier, who pays the cement works to take it, loses.
    turn = ['events=[{at = "2026-01", set = {"materials.fly_ash.gate_fee_eur" = 0.0}}]',
            'policy.landfill_tax_eur_per_t=[["2025-01", 30.0], ["2026-01", 0.0]]', "scenario.years=3.5"]
    weak = run(pair(POWER, CEMENT, extra=[*turn, "policy.breach_penalty_months=0.1"]))
    assert "breached by supplier" in reasons(weak)
    c = reasons(weak).index("breached by supplier")
    assert weak.contracts.end[c] >= 12 + weak.params.contract.review_months - 1  # losses counted from month 12
    strong = run(pair(POWER, CEMENT, extra=[*turn, "policy.breach_penalty_months=1000"]))
    assert "breached by supplier" not in reasons(strong)
    # Held to the term, the deal is renegotiated at expiry: the cement works now pays for its ash.
    first = reasons(strong).index("renewed")
    renewal = int(np.flatnonzero(strong.contracts.renewal_of == first)[0])
    assert strong.contracts.price[first] < 0 < strong.contracts.price[renewal]


def test_expiry_renews_on_the_same_link_when_still_worth_it():
    model = run(pair(POWER, CEMENT, extra=["scenario.years=7"]))
    book = model.contracts
    renewed = [c for c, r in enumerate(reasons(model)) if r == "renewed"]
    assert renewed
    for c in renewed:
        follow = int(np.flatnonzero(book.renewal_of == c)[0])
        assert book.link[follow] == book.link[c]
        assert book.start[follow] == book.start[c] + book.term[c]
    # A renewed link's age runs across renewals.
    assert model.recorder.current["mean_link_age_months"] > book.term[renewed[0]]


def test_minimum_contract_term_policy_lengthens_contracts():
    short = run(pair(POWER, CEMENT, extra=["scenario.years=1"]))
    long = run(pair(POWER, CEMENT, extra=["scenario.years=1", "policy.min_contract_months=60"]))
    assert short.contracts.term.max() == short.params.contract.duration_months
    assert long.contracts.term.min() == 60


def test_a_firm_that_leaves_ends_its_contracts():
    leave = ['events=[{at = "2026-01", firm = "cement", leave = true}]', "scenario.years=2"]
    model = run(mini(f"firms=[{POWER}, {CEMENT}]", "search.rate_per_month=1", "outages.rate_per_month=0", *leave))
    cement = model.firm_ids.index("cement")
    book = model.contracts
    theirs = np.flatnonzero(book.receiver == cement)
    assert len(theirs)
    assert all(reasons(model)[c] == "partner left" for c in theirs)
    assert not (book.status[theirs] == ACTIVE).any()


def test_fiscal_effect_is_taxes_forgone_plus_subsidies_paid():
    """Without taxes the exchanges cost the treasury exactly the subsidies; with a landfill tax, also the tax forgone."""
    untaxed = run(mini("policy.landfill_tax_eur_per_t=0", "policy.incineration_tax_eur_per_t=0",
                       "policy.carbon_price_eur_per_t=0", "policy.virgin_tax_eur_per_t=0", "policy.subsidy_eur_per_t=5"))
    frame = untaxed.datacollector.get_model_vars_dataframe()
    assert frame.waste_exchanged_t.sum() > 0
    assert np.allclose(frame.fiscal_effect_eur, -frame.subsidies_eur)
    taxed = run(mini("policy.landfill_tax_eur_per_t=100", "policy.subsidy_eur_per_t=0"))
    frame = taxed.datacollector.get_model_vars_dataframe()
    assert frame.fiscal_effect_eur.sum() < 0 and frame.subsidies_eur.sum() == 0


@pytest.mark.parametrize("scenario", [
    pair(POWER, GREENHOUSE, extra=["logistics.pipeline_lead_months=6.5", "scenario.years=2"]),  # a pipe opens in a quiet month
    mini("policy.breach_penalty_months=0", "firm_defaults.exit_after_months=6"),  # breaches, renewals, exits
], ids=["pipeline", "park"])
def test_contract_ids_by_status_always_match_the_status_column(scenario):
    # ContractBook keeps ids by status until a contract is added or changes status (add, activate, close);
    # a status written any other way, or a method that forgot to drop them, would leave them stale.
    model = SymbiosisModel(scenario, seed=5)
    book, seen = model.contracts, set()
    while model.running:
        model.step()
        for status in (PENDING, ACTIVE, ENDED):
            np.testing.assert_array_equal(book.where(status), np.flatnonzero(book.status == status))
            seen.update([status] if len(book.where(status)) else [])
        np.testing.assert_array_equal(book.running(), np.flatnonzero(book.status != ENDED))
    assert {PENDING, ACTIVE} <= seen


def test_the_contract_log_has_its_columns_in_order_with_or_without_contracts(mini_model):
    from simulation.model.contract import LOG_COLUMNS
    from simulation.output.tables import contract_table

    rows = mini_model.contracts.log_rows(mini_model.firm_ids, mini_model.materials.ids, mini_model.calendar)
    assert rows and all(tuple(row) == LOG_COLUMNS for row in rows)
    empty = run(mini("policy.landfill_tax_eur_per_t=0", "contract.setup_cost_eur=1e9"), seed=1)
    assert empty.contracts.size == 0 and tuple(contract_table(empty).columns) == LOG_COLUMNS
