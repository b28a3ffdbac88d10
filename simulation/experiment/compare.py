"""Policy packages against the baseline, with 95% confidence intervals over replicates.

A *policy package* is a named set of scenario overrides (``policy.landfill_tax_eur_per_t=80``
...). :func:`compare` runs the baseline scenario and every package as the
design points of one sweep (same replicates, same master seed) and
:func:`comparison_table` turns the runs into one tidy table, a row per
(package, quantity):

* totals over the run, mean per run: waste diverted (t), CO2 avoided (t),
  firms' savings (EUR), the government's net revenue (EUR, + = the state gains:
  taxes collected minus subsidies paid) — t intervals;
* the same *relative to the baseline* (``extra_...``): the package's mean minus
  the baseline's — a t interval on per-replicate differences when replicates
  are paired (replicate r of every package has the baseline's seed r), Welch's
  interval otherwise;
* cost to government per tonne of CO2 avoided and per tonne diverted, defined
  as the government's extra net cost (its lost net revenue) / extra CO2 avoided
  (resp. extra waste diverted), both relative to the baseline: what each
  additional tonne costs the public purse (+ = the state pays). It is
  *estimable* only when the package clearly changes the tonnes (the
  denominator's interval excludes zero); otherwise Fieller's interval is
  unbounded (:mod:`simulation.measures.intervals`) and ``estimable`` is false;
* the share of runs in each regime (none, formed, persisted, collapsed; they
  sum to 1) — Wilson intervals.

Only finished runs count; ``n`` says how many.

A comparison can grow: one more package or replicate runs only the new runs and
takes the finished ones over from the comparisons of the same scenario already
in the results folder (:mod:`simulation.experiment.reuse`); the seeds of
replicate r do not depend on how many replicates or packages there are.
"""

import hashlib
import json
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from simulation.errors import ScenarioError
from simulation.experiment.runs import run_sweep
from simulation.experiment.store import FILE_NAME
from simulation.experiment.sweep import PlannedRun, Sweep, assignments, child_seed
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
    "government_net_revenue_eur": ("government_net_revenue_eur", "EUR", "government net revenue (+ = the state gains)"),
}
EXTRAS = {
    "extra_waste_diverted_t": ("waste_diverted_t", "t", "extra waste diverted vs baseline"),
    "extra_co2_avoided_t": ("co2_avoided_t", "t", "extra CO2 avoided vs baseline"),
    "extra_government_revenue_eur": ("government_net_revenue_eur", "EUR",
                                     "extra government net revenue vs baseline (+ = the state gains)"),
}
# quantity -> (denominator measure, unit, label): the government's extra net cost / extra denominator
RATIOS = {
    "government_cost_per_t_co2_avoided_eur": ("co2_avoided_t", "EUR/t",
                                              "government cost per extra t CO2 avoided (+ = the state pays)"),
    "government_cost_per_t_diverted_eur": ("waste_diverted_t", "EUR/t",
                                           "government cost per extra t diverted (+ = the state pays)"),
}
SHARES = {f"share_{regime}": ("share", f"share of runs: {regime}") for regime in REGIMES}
REVENUE = "government_net_revenue_eur"
COLUMNS = ["package", "quantity", "label", "unit", "estimate", "ci_low", "ci_high", "n", "method", "estimable"]
QUANTITIES = [*TOTALS, *EXTRAS, *RATIOS, *SHARES]
# The extra of a ratio's denominator, whose interval says whether the ratio can be quoted.
DENOMINATOR = {ratio: next(q for q, (m, _, _) in EXTRAS.items() if m == measure) for ratio, (measure, _, _) in RATIOS.items()}


