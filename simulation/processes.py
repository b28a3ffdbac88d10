"""Worker processes: how they start, and how they stop with the process that made them.

Used by the sweep's process pool (:mod:`simulation.experiment.executors`) and by
the processes that draw a run's figures (:mod:`simulation.output.results`).
"""

import os
import signal
import threading
import time

PARENT_CHECK_S = 1.0  # how often a worker checks that its parent is still alive


def usable_cores():
    """The cores this process may run on (its affinity, where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def can_fork_safely():
    """Whether this process can fork workers: it can (on POSIX) while no other Python thread runs, since
    one could hold a lock the child would then wait on for ever (a notebook kernel runs several)."""
    return hasattr(os, "fork") and threading.active_count() == 1


def worker_started():
    """What every worker does first.

    Ctrl-C reaches the whole process group; the parent alone decides what to stop,
    and a worker killed between two tasks would break its pool. A worker inherits
    its queue's pipe ends, so it never sees end-of-file when the parent is killed
    (SIGKILL): it would wait for ever. It checks instead.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the command's own handler: stopping a worker just ends it
    threading.Thread(target=_exit_with_parent, daemon=True).start()


def _exit_with_parent():
    # A forked worker's parent is its maker; a forkserver worker's is the server, which
    # itself ends when its maker dies. Either way the worker's parent changes.
    first = os.getppid()
    while os.getppid() == first:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)
