"""The teaching notebooks: each ``notebooks/NN_name.ipynb`` is stored with its outputs beside a plain-text twin ``NN_name.py``.

Usage: .venv/bin/python scripts/notebooks.py run [NAME ...]     # .py -> .ipynb, executed, outputs stored
       .venv/bin/python scripts/notebooks.py pull [NAME ...]    # .ipynb -> .py, after editing a notebook in Jupyter
       .venv/bin/python scripts/notebooks.py check              # are the pairs in step? (exit 1 if not)

The ``.py`` twin is in jupytext's "percent" format (``# %%`` starts a code cell,
``# %% [markdown]`` a Markdown cell whose lines are commented, ``# %% tags=["figure"]``
a code cell with tags), so a diff of a notebook reads as a diff of code and text, and
jupytext (not needed here) opens it too. Only the cells' kind, tags and source are in
the twin; outputs are in the ``.ipynb`` alone.

``run`` executes the notebook top to bottom in a fresh Jupyter kernel started in
``notebooks/`` (nbclient, as ``tests/test_notebooks.py`` does) and stores it with its
outputs, so its figures show on GitHub. What would change from one run to the next
without a change of content is left out: execution timestamps, the kernel's Python
version, random cell ids (cells get ids from their position). The figures themselves are
the same bytes each time on the same library versions (seeded runs; the notebooks ask
the inline backend not to stamp matplotlib's version into its PNGs).

A code cell that draws a figure carries the tag ``figure``; the test checks that each
such cell produced an image, and that no cell drawing one goes untagged (:data:`DRAWS`).
"""

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "notebooks"
FIGURE_TAG = "figure"
TIMEOUT = 600  # seconds a cell may take: generous, the notebooks take about a minute in all
CELL = re.compile(r"^# %%(?: \[(?P<kind>markdown)\])?(?: tags=(?P<tags>\[.*\]))?\s*$")
# A cell that calls one of these draws a figure (the project's figure functions, matplotlib, pandas' plot).
DRAWS = re.compile(r"\b\w*_figure\(|\bnetwork_at\(|\bplt\.|\.plot\(")


# -- the plain-text twin --------------------------------------------------------------------------


def read_py(text):
    """Cells of a percent-format text: a list of dicts with ``cell_type``, ``tags`` and ``source``."""
    cells, current = [], None
    for line in text.splitlines():
        match = CELL.match(line)
        if match:
            current = {"cell_type": "markdown" if match["kind"] else "code",
                       "tags": json.loads(match["tags"]) if match["tags"] else [], "lines": []}
            cells.append(current)
        elif current is None:
            if line.strip():
                raise ValueError(f"text before the first '# %%' line: {line!r}")
        elif current["cell_type"] == "markdown":
            if line and line != "#" and not line.startswith("# "):
                raise ValueError(f"a Markdown line that is not commented: {line!r}")
            current["lines"].append(line[2:])
        else:
            current["lines"].append(line)
    for cell in cells:
        lines = cell.pop("lines")
        while lines and not lines[-1].strip():  # the blank line that separates cells
            lines.pop()
        cell["source"] = "\n".join(lines)
    return cells


def write_py(cells):
    """Percent-format text of cells (dicts with ``cell_type``, ``tags`` and ``source``); :func:`read_py` reads it back."""
    parts = []
    for cell in cells:
        header = "# %%" + (" [markdown]" if cell["cell_type"] == "markdown" else "")
        if cell["tags"]:
            header += " tags=" + json.dumps(cell["tags"])
        lines = cell["source"].split("\n")
        if cell["cell_type"] == "markdown":
            lines = ["# " + line if line else "#" for line in lines]
        parts.append("\n".join([header, *lines]))
    return "\n\n".join(parts) + "\n"


def cells_of(notebook):
    """The twin's view of a notebook (nbformat node or dict): kind, tags and source of each cell."""
    return [{"cell_type": c["cell_type"], "tags": list(c.get("metadata", {}).get("tags", [])),
             "source": "".join(c["source"]) if isinstance(c["source"], list) else c["source"]}
            for c in notebook["cells"]]


# -- the notebook ----------------------------------------------------------------------------------


