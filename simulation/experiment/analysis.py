"""What a sweep says: regime maps, response curves and sensitivity indices.

Every function takes the sweep's runs table (one row per run, see
:mod:`simulation.experiment.store`) and returns a pandas DataFrame; only finished runs
(``status == "done"``) count.

**Axes.** A parameter with at most ``MAX_LEVELS`` distinct values (a grid, or
the explicit points of a sweep) is used value by value. A sampled parameter (Latin
hypercube, Sobol, Morris) is cut into equal-width bins between its smallest and
largest value, each shown at its centre; runs are pooled within a bin, and
therefore *over every other swept parameter*: a map of x and y from a sample is
the marginal picture, averaged over the rest of the design. Cells with no run are
left empty rather than interpolated, so the map never shows what was not run.

**Intervals.** Regime shares get Wilson intervals, means a t interval, both over
the runs in the cell. On a grid with only x (and y) varied, that is over
replicates; when other parameters vary within a cell the interval also spans
their effect.

**Sensitivity indices.** SALib's Sobol (first-order S1, total ST) and Morris
(mu*, sigma) analyses need one output per design point, in the design's order.
Replicates of a point are averaged first: the indices describe the expected
response, and replicate noise left in the averages shows up as a small spurious
share of variance spread over all parameters (it shrinks with more replicates).
Confidence intervals are SALib's bootstrap (95%, ``RESAMPLES`` resamples, fixed
seed so the table is reproducible). Too small a sample gives indices that move
from one sample to the next (Sobol indices below 0 or above 1): :func:`analyze`
warns when a Sobol design has fewer than ``MIN_SOBOL_SAMPLES`` base samples or a
Morris design fewer than ``MIN_MORRIS_TRAJECTORIES`` trajectories, or when most
indices' intervals are wider than the indices, and when the noise share cannot be
computed (one replicate per point).

**Points designs** (labelled override sets, e.g. a policy comparison) have no
axes: :func:`point_table` gives each point's regime shares and the mean of each
measure, with their intervals.
"""

import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from simulation.errors import ScenarioError
from simulation.measures.intervals import (
    LEVEL,
    mean_interval,
    wilson_bounds,
    wilson_interval,
)
from simulation.measures.outcome import REGIMES
from simulation.output.files import (
    check_destination,
    claim,
    owned_folder,
    replaced_folder,
)

MAX_LEVELS = 12
RESAMPLES = 1000
BOOTSTRAP_SEED = 20260101
NOISY = 0.25  # replicate noise share above which the indices are flagged
MORRIS_LEVELS = 4  # SALib's default; analyze passes the sweep's own
# Below these, indices are not stable from one sample to the next (Saltelli et al. 2010 use N of 500 and more;
# Campolongo et al. 2007 recommend 10 to 50 Morris trajectories).
MIN_SOBOL_SAMPLES = 64
MIN_MORRIS_TRAJECTORIES = 10


def finished(runs):
    return runs[runs["status"] == "done"]


# -- axes -------------------------------------------------------------------------------


def default_bins(n_points, dims):
    """Bins per axis so that a cell holds about four design points on average, 3 to 10."""
    return int(np.clip(int((n_points / 4) ** (1 / dims)), 3, 10))


def axis_values(values, bins):
    """The value each run is plotted at: its own (few distinct values) or its bin centre."""
    values = pd.Series(values, dtype=float)
    if values.nunique() <= MAX_LEVELS:
        return values
    edges = np.linspace(values.min(), values.max(), bins + 1)
    index = np.clip(np.searchsorted(edges, values.to_numpy(), side="right") - 1, 0, bins - 1)
    centres = (edges[:-1] + edges[1:]) / 2
    return pd.Series(centres[index], index=values.index)


def is_binned(runs, parameter):
    return runs[parameter].nunique() > MAX_LEVELS


def _cells(runs, parameters, bins=None):
    """Runs with each parameter replaced by its axis value."""
    done = finished(runs)
    bins = bins or default_bins(done["point"].nunique(), len(parameters))
    cells = done.copy()
    for parameter in parameters:
        cells[parameter] = axis_values(done[parameter], bins)
    return cells


# -- regimes ------------------------------------------------------------------------------


