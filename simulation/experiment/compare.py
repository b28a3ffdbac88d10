"""Policy packages against the baseline, with 95% confidence intervals over replicates.

A *policy package* is a named set of scenario overrides (``policy.landfill_tax_eur_per_t=80``
...). :func:`compare` runs the baseline scenario and every package as the
design points of one sweep (same replicates, same master seed) and
:func:`comparison_table` turns the runs into one tidy table, a row per
(package, quantity):

* totals over the run, mean per run: waste diverted (t), CO2 avoided (t),
  firms' savings (EUR), government net cost (EUR) — t intervals;
* the same *relative to the baseline* (``extra_...``): the package's mean minus
  the baseline's — a t interval on per-replicate differences when replicates
  are paired (replicate r of every package has the baseline's seed r), Welch's
  interval otherwise;
* cost to government per tonne of CO2 avoided and per tonne diverted, defined
  as extra government net cost / extra CO2 avoided (resp. extra waste diverted),
  both relative to the baseline: what each additional tonne costs the public
  purse. A package that avoids less CO2 than the baseline has a negative
  ratio; when the extra tonnes are not distinguishable from zero the interval is
  unbounded (Fieller's interval, see :mod:`simulation.measures.intervals`);
* the share of runs in each regime (none, formed, persisted, collapsed; they
  sum to 1) — Wilson intervals.

Only finished runs count; ``n`` says how many.
"""

import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from simulation.errors import ScenarioError
from simulation.experiment.runs import run_sweep
from simulation.experiment.sweep import PlannedRun, Sweep, assignments
from simulation.experiment.sweep_file import sweep_of_points
from simulation.measures.intervals import (
    difference_interval,
    mean_interval,
    paired_ratio_interval,
    unpaired_ratio_interval,
    wilson_interval,
)
from simulation.measures.outcome import REGIMES
from simulation.output.files import added_file
from simulation.scenario.loader import _parse_value, load

BASELINE = "baseline"
# quantity -> (run measure, unit, label for people)
TOTALS = {
    "waste_diverted_t": ("waste_diverted_t", "t", "waste diverted"),
    "co2_avoided_t": ("co2_avoided_t", "t", "CO2 avoided"),
    "savings_eur": ("savings_eur", "EUR", "firms' savings"),
    "government_net_cost_eur": ("government_net_cost_eur", "EUR", "government net cost"),
}
EXTRAS = {
    "extra_waste_diverted_t": ("waste_diverted_t", "t", "extra waste diverted vs baseline"),
    "extra_co2_avoided_t": ("co2_avoided_t", "t", "extra CO2 avoided vs baseline"),
    "extra_government_cost_eur": ("government_net_cost_eur", "EUR", "extra government cost vs baseline"),
}
# quantity -> (denominator measure, unit, label): extra government net cost / extra denominator
RATIOS = {
    "government_cost_per_t_co2_avoided_eur": ("co2_avoided_t", "EUR/t", "government cost per extra t CO2 avoided"),
    "government_cost_per_t_diverted_eur": ("waste_diverted_t", "EUR/t", "government cost per extra t diverted"),
}
SHARES = {f"share_{regime}": ("share", f"share of runs: {regime}") for regime in REGIMES}
COST = "government_net_cost_eur"
COLUMNS = ["package", "quantity", "label", "unit", "estimate", "ci_low", "ci_high", "n", "method"]
QUANTITIES = [*TOTALS, *EXTRAS, *RATIOS, *SHARES]


class Comparison(NamedTuple):
    table: pd.DataFrame  # tidy: one row per (package, quantity), see COLUMNS
    runs: pd.DataFrame  # the sweep's runs table
    folder: Path  # where the store, comparison.csv and comparison.png are


# -- policy packages --------------------------------------------------------------

# A comma starts a new assignment only when a dotted path and "=" follow, so list
# values such as schedules ``[[0, 10], [60, 40]]`` keep their commas.
_NEXT_ASSIGNMENT = re.compile(r",\s*(?=[A-Za-z_][\w.\-]*\s*=)")
_NAME = re.compile(r"^[A-Za-z0-9][\w.\-]*$")
POLICY_SYNTAX = "NAME:PATH=VALUE[,PATH=VALUE...], e.g. tax80:policy.landfill_tax_eur_per_t=80"


