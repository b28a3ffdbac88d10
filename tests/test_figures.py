"""Figures read at a glance and render anywhere: one colour per material, labels apart, dates, units, Jupyter."""

import itertools
import re
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

matplotlib.use("Agg")  # the test picks the backend, as the CLI does; the library never does
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.dates import ConciseDateFormatter  # noqa: E402

from simulation.model import SymbiosisModel  # noqa: E402
from simulation.output.figures import (  # noqa: E402
    benefits_figure,
    network_figure,
    timeline_figure,
    timeline_rows,
    timeseries_figure,
)
from simulation.output.labels import measure_label, parameter_label  # noqa: E402
from simulation.output.network_drawing import bends, repel  # noqa: E402
from simulation.output.palette import MATERIAL_COLOURS, lab, material_colour  # noqa: E402
from simulation.output.sweep_figures import comparison_figure  # noqa: E402
from simulation.output.tables import link_table, yearly_table  # noqa: E402
from simulation.output.validation import history_file, load_record  # noqa: E402
from simulation.scenario import load  # noqa: E402
from simulation.scenario.snapshot import read_toml  # noqa: E402

MIN_DISTANCE = 20  # CIELAB (CIE76) units; about 2.3 is a just noticeable difference
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="module")
def runs():
    """Two different scenarios, a few years each: (model, links, yearly)."""
    found = {}
    for name, years in (("demo_park", 3), ("kalundborg", 40)):
        model = SymbiosisModel(load(SCENARIOS / f"{name}.toml", years=years)).run()
        found[name] = (model, link_table(model), yearly_table(model))
    return found


# -- the palette --------------------------------------------------------------------------------


def test_every_catalogue_material_has_a_fixed_colour_far_from_every_other():
    catalogue = read_toml(SCENARIOS / "data" / "materials.toml")["materials"]
    assert set(catalogue) <= set(MATERIAL_COLOURS)
    colours = [lab(c) for c in MATERIAL_COLOURS.values()]
    closest = min(np.linalg.norm(a - b) for a, b in itertools.combinations(colours, 2))
    assert closest >= MIN_DISTANCE


def test_colour_families_by_unit():
    """Energy warm (red to amber), water cool (cyan to blue): a glance tells the kind of stream."""
    catalogue = read_toml(SCENARIOS / "data" / "materials.toml")["materials"]
    for material, entry in catalogue.items():
        lightness, a, b = lab(MATERIAL_COLOURS[material])
        hue = np.degrees(np.arctan2(b, a)) % 360
        if entry["unit"] == "MWh":
            assert 15 <= hue <= 80, material
        elif entry["unit"] == "m3":
            assert 190 <= hue <= 300, material
        else:
            assert not 190 <= hue <= 300 or np.hypot(a, b) < 20, material


def test_a_material_outside_the_catalogue_gets_the_same_colour_every_time():
    assert material_colour("my_own_sludge", "t") == material_colour("my_own_sludge", "t")
    assert material_colour("steam", "MWh") == MATERIAL_COLOURS["steam"]


def _legend_colours(fig):
    """Material -> colour of every legend entry of a figure that names a material (``id (unit)``)."""
    found = {}
    for ax in fig.axes:
        for legend in [a for a in ax.get_children() if isinstance(a, matplotlib.legend.Legend)]:
            for handle, text in zip(legend.legend_handles, legend.get_texts()):
                match = re.fullmatch(r"(\w+) \((t|MWh|m3)\)", text.get_text())
                if match:
                    colour = handle.get_color() if hasattr(handle, "get_color") else handle.get_facecolor()
                    found[match.group(1)] = to_hex(colour)
    return found


def test_a_material_has_one_colour_in_every_figure_of_every_run(runs):
    seen = {}
    for name, (model, links, _) in runs.items():
        figures = [network_figure(model), timeline_figure(model, links)]
        for fig in figures:
            colours = _legend_colours(fig)
            assert colours, name
            for material, colour in colours.items():
                assert seen.setdefault(material, colour) == colour == MATERIAL_COLOURS[material], (name, material)
            plt.close(fig)
    assert {"steam", "surplus_heat"} <= set(seen)  # materials common to both parks were compared


