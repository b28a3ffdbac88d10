"""The firm as an agent: its decision rules one firm at a time equal their bulk twins, its state reads
as properties, Mesa's AgentSet and DataCollector see it, and the month's phases never hold the model."""

import numpy as np
import pytest
from conftest import ROOT, mini, run
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.model import SymbiosisModel
from simulation.model.contract import ACTIVE
from simulation.model.exchange import Terms
from simulation.model.firm import (
    Firm,
    breaking,
    closing,
    exiting,
    guaranteeing,
    holding_up,
    hurdles,
    investing,
    leaving_platform,
    moving_waste,
    risk_premiums,
)
from simulation.scenario import load


@pytest.fixture(scope="module")
def park():
    """A synthetic park of 60 firms after eight years, every firm's attributes drawn afresh."""
    model = run(load(ROOT / "scenarios" / "synthetic_park.toml", ["scenario.years=8", "park.n_firms=60"]), seed=4)
    return model


def randomised(model, rng):
    """The park's firms with random hurdle rates and risk aversion (the rules read them from the table)."""
    n = len(model.firms)
    model.firms.hurdle_rate[:] = rng.uniform(0, 1, n)
    model.firms.risk_aversion[:] = rng.uniform(0, 3, n)
    return [f for f in model.firm_list if f is not None]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_hurdles_and_acceptance_for_all_pairs_equal_each_firm_s_own_rule(park, seed):
    rng = np.random.default_rng(seed)
    firms = randomised(park, rng)
    n = 80
    supplier, receiver = rng.choice(firms, n), rng.choice(firms, n)
    s_index, r_index = np.array([f.index for f in supplier]), np.array([f.index for f in receiver])
    trust_s, trust_r = rng.random(n), rng.random(n)
    a_s, a_r = rng.normal(0, 2e4, n), rng.uniform(0, 5e4, n)  # a supplier may give up a resale value
    h_s = hurdles(park.firms.hurdle_rate[s_index], park.firms.risk_aversion[s_index], trust_s, a_s)
    h_r = hurdles(park.firms.hurdle_rate[r_index], park.firms.risk_aversion[r_index], trust_r, a_r)
    assert h_s.tolist() == [f.hurdle(a, t) for f, a, t in zip(supplier, a_s, trust_s)]
    assert h_r.tolist() == [f.hurdle(a, t) for f, a, t in zip(receiver, a_r, trust_r)]
    terms = Terms(quantity=rng.uniform(0, 500, n) * (rng.random(n) < 0.9), supplier_avoided=a_s, receiver_avoided=a_r,
                  running_unit=rng.uniform(0, 40, n), fixed_cost=rng.uniform(0, 8e3, n), subsidy=rng.uniform(0, 2e3, n),
                  shared=rng.uniform(0, 800, n), supplier_hurdle=h_s, receiver_hurdle=h_r, beta=float(rng.random()))
    one_by_one = [bool(s.accepts(gs, a, ts) and r.accepts(gr, b, tr) and surplus > 0 and q > 0)
                  for s, r, gs, gr, a, b, ts, tr, surplus, q in zip(
                      supplier, receiver, terms.supplier_gain, terms.receiver_gain, a_s, a_r, trust_s, trust_r,
                      terms.surplus, terms.quantity)]
    assert terms.acceptable.tolist() == one_by_one
    assert 0 < sum(one_by_one) < n  # both outcomes drawn
    # The risk premium is the part of the hurdle trust takes away; a guarantee is given where it outweighs the damages.
    premium = risk_premiums(park.firms.hurdle_rate[s_index], park.firms.risk_aversion[s_index], trust_s, a_s)
    assert premium.tolist() == [f.risk_premium(a, t) for f, a, t in zip(supplier, a_s, trust_s)]
    assert h_s - premium == pytest.approx(park.firms.hurdle_rate[s_index] * np.abs(a_s))
    damages = rng.uniform(0, 2e3, n)
    gives = guaranteeing(premium, damages, park.firms.risk_aversion[s_index])
    assert gives.tolist() == [f.guarantees(p, d) for f, p, d in zip(supplier, premium, damages)]
    assert 0 < gives.sum() < n
    # Any gain, not only a Nash split's: a firm accepts (or renews) exactly what clears its hurdle.
    gain = rng.normal(0, 2e4, n)
    assert (gain >= h_s).tolist() == [f.accepts(g, a, t) for f, g, a, t in zip(supplier, gain, a_s, trust_s)] \
        == [f.renews(g, a, t) for f, g, a, t in zip(supplier, gain, a_s, trust_s)]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_breaking_moving_investing_and_exiting_for_all_firms_equal_each_firm_s_own_rule(park, seed):
    rng = np.random.default_rng(seed)
    firms = randomised(park, rng)
    n = 100
    who = rng.choice(firms, n)
    index = np.array([f.index for f in who])
    gain, loss_months = rng.normal(0, 1e3, n), rng.integers(0, 10, n)
    left, penalty, review = rng.integers(0, 60, n), rng.uniform(0, 2e4, n), int(rng.integers(1, 8))
    assert breaking(gain, loss_months, left, penalty, review).tolist() == [
        f.breaks(g, m, r, p, review) for f, g, m, r, p in zip(who, gain, loss_months, left, penalty)]
    better = gain + rng.normal(0, 1e3, n)
    moves = moving_waste(gain, better, left, penalty)
    assert moves.tolist() == [f.moves_waste(g, b, r, p) for f, g, b, r, p in zip(who, gain, better, left, penalty)]
    assert moves.any() and not moves.all() and (moves & (left > 0)).any()  # early moves drawn too
    quantity, payment, min_q = rng.uniform(0, 20, n), rng.uniform(0, 2e3, n), float(rng.uniform(0, 10))
    assert investing(gain, payment, quantity, min_q, park.firms.hurdle_rate[index]).tolist() == [
        f.invests(g, p, q, min_q) for f, g, p, q in zip(who, gain, payment, quantity)]
    park.firms.loss_months[:] = rng.integers(0, 20, len(park.firms))
    after = int(rng.integers(1, 15))
    assert exiting(park.firms.loss_months, after)[index].tolist() == [bool(f.exits(after)) for f in who]
    park.firms.result_loss_months[:] = rng.integers(0, 20, len(park.firms))
    for close_after in (0, after):  # 0: no plant closes for losses alone
        assert closing(park.firms.result_loss_months, close_after)[index].tolist() == [
            bool(f.closes(close_after)) for f in who]
    park.firms.platform_misses[:] = rng.integers(0, 6, len(park.firms))
    for patience in (0, int(rng.integers(1, 5))):  # 0: no member gives up
        assert leaving_platform(park.firms.platform_misses, patience)[index].tolist() == [
            bool(f.leaves_platform(patience)) for f in who]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_holding_up_for_all_contracts_equals_each_firm_s_own_rule_and_leaves_the_partner_its_fall_back(seed):
    rng = np.random.default_rng(seed)
    n = 200
    own, partner = rng.normal(2e3, 3e3, n), rng.normal(3e3, 3e3, n)
    penalty, left, share = rng.uniform(0, 2e5, n) * (rng.random(n) < 0.7), rng.integers(0, 120, n), float(rng.random())
    ask = holding_up(own, partner, penalty, left, share)
    firm = object.__new__(Firm)  # the rule reads nothing of the firm's state
    assert ask.tolist() == [float(Firm.holds_up(firm, o, p, c, m, share)) for o, p, c, m in zip(own, partner, penalty, left)]
    fallback = penalty / np.maximum(left, 1)
    assert (ask >= 0).all() and (ask == 0).any() and (ask > 0).any()
    # The partner keeps at least what walking away would give it, and the firm asks no more than its claim.
    assert (partner - ask >= fallback - 1e-9)[ask > 0].all()
    assert (own + ask <= share * (own + partner) - fallback + 1e-9)[ask > 0].all()


