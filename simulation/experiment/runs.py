"""Running a sweep: every planned run exactly once, on any backend, into the store.

:func:`run_sweep` is the Python API (the ``symbiosis sweep`` command calls it).
It returns the runs DataFrame, one row per planned run sorted by ``run``:
``run``, ``point``, ``label``, ``replicate``, ``seed``, ``status`` (done, failed
or pending), ``error``, ``seconds`` (the run in its worker: scenario, model and
measures), ``regime`` (none, formed, persisted or collapsed), one column per
varied parameter named by its dotted path, and one per kept measure of
:data:`RUN_MEASURES`.

A run depends on nothing but its scenario, overrides and seed, so it gives the
same numbers in this process, in a pool worker or on a Dask worker. Workers read
the scenario and catalogue from the snapshot the sweep took when it was checked
(:class:`~simulation.scenario.snapshot.Snapshot`), never from disk: a file edited while a
sweep runs changes nothing in it.
"""

import concurrent.futures as cf
import json
import sys
import threading
import time
import traceback
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from simulation.errors import ScenarioError
from simulation.experiment.executors import backend
from simulation.experiment.reuse import carried_runs, same_experiment
from simulation.experiment.store import FILE_NAME, Store, StoreLock, read_runs, reading
from simulation.experiment.sweep import assignments
from simulation.experiment.sweep_file import checked_files
from simulation.measures.outcome import outcome_of
from simulation.measures.summary import RUN_MEASURES, run_measures
from simulation.model import (
    SymbiosisModel,  # imported here, not per run: forked workers inherit it
)
from simulation.model.recorder import MEASURES
from simulation.model.workload import sweep_estimate
from simulation.output.files import check_destination, owned_folder
from simulation.processes import usable_cores
from simulation.scenario import load
from simulation.scenario.snapshot import Snapshot

__all__ = ["RUN_MEASURES", "RunTask", "execute", "run_measures", "run_sweep"]
LARGE_DESIGN = 50_000  # planned runs whose design takes seconds to write: said on stderr


class ScenarioCache:
    """The last ``size`` validated scenarios of this process.

    The replicates of a sweep's design point load the same (files, overrides,
    years); validation (pydantic) is most of a load. The model never changes a
    Scenario (tests/test_sweep.py checks), so runs may share one. Keyed by the
    snapshot's content hash, so a cached scenario is always the one its files give.
    """

    def __init__(self, size=4):
        self.size = size
        self._entries = {}  # (snapshot digest, path, overrides, years) -> Scenario, least recent first
        self._lock = threading.Lock()  # Dask may run several threads in one worker process

    def load(self, snapshot, path, overrides=(), years=None):
        """:func:`~simulation.scenario.load` ``path`` from ``snapshot`` with ``overrides`` and ``years``, or the scenario it gave last time."""
        key = (snapshot.digest, str(path), tuple(overrides), years)
        with self._lock:
            scenario = self._entries.pop(key, None)
        if scenario is None:
            scenario = load(path, overrides, years=years, files=snapshot)
            key = (snapshot.digest, *key[1:])  # a snapshot still open has just read the files
        with self._lock:
            self._entries[key] = scenario
            while len(self._entries) > self.size:
                del self._entries[next(iter(self._entries))]
        return scenario


# Validated scenarios of this process's last few design points: a point's replicates
# (consecutive runs) skip validation.
SCENARIOS = ScenarioCache()


@dataclass(frozen=True)
class RunTask:
    """What a worker needs for one run: the files come along as a snapshot of some tens of kB."""

    run: int
    seed: int
    base: str  # absolute path: a worker may run in another folder
    overrides: tuple[str, ...]  # the sweep's base overrides, then this run's
    years: float | None
    measures: tuple[str, ...]
    keep_series: bool
    snapshot: Snapshot


def execute(task):
    """One run; a run that raises comes back as ``failed`` with its error, never as an exception.

    The run keeps no exchange log and no DataCollector: its measures come from the
    model's recorder, the same numbers without the per-month copies and the DataFrame.
    """
    started = time.perf_counter()
    try:
        scenario = SCENARIOS.load(task.snapshot, task.base, task.overrides, years=task.years)
        model = SymbiosisModel(scenario, seed=task.seed, record_exchanges=False, collect=False).run()
        series = model.recorder.series
        outcome = outcome_of(series, scenario.spec.outcome)
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


