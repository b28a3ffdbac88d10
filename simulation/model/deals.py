"""Signing, starting and ending contracts, and what that changes in the park.

:class:`Deals` keeps the contract book (:mod:`simulation.model.contract`) and
everything a signature or an ending touches: the flows streams have promised,
trust between firms, the pipelines built, the age of links, the month's set-up
spending and counts. The review and the search both sign through
:meth:`Deals.resolve`, so a renewal and a new deal follow one rule.
"""

from contextlib import contextmanager

import numpy as np

from simulation.model.clauses import ClauseBargain
from simulation.model.columns import Columns
from simulation.model.contract import ACTIVE, AT_SIGNING, PENDING, REASON, ContractBook
from simulation.model.keyed import (
    KeyedValues,
    first_occurrences,
    pair_key,
    stream_pair_key,
    unique_ints,
)
from simulation.scenario.timeline import DAYS_PER_MONTH


class Deals:
    def __init__(self, firms, supply, demand, economics, logistics, loans, params, n_materials, tolls):
        self.book = ContractBook()
        self.tolls = tolls  # what firms can convert for their neighbours (simulation.model.toll)
        self.firms, self.supply, self.demand = firms, supply, demand
        self.economics, self.logistics, self.loans = economics, logistics, loans
        self.min_quantity = params.search.min_quantity
        self.setup_cost = params.contract.setup_cost_eur
        self.clauses = ClauseBargain(firms, params.contract, params.outages)
        self.lead_days = params.logistics.pipeline_lead_months * DAYS_PER_MONTH
        self.n_materials = n_materials
        self.trust = KeyedValues(default=params.trust.initial)  # key truster * n + trusted
        self.reputation_weight, self.neighbourhood_km = params.trust.reputation_weight, params.search.neighbourhood_km
        self.pipelines = KeyedValues(default=0.0)  # 1 where a pipeline joins supplier, receiver and waste
        self.networks = economics.networks
        self.replacing = np.zeros(0, dtype=np.int64)  # contracts the deals being priced would replace (replacing_contracts)
        self.replaced_by_stream = False
        self._links = Columns({"start": np.int64}, fill={"start": -1})  # a row per link
        # Input units a month that receivers lost this month when their supplier stopped without warning
        # (left, switched process, broke the contract): demand stream -> units, taken by the physical month.
        self.supply_lost = {}

    @property
    def link_start(self):
        """Month each link first delivered, -1 before (a view: writes go through)."""
        return self._links.start

    # -- keys --------------------------------------------------------------------
    def pair_key(self, a, b):
        return pair_key(a, b, len(self.firms))

    def pipe_key(self, supplier, receiver, waste):
        return self.pair_key(supplier, receiver) * self.n_materials + waste

    def trust_between(self, truster, trusted):
        """Trust of firms ``truster`` in firms ``trusted`` (index arrays)."""
        return self.trust.get(self.pair_key(truster, trusted))

    def pair_context(self, s, d, k, receiver):
        """Trust both ways (the supplier's in the receiver, the receiver's in the supplier) and existing
        pipelines for candidate pairs, in one look-up each."""
        supplier = self.supply.firm[s]
        pipes = self.pipelines.get(self.pipe_key(supplier, receiver, self.economics.subs.waste[k])) > 0
        both = self.trust.get(np.concatenate([self.pair_key(supplier, receiver), self.pair_key(receiver, supplier)]))
        return both[:len(s)], both[len(s):], pipes

    @contextmanager
    def replacing_contracts(self, ids, by_stream=False):
        """Within the block, the deals priced would replace contracts ``ids``: each one the contract on its own pair
        of streams (a renewal), or, ``by_stream``, every one of ``ids`` on its supply stream (a waste moved to a
        better use, with the contract it tops up). Each pair's shared network is then loaded by the other
        contracts' flows, not by those it replaces (:meth:`network_context`)."""
        self.replacing, self.replaced_by_stream = np.unique(np.asarray(ids, dtype=np.int64)), by_stream
        try:
            yield
        finally:
            self.replacing, self.replaced_by_stream = np.zeros(0, dtype=np.int64), False

    def network_context(self, period, s, d, k):
        """The shared network that would carry each candidate pair's waste (-1: none) and the units the network's
        other contracts carry (per pair): the running ones and those being replaced (:meth:`replacing_contracts`),
        less those the pair replaces, whose flow it takes over; (None, None) in a park without shared networks."""
        if len(self.networks) == 0:
            return None, None
        book, networks, replacing = self.book, self.networks, self.replacing
        network = networks.serving(period, self.supply.firm[s], self.demand.firm[d], self.economics.subs.waste[k])
        counted = np.union1d(book.running(), replacing)
        load = networks.through(book.network[counted], book.quantity[counted])[np.maximum(network, 0)]
        replaced = replacing[book.network[replacing] >= 0]
        if len(replaced) and len(s):
            # What a pair replaces: the replaced contracts on its network and its supply stream (or stream pair).
            own = book.supply[replaced] if self.replaced_by_stream else stream_pair_key(book.supply[replaced], book.demand[replaced])
            keys, group = np.unique(own * len(networks) + book.network[replaced], return_inverse=True)
            taken = KeyedValues(default=0.0)
            taken.set(keys, np.bincount(group, weights=book.quantity[replaced]))
            query = (s if self.replaced_by_stream else stream_pair_key(s, d)) * len(networks) + network
            load = load - np.where(network >= 0, taken.get(query), 0.0)  # a key with network -1 is another pair's
        return network, load

    def price(self, month, s, d, k, renewal=False, dist=None, receiver=None):
        """Terms and details of candidate pairs, with the trust, pipelines and shared networks between their firms
        and the clauses they would sign (:mod:`simulation.model.clauses`). ``receiver`` (firms) names the
        converter of a toll conversion where it is not the demand stream's firm (:mod:`simulation.model.toll`)."""
        receiver = self.demand.firm[d] if receiver is None else np.asarray(receiver, dtype=np.int64)
        toll = receiver != self.demand.firm[d]
        trust_s, trust_r, pipes = self.pair_context(s, d, k, receiver)
        network, load = self.network_context(month.period, s, d, k)
        room = None
        if toll.any():  # a toll conversion goes by road, never through a shared network
            room = np.where(toll, self.tolls.room(receiver, self.supply.material[s], self.book), np.nan)
            network = None if network is None else np.where(toll, -1, network)
        terms, details = self.economics.price_pairs(month, s, d, k, trust_s, trust_r, pipes, renewal=renewal, dist=dist,
                                                    network=network, network_load=load, receiver=receiver,
                                                    converter_room=room)
        terms, clauses = self.clauses.settle(terms, self.supply.firm[s], receiver, trust_s, trust_r, self.book, toll)
        return terms, details.with_clauses(clauses)

    # -- signing -----------------------------------------------------------------
    def resolve(self, month, rank, s, d, k, terms, details, links=None, renewals=None):
        """Sign pairs ``rank`` (indices into the arrays) in that order, where both sides still accept.

        Each signing commits its flow; a later pair whose stream has been used is
        re-sized to the flow left free and signed only if it still clears both
        hurdles. Done in rounds with the same result as one pair at a time: a
        round takes every pair that comes first on both its streams among the
        pairs left, and such pairs share no stream. A later round is re-sized to
        the flow left free when any of its pairs has less free than it was priced
        for (for the others the re-sizing changes nothing). Returns the indices signed.
        """
        if len(rank) == 0:
            return np.zeros(0, dtype=np.int64)
        converts = details.conversion
        converter = _ConverterRoom(self, s, d, details)
        pending = np.asarray(rank, dtype=np.int64)
        signed, deals = [], []
        while len(pending):
            ready = _first_on_both(s[pending], d[pending]) & converter.first(pending)
            batch, pending = pending[ready], pending[~ready]
            deal = terms.select(batch)
            if signed:
                free = self.economics.free_quantity(s[batch], d[batch], k[batch], converts[batch], converter.left(batch))
                if (free != deal.quantity).any():  # re-sizing to the same quantity would leave the deal as it is
                    deal = deal.with_quantity(free)
            take = (deal.acceptable & (deal.quantity >= self.min_quantity)).nonzero()[0]
            batch, deal = batch[take], deal.select(take)
            # A round's pairs share no stream, so plain fancy-index updates add each quantity once.
            self.supply.committed[s[batch]] += deal.quantity
            self.demand.committed[d[batch]] += deal.quantity * converts[batch]
            converter.take(batch, deal.quantity)
            signed.append(batch)
            deals.append(deal)
        if len(signed) == 1:  # one round keeps the order of ``rank``
            chosen, deal = signed[0], deals[0]
        else:
            position = np.empty(len(s), dtype=np.int64)
            position[rank] = np.arange(len(rank))
            chosen = np.concatenate(signed)
            order = position[chosen].argsort(kind="stable")  # sign in the order of ``rank``
            chosen = chosen[order]
            deal = terms.like(np.concatenate([part.values for part in deals], axis=1)[:, order])
        if len(chosen):
            self._sign(month, s[chosen], d[chosen], k[chosen], deal, details.select(chosen),
                       links=None if links is None else links[chosen], renewals=None if renewals is None else renewals[chosen])
        return chosen

    def _sign(self, month, s, d, k, deal, details, links=None, renewals=None):
        """Record contracts whose flows ``resolve`` has committed; start them or their pipelines.

        Trust at signing is trust as priced: nothing changes it in between."""
        book, pol = self.book, month.policy
        n = len(s)
        supplier, receiver = self.supply.firm[s], details.receiver.astype(np.int64)
        toll = receiver != self.demand.firm[d]
        capex = details.capex
        trust_in_supplier, trust_in_receiver = details.trust_r, details.trust_s
        supplier_gain, receiver_gain = deal.supplier_gain, deal.receiver_gain
        priced = {"surplus_eur": deal.surplus, "supplier_gain_eur": supplier_gain, "receiver_gain_eur": receiver_gain,
                  "supplier_hurdle_eur": deal.supplier_hurdle, "receiver_hurdle_eur": deal.receiver_hurdle,
                  "supplier_avoided_eur": deal.supplier_avoided, "receiver_avoided_eur": deal.receiver_avoided,
                  "capex_eur": capex, "signing_trust_in_supplier": trust_in_supplier,
                  "signing_trust_in_receiver": trust_in_receiver, "signed_quantity": deal.quantity}
        ids = book.add(
            n, link=links, supply=s, demand=d, supplier=supplier, receiver=receiver, waste=self.supply.material[s],
            input=self.demand.material[d], substitution=k, ratio=details.conversion, mode=details.mode, distance_km=details.dist,
            quantity=deal.quantity, price=deal.price, start=month.period, term=details.term,
            penalty_eur=pol.breach_penalty_months * np.maximum(supplier_gain, receiver_gain),
            status=PENDING, trust_in_supplier=trust_in_supplier, trust_in_receiver=trust_in_receiver,
            renewal_of=-1 if renewals is None else renewals, network=details.network.astype(np.int64),
            indexation=self.clauses.indexation(deal, details.indexation, toll),
            virgin_at_signing=month.costs.virgin[self.demand.material[d]],
            deliver_or_pay=details.deliver_or_pay, take_or_pay=details.take_or_pay,
            holdup_due=capex > 0, toll=toll, at_signing=np.array([priced[name] for name in AT_SIGNING]),
        )
        if links is None:
            agents = self.firms.agents
            for a, b in zip(supplier.tolist(), receiver.tolist()):
                agents[a].meet([b])
            self._links.append(n)
            np.subtract.at(self.firms.cash_flow, supplier, self.setup_cost / 2)
            np.subtract.at(self.firms.cash_flow, receiver, self.setup_cost / 2)
            month.spend["setup"] += self.setup_cost * n
        piped = capex > 0
        if piped.any():
            for c in piped.nonzero()[0].tolist():
                self._build_pipeline(month, int(ids[c]), int(receiver[c]), int(supplier[c]), int(self.supply.material[s[c]]),
                                     float(capex[c]))
            ids = ids[~piped]
        self._start(month, ids, self.logistics.env.now)

    def _build_pipeline(self, month, cid, receiver, supplier, waste, capex):
        """The receiver borrows its share of the capex; the pipe carries flow once built (a simpy process)."""
        share = month.policy.capex_subsidy_share
        term, built_in = int(self.book.term[cid]), self.economics.construction_months
        self.loans.lend(receiver, capex * (1 - share), int(self.economics.paying_months(term, True)), grace=built_in)
        month.ledger.capex_subsidies += capex * share
        self.pipelines.set(self.pipe_key(supplier, receiver, waste), 1.0)
        self.logistics.build_pipeline(cid, self.lead_days)

    def open_built_pipelines(self, month):
        """Contracts whose pipeline the month finished start delivering from that day, unless they ended meanwhile."""
        for cid, day in self.logistics.take_built():
            if self.book.status[cid] == PENDING:
                self._start(month, np.array([cid]), day)

    def _start(self, month, ids, day):
        """Pending contracts ``ids`` start delivering from ``day``."""
        book = self.book
        book.activate(ids, day)
        links = unique_ints(book.link[ids])
        first = links[self.link_start[links] < 0]
        self.link_start[first] = month.period
        month.born += len(first)

    # -- ending --------------------------------------------------------------------
    def close(self, month, ids, reason, renewed=False):
        """End contracts ``ids`` for ``reason``: their flows are free again and trust is kept for the future."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        book = self.book
        # np.subtract.at, since several closing contracts may share a stream.
        np.subtract.at(self.supply.committed, book.supply[ids], book.quantity[ids])
        np.subtract.at(self.demand.committed, book.demand[ids], book.quantity[ids] * book.ratio[ids])
        self.remember_trust(ids)
        if not renewed:
            month.ended += np.count_nonzero(book.status[ids] == ACTIVE)
        book.close(ids, month.period, reason)

    def remember_trust(self, ids):
        """Each side of contracts ``ids`` remembers the trust it has learnt on it (the contract holds it while it runs)."""
        book = self.book
        supplier, receiver = book.supplier[ids], book.receiver[ids]
        self.trust.set(self.pair_key(receiver, supplier), book.trust_in_supplier[ids])
        self.trust.set(self.pair_key(supplier, receiver), book.trust_in_receiver[ids])

    def spread_word(self, breaker, victim):
        """Word of a breach (or a hold-up) goes round: the firms the victim knows (its acquaintances, past partners among them,
        and its neighbours) lose ``trust.reputation_weight`` of their trust in the breaker, on running contracts
        with it and in their memory of it. Nothing restores it but deliveries."""
        if self.reputation_weight == 0:
            return
        f = self.firms
        near = (f.distances(np.full(len(f), victim), np.arange(len(f))) <= self.neighbourhood_km) & f.active
        hearers = np.union1d(near.nonzero()[0], f.agents[victim].acquaintance_array())
        hearers = hearers[(hearers != breaker) & (hearers != victim)]
        if len(hearers) == 0:
            return
        keep = 1.0 - self.reputation_weight
        keys = self.pair_key(hearers, breaker)
        self.trust.set(keys, self.trust.get(keys) * keep)
        book = self.book
        running = book.running()
        for trust, hearer_side, breaker_side in ((book.trust_in_supplier, book.receiver, book.supplier),
                                                 (book.trust_in_receiver, book.supplier, book.receiver)):
            heard = running[np.isin(hearer_side[running], hearers) & (breaker_side[running] == breaker)]
            trust[heard] *= keep

    def supply_stopped(self, ids):
        """Contracts ``ids`` lose their supply without warning: their receivers must fall back this month."""
        book = self.book
        for c in ids[book.status[ids] == ACTIVE].tolist():
            d = int(book.demand[c])
            self.supply_lost[d] = self.supply_lost.get(d, 0.0) + float(book.quantity[c] * book.ratio[c])

    def take_supply_lost(self, n_demand):
        """Per demand stream, the input units lost this month by suppliers stopping; the record starts again."""
        lost = np.zeros(n_demand)
        for d, units in self.supply_lost.items():
            lost[d] += units
        self.supply_lost = {}
        return lost

    def close_on_stream(self, month, table, stream, reason):
        """End the running contracts on supply or demand ``stream`` (``table`` is the side's StreamTable)."""
        running = self.book.running()
        column = self.book.supply if table is self.supply else self.book.demand
        ids = running[column[running] == stream]
        if table is self.supply:
            self.supply_stopped(ids)
        self.close(month, ids, reason)

    def close_converted_by(self, month, firm, reason):
        """End the running toll conversions firm ``firm`` does for others: their owners lose the product at once."""
        running = self.book.running()
        ids = running[self.book.toll[running] & (self.book.receiver[running] == firm)]
        self.supply_stopped(ids)
        self.close(month, ids, reason)

    def finish(self):
        """Mark contracts still running at the end of the run (for the log): the record stops, not the link."""
        running = self.book.running()
        self.book.reason[running] = REASON["run ended"]


class _ConverterRoom:
    """What the converters of the toll conversions among pairs being signed can still take, kept up to date as
    :meth:`Deals.resolve` signs them (units of waste a month; nan for the other pairs)."""

    def __init__(self, deals, s, d, details):
        receiver = details.receiver.astype(np.int64)
        self.toll = receiver != deals.demand.firm[d]
        self.any = bool(self.toll.any())
        if self.any:
            waste = deals.supply.material[s]
            self.slot = np.where(self.toll, deals.tolls.key(receiver, waste), -1)
            self.room = np.where(self.toll, deals.tolls.room(receiver, waste, deals.book), np.nan)

    def first(self, pending):
        """Which of ``pending`` come first on their converter's capacity (every pair that is no toll conversion)."""
        ready = np.ones(len(pending), dtype=bool)
        if self.any:
            toll = np.flatnonzero(self.toll[pending])
            ready[toll] = False
            ready[toll[first_occurrences(self.slot[pending[toll]])]] = True
        return ready

    def left(self, pairs):
        return self.room[pairs] if self.any else None

    def take(self, pairs, quantity):
        """Pairs ``pairs`` (one a converter at most) signed for ``quantity``: their converters have that less room."""
        if not self.any:
            return
        for j, q in zip(pairs[self.toll[pairs]].tolist(), quantity[self.toll[pairs]].tolist()):
            self.room[self.slot == self.slot[j]] -= q


def _first_on_both(s, d):
    """Which entries come first (in order) among those with the same supply stream and the same demand stream."""
    n = len(s)
    if n < 2:
        return np.ones(n, dtype=bool)
    first = np.zeros(2 * n, dtype=bool)
    # One pass over both: demand streams shifted past every supply stream.
    first[first_occurrences(np.concatenate([s, d + (1 << 32)]))] = True
    return first[:n] & first[n:]