def regime_shares(runs, x, y=None, bins=None):
    """Share of runs in each regime per cell of x (and y), with Wilson intervals.

    Columns: x (and y), ``n``, then ``share_<regime>``, ``share_<regime>_low`` and
    ``share_<regime>_high`` for none, formed, persisted and collapsed; the four
    shares of a cell sum to 1.
    """
    keys = [x] if y is None else [x, y]
    cells = _cells(runs, keys, bins)
    counts = pd.crosstab([cells[k] for k in keys], cells["regime"]).reindex(columns=list(REGIMES), fill_value=0)
    n = counts.sum(axis=1)
    table = pd.DataFrame({"n": n})
    for regime in REGIMES:
        low, high = wilson_bounds(counts[regime], n)
        table[f"share_{regime}"] = counts[regime] / n
        table[f"share_{regime}_low"], table[f"share_{regime}_high"] = low, high
    return table.reset_index()


# -- response curves -------------------------------------------------------------------------


def response_curve(runs, measure, x, by=None, bins=None):
    """Mean of ``measure`` against x (one curve per value of ``by``), with 95% t intervals.

    Columns: x (and ``by``), ``measure``, ``n``, ``mean``, ``ci_low``, ``ci_high``.
    Runs where the measure is undefined (NaN, e.g. ``formed_month`` of a run that
    never formed) are left out, so ``n`` may differ between measures.
    """
    keys = [x] if by is None else [by, x]
    cells = _cells(runs, keys, bins)
    rows = []
    for key, group in cells.groupby(keys, sort=True):
        interval = mean_interval(group[measure])
        rows.append([*np.atleast_1d(key), measure, interval.n, interval.estimate, interval.low, interval.high])
    return pd.DataFrame(rows, columns=[*keys, "measure", "n", "mean", "ci_low", "ci_high"])


# -- sensitivity --------------------------------------------------------------------------------


def point_means(runs, measure, names):
    """Design matrix X (points x parameters, design order) and the replicate mean of ``measure`` per point."""
    done = finished(runs)
    n_points = int(runs["point"].max()) + 1
    means = done.groupby("point")[measure].mean().reindex(range(n_points))
    missing = np.flatnonzero(means.isna().to_numpy())
    if len(missing):
        raise ValueError(f"{measure}: no value at {len(missing)} of {n_points} design points "
                         f"(first: {missing[:5].tolist()}); the analysis needs every point")
    design = runs.drop_duplicates("point").set_index("point").sort_index()[list(names)]
    return design.to_numpy(float), means.to_numpy(float)


def sobol_second_order(design):
    """Whether a Saltelli design (points x parameters) was drawn with second-order terms.

    Its rows come in blocks A, AB_1 .. AB_D, [BA_1 .. BA_D,] B of D + 2 rows
    without and 2 D + 2 with, where AB_i is A with column i taken from B. The
    point count alone cannot tell (both can divide it); the first block can.
    """
    n, d = design.shape
    for second, step in ((True, 2 * d + 2), (False, d + 2)):
        if n % step == 0 and _is_saltelli_block(design[:step]):
            return second
    raise ValueError(f"the {n} design points are not a Saltelli sample of {d} parameters")


def _is_saltelli_block(block):
    a, b = block[0], block[-1]
    for i in range(block.shape[1]):
        expected = a.copy()
        expected[i] = b[i]
        if not np.allclose(block[1 + i], expected, rtol=1e-12, atol=0):
            return False
    return True


def sensitivity_indices(runs, problem, method, measure, second_order=None, levels=MORRIS_LEVELS):
    """First-order and total Sobol indices, or Morris mu* and sigma, of ``measure``.

    ``problem`` is SALib's problem dict (names, bounds) of the design. Returns one
    row per parameter: ``measure``, ``parameter`` and, for Sobol, ``S1``, ``S1_low``,
    ``S1_high``, ``ST``, ``ST_low``, ``ST_high``; for Morris ``mu``, ``mu_star``,
    ``mu_star_low``, ``mu_star_high``, ``sigma``; then ``noise_share``
    (:func:`replicate_noise_share`).
    """
    names = list(problem["names"])
    X, Y = point_means(runs, measure, names)
    if np.ptp(Y) == 0:
        raise ValueError(f"{measure}: the same value ({Y[0]:.6g}) at every design point, no variance to apportion")
    with warnings.catch_warnings():
        # SALib warns when a bootstrap subset is constant; the wide interval already says so
        warnings.filterwarnings("ignore", message="Constant values encountered", category=UserWarning)
        table = _salib_indices(problem, method, X, Y, second_order, levels)
    table.insert(0, "parameter", names)
    table.insert(0, "measure", measure)
    table["noise_share"] = replicate_noise_share(runs, measure)
    return table


