"""A contracted waste moves to a better use: at expiry freely, before it only where the gain pays the penalty."""

import numpy as np
import pytest
from conftest import run
from paired import positive, seeds
from test_contracts import POWER, pair

from simulation.model.contract import END_REASONS, REASON

# The power station's fly ash first goes 150 km by truck to the only cement works there is; a second works opens
# next door eighteen months later, where the ash is worth the same but costs almost nothing to haul.
FAR = '{id = "cement_far", sector = "cement", x_km = 150.0, y_km = 0.0, capacity = 3000.0}'
NEAR = '{id = "cement_near", sector = "cement", x_km = 1.0, y_km = 0.0, capacity = 3000.0, entry = "2026-07"}'
NEAR_OPENS = 18


def park(*extra, seed):
    return run(pair(POWER, FAR, NEAR, extra=["scenario.years=6", *extra]), seed=seed)


def first_far_contract(model):
    book = model.contracts
    far = model.firms.ids.index("cement_far")
    return int(np.flatnonzero(book.receiver[: book.size] == far)[0])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_waste_moves_at_expiry_when_leaving_early_costs_more_than_it_gains(seed):
    model = park("policy.breach_penalty_months=1000", seed=seed)
    book, c = model.contracts, first_far_contract(model)
    assert END_REASONS[book.reason[c]] == "moved to a better use"
    assert book.end[c] == book.start[c] + book.term[c]  # not a month before the term ran out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_without_a_penalty_the_waste_moves_as_soon_as_its_supplier_looks(seed):
    model = park("policy.breach_penalty_months=0", "contract.best_use_rate_per_month=1", seed=seed)  # looks every month
    book, c = model.contracts, first_far_contract(model)
    assert END_REASONS[book.reason[c]] == "moved to a better use"
    # Once the works next door is open and the supplier trusts it enough (a stranger's risk premium is counted
    # against it until deliveries of the free flow teach trust), and before the contract would expire.
    assert NEAR_OPENS <= book.end[c] < book.start[c] + book.term[c]


def test_with_the_mechanism_off_the_far_works_keeps_the_ash():
    model = park("contract.best_use_rate_per_month=0", seed=1)
    book, c = model.contracts, first_far_contract(model)
    assert book.reason[c] == REASON["renewed"]
    assert REASON["moved to a better use"] not in book.reason[: book.size]


def near_share_last_year(model):
    """Share of the fly ash delivered in the last twelve months that went to the works next door."""
    near = model.firms.ids.index("cement_near")
    book = model.contracts
    to_near = total = 0.0
    for period, ids, _, shipped, _ in model.recorder.exchanges:
        if period >= model.n_periods - 12:
            to_near += shipped[book.receiver[ids] == near].sum()
            total += shipped.sum()
    return to_near / total


def test_the_ash_goes_to_its_best_use_more_with_the_mechanism_than_without():
    """Paired by seed (alpha 0.05, one-sided in the fast suite): the same park with and without looking."""
    on = [near_share_last_year(park(seed=s)) for s in seeds(4)]
    off = [near_share_last_year(park("contract.best_use_rate_per_month=0", seed=s)) for s in seeds(4)]
    positive("best use: share of the ash to the nearer works, on - off", np.subtract(on, off))