def new_notebook(cells):
    """An unexecuted notebook of the twin's cells, with ids from the cells' positions."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    for i, cell in enumerate(cells, 1):
        make = nbformat.v4.new_markdown_cell if cell["cell_type"] == "markdown" else nbformat.v4.new_code_cell
        node = make(cell["source"])
        node["id"] = f"cell-{i:02d}"
        if cell["tags"]:
            node["metadata"]["tags"] = list(cell["tags"])
        notebook.cells.append(node)
    notebook.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}}
    return notebook


def execute(notebook, timeout=TIMEOUT):
    """Run every cell in a fresh kernel whose working folder is ``notebooks/``; stops at the first error."""
    import nbclient

    nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(FOLDER)}}).execute()
    return strip(notebook)


def strip(notebook):
    """Leave out what changes between two runs of the same content: timestamps, the kernel's version details."""
    for cell in notebook.cells:
        cell["metadata"].pop("execution", None)
        for output in cell.get("outputs", []):
            output.get("metadata", {}).pop("execution", None)
    notebook.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}}
    return notebook


def figure_cells(notebook):
    """(index, cell) of the code cells tagged as drawing a figure."""
    return [(i, c) for i, c in enumerate(notebook["cells"])
            if c["cell_type"] == "code" and FIGURE_TAG in c.get("metadata", {}).get("tags", [])]


def untagged_drawing_cells(notebook):
    """Code cells that call a figure function or matplotlib but are not tagged ``figure`` (there should be none)."""
    return [c for c in notebook["cells"] if c["cell_type"] == "code" and DRAWS.search(cell_source(c))
            and FIGURE_TAG not in c.get("metadata", {}).get("tags", [])]


def cell_source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def has_image(cell):
    return any("image/png" in output.get("data", {}) for output in cell.get("outputs", []))


# -- the commands ----------------------------------------------------------------------------------


def pairs(names=()):
    """(py, ipynb) paths of the named notebooks (stem or file name), or of every notebook with a twin."""
    stems = [Path(n).stem for n in names] or sorted({p.stem for p in FOLDER.glob("[0-9]*.py")}
                                                    | {p.stem for p in FOLDER.glob("[0-9]*.ipynb")})
    return [(FOLDER / f"{s}.py", FOLDER / f"{s}.ipynb") for s in stems]


def write_notebook(notebook, path):
    import nbformat

    text = nbformat.writes(notebook, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n")


def run(names=()):
    import time

    for py, ipynb in pairs(names):
        started = time.perf_counter()
        notebook = execute(new_notebook(read_py(py.read_text())))
        write_notebook(notebook, ipynb)
        missing = [i for i, c in figure_cells(notebook) if not has_image(c)]
        print(f"{ipynb.relative_to(ROOT)}: executed in {time.perf_counter() - started:.0f} s"
              + (f"; figure cells without an image: {missing}" if missing else ""))
        if missing:
            return 1
    return 0


def pull(names=()):
    for py, ipynb in pairs(names):
        py.write_text(write_py(cells_of(json.loads(ipynb.read_text()))))
        print(f"{py.relative_to(ROOT)} written from {ipynb.name}; `scripts/notebooks.py run` stores its outputs again")
    return 0


def out_of_step(py, ipynb):
    """Why a pair is not in step, or None."""
    if not py.exists() or not ipynb.exists():
        return f"{(ipynb if py.exists() else py).name} is missing"
    if write_py(cells_of(json.loads(ipynb.read_text()))) != py.read_text():
        return f"{ipynb.name} and {py.name} hold different cells"
    return None


def check():
    problems = [p for p in (out_of_step(py, ipynb) for py, ipynb in pairs()) if p]
    for problem in problems:
        print(f"notebooks/{problem}: run `scripts/notebooks.py run` after editing the .py, "
              "or `scripts/notebooks.py pull` after editing the .ipynb", file=sys.stderr)
    return 1 if problems else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "pull", "check"])
    parser.add_argument("names", nargs="*", help="notebooks by stem, e.g. 01_first_park (default: all)")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check()
    return {"run": run, "pull": pull}[args.command](args.names)


if __name__ == "__main__":
    sys.exit(main())