def replicate_noise_share(runs, measure):
    """Share of the variance between design points that replicate noise alone would give.

    A point's mean carries its replicates' variance divided by their number; this
    is the average of that over points, divided by the variance of the point
    means. Near 0 the design explains the spread; near 1 (or above) the indices
    mostly apportion noise. NaN without replicates.
    """
    groups = finished(runs).groupby("point")[measure]
    noise = (groups.var(ddof=1) / groups.count()).mean()
    spread = groups.mean().var(ddof=1)
    return float(noise / spread) if np.isfinite(noise) and spread > 0 else np.nan


def _salib_indices(problem, method, X, Y, second_order, levels):
    if method == "sobol":
        from SALib.analyze import sobol

        second = sobol_second_order(X) if second_order is None else second_order
        result = sobol.analyze(problem, Y, calc_second_order=second, num_resamples=RESAMPLES, conf_level=LEVEL,
                               seed=BOOTSTRAP_SEED)
        columns = {"S1": result["S1"], "S1_conf": result["S1_conf"], "ST": result["ST"], "ST_conf": result["ST_conf"]}
        return _with_bounds(columns, ("S1", "ST"))
    elif method == "morris":
        from SALib.analyze import morris

        result = morris.analyze(problem, X, Y, num_resamples=RESAMPLES, conf_level=LEVEL, num_levels=levels,
                                seed=BOOTSTRAP_SEED)
        columns = {"mu": result["mu"], "mu_star": result["mu_star"], "mu_star_conf": result["mu_star_conf"],
                   "sigma": result["sigma"]}
        return _with_bounds(columns, ("mu_star",))
    raise ValueError(f"sensitivity indices need a sobol or morris design, not {method!r}")


def _with_bounds(columns, estimates):
    """Turn SALib's ``<name>_conf`` half-widths into ``<name>_low`` / ``<name>_high`` columns."""
    table = pd.DataFrame({k: np.asarray(v, float) for k, v in columns.items()})
    for name in estimates:
        half = table.pop(f"{name}_conf")
        table.insert(table.columns.get_loc(name) + 1, f"{name}_low", table[name] - half)
        table.insert(table.columns.get_loc(name) + 2, f"{name}_high", table[name] + half)
    return table


# -- a whole sweep ---------------------------------------------------------------------------------

DEFAULT_MEASURES = ("waste_diverted_share", "mean_active_links", "co2_avoided_t", "government_net_revenue_eur")
MAX_CURVES = 6  # more values of the other parameter than this and the curves are pooled over it


class Analysis(NamedTuple):
    x: str  # swept parameter across the regime map
    y: str | None  # swept parameter up the map; None when only one parameter varies
    measures: list  # measures of the response curves and the sensitivity chart
    regimes: pd.DataFrame  # regime_shares over x (and y)
    curves: dict  # swept parameter -> response_curve table of every measure
    indices: pd.DataFrame | None  # sensitivity_indices of every measure, sobol and morris designs only
    folder: Path  # where the files were written
    notes: list  # what was binned, pooled or skipped, and why
    warnings: list = []  # what makes the indices unreliable, one line each (the CLI prints them on stderr)
    points: pd.DataFrame | None = None  # point_table of a points design


