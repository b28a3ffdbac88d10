"""Regime shares, response curves and sensitivity indices on runs tables with a known answer.

The tables are synthetic: the measure is a known function of the parameters
(plus replicate noise), so the analysis is checked without the model.
"""

import numpy as np
import pandas as pd
import pytest
from conftest import DATA
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from simulation.experiment.analysis import (
    REGIMES,
    default_bins,
    regime_shares,
    response_curve,
    sensitivity_indices,
    sobol_second_order,
)

ISHIGAMI = {"num_vars": 3, "names": ["a.x1", "a.x2", "a.x3"], "bounds": [[-np.pi, np.pi]] * 3}
# Analytic first-order and total indices of the Ishigami function with a = 7, b = 0.1.
ISHIGAMI_S1 = [0.3139, 0.4424, 0.0]
ISHIGAMI_ST = [0.5576, 0.4424, 0.2437]


def ishigami(x):
    return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


def runs_table(design, names, measure, replicates=1, noise=0.0, regimes=None, seed=0):
    """A runs table as the sweep store returns it: design point by point, replicates within."""
    rng = np.random.default_rng(seed)
    n_points = len(design)
    point = np.repeat(np.arange(n_points), replicates)
    table = pd.DataFrame({
        "run": np.arange(n_points * replicates), "point": point, "label": point.astype(str),
        "replicate": np.tile(np.arange(replicates), n_points), "seed": rng.integers(0, 2**31, n_points * replicates),
        "status": "done", "error": None, "seconds": 0.1,
    })
    for j, name in enumerate(names):
        table[name] = design[point, j]
    table["regime"] = regimes(table, rng) if regimes else "none"
    table["y"] = measure(design)[point] + rng.normal(0, noise, len(table)) if noise else measure(design)[point]
    return table


def test_sobol_recovers_the_ishigami_indices():
    design = sobol_sample.sample(ISHIGAMI, 512, calc_second_order=False, seed=1)
    runs = runs_table(design, ISHIGAMI["names"], ishigami, replicates=2, noise=0.1)
    found = sensitivity_indices(runs, ISHIGAMI, "sobol", "y")
    assert list(found["parameter"]) == ISHIGAMI["names"]
    for column, truth in (("S1", ISHIGAMI_S1), ("ST", ISHIGAMI_ST)):
        assert np.all(found[f"{column}_low"] <= truth) and np.all(truth <= found[f"{column}_high"]), (column, found)
    assert list(found.sort_values("S1", ascending=False)["parameter"]) == ["a.x2", "a.x1", "a.x3"]
    assert list(found.sort_values("ST", ascending=False)["parameter"]) == ["a.x1", "a.x2", "a.x3"]


def test_sobol_averages_replicates_and_ignores_failed_runs():
    design = sobol_sample.sample(ISHIGAMI, 64, calc_second_order=False, seed=2)
    clean = runs_table(design, ISHIGAMI["names"], ishigami)
    doubled = runs_table(design, ISHIGAMI["names"], ishigami, replicates=2)
    doubled.loc[doubled["replicate"] == 1, "status"] = "failed"
    doubled.loc[doubled["replicate"] == 1, "y"] = 1e9  # a failed run's value must not count
    pd.testing.assert_frame_equal(sensitivity_indices(clean, ISHIGAMI, "sobol", "y"),
                                  sensitivity_indices(doubled, ISHIGAMI, "sobol", "y"))


def test_sobol_needs_every_design_point():
    design = sobol_sample.sample(ISHIGAMI, 16, calc_second_order=False, seed=3)
    runs = runs_table(design, ISHIGAMI["names"], ishigami)
    runs.loc[runs["point"] == 5, "status"] = "failed"
    with pytest.raises(ValueError, match="1 of 80 design points"):
        sensitivity_indices(runs, ISHIGAMI, "sobol", "y")


@pytest.mark.parametrize("second_order", [True, False])
@pytest.mark.parametrize("base", [8, 16, 32])
def test_second_order_is_read_from_the_design(second_order, base):
    # With 2 parameters, 4 N and 6 N rows: 24 N rows could be either, only the structure tells.
    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1], [0, 5]]}
    assert sobol_second_order(sobol_sample.sample(problem, base, calc_second_order=second_order, seed=4)) == second_order


