"""The confidence intervals quoted by compare and analyze cover the truth about 95% of the time.

Each check draws many synthetic experiments from a seeded generator with a known
true value and counts how often the interval contains it.
"""

import numpy as np
import pytest
from scipy import stats

from simulation.measures.intervals import (
    difference_interval,
    mean_interval,
    paired_ratio_interval,
    unpaired_ratio_interval,
    wilson_bounds,
    wilson_interval,
)

EXPERIMENTS = 2000


def coverage(draw, interval, truth, seed=11):
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(EXPERIMENTS):
        found = interval(*draw(rng))
        hits += found.low <= truth <= found.high
    return hits / EXPERIMENTS


def test_mean_interval_is_students_t():
    values = [3.0, 5.0, 4.0, 8.0]
    found = mean_interval(values)
    low, high = stats.t.interval(0.95, 3, loc=np.mean(values), scale=stats.sem(values))
    assert (found.estimate, found.n) == (5.0, 4)
    assert found.low == pytest.approx(low) and found.high == pytest.approx(high)


def test_mean_interval_ignores_undefined_runs():
    assert mean_interval([1.0, np.nan, 3.0]).n == 2
    assert np.isnan(mean_interval([2.0]).low)


def test_wilson_interval_stays_in_unit_range_and_is_not_degenerate():
    none = wilson_interval(0, 10)
    every = wilson_interval(10, 10)
    assert none.low == 0 and 0.2 < none.high < 0.35
    assert every.high == 1 and 0.65 < every.low < 0.8
    low, high = wilson_bounds(np.array([0, 3, 10]), np.array([10, 10, 10]))
    assert np.all(low <= np.array([0, 0.3, 1])) and np.all(np.array([0, 0.3, 1]) <= high)


def test_wilson_covers_a_share_on_average():
    # exact coverage from the binomial distribution; Wilson's oscillates with the
    # true share, and is close to 95% on average over shares
    n, counts = 20, np.arange(21)
    low, high = wilson_bounds(counts, np.full(21, n))
    shares = np.linspace(0.05, 0.95, 91)
    rates = [stats.binom.pmf(counts, n, p)[(low <= p) & (p <= high)].sum() for p in shares]
    assert 0.93 <= np.mean(rates) <= 0.97 and min(rates) > 0.85


def test_difference_covers_the_true_difference():
    rate = coverage(lambda rng: (rng.normal(5, 1, 8), rng.normal(3, 2, 12)), difference_interval, 2.0)
    assert 0.92 <= rate <= 0.98


def test_paired_ratio_covers_the_true_cost_per_tonne():
    # extra cost = 40 EUR per extra tonne plus noise; extra tonnes clearly above zero
    def draw(rng):
        tonnes = rng.normal(100, 20, 10)
        return 40 * tonnes + rng.normal(0, 800, 10), tonnes

    rate = coverage(draw, paired_ratio_interval, 40.0)
    assert 0.92 <= rate <= 0.98


def test_unpaired_ratio_covers_the_true_cost_per_tonne():
    def draw(rng):
        base_t, arm_t = rng.normal(100, 15, 10), rng.normal(150, 15, 10)
        base_cost, arm_cost = rng.normal(1000, 300, 10), rng.normal(1000 + 50 * 30, 300, 10)
        return (arm_cost, arm_t), (base_cost, base_t)

    rate = coverage(draw, unpaired_ratio_interval, 30.0)
    assert 0.92 <= rate <= 0.98


def test_ratio_is_unbounded_when_no_extra_tonnes_are_avoided():
    rng = np.random.default_rng(3)
    found = paired_ratio_interval(rng.normal(500, 100, 8), rng.normal(0, 10, 8))
    assert np.isinf(found.low) and np.isinf(found.high)