def test_a_firm_reads_its_state_and_the_agent_set_selects_and_aggregates(park):
    model = park
    assert len(model.agents) == int(model.firms.active.sum())  # a firm that left is no longer an agent
    sector = next(iter(model.agents)).sector
    chosen = model.agents.select(lambda f: f.sector == sector)
    rows = [f.index for f in chosen]
    assert chosen.agg("cash", sum) == pytest.approx(model.firms.cash[rows].sum(), rel=1e-12)
    book = model.contracts
    for firm in model.agents:
        ids = firm.active_contracts
        assert (book.status[ids] == ACTIVE).all()
        assert ((book.supplier[ids] == firm.index) | (book.receiver[ids] == firm.index)).all()
        assert firm.links == len(ids)
        others = {p.index for p in firm.partners}
        assert others == set(book.supplier[ids].tolist() + book.receiver[ids].tolist()) - {firm.index}
        assert set(firm.wastes) == {model.materials.ids[m] for m in model.supply.material[model.supply.of_firm(firm.index)]}
        assert firm.production == model.firms.production[firm.index] and 0 <= firm.utilisation <= 1
    with pytest.raises(AttributeError):
        next(iter(model.agents)).cash = 0.0


def test_trust_in_a_partner_is_what_deliveries_taught(park):
    book = park.contracts
    ended = np.flatnonzero((book.status == 2) & (book.reason != 9))  # ended, not renewed: trust kept from it
    assert len(ended)
    c = int(ended[-1])
    receiver, supplier = park.firm_list[book.receiver[c]], park.firm_list[book.supplier[c]]
    between = (book.supplier == supplier.index) & (book.receiver == receiver.index) & (np.arange(len(book)) != c)
    later = between & ((np.arange(len(book)) > c) | (book.status != 2) | (book.end > book.end[c]))
    if not later.any():  # no contract between them since, or still running, changed it
        assert receiver.trust_in(supplier) == pytest.approx(book.trust_in_supplier[c])
    stranger = next(f for f in park.firm_list if f is not None and f.index not in receiver.acquaintances and f is not receiver)
    assert receiver.trust_in(stranger) == park.params.trust.initial