def test_morris_recovers_the_slopes_of_a_linear_model():
    problem = {"num_vars": 3, "names": ["p.a", "p.b", "p.c"], "bounds": [[0, 1], [0, 2], [10, 20]]}
    design = morris_sample.sample(problem, 20, num_levels=4, seed=5)
    slopes = np.array([3.0, -1.0, 0.02])
    runs = runs_table(design, problem["names"], lambda x: x @ slopes)
    found = sensitivity_indices(runs, problem, "morris", "y", levels=4)
    # an elementary effect of a linear model is its slope times the step, the same everywhere
    widths = np.array([b - a for a, b in problem["bounds"]])
    assert found["mu_star"].to_numpy() == pytest.approx(np.abs(slopes) * widths)
    assert found["mu"].to_numpy() == pytest.approx(slopes * widths)
    assert found["sigma"].to_numpy() == pytest.approx(0, abs=1e-9)


def tax_by_cost_grid(replicates=5):
    taxes, costs = [0.0, 50.0, 100.0, 150.0], [0.1, 0.2, 0.4]
    design = np.array([(t, c) for t in taxes for c in costs])

    def regimes(table, rng):  # more networks with a higher tax, fewer with dearer transport
        odds = table["policy.tax"] / 150 * (0.5 / table["logistics.cost"]) / 5
        draw = rng.random(len(table))
        return np.select([draw < odds * 0.2, draw < odds * 0.6, draw < odds], ["collapsed", "formed", "persisted"], "none")

    return runs_table(design, ["policy.tax", "logistics.cost"], lambda x: x[:, 0] * x[:, 1], replicates, noise=1.0,
                      regimes=regimes)


def test_regime_shares_on_a_grid_are_the_counts_of_each_cell():
    runs = tax_by_cost_grid()
    runs.loc[[3, 17], "status"] = "failed"
    shares = regime_shares(runs, "policy.tax", "logistics.cost")
    assert len(shares) == 12
    columns = [f"share_{r}" for r in REGIMES]
    assert shares[columns].sum(axis=1).to_numpy() == pytest.approx(1.0)
    done = runs[runs["status"] == "done"]
    for cell in shares.itertuples(index=False):
        here = done[(done["policy.tax"] == cell[0]) & (done["logistics.cost"] == cell[1])]
        assert cell.n == len(here)
        for regime in REGIMES:
            assert getattr(cell, f"share_{regime}") == (here["regime"] == regime).mean()
            assert getattr(cell, f"share_{regime}_low") <= getattr(cell, f"share_{regime}") <= getattr(cell, f"share_{regime}_high")


def test_sampled_parameters_are_binned_and_every_run_counted():
    rng = np.random.default_rng(6)
    design = np.column_stack([rng.uniform(0, 200, 100), rng.uniform(0.1, 0.5, 100)])
    runs = runs_table(design, ["policy.tax", "logistics.cost"], lambda x: x[:, 0], replicates=2)
    shares = regime_shares(runs, "policy.tax", "logistics.cost")
    bins = default_bins(100, 2)
    assert shares["policy.tax"].nunique() <= bins and shares["logistics.cost"].nunique() <= bins
    assert shares["n"].sum() == 200
    assert shares["policy.tax"].between(0, 200).all()


def test_response_curve_means_and_intervals_per_grid_value():
    runs = tax_by_cost_grid(replicates=6)
    curve = response_curve(runs, "y", "policy.tax", by="logistics.cost")
    assert len(curve) == 12 and (curve["n"] == 6).all()
    first = runs[(runs["policy.tax"] == 150.0) & (runs["logistics.cost"] == 0.4)]["y"]
    row = curve[(curve["policy.tax"] == 150.0) & (curve["logistics.cost"] == 0.4)].iloc[0]
    assert row["mean"] == pytest.approx(first.mean())
    assert (curve["ci_low"] < curve["mean"]).all() and (curve["mean"] < curve["ci_high"]).all()
    # the known response tax * cost lies inside nearly every interval (noise sd 1)
    inside = (curve["ci_low"] <= curve["policy.tax"] * curve["logistics.cost"]) & (
        curve["policy.tax"] * curve["logistics.cost"] <= curve["ci_high"])
    assert inside.sum() >= 10


