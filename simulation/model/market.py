"""The market for wastes: who can see whom, and what a deal between them is worth.

Partner search is the hot path of large parks, so it never scans all firms and
is done for all of a month's searchers at once. For each of its wastes (or
inputs) with free flow, a searching firm looks, among the streams of each
material its waste can replace (or that can replace its input), at:

* the ``search.candidates`` nearest within ``search.max_distance_km`` (what it
  could learn of locally);
* those of its acquaintances (drawn at start, revealed by searches, past
  partners), wherever they are;
* if it is on the facilitator's platform, the ``search.candidates`` nearest
  among other platform members (the platform's match list).

Nearest streams of a given material come from one KD-tree per side whose third
coordinate separates materials by far more than any distance searched; each
role's answer is kept until a stream is added or ended (:class:`NearestCache`). A firm
*sees* a candidate if it lies within ``search.neighbourhood_km``, is an
acquaintance, or both are on the platform; a search also reveals up to
``search.discoveries`` unseen candidates, chosen with probability proportional
to ``exp(-d / search.distance_decay_km)``. All pairs are then priced at once
with numpy (:meth:`simulation.model.exchange.ExchangeEconomics.price_pairs`).
"""

import numpy as np
from scipy.spatial import cKDTree

from simulation.model.keyed import (
    contains,
    pair_key,
    ragged_rows,
    run_start_mask,
    stream_pair_key,
    unique_ints,
)

_EMPTY = np.zeros(0, dtype=np.int64)
STREAM_KEY_LIMIT = 1 << 24  # streams a side: candidate_pairs packs a stream pair and a substitution into one int64
MATERIAL_SEPARATION_KM = 1e9  # far beyond search.max_distance_km, so a query never crosses materials


class StreamIndex:
    """KD-tree over streams at (x, y, material * separation) km."""

    def __init__(self, streams, x, y, material):
        self.streams = streams
        points = np.column_stack([x, y, material * MATERIAL_SEPARATION_KM])
        self.tree = cKDTree(points) if len(streams) else None

    def nearest(self, x, y, material, k, max_km):
        """The ``k`` nearest streams of ``material`` within ``max_km`` of each point: (row, stream) arrays."""
        if self.tree is None or len(x) == 0:
            return _EMPTY, _EMPTY
        k = min(k, len(self.streams))
        points = np.column_stack([x, y, material * MATERIAL_SEPARATION_KM])
        _, idx = self.tree.query(points, k=k, distance_upper_bound=max_km)
        idx = idx.reshape(len(x), k)
        rows, column = (idx < len(self.streams)).nonzero()
        return rows, self.streams[idx[rows, column]]


class NearestCache:
    """The nearest partner streams of each role, looked up once while the streams stay the same.

    A role (own stream, substitution) always asks the same question of the
    index, where its firm stands and which material it needs, so until a stream
    is added or ended (when the market builds a new index and a new cache) the
    answer is kept, and a month's search mostly gathers stored answers.
    """

    def __init__(self, index, n_roles, k, max_km, x, y):
        self.index, self.k, self.max_km = index, k, max_km
        self.x, self.y = x, y  # km, by firm
        self.start = np.full(n_roles, -1, dtype=np.int64)  # where a role's answer begins in ``flat``; -1: not asked yet
        self.count = np.zeros(n_roles, dtype=np.int64)
        self.flat = _EMPTY

    def nearest(self, roles, firms, material):
        """The ``(row, stream)`` pairs :meth:`StreamIndex.nearest` gives for distinct ``roles`` of ``firms``."""
        new = self.start[roles] < 0
        if new.any():
            at = firms[new]
            rows, streams = self.index.nearest(self.x[at], self.y[at], material[new], self.k, self.max_km)
            counts = np.bincount(rows, minlength=int(new.sum()))  # rows come sorted, so each role's answer is one run
            self.start[roles[new]] = len(self.flat) + counts.cumsum() - counts
            self.count[roles[new]] = counts
            self.flat = np.concatenate([self.flat, streams])
        rows, at = ragged_rows(self.start[roles], self.count[roles])
        return rows, self.flat[at]


