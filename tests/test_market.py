"""Partner search pieces: cached nearest-stream answers and the firm network measure."""

import networkx as nx
import numpy as np
from conftest import mini
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.model import SymbiosisModel
from simulation.model.firm import AcquaintanceLists
from simulation.model.market import Market, NearestCache, StreamIndex
from simulation.model.recorder import Network


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 6))
def test_nearest_cache_answers_as_the_index_does(seed, n_streams, k):
    rng = np.random.default_rng(seed)
    streams = np.sort(rng.choice(200, n_streams, replace=False))
    index = StreamIndex(streams, rng.uniform(0, 30, n_streams), rng.uniform(0, 30, n_streams), rng.integers(0, 3, n_streams))
    n_roles = 25
    x, y, material = rng.uniform(0, 30, n_roles), rng.uniform(0, 30, n_roles), rng.integers(0, 3, n_roles)
    cache = NearestCache(index, n_roles, k, max_km=12.0, x=x, y=y)  # each role at a place of its own
    for _ in range(4):  # later rounds mix roles asked before with new ones
        roles = np.sort(rng.choice(n_roles, rng.integers(0, n_roles + 1), replace=False))
        rows, found = cache.nearest(roles, roles, material[roles])
        want_rows, want = index.nearest(x[roles], y[roles], material[roles], k, 12.0)
        assert sorted(zip(rows.tolist(), found.tolist())) == sorted(zip(want_rows.tolist(), want.tolist()))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=25), st.lists(st.booleans(), min_size=12, max_size=12))
def test_network_measures_match_networkx(edges, active):
    a = np.array([e[0] for e in edges], dtype=np.int64)
    b = np.array([e[1] for e in edges], dtype=np.int64)
    active = np.array(active)
    network = Network()
    half = len(a) // 2
    # One Network through: all firms, then fewer firms (same links), then fewer links (same firms).
    for mask, (a, b) in ((np.ones(12, dtype=bool), (a, b)), (active, (a, b)), (active, (a[:half], b[:half]))):
        n_active = int(mask.sum())
        network.update(a, b, 12)
        graph = nx.Graph()
        graph.add_nodes_from(np.flatnonzero(mask).tolist())
        graph.add_edges_from((u, v) for u, v in zip(a.tolist(), b.tolist()) if u != v)
        pairs = {tuple(sorted(e)) for e in zip(a.tolist(), b.tolist())}
        expected_density = len(pairs) / (n_active * (n_active - 1) / 2) if n_active >= 2 and pairs else 0.0
        assert network.density(n_active) == expected_density
        if n_active == 0:
            assert network.largest_component_share(mask, n_active) == 0.0
            continue
        largest = max(len(c & set(np.flatnonzero(mask).tolist())) for c in nx.connected_components(graph)) if len(a) else 1
        assert network.largest_component_share(mask, n_active) == largest / n_active



def _candidates(market, model):
    """Candidate pairs if every firm in the park searched with every stream open."""
    searchers = np.flatnonzero(model.firms.active)
    rank = np.zeros(len(model.firms.specs), dtype=np.int64)
    rank[searchers] = np.arange(len(searchers))
    known = AcquaintanceLists(model.firm_list, searchers, rank)
    return market.candidate_pairs(model.policy_now, model.period, searchers, model.supply.alive.copy(), model.demand.alive.copy(), known)


def test_nearest_stream_answers_are_dropped_when_streams_change():
    # The power plant switches to wood in 2028-01 (month 36): its coal wastes end, wood ash begins.
    model = SymbiosisModel(mini(), seed=1)
    for _ in range(30):
        model.step()
    _candidates(model.market, model)  # answers kept for the streams as they are
    n_supply = len(model.supply)
    for _ in range(10):
        model.step()
    assert len(model.supply) > n_supply
    fresh_market = Market(model.firms, model.supply, model.demand, model.subs, len(model.materials), model.params.search,
                          model.contracts, model.market.unit_value, model.networks)
    kept, fresh = _candidates(model.market, model), _candidates(fresh_market, model)
    assert (fresh[1] >= n_supply).any()  # a stream born after the answers were kept is a candidate
    for got, want in zip(kept, fresh):
        np.testing.assert_array_equal(got, want)


