"""Where a sweep's runs execute: this process, a pool of processes, or a Dask cluster.

Every backend is a :class:`concurrent.futures.Executor`, so the sweep loop in
:mod:`simulation.experiment.runs` is the same for all of them; a backend adds only
how many runs to keep in flight and how to stop at once on Ctrl-C.
"""

import concurrent.futures as cf
import logging
import multiprocessing
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

from simulation.errors import ScenarioError
from simulation.processes import can_fork_safely, usable_cores, worker_started

CONNECT_TIMEOUT_S = 10  # how long to try to reach a Dask scheduler before giving up


@dataclass
class Backend:
    executor: cf.Executor
    slots: int  # runs to keep in flight: enough to keep every worker busy, few enough to lose little on a kill
    name: str
    stop: Callable[[], None]  # cancel queued runs and end running ones now


class SerialExecutor(cf.Executor):
    """Runs each call when it is submitted, in this process: no start-up, no pickling."""

    def submit(self, fn, /, *args, **kwargs):
        future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # KeyboardInterrupt goes straight to the caller
            future.set_exception(exc)
        return future


@contextmanager
def backend(workers=None, dask=None, dask_local=None, pending=None):
    """The executor for a sweep: Dask if asked, else a process pool of ``workers`` (default: the usable cores), else serial."""
    if dask is not None or dask_local is not None:
        with _dask(dask, dask_local) as chosen:
            yield chosen
        return
    workers = workers or usable_cores()
    if pending is not None:
        workers = max(1, min(workers, pending))  # no idle forks for a short remainder
    if workers == 1:
        yield Backend(SerialExecutor(), 1, "serial", lambda: None)
        return
    pool = _process_pool(workers)
    try:
        yield Backend(pool, 2 * workers, f"{workers} processes", lambda: _stop_pool(pool))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _process_pool(workers):
    # fork, deliberately: a forked worker starts in milliseconds with numpy, pandas,
    # mesa, the simulation package and the already parsed scenario files (see
    # TomlFiles in experiment.py) in its memory, where spawn re-imports and re-parses
    # everything in each worker (about 1.8x slower for short runs on 2 cores). Fork is
    # safe here because ProcessPoolExecutor forks all workers at the first submit,
    # before it starts its own thread, and the sweep starts no thread before that.
    # A process that already runs other threads (a notebook kernel, a test run after a Dask
    # cluster) could fork while one of them holds a lock; there the slower but safe forkserver
    # is used. Results do not depend on the start method: every run carries its own seed.
    context = multiprocessing.get_context("fork" if can_fork_safely() else "forkserver")
    return cf.ProcessPoolExecutor(workers, mp_context=context, initializer=worker_started)


def _stop_pool(pool):
    pool.shutdown(wait=False, cancel_futures=True)
    # Python 3.12 has no public way to end running workers (3.14 adds terminate_workers).
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


@contextmanager
def _dask(address, n_local):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a declared dependency
        raise ScenarioError(None, "--dask", "needs the dask[distributed] package") from None
    cluster = None
    try:
        if n_local is not None:
            # One thread per worker process: the model holds the GIL most of the time.
            cluster = LocalCluster(n_workers=n_local, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
            name = f"Dask LocalCluster of {n_local} workers"
        else:
            try:
                client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise ScenarioError(None, "--dask", f"cannot reach the Dask scheduler at {address}: {exc}") from None
            name = f"Dask scheduler {address}"
        # pure=False: two runs never share a result, whatever their arguments.
        executor = client.get_executor(pure=False)
        slots = 2 * max(1, sum(client.nthreads().values()))
        try:
            yield Backend(executor, slots, name, lambda: executor.shutdown(wait=False))
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