def analyze(results, x=None, y=None, measures=None, out_dir=None):
    """Regime map, response curves and (Sobol, Morris) indices of a sweep's results.

    ``results`` is the store file or its folder; files go to ``out_dir``, by
    default ``<folder>/analysis/``, replaced as a whole (the store itself is only
    read, so an archived store in a read-only folder can be analysed elsewhere). ``x`` and ``y`` default to the first two swept parameters,
    ``measures`` to :data:`DEFAULT_MEASURES` (those the sweep kept); sensitivity
    indices are tabled for every kept measure unless ``measures`` are given, and
    charted for ``measures``.
    """
    from simulation.experiment.store import read_runs, read_sweep, store_file

    store = store_file(results)
    runs, sweep = read_runs(results), read_sweep(results)
    folder = Path(out_dir) if out_dir is not None else store.parent / "analysis"
    check_destination(folder, "analysis", whole=True)
    if sweep.design == "points":  # labelled override sets have no axes to map or curve along
        return _analyze_points(store, runs, sweep, x, y, measures, folder, out_dir)
    parameters = sweep.parameter_names()
    x, y = _chosen_axes(store, parameters, x, y)
    chosen = measures
    measures = _chosen_measures(store, sweep.measures, measures)
    if finished(runs).empty:
        raise ScenarioError(store, "", "no finished run to analyse yet")
    notes = _unfinished_notes(runs) + _binning_notes(runs, [p for p in (x, y) if p])
    regimes = regime_shares(runs, x, y)
    groups = {p: _curve_groups(runs, other) for p, other in ((x, y), (y, x)) if p}
    curves = {p: pd.concat([response_curve(runs, m, p, by=by) for m in measures], ignore_index=True)
              for p, by in groups.items()}
    # the table covers every kept measure unless some were chosen; the chart only the chosen (or default) ones
    indexed = measures if chosen else sweep.measures
    indices = _all_indices(runs, sweep, indexed, notes) if sweep.design in ("sobol", "morris") else None
    warned = index_warnings(sweep, indices) if indices is not None else []
    _claimed(store, folder, out_dir)
    with replaced_folder(folder, "analysis") as staging:
        _write_files(staging, regimes, curves, groups, indices, (x, y), measures, notes)
    return Analysis(x, y, measures, regimes, curves, indices, folder, notes, warned)


def _claimed(store, folder, out_dir):
    if out_dir is None:  # the analysis/ folder becomes one of the sweep folder's own files
        claim(owned_folder(store.parent, "sweep"), folder.name)


# -- points designs --------------------------------------------------------------------------------


def point_table(runs, measures):
    """One row per design point: ``point``, ``label``, ``runs`` planned, ``n`` finished, then for each regime
    ``share_<regime>`` with ``_low`` and ``_high`` (Wilson), and for each measure ``<measure>_mean``, ``_low``,
    ``_high`` (t interval over the point's finished runs; NaN runs of the measure left out)."""
    done = finished(runs)
    rows = []
    for (point, label), planned in runs.groupby(["point", "label"], sort=True):
        arm = done[done["point"] == point]
        row = {"point": point, "label": label, "runs": len(planned), "n": len(arm)}
        counts = arm["regime"].value_counts()
        for regime in REGIMES:
            share = wilson_interval(int(counts.get(regime, 0)), len(arm))
            row.update({f"share_{regime}": share.estimate, f"share_{regime}_low": share.low,
                        f"share_{regime}_high": share.high})
        for measure in measures:
            interval = mean_interval(arm[measure])
            row.update({f"{measure}_mean": interval.estimate, f"{measure}_low": interval.low,
                        f"{measure}_high": interval.high})
        rows.append(row)
    return pd.DataFrame(rows)


def _analyze_points(store, runs, sweep, x, y, measures, folder, out_dir):
    """Per-point tables and a figure of a points design: no axes, so no map, curve or index."""
    for flag, name in (("--x", x), ("--y", y)):
        if name is not None:
            raise ScenarioError(store, flag, "a points design (labelled override sets) has no parameter axes; "
                                             "leave out --x and --y")
    chosen = _chosen_measures(store, sweep.measures, measures)
    if finished(runs).empty:
        raise ScenarioError(store, "", "no finished run to analyse yet")
    table = point_table(runs, sweep.measures)  # the CSV holds every kept measure, the figure the chosen ones
    notes = _unfinished_notes(runs)
    warned = [] if sweep.replicates > 1 else [
        "one replicate per point: no interval can be given for a point's means (set replicates > 1)"]
    _claimed(store, folder, out_dir)
    with replaced_folder(folder, "analysis") as staging:
        from simulation.output.points_figure import points_figure, save

        table.to_csv(staging / "points.csv", index=False)
        save(points_figure(table, chosen, f"{sweep.name}: {len(table)} points"), staging / "points.png")
        (staging / "notes.txt").write_text("".join(f"{n}\n" for n in notes))
    regimes = table[["point", "label", "n", *(c for c in table.columns if c.startswith("share_"))]]
    return Analysis(None, None, chosen, regimes, {}, None, folder, notes, warned, table)