class Market:
    """Who can find whom: the candidate pairs of a month's searchers.

    Reads the park's firms, streams and contracts (never changes them); keeps
    the search indexes until a stream is added or ended.
    """

    def __init__(self, firms, supply, demand, subs, n_materials, search, contracts, unit_value, networks):
        self.firms, self.supply, self.demand, self.subs = firms, supply, demand, subs
        self.search, self.contracts = search, contracts
        self.networks = networks  # shared networks' members know each other for what they carry
        self.unit_value = unit_value  # EUR a unit of each waste is worth as the input it could best replace
        self._version = None
        self._platform_key = None
        self.near = {}
        self.roles = {}
        self.platform_index = {}
        self.visible = np.zeros(0, dtype=bool)  # supply streams large enough to be known park-wide
        self.visible_index = None
        # A toll substitution pairs a firm with a converter, not a receiver (simulation.model.toll): never offered here.
        self.by_waste = _csr(subs.waste, n_materials, ~subs.toll)
        self.by_input = _csr(subs.input, n_materials, ~subs.toll)

    def _refresh(self, participation):
        f, supply, demand = self.firms, self.supply, self.demand
        version = (supply.version, demand.version)
        if version != self._version:
            if max(len(supply), len(demand)) >= STREAM_KEY_LIMIT:  # far past any park that fits in memory
                raise RuntimeError(f"{max(len(supply), len(demand)):,} streams: candidate keys hold at most "
                                   f"{STREAM_KEY_LIMIT:,} a side")
            self._version = version
            self._platform_key = None
            p = self.search
            # Every stream once per substitution it takes part in: (streams, substitution) arrays.
            self.roles = {"supply": _expand(np.arange(len(supply)), supply.material, self.by_waste),
                          "demand": _expand(np.arange(len(demand)), demand.material, self.by_input)}
            # A supply role looks for demand streams, and a demand role for supply streams.
            self.near = {side: NearestCache(_index(table, f.x, f.y, table.alive), len(self.roles[role][0]), p.candidates,
                                            p.max_distance_km, f.x, f.y)
                         for side, table, role in (("supply", supply, "demand"), ("demand", demand, "supply"))}
        self._refresh_visible()
        key = (version, participation, f.platform_version)
        if key != self._platform_key and participation > 0:
            self._platform_key = key
            members = f.platform_members(participation)
            self.platform_index = {side: _index(table, f.x, f.y, table.alive & members[table.firm])
                                   for side, table in (("supply", supply), ("demand", demand))}

    def _refresh_visible(self):
        """The waste streams known to every firm within ``search.max_distance_km``: those whose expected flow is
        worth at least ``search.visible_eur_per_month`` as the input they could best replace (none while it is 0)."""
        threshold, supply = self.search.visible_eur_per_month, self.supply
        if threshold <= 0:
            return
        visible = supply.alive & (supply.expected * self.unit_value[supply.material] >= threshold)
        if self.visible_index is None or not np.array_equal(visible, self.visible):
            self.visible = visible
            self.visible_index = _index(supply, self.firms.x, self.firms.y, visible)

    def candidate_pairs(self, policy, period, searchers, open_s, open_d, known, contracted=False):
        """Candidate pairs for a round of searching firms, as arrays.

        Only substitutions open in ``period`` are offered (approvals, technique dates).
        ``open_s`` and ``open_d`` mark the streams with free flow to offer (masks over
        supply and demand streams, alive streams only); ``known`` holds the searchers' acquaintances
        (:class:`simulation.model.firm.AcquaintanceLists`).
        Returns ``(searcher, partner, s, d, k, dist)``: the searching firm, the firm on the
        other side, the supply stream, the demand stream, the substitution and the distance (km). Each pair has the searcher on
        one side with free flow there; the partner's free flow is checked when
        the pair is priced. Pairs are unique. Pairs already under contract are left out unless ``contracted``.
        """
        participation = policy.facilitator_participation
        self._refresh(participation)
        f, supply, demand, subs = self.firms, self.supply, self.demand, self.subs
        searching = np.zeros(len(f.active), dtype=bool)
        searching[searchers] = True
        role_s, own_s, k_s = _select_roles(self.roles["supply"], searching[supply.firm] & open_s)
        role_d, own_d, k_d = _select_roles(self.roles["demand"], searching[demand.firm] & open_d)
        row_s, partner_d = self._reachable("demand", demand, role_s, supply.firm[own_s], subs.input[k_s], known, participation)
        row_d, partner_s = self._reachable("supply", supply, role_d, demand.firm[own_d], subs.waste[k_d], known, participation)
        s, d, k, by_receiver = distinct_pairs(
            np.concatenate([own_s[row_s], partner_s]), np.concatenate([partner_d, own_d[row_d]]),
            np.concatenate([k_s[row_s], k_d[row_d]]), np.arange(len(row_s) + len(row_d)) >= len(row_s))
        supplier, receiver = supply.firm[s], demand.firm[d]
        searcher, partner = np.where(by_receiver, receiver, supplier), np.where(by_receiver, supplier, receiver)
        # Every stream found is alive and its firm active: the indexes are rebuilt whenever a stream
        # is added or ended, a firm that leaves ends all its streams, and ``lookup`` holds alive streams only.
        dist = f.distances(supplier, receiver)
        keep = ((supplier != receiver) & (dist <= self.search.max_distance_km) & subs.open_in(period, k)
                & subs.allowed(k, f.sector[receiver]))
        if not contracted:  # a pair already under contract is topped up at renewal, not by a second contract
            book = self.contracts
            running = book.running()
            keep &= ~contains(stream_pair_key(s, d), stream_pair_key(book.supply[running], book.demand[running]))
        return searcher[keep], partner[keep], s[keep], d[keep], k[keep], dist[keep]

    def sees(self, policy, period, searcher, partner, s, dist, known):
        """Which partners each searcher knows of in ``period``: within ``search.neighbourhood_km``, an acquaintance
        in ``known``, the supplier of a waste stream large enough to be known park-wide (supply stream ``s``), a
        fellow member of a shared network that carries the waste, or a fellow member of the facilitator's platform;
        and which of them it knows only through the platform (two masks over the pairs)."""
        n = len(self.firms.active)
        firm, acquaintance = known.known_pairs()
        known_pair = contains(pair_key(searcher, partner, n), pair_key(firm, acquaintance, n))
        seen = (dist <= self.search.neighbourhood_km) | known_pair
        if self.search.visible_eur_per_month > 0:
            seen |= self.visible[s]
        if len(self.networks):
            seen |= self.networks.serving(period, searcher, partner, self.supply.material[s]) >= 0
        participation = policy.facilitator_participation
        via_platform = np.zeros(len(seen), dtype=bool)
        if participation > 0:
            members = self.firms.platform_members(participation)
            via_platform = members[searcher] & members[partner] & ~seen
        return seen | via_platform, via_platform

    def _reachable(self, side, table, roles, firms, materials, known, participation):
        """Partner streams of ``materials[row]`` for own streams at ``firms[row]``: (row, stream) arrays.

        ``roles`` are the own streams' distinct roles (see ``roles``); ``known`` holds the
        acquaintances of ``firms`` (:class:`simulation.model.firm.AcquaintanceLists`).
        """
        f, p = self.firms, self.search
        found = [self.near[side].nearest(roles, firms, materials)]
        if side == "supply" and self.search.visible_eur_per_month > 0:  # receivers also list the large streams near them
            found.append(self.visible_index.nearest(f.x[firms], f.y[firms], materials, p.candidates, p.max_distance_km))
        if side in self.platform_index:
            rows = np.flatnonzero(f.platform_members(participation)[firms])
            at = firms[rows]
            near_rows, streams = self.platform_index[side].nearest(f.x[at], f.y[at], materials[rows], p.candidates, p.max_distance_km)
            found.append((rows[near_rows], streams))
        rows, acquaintance = known.pairs(firms)
        streams = table.lookup[acquaintance, materials[rows]]
        found.append((rows[streams >= 0], streams[streams >= 0]))
        return tuple(np.concatenate(part) for part in zip(*found))