@pytest.mark.parametrize("scenario", [
    lambda: mini("firms.cement.exit=\"2027-06\""),  # a fuel switch and a closure
    lambda: load(ROOT / "scenarios" / "synthetic_park.toml", [  # firms going bust: price shocks on thin cash
        "scenario.years=8", "market.price_volatility=0.25", "market.price_pass_through=0", "firm_defaults.initial_cash_months=1"]),
])
def test_the_datacollector_keeps_each_firm_s_month_and_the_firms_add_up_to_the_park(scenario):
    model = run(scenario(), seed=21)
    assert (model.firms.left >= 0).any()  # the records must hold firms that left, in the month they left
    agents = model.datacollector.get_agent_vars_dataframe()
    assert {"cash", "production", "links", "savings"} <= set(agents.columns)
    months = model.datacollector.get_model_vars_dataframe()
    by_step = agents.groupby(level="Step")
    np.testing.assert_allclose(by_step["savings"].sum().to_numpy(), months["savings_eur"].to_numpy(), rtol=1e-9, atol=1e-3)
    np.testing.assert_array_equal(by_step["links"].sum().to_numpy(), 2 * months["active_links"].to_numpy())
    large = SymbiosisModel(mini(), collect_agents=False)
    large.step()
    assert not large.datacollector.agent_reporters


