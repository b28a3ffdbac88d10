"""Sweep files: which runs an experiment makes.

A sweep file (see ``scenarios/sweeps/``) names a base scenario, the parameters
to vary by their dotted paths (the paths of ``--set``), the design that picks
the combinations, the replicates per combination and a master seed::

    [sweep]
    name = "landfill_tax_x_transport"
    base = "../synthetic_park.toml"     # relative to this file
    set = ["park.n_firms=30"]           # overrides applied to every run (optional)
    years = 10                          # optional; else the base scenario's
    design = "grid"                     # grid | lhs | sobol | morris | points
    replicates = 10
    seed = 2026
    measures = ["links_formed", "waste_diverted_share"]   # optional; default all
    keep_series = false                 # keep every run's monthly measures

    [parameters]
    "policy.landfill_tax_eur_per_t" = [0, 30, 60, 90]                     # values
    "logistics.transport_cost_factor" = { range = [0.5, 2.0], steps = 4 } # a grid axis

Grid designs take every combination (the first parameter varies slowest);
``lhs``, ``sobol`` and ``morris`` sample ``samples`` base points from ranges
through SALib (add ``integer = true`` to a range to sample whole numbers);
``points`` lists labelled override sets as ``[[points]]`` tables with ``label``
and ``set = { "path" = value }``.

Run ``r`` of design point ``p`` uses child ``p * replicates + r`` of
``numpy.random.SeedSequence(seed).spawn(points * replicates)``, so any run can
be repeated on its own from its seed.

A sweep plans at most :data:`MAX_PLANNED_RUNS` runs; the count is known from the
file alone, so a huge design is refused before any of it is built.
"""

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from simulation.measures.summary import RUN_MEASURES
from simulation.scenario.loader import assignments, load, toml_value  # noqa: F401 (assignments: the experiment's name for it)
from simulation.scenario.parameters import Section, checked_name
from simulation.scenario.snapshot import Snapshot

DESIGNS = ("grid", "lhs", "sobol", "morris", "points")
SAMPLED = ("lhs", "sobol", "morris")
SPEC_KEYS = {"values", "range", "steps", "integer"}  # a table with these keys is one parameter, not a section
Value = float | int | str | bool | list
# A store's design table holds every planned run; beyond this the store, the time and the
# analysis stop making sense on one machine (a million 240-month runs of 50 firms take
# about six CPU-days).
MAX_PLANNED_RUNS = 1_000_000
CHECK_ALL = 20  # listed values checked one by one against the base scenario; longer lists of numbers at their ends


_Strict = Section  # no unknown field, frozen, no true/false for a number


