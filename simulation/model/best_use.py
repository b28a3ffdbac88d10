"""Phase 3 of the month: a contracted waste moves to a better use.

A contract ties a waste to one receiver for its term, but a better use may
appear while it runs: a new plant enters, a technique is approved, prices move.
A supplier looks for one when its contract expires, and otherwise with chance
``contract.best_use_rate_per_month`` a month. It looks among the receivers it
knows of, as a search does (neighbours, acquaintances, platform peers:
:meth:`simulation.model.market.Market.sees`), pricing each as a new deal for the
contract's flow, set-up and pipeline included (:meth:`Deals.price`). Where the
best of them would give it more than the contract gives it now
(:meth:`ExchangeEconomics.side_gains`), each net of the risk premium it asks of
that partner (a receiver it has not yet learnt to trust must pay more to be
worth the change), it moves the waste
(:meth:`simulation.model.firm.Firm.moves_waste`): at expiry on that alone;
before it only where the extra gain over the months left also pays the breach
penalty, which goes to the receiver it leaves. Leaving at a price the
contract set is no breach, so trust is kept and no word goes round. The
receiver left behind searches for another source in the search phase.

Of the contracts a supplier weighs on one stream, one a month is put to the
test: the one that gives it least a unit. Where the better receiver already
takes part of the same stream under a contract of its own, the move is a
top-up: that contract is renewed early, on its link, for both flows together,
and only the part the move brings counts as its gain. Moves from several
streams to one receiver sign in turn, the later ones re-sized to what is left
(:meth:`Deals.resolve`); what is not placed is free for the month's search.
"""

from contextlib import contextmanager

import numpy as np

from simulation.model.contract import ACTIVE, REASON
from simulation.model.firm import AcquaintanceLists, moving_waste, risk_premiums
from simulation.model.keyed import contains, first_occurrences, stream_pair_key