def parse_policy(text):
    """``NAME:PATH=VALUE[,PATH=VALUE...]`` -> (name, {path: value}), values read as ``--set`` reads them."""
    where = f"--policy {text!r}"
    name, colon, body = text.partition(":")
    name = name.strip()
    if not colon or not name:
        raise ScenarioError(where, "", f"a policy package needs a name before ':' ({POLICY_SYNTAX})")
    check_name(name, where)
    overrides = {}
    for assignment in _NEXT_ASSIGNMENT.split(body.strip()) if body.strip() else []:
        path, equals, value = assignment.partition("=")
        if not equals or not path.strip() or not value.strip():
            raise ScenarioError(where, path.strip(), f"expected PATH=VALUE, got {assignment!r} ({POLICY_SYNTAX})")
        if path.strip() in overrides:
            raise ScenarioError(where, path.strip(), "set twice in one package")
        try:
            overrides[path.strip()] = _parse_value(value.strip(), path.strip())
        except ScenarioError as exc:
            raise ScenarioError(where, exc.field, exc.problem) from None
    if not overrides:
        raise ScenarioError(where, "", f"package {name!r} sets nothing ({POLICY_SYNTAX})")
    return name, overrides


def check_name(name, where):
    if not _NAME.match(name):
        raise ScenarioError(where, "", f"package name {name!r} must be letters, digits, '_', '-' or '.' ({POLICY_SYNTAX})")
    if name == BASELINE:
        raise ScenarioError(where, "", f"{BASELINE!r} is the scenario as it is; give the package another name")


def parse_policies(texts):
    """Several ``--policy`` texts -> {name: {path: value}}, names unique."""
    packages = {}
    for text in texts:
        name, overrides = parse_policy(text)
        if name in packages:
            raise ScenarioError(f"--policy {text!r}", "", f"package name {name!r} is used twice")
        packages[name] = overrides
    return packages


def check_packages(scenario_path, packages, years=None):
    """Load the scenario with every package applied, so a bad name, path or value stops us before any run.

    Returns the scenario as it is (the baseline).
    """
    baseline = load(scenario_path, years=years)  # errors in the scenario itself name the scenario file
    for name, overrides in packages.items():
        check_name(name, f"policy package {name!r}")
        if not overrides:
            raise ScenarioError(f"policy package {name!r}", "", "sets nothing")
        try:
            load(scenario_path, assignments(overrides), years=years)
        except ScenarioError as exc:
            raise ScenarioError(f"policy package {name!r}", exc.field, f"{exc.problem} (in {scenario_path})") from None
    return baseline


# -- running ----------------------------------------------------------------------------


class PairedSweep(Sweep):
    """A sweep on common random numbers: replicate r of every design point runs with the same seed.

    Policy packages then differ only by their policy, not by the park drawn or
    the demand noise, so per-replicate differences are far less noisy than
    differences of means. The seed of replicate r comes from child r of
    ``SeedSequence(seed).spawn(replicates)``; the store keeps each run's seed,
    so resuming and reading see the same seeds.
    """

    def runs(self, points=None):
        points = self.points() if points is None else points
        children = np.random.SeedSequence(self.seed).spawn(self.replicates)
        seeds = [int(child.generate_state(1)[0]) for child in children]
        return [PlannedRun(p.point * self.replicates + r, p.point, p.label, r, seeds[r], p.overrides)
                for p in points for r in range(self.replicates)]

    def fingerprint(self, base_hash):  # not the same experiment as the sweep with a seed per run
        return super().fingerprint(f"{base_hash} paired")


def compare(scenario_path, policies, replicates=10, seed=None, years=None, workers=None, out_dir=None, progress=True,
            command=""):
    """Run the baseline and every policy package ``replicates`` times and compare them.

    ``policies`` maps a package name to its overrides ``{dotted path: value}``.
    ``seed`` is the master seed of the replicates (default the scenario's seed).
    Results go to ``out_dir`` (default ``results/<scenario>_compare/``): the
    sweep store, ``comparison.csv`` and ``comparison.png``.
    """
    packages = {name: dict(overrides) for name, overrides in policies.items()}
    baseline = check_packages(scenario_path, packages, years)
    seed = baseline.spec.scenario.seed if seed is None else seed
    name = re.sub(r"[^\w.-]", "_", baseline.name) + "_compare"  # a folder name, whatever the scenario's name
    sweep = sweep_of_points(name, Path(scenario_path), [(BASELINE, {}), *packages.items()],
                              replicates, seed, years=years)
    folder = Path(out_dir) if out_dir is not None else Path("results") / sweep.name
    # resume: the same comparison run again reuses its finished runs; a different one into the same folder is refused
    paired = PairedSweep(**dict(sweep)).with_snapshot(sweep.snapshot, sweep.sizes)
    runs = run_sweep(paired, out_dir=folder, workers=workers, resume=True, progress=progress, command=command)
    table = comparison_table(runs)
    write_comparison(table, folder, f"{baseline.name}: policy packages against the baseline, {replicates} replicates")
    return Comparison(table, runs, folder)