class Parameter(_Strict):
    """How one parameter varies: listed ``values``, or a ``range`` [low, high]."""

    values: list[Value] | None = Field(None, max_length=MAX_PLANNED_RUNS)
    range: tuple[float, float] | None = None
    steps: int | None = Field(None, ge=2, le=MAX_PLANNED_RUNS, description="grid values spread evenly over the range")
    integer: bool = Field(False, description="round sampled values to whole numbers")

    @model_validator(mode="after")
    def _one_kind(self):
        if (self.values is None) == (self.range is None):
            raise ValueError("give either a list of values or range = [low, high]")
        if self.values is not None and not self.values:
            raise ValueError("empty list of values: give at least one")
        if self.values is not None and not all(_finite(v) for v in self.values):
            raise ValueError(f"values must be finite numbers, got {self.values!r}")
        if self.range is not None and not (math.isfinite(self.range[0]) and math.isfinite(self.range[1]) and self.range[0] < self.range[1]):
            raise ValueError(f"empty range {list(self.range)}: low must be below high")
        return self

    def grid_values(self):
        if self.values is not None:
            return list(self.values)
        values = np.linspace(*self.range, self.steps).tolist()
        return sorted({round(v) for v in values}) if self.integer else values

    def checked_values(self):
        """Values to try against the base scenario before any run: the listed ones, or both ends and the middle.

        A long list of numbers is checked at its ends (and at one fraction, for a
        whole-number field): a scenario's limits are ranges.
        """
        if self.values is not None:
            numbers = [v for v in self.values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            if len(numbers) <= CHECK_ALL or len(numbers) < len(self.values):
                return _distinct(self.values)
            fractions = [v for v in numbers if isinstance(v, float) and not v.is_integer()]
            return [min(numbers), max(numbers), *fractions[:1]]
        low, high = self.range
        return [self.cast(low), self.cast(high), self.cast((low + high) / 2)]

    def cast(self, value):
        return int(round(value)) if self.integer else float(value)


class PointSpec(_Strict):
    label: str = Field(min_length=1)
    set: dict[str, Value] = {}

    @model_validator(mode="after")
    def _finite_values(self):
        if not all(_finite(v) for v in self.set.values()):
            raise ValueError(f"values must be finite numbers, got {self.set!r}")
        return self


class Settings(_Strict):
    name: str = Field(min_length=1, max_length=100, description="names the results folder: letters, digits, _ . -")
    description: str = ""
    base: str = Field(min_length=1, description="base scenario file, relative to the sweep file")
    set: list[str] = []
    years: float | None = Field(None, gt=0)
    design: str = "grid"
    samples: int | None = Field(None, ge=1, le=MAX_PLANNED_RUNS, description="base samples of an lhs, sobol or morris design")
    second_order: bool = False
    levels: int = Field(4, ge=2, le=1000, description="grid levels of a morris design")
    replicates: int = Field(1, ge=1, le=MAX_PLANNED_RUNS)
    seed: int = Field(0, ge=0, lt=2**63)
    measures: list[str] | None = None
    keep_series: bool = False

    @field_validator("name")
    @classmethod
    def _a_name_not_a_path(cls, name):
        return checked_name(name)


class SweepFile(_Strict):
    sweep: Settings
    parameters: dict[str, Parameter] = {}
    points: list[PointSpec] = []


@dataclass(frozen=True)
class DesignPoint:
    point: int  # row of the design matrix, in SALib's order
    label: str
    overrides: dict[str, Any]  # dotted path -> value


@dataclass(frozen=True)
class PlannedRun:
    run: int
    point: int
    label: str
    replicate: int
    seed: int
    overrides: dict[str, Any]


class Sweep(BaseModel):
    """A validated sweep: what to vary, how, how often, and what to keep."""

    model_config = ConfigDict(frozen=True)

    name: str
    base: Path
    base_overrides: list[str] = []
    design: Literal["grid", "lhs", "sobol", "morris", "points"]
    parameters: dict[str, Parameter] = {}
    point_sets: list[PointSpec] = []
    samples: int = 0
    second_order: bool = False
    levels: int = 4
    replicates: int = Field(1, ge=1)
    seed: int = Field(0, ge=0)
    measures: list[str] = Field(default_factory=lambda: list(RUN_MEASURES))
    keep_series: bool = False
    years: float | None = None
    description: str = ""
    _snapshot: Snapshot | None = PrivateAttr(default=None)  # the files as they were when the sweep was checked
    _sizes: list = PrivateAttr(default_factory=list)  # (firms, months) of the base and each checked value

    def __eq__(self, other):  # the same experiment: its settings, whatever files were read to check it
        return type(self) is type(other) and self.model_dump() == other.model_dump()

    __hash__ = BaseModel.__hash__

    @property
    def snapshot(self):
        return self._snapshot

    @property
    def sizes(self):
        """(firms, months) of a run of the base scenario and of each parameter value checked: what runs may cost."""
        return list(self._sizes)

    def with_snapshot(self, snapshot, sizes=()):
        self._snapshot = snapshot.freeze()
        self._sizes = list(sizes) or self._sizes
        return self

    # -- the design ------------------------------------------------------------------
    def parameter_names(self):
        """Dotted paths of the varied parameters, in design order."""
        if self.design != "points":
            return list(self.parameters)
        return list(dict.fromkeys(path for p in self.point_sets for path in p.set))

    def problem(self):
        """The SALib problem (names = dotted paths, bounds) of an lhs, sobol or morris design, else None."""
        if self.design not in SAMPLED:
            return None
        return {"num_vars": len(self.parameters), "names": list(self.parameters),
                "bounds": [list(p.range) for p in self.parameters.values()]}

    def n_points(self):
        """How many design points, known without drawing or listing them."""
        d = len(self.parameters)
        return {"points": lambda: len(self.point_sets),
                "grid": lambda: math.prod(len(p.grid_values()) for p in self.parameters.values()),
                "lhs": lambda: self.samples,
                "sobol": lambda: self.samples * (2 * d + 2 if self.second_order else d + 2),
                "morris": lambda: self.samples * (d + 1)}[self.design]()

    def planned(self):
        return self.n_points() * self.replicates

    def points(self):
        """Every design point, in order (an iterator: a design may be large)."""
        if self.design == "points":
            return (DesignPoint(i, p.label, dict(p.set)) for i, p in enumerate(self.point_sets))
        names = list(self.parameters)
        if self.design == "grid":
            rows = itertools.product(*(p.grid_values() for p in self.parameters.values()))
        else:
            specs = list(self.parameters.values())
            rows = ([spec.cast(v) for spec, v in zip(specs, row)] for row in self._sample().tolist())
        return (DesignPoint(i, _label(names, row), dict(zip(names, row))) for i, row in enumerate(rows))

    def _sample(self):
        from SALib.sample import latin, morris, sobol

        problem = self.problem()
        if self.design == "lhs":
            return latin.sample(problem, self.samples, seed=self.seed)
        if self.design == "sobol":
            return sobol.sample(problem, self.samples, calc_second_order=self.second_order, seed=self.seed)
        return morris.sample(problem, self.samples, num_levels=self.levels, seed=self.seed)

    def runs(self, points=None):
        """Every planned run (an iterator): each design point ``replicates`` times, each with its own seed."""
        points = self.points() if points is None else points
        return (PlannedRun(run, p.point, p.label, r, child_seed(self.seed, run), p.overrides)
                for p in points for r in range(self.replicates) for run in (p.point * self.replicates + r,))

    def fingerprint(self, base_hash):
        """Identity of the experiment: every setting, and the base scenario's content (not its path)."""
        content = self.model_dump(mode="json", exclude={"base"})
        return hashlib.sha256(json.dumps([content, base_hash], sort_keys=True).encode()).hexdigest()

    def load_base(self, files=None, overrides=()):
        return load(self.base, [*self.base_overrides, *overrides], years=self.years, files=files)


def child_seed(master, index):
    """Seed of child ``index`` of ``SeedSequence(master).spawn(...)``, without spawning the children before it."""
    return int(np.random.SeedSequence(master, spawn_key=(index,)).generate_state(1)[0])


def _distinct(values):
    return list({json.dumps(v): v for v in values}.values())


def _finite(value):
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def _label(names, row):
    return ", ".join(f"{name.rsplit('.', 1)[-1]}={_short(value)}" for name, value in zip(names, row))


def _short(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)