def test_candidates_are_alive_streams_of_active_firms_even_at_zero_min_quantity():
    # Candidate search relies on the indexes and look-ups holding alive streams of active firms only
    # (it does not filter them again). At min_quantity 0 an ended stream (nothing free) must not count as open.
    model = SymbiosisModel(mini("search.min_quantity=0"), seed=3)
    market, seen = model.market, []
    original = market.candidate_pairs

    def checked(policy, period, searchers, open_s, open_d, known, **kwargs):  # best use (contracted=True) too
        assert not (open_s & ~model.supply.alive).any() and not (open_d & ~model.demand.alive).any()
        searcher, partner, s, d, k, dist = pairs = original(policy, period, searchers, open_s, open_d, known, **kwargs)
        assert model.supply.alive[s].all() and model.demand.alive[d].all()
        assert model.firms.active[model.supply.firm[s]].all() and model.firms.active[model.demand.firm[d]].all()
        assert (searcher != partner).all()
        seen.append(len(s))
        return pairs

    market.candidate_pairs = checked
    model.run()
    assert (~model.supply.alive).any()  # the switch ended streams while the run went on
    assert sum(seen) > 0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_mode_choice_follows_the_rule_when_modes_are_not_allowed(seed):
    # The cheapest allowed mode, pipeline capex paid off by a loan over its term (odd.md); a nan cost means not allowed.
    from simulation.model.contract import PIPELINE, TRUCK

    rng = np.random.default_rng(seed)
    model = SymbiosisModel(mini("policy.carbon_price_eur_per_t=80", "policy.capex_subsidy_share=0.3"), seed=1)
    mats, n = model.materials, len(model.materials)
    mats.truck_cost = np.where(rng.random(n) < 0.3, np.nan, rng.uniform(0.01, 0.5, n))
    mats.pipeline_cost = np.where(rng.random(n) < 0.3, np.nan, rng.uniform(0.001, 0.1, n))
    mats.pipeline_only = np.isnan(mats.truck_cost) & ~np.isnan(mats.pipeline_cost)
    m = 60
    waste, dist = rng.integers(0, n, m), rng.uniform(0.1, 30.0, m)
    quantity, existing = rng.uniform(0.0, 5000.0, m) * (rng.random(m) < 0.9), rng.random(m) < 0.3
    mode, unit, capex = model.economics.choose_mode(model.policy_now, waste, dist, quantity, existing)

    p, pol = model.params.logistics, model.policy_now
    truck = (p.transport_cost_factor * mats.truck_cost[waste] + pol.carbon_price_eur_per_t * p.truck_co2_t_per_unit_km) * dist
    pipe = p.transport_cost_factor * mats.pipeline_cost[waste] * dist
    pipe_capex = np.where(existing, 0.0, np.maximum(p.pipeline_min_capex_eur, p.pipeline_capex_eur_per_km * dist))
    # firm_defaults.interest_rate_per_year = 0.05; payments over the term less the whole months of construction
    r = 1.05 ** (1 / 12) - 1
    n_months = model.economics.term_months(model.policy_now, PIPELINE) - int(p.pipeline_lead_months)
    annuity = pipe_capex * (1 - pol.capex_subsidy_share) * r / (1 - (1 + r) ** -n_months)
    per_unit = annuity / np.maximum(quantity, 1e-9)
    use_pipe = ~np.isnan(pipe) & (np.isnan(truck) | (pipe + per_unit < truck))
    np.testing.assert_array_equal(mode, np.where(use_pipe, PIPELINE, TRUCK))
    np.testing.assert_array_equal(unit, np.where(use_pipe, pipe, truck))
    np.testing.assert_array_equal(capex, np.where(use_pipe, pipe_capex, 0.0))