def write_comparison(table, folder, title):
    """``comparison.csv`` and ``comparison.png`` in ``folder``, each replaced atomically."""
    from simulation.output.sweep_figures import comparison_figure, save

    with added_file(folder, "comparison.csv") as staging:
        table.to_csv(staging, index=False)
    with added_file(folder, "comparison.png") as staging:
        save(comparison_figure(table, [*TOTALS, *EXTRAS, *RATIOS], title, note=FIGURE_NOTE), staging)


FIGURE_NOTE = (
    "Dots: mean over replicates; lines: 95% confidence intervals (t for means, Wilson for shares, Fieller for ratios). "
    "Extra = package minus baseline, replicate by replicate (same seeds).\n"
    "Government cost per extra t = extra government net cost / extra t; negative when the package earns the government "
    "money or avoids fewer tonnes. Net cost = subsidies paid - taxes collected."
)


# -- the table ----------------------------------------------------------------------


def comparison_table(runs, baseline=BASELINE):
    """Tidy comparison of every package in ``runs`` (a sweep runs table) with ``baseline``."""
    done = runs[runs["status"] == "done"]
    if baseline not in set(runs["label"]):
        raise ValueError(f"no runs labelled {baseline!r}")
    base = done[done["label"] == baseline]
    rows = []
    for package in _labels_in_order(runs):
        arm = done[done["label"] == package]
        rows += _total_rows(package, arm)
        if package != baseline:
            rows += _relative_rows(package, arm, base)
        rows += _share_rows(package, arm)
    return pd.DataFrame(rows, columns=COLUMNS)


def _labels_in_order(runs):
    return list(runs.sort_values("point").drop_duplicates("label")["label"])


def _row(package, quantity, label, unit, interval, method):
    return [package, quantity, label, unit, interval.estimate, interval.low, interval.high, interval.n, method]


def _total_rows(package, arm):
    return [_row(package, q, label, unit, mean_interval(arm[measure]), "t") for q, (measure, unit, label) in TOTALS.items()]


def _share_rows(package, arm):
    counts = arm["regime"].value_counts()
    return [_row(package, q, label, unit, wilson_interval(int(counts.get(q.removeprefix("share_"), 0)), len(arm)), "Wilson")
            for q, (unit, label) in SHARES.items()]


def paired_replicates(arm, base):
    """Arm and baseline runs matched by replicate, or None unless every matched pair shares its seed."""
    matched = arm.merge(base, on="replicate", suffixes=("", "_base"))
    if len(matched) == 0 or not (matched["seed"] == matched["seed_base"]).all():
        return None
    return matched


def _relative_rows(package, arm, base):
    matched = paired_replicates(arm, base)
    rows = []
    for quantity, (measure, unit, label) in EXTRAS.items():
        if matched is not None:
            interval, method = mean_interval(matched[measure] - matched[f"{measure}_base"]), "paired t"
        else:
            interval, method = difference_interval(arm[measure], base[measure]), "Welch t"
        rows.append(_row(package, quantity, label, unit, interval, method))
    for quantity, (measure, unit, label) in RATIOS.items():
        if matched is not None:
            interval = paired_ratio_interval(matched[COST] - matched[f"{COST}_base"], matched[measure] - matched[f"{measure}_base"])
            method = "Fieller, paired"
        else:
            interval = unpaired_ratio_interval((arm[COST], arm[measure]), (base[COST], base[measure]))
            method = "Fieller, unpaired"
        rows.append(_row(package, quantity, label, unit, interval, method))
    return rows


# -- printing -------------------------------------------------------------------------


def format_table(table):
    """Quantities down, packages across, each cell ``estimate [low, high]``."""
    packages = list(dict.fromkeys(table["package"]))
    quantities = [q for q in QUANTITIES if q in set(table["quantity"])]
    cells = {(r.package, r.quantity): _cell(r) for r in table.itertuples()}
    labels = {r.quantity: f"{r.label} ({r.unit})" if r.unit != "share" else r.label for r in table.itertuples()}
    lines = [["", *packages]]
    lines += [[labels[q], *(cells.get((p, q), "") for p in packages)] for q in quantities]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(text.ljust(w) if i == 0 else text.rjust(w) for i, (text, w) in enumerate(zip(line, widths)))
                     for line in lines)


def _cell(row):
    number = _percent if row.unit == "share" else _number
    if np.isnan(row.estimate):
        return "n/a"
    if np.isinf(row.ci_low) or np.isinf(row.ci_high):
        return f"{number(row.estimate)} [unbounded]"
    if np.isnan(row.ci_low):
        return number(row.estimate)
    return f"{number(row.estimate)} [{number(row.ci_low)}, {number(row.ci_high)}]"


def _percent(value):
    return f"{value:.0%}"


def _number(value):
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
