"""The market for wastes: who can see whom, and what a deal between them is worth.

Partner search is the hot path of large parks, so it never scans all firms.
Streams are indexed by material, each group with a KD-tree of its firms'
locations. For each of its wastes (or inputs) a searching firm looks at the
complementary groups only, and within them at:

* the ``search.candidates`` nearest streams within ``search.max_distance_km``
  (what it could learn of locally);
* streams of its acquaintances (drawn at start, revealed by searches, past
  partners), wherever they are;
* if it is on the facilitator's platform, the ``search.candidates`` nearest
  streams of other platform members (the platform's match list).

A firm *sees* a candidate if it lies within ``search.neighbourhood_km``, is an
acquaintance, or both are on the platform; a search also reveals up to
``search.discoveries`` unseen candidates, chosen with probability proportional
to ``exp(-d / search.distance_decay_km)``. All pairs are then priced at once
with numpy (:func:`price_pairs`); agent objects are consulted only for the few
offers actually made.
"""

import numpy as np
from scipy.spatial import cKDTree

from simulation.bargaining import Terms, hurdle
from simulation.contract import PIPELINE, TRUCK

_EMPTY = np.zeros(0, dtype=np.int64)


class StreamGroup:
    """Alive streams of one material with a KD-tree over their firms' locations (km)."""

    def __init__(self, streams, x, y):
        self.streams = streams
        self.tree = cKDTree(np.column_stack([x, y])) if len(streams) else None

    def nearest_many(self, x, y, rows, k, max_km):
        """The ``k`` nearest streams within ``max_km`` of each point: ``(row, stream)`` arrays."""
        if self.tree is None:
            return _EMPTY, _EMPTY
        k = min(k, len(self.streams))
        _, idx = self.tree.query(np.column_stack([x, y]), k=k, distance_upper_bound=max_km)
        idx = idx.reshape(len(x), k)
        found = idx < len(self.streams)
        return np.repeat(rows, k).reshape(len(x), k)[found], self.streams[idx[found]]


class Market:
    def __init__(self, model):
        self.model = model
        self._version = None
        self._platform_key = None
        self.groups = {"supply": {}, "demand": {}}
        self.platform_groups = {"supply": {}, "demand": {}}

    def _refresh(self):
        m = self.model
        version = (m.supply.version, m.demand.version)
        if version != self._version:
            self._version = version
            self._platform_key = None
            for side, table in (("supply", m.supply), ("demand", m.demand)):
                self.groups[side] = _groups(table, m.x, m.y, table.alive)
        key = (version, m.policy_now.facilitator_participation)
        if key != self._platform_key and m.policy_now.facilitator_participation > 0:
            self._platform_key = key
            members = m.platform_members()
            for side, table in (("supply", m.supply), ("demand", m.demand)):
                self.platform_groups[side] = _groups(table, m.x, m.y, table.alive & members[table.firm])

    def candidate_pairs(self, searchers):
        """Candidate pairs for a round of searching firms, as arrays.

        Returns ``(searcher, s, d, k)``: the searching firm, the supply stream,
        the demand stream and the substitution. Each pair has the searcher on
        one side with free flow there; the partner's free flow is checked when
        the pair is priced. Pairs are unique and sorted by searcher.
        """
        self._refresh()
        m = self.model
        share, min_q = m.params.contract.quantity_share, m.params.search.min_quantity
        searching = np.zeros(len(m.active), dtype=bool)
        searching[searchers] = True
        platform = m.platform_members() & searching
        parts = []
        own_s = np.flatnonzero(searching[m.supply.firm] & (m.supply.free(share) >= min_q))
        own_d = np.flatnonzero(searching[m.demand.firm] & (m.demand.free(share) > 0))
        for waste in np.unique(m.supply.material[own_s]).tolist():
            mine = own_s[m.supply.material[own_s] == waste]
            for k in m.subs.by_waste.get(waste, ()):
                for row, other in self._reachable("demand", m.demand, int(m.subs.input[k]), m.supply.firm[mine], platform):
                    parts.append((m.supply.firm[mine[row]], mine[row], other, k))
        for inp in np.unique(m.demand.material[own_d]).tolist():
            mine = own_d[m.demand.material[own_d] == inp]
            for k in m.subs.by_input.get(inp, ()):
                for row, other in self._reachable("supply", m.supply, int(m.subs.waste[k]), m.demand.firm[mine], platform):
                    parts.append((m.demand.firm[mine[row]], other, mine[row], k))
        if not parts:
            return _EMPTY, _EMPTY, _EMPTY, _EMPTY
        searcher = np.concatenate([p[0] for p in parts])
        s = np.concatenate([p[1] for p in parts])
        d = np.concatenate([p[2] for p in parts])
        k = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
        keep = (m.supply.firm[s] != m.demand.firm[d]) & m.active[m.supply.firm[s]] & m.active[m.demand.firm[d]]
        keep &= m.supply.alive[s] & m.demand.alive[d]
        if m.linked_pairs:
            # A pair already under contract is topped up at renewal, not by a second contract.
            keep &= np.fromiter(((a, b) not in m.linked_pairs for a, b in zip(s.tolist(), d.tolist())), bool, len(s))
        searcher, s, d, k = searcher[keep], s[keep], d[keep], k[keep]
        key = np.stack([searcher, s, d, k])
        _, first = np.unique(key, axis=1, return_index=True)
        order = first[np.lexsort((k[first], d[first], s[first], searcher[first]))]
        return searcher[order], s[order], d[order], k[order]

    def _reachable(self, side, table, material, firms, platform):
        """Partner streams of ``material`` for own streams at ``firms``.

        Yields ``(row, partner stream)`` arrays: row indexes ``firms``.
        """
        p = self.model.params.search
        if len(firms) == 0:
            return
        for groups, rows in ((self.groups[side], np.arange(len(firms))),
                             (self.platform_groups[side], np.flatnonzero(platform[firms]))):
            group = groups.get(material)
            if group is not None and len(rows):
                yield group.nearest_many(self.model.x[firms[rows]], self.model.y[firms[rows]], rows, p.candidates, p.max_distance_km)
        rows, streams = [], []
        for row, firm in enumerate(firms.tolist()):
            for other in self.model.firm_list[firm].acquaintances:
                stream = table.of_firm_material(other, material)
                if stream is not None:
                    rows.append(row)
                    streams.append(stream)
        if rows:
            yield np.array(rows, dtype=np.int64), np.array(streams, dtype=np.int64)


