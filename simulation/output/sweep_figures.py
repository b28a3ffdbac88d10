"""Figures of many runs: policy comparison, regime maps, response curves, sensitivity indices.

Every figure shows the 95% confidence intervals of the table it is drawn from
(:mod:`simulation.experiment.compare`, :mod:`simulation.experiment.analysis`).
"""

import matplotlib.pyplot as plt
import numpy as np

from simulation.output.figures import PNG

REGIME_COLOURS = {"none": "0.6", "formed": "tab:blue", "persisted": "tab:green", "collapsed": "tab:red"}
MAP_REGIMES = ("none", "formed", "persisted", "collapsed")
REGIME_TITLES = {"none": "never formed"}
CONTOURS = (0.25, 0.5, 0.75)


def save(figure, path):
    figure.savefig(path, format="png", **PNG)
    plt.close(figure)


def _error_bars(estimate, low, high):
    """Matplotlib's (below, above) error lengths; unbounded or missing bounds draw no bar."""
    estimate, low, high = (np.asarray(v, float) for v in (estimate, low, high))
    below, above = estimate - low, high - estimate
    drawn = np.isfinite(below) & np.isfinite(above)
    return np.where(drawn, below, 0), np.where(drawn, above, 0), ~drawn


def _bars(ax, labels, rows, colour="tab:blue"):
    """Vertical bars with CI whiskers; an unbounded interval is marked instead of drawn."""
    below, above, open_ended = _error_bars(rows["estimate"], rows["ci_low"], rows["ci_high"])
    positions = np.arange(len(labels))
    ax.bar(positions, rows["estimate"], color=colour, alpha=0.8)
    ax.errorbar(positions, rows["estimate"], yerr=[below, above], fmt="none", ecolor="k", capsize=4)
    for x, estimate, unbounded in zip(positions, rows["estimate"], open_ended):
        if unbounded and np.isfinite(estimate):
            ax.annotate("CI unbounded", (x, estimate), ha="center", va="bottom", fontsize=7, color="0.3")
    ax.set_xticks(positions, labels, rotation=30, ha="right", fontsize=8)
    ax.axhline(0, color="0.5", lw=0.6)


# -- policy comparison ------------------------------------------------------------------------


def comparison_figure(table, quantities, title, note=""):
    """One panel per quantity (bars per package) and one of regime shares, all with 95% CIs."""
    shares = table[table["quantity"].str.startswith("share_")]
    columns = (len(quantities) + 2) // 2
    fig, axes = plt.subplots(2, columns, figsize=(3.6 * columns, 8), layout="constrained")
    axes = axes.ravel()
    for ax, quantity in zip(axes, quantities):
        rows = table[table["quantity"] == quantity]
        _bars(ax, list(rows["package"]), rows)
        ax.set_title(rows["label"].iloc[0], fontsize=9)
        ax.set_ylabel(rows["unit"].iloc[0])
    _regime_bars(axes[len(quantities)], shares)
    for ax in axes[len(quantities) + 1:]:
        ax.axis("off")
    fig.suptitle(title)
    if note:
        fig.supxlabel(note, fontsize=8, color="0.3")
    return fig


