"""Reading a sweep file: the TOML read, its parameters flattened, and every value checked before any run.

A sweep file names a base scenario and the parameters to vary
(:mod:`simulation.experiment.sweep` holds the design it becomes); every listed
value is checked against the base scenario, and a sweep that would plan more than
``MAX_PLANNED_RUNS`` runs is refused before its design is built, so that a bad
sweep fails at once with one line naming the file and the field.
"""

from pathlib import Path

from simulation.errors import ScenarioError
from simulation.experiment.sweep import (
    DESIGNS,
    MAX_PLANNED_RUNS,
    SAMPLED,
    SPEC_KEYS,
    Sweep,
    SweepFile,
    assignments,
)
from simulation.measures.summary import RENAMED, RUN_MEASURES
from simulation.model.workload import firm_count
from simulation.scenario.loader import _validate
from simulation.scenario.snapshot import Snapshot, read_toml


def load_sweep(path):
    """Read and check a sweep file; raises ScenarioError naming the file and the field."""
    path = Path(path)
    raw = read_toml(path)
    sweep_table = raw.get("sweep")
    if isinstance(sweep_table, dict) and isinstance(sweep_table.get("base"), str):
        base = path.parent / sweep_table["base"]
    else:
        base = None  # validation below names the missing or malformed field
    if isinstance(raw.get("parameters"), dict):
        raw["parameters"] = _flatten(raw["parameters"], path)
    return _checked(raw, path, base)


def sweep_of_points(name, base, points, replicates, seed, measures=None, keep_series=False, base_overrides=(), years=None):
    """A sweep over labelled override sets, e.g. ``[("baseline", {}), ("tax", {"policy.landfill_tax_eur_per_t": 80})]``,
    checked as a sweep file would be."""
    raw = {
        "sweep": {"name": name, "base": str(base), "set": list(base_overrides), "years": years, "design": "points",
                  "replicates": replicates, "seed": seed, "measures": measures, "keep_series": keep_series},
        "points": [{"label": label, "set": dict(overrides)} for label, overrides in points],
    }
    return _checked(raw, f"sweep {name!r}", Path(base))


def _flatten(table, path, prefix=""):
    """Parameters by dotted path, whether written as quoted keys or as nested tables."""
    flat = {}
    for key, value in table.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and not (value.keys() & SPEC_KEYS):
            flat.update(_flatten(value, path, dotted))
        elif isinstance(value, list):
            flat[dotted] = {"values": value}
        elif isinstance(value, dict):
            flat[dotted] = value
        else:
            raise ScenarioError(path, f"parameters.{dotted}", f"expected a list of values or {{ range = [low, high] }}, got {value!r}")
    return flat


def _checked(raw, path, base):
    try:
        spec = _validate(SweepFile, raw, path, "")
    except ScenarioError as exc:  # the scenario checker points at the parameter list; sweep fields are described here
        raise ScenarioError(path, exc.field, exc.problem.replace("docs/odd.md", "the sweep file format in simulation/experiment/sweep.py")) from None
    settings = spec.sweep
    _check_design(spec, path)
    measures = settings.measures if settings.measures is not None else list(RUN_MEASURES)
    for i, name in enumerate(measures):
        if name in RENAMED:
            raise ScenarioError(path, f"sweep.measures[{i}]", f"{name!r} is now {RENAMED[name][0]!r} "
                                                               f"(its sign flipped: + = the state gains)")
        if name not in RUN_MEASURES:
            raise ScenarioError(path, f"sweep.measures[{i}]", f"unknown measure {name!r} (known: {', '.join(RUN_MEASURES)})")
    if not base.is_file():
        raise ScenarioError(path, "sweep.base", f"base scenario {base} not found")
    sweep = Sweep(name=settings.name, base=base, base_overrides=settings.set, design=settings.design,
                  parameters=spec.parameters, point_sets=spec.points, samples=settings.samples or 0,
                  second_order=settings.second_order, levels=settings.levels, replicates=settings.replicates,
                  seed=settings.seed, measures=measures, keep_series=settings.keep_series, years=settings.years,
                  description=settings.description)
    _check_size(sweep, path)
    return checked_files(sweep, path)


