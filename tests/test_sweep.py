"""Sweeps: the same numbers on every backend, results never lost, bad sweep files refused.

Sweeps here run the four-firm test park for two or three years, a fraction of a
second a run.
"""

import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import psutil
import pytest
from conftest import DATA, ROOT, mini

from simulation.cli import main
from simulation.errors import ScenarioError
from simulation.experiment.runs import (
    RUN_MEASURES,
    ScenarioCache,
    run_measures,
    run_sweep,
)
from simulation.experiment.store import read_runs, read_series, read_sweep
from simulation.experiment.sweep import assignments
from simulation.experiment.sweep_file import load_sweep, sweep_of_points
from simulation.measures.outcome import outcome_of
from simulation.model import SymbiosisModel
from simulation.model.recorder import MEASURES
from simulation.scenario import load
from simulation.scenario.snapshot import Snapshot

MINI = DATA / "mini_park.toml"


def sweep_file(folder, parameters, name="mini", design="grid", replicates=2, years=2, extra=""):
    text = (f'[sweep]\nname = "{name}"\nbase = "{MINI.as_posix()}"\nyears = {years}\ndesign = "{design}"\n'
            f"replicates = {replicates}\nseed = 11\n{extra}\n[parameters]\n{parameters}\n")
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


GRID = '"policy.landfill_tax_eur_per_t" = [0, 80]\n"logistics.transport_cost_factor" = { range = [0.5, 2.0], steps = 2 }\n'


def without_timings(frame):
    return frame.drop(columns="seconds")


# -- one result whatever runs it ---------------------------------------------------------

def test_same_results_serially_in_a_process_pool_and_on_dask(tmp_path):
    from dask.distributed import LocalCluster

    sweep = load_sweep(sweep_file(tmp_path, GRID))
    serial = run_sweep(sweep, tmp_path / "serial", workers=1, progress=False)
    pool = run_sweep(sweep, tmp_path / "pool", workers=2, progress=False)
    # Threads keep the cluster's start-up short; the runs still go through Dask's scheduler and workers.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        dask = run_sweep(sweep, tmp_path / "dask", dask=cluster.scheduler_address, progress=False)
    assert (serial["status"] == "done").all() and len(serial) == 8
    pd.testing.assert_frame_equal(without_timings(serial), without_timings(pool))
    pd.testing.assert_frame_equal(without_timings(serial), without_timings(dask))
    # Replicates differ: each run has its own seed, not a shared stream.
    assert serial["seed"].nunique() == 8
    assert serial.groupby("point")["mean_active_links"].nunique().max() > 1


def test_local_dask_cluster_of_worker_processes_from_the_command_line(tmp_path):
    path = sweep_file(tmp_path, '"policy.landfill_tax_eur_per_t" = [0, 80]', replicates=2)
    assert main(["sweep", str(path), "--dask-local", "2", "--out", str(tmp_path / "dask"), "--quiet"]) == 0
    assert main(["sweep", str(path), "--workers", "1", "--out", str(tmp_path / "serial"), "--quiet"]) == 0
    pd.testing.assert_frame_equal(without_timings(read_runs(tmp_path / "dask")), without_timings(read_runs(tmp_path / "serial")))


def test_a_run_repeats_on_its_own_from_its_seed(tmp_path):
    sweep = load_sweep(sweep_file(tmp_path, GRID))
    runs = run_sweep(sweep, tmp_path / "out", workers=1, progress=False)
    row = runs.iloc[5]
    overrides = {name: row[name] for name in sweep.parameter_names()}
    scenario = sweep.load_base(overrides=assignments({k: v.item() if hasattr(v, "item") else v for k, v in overrides.items()}))
    model = SymbiosisModel(scenario, seed=int(row["seed"])).run()
    frame = model.datacollector.get_model_vars_dataframe()
    alone = run_measures(model, outcome_of(frame.__getitem__, scenario.spec.outcome))
    assert {m: row[m] for m in RUN_MEASURES} == pytest.approx(alone, abs=0, rel=0, nan_ok=True)


# -- the sweep's light run: no DataCollector, one validated scenario per design point ---------

EVENTS = ('events=[{at = "2026-01", set = {"materials.coal.virgin_price_eur" = 90.0, "materials.clinker.gate_fee_eur" = 5.0}},'
          ' {at = "2026-06", set = {"firms.cement.capacity" = 3500.0, "firms.boards.hurdle_rate" = 0.2}},'
          ' {at = "2027-01", firm = "power", switch_process = "power_wood"}, {at = "2028-01", firm = "greenhouse", leave = true}]')
