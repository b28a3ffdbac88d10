"""Figures of many runs: policy comparison, regime maps, response curves, sensitivity indices.

Every figure shows the 95% confidence intervals of the table it is drawn from
(:mod:`simulation.experiment.compare`, :mod:`simulation.experiment.analysis`).
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import EngFormatter

from simulation.output.figures import PNG
from simulation.output.labels import measure_label, parameter_label

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


# -- policy comparison ------------------------------------------------------------------------


BASELINE_LABEL = "baseline"  # the package the others are compared with (simulation.experiment.compare.BASELINE)


def comparison_figure(table, quantities, title, note=""):
    """One panel per quantity: each package's estimate as a dot with its 95% interval, and the regime shares.

    Totals show every package, the baseline's estimate as a dashed line; the
    ``extra_`` quantities and cost ratios are differences from the baseline,
    around a line at 0. An interval with an infinite end runs to the panel's
    edge as an arrow marked "unbounded"; a ratio with no finite bound at all is
    written as "not estimable" instead of drawn (its estimate means nothing).
    """
    columns = 3
    rows = -(-(len(quantities) + 1) // columns)
    packages = list(dict.fromkeys(table["package"]))
    height = 1.0 + 0.28 * len(packages)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, rows * (height + 0.9) + 1.1), squeeze=False)
    fig.subplots_adjust(left=0.1, right=0.98, top=1 - 0.7 / fig.get_figheight(), bottom=1.0 / fig.get_figheight(),
                        wspace=0.55, hspace=0.75)
    axes = axes.ravel()
    for ax, quantity in zip(axes, quantities):
        _forest(ax, table[table["quantity"] == quantity], packages)
    _regime_dots(axes[len(quantities)], table[table["quantity"].str.startswith("share_")], packages)
    for ax in axes[len(quantities) + 1:]:
        ax.axis("off")
    fig.suptitle(title)
    if note:
        fig.text(0.01, 0.1 / fig.get_figheight(), note, fontsize=7, color="0.3", va="bottom")
    return fig


def _forest(ax, rows, packages):
    """Dots with 95% intervals, one row per package (top to bottom in the table's order)."""
    rows = rows.set_index("package")
    shown = [p for p in packages if p in rows.index]
    y = np.array([packages.index(p) for p in shown], float)
    estimate, low, high = (rows.loc[shown, c].to_numpy(float) for c in ("estimate", "ci_low", "ci_high"))
    estimable = np.isfinite(estimate) & ~(np.isinf(low) & np.isinf(high))
    total = BASELINE_LABEL in rows.index  # else a difference from the baseline, drawn around 0
    finite = np.concatenate([estimate[estimable], low[np.isfinite(low) & estimable], high[np.isfinite(high) & estimable],
                             [rows.loc[BASELINE_LABEL, "estimate"] if total else 0.0]])
    finite = finite[np.isfinite(finite)] if np.isfinite(finite).any() else np.zeros(1)
    span = finite.max() - finite.min() or max(abs(finite.max()), 1.0)
    left, right = finite.min() - 0.15 * span, finite.max() + 0.15 * span
    drawn_low, drawn_high = np.where(np.isneginf(low), left, low), np.where(np.isposinf(high), right, high)
    ax.hlines(y[estimable], drawn_low[estimable], drawn_high[estimable], color="tab:blue", lw=1.6)
    ax.plot(estimate[estimable], y[estimable], "o", color="tab:blue", ms=5)
    for yi, e, lo, hi, ok in zip(y, estimate, low, high, estimable):
        if not ok:
            ax.text(0.5, yi, "not estimable (interval unbounded)" if np.isfinite(e) or np.isinf(lo) else "no estimate",
                    transform=ax.get_yaxis_transform(), ha="center", va="center", fontsize=7, color="0.3")
            continue
        for end, infinite, side in ((left, np.isneginf(lo), "<"), (right, np.isposinf(hi), ">")):
            if infinite:
                ax.annotate("unbounded", (end, yi), ha="right" if side == ">" else "left", va="bottom", fontsize=6,
                            color="0.3", xytext=(0, 2), textcoords="offset points")
                ax.plot(end, yi, side, color="tab:blue", ms=6)
    if total:
        ax.axvline(rows.loc[BASELINE_LABEL, "estimate"], color="0.5", ls="--", lw=0.8)
    else:
        ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlim(left, right)
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 200k, 1.5M: no offset text beside the unit
    if not estimable.any():
        ax.set_xticks([])
    ax.set_yticks(range(len(packages)), packages, fontsize=8)
    ax.set_ylim(len(packages) - 0.5, -0.5)
    ax.set_title(rows["label"].iloc[0], fontsize=9)
    ax.set_xlabel(rows["unit"].iloc[0])
    ax.grid(axis="x", alpha=0.3)


def _regime_dots(ax, shares, packages):
    """Share of runs in each regime per package: dots with Wilson intervals, side by side."""
    regimes = [q.removeprefix("share_") for q in dict.fromkeys(shares["quantity"])]
    step = 0.7 / max(len(regimes), 1)
    for i, regime in enumerate(regimes):
        rows = shares[shares["quantity"] == f"share_{regime}"].set_index("package").reindex(packages)
        y = np.arange(len(packages)) + (i - (len(regimes) - 1) / 2) * step
        below, above, _ = _error_bars(rows["estimate"], rows["ci_low"], rows["ci_high"])
        ax.errorbar(rows["estimate"], y, xerr=[below, above], fmt="o", ms=4, color=REGIME_COLOURS.get(regime),
                    label=REGIME_TITLES.get(regime, regime), lw=1, capsize=2)
    ax.set_yticks(range(len(packages)), packages, fontsize=8)
    ax.set_ylim(len(packages) - 0.5, -0.5)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("share of runs")
    ax.set_title("regime of the network", fontsize=9)
    if regimes:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.03, 1.0), frameon=False)
    ax.grid(axis="x", alpha=0.3)


