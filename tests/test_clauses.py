"""Clauses bargained pair by pair: guarantees stand in for trust a firm's record can back, indexation keeps both sides whole."""

import numpy as np
import pytest
from conftest import ROOT, run
from paired import negative, positive, seeds
from test_contracts import CEMENT, POWER, pair

from simulation.model import SymbiosisModel
from simulation.model.clauses import surviving_share
from simulation.model.contract import REASON

CEILINGS = ["contract.deliver_or_pay_share=1", "contract.take_or_pay_share=1", "contract.price_indexation=1"]
UNRELIABLE = ["outages.rate_per_month=1", "outages.mean_repair_days=15"]  # every plant down half of each month


def priced_again(model, trust):
    """The first contract's pair priced anew, as for a renewal, with both firms trusting each other ``trust``."""
    book, deals = model.contracts, model.deals
    s, d, k = (column[:1] for column in (book.supply, book.demand, book.substitution))
    supplier, receiver = book.supplier[:1], book.receiver[:1]
    deals.trust.set(deals.pair_key(supplier, receiver), np.array([trust]))
    deals.trust.set(deals.pair_key(receiver, supplier), np.array([trust]))
    return deals.price(model.month, s, d, k, renewal=True, dist=book.distance_km[:1])


def guarantees(details):
    return float(details.deliver_or_pay[0]), float(details.take_or_pay[0])


def test_partners_who_trust_each_other_little_write_guarantees_in_and_trusting_ones_leave_them_out():
    model = run(pair(POWER, CEMENT, extra=[*CEILINGS, "scenario.years=2"]), seed=1)
    wary_terms, wary = priced_again(model, 0.5)
    trusting_terms, trusting = priced_again(model, 1.0)
    assert guarantees(wary) == (1.0, 1.0)
    assert guarantees(trusting) == (0.0, 0.0)
    # Neither plant ever fails here, so the cover costs its giver nothing and takes away each side's whole risk
    # premium: the wary pair prices the deal as the trusting one does.
    assert wary_terms.space[0] == pytest.approx(trusting_terms.space[0])
    model.deals.clauses.ceiling[:] = 0.0  # no clause allowed
    bare_terms, _ = priced_again(model, 0.5)
    assert wary_terms.space[0] > bare_terms.space[0]


def test_a_standard_contract_carries_its_clauses_whatever_the_trust():
    model = run(pair(POWER, CEMENT, extra=[*CEILINGS, 'contract.terms="standard"', "scenario.years=2"]), seed=1)
    _, trusting = priced_again(model, 1.0)
    assert guarantees(trusting) == (1.0, 1.0) and trusting.indexation[0] == 1.0


def test_a_firm_whose_plant_is_often_down_gives_no_guarantee():
    """The same wary pair, but each plant is down half of every month: what each would owe in damages outweighs
    what the cover is worth to the other, so neither guarantees."""
    model = run(pair(POWER, CEMENT, extra=[*CEILINGS, *UNRELIABLE, "scenario.years=2"]), seed=1)
    offering, taking = model.deals.clauses.shortfall_shares(model.contracts)
    assert (offering >= 0.45).all() and (taking >= 0.45).all()
    _, wary = priced_again(model, 0.5)
    assert guarantees(wary) == (0.0, 0.0)


def test_the_indexation_signed_leaves_both_sides_whole_until_the_same_fall():
    share = surviving_share(np.array([1.0, 2.0, -1.0]), np.array([3.0, 0.0, 0.5]))
    assert share.tolist() == [0.25, 1.0, 0.0]
    # Supplier gain 1, receiver gain 3 (per unit of the fall's value): both run out at a fall of 4.
    assert 1.0 / share[0] == pytest.approx(3.0 / (1 - share[0]))


def guarantee_share_first_less_renewed(model):
    """Share of first contracts on a link with deliver-or-pay, less that of renewals."""
    book = model.contracts
    first = book.renewal_of[: book.size] < 0
    return book.deliver_or_pay[first].mean() - book.deliver_or_pay[~first].mean()


def test_guarantees_are_written_into_first_contracts_and_dropped_at_renewal_as_trust_builds():
    """On the demo park (paired by seed: first contracts and renewals of the same run), new partners, who trust each
    other at ``trust.initial``, sign deliver-or-pay more often than partners renewing after years of deliveries.
    With trust as high at the first signing as at renewal the difference would be gone."""
    differences = []
    for seed in seeds(fast=6):
        model = SymbiosisModel(ROOT / "scenarios" / "demo_park.toml", seed=seed, overrides=CEILINGS)
        model.run_model()
        differences.append(guarantee_share_first_less_renewed(model))
    positive("clauses: deliver-or-pay share, first contracts - renewals", differences)


def test_the_summary_says_what_the_contracts_carry():
    from simulation.output.tables import clauses

    plain = run(pair(POWER, CEMENT, extra=["scenario.years=1"]), seed=1)
    assert clauses(plain) == "none"
    bound = run(pair(POWER, CEMENT, extra=[*CEILINGS, "scenario.years=1"]), seed=1)
    n = bound.contracts.size
    assert clauses(bound) == f"{n} of {n} with price indexation, {n} of {n} with deliver-or-pay, {n} of {n} with take-or-pay"


def breaches_in_the_oil_price_fall(model):
    """Contracts breached in 1986-87, when the oil price fell by half."""
    book = model.contracts
    ended = book.end[: book.size]
    years = np.array([int(model.calendar.label(int(e))[:4]) if e >= 0 else 0 for e in ended])
    breached = np.isin(book.reason[: book.size], [REASON["breached by supplier"], REASON["breached by receiver"]])
    return float((breached & (years >= 1986) & (years <= 1987)).sum())


def test_where_pairs_may_index_their_prices_the_oil_price_fall_of_1986_breaks_fewer_contracts():
    """Kalundborg, paired by seed: at fixed prices the receivers of steam and refinery gas break contracts when oil
    halves in 1986; allowed to index, pairs sign the share that leaves both whole, and fewer contracts break."""
    differences = []
    for seed in seeds(fast=5):
        fixed, indexed = (SymbiosisModel(ROOT / "scenarios" / "kalundborg.toml", seed=seed, overrides=extra).run()
                          for extra in ([], ["contract.price_indexation=1"]))
        differences.append(breaches_in_the_oil_price_fall(indexed) - breaches_in_the_oil_price_fall(fixed))
    negative("clauses: contracts breached in 1986-87, indexation allowed - fixed prices", differences)