SCENARIO_CASES = {
    "firms and every kind of event": (MINI, (EVENTS, "policy.landfill_tax_eur_per_t=[[0, 0.0], [12, 90.0]]"), None),
    "synthetic park": (ROOT / "scenarios" / "synthetic_park.toml", ("policy.facilitator_participation=0.5",), 2),
}


def events_happened(model):
    if model.params.park is not None:
        return len(model.firms.specs) == 50  # the generated firms
    greenhouse = model.firm_ids.index("greenhouse")
    return model.firm_list[0].process == "power_wood" and model.firms.left[greenhouse] == 36 and model.firms.capacity[1] == 3500.0


def scenario_content(scenario):
    """All a Scenario holds, as text (schedules by their periods and values)."""
    return repr((scenario.path, scenario.spec.model_dump(), scenario.catalogue.model_dump(), scenario.calendar,
                 {name: (s.periods, s.values) for name, s in scenario.policy.items()}, scenario.content_hash, scenario.overrides))


@pytest.mark.parametrize("case", SCENARIO_CASES, ids=list(SCENARIO_CASES))
def test_the_model_never_changes_its_scenario(case):
    path, overrides, years = SCENARIO_CASES[case]
    scenario = load(path, overrides, years=years)
    before = scenario_content(scenario)
    model = SymbiosisModel(scenario, seed=3).run()
    assert model.contracts.n_links > 0 and events_happened(model)
    assert scenario_content(scenario) == before


def test_recorder_holds_the_datacollector_numbers_and_a_light_run_the_same():
    scenario = load(*SCENARIO_CASES["firms and every kind of event"][:2])
    full = SymbiosisModel(scenario, seed=4).run()
    light = SymbiosisModel(scenario, seed=4, collect=False, record_exchanges=False).run()
    frame = full.datacollector.get_model_vars_dataframe()
    assert light.datacollector is None and light.recorder.months == len(frame) == scenario.periods
    for name in MEASURES:
        assert light.recorder.series(name).tolist() == full.recorder.series(name).tolist() == frame[name].astype(float).tolist()
        assert float(light.recorder.series(name).sum()) == float(frame[name].sum())  # pandas' sum, to the bit
    by_frame = outcome_of(frame.__getitem__, scenario.spec.outcome)
    assert outcome_of(light.recorder.series, scenario.spec.outcome) == by_frame
    assert run_measures(light, by_frame) == pytest.approx(run_measures(full, by_frame), abs=0, rel=0, nan_ok=True)


def test_a_model_stepped_past_its_end_keeps_recording():
    model = SymbiosisModel(mini(years=0.25), seed=1).run()
    for _ in range(5):
        model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    assert model.recorder.months == len(frame) == 8
    assert model.recorder.series("active_firms").tolist() == frame["active_firms"].astype(float).tolist()


def copied_park(tmp_path):
    """The mini park and its catalogue, copied so that a test may edit them."""
    catalogue = tmp_path / "catalogue.toml"
    catalogue.write_text((DATA / "mini_catalogue.toml").read_text())
    base = tmp_path / "park.toml"
    base.write_text(MINI.read_text().replace('"mini_catalogue.toml"', '"catalogue.toml"'))
    return base, catalogue


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_cached_scenario_gives_the_runs_of_a_fresh_load(tmp_path):
    base, _ = copied_park(tmp_path)
    snapshot = Snapshot()
    cache = ScenarioCache(size=2)
    overrides = ("policy.landfill_tax_eur_per_t=70",)
    first = cache.load(snapshot, base, overrides, years=2)
    SymbiosisModel(first, seed=9).run()  # a run on it changes nothing a later run sees
    assert cache.load(snapshot, base, overrides, years=2) is first
    cached = SymbiosisModel(cache.load(snapshot, base, overrides, years=2), seed=9, collect=False).run()
    fresh = SymbiosisModel(load(base, overrides, years=2), seed=9, collect=False).run()
    assert [cached.recorder.series(m).tolist() for m in MEASURES] == [fresh.recorder.series(m).tolist() for m in MEASURES]
    assert cached.contracts.n_links == fresh.contracts.n_links > 0

    assert cache.load(snapshot, base, overrides, years=3) is not first  # another key
    assert cache.load(snapshot, base, ("policy.landfill_tax_eur_per_t=0",), years=2) is not first
    assert cache.load(snapshot, base, overrides, years=2) is not first  # evicted: two entries kept


