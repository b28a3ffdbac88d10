"""Loans that finance capex: pipelines and recovery plants are paid off month by month.

A firm never pays an investment up front. Its share of the capex (after any
capex subsidy) is lent to it at ``firm_defaults.interest_rate_per_year`` over
the months the asset is priced to pay for itself (the pipeline contract term
for a pipeline, ``contract.duration_months`` for a recovery plant), and it pays
a constant monthly annuity from then on. Deals are priced with that annuity, so
a deal that clears a firm's hurdle covers its loan every month; a loan goes on
when the deal ends early (the investment is sunk), and ends when the firm
leaves the park (the lender writes it off).
"""

import numpy as np


def monthly_payment(principal, rate_per_year, months):
    """Annuity (EUR a month) that repays ``principal`` (EUR) with interest over ``months``.

    Works on arrays; with a zero rate it is ``principal / months``.
    """
    principal, months = np.asarray(principal, float), np.asarray(months, float)
    rate = (1.0 + rate_per_year) ** (1.0 / 12.0) - 1.0  # monthly rate equivalent to the yearly one
    if rate == 0.0:
        return principal / months
    return principal * rate / (1.0 - (1.0 + rate) ** -months)


class LoanBook:
    """Every firm's running loans: who pays, how much a month, for how many months more."""

    def __init__(self, rate_per_year):
        self.rate_per_year = rate_per_year
        self.firm = np.zeros(0, dtype=np.int64)
        self.payment = np.zeros(0)  # EUR a month
        self.months_left = np.zeros(0, dtype=np.int64)

    def lend(self, firm, principal, months):
        """Finance ``principal`` EUR for ``firm`` over ``months``; returns the monthly payment."""
        payment = float(monthly_payment(principal, self.rate_per_year, months))
        self.firm = np.append(self.firm, firm)
        self.payment = np.append(self.payment, payment)
        self.months_left = np.append(self.months_left, int(months))
        return payment

    def collect(self, n_firms):
        """This month's payments per firm (EUR); loans paid off are dropped."""
        due = np.bincount(self.firm, weights=self.payment, minlength=n_firms)
        self.months_left -= 1
        self._keep(self.months_left > 0)
        return due

    def write_off(self, firm):
        """End the loans of a firm that left the park."""
        self._keep(self.firm != firm)

    def owed(self, firm):
        """What ``firm`` still has to pay on its loans, interest included (EUR)."""
        mine = self.firm == firm
        return float((self.payment[mine] * self.months_left[mine]).sum())

    def _keep(self, mask):
        if not mask.all():
            self.firm, self.payment, self.months_left = self.firm[mask], self.payment[mask], self.months_left[mask]
