"""The figure of a points design (labelled override sets): each point's measures and regimes, with 95% CIs.

Drawn from :func:`simulation.experiment.analysis.point_table`: one panel per
measure (a dot per point, its t interval as a line) and one of the share of runs
in each regime (stacked, as they sum to 1).
"""

import matplotlib.pyplot as plt
import numpy as np

from simulation.measures.outcome import REGIMES
from simulation.measures.summary import RUN_MEASURES
from simulation.output.sweep_figures import REGIME_COLOURS, save

__all__ = ["points_figure", "save"]


def points_figure(table, measures, title):
    labels = [str(label) for label in table["label"]]
    panels = len(measures) + 1
    fig, axes = plt.subplots(panels, 1, figsize=(7, 1.2 + 0.35 * len(labels) * panels + 0.6 * panels),
                             layout="constrained", squeeze=False)
    positions = np.arange(len(labels))
    for ax, measure in zip(axes[:, 0], measures):
        mean, low, high = (table[f"{measure}_{k}"].to_numpy(float) for k in ("mean", "low", "high"))
        ax.hlines(positions, low, high, color="0.4", lw=1.5)
        ax.plot(mean, positions, "o", color="tab:blue")
        _labelled(ax, positions, labels)
        ax.set_title(f"{measure}: {RUN_MEASURES.get(measure, '')}", fontsize=9)
    ax = axes[-1, 0]
    left = np.zeros(len(labels))
    for regime in REGIMES:
        share = table[f"share_{regime}"].to_numpy(float)
        ax.barh(positions, share, left=left, color=REGIME_COLOURS.get(regime), label=regime)
        left += np.nan_to_num(share)
    _labelled(ax, positions, labels)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of runs")
    ax.set_title("regime of the network", fontsize=9)
    ax.legend(fontsize=7, ncols=len(REGIMES), loc="upper center", bbox_to_anchor=(0.5, -0.35 - 0.5 / len(labels)))
    fig.suptitle(title + "  (dots: means; lines: 95% confidence intervals)", fontsize=10)
    return fig


def _labelled(ax, positions, labels):
    ax.set_yticks(positions, labels, fontsize=8)
    ax.invert_yaxis()  # the first point on top
    ax.grid(axis="x", alpha=0.3)
