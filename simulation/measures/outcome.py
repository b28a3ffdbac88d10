"""Did a symbiosis network form, persist or collapse? One rule, reused by sweeps.

The *network* of a month is the giant component of the firms joined by
contracts that delivered that month (:mod:`simulation.model.recorder` records
its firms, the distinct wastes it carries and its flow valued at catalogue
prices, EUR). A single link is not a network: following Chertow's "3-2
heuristic" (at least three entities exchanging at least two resources), with
every series smoothed over ``window_months`` (a trailing mean):

* the network **formed** in the first month it has at least
  ``max(min_firms, min_firm_share * active firms)`` firms and carries at least
  ``min_materials`` distinct wastes;
* it **collapsed** if, after forming, it ended the run no longer formed, or with
  less than ``(1 - collapse_drop)`` of its peak size or of its peak flow; *when*
  is the first month of that final fall, *how far* the larger share of the peak
  (size or flow) lost by the end;
* it **persisted** if it formed, did not collapse, and the run lasted at least
  ``persist_months`` after it formed;
* otherwise it is **formed** (too recent to judge), or **none** if it never formed.
"""

from dataclasses import dataclass

import numpy as np

REGIMES = ("none", "formed", "persisted", "collapsed")
# The monthly measures the rule reads, in the order classify() takes them.
OUTCOME_SERIES = ("network_firms", "network_materials", "network_flow_eur", "active_firms")


@dataclass(frozen=True)
class Outcome:
    regime: str  # one of REGIMES
    formed_period: int | None
    collapsed_period: int | None
    peak_firms: float  # smoothed firms in the network at its peak after forming
    final_firms: float
    peak_flow_eur: float  # smoothed monthly flow at catalogue prices, EUR
    final_flow_eur: float
    drop_share: float  # the larger share of the peak (size or flow) lost by the end

    def describe(self, calendar):
        if self.regime == "none":
            return f"no network formed (at most {self.peak_firms:.1f} firms joined by deliveries)"
        text = (f"{self.regime}: formed {calendar.label(self.formed_period)}, peak {self.peak_firms:.1f} firms "
                f"and {self.peak_flow_eur:,.0f} EUR a month of flow")
        if self.regime == "collapsed":
            text += (f", collapsed {calendar.label(self.collapsed_period)} losing {self.drop_share:.0%} of the peak "
                     f"(to {self.final_firms:.1f} firms)")
        return text


def smooth(series, window):
    series = np.asarray(series, float)
    if len(series) == 0:
        return series
    cumulative = np.concatenate([[0.0], np.cumsum(series)])
    ends = np.arange(1, len(series) + 1)
    starts = np.maximum(ends - window, 0)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def outcome_of(series, thresholds):
    """:func:`classify` a run from ``series(name)``, the monthly measure ``name`` (a recorder's or a frame's)."""
    return classify(*(series(name) for name in OUTCOME_SERIES), thresholds)


def classify(network_firms, network_materials, network_flow_eur, active_firms, thresholds):
    """Classify a run from the monthly size, wastes and flow of its network and the firms in the park."""
    t = thresholds
    size, wastes, flow = (smooth(s, t.window_months) for s in (network_firms, network_materials, network_flow_eur))
    if len(size) == 0:
        return Outcome("none", None, None, 0.0, 0.0, 0.0, 0.0, 0.0)
    needed = np.maximum(t.min_firms, t.min_firm_share * np.asarray(active_firms, float))
    is_network = (size >= needed) & (wastes >= t.min_materials)
    reached = np.flatnonzero(is_network)
    if len(reached) == 0:
        return Outcome("none", None, None, float(size.max()), float(size[-1]), float(flow.max()), float(flow[-1]), 0.0)
    formed = int(reached[0])
    peak_size, peak_flow = float(size[formed:].max()), float(flow[formed:].max())
    drop = max(_lost(size[-1], peak_size), _lost(flow[-1], peak_flow))
    held = is_network & (size >= (1.0 - t.collapse_drop) * peak_size) & (flow >= (1.0 - t.collapse_drop) * peak_flow)
    peaks = (peak_size, float(size[-1]), peak_flow, float(flow[-1]))
    if not held[-1]:
        # Size and flow may peak in different months, so the network may never hold both at once after forming.
        standing = held[formed:] if held[formed:].any() else is_network[formed:]
        last_held = formed + int(np.flatnonzero(standing)[-1])
        return Outcome("collapsed", formed, last_held + 1, *peaks, drop)
    regime = "persisted" if len(size) - formed >= t.persist_months else "formed"
    return Outcome(regime, formed, None, *peaks, drop)


def _lost(final, peak):
    return 1.0 - final / peak if peak > 0 else 0.0