def test_a_sweep_runs_the_files_it_was_checked_with_though_they_are_edited_before_it_ends(tmp_path):
    base, catalogue = copied_park(tmp_path)
    path = sweep_file(tmp_path, GRID, replicates=1)
    edit(path, MINI.as_posix(), base.as_posix())
    sweep = load_sweep(path)
    clean = run_sweep(load_sweep(path), tmp_path / "clean", workers=1, progress=False)
    # Edited after the sweep was checked: its workers read the snapshot it took, not the files.
    edit(base, "capacity = 3000.0", "capacity = 300.0")
    edit(catalogue, "recovery_capex_eur = 200000.0", "recovery_capex_eur = 2000.0")
    edited = run_sweep(sweep, tmp_path / "edited", workers=2, progress=False)
    pd.testing.assert_frame_equal(without_timings(edited), without_timings(clean))
    # The files now describe another experiment: resuming the store with them is refused.
    with pytest.raises(ScenarioError, match="different sweep"):
        run_sweep(load_sweep(path), tmp_path / "edited", workers=1, progress=False, resume=True)
    again = run_sweep(load_sweep(path), tmp_path / "again", workers=1, progress=False)
    assert not without_timings(again).equals(without_timings(clean))


# -- results never lost --------------------------------------------------------------------

def stored_runs(file):
    with sqlite3.connect(file) as db:
        return db.execute("SELECT count(*), count(DISTINCT run) FROM runs").fetchone()


def started_sweep(path, out, workers, stored):
    """A sweep in its own process, once it has stored at least ``stored`` runs."""
    command = [sys.executable, "-m", "simulation", "sweep", str(path), "--workers", str(workers), "--out", str(out), "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    file = out / "results.sqlite"
    deadline = time.monotonic() + 60
    while not (file.exists() and stored_runs(file)[0] >= stored):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    return process


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "Ctrl-C"])
def test_stopped_sweep_resumes_to_every_planned_run_exactly_once(tmp_path, stop):
    path = sweep_file(tmp_path, '"policy.landfill_tax_eur_per_t" = { range = [0, 100], steps = 10 }', replicates=4, years=3)
    out = tmp_path / "out"
    file = out / "results.sqlite"
    sweep_process = started_sweep(path, out, workers=2, stored=4)
    workers = psutil.Process(sweep_process.pid).children(recursive=True)
    sweep_process.send_signal(stop)
    _, stderr = sweep_process.communicate(timeout=30)
    if stop == signal.SIGINT:
        assert sweep_process.returncode == 130 and "Traceback" not in stderr
        assert f"'symbiosis sweep {path} --resume --out {out}' runs the rest" in stderr  # the hint repeats --out
    gone, alive = psutil.wait_procs(workers, timeout=10)  # no orphan left computing
    assert not alive
    kept, distinct = stored_runs(file)
    assert kept == distinct and 4 <= kept < 40, "stopped mid-way, with no run stored twice"

    assert main(["sweep", str(path), "--workers", "1", "--out", str(out), "--resume", "--quiet"]) == 0
    assert stored_runs(file) == (40, 40)
    resumed = read_runs(out)
    clean = run_sweep(load_sweep(path), tmp_path / "clean", workers=1, progress=False)
    pd.testing.assert_frame_equal(without_timings(resumed), without_timings(clean))


