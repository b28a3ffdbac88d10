"""Shared networks: one pipe network, many connections, its cost shared by rule.

Real parks run networks that many firms tap: a recycled-water main, a steam
header, a gas grid inside the fence. Priced pipe by pipe, every customer of
such a network would pay for a pipeline of its own; a scenario's
``[[networks]]`` (:class:`simulation.scenario.parameters.SharedNetwork`) says
which firms one connects, what it carries and from when. Between two members,
an exchange of what it carries goes through it: no pipeline to build, no
construction time, nothing a supplier could hold up. The network costs its
members, each month from the one it is built in, its capital paid off over its
payoff months plus its upkeep, shared by its rule:

* ``flow``: pro rata to the units each member received through it in the
  month (in a month it carries nothing, equally among its members there). A
  deal is priced with the charge per unit it would bear, the month's cost over
  the units the network's running contracts carry with it included, so the
  first user of a network pays for all of it and each new one makes it cheaper
  for the others.
* ``equal``: in equal shares among the members in the park, whether they use
  it or not: a club fee, the same with or without any one deal, so no deal is
  priced with it.

A network whose members have all left is written off: nobody pays for it.
Where two networks carry the same material between the same two firms, the
first listed serves them.
"""

import numpy as np

from simulation.model.finance import monthly_payment


class SharedNetworks:
    """The scenario's shared networks, as arrays over networks (rows) and firms or materials (columns)."""

    def __init__(self, specs, firm_ids, material_index, calendar, interest_rate_per_year):
        n, n_firms = len(specs), len(firm_ids)
        row = {firm: i for i, firm in enumerate(firm_ids)}
        self.ids = [spec.id for spec in specs]
        self.member = np.zeros((n, n_firms), dtype=bool)
        self.carries = np.zeros((n, len(material_index)), dtype=bool)
        for i, spec in enumerate(specs):
            self.member[i, [row[firm] for firm in spec.members]] = True
            self.carries[i, [material_index[name] for name in spec.materials]] = True
        self.built = np.array([max(0, calendar.period_of(spec.built)) for spec in specs], dtype=np.int64)
        self.payoff_months = np.array([spec.payoff_months for spec in specs], dtype=np.int64)
        self.capital = monthly_payment(np.array([spec.capex_eur for spec in specs]), interest_rate_per_year,
                                       np.maximum(self.payoff_months, 1))
        self.opex = np.array([spec.opex_eur_per_month for spec in specs], dtype=float)
        self.by_flow = np.array([spec.sharing == "flow" for spec in specs], dtype=bool)

    def __len__(self):
        return len(self.ids)

    def monthly_cost(self, period):
        """EUR each network costs its members in ``period``: nothing before it is built, the capital until it is
        paid off, the upkeep from then on."""
        age = period - self.built
        return np.where(age >= 0, self.opex + self.capital * (age < self.payoff_months), 0.0)

    def serving(self, period, supplier, receiver, waste):
        """The network (row) that carries ``waste`` between ``supplier`` and ``receiver`` in ``period``, per pair,
        or -1 where none does."""
        if len(self) == 0:
            return np.full(len(supplier), -1, dtype=np.int64)
        serves = (self.member[:, supplier] & self.member[:, receiver] & self.carries[:, waste]
                  & (self.built <= period)[:, None])
        return np.where(serves.any(axis=0), serves.argmax(axis=0), -1)

    def load(self, network, quantity):
        """Units a month each network's contracts carry: the sum of ``quantity`` over the contracts on ``network``."""
        on = network >= 0
        return np.bincount(network[on], weights=quantity[on], minlength=len(self))

    def unit_charge(self, period, network, carried):
        """EUR per unit a contract on ``network`` (-1: none) bears when the network carries ``carried`` units a
        month in all (per contract, its own included): its share of the network's cost under the flow rule;
        0 under the equal rule, whose fee no deal changes, and off any network."""
        if len(self) == 0:
            return np.zeros(len(network))
        at = np.maximum(network, 0)
        on = (network >= 0) & self.by_flow[at] & (carried > 0)
        return np.divide(self.monthly_cost(period)[at], carried, out=np.zeros(len(network)), where=on)

    def bill(self, period, network, receiver, shipped, active):
        """EUR each firm pays for the networks this month (an array over firms), by each network's rule.

        ``network``, ``receiver`` and ``shipped`` describe the month's deliveries (one entry per contract);
        ``active`` marks the firms in the park.
        """
        n_firms = len(active)
        bill = np.zeros(n_firms)
        cost = self.monthly_cost(period)
        on = network >= 0
        carried = self.load(network, shipped)
        for i in np.flatnonzero(cost > 0).tolist():
            if self.by_flow[i] and carried[i] > 0:
                mine = on & (network == i)
                bill += np.bincount(receiver[mine], weights=cost[i] * shipped[mine] / carried[i], minlength=n_firms)
                continue
            members = self.member[i] & active
            if members.any():  # a network nobody is left to pay for is written off
                bill[members] += cost[i] / np.count_nonzero(members)
        return bill
