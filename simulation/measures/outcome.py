"""Did a symbiosis network form, persist or collapse? One rule, reused by sweeps.

Given the monthly count of active links and of active firms:

* the network **formed** in the first month its smoothed link count (rolling
  mean over ``window_months``) reaches ``max(min_links, min_links_per_firm *
  active firms)``;
* it **collapsed** if, after forming, the smoothed count fell below
  ``(1 - collapse_drop)`` times its peak and was still below that at the end;
  *when* is the first month of that final fall, *how far* the share of the peak
  lost by the end;
* it **persisted** if it formed, did not collapse, and the run lasted at least
  ``persist_months`` after it formed;
* otherwise it is **formed** (too recent to judge), or **none** if it never formed.
"""

from dataclasses import dataclass

import numpy as np

REGIMES = ("none", "formed", "persisted", "collapsed")


@dataclass(frozen=True)
class Outcome:
    regime: str  # one of REGIMES
    formed_period: int | None
    collapsed_period: int | None
    peak_links: float
    final_links: float
    drop_share: float  # share of the peak lost by the end

    def describe(self, calendar):
        if self.regime == "none":
            return "no network formed"
        text = f"{self.regime}: formed {calendar.label(self.formed_period)}, peak {self.peak_links:.1f} links"
        if self.regime == "collapsed":
            text += f", collapsed {calendar.label(self.collapsed_period)} losing {self.drop_share:.0%} of the peak"
        return text


def smooth(series, window):
    series = np.asarray(series, float)
    if len(series) == 0:
        return series
    cumulative = np.concatenate([[0.0], np.cumsum(series)])
    ends = np.arange(1, len(series) + 1)
    starts = np.maximum(ends - window, 0)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def classify(active_links, active_firms, thresholds):
    """Classify a run from its monthly active links and active firms."""
    links = smooth(active_links, thresholds.window_months)
    firms = np.asarray(active_firms, float)
    if len(links) == 0:
        return Outcome("none", None, None, 0.0, 0.0, 0.0)
    needed = np.maximum(thresholds.min_links, thresholds.min_links_per_firm * firms)
    reached = np.flatnonzero(links >= needed)
    if len(reached) == 0:
        return Outcome("none", None, None, float(links.max()), float(links[-1]), 0.0)
    formed = int(reached[0])
    peak = float(links[formed:].max())
    final = float(links[-1])
    drop = 1.0 - final / peak if peak > 0 else 0.0
    floor = (1.0 - thresholds.collapse_drop) * peak
    if final < floor:
        above = np.flatnonzero(links[formed:] >= floor)
        collapsed = formed + int(above[-1]) + 1
        return Outcome("collapsed", formed, collapsed, peak, final, drop)
    regime = "persisted" if len(links) - formed >= thresholds.persist_months else "formed"
    return Outcome(regime, formed, None, peak, final, drop)
