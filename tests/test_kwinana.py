"""The Kwinana scenario: it loads and runs, its record names only what the scenario has, its plants do what
their facts say (entries, exits, the power station's coal years), and no firm trades outside its life.

One full run (1955-2024, about 3 s) is shared by the tests of this module. Scores against the record are not
tested: docs/kwinana.md reports them, and no threshold was fitted to what comes out.
"""

import numpy as np
import pytest
from conftest import ROOT

from simulation.model import SymbiosisModel
from simulation.output.palette import MATERIAL_COLOURS
from simulation.output.tables import link_table
from simulation.output.validation import history_file, load_record
from simulation.scenario import load

SCENARIO = ROOT / "scenarios" / "kwinana.toml"


@pytest.fixture(scope="module")
def scenario():
    return load(SCENARIO)


@pytest.fixture(scope="module")
def model(scenario):
    return SymbiosisModel(scenario).run()


def month(model, when):
    return model.calendar.period_of(when)


def generated(model, material):
    """Monthly units generated of ``material`` over the run, all emitters together."""
    i = model.materials.index[material]
    return np.array([table[i, 0] for table in model.recorder.material_flows])


def test_a_shortened_run_loads_and_runs():
    model = SymbiosisModel(load(SCENARIO, years=15)).run()
    assert model.calendar.label(0) == "1955-10" and model.calendar.label(model.period - 1) == "1970-09"
    assert model.contracts.n_links > 0


def test_full_run_spans_1955_to_2024(model):
    assert model.calendar.label(0) == "1955-10" and model.calendar.label(model.period - 1) == "2024-12"


def test_record_names_only_firms_and_materials_the_scenario_has(scenario):
    path = history_file(scenario)
    assert path is not None and path.name == "kwinana_history.toml"
    record = load_record(path)
    model = SymbiosisModel(load(SCENARIO, years=1))
    firms = set(model.firm_ids)
    materials = set(model.materials.ids)
    assert len(record) > 0
    for exchange in record:
        assert exchange["supplier"] in firms, exchange
        assert set(exchange["receiver"]) <= firms, exchange
        assert set(exchange["material"]) <= materials, exchange
        assert exchange["start"] <= record.horizon


def test_every_catalogue_material_has_a_palette_colour():
    model = SymbiosisModel(load(SCENARIO, years=1))
    missing = [m for m in model.materials.ids if m not in MATERIAL_COLOURS]
    assert not missing


def test_firms_enter_and_leave_when_the_scenario_says(model):
    for firm, entry, exit_ in [("alcoa", "1963-01", "2024-07"), ("nickel", "1970-05", "2024-10"),
                               ("hismelt", "2005-12", "2009-01"), ("bp_refinery", "1955-10", "2021-04")]:
        i = model.firm_ids.index(firm)
        assert model.firms.entry[i] == month(model, entry)
        assert not model.firms.active[i] and model.firms.left[i] == month(model, exit_)
    assert model.firms.active[model.firm_ids.index("tiwest_pigment")]


def test_no_firm_trades_outside_its_life(model):
    book = model.contracts
    for period, ids, _, shipped, _ in model.recorder.exchanges:
        moving = ids[shipped > 0]
        for side in (book.supplier[moving], book.receiver[moving]):
            assert (model.firms.entry[side] <= period).all()
            left = model.firms.left[side]
            assert ((left < 0) | (left > period)).all()


def test_power_station_burns_coal_only_between_its_fuel_switches(model):
    ash = generated(model, "fly_ash")
    coal, gas = month(model, "1978-01"), month(model, "1986-01")
    assert not ash[:coal].any() and ash[coal:gas].min() > 0 and not ash[gas:].any()
    links = link_table(model)
    ash_links = links[links.material == "fly_ash"]
    assert (ash_links.ended != "").all() and (ash_links.ended <= "1986-01").all()


def test_refinery_hydrogen_stops_with_refining(model):
    h2 = model.materials.index["hydrogen_byproduct"]
    book = model.contracts
    refinery = model.firm_ids.index("bp_refinery")
    mine = np.flatnonzero((book.supplier == refinery) & (book.waste == h2))
    assert len(mine) > 0 and (book.end[mine] <= month(model, "2021-04")).all() and (book.end[mine] >= 0).all()
