"""The one rule that calls a run none, formed, persisted or collapsed: a network of firms joined by deliveries."""

import networkx as nx
import numpy as np
from conftest import mini, run

from simulation.measures.outcome import classify, outcome_of, smooth
from simulation.scenario.parameters import Outcome

RULE = Outcome(min_firms=3, min_firm_share=0.0, min_materials=2, window_months=1, persist_months=24, collapse_drop=0.5)
PARK = np.full(60, 20)  # active firms


def network(firms, materials=2, flow=None):
    """The three monthly series of a network of ``firms`` carrying ``materials`` wastes, flow proportional to size."""
    firms = np.asarray(firms, float)
    flow = 1000.0 * firms if flow is None else np.asarray(flow, float)
    return firms, np.where(firms > 0, materials, 0), flow


def test_one_link_is_not_a_network():
    # Two firms exchanging, however much and however long, fall short of three firms.
    assert classify(*network(np.full(60, 2)), PARK, RULE).regime == "none"


def test_three_firms_exchanging_one_waste_are_not_a_network():
    assert classify(*network(np.full(60, 5), materials=1), PARK, RULE).regime == "none"


def test_formed_and_held_is_persisted():
    outcome = classify(*network(np.r_[np.zeros(10), np.full(50, 4)]), PARK, RULE)
    assert (outcome.regime, outcome.formed_period) == ("persisted", 10)


def test_formed_too_late_to_judge_is_formed():
    assert classify(*network(np.r_[np.zeros(50), np.full(10, 4)]), PARK, RULE).regime == "formed"


def test_losing_more_than_half_the_firms_is_a_collapse():
    outcome = classify(*network(np.r_[np.zeros(5), np.full(30, 10), np.full(25, 4)]), PARK, RULE)
    assert outcome.regime == "collapsed" and outcome.collapsed_period == 35
    assert abs(outcome.drop_share - 0.6) < 1e-12


def test_losing_most_of_the_flow_is_a_collapse_even_at_the_same_size():
    firms = np.full(60, 6)
    flow = np.r_[np.full(40, 9000.0), np.full(20, 1000.0)]
    outcome = classify(*network(firms, flow=flow), PARK, RULE)
    assert outcome.regime == "collapsed" and outcome.collapsed_period == 40


def test_falling_apart_below_the_network_threshold_is_a_collapse():
    outcome = classify(*network(np.r_[np.full(40, 3), np.full(20, 2)]), PARK, RULE)
    assert outcome.regime == "collapsed" and outcome.collapsed_period == 40


def test_a_dip_that_recovers_is_not_a_collapse():
    assert classify(*network(np.r_[np.full(20, 10), np.full(10, 2), np.full(30, 9)]), PARK, RULE).regime == "persisted"


def test_threshold_scales_with_park_size():
    rule = RULE.model_copy(update={"min_firm_share": 0.1, "persist_months": 1})
    assert classify(*network(np.full(30, 5)), np.full(30, 100), rule).regime == "none"
    assert classify(*network(np.full(30, 5)), np.full(30, 40), rule).regime == "persisted"


def test_smoothing_is_a_trailing_mean():
    np.testing.assert_allclose(smooth([0, 3, 6, 9], 2), [0, 1.5, 4.5, 7.5])


def test_the_network_is_the_giant_component_of_deliveries():
    """The recorded size and wastes are those of the largest connected group of this month's deliveries."""
    model = run(mini("outages.rate_per_month=0.3"), seed=5)  # outages make some months deliver on some links only
    book, recorder = model.contracts, model.recorder
    sizes = []
    for period in range(recorder.months):
        contracts, _ = recorder.delivered_in(period)
        graph = nx.Graph()
        graph.add_edges_from(zip(book.supplier[contracts].tolist(), book.receiver[contracts].tolist()))
        giant = max(nx.connected_components(graph), key=len, default=set())
        wastes = {int(book.waste[c]) for c in contracts.tolist() if int(book.supplier[c]) in giant}
        sizes.append(len(giant))
        assert recorder.series("network_firms")[period] == len(giant)
        assert recorder.series("network_materials")[period] == len(wastes)
    assert len(set(sizes)) > 1  # the check saw the network change


def test_a_park_whose_exchanges_are_all_cut_collapses():
    # From 2027 the power station (the hub of every exchange) is gone.
    model = run(mini('events=[{at = "2027-01", firm = "power", leave = true}]'))
    frame = model.datacollector.get_model_vars_dataframe()
    outcome = outcome_of(frame.__getitem__, model.params.outcome)
    assert outcome.regime == "collapsed"
    assert model.calendar.label(outcome.collapsed_period) <= "2027-12"