class BestUse:
    def __init__(self, deals, market, economics, firms, supply, demand, contract, streams):
        self.deals, self.market, self.economics = deals, market, economics
        self.firms, self.supply, self.demand = firms, supply, demand
        self.rate = contract.best_use_rate_per_month
        self.looks = streams.stream("best use")  # who looks mid-term: a draw for every firm each month

    def run(self, month):
        if self.rate == 0:
            return
        book = self.deals.book
        looking = self.looks.random(len(self.firms)) < self.rate
        active = book.where(ACTIVE)
        months_left = book.start[active] + book.term[active] - month.period
        expiring = months_left <= 0
        # A toll conversion is weighed at its renewal only: the converter's capacity is not priced mid-term.
        examined = (expiring | looking[book.supplier[active]]) & ~book.toll[active]
        contracts, months_left, expiring = active[examined], months_left[examined], expiring[examined]
        if len(contracts) == 0:
            return
        current = self._current_gains(month, contracts, expiring)
        # One contract a stream a month is weighed: an expiring one first, else the one that gives its supplier least
        # a unit.
        quantity = book.quantity[contracts]
        per_unit = np.divide(current, quantity, out=np.zeros(len(current)), where=quantity > 0)
        streams = book.supply[contracts]
        order = np.lexsort((contracts, per_unit, ~expiring, streams))
        pick = order[first_occurrences(streams[order])]
        contracts, months_left, current = contracts[pick], months_left[pick], current[pick]
        best, offers, move_gain = self._best_offers(month, contracts)
        if len(best) == 0:
            return
        s, d, k, terms, details, topped = offers
        contracts, months_left, current = contracts[best], months_left[best], current[best]
        moves = moving_waste(current, move_gain, months_left, book.penalty_eur[contracts])
        if moves.any():
            self._move(month, contracts[moves], months_left[moves], s[moves], d[moves], k[moves],
                       terms.select(moves), details.select(moves), topped[moves])

    def _current_gains(self, month, contracts, expiring):
        """What each contract gives its supplier a month, net of its risk premium: running, at its price as
        signed; ``expiring``, as its renewal would, priced afresh (0, disposal, where the renewal would fail)."""
        book = self.deals.book
        gain, _ = self.economics.side_gains(month, book, contracts)
        avoided = book.quantity[contracts] * self.economics.disposal_unit(month, book.supply[contracts])
        expiring = np.broadcast_to(expiring, contracts.shape)
        if expiring.any():
            ids = contracts[expiring]
            with _freed(self.deals, ids):
                renewal, _ = self.deals.price(month, book.supply[ids], book.demand[ids], book.substitution[ids],
                                              renewal=True, dist=book.distance_km[ids])
            renewal = renewal.with_quantity(np.minimum(renewal.quantity, book.quantity[ids]))
            gain = gain.copy()
            gain[expiring] = np.where(renewal.acceptable, renewal.supplier_gain, 0.0)
            avoided[expiring] = np.where(renewal.acceptable, renewal.supplier_avoided, 0.0)
        return gain - self._premium(contracts, book.trust_in_receiver[contracts], avoided)

    def _best_offers(self, month, contracts):
        """For each of ``contracts`` (at most one a supply stream) with an acceptable offer from a receiver its
        supplier knows of, the best for the supplier, priced for the contract's quantity (and that of the contract it would top up):
        positions in ``contracts``; (s, d, k, terms, details, contract topped up or -1) of the offers; and what
        the supplier would gain a month by the move, net of its risk premium."""
        book = self.deals.book
        streams = book.supply[contracts]
        suppliers = np.unique(book.supplier[contracts])
        slot = np.zeros(len(self.firms), dtype=np.int64)
        slot[suppliers] = np.arange(len(suppliers))
        known = AcquaintanceLists(self.firms.agents, suppliers, slot)
        open_s = np.zeros(len(self.supply), dtype=bool)
        open_s[streams] = True
        # Only the suppliers' side searches (no demand stream of theirs is open); their own contracts' pairs are no offer.
        searcher, partner, s, d, k, dist = self.market.candidate_pairs(
            month.policy, month.period, suppliers, open_s, np.zeros(len(self.demand), dtype=bool), known, contracted=True)
        pair = stream_pair_key(s, d)
        offered = (self.market.sees(month.policy, month.period, searcher, partner, s, dist, known)[0] & open_s[s]
                   & ~contains(pair, stream_pair_key(streams, book.demand[contracts])))
        s, d, k, dist, pair = s[offered], d[offered], k[offered], dist[offered], pair[offered]
        topped = self._contract_on(pair, book.running())
        keep = (topped < 0) | (book.status[np.maximum(topped, 0)] == ACTIVE)  # a pipeline being built is not topped up
        s, d, k, dist, topped = s[keep], d[keep], k[keep], dist[keep], topped[keep]
        on_top = topped >= 0
        with _freed(self.deals, np.concatenate([contracts, topped[on_top]])):  # as they are once a move is made
            terms, details = self.deals.price(month, s, d, k, dist=dist)
            if on_top.any():  # a top-up renews a contract: no set-up cost
                again, _ = self.deals.price(month, s[on_top], d[on_top], k[on_top], renewal=True, dist=dist[on_top])
                terms.values[:, on_top] = again.values
        top_up = np.where(on_top, book.quantity[np.maximum(topped, 0)], 0.0)
        # Each offer is for the contract weighed on its supply stream (one a stream).
        by_stream = np.argsort(streams)
        contract = by_stream[np.searchsorted(streams[by_stream], s)]
        moved = book.quantity[contracts[contract]]
        priced = terms.with_quantity(np.minimum(terms.quantity, moved + top_up))
        # The move's gain is the new deal's gain, net of the risk premium, on the part of it the move brings; for a
        # top-up, also no more than the new deal gives beyond what the topped-up contract gives now, so that neither a
        # better price on the flow it already carries nor a worse one is counted as the move's.
        brought = np.minimum(moved, np.maximum(priced.quantity - top_up, 0.0))
        share = np.divide(brought, priced.quantity, out=np.zeros(len(brought)), where=priced.quantity > 0)
        net = priced.supplier_gain - self._premium(contracts[contract], details.trust_s, priced.supplier_avoided)
        gain = net * share
        if on_top.any():
            gain[on_top] = np.minimum(gain[on_top], net[on_top] - self._current_gains(month, topped[on_top], False))
        ok = (priced.acceptable & (brought > 0)).nonzero()[0]
        # The best acceptable offer of each contract: highest gain first, ties to the first offer listed.
        order = ok[np.lexsort((ok, -gain[ok], contract[ok]))]
        order = order[first_occurrences(contract[order])]
        offers = (s[order], d[order], k[order], priced.select(order), details.select(order), topped[order])
        return contract[order], offers, gain[order]

    def _premium(self, contracts, trust, avoided_eur):
        """The risk premium (EUR a month) each contract's supplier asks of a partner it trusts ``trust``."""
        supplier = self.deals.book.supplier[contracts]
        return risk_premiums(self.firms.hurdle_rate[supplier], self.firms.risk_aversion[supplier], trust, avoided_eur)

    def _contract_on(self, pair, running):
        """The running contract on each (supply, demand) ``pair`` key, or -1 (a pair has one at most)."""
        book = self.deals.book
        if len(running) == 0:
            return np.full(len(pair), -1, dtype=np.int64)
        keys = stream_pair_key(book.supply[running], book.demand[running])
        order = np.argsort(keys, kind="stable")
        at = np.minimum(np.searchsorted(keys[order], pair), len(keys) - 1)
        return np.where(keys[order][at] == pair, running[order][at], -1)

    def _move(self, month, contracts, months_left, s, d, k, terms, details, topped):
        """End ``contracts`` (the supplier paying the penalty where it leaves early) and sign the new deals:
        top-ups on the link of the contract they replace, the others as new links."""
        book, deals = self.deals.book, self.deals
        early = contracts[months_left > 0]
        np.subtract.at(self.firms.cash_flow, book.supplier[early], book.penalty_eur[early])
        np.add.at(self.firms.cash_flow, book.receiver[early], book.penalty_eur[early])
        deals.close(month, contracts, "moved to a better use")
        on_top = topped >= 0  # one move a supply stream, so no contract is topped up twice
        renewed = topped[on_top]
        deals.close(month, renewed, "not renewed", renewed=True)
        # Top-ups first, on the links of the contracts they renew, then the new links; each signs what the streams
        # have free by then, so two moves to one receiver never promise it more than it can take.
        for group, links in ((on_top.nonzero()[0], book.link[renewed]), ((~on_top).nonzero()[0], None)):
            deal = terms.select(group)
            free = self.economics.free_quantity(s[group], d[group], k[group], details.conversion[group])
            deal = deal.with_quantity(np.minimum(deal.quantity, free))
            signed = deals.resolve(month, np.arange(len(group)), s[group], d[group], k[group], deal,
                                   details.select(group), links=links, renewals=None if links is None else renewed)
            if links is not None:
                book.reason[renewed[signed]] = REASON["renewed"]
                month.ended += len(renewed) - len(signed)  # a top-up too small to sign ends its contract


@contextmanager
def _freed(deals, contracts):
    """Within the block, ``contracts``' flows count as free on both their streams, the deals priced replace them
    (:meth:`Deals.replacing_contracts`), and their firms price with the trust they have learnt on them; the
    commitments are put back exactly as they were."""
    b = deals.book
    kept = deals.supply.committed.copy(), deals.demand.committed.copy()
    np.subtract.at(deals.supply.committed, b.supply[contracts], b.quantity[contracts])
    np.subtract.at(deals.demand.committed, b.demand[contracts], b.quantity[contracts] * b.ratio[contracts])
    deals.remember_trust(contracts)
    try:
        with deals.replacing_contracts(contracts, by_stream=True):
            yield
    finally:
        deals.supply.committed[:], deals.demand.committed[:] = kept
