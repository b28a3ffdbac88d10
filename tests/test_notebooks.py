"""The teaching notebooks run top to bottom against the current code, and every figure cell draws its figure.

Each notebook is a pair (``scripts/notebooks.py``): ``notebooks/NN_name.py``, the text a diff shows, and
``NN_name.ipynb``, the same cells stored with their outputs so that GitHub shows the figures. Here each
notebook is built from its ``.py``, executed in a fresh Jupyter kernel (nbclient) with the inline backend,
and every cell tagged ``figure`` must have produced a PNG. The pairs must be in step, the stored notebooks
executed with their figures, and no cell that draws a figure may go untagged.
"""

import importlib.util
import json

import pytest
from conftest import ROOT

spec = importlib.util.spec_from_file_location("notebooks", ROOT / "scripts" / "notebooks.py")
notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(notebooks)

PAIRS = notebooks.pairs()
NAMES = [py.stem for py, _ in PAIRS]
EXPECTED = ["01_first_park", "02_costs_and_policies", "03_kalundborg", "04_sweeps_and_regimes"]


def test_the_four_teaching_notebooks_are_there_in_pairs():
    assert NAMES == EXPECTED
    for py, ipynb in PAIRS:
        assert notebooks.out_of_step(py, ipynb) is None, notebooks.out_of_step(py, ipynb)


def test_the_plain_text_twin_reads_back_to_the_same_cells():
    for py, _ in PAIRS:
        text = py.read_text()
        assert notebooks.write_py(notebooks.read_py(text)) == text


@pytest.mark.parametrize("name", NAMES)
def test_stored_notebook_has_its_outputs_and_nothing_volatile(name):
    stored = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
    code = [c for c in stored["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), "not executed top to bottom"
    figures = notebooks.figure_cells(stored)
    assert figures, "a teaching notebook without a figure"
    assert [i for i, c in figures if not notebooks.has_image(c)] == []
    assert not any(o.get("output_type") == "error" for c in code for o in c["outputs"])
    assert all("execution" not in c["metadata"] for c in stored["cells"]), "execution timestamps stored"
    assert "version" not in stored["metadata"].get("language_info", {})
    assert [c["id"] for c in stored["cells"]] == [f"cell-{i:02d}" for i in range(1, len(stored["cells"]) + 1)]


@pytest.mark.parametrize("name", NAMES)
def test_every_cell_that_draws_is_tagged_figure(name):
    cells = notebooks.read_py((ROOT / "notebooks" / f"{name}.py").read_text())
    untagged = notebooks.untagged_drawing_cells(notebooks.new_notebook(cells))
    assert untagged == [], [c["source"][:80] for c in untagged]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_and_each_figure_cell_draws_an_image(name):
    pytest.importorskip("nbclient")
    cells = notebooks.read_py((ROOT / "notebooks" / f"{name}.py").read_text())
    # The kernel imports `simulation` from the checkout the notebook is in (its first cell puts the root on sys.path).
    cells.append({"cell_type": "code", "tags": [], "source": "import os, simulation\nprint(os.getcwd())\nprint(simulation.__file__)"})
    executed = notebooks.execute(notebooks.new_notebook(cells))
    figures = notebooks.figure_cells(executed)
    missing = [c["source"][:80] for _, c in figures if not notebooks.has_image(c)]
    assert missing == [], f"figure cells without an image/png output: {missing}"
    cwd, package = "".join(o.get("text", "") for o in executed.cells[-1].outputs).split()
    assert cwd == str(ROOT)  # the notebook moved to the repository root itself
    assert package == str(ROOT / "simulation" / "__init__.py")
