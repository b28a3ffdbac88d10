"""In-plant recovery: technology that lets a firm reuse its own waste in place of its own input.

A firm that searched and found no partner considers, for each of its wastes
that one of its inputs can take, installing recovery technology sized for the
flow it has free; :meth:`simulation.model.firm.Firm.invests` decides, and the
capex is financed by a loan (:mod:`simulation.model.finance`). An installation
then reuses at most its installed quantity each month (:mod:`simulation.model.flows`).
"""

import numpy as np

from simulation.model.firm import investing
from simulation.model.keyed import contains, stream_pair_key
from simulation.model.market import grouped_best


class RecoveryPlants:
    """Every installation: its supply and demand stream, substitution and installed quantity (units of waste a month)."""

    def __init__(self, subs):
        self.subs = subs
        self._rows = {"supply": [], "demand": [], "substitution": [], "quantity": [], "start": []}

    def add(self, s, d, k, quantity, start):
        """An installation that reuses from month ``start`` on (it is being built until then)."""
        for name, value in zip(self._rows, (s, d, k, quantity, start)):
            self._rows[name].append(value)

    def drop_stream(self, side, stream):
        """Remove the installations on supply or demand (``side``) ``stream``, which has ended."""
        keep = [j for j, st in enumerate(self._rows[side]) if st != stream]
        for name in self._rows:
            self._rows[name] = [self._rows[name][j] for j in keep]

    def arrays(self, period=None):
        """The installations as arrays (streams, substitution, its ratio and share, quantity); in ``period``, if
        given, those still being built reuse nothing (quantity 0)."""
        k = np.array(self._rows["substitution"], dtype=np.int64)
        quantity = np.array(self._rows["quantity"], dtype=float)
        if period is not None:
            quantity = quantity * (np.array(self._rows["start"], dtype=np.int64) <= period)
        return {"supply": np.array(self._rows["supply"], dtype=np.int64),
                "demand": np.array(self._rows["demand"], dtype=np.int64),
                "substitution": k, "ratio": self.subs.ratio[k], "max_share": self.subs.max_share[k],
                "quantity": quantity}


class RecoveryInvestment:
    """Firms that found no partner consider recovery technology for an own waste and own input."""

    def __init__(self, plants, firms, supply, demand, economics, loans, params):
        self.plants, self.firms, self.supply, self.demand = plants, firms, supply, demand
        self.economics, self.loans = economics, loans
        self.min_quantity = params.search.min_quantity
        self.term = params.contract.duration_months
        self.quantity_share = params.contract.quantity_share
        self.lead_months = params.firm_defaults.recovery_lead_months

    def options(self, month, firms):
        """Every way each of ``firms`` could reuse a waste of its own: (firm, s, d, k, quantity, gain, capex, payment).

        ``quantity`` is the flow it has free (units of waste a month), ``gain`` its
        monthly saving (EUR), ``capex`` after subsidy and ``payment`` the monthly
        payment on the loan that would finance it.
        """
        subs = self.economics.subs
        firm, k = np.nonzero((self.supply.lookup[firms][:, subs.waste] >= 0) & (self.demand.lookup[firms][:, subs.input] >= 0)
                             & subs.open_in(month.period) & ~subs.toll
                             & subs.allowed(slice(None), self.firms.sector[firms]).T)
        firm = firms[firm]
        s, d = self.supply.lookup[firm, subs.waste[k]], self.demand.lookup[firm, subs.input[k]]
        quantity = self.economics.free_quantity(s, d, k, subs.ratio[k])
        gain = quantity * self.economics.recovery_unit_gain(month, k, s)
        capex = subs.capex[k] * (1 - month.policy.capex_subsidy_share)
        return firm, s, d, k, quantity, gain, capex, self.economics.loan_payment(capex, self.term)

    def run(self, month, firms):
        """Each of ``firms`` installs its best option worth having (:meth:`Firm.invests`); returns the firms that did."""
        if len(firms) == 0:
            return firms
        firm, s, d, k, quantity, gain, capex, payment = self.options(month, firms)
        if len(firm) == 0:
            return firm
        worth = investing(gain, payment, quantity, self.min_quantity, self.firms.hurdle_rate[firm])
        installed = self.plants.arrays()
        worth &= ~contains(stream_pair_key(s, d), stream_pair_key(installed["supply"], installed["demand"]))
        best = grouped_best(firm[worth], gain[worth])
        chosen = np.flatnonzero(worth)[best]
        for j in chosen.tolist():
            self.install(month, int(firm[j]), int(s[j]), int(d[j]), int(k[j]), float(quantity[j]), float(capex[j]))
        return firm[chosen]

    def install(self, month, firm, s, d, k, quantity, capex):
        """Install recovery of ``quantity`` units of waste a month, financing ``capex`` (EUR) by a loan: the plant
        reuses, and the loan's payments fall due, from ``firm_defaults.recovery_lead_months`` months on."""
        self._add(s, d, k, quantity, month.period + self.lead_months)
        if capex > 0:
            self.loans.lend(firm, capex, self.term, grace=self.lead_months)
            month.ledger.capex_subsidies += self.economics.subs.capex[k] * month.policy.capex_subsidy_share
        month.investments += 1

    def _add(self, s, d, k, quantity, start):
        self.plants.add(s, d, k, quantity, start)
        self.supply.committed[s] += quantity
        self.demand.committed[d] += quantity * self.economics.subs.ratio[k]

    def grant(self, firm, waste, period):
        """Install, without capex, the recovery technology a scenario says ``firm`` owns for ``waste`` (an index),
        as it enters in ``period``."""
        subs = self.economics.subs
        # The scenario check guarantees such a substitution exists and is open when the firm enters
        # (scenario.loader._check_recovery).
        k = next(j for j in subs.by_waste[waste] if self.demand.lookup[firm, subs.input[j]] >= 0 and subs.open_in(period, j))
        s, d = int(self.supply.lookup[firm, waste]), int(self.demand.lookup[firm, subs.input[k]])
        room = subs.max_share[k] * self.demand.expected[d] / subs.ratio[k]
        quantity = self.quantity_share * min(self.supply.expected[s], room)
        self._add(s, d, k, quantity, period)  # owned already: no loan, and no investment of the month
