"""95% confidence intervals over replicate runs.

* a mean: Student's t interval (replicates are independent draws of the model);
* a share of runs (e.g. of runs that collapsed): Wilson's score interval, which
  stays inside [0, 1] and is not degenerate at 0 or 1 runs out of n;
* a ratio of two mean differences (e.g. extra government cost per extra tonne of
  CO2 avoided, an incremental cost-effectiveness ratio): Fieller's interval. It
  needs no resampling and is exact for normal means; unlike the delta method it
  is asymmetric where it should be, and it is *unbounded* (``-inf, inf``) when
  the denominator is not distinguishable from zero, i.e. when the package does
  not avoid clearly more CO2 than the baseline, so no cost per tonne can be
  quoted.
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    n: int


def _t_quantile(dof, level):
    return float(stats.t.ppf(0.5 + level / 2, dof))


def mean_interval(values, level=LEVEL):
    """Mean of ``values`` (NaN ignored) with a t interval; NaN bounds below two values."""
    values = np.asarray(values, float)
    values = values[~np.isnan(values)]
    n = len(values)
    if n == 0:
        return Interval(np.nan, np.nan, np.nan, 0)
    mean = float(values.mean())
    if n < 2:
        return Interval(mean, np.nan, np.nan, n)
    half = _t_quantile(n - 1, level) * float(values.std(ddof=1)) / np.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def wilson_interval(successes, n, level=LEVEL):
    """Share ``successes / n`` with Wilson's score interval."""
    if n == 0:
        return Interval(np.nan, np.nan, np.nan, 0)
    low, high = wilson_bounds(successes, n, level)
    return Interval(successes / n, float(low), float(high), n)


def wilson_bounds(successes, n, level=LEVEL):
    """Vectorised Wilson bounds for arrays of counts; NaN where ``n`` is 0."""
    successes = np.asarray(successes, float)
    n = np.asarray(n, float)
    z = float(stats.norm.ppf(0.5 + level / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = successes / n
        centre = (share + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    # exactly 0 and 1 at the ends, where rounding would leave 1e-17 or 1 - 1e-16
    low = np.where(successes == 0, 0.0, np.clip(centre - half, 0, 1))
    high = np.where(successes == n, 1.0, np.clip(centre + half, 0, 1))
    return low, high


def fieller_interval(numerator, denominator, variances, covariance, dof, level=LEVEL):
    """Fieller's bounds (low, high) for ``numerator / denominator`` of two estimated means.

    ``variances`` are the squared standard errors of the two estimates and
    ``covariance`` their covariance. The bounds are the ratios R for which
    ``numerator - R * denominator`` is not significantly different from 0.
    """
    a, b = float(numerator), float(denominator)
    v11, v22 = variances
    if dof < 1 or not np.isfinite(v11 + v22 + covariance):
        return np.nan, np.nan
    t2 = _t_quantile(dof, level) ** 2
    scale = b * b - t2 * v22
    if scale <= 0:  # the denominator's own interval contains 0: no finite bound
        return -np.inf, np.inf
    middle = a * b - t2 * covariance
    spread = np.sqrt(max(middle * middle - scale * (a * a - t2 * v11), 0.0))
    return (middle - spread) / scale, (middle + spread) / scale


def paired_ratio_interval(extra_numerator, extra_denominator, level=LEVEL):
    """Ratio of mean per-replicate differences (same seed in both arms), Fieller's interval."""
    x = np.asarray(extra_numerator, float)
    y = np.asarray(extra_denominator, float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = len(x)
    if n < 2:
        return Interval(_ratio(x.sum(), y.sum()), np.nan, np.nan, n)
    covariance = np.cov(x, y, ddof=1) / n
    low, high = fieller_interval(x.mean(), y.mean(), (covariance[0, 0], covariance[1, 1]), covariance[0, 1], n - 1, level)
    return Interval(_ratio(x.mean(), y.mean()), low, high, n)


def unpaired_ratio_interval(arm, baseline, level=LEVEL):
    """Ratio of differences of means between two independent groups of runs, Fieller's interval.

    ``arm`` and ``baseline`` are (numerator values, denominator values) per run;
    the ratio is ``(mean num_arm - mean num_base) / (mean den_arm - mean den_base)``.
    Degrees of freedom: Welch's, of the denominator's difference, so the ratio is
    unbounded exactly when Welch's interval of that difference contains 0.
    """
    parts = []
    for num, den in (arm, baseline):
        num, den = np.asarray(num, float), np.asarray(den, float)
        keep = ~(np.isnan(num) | np.isnan(den))
        parts.append((num[keep], den[keep]))
    (xa, ya), (xb, yb) = parts
    n = min(len(xa), len(xb))
    if n < 2:
        return Interval(np.nan, np.nan, np.nan, n)
    a, b = xa.mean() - xb.mean(), ya.mean() - yb.mean()
    covariance = np.cov(xa, ya, ddof=1) / len(xa) + np.cov(xb, yb, ddof=1) / len(xb)
    dof = welch_dof(ya.var(ddof=1) / len(ya), yb.var(ddof=1) / len(yb), len(ya), len(yb))
    low, high = fieller_interval(a, b, (covariance[0, 0], covariance[1, 1]), covariance[0, 1], dof, level)
    return Interval(_ratio(a, b), low, high, n)


def _ratio(a, b):
    return float(a / b) if b != 0 else np.nan


def difference_interval(arm, baseline, level=LEVEL):
    """Mean of ``arm`` minus mean of ``baseline`` for independent groups: Welch's t interval."""
    a, b = (np.asarray(v, float) for v in (arm, baseline))
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    n = min(len(a), len(b))
    if n == 0:
        return Interval(np.nan, np.nan, np.nan, 0)
    estimate = float(a.mean() - b.mean())
    if n < 2:
        return Interval(estimate, np.nan, np.nan, n)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        return Interval(estimate, estimate, estimate, n)
    dof = welch_dof(va, vb, len(a), len(b))
    half = _t_quantile(dof, level) * np.sqrt(va + vb)
    return Interval(estimate, estimate - half, estimate + half, n)


def welch_dof(va, vb, na, nb):
    """Welch-Satterthwaite degrees of freedom of a difference of means with squared standard errors va, vb."""
    if va + vb == 0:
        return na + nb - 2
    return (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
