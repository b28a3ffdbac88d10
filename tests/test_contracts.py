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


# -- contracts with teeth: indexation, delivery guarantees, revised promises --------------------------------

# From 2026 clinker, which the cement works replaces with fly ash, costs 3 EUR/t instead of 60.
CLINKER_CRASH = ['events=[{at = "2026-01", set = {"materials.clinker.virgin_price_eur" = 3.0}}]', "scenario.years=3",
                 "policy.breach_penalty_months=0.1", "policy.landfill_tax_eur_per_t=0"]


@pytest.mark.parametrize("terms, ceiling", [("standard", 0.5), ("bargained", 1.0)])
def test_price_indexation_decides_whether_a_price_fall_breaks_the_contract(terms, ceiling):
    """At a fixed price the cement works pays more for the ash than the clinker it saves is now worth, and
    breaks; with part of the change in the clinker's value passed into the price both sides keep gaining.
    A standard contract passes the share set; a bargained one the supplier's share of the gains at signing,
    under which both sides' gains run out at the same fall."""
    fixed = run(pair(POWER, CEMENT, extra=CLINKER_CRASH))
    indexed = run(pair(POWER, CEMENT, extra=[*CLINKER_CRASH, f"contract.price_indexation={ceiling}",
                                             f'contract.terms="{terms}"']))
    assert "breached by receiver" in reasons(fixed)
    assert not any(r.startswith("breached") for r in reasons(indexed))
    book, month = indexed.contracts, indexed.month
    share = book.indexation[0]
    if terms == "standard":
        assert share == ceiling
    else:
        gains = book.supplier_gain_eur[0], book.receiver_gain_eur[0]
        assert share == pytest.approx(gains[0] / sum(gains)) and 0 < share < ceiling
    # The price paid moved by that share of the fall in the value of the clinker one t of ash replaces.
    fall = book.ratio[0] * (month.costs.virgin[book.input[0]] - book.virgin_at_signing[0])
    assert fall < 0
    assert indexed.economics.current_price(month, book, np.array([0]))[0] == pytest.approx(book.price[0] + share * fall)


STANDARD = ['contract.terms="standard"']  # every contract carries the clauses as set
SHORT_SUPPLY = ["outages.rate_per_month=1", "outages.mean_repair_days=15", "scenario.years=2",
                "policy.breach_penalty_months=1000"]


def check_damages_move_only_money(plain, bound, payer, payee):
    """Without the guarantee no damages; with it some, paid by ``payer`` to ``payee``, and no flow changed (no side
    breaks at the penalty these runs set), only who bears the shortfall. The guarantee is priced in at signing: the
    side it covers pays for it in the price, so the cash moved between the two is the damages and the change in
    the price paid, to the cent."""
    assert (plain.contracts.damages_total == 0).all()
    book = bound.contracts
    damages = book.damages_total.sum()
    assert damages > 0
    assert book.delivered_total.tolist() == plain.contracts.delivered_total.tolist()
    supplier_pays = bound.firm_ids[book.supplier[0]] == payer
    dearer = ((book.price - plain.contracts.price) * book.delivered_total).sum()  # more paid by the receiver
    to_payee = damages - dearer if supplier_pays else damages + dearer
    gained = bound.firms.cash - plain.firms.cash
    assert gained[bound.firm_ids.index(payee)] == pytest.approx(to_payee)
    assert gained[bound.firm_ids.index(payer)] == pytest.approx(-to_payee)
    # The covered side pays for its cover: a receiver a dearer price, a supplier a lower one.
    assert dearer >= 0 if supplier_pays else dearer <= 0
    return damages, dearer


def test_deliver_or_pay_moves_the_receivers_loss_on_what_was_not_offered_to_the_supplier():
    plain = run(pair(POWER, CEMENT, extra=SHORT_SUPPLY), seed=3)
    guaranteed = run(pair(POWER, CEMENT, extra=[*SHORT_SUPPLY, "contract.deliver_or_pay_share=1", *STANDARD]), seed=3)
    _, dearer = check_damages_move_only_money(plain, guaranteed, payer="power", payee="cement")
    assert dearer > 0  # a station down half of each month expects to pay, and asks for it in the price
    # Half the share pays for half of each shortfall, on the same flows; unpriced ("simple"), at the same price.
    whole, half = (run(pair(POWER, CEMENT, extra=[*SHORT_SUPPLY, f"contract.deliver_or_pay_share={share}",
                                                  'contract.terms="simple"']), seed=3) for share in (1, 0.5))
    assert whole.contracts.price.tolist() == half.contracts.price.tolist() == plain.contracts.price.tolist()
    assert half.contracts.damages_total.sum() == pytest.approx(whole.contracts.damages_total.sum() / 2)
    assert whole.contracts.damages_total.sum() > 0


# Utilisation swings from month to month, so some months the greenhouse cannot take all the heat offered.
SWINGS = ["demand.volatility=0.3", "scenario.years=3", "policy.breach_penalty_months=1000"]


def test_take_or_pay_makes_the_receiver_pay_for_what_it_does_not_take():
    plain = run(pair(POWER, GREENHOUSE, extra=SWINGS), seed=2)
    bound = run(pair(POWER, GREENHOUSE, extra=[*SWINGS, "contract.take_or_pay_share=1", *STANDARD]), seed=2)
    check_damages_move_only_money(plain, bound, payer="greenhouse", payee="power")


# From 2026 the cement works runs at a thirtieth of its capacity.
CEMENT_DOWN = ['events=[{at = "2026-01", set = {"firms.cement.capacity" = 100.0}}]', "scenario.years=3"]


def test_promises_are_cut_back_when_the_receivers_need_falls():
    """A promise made when the works ran at full capacity is revised to what it can now take, not kept for ever."""
    model = run(pair(POWER, CEMENT, extra=CEMENT_DOWN), seed=2)
    book, demand = model.contracts, model.demand
    assert model.recorder.series("contracts_revised")[12] > 0  # the month the works shrank
    running = book.running()
    assert len(running) and (book.quantity[running] < 0.5 * book.signed_quantity[running]).all()
    d = book.demand[running]
    assert (demand.committed[d] <= demand.expected[d]).all()


def test_word_of_a_breach_costs_the_breaker_the_trust_of_its_victims_neighbours():
    """The cement works breaks with the power station; the greenhouse next door, which never traded with the works,
    hears of it and trusts it half as much as a stranger, so it would ask more of any deal with it."""
    heard = run(pair(POWER, CEMENT, GREENHOUSE, extra=CLINKER_CRASH))
    deaf = run(pair(POWER, CEMENT, GREENHOUSE, extra=[*CLINKER_CRASH, "trust.reputation_weight=0"]))
    initial = heard.params.trust.initial
    for model in (heard, deaf):
        assert "breached by receiver" in reasons(model)
    greenhouse, cement = (heard.firm_ids.index(f) for f in ("greenhouse", "cement"))
    assert heard.firm_list[greenhouse].trust_in(cement) == pytest.approx(0.5 * initial)
    assert deaf.firm_list[greenhouse].trust_in(cement) == initial
    neighbour = heard.firm_list[greenhouse]
    assert neighbour.hurdle(1000.0, neighbour.trust_in(cement)) > neighbour.hurdle(1000.0, initial)
