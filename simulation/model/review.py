"""Phase 4 of the month: contract review. Deals turned bad may be broken; expiring ones are renegotiated.

Once a receiver's pipeline is built its capex is sunk, and a supplier may hold it
up: renegotiate the price for a share of the joint gain, with breaking the
contract as its threat (:meth:`Firm.holds_up`); the receiver gives in, trusts it
less, and word goes round. Each side of an active contract weighs what the contract gives it this month at
its fixed price (:meth:`ExchangeEconomics.side_gains`); a side that has lost
money on it for ``contract.review_months`` months in a row and would lose more
than the penalty over the months left breaks it (:meth:`Firm.breaks`), pays the
penalty, and its partner stops trusting it, and the firms its partner knows trust
it less (:meth:`Deals.spread_word`). Contracts that reach the end of
their term are priced afresh (current prices, policy, flows and trust) and
renewed on the same link if both sides still accept; otherwise they end.
"""

import numpy as np

from simulation.model.contract import ACTIVE, REASON
from simulation.model.firm import breaking, holding_up


class ContractReview:
    def __init__(self, deals, economics, firms, params):
        self.deals, self.economics, self.firms = deals, economics, firms
        self.review_months = params.contract.review_months
        self.min_quantity = params.search.min_quantity
        self.quantity_share = params.contract.quantity_share
        self.holdup_share = params.contract.holdup_share

    def run(self, month):
        self._revise_commitments(month)
        book = self.deals.book
        active = book.where(ACTIVE)
        if len(active) == 0:
            return
        self._hold_up(month, active)
        self._check_breaches(month, active)
        active = book.where(ACTIVE)
        expiring = active[book.start[active] + book.term[active] <= month.period]
        if len(expiring):
            self._renegotiate(month, expiring)

    def _revise_commitments(self, month):
        """Cut promises back where a stream's expected flow has fallen below what is promised on it.

        A supply (or demand) stream whose contracts promise more than its expected
        monthly flow has lost the safety margin it was signed with: each of its
        running contracts is scaled down so that the stream promises
        ``contract.quantity_share`` of its expected flow again. Toll conversions are cut
        back alike where they promise a converter more than it can now convert (it
        shrank, switched process or left). A contract left below
        ``search.min_quantity`` ends.
        """
        deals = self.deals
        book = deals.book
        running = book.running()
        if len(running) == 0:
            return
        factor = np.ones(len(running))
        for table, stream in ((deals.supply, book.supply[running]), (deals.demand, book.demand[running])):
            committed, expected = table.committed[stream], table.expected[stream]
            over = committed > expected  # both >= 0, so committed > 0 where over
            factor[over] = np.minimum(factor[over], self.quantity_share * expected[over] / committed[over])
        toll = book.toll[running]
        if toll.any():
            converter, waste = book.receiver[running[toll]], book.waste[running[toll]]
            capacity, used = deals.tolls.capacity(converter, waste), deals.tolls.used(converter, waste, book)
            over = used > capacity
            factor[np.flatnonzero(toll)[over]] = np.minimum(factor[toll][over], capacity[over] / used[over])
        revised = factor < 1
        if not revised.any():
            return
        ids, cut = running[revised], book.quantity[running[revised]] * (1 - factor[revised])
        np.subtract.at(deals.supply.committed, book.supply[ids], cut)
        np.subtract.at(deals.demand.committed, book.demand[ids], cut * book.ratio[ids])
        book.quantity[ids] -= cut
        month.revised += len(ids)
        deals.close(month, ids[book.quantity[ids] < self.min_quantity], "revised below the minimum")

    def _hold_up(self, month, active):
        """Suppliers renegotiate the contracts whose receiver's pipeline has just been built (:meth:`Firm.holds_up`).

        The receiver pays what is asked as a higher price for the rest of the term; its trust in the supplier
        falls by the share of its gain taken, and the firms it knows hear of it (:meth:`Deals.spread_word`).
        """
        book = self.deals.book
        due = active[book.holdup_due[active]]
        if len(due) == 0 or self.holdup_share == 0:
            return
        book.holdup_due[due] = False
        gain_s, gain_r = self.economics.side_gains(month, book, due)
        months_left = book.start[due] + book.term[due] - month.period
        ask = holding_up(gain_s, gain_r, book.penalty_eur[due], months_left, self.holdup_share)
        taken = ask > 0
        for c, eur, gain in zip(due[taken].tolist(), ask[taken].tolist(), gain_r[taken].tolist()):
            book.price[c] += eur / book.quantity[c]
            book.holdup_eur[c] = eur
            book.trust_in_supplier[c] *= 1.0 - eur / gain
            month.held_up += 1
            self.deals.spread_word(int(book.supplier[c]), int(book.receiver[c]))

    def _check_breaches(self, month, active):
        book = self.deals.book
        gain_s, gain_r = self.economics.side_gains(month, book, active)
        sides = ((gain_s, book.loss_months_supplier, "breached by supplier", book.supplier, book.receiver, book.trust_in_supplier),
                 (gain_r, book.loss_months_receiver, "breached by receiver", book.receiver, book.supplier, book.trust_in_receiver))
        for gain, counter, reason, breaker, victim, trust_in_breaker in sides:
            losing = (counter[active] + 1) * (gain < 0)  # months in a row at a loss, 0 once it gains
            counter[active] = losing
            if not (losing >= self.review_months).any():  # the usual month: the rest need not be looked at
                continue
            remaining = book.start[active] + book.term[active] - month.period
            breaks = breaking(gain, losing, remaining, book.penalty_eur[active], self.review_months)
            breaks &= book.status[active] == ACTIVE
            for c in active[breaks].tolist():
                self.firms.cash_flow[breaker[c]] -= book.penalty_eur[c]
                self.firms.cash_flow[victim[c]] += book.penalty_eur[c]
                trust_in_breaker[c] = 0.0
                if breaker is book.supplier or book.toll[c]:  # a converter that breaks stops the owner's product
                    self.deals.supply_stopped(np.array([c]))
                self.deals.close(month, [c], reason)
                self.deals.spread_word(int(breaker[c]), int(victim[c]))

    def _renegotiate(self, month, expiring):
        """Price expiring contracts afresh; renew or end them.

        A renewal is a new contract on the same link, so the link's age goes on.
        """
        deals = self.deals
        book = deals.book
        deals.close(month, expiring, "not renewed", renewed=True)
        s, d, k = book.supply[expiring], book.demand[expiring], book.substitution[expiring]
        # The firms have not moved: the contracts' distances serve.
        with deals.replacing_contracts(expiring):
            terms, details = deals.price(month, s, d, k, renewal=True, dist=book.distance_km[expiring],
                                         receiver=book.receiver[expiring])
        renewed = deals.resolve(month, np.arange(len(expiring)), s, d, k, terms, details,
                                links=book.link[expiring], renewals=expiring)
        book.reason[expiring[renewed]] = REASON["renewed"]
        if len(renewed) == len(expiring):
            return
        lapsed = np.ones(len(expiring), dtype=bool)
        lapsed[renewed] = False
        lapsed = lapsed.nonzero()[0]
        # With flow left to trade but no surplus the deal has stopped paying; otherwise a side declined.
        unprofitable = (terms.surplus[lapsed] <= 0) & (terms.quantity[lapsed] >= self.min_quantity)
        book.reason[expiring[lapsed]] = np.where(unprofitable, REASON["no longer profitable"], REASON["not renewed"])
        month.ended += len(lapsed)
