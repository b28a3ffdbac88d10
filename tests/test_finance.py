"""Capex is financed by loans: annuities, and firms that do not go bust from deals they priced as profitable."""

import numpy as np
import pytest
from conftest import ROOT, run

from simulation.model.finance import LoanBook, monthly_payment
from simulation.scenario import load


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.3])
def test_the_annuity_repays_the_principal_with_interest(rate):
    payment = monthly_payment(120_000.0, rate, 120)
    monthly = (1 + rate) ** (1 / 12) - 1
    discounted = payment * sum((1 + monthly) ** -t for t in range(1, 121))
    assert discounted == pytest.approx(120_000.0)
    assert payment >= 1_000.0 and (payment > 1_000.0) == (rate > 0)


def test_loans_are_paid_for_their_term_after_their_grace_and_written_off_when_the_firm_leaves():
    loans = LoanBook(0.0)
    loans.lend(0, 1_200.0, 12)
    loans.lend(1, 600.0, 3, grace=4)  # a pipeline built in four months
    months = [loans.collect(3) for _ in range(24)]
    assert sum(months) == pytest.approx([1_200.0, 600.0, 0.0])
    assert [m[1] for m in months[:8]] == [0, 0, 0, 0, 200.0, 200.0, 200.0, 0]
    loans.lend(2, 500.0, 5)
    assert loans.collect(3)[2] == pytest.approx(100.0)
    loans.write_off(2)
    assert loans.collect(3).sum() == 0.0


def invested_firms(model):
    """Firms that took on the loan of a new pipeline (the receivers)."""
    book = model.contracts
    return set(book.receiver[book.capex_eur > 0].tolist())


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_under_steady_prices_no_firm_that_invested_goes_bust(seed):
    # Steady virgin prices and no events: every deal was priced at the prices it then runs at.
    model = run(load(ROOT / "scenarios" / "synthetic_park.toml", ["scenario.years=12", "market.price_volatility=0"]),
                seed=seed, record_exchanges=False)
    invested = invested_firms(model)
    assert invested, "the park should build pipelines"
    gone = set(np.flatnonzero(model.firms.left >= 0).tolist())
    assert not invested & gone, [model.firm_ids[f] for f in invested & gone]