# -- how far the indices can be trusted ------------------------------------------------------------------


def index_warnings(sweep, indices):
    """One line per reason the sensitivity indices may not be stable."""
    warned = []
    few = {"sobol": MIN_SOBOL_SAMPLES, "morris": MIN_MORRIS_TRAJECTORIES}[sweep.design]
    what = "base samples" if sweep.design == "sobol" else "trajectories"
    wide, total = _wide_intervals(indices, sweep.design)
    if sweep.samples < few or wide * 2 > total:
        warned.append(f"{sweep.design} design of {sweep.samples} {what}: too few for stable indices "
                      f"({wide} of {total} indices have a 95% interval wider than the index itself); "
                      f"use samples >= {few}")
    if indices["noise_share"].isna().all():
        why = ("one replicate per design point (replicates = 1), so replicate noise cannot be told from the "
               "parameters' effect" if sweep.replicates < 2 else "the point means do not vary")
        warned.append(f"noise share not computed: {why}; add replicates to measure it")
    return warned


def _wide_intervals(indices, design):
    """How many indices have a confidence half-width larger than their own size, of how many."""
    names = ("S1", "ST") if design == "sobol" else ("mu_star",)
    wide = sum(int(((indices[f"{n}_high"] - indices[f"{n}_low"]) / 2 > indices[n].abs()).sum()) for n in names)
    return wide, len(indices) * len(names)


def _chosen_axes(store, parameters, x, y):
    for flag, name in (("--x", x), ("--y", y)):
        if name is not None and name not in parameters:
            raise ScenarioError(store, flag, f"{name!r} is not a swept parameter (swept: {', '.join(parameters) or 'none'})")
    if not parameters:
        raise ScenarioError(store, "", "the sweep varies no parameter")
    if x is None:
        x = next((p for p in parameters if p != y), parameters[0])
    if y is None:
        y = next((p for p in parameters if p != x), None)
    if x == y:
        raise ScenarioError(store, "--y", f"must differ from --x ({x})")
    return x, y


def _chosen_measures(store, kept, measures):
    if not kept:
        raise ScenarioError(store, "", "the sweep kept no run measures (sweep.measures = []), so there is nothing to analyse")
    if measures is None:
        return [m for m in DEFAULT_MEASURES if m in kept] or list(kept[:3])
    for name in measures:
        if name not in kept:
            raise ScenarioError(store, "--measure", f"{name!r} is not a measure this sweep kept (kept: {', '.join(kept)})")
    return list(dict.fromkeys(measures))


def _curve_groups(runs, other):
    """Draw one curve per value of the other parameter when it has a few values, else pool over it."""
    if other is None or finished(runs)[other].nunique() > MAX_CURVES:
        return None
    return other


def _unfinished_notes(runs):
    counts = runs["status"].value_counts()
    missing = len(runs) - int(counts.get("done", 0))
    if not missing:
        return []
    return [f"{missing} of {len(runs)} planned runs are not in the analysis ({int(counts.get('failed', 0))} failed, "
            f"{int(counts.get('pending', 0))} pending)"]


def _binning_notes(runs, parameters):
    done = finished(runs)
    bins = default_bins(done["point"].nunique(), len(parameters))
    return [f"{p}: {done[p].nunique()} sampled values cut into {bins} equal-width bins (runs pooled over the other "
            f"swept parameters)" for p in parameters if is_binned(done, p)]


def _all_indices(runs, sweep, measures, notes):
    tables = []
    for measure in measures:
        try:
            table = sensitivity_indices(runs, sweep.problem(), sweep.design, measure,
                                        second_order=sweep.second_order if sweep.design == "sobol" else None,
                                        levels=sweep.levels)
        except ValueError as exc:  # a point with no finished run, or a measure undefined there
            notes.append(f"sensitivity indices skipped: {exc}")
            continue
        tables.append(table)
    if not tables:
        return None
    indices = pd.concat(tables, ignore_index=True)
    noisy = indices.drop_duplicates("measure").query("noise_share > @NOISY")
    if len(noisy):
        listed = ", ".join(f"{r.measure} {r.noise_share:.0%}" for r in noisy.itertuples())
        notes.append(f"replicate noise alone would give this share of the variance between design points: {listed}; "
                     f"above {NOISY:.0%} the indices largely apportion noise (add replicates, or fix what the seed "
                     f"redraws, e.g. park.layout_seed)")
    return indices


