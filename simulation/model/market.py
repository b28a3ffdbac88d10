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
with numpy (:func:`price_pairs`).
"""

import math

import numpy as np
from scipy.spatial import cKDTree

from simulation.model.exchange import Terms, hurdle
from simulation.model.columns import NamedRows
from simulation.model.contract import PIPELINE, TRUCK
from simulation.model.finance import monthly_payment
from simulation.model.keyed import contains, ragged_rows, run_start_mask, unique_ints

_EMPTY = np.zeros(0, dtype=np.int64)
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
    def __init__(self, model):
        self.model = model
        self._version = None
        self._platform_key = None
        self._per_unit_km = None  # (carbon price, per-material costs at it)
        self.near = {}
        self.roles = {}
        self.platform_index = {}
        subs = model.subs
        self.by_waste = _csr(subs.waste, len(model.materials))
        self.by_input = _csr(subs.input, len(model.materials))

    def _refresh(self):
        m = self.model
        version = (m.supply.version, m.demand.version)
        if version != self._version:
            self._version = version
            self._platform_key = None
            p = m.params.search
            # Every stream once per substitution it takes part in: (streams, substitution) arrays.
            self.roles = {"supply": _expand(np.arange(len(m.supply)), m.supply.material, self.by_waste),
                          "demand": _expand(np.arange(len(m.demand)), m.demand.material, self.by_input)}
            # A supply role looks for demand streams, and a demand role for supply streams.
            self.near = {side: NearestCache(_index(table, m.x, m.y, table.alive), len(self.roles[role][0]), p.candidates, p.max_distance_km, m.x, m.y)
                         for side, table, role in (("supply", m.supply, "demand"), ("demand", m.demand, "supply"))}
        key = (version, m.policy_now.facilitator_participation)
        if key != self._platform_key and m.policy_now.facilitator_participation > 0:
            self._platform_key = key
            members = m.platform_members()
            self.platform_index = {side: _index(table, m.x, m.y, table.alive & members[table.firm])
                                   for side, table in (("supply", m.supply), ("demand", m.demand))}

    def transport_per_unit_km(self):
        """Running cost per unit-km of each material (column) by mode (row TRUCK, carbon included,
        and row PIPELINE), EUR, nan where the mode is not allowed.

        Kept while the carbon price stays the same: the catalogue's transport costs and
        ``logistics.transport_cost_factor`` are fixed for a run (events may set only the
        fields in ``scenario.SETTABLE_MATERIAL_FIELDS``); a settable transport cost would need
        this cache dropped.
        """
        carbon = self.model.policy_now.carbon_price_eur_per_t
        if self._per_unit_km is None or self._per_unit_km[0] != carbon:
            p, mats = self.model.params.logistics, self.model.materials
            by_mode = np.empty((2, len(mats)))
            by_mode[TRUCK] = p.transport_cost_factor * mats.truck_cost + carbon * p.truck_co2_t_per_unit_km
            by_mode[PIPELINE] = p.transport_cost_factor * mats.pipeline_cost
            self._per_unit_km = carbon, by_mode
        return self._per_unit_km[1]

    def candidate_pairs(self, searchers, open_s, open_d, known):
        """Candidate pairs for a round of searching firms, as arrays.

        ``open_s`` and ``open_d`` mark the streams with free flow to offer (masks over
        supply and demand streams, alive streams only); ``known`` holds the searchers' acquaintances
        (:class:`simulation.model.firm.AcquaintanceLists`).
        Returns ``(searcher, partner, s, d, k, dist)``: the searching firm, the firm on the
        other side, the supply stream, the demand stream, the substitution and the distance (km). Each pair has the searcher on
        one side with free flow there; the partner's free flow is checked when
        the pair is priced. Pairs are unique.
        """
        self._refresh()
        m = self.model
        searching = np.zeros(len(m.active), dtype=bool)
        searching[searchers] = True
        role_s, own_s, k_s = _select_roles(self.roles["supply"], searching[m.supply.firm] & open_s)
        role_d, own_d, k_d = _select_roles(self.roles["demand"], searching[m.demand.firm] & open_d)
        row_s, partner_d = self._reachable("demand", m.demand, role_s, m.supply.firm[own_s], m.subs.input[k_s], known)
        row_d, partner_s = self._reachable("supply", m.supply, role_d, m.demand.firm[own_d], m.subs.waste[k_d], known)
        # One int64 key per (stream pair, substitution, which side searched, 1 for the receiver):
        # dropping repeats is then a single unique(), and the pair is read back from the key.
        key = unique_ints(np.concatenate([(((own_s[row_s] << 24) | partner_d) << 11) | (k_s[row_s] << 1),
                                          (((partner_s << 24) | own_d[row_d]) << 11) | (k_d[row_d] << 1) | 1]))
        s, d, k = key >> 35, (key >> 11) & ((1 << 24) - 1), (key >> 1) & 1023
        supplier, receiver = m.supply.firm[s], m.demand.firm[d]
        by_receiver = (key & 1).astype(bool)
        searcher, partner = np.where(by_receiver, receiver, supplier), np.where(by_receiver, supplier, receiver)
        # Every stream found is alive and its firm active: the indexes are rebuilt whenever a stream
        # is added or ended, a firm that leaves ends all its streams, and ``lookup`` holds alive streams only.
        dist = distances(m, supplier, receiver)
        keep = (supplier != receiver) & (dist <= m.params.search.max_distance_km)
        # A pair already under contract is topped up at renewal, not by a second contract.
        running = m.contracts.running()
        keep &= ~contains(stream_pair_key(s, d), stream_pair_key(m.contracts.supply[running], m.contracts.demand[running]))
        return searcher[keep], partner[keep], s[keep], d[keep], k[keep], dist[keep]

    def _reachable(self, side, table, roles, firms, materials, known):
        """Partner streams of ``materials[row]`` for own streams at ``firms[row]``: (row, stream) arrays.

        ``roles`` are the own streams' distinct roles (see ``roles``); ``known`` holds the
        acquaintances of ``firms`` (:class:`simulation.model.firm.AcquaintanceLists`).
        """
        m, p = self.model, self.model.params.search
        found = [self.near[side].nearest(roles, firms, materials)]
        if side in self.platform_index:
            rows = np.flatnonzero(m.platform_members()[firms])
            at = firms[rows]
            near_rows, streams = self.platform_index[side].nearest(m.x[at], m.y[at], materials[rows], p.candidates, p.max_distance_km)
            found.append((rows[near_rows], streams))
        rows, acquaintance = known.pairs(firms)
        streams = table.lookup[acquaintance, materials[rows]]
        found.append((rows[streams >= 0], streams[streams >= 0]))
        return tuple(np.concatenate(part) for part in zip(*found))


def stream_pair_key(s, d):
    """One int64 per (supply stream, demand stream) pair."""
    return s * (1 << 32) + d


def _csr(keys, n):
    """Substitutions grouped by material: (offsets, flat substitution indices)."""
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=n)
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


def conversion(model, waste, k, dist):
    """Units of input replaced per unit of ``waste`` shipped: the ratio, less what is lost over ``dist`` km."""
    return model.subs.ratio[k] * (1.0 - model.materials.loss_per_km[waste]) ** dist


def free_quantity(model, s, d, k, conversion):
    """Largest monthly quantity (units of waste) both sides still have free for substitution ``k``.

    ``conversion`` is the units of input replaced per unit of waste shipped.
    The substitution may replace at most ``Substitution.max_share`` of the input.
    """
    share = model.params.contract.quantity_share
    room = model.demand.free(share, d, cap=model.subs.max_share[k])
    return np.minimum(model.supply.free(share, s), room / conversion)


def grouped_best(groups, values):
    """Index of the largest value in each group (the first one on ties)."""
    if len(groups) == 0:
        return groups
    return _top_per_group(groups, values, 1)


def distances(model, a, b):
    """Straight-line distance in km between firm index arrays ``a`` and ``b``."""
    return np.hypot(model.x[a] - model.x[b], model.y[a] - model.y[b])


class PairDetails(NamedRows):
    """What signing a priced pair needs besides its terms (rows of one float array, one entry per pair).

    ``mode`` (TRUCK or PIPELINE); ``dist`` (km); ``capex`` (EUR of a new pipeline;
    0 by truck or where the pipeline exists); ``conversion`` (units of input
    replaced per unit of waste shipped); ``trust_s`` (the supplier's trust in the
    receiver, as priced); ``trust_r`` (the receiver's in the supplier); ``term``
    (months the contract would run). ``mode`` and ``term`` are whole numbers held as
    floats: cast them before using them as indices.
    """

    NAMES = ("mode", "dist", "capex", "conversion", "trust_s", "trust_r", "term")


def price_pairs(model, s, d, k, trust_s, trust_r, existing_pipe, renewal=False, dist=None):
    """:class:`~simulation.model.exchange.Terms` and :class:`PairDetails` for candidate pairs.

    ``trust_s`` is the supplier's trust in the receiver and ``trust_r`` the
    receiver's in the supplier; ``existing_pipe`` marks pairs already joined by a
    pipeline for this waste (no new capex); a ``renewal`` pays no set-up cost.
    ``dist`` (km) may be passed when already known.
    Each pair is priced for the largest quantity both sides still have free.
    """
    m, p, costs, pol = model, model.params, model.costs, model.policy_now
    supplier, receiver = m.supply.firm[s], m.demand.firm[d]
    waste, inp = m.supply.material[s], m.demand.material[d]
    dist = distances(m, supplier, receiver) if dist is None else dist
    converts = conversion(m, waste, k, dist)
    quantity = free_quantity(m, s, d, k, converts)
    mode, transport_unit, capex = choose_mode(m, waste, dist, quantity, existing_pipe)
    term = contract_term(m, mode)
    running_unit = transport_unit + treatment_unit_cost(m, k)
    capex_month = monthly_payment(capex * (1.0 - pol.capex_subsidy_share), m.loans.rate_per_year, term)
    setup = 0.0 if renewal else p.contract.setup_cost_eur
    shared = p.contract.transaction_cost_eur_per_month + setup / term
    supplier_avoided = quantity * costs.disposal[waste]
    receiver_avoided = quantity * converts * costs.virgin[inp]
    f = m.firm_attrs
    terms = Terms(
        quantity=quantity,
        supplier_avoided=supplier_avoided,
        receiver_avoided=receiver_avoided,
        running_unit=running_unit,
        fixed_cost=shared + capex_month,
        subsidy=quantity * costs.subsidy[waste],
        shared=shared,
        supplier_hurdle=hurdle(f["hurdle_rate"][supplier], f["risk_aversion"][supplier], trust_s, supplier_avoided),
        receiver_hurdle=hurdle(f["hurdle_rate"][receiver], f["risk_aversion"][receiver], trust_r, receiver_avoided),
        beta=p.contract.supplier_power,
    )
    return terms, PairDetails(np.array([mode, dist, capex, converts, trust_s, trust_r, term], dtype=float))


def transport_unit_costs(model, waste, dist):
    """Running cost per unit of waste by truck and by pipeline (EUR; nan: mode not allowed)."""
    by_mode = model.market.transport_per_unit_km()
    return by_mode[TRUCK][waste] * dist, by_mode[PIPELINE][waste] * dist


def treatment_unit_cost(model, k):
    """Treatment cost per unit of waste for substitutions ``k``, carbon included (EUR)."""
    return model.subs.treatment_unit(model.policy_now.carbon_price_eur_per_t)[k]


def contract_term(model, mode):
    """Months a new contract runs by ``mode`` (array)."""
    by_mode = np.empty(2, dtype=np.int64)
    by_mode[TRUCK], by_mode[PIPELINE] = term_months(model, TRUCK), term_months(model, PIPELINE)
    return by_mode[mode]


def term_months(model, mode):
    """Months a new contract by ``mode`` runs: longer where a pipeline must be paid off, never below the legal minimum."""
    c = model.params.contract
    return max(c.pipeline_duration_months if mode == PIPELINE else c.duration_months, math.ceil(model.policy_now.min_contract_months))


def choose_mode(model, waste, dist, quantity, existing_pipe):
    """Cheapest allowed mode per pair: running cost per unit (EUR) and capex (EUR).

    Pipeline capex is paid off, with interest, over the pipeline contract term.
    """
    p, pol = model.params.logistics, model.policy_now
    truck_unit, pipe_unit = transport_unit_costs(model, waste, dist)
    pipe_capex = np.maximum(p.pipeline_min_capex_eur, p.pipeline_capex_eur_per_km * dist)
    pipe_capex[existing_pipe] = 0.0
    term = term_months(model, PIPELINE)
    per_unit_capex = monthly_payment(pipe_capex * (1.0 - pol.capex_subsidy_share), model.loans.rate_per_year, term) / np.maximum(quantity, 1e-9)
    # A comparison with nan (a mode not allowed) is false, so only a pipeline-only waste needs saying.
    use_pipe = model.materials.pipeline_only[waste] | (pipe_unit + per_unit_capex < truck_unit)
    mode = np.where(use_pipe, PIPELINE, TRUCK)
    unit = np.where(use_pipe, pipe_unit, truck_unit)
    return mode, unit, pipe_capex * use_pipe


def contract_transport_unit(model, contracts):
    """Current transport cost per unit of waste of signed contracts, by their mode (EUR)."""
    book = model.contracts
    return model.market.transport_per_unit_km()[book.mode[contracts], book.waste[contracts]] * book.distance_km[contracts]


def receiver_running_value(model, contracts):
    """Receiver's current net value per unit of waste for running contracts (EUR)."""
    book = model.contracts
    # The contract's ratio already counts what is lost in transport.
    return (book.ratio[contracts] * model.costs.virgin[book.input[contracts]] - contract_transport_unit(model, contracts)
            - treatment_unit_cost(model, book.substitution[contracts]))