def test_a_sweep_reached_through_a_symbolic_link_runs_every_run(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    base, _ = copied_park(real)
    path = sweep_file(real, GRID, replicates=1)
    edit(path, MINI.as_posix(), "park.toml")
    (tmp_path / "link").symlink_to(real)
    runs = run_sweep(load_sweep(tmp_path / "link" / path.name), tmp_path / "out", workers=2, progress=False)
    assert (runs["status"] == "done").all(), runs["error"].dropna().tolist()


def test_a_second_sweep_on_a_store_in_use_is_refused_and_the_first_goes_on(tmp_path, capsys):
    path = sweep_file(tmp_path, '"policy.landfill_tax_eur_per_t" = { range = [0, 100], steps = 6 }', replicates=2, years=4)
    out = tmp_path / "out"
    file = out / "results.sqlite"
    first = started_sweep(path, out, workers=1, stored=1)
    before = sorted(p.name for p in out.iterdir())
    assert main(["sweep", str(path), "--workers", "1", "--out", str(out), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {file}: is in use by another sweep (process {first.pid} on ") and "symbiosis sweep" in err
    assert first.poll() is None, "the second sweep was refused while the first still ran"
    assert sorted(p.name for p in out.iterdir()) == before
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert stored_runs(file) == (12, 12)
    clean = run_sweep(load_sweep(path), tmp_path / "clean", workers=1, progress=False)
    pd.testing.assert_frame_equal(without_timings(read_runs(out)), without_timings(clean))


def test_a_run_that_raises_is_recorded_with_its_error_and_the_rest_finish(tmp_path, capsys):
    # Each value is valid on its own; entry 24 with exit 12 is not, so that run fails at load.
    path = sweep_file(tmp_path, '"firms.cement.entry" = [0, 24]\n"firms.cement.exit" = [12, 30]\n', replicates=2, years=3)
    assert main(["sweep", str(path), "--workers", "2", "--out", str(tmp_path / "out"), "--quiet"]) == 3  # not all finished
    runs = read_runs(tmp_path / "out")
    bad = (runs["firms.cement.entry"] == 24) & (runs["firms.cement.exit"] == 12)
    assert (runs.loc[bad, "status"] == "failed").all() and bad.sum() == 2
    assert runs.loc[bad, "error"].str.contains("firms\\[1\\].exit: must come after entry").all()
    assert (runs.loc[~bad, "status"] == "done").all() and runs.loc[~bad, "error"].isna().all()
    assert runs.loc[bad, RUN_MEASURES.keys()].isna().all().all()
    out, err = capsys.readouterr()
    assert "6 done, 2 failed" in out and "2 of 8 runs did not finish" in err


def test_resume_refuses_a_changed_sweep_and_a_rerun_needs_resume(tmp_path, capsys):
    path = sweep_file(tmp_path, GRID, replicates=1)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--workers", "1", "--out", str(out), "--quiet"]) == 0
    before = read_runs(out)
    assert main(["sweep", str(path), "--workers", "1", "--out", str(out), "--quiet"]) == 2
    assert "add --resume" in capsys.readouterr().err
    sweep_file(tmp_path, GRID, replicates=3)  # same file, new content
    assert main(["sweep", str(path), "--workers", "1", "--out", str(out), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "different sweep (changed: replicates)" in err and str(out / "results.sqlite") in err
    pd.testing.assert_frame_equal(read_runs(out), before)


# -- bad sweep files -----------------------------------------------------------------------

BAD = [
    ("unknown parameter path", GRID.replace("landfill_tax", "landfil_tax"),
     "parameters.policy.landfil_tax_eur_per_t", "unknown field"),
    ("unknown section in a path", '"polcy.landfill_tax_eur_per_t" = [1]', "parameters.polcy.landfill_tax_eur_per_t", "unknown field"),
    ("value out of range", '"policy.facilitator_participation" = [0.5, 1.5]', "parameters.policy.facilitator_participation",
     "must lie in [0, 1]"),
    ("empty range", '"policy.landfill_tax_eur_per_t" = { range = [50, 50], steps = 3 }', "parameters", "empty range"),
    ("empty list of values", '"policy.landfill_tax_eur_per_t" = []', "parameters", "empty list"),
    ("grid range without steps", '"policy.landfill_tax_eur_per_t" = { range = [0, 50] }', "parameters.policy.landfill_tax_eur_per_t",
     "needs steps"),
    ("replicates below 1", GRID, "sweep.replicates", "greater than or equal to 1", {"replicates": 0}),
    ("unknown design", GRID, "sweep.design", "unknown design 'factorial'", {"design": "factorial"}),
    ("sampled design over listed values", GRID, "parameters.policy.landfill_tax_eur_per_t", "samples from ranges",
     {"design": "lhs", "extra": "samples = 8"}),
    ("sobol samples not a power of 2", '"policy.landfill_tax_eur_per_t" = { range = [0, 50] }', "sweep.samples", "power of 2",
     {"design": "sobol", "extra": "samples = 10"}),
    ("unknown measure", GRID, "sweep.measures[1]", "unknown measure 'co2'", {"extra": 'measures = ["links_formed", "co2"]'}),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_sweep_file_gives_one_clear_error_and_writes_nothing(tmp_path, capsys, case):
    _, parameters, field, words, *options = case
    path = sweep_file(tmp_path, parameters, **(options[0] if options else {}))
    assert_refused(tmp_path, path, f"error: {path}: {field}", words, capsys)


def test_missing_base_and_toml_syntax_errors_name_the_sweep_file(tmp_path, capsys):
    path = sweep_file(tmp_path, GRID)
    path.write_text(path.read_text().replace(MINI.as_posix(), "nosuch.toml"))
    assert_refused(tmp_path, path, f"error: {path}: sweep.base", "not found", capsys)
    path.write_text(path.read_text().replace("replicates = 2", "replicates = "))
    assert_refused(tmp_path, path, f"error: {path}", "not valid TOML", capsys)


def assert_refused(tmp_path, path, where, words, capsys):
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--workers", "1", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(where) and words in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


# -- designs, the store and export ---------------------------------------------------------

def test_sobol_points_come_in_the_order_salib_analyses(tmp_path):
    from SALib.analyze import sobol

    path = sweep_file(tmp_path, '"policy.landfill_tax_eur_per_t" = { range = [0, 100] }\n'
                                '"logistics.transport_cost_factor" = { range = [0.5, 2.0] }\n', design="sobol", extra="samples = 256")
    sweep = load_sweep(path)
    points = list(sweep.points())
    assert len(points) == sweep.n_points() == 256 * (2 + 2)
    # A response driven by the tax alone must put all of the variance on the tax.
    response = np.array([p.overrides["policy.landfill_tax_eur_per_t"] for p in points])
    indices = sobol.analyze(sweep.problem(), response, calc_second_order=False, seed=1)
    assert indices["ST"][0] == pytest.approx(1, abs=0.05) and indices["ST"][1] == pytest.approx(0, abs=0.01)


def test_sampled_integer_parameters_are_whole_numbers_within_their_range(tmp_path):
    sweep = load_sweep(sweep_file(tmp_path, '"search.candidates" = { range = [2, 12], integer = true }', design="lhs", extra="samples = 20"))
    values = [p.overrides["search.candidates"] for p in sweep.points()]
    assert all(isinstance(v, int) and 2 <= v <= 12 for v in values) and len(set(values)) > 5


def test_points_design_from_python_keeps_labels_and_base_values(tmp_path):
    sweep = sweep_of_points("policies", MINI, [("baseline", {}), ("tax", {"policy.landfill_tax_eur_per_t": 90})],
                              replicates=2, seed=3, measures=["links_formed", "waste_diverted_share"], keep_series=True, years=2)
    runs = run_sweep(sweep, tmp_path / "out", workers=1, progress=False)
    assert list(runs["label"]) == ["baseline", "baseline", "tax", "tax"]
    assert runs["policy.landfill_tax_eur_per_t"].isna().tolist() == [True, True, False, False]  # baseline: the scenario's own value
    assert list(runs.columns[-2:]) == ["links_formed", "waste_diverted_share"]
    series = read_series(tmp_path / "out", runs=[2])
    assert len(series) == 24 and (series["run"] == 2).all()
    assert read_sweep(tmp_path / "out") == sweep


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_round_trip(tmp_path, fmt):
    path = sweep_file(tmp_path, GRID, extra="keep_series = true")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--workers", "1", "--out", str(out), "--quiet"]) == 0
    assert main(["export", str(out), "--format", fmt]) == 0
    read = {"csv": pd.read_csv, "parquet": pd.read_parquet}[fmt]
    runs, stored = read(out / f"runs.{fmt}"), read_runs(out)
    assert runs["error"].isna().equals(stored["error"].isna())  # CSV has one empty value for None and NaN
    pd.testing.assert_frame_equal(runs.drop(columns="error"), stored.drop(columns="error"), check_dtype=False)
    series = read(out / f"series.{fmt}")
    pd.testing.assert_frame_equal(series, read_series(out), check_dtype=False)


def test_export_of_a_folder_without_results_is_bad_input(tmp_path, capsys):
    assert main(["export", str(tmp_path), "--format", "csv"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path}: no sweep results here")
    assert list(tmp_path.iterdir()) == []


def test_shipped_sweeps_load():
    for path in sorted((ROOT / "scenarios" / "sweeps").glob("*.toml")):
        sweep = load_sweep(path)
        assert sweep.planned() == len(list(sweep.runs())) >= 100, path