# -- regime maps -------------------------------------------------------------------------------


def _with_note(fig, note, lines=None):
    """A footnote at the bottom of a constrained-layout figure, in a strip the axes leave free."""
    if not note:
        return
    lines = lines or note.count("\n") + 1 + len(note) // 180
    strip = (0.2 + 0.14 * lines) / fig.get_figheight()
    fig.get_layout_engine().set(rect=(0, strip, 1, 1 - strip))
    fig.text(0.01, 0.08 / fig.get_figheight(), note, fontsize=7, color="0.3", va="bottom", wrap=True)


def regime_map_figure(shares, x, y, note=""):
    """Heatmaps of the share of runs never formed, formed, persisted and collapsed over (x, y), with contours.

    Cells are equal-sized whatever the spacing of the values (grids are often
    uneven, e.g. 0.25, 0.5, 1, 2, 3), each labelled with its value; contours
    interpolate linearly between neighbouring cells. Axes are labelled with the
    parameters' names and units (:func:`simulation.output.labels.parameter_label`).
    """
    xs, ys = np.sort(shares[x].unique()), np.sort(shares[y].unique())
    fig, axes = plt.subplots(2, 2, figsize=(10.5, 9), sharex=True, sharey=True, layout="constrained")
    for ax, regime in zip(axes.flat, MAP_REGIMES):
        grid = shares.pivot(index=y, columns=x, values=f"share_{regime}").reindex(index=ys, columns=xs).to_numpy()
        mesh = ax.pcolormesh(np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5, np.ma.masked_invalid(grid),
                             vmin=0, vmax=1, cmap="viridis")
        if len(xs) > 1 and len(ys) > 1 and np.isfinite(grid).sum() >= 4:
            lines = ax.contour(np.arange(len(xs)), np.arange(len(ys)), np.ma.masked_invalid(grid), levels=CONTOURS,
                               colors="w", linewidths=1)
            ax.clabel(lines, fmt="%.2f", fontsize=7)
        ax.set_xticks(range(len(xs)), [_short(v) for v in xs], fontsize=7, rotation=45 if len(xs) > 8 else 0)
        ax.set_yticks(range(len(ys)), [_short(v) for v in ys], fontsize=7)
        ax.set_title(f"share of runs {REGIME_TITLES.get(regime, regime)}", fontsize=10)
        ax.tick_params(labelbottom=True)
    for ax in axes[1]:
        ax.set_xlabel(parameter_label(x))
    for ax in axes[:, 0]:
        ax.set_ylabel(parameter_label(y))
    fig.colorbar(mesh, ax=axes, shrink=0.85, label="share of runs")
    _with_note(fig, note)
    return fig