def reaches(start, target, skip):
    """Whether ``target`` can be reached from ``start`` through attributes and containers, not entering ``skip(obj)``."""
    seen, todo = set(), [start]
    while todo:
        obj = todo.pop()
        if obj is target:
            return True
        if id(obj) in seen or skip(obj) or isinstance(obj, (np.ndarray, str, bytes, int, float, type)):
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            todo += list(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            todo += list(obj)
        elif hasattr(obj, "__dict__"):
            todo += list(vars(obj).values())
    return False


def test_no_phase_of_the_month_holds_the_model():
    import mesa

    model = SymbiosisModel(mini())
    assert len(model.schedule) >= 6
    # Mesa's own threads back to the model: its agents, and the constructor the events phase creates them with.
    skip = lambda obj: isinstance(obj, mesa.Agent) or getattr(obj, "__self__", None) is model
    for phase in model.schedule:
        assert callable(phase.run)
        assert not reaches(phase, model, skip), type(phase).__name__
    assert reaches(model.schedule[0], model, lambda obj: False)  # the walk does find those threads


def test_a_model_can_be_made_from_a_scenario_path():
    model = SymbiosisModel(str(ROOT / "scenarios" / "demo_park.toml"))
    model.step()
    assert model.period == model.steps == 1 and len(model.agents) > 0


def test_the_records_collected_in_one_pass_are_the_ones_mesa_makes_reporter_by_reporter():
    import mesa
    import pandas as pd

    from simulation.model.model import AGENT_MEASURES
    from simulation.model.recorder import MEASURES

    model = SymbiosisModel(mini("scenario.years=4", "firms.cement.exit=\"2027-06\""))
    mesa_own = mesa.DataCollector(model_reporters={name: (lambda m, name=name: m.recorder.current[name]) for name in MEASURES},
                                  agent_reporters={name: name for name in AGENT_MEASURES})
    while model.running:
        model.step()
        mesa_own.collect(model)
    ours, theirs = model.datacollector.get_agent_vars_dataframe(), mesa_own.get_agent_vars_dataframe()
    assert len(theirs) > 4 * 12
    pd.testing.assert_frame_equal(ours.loc[theirs.index], theirs, check_dtype=False)
    # The only rows Mesa has not: each firm that left, in the month it left.
    extra = ours.index.difference(theirs.index)
    left = {(int(model.firms.left[a.index]) + 1, a.unique_id) for a in model.firm_list if a is not None and not a.active}
    assert set(extra) == left
    pd.testing.assert_frame_equal(model.datacollector.get_model_vars_dataframe(), mesa_own.get_model_vars_dataframe())


def test_trust_in_a_current_partner_is_the_trust_on_the_contract_running_between_them():
    model = SymbiosisModel(ROOT / "scenarios" / "demo_park.toml")
    for _ in range(60):
        model.step()
    book = model.contracts
    running = book.running()
    assert len(running)
    judged = 0
    for c in running.tolist():
        supplier, receiver = model.firm_list[book.supplier[c]], model.firm_list[book.receiver[c]]
        between = running[(book.supplier[running] == supplier.index) & (book.receiver[running] == receiver.index)]
        if c == between.max() and not ((book.supplier[running] == receiver.index) & (book.receiver[running] == supplier.index)).any():
            assert receiver.trust_in(supplier) == book.trust_in_supplier[c]
            assert supplier.trust_in(receiver) == book.trust_in_receiver[c]
            judged += book.trust_in_supplier[c] != model.params.trust.initial
    assert judged > 0  # trust learnt on a running contract, not the initial value


def test_mesa_batch_run_runs_variants_of_a_park_as_the_model_does_alone():
    """``SymbiosisModel(path, seed=..., overrides=...)`` is what ``mesa.batch_run`` needs: the same numbers as a
    model built from the loaded scenario with the same overrides."""
    import mesa

    path = ROOT / "tests" / "data" / "mini_park.toml"
    variants = [{"scenario.years": 1, "policy.landfill_tax_eur_per_t": tax} for tax in (0, 120)]
    rows = mesa.batch_run(SymbiosisModel, {"scenario": str(path), "overrides": variants}, rng=[1, 2],
                          display_progress=False)
    runs = {row["RunId"]: row for row in rows}  # a row per firm of each run; the model's numbers repeat on each
    assert len(runs) == 4
    for row in runs.values():
        alone = run(mini(*(f"{k}={v}" for k, v in row["overrides"].items())), seed=row["seed"])
        last = alone.datacollector.get_model_vars_dataframe().iloc[-1]
        assert row["active_links"] == last["active_links"] and row["savings_eur"] == last["savings_eur"]
    # A loaded scenario can be varied too: its own overrides first, then these.
    varied = SymbiosisModel(mini("scenario.years=1"), seed=1, overrides={"policy.landfill_tax_eur_per_t": 120})
    assert varied.config.overrides == ("scenario.years=1", "policy.landfill_tax_eur_per_t=120")