def test_network_edges_carry_only_material_colours(runs):
    model, _, _ = runs["demo_park"]
    fig = network_figure(model)
    drawn = {to_hex(c) for ax in fig.axes for coll in ax.collections if isinstance(coll, LineCollection)
             for c in coll.get_colors()}
    assert drawn <= set(_legend_colours(fig).values()) | {to_hex("0.45")}  # leader lines are grey
    plt.close(fig)


# -- networks -----------------------------------------------------------------------------------


def test_links_both_ways_between_two_firms_curve_apart():
    a, b = np.array([0, 1, 0, 2, 0]), np.array([1, 0, 1, 3, 4])
    bent = bends(a, b)
    assert bent[3] == bent[4] == 0  # the only edge between its two firms is straight
    assert bent[0] == bent[1] == 1 and bent[2] == 2  # each direction to its own right; a second waste further


def test_repelled_labels_do_not_overlap():
    centres = repel(np.zeros((6, 2)), np.full((6, 2), [40.0, 10.0]), np.zeros((6, 2)) - 100, 3.0, (-500, -500, 500, 500))
    for i, j in itertools.combinations(range(6), 2):
        assert (np.abs(centres[i] - centres[j]) >= [40 - 1e-6, 10 - 1e-6]).any()


def test_network_labels_do_not_overlap(runs):
    for model, _, _ in runs.values():
        fig = network_figure(model)
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text() in model.firm_ids]
            for first, second in itertools.combinations(boxes, 2):
                overlap = min(first.x1, second.x1) - max(first.x0, second.x0), min(first.y1, second.y1) - max(first.y0, second.y0)
                assert min(overlap) <= 1.0  # pixels: touching at most
        plt.close(fig)


# -- time, units, the timeline ------------------------------------------------------------------


def test_time_axes_are_dates_and_every_axis_has_a_unit(runs):
    model, _, yearly = runs["demo_park"]
    for fig in (timeseries_figure(model), benefits_figure(model, yearly)):
        for ax in fig.axes:
            assert ax.get_ylabel(), ax.get_title()
            if ax.get_xlabel():
                assert isinstance(ax.xaxis.get_major_formatter(), ConciseDateFormatter)
        plt.close(fig)


def test_a_link_signed_again_is_one_row_and_the_record_is_drawn_beside_it(runs):
    model, links, _ = runs["kalundborg"]
    rows = timeline_rows(links)
    assert len(rows) == len(links.drop_duplicates(["material", "supplier", "receiver"]))
    assert any(len(r["spans"]) > 1 for r in rows)
    record = load_record(history_file(model.config))
    fig = timeline_figure(model, links, record)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert all(":" in label for label in labels)  # supplier -> receiver: material
    assert len(labels) >= len(rows)
    assert "recorded history" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    plt.close(fig)


# -- many runs ----------------------------------------------------------------------------------


def test_parameters_and_measures_are_named_for_people():
    assert parameter_label("policy.landfill_tax_eur_per_t") == "landfill tax (EUR/t)"
    assert parameter_label("logistics.pipeline_lead_months") == "pipeline lead (months)"
    assert parameter_label("search.cost_eur") == "search cost (EUR)"
    assert parameter_label("policy.facilitator_participation") == "facilitator participation (share)"
    assert measure_label("co2_avoided_t") == "CO2 avoided (t)"