# -- on real sweeps of the mini park -----------------------------------------------------------------

GRID_SWEEP = """
[sweep]
name = "mini_grid"
base = "{base}"
design = "grid"
replicates = 3
years = 2
seed = 5
[parameters]
"policy.landfill_tax_eur_per_t" = [0, 100]
"logistics.transport_cost_factor" = [0.5, 30.0, 300.0]
"""

SOBOL_SWEEP = """
[sweep]
name = "mini_sobol"
base = "{base}"
design = "sobol"
samples = 8
replicates = 1
years = 1
seed = 5
measures = ["waste_diverted_share", "co2_avoided_t", "links_broken"]
[parameters]
"policy.landfill_tax_eur_per_t" = {{ range = [0, 150] }}
"logistics.transport_cost_factor" = {{ range = [0.5, 50.0] }}
"""


def swept(tmp_path_factory, text, name):
    from simulation.experiment.runs import run_sweep
    from simulation.experiment.sweep_file import load_sweep

    folder = tmp_path_factory.mktemp(name)
    (folder / "sweep.toml").write_text(text.format(base=DATA / "mini_park.toml"))
    run_sweep(load_sweep(folder / "sweep.toml"), folder / "out", workers=1, progress=False)
    return folder / "out"


@pytest.fixture(scope="module")
def grid_results(tmp_path_factory):
    return swept(tmp_path_factory, GRID_SWEEP, "grid")


def test_analyze_regime_map_matches_a_hand_count_of_the_runs(grid_results):
    from simulation.experiment.analysis import analyze
    from simulation.experiment.store import read_runs

    found = analyze(grid_results)
    assert (found.x, found.y) == ("policy.landfill_tax_eur_per_t", "logistics.transport_cost_factor")
    runs = read_runs(grid_results)
    assert len(found.regimes) == 6 and found.regimes["n"].sum() == len(runs)
    assert found.regimes[[f"share_{r}" for r in REGIMES]].sum(axis=1).to_numpy() == pytest.approx(1.0)
    for cell in found.regimes.itertuples(index=False):
        here = runs[(runs[found.x] == cell[0]) & (runs[found.y] == cell[1])]
        for regime in REGIMES:
            assert getattr(cell, f"share_{regime}") == pytest.approx((here["regime"] == regime).sum() / 3)
    written = pd.read_csv(found.folder / "regime_shares.csv")
    assert written["n"].tolist() == found.regimes["n"].tolist()
    assert {"regime_map.png", "response_policy_landfill_tax_eur_per_t.png",
            "response_logistics_transport_cost_factor.csv"} <= {p.name for p in found.folder.iterdir()}


def test_analyze_response_curves_per_swept_value(grid_results):
    from simulation.experiment.analysis import analyze
    from simulation.experiment.store import read_runs

    found = analyze(grid_results, x="logistics.transport_cost_factor", measures=["links_formed"])
    curve = found.curves["logistics.transport_cost_factor"]
    runs = read_runs(grid_results)
    # one curve per landfill tax (two values), three transport costs each, over 3 replicates
    assert len(curve) == 6 and (curve["n"] == 3).all()
    for row in curve.itertuples(index=False):
        here = runs[(runs["logistics.transport_cost_factor"] == row[1]) & (runs["policy.landfill_tax_eur_per_t"] == row[0])]
        assert row.mean == pytest.approx(here["links_formed"].mean())
        assert row.ci_low <= row.mean <= row.ci_high