def _groups(table, x, y, include):
    chosen = np.flatnonzero(include)
    order = np.argsort(table.material[chosen], kind="stable")
    chosen = chosen[order]
    materials, starts = np.unique(table.material[chosen], return_index=True)
    bounds = list(starts[1:]) + [len(chosen)]
    groups = {}
    for mat, a, b in zip(materials.tolist(), starts.tolist(), bounds):
        streams = chosen[a:b]
        firms = table.firm[streams]
        groups[mat] = StreamGroup(streams, x[firms], y[firms])
    return groups


def grouped_sample(rng, groups, weight, n):
    """Up to ``n`` indices per group, drawn without replacement with probability proportional to ``weight``.

    Uses Efraimidis-Spirakis keys ``log(u) / w``: within each group the ``n``
    largest keys are a weighted sample without replacement. Returned in group
    order, best key first within a group.
    """
    positive = np.flatnonzero(weight > 0)
    if len(positive) == 0:
        return positive
    keys = np.log(rng.random(len(positive))) / weight[positive]
    order = np.lexsort((-keys, groups[positive]))
    g = groups[positive][order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    rank = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    return positive[order[rank < n]]


def distances(model, a, b):
    """Straight-line distance in km between firm index arrays ``a`` and ``b``."""
    return np.hypot(model.x[a] - model.x[b], model.y[a] - model.y[b])


def price_pairs(model, s, d, k, trust_s, trust_r, existing_pipe, renewal=False):
    """Terms, transport mode, distance (km) and capex (EUR) for candidate pairs.

    ``trust_s`` is the supplier's trust in the receiver and ``trust_r`` the
    receiver's in the supplier; ``existing_pipe`` marks pairs already joined by a
    pipeline for this waste (no new capex); a ``renewal`` pays no set-up cost.
    Each pair is priced for the largest quantity both sides still have free.
    """
    m, p, costs, pol = model, model.params, model.costs, model.policy_now
    supplier, receiver = m.supply.firm[s], m.demand.firm[d]
    waste, inp = m.supply.material[s], m.demand.material[d]
    ratio = m.subs.ratio[k]
    dist = distances(m, supplier, receiver)
    kept = (1.0 - m.materials.loss_per_km[waste]) ** dist
    share = p.contract.quantity_share
    # The substitution may replace at most max_share of the receiver's input.
    room = np.maximum(m.subs.max_share[k] * share * m.demand.expected[d] - m.demand.committed[d], 0.0)
    quantity = np.minimum(m.supply.free(share, s), np.minimum(m.demand.free(share, d), room) / (ratio * kept))
    mode, transport_unit, capex = choose_mode(m, waste, dist, quantity, existing_pipe)
    term = contract_term(m, mode)
    running_unit = transport_unit + treatment_unit_cost(m, k)
    capex_month = capex * (1.0 - pol.capex_subsidy_share) / term
    setup = 0.0 if renewal else p.contract.setup_cost_eur
    shared = np.full(len(s), p.contract.transaction_cost_eur_per_month) + setup / term
    supplier_avoided = quantity * costs.disposal[waste]
    receiver_avoided = quantity * kept * ratio * costs.virgin[inp]
    f = m.firm_attrs
    terms = Terms(
        quantity=quantity,
        supplier_avoided=supplier_avoided,
        receiver_avoided=receiver_avoided,
        running_unit=running_unit,
        fixed_cost=shared + capex_month,
        subsidy=quantity * pol.subsidy_eur_per_unit,
        shared=shared,
        supplier_hurdle=hurdle(f["hurdle_rate"][supplier], f["risk_aversion"][supplier], trust_s, supplier_avoided),
        receiver_hurdle=hurdle(f["hurdle_rate"][receiver], f["risk_aversion"][receiver], trust_r, receiver_avoided),
        beta=p.contract.supplier_power,
    )
    return terms, mode, dist, capex


def transport_unit_costs(model, waste, dist):
    """Running cost per unit of waste by truck and by pipeline (EUR; nan: mode not allowed)."""
    m, p, pol = model, model.params.logistics, model.policy_now
    truck = (p.transport_cost_factor * m.materials.truck_cost[waste] + pol.carbon_price_eur_per_t * p.truck_co2_t_per_unit_km) * dist
    return truck, p.transport_cost_factor * m.materials.pipeline_cost[waste] * dist


def treatment_unit_cost(model, k):
    """Treatment cost per unit of waste for substitutions ``k``, carbon included (EUR)."""
    return model.subs.treatment[k] + model.policy_now.carbon_price_eur_per_t * model.subs.treatment_co2[k]


def contract_term(model, mode):
    """Months a new contract runs: longer where a pipeline must be paid off, never below the legal minimum."""
    c, pol = model.params.contract, model.policy_now
    months = np.where(mode == PIPELINE, c.pipeline_duration_months, c.duration_months)
    return np.maximum(months, np.ceil(pol.min_contract_months)).astype(np.int64)


def choose_mode(model, waste, dist, quantity, existing_pipe):
    """Cheapest allowed mode per pair: running cost per unit (EUR) and capex (EUR).

    Pipeline capex is paid off over the pipeline contract term.
    """
    p, pol = model.params.logistics, model.policy_now
    truck_unit, pipe_unit = transport_unit_costs(model, waste, dist)
    pipe_capex = np.where(existing_pipe, 0.0, np.maximum(p.pipeline_min_capex_eur, p.pipeline_capex_eur_per_km * dist))
    term = contract_term(model, np.full(len(waste), PIPELINE))
    per_unit_capex = pipe_capex * (1.0 - pol.capex_subsidy_share) / (term * np.maximum(quantity, 1e-9))
    use_pipe = ~np.isnan(pipe_unit) & (np.isnan(truck_unit) | (pipe_unit + per_unit_capex < truck_unit))
    mode = np.where(use_pipe, PIPELINE, TRUCK)
    unit = np.where(use_pipe, pipe_unit, truck_unit)
    return mode, unit, np.where(use_pipe, pipe_capex, 0.0)


def receiver_running_value(model, contracts):
    """Receiver's current net value per unit of waste for running contracts (EUR)."""
    m, book = model, model.contracts
    waste, inp, dist = book.waste[contracts], book.input[contracts], book.distance_km[contracts]
    kept = (1.0 - m.materials.loss_per_km[waste]) ** dist
    truck_unit, pipe_unit = transport_unit_costs(m, waste, dist)
    transport = np.where(book.mode[contracts] == TRUCK, truck_unit, pipe_unit)
    k = book.substitution[contracts]
    return kept * book.ratio[contracts] * m.costs.virgin[inp] - transport - treatment_unit_cost(m, k)
