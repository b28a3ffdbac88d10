"""How much memory and time a run or a sweep needs, estimated before it starts.

A run's cost grows with its firms N and its months T. Links accumulate over a
run, so the cost of a firm-month rises after the first years: the formulas take
N x T in two parts, the first :data:`SPLIT_MONTHS` months and the rest. Their
coefficients are upper envelopes of 83 measured runs (15 to 100,000 firms, 12 to
12,000 months) on the project's machine (2 cores, AMD EPYC, virtualised,
Python 3.12, 2026-12-02); ``benchmarks/bench_workload.py`` measures cases again
and prints each estimate beside the measurement. Memory estimates carry a
margin of :data:`MARGIN` (other seeds and policies moved peaks by up to 10%);
time estimates are the measured envelope and may be off by a factor 2 on a
busy or slower machine. Two kinds of run:

* a *logged* run (``symbiosis run``) keeps every delivery (the exchange log) and
  Mesa's DataCollector and writes them as tables: most of its memory and time
  go to the exchange log and the tables built from it (about 175 bytes and
  3.5 microseconds per delivery row);
* a *light* run (a sweep's) keeps neither.

A run or sweep whose estimated peak memory exceeds what this machine has
available is refused before anything is built (:meth:`Estimate.checked`); one
that will take longer than :data:`LONG_S` has its estimate printed.
"""

import math
import os
import shutil
from dataclasses import dataclass

from simulation.errors import ScenarioError

MIB = 2**20
GIB = 2**30
LONG_S = 60.0  # runs and sweeps longer than this have their estimate printed
SPLIT_MONTHS = 240
MARGIN = 1.25
AGENT_RECORD_BYTES = 350  # one firm-month in the DataCollector and the frame made from it (1,000 firms x 240: +79 MiB peak)

# Bytes or seconds per month ("T"), per firm ("N") and per firm-month in the first
# SPLIT_MONTHS months ("NT_early") and after them ("NT_late").
LOGGED_BASE_BYTES = 170 * MIB  # the interpreter with numpy, pandas, mesa and the package
LOGGED_BYTES = {"T": 11_800.0, "N": 5_930.0, "NT_early": 667.0, "NT_late": 1_114.0}  # tables included; N: the model, as light
LIGHT_BASE_BYTES = 155 * MIB
LIGHT_BYTES = {"T": 1_570.0, "N": 5_930.0, "NT_early": 71.0, "NT_late": 93.0}
FIGURES_BYTES = 60 * MIB
BUILD_S = {"N": 6.0e-5}  # building the park
RUN_S = {"T": 7.3e-4, "N": 5.0e-5, "NT_early": 6.9e-6, "NT_late": 6.9e-6}  # the model's months, light
LOGGED_RUN_FACTOR = 1.15  # keeping the exchange log and the DataCollector
WRITE_S = {"T": 2.7e-4, "NT_early": 1.5e-5, "NT_late": 2.9e-5}  # the tables of a logged run
FIGURES_S = {"N": 1.0e-3}
FIGURES_BASE_S = 2.5
SERIES_ROW_BYTES = 400  # one month of one run in a sweep's series table, on disk
RUN_ROW_BYTES = 1_000  # one planned run in a sweep's design and runs tables, on disk


def _linear(coefficients, firms, months):
    early, late = min(months, SPLIT_MONTHS), max(months - SPLIT_MONTHS, 0)
    return (coefficients.get("N", 0.0) * firms + coefficients.get("T", 0.0) * months
            + coefficients.get("NT_early", 0.0) * firms * early + coefficients.get("NT_late", 0.0) * firms * late)


