"""A run's result folder: its tables, its metadata and its figures, replaced as a whole.

Figures are drawn with whatever matplotlib backend is in use; the CLI picks a
file-only one, a notebook keeps its own.
"""

import json
from pathlib import Path

from simulation.output.files import replaced_folder
from simulation.output.tables import TABLES, check_finite, metadata


def write_results(model, out_dir, command, outcome, figures=True, progress=None):
    """Write every output file of a run into ``out_dir``, replacing an earlier result there as a whole.

    ``out_dir`` must be new, empty, or a run's result this tool wrote there
    before (:func:`simulation.output.files.check_destination`). ``progress``, if given,
    is called with each file's name as it is written, and with None just before
    the result is swapped in (the last moment at which raising stops it).
    """
    progress = progress or (lambda name: None)
    with replaced_folder(out_dir, "run") as staging:
        tables = {}
        for name, table in TABLES.items():
            progress(name)
            tables[name] = frame = table(model)
            check_finite(frame, name, model)
            frame.to_csv(staging / name, index=False)
        progress("metadata.json")
        with open(staging / "metadata.json", "w") as handle:
            json.dump(metadata(model, command, outcome), handle, indent=2, sort_keys=True, allow_nan=False)
            handle.write("\n")
        if figures:
            from simulation.output.figures import (
                figure_files,  # matplotlib (25 MiB) only when figures are drawn
            )

            for name, draw in figure_files(model, links=tables["links.csv"], yearly=tables["yearly.csv"]):
                progress(name)
                draw(staging / name)
        progress(None)
    return Path(out_dir)


def output_files(model, figures=True):
    """How many files :func:`write_results` writes (for a progress bar): the tables, metadata and the figures."""
    if not figures:
        return len(TABLES) + 1
    from simulation.output.figures import count_figures

    return len(TABLES) + 1 + count_figures(model)
