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
import traceback
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
             else FigureWorkers(files, staging, workers))
    try:
        yield drawn
    finally:
        drawn.close()  # a worker still drawing is stopped before the staging folder goes


class FigureWorkers:
    """Forked processes that draw the figures, started at once; iterating gives each figure's name as it is saved.

    Worker ``i`` draws figures ``i, i + n, i + 2n ...``, so the workers share
    nothing but their pipes to the parent. Plain processes rather than a pool:
    :meth:`close` stops them with a kill that takes no lock a killed worker may hold.
    """

    def __init__(self, files, staging, workers):
        context = multiprocessing.get_context("fork")
        self.processes, self.readers = [], []
        gc.freeze()  # the collector would visit (and so copy) every page of the park's objects in each worker
        try:
            for first in range(workers):
                reader, writer = context.Pipe(duplex=False)
                process = context.Process(target=_draw_share, args=(files[first::workers], staging, writer), daemon=True)
                self.processes.append(process)
                process.start()
                writer.close()
                self.readers.append(reader)
        except BaseException:
            self.close()
            raise
        finally:
            gc.unfreeze()

    def __iter__(self):
        readers = list(self.readers)
        while readers:
            for reader in wait(readers):
                try:
                    message = reader.recv()
                except EOFError:  # the worker has no more to draw (or died: checked below)
                    readers.remove(reader)
                    continue
                if isinstance(message, tuple):  # (figure, the worker's error and traceback)
                    raise RuntimeError(f"drawing {message[0]} failed: {message[1]}\n{message[2]}")
                yield message
        for process in self.processes:
            process.join()
            if process.exitcode != 0:
                raise RuntimeError(f"a process drawing the figures ended with exit code {process.exitcode}")

    def close(self):
        for process in self.processes:
            if process.pid is not None and process.exitcode is None:
                process.kill()
            if process.pid is not None:
                process.join()


def _draw_share(files, staging, writer):
    worker_started()
    for name, draw in files:
        try:
            draw(staging / name)
        except Exception as exc:  # noqa: BLE001  (as text: any exception pickles so, and the parent reports it)
            writer.send((name, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
            return
        writer.send(name)


def _drawn_here(files, staging):
    for name, draw in files:
        yield name  # the caller's progress, and its chance to stop, come before each figure
        draw(staging / name)