@dataclass(frozen=True)
class Estimate:
    """What a run or a sweep is expected to need."""

    firms: int  # per run (the largest, for a sweep)
    months: int
    seconds: float  # wall-clock time of the whole job
    peak_bytes: float  # peak memory of the job (all its processes)
    build_seconds: float = 0.0  # building the park of one run
    runs: int = 1
    disk_bytes: float = 0.0  # what a sweep adds to its store

    @property
    def long(self):
        return self.seconds > LONG_S

    @property
    def size(self):
        runs = f"{self.runs:,} runs of " if self.runs > 1 else ""
        return f"{runs}{self.firms:,} firms x {self.months:,} month{'s' if self.months != 1 else ''}"

    def describe(self):
        disk = f", store about {_size(self.disk_bytes)}" if self.disk_bytes > 100 * MIB else ""
        return f"{self.size}: about {_duration(self.seconds)}, peak memory about {_size(self.peak_bytes)}{disk} (estimate)"

    def checked(self, where, field=""):
        """This estimate, or a ScenarioError when it cannot fit the memory at hand."""
        available = available_memory()
        if available is not None and self.peak_bytes > available:
            raise ScenarioError(where, field, f"{self.size} would need about {_size(self.peak_bytes)} of memory, more "
                                              f"than the {_size(available)} this machine has available; use fewer "
                                              f"firms, months or workers")
        return self

    def checked_disk(self, folder, where, field=""):
        """This estimate, or a ScenarioError when the store would not fit the disk."""
        free = free_disk(folder)
        if free is not None and self.disk_bytes > free:
            raise ScenarioError(where, field, f"{self.size} would write about {_size(self.disk_bytes)} to its store, "
                                              f"more than the {_size(free)} free on that disk; keep fewer series or "
                                              f"plan fewer runs")
        return self


def firm_count(scenario):
    """Firms a scenario will have, known before its park is built."""
    spec = scenario.spec
    return len(spec.firms) + (spec.park.n_firms if spec.park is not None else 0)


def run_estimate(scenario, logged=True, figures=False, agent_rows=0):
    """One run of ``scenario``: a logged run with its tables (and figures), or a light one;
    ``agent_rows`` per-firm monthly records kept by the DataCollector."""
    return size_estimate(firm_count(scenario), scenario.periods, logged, figures, agent_rows)


def size_estimate(firms, months, logged=True, figures=False, agent_rows=0):
    """One run of ``firms`` firms over ``months`` months."""
    if logged:
        memory = LOGGED_BASE_BYTES + MARGIN * _linear(LOGGED_BYTES, firms, months) + (FIGURES_BYTES if figures else 0)
    else:
        memory = LIGHT_BASE_BYTES + MARGIN * _linear(LIGHT_BYTES, firms, months)
    memory += MARGIN * AGENT_RECORD_BYTES * agent_rows
    build = _linear(BUILD_S, firms, months)
    seconds = build + _linear(RUN_S, firms, months) * (LOGGED_RUN_FACTOR if logged else 1.0)
    if logged:
        seconds += _linear(WRITE_S, firms, months)
    if figures:
        seconds += FIGURES_BASE_S + _linear(FIGURES_S, firms, months)
    return Estimate(firms, months, seconds, memory, build_seconds=build)


def sweep_estimate(sizes, runs, workers, series_months=0):
    """``runs`` light runs spread over ``workers`` processes; ``sizes`` (firms, months) span the design.

    Time is the mean of the sizes' runs; memory the largest run in every worker
    at once; disk the store's rows.
    """
    each = [size_estimate(firms, months, logged=False) for firms, months in sizes]
    largest = max(each, key=lambda e: e.peak_bytes)
    seconds = sum(e.seconds for e in each) / len(each) * math.ceil(runs / max(1, workers))
    memory = LIGHT_BASE_BYTES + workers * (largest.peak_bytes - LIGHT_BASE_BYTES / 2)  # forked workers share the interpreter's pages
    disk = runs * (RUN_ROW_BYTES + SERIES_ROW_BYTES * series_months)
    return Estimate(largest.firms, largest.months, seconds, memory, runs=runs, disk_bytes=disk)


def available_memory():
    """Bytes this process may still use: the system's available memory, within a container's limit; None if unknown."""
    figures = [_meminfo_available(), _cgroup_room()]
    known = [f for f in figures if f is not None]
    if not known:
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            return None
    return min(known)


def _meminfo_available():
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _cgroup_room():
    try:
        with open("/sys/fs/cgroup/memory.max") as limit, open("/sys/fs/cgroup/memory.current") as current:
            text = limit.read().strip()
            return None if text == "max" else int(text) - int(current.read().strip())
    except (OSError, ValueError):
        return None


def free_disk(folder):
    """Free bytes on the disk that holds ``folder`` (or its nearest existing ancestor)."""
    path = os.path.abspath(folder)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def _size(n):
    return f"{n / GIB:,.1f} GiB" if n >= GIB else f"{n / MIB:,.0f} MiB"


def _duration(seconds):
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
