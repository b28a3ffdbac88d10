"""A run's result folder: its tables, its metadata and its figures, replaced as a whole.

Figures are drawn with whatever matplotlib backend is in use; the CLI picks a
file-only one, a notebook keeps its own. Drawing takes longer than the run of a
small park, and each figure is independent of the others, so with ``workers`` > 1
(the CLI's choice, where processes can be forked) they are drawn by forked
processes while this one writes the tables. A figure is the same, to the byte,
however it is drawn.
"""

import gc
import json
import multiprocessing
from contextlib import contextmanager
from multiprocessing.connection import wait
from pathlib import Path

from simulation.output.files import replaced_folder
from simulation.output.tables import TABLES, check_finite, metadata
from simulation.processes import can_fork_safely, worker_started

FIGURE_TABLES = ("links.csv", "yearly.csv")  # the tables the figures are drawn from, made first


def write_results(model, out_dir, command, outcome, figures=True, progress=None, workers=1):
    """Write every output file of a run into ``out_dir``, replacing an earlier result there as a whole.

    ``out_dir`` must be new, empty, or a run's result this tool wrote there
    before (:func:`simulation.output.files.check_destination`). ``progress``, if given,
    is called with each file's name as it is written (a figure drawn by a worker:
    as it is done), and with None just before the result is swapped in (the last
    moment at which raising stops it). ``workers`` is the most processes that
    draw figures at once.
    """
    progress = progress or (lambda name: None)
    with replaced_folder(out_dir, "run") as staging:
        frames = {name: TABLES[name](model) for name in FIGURE_TABLES}
        with _figures(model, frames, staging, figures, workers) as drawn:
            for name, table in TABLES.items():
                progress(name)
                frame = frames[name] if name in frames else table(model)
                check_finite(frame, name, model)
                frame.to_csv(staging / name, index=False)
            progress("metadata.json")
            with open(staging / "metadata.json", "w") as handle:
                json.dump(metadata(model, command, outcome), handle, indent=2, sort_keys=True, allow_nan=False)
                handle.write("\n")
            for name in drawn:
                progress(name)
        progress(None)
    return Path(out_dir)


def output_files(model, figures=True):
    """How many files :func:`write_results` writes (for a progress bar): the tables, metadata and the figures."""
    if not figures:
        return len(TABLES) + 1
    from simulation.output.figures import count_figures

    return len(TABLES) + 1 + count_figures(model)


@contextmanager
def _figures(model, frames, staging, figures, workers):
    """The names of the run's figures, each given as it is drawn into ``staging`` (none without ``figures``).

    With ``workers`` > 1 forked processes draw them, starting at once, so that
    they draw while the caller writes the tables.
    """
    if not figures:
        yield iter(())
        return
    from simulation.output.figures import (
        figure_files,  # matplotlib (25 MiB) only when figures are drawn
    )

    files = figure_files(model, links=frames["links.csv"], yearly=frames["yearly.csv"])
    workers = min(workers, len(files))
    drawn = (_drawn_here(files, staging) if workers < 2 or not can_fork_safely()
             else _drawn_by_workers(files, staging, workers))
    try:
        yield drawn
    finally:
        drawn.close()  # a worker still drawing is stopped before the staging folder goes


def _drawn_by_workers(files, staging, workers):
    """Forked processes take the figures in turn; a figure's name comes back as it is saved.

    Plain processes rather than a pool: stopping one (closing this generator, on
    an interrupt) is a kill the parent does without taking any lock a killed worker
    may hold.
    """
    context = multiprocessing.get_context("fork")
    turn = context.Value("i", 0)  # the next figure to draw, shared by the workers
    processes, readers = [], []
    gc.freeze()  # the collector would visit (and so copy) every page of the park's objects in each worker
    try:
        for _ in range(workers):
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(target=_draw_in_turn, args=(files, staging, turn, writer), daemon=True)
            process.start()
            writer.close()
            processes.append(process)
            readers.append(reader)
    finally:
        gc.unfreeze()
    try:
        while readers:
            for reader in wait(readers):
                try:
                    name = reader.recv()
                except EOFError:  # the worker has no more to draw (or died: checked below)
                    readers.remove(reader)
                    continue
                if isinstance(name, BaseException):
                    raise name
                yield name
        for process in processes:
            process.join()
            if process.exitcode != 0:
                raise RuntimeError(f"a process drawing the figures ended with exit code {process.exitcode}")
    finally:
        for process in processes:
            if process.exitcode is None:
                process.kill()
            process.join()


def _draw_in_turn(files, staging, turn, writer):
    worker_started()
    try:
        while True:
            with turn.get_lock():
                index = turn.value
                turn.value += 1
            if index >= len(files):
                return
            name, draw = files[index]
            draw(staging / name)
            writer.send(name)
    except Exception as exc:  # noqa: BLE001  (raised again in the parent, which reports it)
        writer.send(exc)


def _drawn_here(files, staging):
    for name, draw in files:
        yield name  # the caller's progress, and its chance to stop, come before each figure
        draw(staging / name)