@pytest.mark.parametrize("args, words", [
    (["--x", "policy.nosuch"], "--x: 'policy.nosuch' is not a swept parameter"),
    (["--x", "policy.landfill_tax_eur_per_t", "--y", "policy.landfill_tax_eur_per_t"], "--y: must differ from --x"),
    (["--measure", "happiness"], "--measure: 'happiness' is not a measure this sweep kept"),
])
def test_analyze_bad_choices_exit_2_and_write_nothing(grid_results, args, words, capsys):
    from simulation.cli import main

    before = sorted(p.name for p in (grid_results / "analysis").iterdir()) if (grid_results / "analysis").exists() else None
    assert main(["analyze", str(grid_results), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and words in err, err
    after = sorted(p.name for p in (grid_results / "analysis").iterdir()) if (grid_results / "analysis").exists() else None
    assert after == before


def test_analyze_of_a_missing_store_exits_2(tmp_path, capsys):
    from simulation.cli import main

    assert main(["analyze", str(tmp_path / "nosuch")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def sobol_results(tmp_path_factory):
    return swept(tmp_path_factory, SOBOL_SWEEP, "sobol")


def test_analyze_a_sobol_sweep_gives_indices_in_design_order(sobol_results):
    from simulation.experiment.analysis import analyze

    found = analyze(sobol_results)
    indices = found.indices
    assert list(indices.columns[:2]) == ["measure", "parameter"]
    # two measures that vary x two parameters; no link breaks in a year, so nothing to apportion there
    assert len(indices) == 2 * 2 and set(indices["measure"]) == {"waste_diverted_share", "co2_avoided_t"}
    assert any("links_broken: the same value (0) at every design point" in note for note in found.notes)
    assert set(indices["parameter"]) == {"policy.landfill_tax_eur_per_t", "logistics.transport_cost_factor"}
    assert (indices["S1_low"] <= indices["S1"]).all() and (indices["ST"] <= indices["ST_high"]).all()
    assert {"sensitivity.csv", "sensitivity.png"} <= {p.name for p in found.folder.iterdir()}


def test_noise_share_tells_a_design_effect_from_replicate_noise():
    design = sobol_sample.sample(ISHIGAMI, 64, calc_second_order=False, seed=7)
    clear = runs_table(design, ISHIGAMI["names"], ishigami, replicates=3, noise=0.1)
    noisy = runs_table(design, ISHIGAMI["names"], lambda x: np.zeros(len(x)), replicates=3, noise=1.0)
    assert sensitivity_indices(clear, ISHIGAMI, "sobol", "y")["noise_share"].iloc[0] < 0.01
    # pure noise: the spread between points is what the noise gives, a share near 1
    assert 0.8 < sensitivity_indices(noisy, ISHIGAMI, "sobol", "y")["noise_share"].iloc[0] < 1.25


def test_too_small_a_sobol_sample_and_one_replicate_are_said_on_stderr(sobol_results, tmp_path, capsys):
    from simulation.cli import main

    assert main(["analyze", str(sobol_results), "--out", str(tmp_path / "analysis")]) == 0
    err = capsys.readouterr().err.splitlines()
    store = sobol_results / "results.sqlite"
    assert len(err) == 2, err
    assert err[0].startswith(f"warning: {store}: sobol design of 8 base samples: too few for stable indices (")
    assert "use samples >= 64" in err[0]
    assert err[1].startswith(f"warning: {store}: noise share not computed: one replicate per design point")
    assert (tmp_path / "analysis" / "sensitivity.csv").exists()  # --out: the store's folder is left alone


def test_index_warnings_count_intervals_wider_than_the_indices():
    from simulation.experiment.analysis import index_warnings

    design = sobol_sample.sample(ISHIGAMI, 512, calc_second_order=False, seed=1)
    clear = sensitivity_indices(runs_table(design, ISHIGAMI["names"], ishigami, replicates=2, noise=0.1), ISHIGAMI, "sobol", "y")

    class Large:
        design, samples, replicates = "sobol", 512, 2
    assert index_warnings(Large, clear) == []
    unclear = clear.assign(S1_low=-5.0, S1_high=5.0, ST_low=-5.0, ST_high=5.0)
    assert "6 of 6 indices have a 95% interval wider than the index itself" in index_warnings(Large, unclear)[0]
