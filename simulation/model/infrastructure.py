"""Shared infrastructure: what several firms of a park build once and pay for together.

A pipe network many firms tap (:mod:`simulation.model.networks`) and a disposal
facility several firms send their waste to (:mod:`simulation.model.shared_disposal`)
have this in common: a scenario says which firms it serves, for which
materials and from when, and what it costs. Each month from the one it is built
in, it costs its members its capital paid off over its payoff months, with
interest, plus its upkeep, shared by its rule:

* ``flow``: pro rata to the units each member put through it in the month (in a
  month nothing went through, equally among its members in the park);
* ``equal``: in equal shares among its members in the park, used or not: a club
  fee.

Infrastructure whose members have all left is written off: nobody pays for it.
Where two serve the same firms and material, the first listed does.
"""

import numpy as np

from simulation.model.finance import monthly_payment


class SharedInfrastructure:
    """A scenario's shared infrastructure of one kind, as arrays over its entries (rows) and firms or materials."""

    def __init__(self, specs, firm_ids, material_index, calendar, interest_rate_per_year):
        n, n_firms = len(specs), len(firm_ids)
        row = {firm: i for i, firm in enumerate(firm_ids)}
        self.ids = [spec.id for spec in specs]
        self.member = np.zeros((n, n_firms), dtype=bool)
        self.carries = np.zeros((n, len(material_index)), dtype=bool)
        for i, spec in enumerate(specs):
            self.member[i, [row[firm] for firm in spec.members]] = True
            self.carries[i, [material_index[name] for name in spec.materials]] = True
        # Negative for what was built before the run began: its capital may be paid off already.
        self.built = np.array([calendar.period_of(spec.built) for spec in specs], dtype=np.int64)
        self.payoff_months = np.array([spec.payoff_months for spec in specs], dtype=np.int64)
        self.capital = monthly_payment(np.array([spec.capex_eur for spec in specs]), interest_rate_per_year,
                                       np.maximum(self.payoff_months, 1))
        self.opex = np.array([spec.opex_eur_per_month for spec in specs], dtype=float)
        self.by_flow = np.array([spec.sharing == "flow" for spec in specs], dtype=bool)

    def __len__(self):
        return len(self.ids)

    def monthly_cost(self, period):
        """EUR each entry costs its members in ``period``: nothing before it is built, the capital until it is
        paid off, the upkeep from then on."""
        age = period - self.built
        return np.where(age >= 0, self.opex + self.capital * (age < self.payoff_months), 0.0)

    def serving(self, period, a, b, material):
        """The entry (row) that serves firms ``a`` and ``b`` (the same firm twice for one that serves one firm) for
        ``material`` in ``period``, per element, or -1 where none does."""
        if len(self) == 0:
            return np.full(len(a), -1, dtype=np.int64)
        serves = self.member[:, a] & self.member[:, b] & self.carries[:, material] & (self.built <= period)[:, None]
        return np.where(serves.any(axis=0), serves.argmax(axis=0), -1)

    def through(self, entry, units):
        """Units put through each entry: the sum of ``units`` over the elements served by it (``entry`` >= 0)."""
        on = entry >= 0
        return np.bincount(entry[on], weights=units[on], minlength=len(self))

    def bill(self, period, entry, payer, units, active):
        """EUR each firm pays this month (an array over firms), by each entry's rule.

        ``entry``, ``payer`` and ``units`` say what went through which entry and who put it there (one element
        per contract or stream); ``active`` marks the firms in the park.
        """
        n_firms = len(active)
        bill = np.zeros(n_firms)
        cost = self.monthly_cost(period)
        carried = self.through(entry, units)
        for i in np.flatnonzero(cost > 0).tolist():
            if self.by_flow[i] and carried[i] > 0:
                mine = entry == i
                bill += np.bincount(payer[mine], weights=cost[i] * units[mine] / carried[i], minlength=n_firms)
                continue
            members = self.member[i] & active
            if members.any():  # infrastructure nobody is left to pay for is written off
                bill[members] += cost[i] / np.count_nonzero(members)
        return bill

    def flow_charge(self, period, entry, units):
        """EUR per unit an element on ``entry`` (-1: none) bears when ``units`` go through it a month in all (per
        element): its share under the flow rule; 0 under the equal rule, whose fee no decision changes, and off it."""
        if len(self) == 0:
            return np.zeros(len(entry))
        at = np.maximum(entry, 0)
        on = (entry >= 0) & self.by_flow[at] & (units > 0)
        return np.divide(self.monthly_cost(period)[at], units, out=np.zeros(len(entry)), where=on)