def regime_curve_figure(shares, x, note=""):
    """Share of runs in each regime against one parameter, with Wilson bands."""
    fig, ax = plt.subplots(figsize=(7, 4.6), layout="constrained")
    for regime, colour in REGIME_COLOURS.items():
        ax.plot(shares[x], shares[f"share_{regime}"], marker="o", color=colour, label=REGIME_TITLES.get(regime, regime))
        ax.fill_between(shares[x], shares[f"share_{regime}_low"], shares[f"share_{regime}_high"], color=colour, alpha=0.2)
    ax.set_ylim(0, 1)
    ax.set_xlabel(parameter_label(x))
    ax.set_ylabel("share of runs")
    ax.legend(fontsize=8)
    _with_note(fig, note)
    return fig


# -- response curves ----------------------------------------------------------------------------


def response_figure(curves, x, by=None):
    """One panel per measure: mean against x with its 95% band, one line per value of ``by``."""
    measures = list(dict.fromkeys(curves["measure"]))
    columns = min(len(measures), 2)
    rows = -(-len(measures) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.8 * rows), squeeze=False, layout="constrained")
    for ax, measure in zip(axes.flat, measures):
        rows_of = curves[curves["measure"] == measure]
        groups = rows_of.groupby(by, sort=True) if by else [(None, rows_of)]
        for key, group in groups:
            line, = ax.plot(group[x], group["mean"], marker="o", ms=3, label=None if by is None else _short(key))
            ax.fill_between(group[x], group["ci_low"], group["ci_high"], color=line.get_color(), alpha=0.2)
        ax.set_xlabel(parameter_label(x))
        ax.set_ylabel(measure_label(measure))
        ax.set_title(f"{measure_label(measure)}: mean and 95% CI", fontsize=9)
    for ax in axes.flat[len(measures):]:
        ax.axis("off")
    if by:
        axes[0][0].legend(fontsize=7, title=parameter_label(by), title_fontsize=7)
    return fig


def _short(value):
    return f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)


# -- sensitivity ---------------------------------------------------------------------------------


def indices_figure(indices):
    """Horizontal bars per parameter: Sobol S1 and ST, or Morris mu* and sigma; one panel per measure, two a row."""
    measures = list(dict.fromkeys(indices["measure"]))
    sobol = "S1" in indices.columns
    pairs = (("S1", "first order S1"), ("ST", "total ST")) if sobol else (("mu_star", "mu*"), ("sigma", "sigma"))
    columns = min(len(measures), 2)
    rows = -(-len(measures) // columns)
    panel_height = 1.3 + 0.42 * indices["parameter"].nunique()
    fig, axes = plt.subplots(rows, columns, figsize=(6.5 * columns, panel_height * rows), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, measure in zip(axes.flat, measures):
        rows_of = indices[indices["measure"] == measure]
        positions = np.arange(len(rows_of))
        for offset, (column, label) in zip((-0.2, 0.2), pairs):
            if f"{column}_low" in rows_of:
                below, above, _ = _error_bars(rows_of[column], rows_of[f"{column}_low"], rows_of[f"{column}_high"])
                errors = [below, above]
            else:
                errors = None
            ax.barh(positions + offset, rows_of[column], 0.4, xerr=errors, capsize=3, label=label)
        ax.set_yticks(positions, [parameter_label(p) for p in rows_of["parameter"]], fontsize=8)
        ax.axvline(0, color="0.5", lw=0.6)
        noise = rows_of["noise_share"].iloc[0] if "noise_share" in rows_of else np.nan
        ax.set_title(measure_label(measure) + (f" (replicate noise {noise:.0%})" if np.isfinite(noise) else ""), fontsize=9)
        ax.set_xlabel("index (share of variance)" if sobol else f"elementary effect ({measure_label(measure)})")
        ax.legend(fontsize=7)
    for ax in axes.flat[len(measures):]:
        ax.axis("off")
    axes[0][0].invert_yaxis()  # once: the panels share it; first parameter on top
    return fig