def _write_files(folder, regimes, curves, groups, indices, axes, measures, notes):
    from simulation.output.sweep_figures import (
        indices_figure,
        regime_curve_figure,
        regime_map_figure,
        response_figure,
        save,
    )

    x, y = axes
    note = "; ".join(n for n in notes if "bins" in n)
    regimes.to_csv(folder / "regime_shares.csv", index=False)
    if y is None:
        save(regime_curve_figure(regimes, x, note), folder / "regime_shares.png")
    else:
        save(regime_map_figure(regimes, x, y, note), folder / "regime_map.png")
    for parameter, table in curves.items():
        stem = f"response_{_file_name(parameter)}"
        table.to_csv(folder / f"{stem}.csv", index=False)
        save(response_figure(table, parameter, groups[parameter]), folder / f"{stem}.png")
    if indices is not None:
        indices.to_csv(folder / "sensitivity.csv", index=False)
        charted = indices[indices["measure"].isin(measures)]
        if not charted.empty:
            save(indices_figure(charted), folder / "sensitivity.png")
    (folder / "notes.txt").write_text("".join(f"{n}\n" for n in notes))


def _file_name(parameter):
    return parameter.replace(".", "_")


def format_analysis(analysis):
    """A printed summary: regime shares at the extremes, the indices, the notes and the files."""
    if analysis.points is not None:
        return _format_points(analysis)
    regimes, x, y = analysis.regimes, analysis.x, analysis.y
    lines = [f"regime shares over {x}" + (f" and {y}" if y else "") + f" ({len(regimes)} cells, "
             f"{int(regimes['n'].sum())} finished runs):"]
    for regime in REGIMES:
        column = regimes[f"share_{regime}"]
        best = regimes.loc[column.idxmax()]
        where = ", ".join(f"{k}={best[k]:.4g}" for k in (x, y) if k)
        lines.append(f"  {regime:<10} mean over cells {column.mean():.0%}, highest {column.max():.0%}" + (f" at {where}" if column.max() > 0 else ""))
    if analysis.indices is not None:
        shown = analysis.indices[analysis.indices["measure"].isin(analysis.measures)]
        lines += [f"sensitivity indices with 95% CI (all {analysis.indices['measure'].nunique()} measures in sensitivity.csv):",
                  _indent(shown.to_string(index=False, float_format="%.3f"))]
    lines += [f"note: {n}" for n in analysis.notes]
    files = sorted(p.name for p in analysis.folder.iterdir())
    lines.append(f"written to {analysis.folder}/: {', '.join(files)}")
    return "\n".join(lines)


def _format_points(analysis):
    """Each point's finished runs, regimes and chosen measures (mean [95% CI]), then the notes and the files."""
    from simulation.experiment.compare import short_number

    def estimate(row, measure):
        mean, low, high = (row[f"{measure}_{k}"] for k in ("mean", "low", "high"))
        if np.isnan(mean):
            return "n/a"
        return short_number(mean) + ("" if np.isnan(low) else f" [{short_number(low)}, {short_number(high)}]")

    header = ["point", "runs", "regimes", *analysis.measures]
    rows = [header]
    for row in analysis.points.to_dict("records"):
        shares = ", ".join(f"{r} {row[f'share_{r}']:.0%}" for r in REGIMES if row[f"share_{r}"] > 0) or "-"
        rows.append([str(row["label"]), f"{row['n']}/{row['runs']}", shares, *(estimate(row, m) for m in analysis.measures)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [f"{len(analysis.points)} points (mean and 95% CI over each point's finished runs; every kept measure "
             f"in points.csv):"]
    lines += ["  " + "  ".join(text.ljust(w) for text, w in zip(r, widths)).rstrip() for r in rows]
    lines += [f"note: {n}" for n in analysis.notes]
    lines.append(f"written to {analysis.folder}/: {', '.join(sorted(p.name for p in analysis.folder.iterdir()))}")
    return "\n".join(lines)


def _indent(text):
    return "\n".join(f"  {line}" for line in text.splitlines())