def _regime_bars(ax, shares):
    packages = list(dict.fromkeys(shares["package"]))
    regimes = [q.removeprefix("share_") for q in dict.fromkeys(shares["quantity"])]
    width = 0.8 / len(regimes)
    for i, regime in enumerate(regimes):
        rows = shares[shares["quantity"] == f"share_{regime}"].set_index("package").loc[packages]
        below, above, _ = _error_bars(rows["estimate"], rows["ci_low"], rows["ci_high"])
        positions = np.arange(len(packages)) + (i - (len(regimes) - 1) / 2) * width
        ax.bar(positions, rows["estimate"], width, color=REGIME_COLOURS.get(regime), label=regime)
        ax.errorbar(positions, rows["estimate"], yerr=[below, above], fmt="none", ecolor="k", capsize=2, lw=0.8)
    ax.set_xticks(np.arange(len(packages)), packages, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of runs")
    ax.set_title("regime of the network", fontsize=9)
    ax.legend(fontsize=6, loc="upper left", ncols=2)


# -- regime maps -------------------------------------------------------------------------------


def regime_map_figure(shares, x, y, note=""):
    """Heatmaps of the share of runs never formed, formed, persisted and collapsed over (x, y), with contours.

    Cells are equal-sized whatever the spacing of the values (grids are often
    uneven, e.g. 0.25, 0.5, 1, 2, 3), each labelled with its value; contours
    interpolate linearly between neighbouring cells.
    """
    xs, ys = np.sort(shares[x].unique()), np.sort(shares[y].unique())
    fig, axes = plt.subplots(1, len(MAP_REGIMES), figsize=(4.5 * len(MAP_REGIMES) + 1, 4.4), sharey=True,
                             layout="constrained")
    for ax, regime in zip(axes, MAP_REGIMES):
        grid = shares.pivot(index=y, columns=x, values=f"share_{regime}").reindex(index=ys, columns=xs).to_numpy()
        mesh = ax.pcolormesh(np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5, np.ma.masked_invalid(grid),
                             vmin=0, vmax=1, cmap="viridis")
        if len(xs) > 1 and len(ys) > 1 and np.isfinite(grid).sum() >= 4:
            lines = ax.contour(np.arange(len(xs)), np.arange(len(ys)), np.ma.masked_invalid(grid), levels=CONTOURS,
                               colors="w", linewidths=1)
            ax.clabel(lines, fmt="%.2f", fontsize=7)
        ax.set_xticks(range(len(xs)), [_short(v) for v in xs], fontsize=7, rotation=45 if len(xs) > 8 else 0)
        ax.set_yticks(range(len(ys)), [_short(v) for v in ys], fontsize=7)
        ax.set_title(f"share of runs {REGIME_TITLES.get(regime, regime)}")
        ax.set_xlabel(x)
    axes[0].set_ylabel(y)
    fig.colorbar(mesh, ax=axes, shrink=0.85, label="share of runs")
    if note:
        fig.text(0.01, 0.01, note, fontsize=7, color="0.3")
    return fig


def regime_curve_figure(shares, x, note=""):
    """Share of runs in each regime against one parameter, with Wilson bands."""
    fig, ax = plt.subplots(figsize=(7, 4.4))
    for regime, colour in REGIME_COLOURS.items():
        ax.plot(shares[x], shares[f"share_{regime}"], marker="o", color=colour, label=regime)
        ax.fill_between(shares[x], shares[f"share_{regime}_low"], shares[f"share_{regime}_high"], color=colour, alpha=0.2)
    ax.set_ylim(0, 1)
    ax.set_xlabel(x)
    ax.set_ylabel("share of runs")
    ax.legend(fontsize=8)
    if note:
        fig.text(0.01, 0.01, note, fontsize=7, color="0.3")
    fig.tight_layout()
    return fig


# -- response curves ----------------------------------------------------------------------------


def response_figure(curves, x, by=None):
    """One panel per measure: mean against x with its 95% band, one line per value of ``by``."""
    measures = list(dict.fromkeys(curves["measure"]))
    fig, axes = plt.subplots(1, len(measures), figsize=(5 * len(measures), 4), squeeze=False)
    for ax, measure in zip(axes[0], measures):
        rows = curves[curves["measure"] == measure]
        groups = rows.groupby(by, sort=True) if by else [(None, rows)]
        for key, group in groups:
            line, = ax.plot(group[x], group["mean"], marker="o", ms=3, label=None if by is None else _short(key))
            ax.fill_between(group[x], group["ci_low"], group["ci_high"], color=line.get_color(), alpha=0.2)
        ax.set_xlabel(x)
        ax.set_title(measure, fontsize=9)
    if by:
        axes[0][0].legend(fontsize=7, title=by, title_fontsize=7)
    fig.tight_layout()
    return fig


def _short(value):
    return f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)


# -- sensitivity ---------------------------------------------------------------------------------


def indices_figure(indices):
    """Horizontal bars per parameter: Sobol S1 and ST, or Morris mu* and sigma, one panel per measure."""
    measures = list(dict.fromkeys(indices["measure"]))
    sobol = "S1" in indices.columns
    pairs = (("S1", "first order S1"), ("ST", "total ST")) if sobol else (("mu_star", "mu*"), ("sigma", "sigma"))
    fig, axes = plt.subplots(1, len(measures), figsize=(5 * len(measures) + 2, 1.2 + 0.5 * indices["parameter"].nunique()),
                             squeeze=False, sharey=True, layout="constrained")
    for ax, measure in zip(axes[0], measures):
        rows = indices[indices["measure"] == measure]
        positions = np.arange(len(rows))
        for offset, (column, label) in zip((-0.2, 0.2), pairs):
            if f"{column}_low" in rows:
                below, above, _ = _error_bars(rows[column], rows[f"{column}_low"], rows[f"{column}_high"])
                errors = [below, above]
            else:
                errors = None
            ax.barh(positions + offset, rows[column], 0.4, xerr=errors, capsize=3, label=label)
        ax.set_yticks(positions, rows["parameter"], fontsize=8)
        ax.axvline(0, color="0.5", lw=0.6)
        noise = rows["noise_share"].iloc[0] if "noise_share" in rows else np.nan
        ax.set_title(measure + (f" (replicate noise {noise:.0%})" if np.isfinite(noise) else ""), fontsize=9)
        ax.legend(fontsize=7)
    axes[0][0].invert_yaxis()  # once: the panels share it; first parameter on top
    return fig
