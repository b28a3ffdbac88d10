"""Paired comparisons for the stylized facts: seed sets, effects with confidence intervals, and the claim check.

A claim about the stochastic model is a paired comparison: the same seeds (hence the
same park layout and draws until the conditions part) under two conditions, one
difference per seed. It holds when the t confidence interval of the mean difference
lies wholly on the claimed side of zero:

* slow suite (``FACTS_SEEDS`` set, e.g. ``FACTS_SEEDS=41-80``; ``make test-facts``):
  the two-sided 95% interval, i.e. a two-sided paired t test at alpha = 0.05;
* fast version (``make test``, ``FACTS_SEEDS`` unset): fewer seeds per fact and the
  looser one-sided test at alpha = 0.05 (the 90% interval), still a test, not a bar.
  Each fact's seed count gives its claims a power of about 0.9 at the effects and
  spreads measured on seeds 1-40, n = ((z_0.95 + z_0.90) sd / effect)^2 + 2; a claim
  that would need far more seeds than the others (``needs``) is only recorded there,
  and tested in the slow suite.

A sign test's p value (two-sided, ties dropped) is reported beside each, not tested.
With ``FACTS_SUMMARY=path.json`` every claim checked is also written there, for
``scripts/facts_table.py``.
"""

import json
import os
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

SLOW = "FACTS_SEEDS" in os.environ
CONFIDENCE = 0.95 if SLOW else 0.90


def seed_range(text):
    """``"1-40"`` or ``"1,2,7"`` -> a tuple of seeds."""
    seeds = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        seeds.extend(range(int(first), int(last or first) + 1))
    return tuple(seeds)


def seeds(fast):
    """The seed set: ``FACTS_SEEDS`` in the slow suite, else seeds 1 to ``fast`` (each fact's own count)."""
    return seed_range(os.environ["FACTS_SEEDS"]) if SLOW else tuple(range(1, fast + 1))


@dataclass
class Effect:
    claim: str
    n: int
    mean: float
    low: float
    high: float
    p: float  # two-sided paired t test
    sign_p: float  # two-sided sign test, ties dropped
    positive: int
    negative: int


def effect(claim, differences, confidence=CONFIDENCE):
    """The mean of per-seed ``differences`` with its t confidence interval, and both tests' p values."""
    d = np.asarray(differences, dtype=float)
    n, mean = len(d), float(d.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * d.std(ddof=1) / np.sqrt(n)) if n > 1 else np.inf
    positive, negative = int((d > 0).sum()), int((d < 0).sum())
    p = float(stats.ttest_1samp(d, 0.0).pvalue) if half > 0 else (0.0 if mean else 1.0)
    sign_p = float(stats.binomtest(positive, positive + negative).pvalue) if positive + negative else 1.0
    return Effect(claim, n, mean, mean - half, mean + half, p, sign_p, positive, negative)


def record(found):
    path = os.environ.get("FACTS_SUMMARY")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps({"seeds": os.environ.get("FACTS_SEEDS", "fast"), **asdict(found)}) + "\n")
    return found


def tested(found, needs):
    return SLOW or found.n >= needs


def positive(claim, differences, needs=0):
    """Assert the mean paired difference is above zero (its interval excludes zero) unless the fast
    version has fewer seeds than the claim ``needs``; returns the effect."""
    found = record(effect(claim, differences))
    assert found.low > 0 or not tested(found, needs), found
    return found


def negative(claim, differences, needs=0):
    """As :func:`positive`, below zero."""
    found = record(effect(claim, differences))
    assert found.high < 0 or not tested(found, needs), found
    return found


def observed(claim, differences):
    """Record an effect that is reported but not claimed (e.g. where the model departs from the literature)."""
    return record(effect(claim, differences))