def checked_files(sweep, where):
    """``sweep`` with the snapshot of its files it runs, taken while its base and each value are checked."""
    snapshot = Snapshot()
    scenarios = _check_base(sweep, where, snapshot)
    return sweep.with_snapshot(snapshot, [(firm_count(s), s.periods) for s in scenarios])


def _check_size(sweep, path):
    points = sweep.n_points()
    if points * sweep.replicates > MAX_PLANNED_RUNS:
        raise ScenarioError(path, "sweep", f"plans {points * sweep.replicates:,} runs ({points:,} design points x "
                                           f"{sweep.replicates:,} replicates); a sweep may plan at most "
                                           f"{MAX_PLANNED_RUNS:,}: use fewer values, samples or replicates, or split it")


def _check_design(spec, path):
    settings = spec.sweep
    design = settings.design
    if design not in DESIGNS:
        raise ScenarioError(path, "sweep.design", f"unknown design {design!r} (known: {', '.join(DESIGNS)})")
    if design == "points":
        if not spec.points:
            raise ScenarioError(path, "points", "a points design needs at least one [[points]] table with a label")
        if spec.parameters:
            raise ScenarioError(path, "parameters", "a points design lists its values in [[points]]; remove [parameters]")
        labels = [p.label for p in spec.points]
        for i, label in enumerate(labels):
            if label in labels[:i]:
                raise ScenarioError(path, f"points[{i}].label", f"duplicate label {label!r}")
        return
    if spec.points:
        raise ScenarioError(path, "points", f"[[points]] belong to a points design, not {design!r}")
    if not spec.parameters:
        raise ScenarioError(path, "parameters", "no parameter to vary: add [parameters] with at least one dotted path")
    for name, parameter in spec.parameters.items():
        where = f"parameters.{name}"
        if design == "grid" and parameter.range is not None and parameter.steps is None:
            raise ScenarioError(path, where, "a grid over a range needs steps = N (values spread evenly from low to high)")
        if design in SAMPLED and parameter.range is None:
            raise ScenarioError(path, where, f"a {design} design samples from ranges: give range = [low, high]")
        if design in SAMPLED and parameter.steps is not None:
            raise ScenarioError(path, f"{where}.steps", f"steps is for grid designs; a {design} design draws {settings.samples or 'samples'} values")
    if design in SAMPLED:
        if settings.samples is None:
            raise ScenarioError(path, "sweep.samples", f"a {design} design needs samples = N")
        if design == "sobol" and settings.samples & (settings.samples - 1):
            raise ScenarioError(path, "sweep.samples", f"a sobol design needs a power of 2, got {settings.samples}")
    elif settings.samples is not None:
        raise ScenarioError(path, "sweep.samples", f"samples is for lhs, sobol and morris designs, not {design!r}")


def _check_base(sweep, path, files):
    """Load the base scenario, and each parameter value on its own, before any run; return every scenario loaded."""
    scenarios = [sweep.load_base(files)]  # its own errors name the base file
    checks = [(f"parameters.{name}", {name: value}) for name, p in sweep.parameters.items() for value in p.checked_values()]
    checks += [(f"points[{i}].set", p.set) for i, p in enumerate(sweep.point_sets)]
    for where, overrides in checks:
        try:
            scenarios.append(sweep.load_base(files, assignments(overrides)))
        except ScenarioError as exc:
            hint = " (add integer = true to the range)" if "integer" in exc.problem else ""
            field = f"{exc.field}: " if exc.field else ""
            raise ScenarioError(path, where, f"in base scenario {exc.file}, {field}{exc.problem}{hint}") from None
    return scenarios
