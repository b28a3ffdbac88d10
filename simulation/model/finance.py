"""Loans that finance capex: pipelines and recovery plants are paid off month by month.

A firm never pays an investment up front. Its share of the capex (after any
capex subsidy) is lent to it at ``firm_defaults.interest_rate_per_year`` over
the months the asset earns: for a pipeline, the months of the contract term
after the whole months of construction (``logistics.pipeline_lead_months``),
with the first payment due in the month the pipe opens; for a recovery plant,
``contract.duration_months`` from the month it is installed. It pays a constant
monthly annuity. Deals are priced with that annuity over the same months, so a
deal that clears a firm's hurdle covers its loan in every month it delivers; a
loan goes on when the deal ends early (the investment is sunk), and ends when
the firm leaves the park (the lender writes it off).
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
        self.grace = np.zeros(0, dtype=np.int64)  # months before the first payment is due

    def lend(self, firm, principal, months, grace=0):
        """Finance ``principal`` EUR for ``firm`` over ``months`` payments, the first after ``grace`` months;
        returns the monthly payment."""
        payment = float(monthly_payment(principal, self.rate_per_year, months))
        self.firm = np.append(self.firm, firm)
        self.payment = np.append(self.payment, payment)
        self.months_left = np.append(self.months_left, int(months))
        self.grace = np.append(self.grace, int(grace))
        return payment

    def collect(self, n_firms):
        """This month's payments per firm (EUR); loans paid off are dropped."""
        due_now = self.grace == 0
        due = np.bincount(self.firm, weights=self.payment * due_now, minlength=n_firms)
        self.months_left -= due_now
        self.grace -= ~due_now
        self._keep(self.months_left > 0)
        return due

    def write_off(self, firm):
        """End the loans of a firm that left the park."""
        self._keep(self.firm != firm)

    def _keep(self, mask):
        if not mask.all():
            self.firm, self.payment = self.firm[mask], self.payment[mask]
            self.months_left, self.grace = self.months_left[mask], self.grace[mask]