def test_an_unbounded_ratio_is_drawn_as_such_not_as_the_largest_value():
    rows = [("baseline", "co2_avoided_t", "CO2 avoided", "t", 100.0, 90.0, 110.0),
            ("a", "co2_avoided_t", "CO2 avoided", "t", 120.0, 100.0, 140.0),
            ("b", "co2_avoided_t", "CO2 avoided", "t", 101.0, 95.0, 107.0),
            ("a", "ratio", "cost per t", "EUR/t", 50.0, 20.0, np.inf),
            ("b", "ratio", "cost per t", "EUR/t", -10184.0, -np.inf, np.inf)]
    table = pd.DataFrame(rows, columns=["package", "quantity", "label", "unit", "estimate", "ci_low", "ci_high"])
    fig = comparison_figure(table, ["co2_avoided_t", "ratio"], "test")
    ratio = fig.axes[1]
    texts = [t.get_text() for t in ratio.texts]
    assert "not estimable (interval unbounded)" in texts and "unbounded" in texts
    assert ratio.get_xlim()[0] > -1000  # the meaningless estimate does not set the scale
    plt.close(fig)


# -- Jupyter ------------------------------------------------------------------------------------


def test_the_library_never_picks_a_backend():
    users = [p for p in (ROOT / "simulation").rglob("*.py") if "matplotlib.use(" in p.read_text()]
    assert [p.relative_to(ROOT).as_posix() for p in users] == ["simulation/cli.py"]


def test_figures_render_inline_in_a_jupyter_kernel():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n%matplotlib inline",
        "from simulation.model import SymbiosisModel\nfrom simulation.scenario import load\n"
        "from simulation.output.figures import network_figure, timeseries_figure\n"
        f"model = SymbiosisModel(load({str(SCENARIOS / 'demo_park.toml')!r}, years=2)).run()",
        "import matplotlib; print(matplotlib.get_backend())",
        "network_figure(model);",
        "timeseries_figure(model);",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    backend = "".join(o.get("text", "") for o in notebook.cells[2].outputs)
    assert "inline" in backend
    for cell in notebook.cells[3:]:
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.source


# -- drawn in other processes ---------------------------------------------------------------------

YEARS = ["--years", "3", "--set", "report.network_years=[2025, 2026, 2027]"]


def _cli_result(tmp_path, name, workers):
    """The result files of a three-year demo run by the CLI, its figures drawn by ``workers`` processes."""
    out = tmp_path / name
    subprocess.run([sys.executable, "-m", "simulation", "run", str(SCENARIOS / "demo_park.toml"), *YEARS, "--quiet",
                    "--workers", str(workers), "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
    return {path.name: path.read_bytes() for path in out.iterdir() if path.suffix in (".png", ".csv")}


def test_figures_drawn_in_other_processes_are_the_same_to_the_byte(tmp_path):
    here, elsewhere = _cli_result(tmp_path, "one", 1), _cli_result(tmp_path, "three", 3)
    assert {"network_2025.png", "network_2026.png", "network_2027.png", "timeline.png"} <= set(here)
    assert here == elsewhere


def test_a_figure_failing_in_another_process_fails_the_write_and_keeps_the_old_result(tmp_path, monkeypatch):
    from simulation.measures.outcome import outcome_of
    from simulation.output import figures as figure_module
    from simulation.output.results import write_results
    from simulation.processes import can_fork_safely

    if not can_fork_safely():
        pytest.skip("this process cannot fork (another thread runs)")
    model = SymbiosisModel(load(SCENARIOS / "demo_park.toml", years=1), collect_agents=False)
    model.run()
    outcome = outcome_of(model.datacollector.get_model_vars_dataframe().__getitem__, model.config.spec.outcome)
    out = tmp_path / "out"
    write_results(model, out, "test", outcome, workers=1)
    old = {path.name: path.read_bytes() for path in out.iterdir()}

    def broken(target):
        raise ValueError("no room on the canvas")

    drawn = figure_module.figure_files
    monkeypatch.setattr(figure_module, "figure_files", lambda *a, **k: drawn(*a, **k)[:2] + [("broken.png", broken)])
    with pytest.raises(RuntimeError, match="drawing broken.png failed: ValueError: no room on the canvas"):
        write_results(model, out, "test", outcome, workers=2)
    assert {path.name: path.read_bytes() for path in out.iterdir()} == old