class Comparison(NamedTuple):
    table: pd.DataFrame  # tidy: one row per (package, quantity), see COLUMNS
    runs: pd.DataFrame  # the sweep's runs table
    folder: Path  # where the store, comparison.csv, comparison.png and comparison.md are
    ran: int = 0  # runs made this time
    reused: int = 0  # finished runs taken over from an earlier comparison


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
    ``SeedSequence(seed).spawn(replicates)``, which does not depend on how many
    replicates there are: a comparison with more replicates or packages plans
    every run of a smaller one. The store keeps each run's seed, so resuming and
    reading see the same seeds.
    """

    def runs(self, points=None):
        points = self.points() if points is None else points
        seeds = [child_seed(self.seed, r) for r in range(self.replicates)]
        return [PlannedRun(p.point * self.replicates + r, p.point, p.label, r, seeds[r], p.overrides)
                for p in points for r in range(self.replicates)]

    def fingerprint(self, base_hash):  # not the same experiment as the sweep with a seed per run
        return super().fingerprint(f"{base_hash} paired")


def compare(scenario_path, policies, replicates=10, seed=None, years=None, workers=None, out_dir=None, progress=True,
            command=""):
    """Run the baseline and every policy package ``replicates`` times and compare them.

    ``policies`` maps a package name to its overrides ``{dotted path: value}``.
    ``seed`` is the master seed of the replicates (default the scenario's seed).
    Results go to ``out_dir`` (default :func:`default_folder`): the sweep store,
    ``comparison.csv``, ``comparison.png`` and the brief ``comparison.md``. Finished
    runs of this comparison, or of another of the same scenario in the same parent
    folder, are taken over rather than run again.
    """
    packages = {name: dict(overrides) for name, overrides in policies.items()}
    baseline = check_packages(scenario_path, packages, years)
    seed = baseline.spec.scenario.seed if seed is None else seed
    sweep = sweep_of_points(_stem(baseline.name)[:92] + "_compare", Path(scenario_path),
                            [(BASELINE, {}), *packages.items()], replicates, seed, years=years)
    folder = Path(out_dir) if out_dir is not None else default_folder(baseline.name, packages, seed, years)
    paired = PairedSweep(**dict(sweep)).with_snapshot(sweep.snapshot, sweep.sizes)
    runs = run_sweep(paired, out_dir=folder, workers=workers, resume=True, progress=progress, command=command,
                     reuse=earlier_comparisons(folder, baseline.name))
    table = comparison_table(runs)
    title = f"{baseline.name}: policy packages against the baseline, {replicates} replicates"
    write_comparison(table, folder, title, brief(table, runs, baseline, packages, seed, folder))
    return Comparison(table, runs, folder, runs.attrs.get("ran", 0), runs.attrs.get("carried", 0))


def _stem(name):
    return re.sub(r"[^\w.-]", "_", name)  # a folder name, whatever the scenario's name


def default_folder(scenario_name, packages, seed, years):
    """``results/<scenario>_compare_<package names>_<hash>``: one folder per set of packages, seed and length.

    The hash covers what the packages set, so two comparisons whose packages share
    names but not settings do not collide; the number of replicates is left out, so
    more replicates grow the same comparison.
    """
    names = "+".join(sorted(packages))
    names = names if len(names) <= 60 else names[:57] + "..."
    settings = json.dumps([sorted(packages.items()), seed, years], sort_keys=True)
    digest = hashlib.sha256(settings.encode()).hexdigest()[:8]
    return Path("results") / f"{_stem(scenario_name)}_compare_{names}_{digest}"


def earlier_comparisons(folder, scenario_name):
    """Stores whose finished runs a comparison in ``folder`` may take over: its own, and its siblings'
    named as comparisons of the same scenario (:func:`simulation.experiment.reuse.same_experiment` decides)."""
    siblings = sorted(folder.parent.glob(f"{_stem(scenario_name)}_compare*/{FILE_NAME}")) if folder.parent.is_dir() else []
    return [folder / FILE_NAME, *(s for s in siblings if s.parent != folder)]


def write_comparison(table, folder, title, text):
    """``comparison.csv``, ``comparison.png`` and the brief ``comparison.md`` in ``folder``, each replaced atomically."""
    from simulation.output.sweep_figures import comparison_figure, save

    with added_file(folder, "comparison.csv") as staging:
        table.to_csv(staging, index=False)
    with added_file(folder, "comparison.png") as staging:
        save(comparison_figure(table, [*TOTALS, *EXTRAS, *RATIOS], title, note=FIGURE_NOTE), staging)
    with added_file(folder, "comparison.md") as staging:
        staging.write_text(text, encoding="utf-8")


FIGURE_NOTE = (
    "Dots: mean over replicates; lines: 95% confidence intervals (t for means, Wilson for shares, Fieller for ratios). "
    "Extra = package minus baseline, replicate by replicate (same seeds).\n"
    "Government net revenue = taxes collected - subsidies paid (+ = the state gains); cost per extra t = the government's "
    "lost net revenue / extra t (+ = the state pays), not estimable when the extra t's interval contains zero."
)


def brief(table, runs, baseline, packages, seed, folder):
    from simulation.experiment.brief import comparison_brief

    return comparison_brief(table, runs, baseline, packages, seed, folder)


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


def _row(package, quantity, label, unit, interval, method, estimable=None):
    estimable = not np.isnan(interval.estimate) if estimable is None else estimable
    return [package, quantity, label, unit, interval.estimate, interval.low, interval.high, interval.n, method, estimable]


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
    extras = {row[1]: row for row in rows}
    for quantity, (measure, unit, label) in RATIOS.items():
        # the government's extra net cost is its lost net revenue
        if matched is not None:
            interval = paired_ratio_interval(matched[f"{REVENUE}_base"] - matched[REVENUE],
                                             matched[measure] - matched[f"{measure}_base"])
            method = "Fieller, paired"
        else:
            interval = unpaired_ratio_interval((-arm[REVENUE], arm[measure]), (-base[REVENUE], base[measure]))
            method = "Fieller, unpaired"
        rows.append(_row(package, quantity, label, unit, interval, method, _clear(extras[DENOMINATOR[quantity]])))
    return rows


def _clear(row):
    """Whether an effect's interval (a table row) excludes zero: only then is a ratio over it estimable."""
    low, high = row[COLUMNS.index("ci_low")], row[COLUMNS.index("ci_high")]
    return bool(low > 0 or high < 0)


# -- printing -------------------------------------------------------------------------

NOT_ESTIMABLE = "not estimable"
# The printed table: a few effects per package; every quantity is in comparison.csv.
PRINTED = {
    "extra_waste_diverted_t": "waste diverted, t",
    "extra_co2_avoided_t": "CO2 avoided, t",
    "extra_government_revenue_eur": "state net revenue, EUR",
    "government_cost_per_t_co2_avoided_eur": "state cost per t CO2, EUR/t",
}


def format_table(table):
    """The baseline's totals on one line, then one row per package: its main effects with 95% CIs, and its regimes."""
    packages = [p for p in dict.fromkeys(table["package"]) if p != BASELINE]
    cells = {(r.package, r.quantity): r for r in table.itertuples()}
    base = [cells[(BASELINE, q)] for q in TOTALS if (BASELINE, q) in cells and q != "savings_eur"]
    lines = [f"{BASELINE} (mean per run, 95% CI): " + "; ".join(f"{r.label} {cell(r, signed=False)} {r.unit}" for r in base)
             + f"; {regimes(table, BASELINE)}"]
    if not packages:
        return lines[0]
    rows = [["package", *PRINTED.values(), "regimes"]]
    rows += [[p, *(cell(cells[(p, q)]) for q in PRINTED), regimes(table, p)] for p in packages]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines.append("effects against the baseline (package minus baseline, same seeds; 95% CI):")
    lines += ["  " + "  ".join(text.ljust(w) for text, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def regimes(table, package):
    """``persisted 3, collapsed 1 of 4`` for one package: the regimes its runs ended in."""
    shares = table[(table["package"] == package) & table["quantity"].isin(list(SHARES))]
    if shares.empty or shares["n"].iloc[0] == 0:
        return "no finished run"
    n = int(shares["n"].iloc[0])
    counts = [f"{q.removeprefix('share_')} {round(s * n)}" for q, s in zip(shares["quantity"], shares["estimate"]) if s > 0]
    return ", ".join(counts) + f" of {n}"


def cell(row, signed=True):
    """``estimate [low, high]`` of a table row, in short numbers; "not estimable" for a ratio over an unclear effect."""
    number = _percent if row.unit == "share" else (lambda v: short_number(v, signed))
    if not row.estimable:
        return NOT_ESTIMABLE if row.quantity in RATIOS else "n/a"
    if np.isnan(row.ci_low) or np.isnan(row.ci_high):
        return number(row.estimate)
    return f"{number(row.estimate)} [{number(row.ci_low)}, {number(row.ci_high)}]"


def _percent(value):
    return f"{value:.0%}"


def short_number(value, signed=False):
    """Three significant figures with k, M or G: ``+1.23M``, ``-450``, ``12.3k``."""
    sign = "+" if signed and value > 0 else ""
    for suffix, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size * 0.9995:
            return f"{sign}{value / size:.3g}{suffix}"
    return f"{sign}{value:.3g}"
