"""The notebooks students start from run top to bottom against the current code."""

import json
import os

import matplotlib
import pytest
from conftest import ROOT

matplotlib.use("Agg")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    monkeypatch.chdir(ROOT / "notebooks")
    cells = json.loads(path.read_text())["cells"]
    namespace = {}
    for cell in cells:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{path.name}", "exec"), namespace)
    assert os.getcwd() == str(ROOT)  # the notebook moved to the repository root itself
