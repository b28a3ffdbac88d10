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


# The figures a forked worker draws, by index: a worker inherits them with the model, so nothing is pickled.
_PENDING = []


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
    if workers < 2 or not can_fork_safely():
        yield _drawn_here(files, staging)
        return
    global _PENDING
    _PENDING = files
    # The collector would visit (and so copy) every page of the park's objects in each worker: out of its sight.
    gc.freeze()
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=worker_started)
    gc.unfreeze()
    try:
        yield pool.imap(_draw_pending, [(index, str(staging)) for index in range(len(files))])
        pool.close()
    finally:
        pool.terminate()  # after close(), once every figure is drawn, this only reaps the workers
        pool.join()
        _PENDING = []


def _drawn_here(files, staging):
    for name, draw in files:
        yield name  # the caller's progress, and its chance to stop, come before each figure
        draw(staging / name)


def _draw_pending(job):
    index, folder = job
    name, draw = _PENDING[index]
    draw(Path(folder) / name)
    return name