def run_sweep(sweep, out_dir=None, workers=None, dask=None, dask_local=None, resume=False, progress=True, command="",
              reuse=None):
    """Run every planned run of ``sweep`` not yet in its store; return the runs DataFrame.

    ``out_dir`` defaults to ``results/<sweep name>/``; it must be new, empty or a
    sweep folder this tool wrote. Without ``resume`` the store must not exist yet;
    with it, finished and failed runs are kept and only the rest run. ``workers``
    processes (default: the usable cores; 1 runs here), or a Dask scheduler address
    ``dask``, or a local Dask cluster of ``dask_local`` workers. Nothing is written
    before the sweep, the folder and the backend are known to be good. Ctrl-C stops
    at once (KeyboardInterrupt) with every finished run stored. ``command`` is what
    a second sweep on the same store is told holds it.

    ``reuse`` (with ``resume``) lets the design grow: store files (the folder's own
    among them, or not) whose finished runs this sweep takes over when it plans the
    same run (:mod:`simulation.experiment.reuse`). A store in ``out_dir`` made by the
    same experiment with other design points or replicates is then rebuilt with
    the new design and every finished run it shares. The DataFrame's
    ``attrs["carried"]`` and ``attrs["ran"]`` say how many runs were taken over and
    how many were run this time.
    """
    out_dir = Path("results") / sweep.name if out_dir is None else Path(out_dir)
    file = out_dir / FILE_NAME
    if sweep.snapshot is None:  # made in Python, not by load_sweep: its files as they are now, checked again
        sweep = checked_files(sweep, f"sweep {sweep.name!r}")
    snapshot = sweep.snapshot
    base = sweep.load_base(snapshot)
    fingerprint = sweep.fingerprint(base.content_hash)
    check_destination(out_dir, "sweep", whole=False)
    grows = (base.content_hash, list(reuse)) if reuse is not None and resume else None
    pending = _check_resumable(file, sweep, fingerprint, resume, grows)
    _estimate(sweep, pending, out_dir, workers, dask, dask_local, progress)
    with backend(workers, dask, dask_local, pending=pending) as chosen:
        owned_folder(out_dir, "sweep")
        lock = StoreLock(out_dir, command)
        try:
            store, carried = open_store(file, sweep, fingerprint, resume, grows)
            try:
                ran = store.planned() - sum(store.counts())
                overrides, base_path = tuple(sweep.base_overrides), str(Path(sweep.base).resolve())
                tasks = (RunTask(run, seed, base_path, overrides + tuple(assignments(o)), sweep.years,
                                 tuple(sweep.measures), sweep.keep_series, snapshot)
                         for run, seed, o in store.pending())
                _execute_all(store, tasks, chosen, store.planned(), sweep.name if progress else None)
            finally:
                store.close()
        finally:
            lock.release()
    runs = read_runs(file)
    runs.attrs.update(carried=carried, ran=ran)
    return runs


def _estimate(sweep, pending, out_dir, workers, dask, dask_local, progress):
    """Refuse a sweep that cannot fit this machine's memory (or its disk); print the estimate of a long one."""
    here = dask is None  # the runs of a Dask scheduler's workers do not use this machine's memory
    workers = dask_local or (min(workers or usable_cores(), max(1, pending)) if here else 1)
    series = max(months for _, months in sweep.sizes) if sweep.keep_series else 0
    estimate = sweep_estimate(sweep.sizes, pending, workers, series)
    estimate.checked_disk(out_dir, out_dir / FILE_NAME)
    if here:
        estimate.checked(out_dir / FILE_NAME)
    if progress and estimate.long and here:
        print(f"{sweep.name}: {estimate.describe()}", file=sys.stderr)


def _check_resumable(file, sweep, fingerprint, resume, grows=None):
    """Before anything is written: whether the store may be (re)used; the number of runs left to do (at most)."""
    if not file.exists():
        return sweep.planned()
    _refuse_without_resume(file, resume)
    StoreLock.check_free(file.parent)
    with reading(file) as db:
        stored = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('fingerprint', 'sweep')").fetchall())
        if _grown(stored, sweep, fingerprint, grows):
            return sweep.planned()
        _same_sweep(file, stored, sweep, fingerprint)
        return db.execute("SELECT count(*) FROM design WHERE run NOT IN (SELECT run FROM runs)").fetchone()[0]


def _grown(stored, sweep, fingerprint, grows):
    """Whether a store (its meta) holds the same experiment as ``sweep`` with other design points or replicates."""
    return (grows is not None and stored.get("fingerprint") != fingerprint
            and same_experiment(sweep, stored.get("sweep", ""), stored.get("fingerprint"), grows[0]))


def open_store(file, sweep, fingerprint, resume, grows=None):
    """The sweep's store and how many finished runs it took over from others (see ``reuse`` of :func:`run_sweep`).

    A new store, or with ``resume`` the existing one if the same sweep made it, or
    (``grows``: the base's content hash and the stores to take runs from) one
    rebuilt for a grown design.
    """
    if file.exists():
        _refuse_without_resume(file, resume)
        store = Store(file)
        stored = {"fingerprint": store.meta("fingerprint"), "sweep": store.meta("sweep")}
        if not _grown(stored, sweep, fingerprint, grows):
            try:
                _same_sweep(file, stored, sweep, fingerprint)
            except ScenarioError:
                store.close()
                raise
            return store, 0
        store.close()  # folds a killed sweep's journal into the file before its runs are read and it is replaced
    carried = carried_runs(sweep, *grows) if grows is not None else []
    if sweep.planned() > LARGE_DESIGN:
        print(f"{sweep.name}: writing the design of {sweep.planned():,} runs into {file}", file=sys.stderr)
    try:
        return Store.create(file, sweep, sweep.runs(), fingerprint, carried), len(carried)
    except OSError as exc:
        raise ScenarioError(file, "", f"cannot create the results store: {exc.strerror or exc}") from None


def _refuse_without_resume(file, resume):
    if not resume:
        raise ScenarioError(file, "", "already holds results of a sweep; add --resume to finish it, or choose another --out")


def _same_sweep(file, stored, sweep, fingerprint):
    if stored.get("fingerprint") != fingerprint:
        changed = _changed_fields(json.loads(stored["sweep"]), sweep.model_dump(mode="json"))
        raise ScenarioError(file, "", f"was made by a different sweep ({changed}); adding to it would mix two "
                                      f"experiments: choose another --out folder, or delete {file.parent} to start again")


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