def distinct_pairs(s, d, k, by_receiver):
    """The distinct (supply stream, demand stream, substitution, searched by the receiver) rows, sorted.

    Each row is packed into one int64 (stream indices below ``STREAM_KEY_LIMIT``,
    substitutions below 1024), so dropping repeats is one sort of one array
    (``make bench-tricks`` measures it against ``np.unique`` over the rows).
    """
    key = unique_ints((((s << 24) | d) << 11) | (k << 1) | by_receiver)
    return key >> 35, (key >> 11) & ((1 << 24) - 1), (key >> 1) & 1023, (key & 1).astype(bool)


def _csr(keys, n, include):
    """The substitutions in the mask ``include`` grouped by material ``keys``: (offsets, flat substitution indices)."""
    kept = np.flatnonzero(include)
    order = kept[np.argsort(keys[kept], kind="stable")]
    counts = np.bincount(keys[kept], minlength=n)
    return np.r_[0, np.cumsum(counts)], order


def _expand(streams, materials, grouped):
    """Repeat each stream once per substitution of its material: (streams, substitution) arrays."""
    offsets, flat = grouped
    rows, at = ragged_rows(offsets[materials], offsets[materials + 1] - offsets[materials])
    return streams[rows], flat[at]


def _select_roles(roles, include):
    """The roles whose stream is in the mask ``include``: (role, stream, substitution) arrays."""
    streams, k = roles
    keep = include[streams].nonzero()[0]
    return keep, streams[keep], k[keep]


def _index(table, x, y, include):
    streams = np.flatnonzero(include)
    firms = table.firm[streams]
    return StreamIndex(streams, x[firms], y[firms], table.material[streams])


def grouped_sample(rng, groups, weight, n):
    """Up to ``n`` indices per group, drawn without replacement with probability proportional to ``weight``.

    Uses Efraimidis-Spirakis keys ``log(u) / w``: within each group the ``n``
    largest keys are a weighted sample without replacement. Returned in group
    order, best key first within a group.
    """
    positive = (weight > 0).nonzero()[0]
    if len(positive) == 0:
        return positive
    keys = np.log(rng.random(len(positive))) / weight[positive]
    return positive[_top_per_group(groups[positive], keys, n)]


def _top_per_group(groups, values, n):
    """Indices of the ``n`` largest values in each group (earlier first on ties), in group order."""
    order = np.lexsort((-values, groups))
    position = np.arange(len(order))
    # Rank within the group: distance from the position where the group's run begins.
    rank = position - np.maximum.accumulate(position * run_start_mask(groups[order]))
    return order[rank < n]


def grouped_best(groups, values):
    """Index of the largest value in each group (the first one on ties)."""
    if len(groups) == 0:
        return groups
    return _top_per_group(groups, values, 1)
