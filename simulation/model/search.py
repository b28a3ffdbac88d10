"""Phase 5 of the month: partner search, offers and signing; recovery investment by those who found nothing.

Firms with unmatched flows search with probability ``search.rate_per_month``
(unless waiting after a fruitless search), fewest links first (Raimbault et al.
2020). Each sees the candidates it knows of (neighbours, acquaintances, platform
peers, and a few it discovers), prices them all at once, and makes up to
``search.max_offers`` offers, drawn with weight ``space of cooperation x
exp(-d / d0)``. A pair whose streams an earlier offer this round has already
used is priced again before its offer (:meth:`Deals.resolve`). Then searchers
with a waste a neighbour could convert back into an input of theirs look for a
converter (toll conversion, :mod:`simulation.model.toll`). A searcher that
signs nothing considers recovery technology, and otherwise waits
``search.retry_months`` before searching again.
"""

import numpy as np

from simulation.model.firm import AcquaintanceLists, leaving_platform
from simulation.model.keyed import contains, first_occurrences, stream_pair_key
from simulation.model.market import grouped_best, grouped_sample


class PartnerSearch:
    def __init__(self, firms, supply, demand, subs, n_materials, market, deals, investment, params, streams):
        self.firms, self.supply, self.demand, self.subs = firms, supply, demand, subs
        self.market, self.deals, self.investment = market, deals, investment
        self.search, self.quantity_share = params.search, params.contract.quantity_share
        self.rng = streams.stream("search")
        self.searches = streams.stream("searches")  # who searches: a draw for every firm each month
        materials = np.arange(n_materials)
        self._is_waste_used = np.isin(materials, subs.waste)
        self._is_input_replaced = np.isin(materials, subs.input)

    def run(self, month):
        p, f, t = self.search, self.firms, month.period
        open_s, open_d = self._open_streams()
        candidates = self._firms_with_unmatched_flows(open_s, open_d)
        candidates = candidates[f.next_search[candidates] <= t]
        searching = candidates[self.searches.random(len(f))[candidates] < p.rate_per_month]
        if len(searching) == 0:
            return
        links = self._links_per_firm()[searching]
        searching = searching[np.lexsort((self.rng.random(len(searching)), links))]
        rank = np.zeros(len(f), dtype=np.int64)
        rank[searching] = np.arange(len(searching))
        f.cash_flow[searching] -= p.cost_eur
        month.spend["search"] += p.cost_eur * len(searching)
        month.searches += len(searching)

        # Nobody meets anybody until the candidates are seen, so one look-up of the searchers' acquaintances serves.
        known = AcquaintanceLists(f.agents, searching, rank)
        searcher, partner, s, d, k, dist = self.market.candidate_pairs(month.policy, month.period, searching, open_s, open_d, known)
        seen, via_platform = self.market.sees(month.policy, month.period, searcher, partner, s, dist, known)
        if p.discoveries:
            seen |= self._discover(searcher, partner, dist, seen)
        searcher, partner, s, d, k, via_platform = (a[seen] for a in (searcher, partner, s, d, k, via_platform))
        terms, details = self.deals.price(month, s, d, k, dist=dist[seen])
        # Only positive weights are drawn, so a refused pair's 0 (or -0.0, or nan) weight is never offered.
        weight = terms.space * np.exp(-details.dist / p.distance_decay_km) * terms.acceptable
        offers = grouped_sample(self.rng, rank[searcher], weight, p.max_offers)
        done = self.deals.resolve(month, offers, s, d, k, terms, details)
        self._platform_use(month, searching, searcher[done], partner[done], via_platform[done])
        signed = np.bincount(searcher[done], minlength=len(f)) + self._toll_conversions(month, searching, rank, known)
        idle = searching[signed[searching] == 0]
        invested = self.investment.run(month, idle)
        f.next_search[idle[~contains(idle, invested)]] = t + p.retry_months

    def _toll_conversions(self, month, searching, rank, known):
        """Searchers with a waste a neighbour could convert back into an input of theirs each sign with the converter
        they know of that would leave them most, where it accepts (:mod:`simulation.model.toll`); returns the
        number signed by each firm."""
        n = len(self.firms)
        # Open streams are worked out again, after this round's deals, and only where an owner could use them.
        owner, converter, s, d, k, dist = self.deals.tolls.candidates(
            self.supply, self.demand, self.subs, self.firms, month.period, searching, self._open_streams,
            self.search.max_distance_km)
        if len(owner) == 0:
            return np.zeros(n, dtype=np.int64)
        # As in the market, a contract is topped up at renewal, not doubled: a converter already converting for
        # the pair of streams is no candidate, but another converter may take what the first has no room for.
        book = self.deals.book
        running = book.running()
        on_pair = running[contains(stream_pair_key(book.supply[running], book.demand[running]), stream_pair_key(s, d))]
        taken = set(zip(book.supply[on_pair].tolist(), book.demand[on_pair].tolist(), book.receiver[on_pair].tolist()))
        fresh = np.array([key not in taken for key in zip(s.tolist(), d.tolist(), converter.tolist())], dtype=bool)
        seen = fresh & self.market.sees(month.policy, month.period, owner, converter, s, dist, known)[0]
        owner, converter, s, d, k, dist = (a[seen] for a in (owner, converter, s, d, k, dist))
        terms, details = self.deals.price(month, s, d, k, dist=dist, receiver=converter)
        ok = np.flatnonzero(terms.acceptable)
        chosen = ok[grouped_best(rank[owner[ok]], terms.supplier_gain[ok])]
        done = self.deals.resolve(month, chosen, s, d, k, terms, details)
        return np.bincount(owner[done], minlength=n)

    def _open_streams(self):
        """Supply streams with at least ``search.min_quantity`` free, demand streams with any free flow (masks).

        A stream with nothing free is never open, even at ``min_quantity = 0``; ended streams have nothing free.
        """
        free_s = self.supply.free(self.quantity_share)
        return (free_s >= self.search.min_quantity) & (free_s > 0), self.demand.free(self.quantity_share) > 0

    def _firms_with_unmatched_flows(self, open_s, open_d):
        free_s = open_s & self._is_waste_used[self.supply.material]
        free_d = open_d & self._is_input_replaced[self.demand.material]
        flagged = np.zeros(len(self.firms), dtype=bool)
        flagged[self.supply.firm[free_s]] = True
        flagged[self.demand.firm[free_d]] = True
        return (flagged & self.firms.active).nonzero()[0]

    def _links_per_firm(self):
        book = self.deals.book
        running = book.running()
        n = len(self.firms)
        return np.bincount(book.supplier[running], minlength=n) + np.bincount(book.receiver[running], minlength=n)

    def _platform_use(self, month, searching, searcher, partner, via_platform):
        """Members who searched count a search the platform found them no partner in; a deal signed through it
        starts both sides' count again; a member whose count reaches ``search.platform_patience`` gives the
        platform up (:meth:`Firm.leaves_platform`). ``searcher``, ``partner``: the pairs signed this round."""
        month.platform_links += int(np.count_nonzero(via_platform))
        patience, participation = self.search.platform_patience, month.policy.facilitator_participation
        if patience == 0 or participation == 0:
            return
        f = self.firms
        members = searching[f.platform_members(participation)[searching]]
        f.platform_misses[members] += 1
        f.platform_misses[searcher[via_platform]] = 0
        f.platform_misses[partner[via_platform]] = 0
        quitting = members[leaving_platform(f.platform_misses[members], patience)]
        if len(quitting):
            f.platform_left[quitting] = True
            f.platform_version += 1

    def _discover(self, searcher, partner, dist, seen):
        """Each searcher learns of up to ``search.discoveries`` unseen partners, near ones likelier."""
        unseen = (~seen).nonzero()[0]
        if len(unseen) == 0:
            return np.zeros(len(seen), dtype=bool)
        key = self.deals.pair_key
        first = unseen[first_occurrences(key(searcher[unseen], partner[unseen]))]
        weight = np.exp(-dist[first] / self.search.distance_decay_km)
        picked = first[grouped_sample(self.rng, searcher[first], weight, self.search.discoveries)]
        agents = self.firms.agents
        for a, b in zip(searcher[picked].tolist(), partner[picked].tolist()):
            agents[a].meet([b])
        return contains(key(searcher, partner), key(searcher[picked], partner[picked]))
