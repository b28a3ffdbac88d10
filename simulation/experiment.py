"""Running a sweep: every planned run exactly once, on any backend, into the store.

:func:`run_sweep` is the Python API (the ``symbiosis sweep`` command calls it).
It returns the runs DataFrame, one row per planned run sorted by ``run``:
``run``, ``point``, ``label``, ``replicate``, ``seed``, ``status`` (done, failed
or pending), ``error``, ``seconds`` (the run in its worker: scenario, model and
measures), ``regime`` (none, formed, persisted or collapsed), one column per
varied parameter named by its dotted path, and one per kept measure of
:data:`RUN_MEASURES`.

A run depends on nothing but its scenario, overrides and seed, so it gives the
same numbers in this process, in a pool worker or on a Dask worker.
"""

import concurrent.futures as cf
import json
import sys
import time
import traceback
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from simulation.errors import ScenarioError
from simulation.executors import backend
from simulation.measures import MEASURES
from simulation.model import SymbiosisModel  # imported here, not per run: forked workers inherit it
from simulation.outcome import classify
from simulation.run_measures import RUN_MEASURES, run_measures
from simulation.scenario import ScenarioCache, TomlFiles
from simulation.store import FILE_NAME, Store, read_runs
from simulation.sweep import assignments

__all__ = ["RUN_MEASURES", "RunTask", "execute", "run_measures", "run_sweep"]

# Parsed scenario files of this process. Pool workers are forked after the sweep
# has parsed them, so they start with them; Dask workers parse them at their first run.
FILES = TomlFiles()
# Validated scenarios of this process's last few design points: a point's replicates
# (consecutive runs) skip validation.
SCENARIOS = ScenarioCache(FILES)


@dataclass(frozen=True)
class RunTask:
    """What a worker needs for one run; small, so it is cheap to send."""

    run: int
    seed: int
    base: str  # absolute path: a worker may run in another folder
    overrides: tuple[str, ...]  # the sweep's base overrides, then this run's
    years: float | None
    measures: tuple[str, ...]
    keep_series: bool


def execute(task):
    """One run; a run that raises comes back as ``failed`` with its error, never as an exception.

    The run keeps no exchange log and no DataCollector: its measures come from the
    model's recorder, the same numbers without the per-month copies and the DataFrame.
    """
    started = time.perf_counter()
    try:
        scenario = SCENARIOS.load(task.base, task.overrides, years=task.years)
        model = SymbiosisModel(scenario, seed=task.seed, record_exchanges=False, collect=False).run()
        series = model.recorder.series
        outcome = classify(series("active_links"), series("active_firms"), scenario.spec.outcome)
        measures = run_measures(model, outcome)
        result = {"status": "done", "regime": outcome.regime, "measures": {m: measures[m] for m in task.measures}}
        if task.keep_series:
            months = range(model.recorder.months)
            result["series"] = {"period": list(months), "month": [model.calendar.label(t) for t in months],
                                **{m: series(m).tolist() for m in MEASURES}}
    except Exception as exc:
        result = {"status": "failed", "error": describe(exc)}
    result.update(run=task.run, seconds=time.perf_counter() - started)
    return result


def describe(exc):
    """An error in one line: the message, and where the code raised it unless it is bad input."""
    if isinstance(exc, ScenarioError):
        return exc.message
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def run_sweep(sweep, out_dir=None, workers=None, dask=None, dask_local=None, resume=False, progress=True):
    """Run every planned run of ``sweep`` not yet in its store; return the runs DataFrame.

    ``out_dir`` defaults to ``results/<sweep name>/``. Without ``resume`` the store
    must not exist yet; with it, finished and failed runs are kept and only the
    rest run. ``workers`` processes (default: the usable cores; 1 runs here),
    or a Dask scheduler address ``dask``, or a local Dask cluster of ``dask_local``
    workers. Ctrl-C stops at once (KeyboardInterrupt) with every finished run stored.
    """
    out_dir = Path("results") / sweep.name if out_dir is None else Path(out_dir)
    file = out_dir / FILE_NAME
    base = sweep.load_base(FILES)
    store = open_store(file, sweep, sweep.fingerprint(base.content_hash), resume)
    try:
        overrides = tuple(sweep.base_overrides)
        tasks = [RunTask(run, seed, str(Path(sweep.base).resolve()), overrides + tuple(assignments(o)), sweep.years,
                         tuple(sweep.measures), sweep.keep_series)
                 for run, seed, o in store.pending()]
        with backend(workers, dask, dask_local, pending=len(tasks)) as chosen:
            _execute_all(store, tasks, chosen, store.planned(), sweep.name if progress else None)
    finally:
        store.close()
    return read_runs(file)


def open_store(file, sweep, fingerprint, resume):
    """The sweep's store: a new one, or with ``resume`` the existing one if the same sweep made it."""
    if not file.exists():
        try:
            return Store.create(file, sweep, sweep.runs(), fingerprint)
        except OSError as exc:
            raise ScenarioError(file, "", f"cannot create the results store: {exc.strerror or exc}") from None
    if not resume:
        raise ScenarioError(file, "", f"already holds results of a sweep; add --resume to finish it, or choose another --out")
    store = Store(file)
    if store.meta("fingerprint") != fingerprint:
        changed = _changed_fields(json.loads(store.meta("sweep")), sweep.model_dump(mode="json"))
        store.close()
        raise ScenarioError(file, "", f"was made by a different sweep ({changed}), so --resume would mix two experiments; "
                                      f"run it into another --out folder, or delete {file.parent} to start again")
    return store


def _changed_fields(stored, current):
    fields = [k for k in sorted(set(stored) | set(current)) if k != "base" and stored.get(k) != current.get(k)]
    return "changed: " + ", ".join(fields) if fields else "the base scenario or its catalogue changed"


def _execute_all(store, tasks, chosen, planned, label):
    """Submit runs as workers free up and store each as it finishes; stop every worker on Ctrl-C."""
    queue = iter(tasks)
    in_flight = {}

    def fill():
        # A bounded number in flight: memory stays flat however many runs, and a kill loses only these.
        while len(in_flight) < chosen.slots and (task := next(queue, None)) is not None:
            in_flight[chosen.executor.submit(execute, task)] = task

    done, failed = store.counts()
    bar = None
    try:
        fill()  # before the progress bar: pool workers fork before any thread exists
        bar = tqdm(total=planned, initial=done + failed, desc=label, unit="run", disable=label is None, file=sys.stderr)
        bar.set_postfix(done=done, failed=failed, refresh=False)
        while in_flight:
            finished, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                result = _result(future, in_flight.pop(future))
                store.record(result)
                done, failed = (done + 1, failed) if result["status"] == "done" else (done, failed + 1)
                bar.set_postfix(done=done, failed=failed, refresh=False)
                bar.update(1)
            fill()
    except KeyboardInterrupt:
        chosen.stop()
        raise
    finally:
        if bar is not None:
            bar.close()


def _result(future, task):
    """A finished future's result; a worker that died (not a run that raised) makes the run failed."""
    exc = future.exception()
    if exc is None:
        return future.result()
    if isinstance(exc, BrokenProcessPool):
        raise exc  # no worker left to run the rest
    return {"run": task.run, "status": "failed", "seconds": 0.0, "error": f"the worker running it failed: {describe(exc)}"}
