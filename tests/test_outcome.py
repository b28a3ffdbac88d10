"""The one rule that calls a run none, formed, persisted or collapsed."""

import numpy as np
from conftest import mini, run

from simulation.measures.outcome import classify, smooth
from simulation.scenario.parameters import Outcome

RULE = Outcome(min_links=2, min_links_per_firm=0.0, window_months=1, persist_months=24, collapse_drop=0.5)
FIRMS = np.full(60, 20)


def test_never_reaching_the_threshold_is_none():
    assert classify(np.ones(60), FIRMS, RULE).regime == "none"


def test_formed_and_held_is_persisted():
    links = np.r_[np.zeros(10), np.full(50, 4)]
    outcome = classify(links, FIRMS, RULE)
    assert (outcome.regime, outcome.formed_period) == ("persisted", 10)


def test_formed_too_late_to_judge_is_formed():
    links = np.r_[np.zeros(50), np.full(10, 4)]
    assert classify(links, FIRMS, RULE).regime == "formed"


def test_falling_below_half_the_peak_and_staying_there_is_collapsed():
    links = np.r_[np.zeros(5), np.full(30, 10), np.full(25, 3)]
    outcome = classify(links, FIRMS, RULE)
    assert outcome.regime == "collapsed"
    assert outcome.collapsed_period == 35
    assert abs(outcome.drop_share - 0.7) < 1e-12


def test_a_dip_that_recovers_is_not_a_collapse():
    links = np.r_[np.full(20, 10), np.full(10, 2), np.full(30, 9)]
    assert classify(links, FIRMS, RULE).regime == "persisted"


def test_threshold_scales_with_park_size():
    rule = Outcome(min_links=1, min_links_per_firm=0.1, window_months=1, persist_months=1, collapse_drop=0.5)
    assert classify(np.full(30, 5), np.full(30, 100), rule).regime == "none"
    assert classify(np.full(30, 5), np.full(30, 40), rule).regime == "persisted"


def test_smoothing_is_a_trailing_mean():
    np.testing.assert_allclose(smooth([0, 3, 6, 9], 2), [0, 1.5, 4.5, 7.5])


def test_a_park_whose_exchanges_are_all_cut_collapses():
    # From 2027 the power station (the hub of every exchange) is gone.
    model = run(mini('events=[{at = "2027-01", firm = "power", leave = true}]'))
    frame = model.datacollector.get_model_vars_dataframe()
    outcome = classify(frame.active_links, frame.active_firms, model.params.outcome)
    assert outcome.regime == "collapsed"
    assert model.calendar.label(outcome.collapsed_period) <= "2027-12"
