"""``symbiosis compare``: policy packages against the baseline on the synthetic facts park.

Four paired replicates of four years: enough for the direction of a landfill
tax (stylized fact 1), not for tight intervals.
"""

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

from simulation.cli import main
from simulation.experiment.compare import (
    COLUMNS,
    QUANTITIES,
    RATIOS,
    SHARES,
    TOTALS,
    compare,
    parse_policy,
)

REPLICATES = 4
PACKAGES = {
    "tax200": {"policy.landfill_tax_eur_per_t": 200},
    "subsidy": {"policy.subsidy_eur_per_t": 5.0, "policy.capex_subsidy_share": 0.3},
}


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "out"
    return compare(DATA / "facts_park.toml", PACKAGES, replicates=REPLICATES, years=4, workers=1, out_dir=out,
                   progress=False)


def rows(table, package):
    return table[table["package"] == package].set_index("quantity")


def test_one_row_per_package_and_quantity(comparison):
    table = comparison.table
    assert list(table.columns) == COLUMNS
    assert list(dict.fromkeys(table["package"])) == ["baseline", "tax200", "subsidy"]
    assert set(rows(table, "baseline").index) == {*TOTALS, *SHARES}  # nothing is relative to itself
    for package in PACKAGES:
        assert sorted(rows(table, package).index) == sorted(QUANTITIES)
    assert (table["n"] == REPLICATES).all()


def test_intervals_bracket_the_estimates(comparison):
    table = comparison.table
    finite = np.isfinite(table["ci_low"]) & np.isfinite(table["ci_high"])
    assert finite[~table["quantity"].isin(list(RATIOS))].all()
    assert (table["ci_low"] <= table["estimate"]).all() and (table["estimate"] <= table["ci_high"]).all()
    shares = table[table["quantity"].isin(list(SHARES))].groupby("package")["estimate"].sum()
    assert shares.to_numpy() == pytest.approx(1.0)


def test_estimates_are_the_runs_averaged_and_paired_by_seed(comparison):
    runs = comparison.runs
    assert (runs["status"] == "done").all()
    seeds = runs.pivot(index="replicate", columns="label", values="seed")
    assert (seeds.nunique(axis=1) == 1).all()  # replicate r of every package ran on the same seed
    table = comparison.table
    diverted = runs.pivot(index="replicate", columns="label", values="waste_diverted_t")
    assert rows(table, "baseline").loc["waste_diverted_t", "estimate"] == pytest.approx(diverted["baseline"].mean())
    tax = rows(table, "tax200")
    assert tax.loc["extra_waste_diverted_t", "estimate"] == pytest.approx((diverted["tax200"] - diverted["baseline"]).mean())
    assert tax.loc["extra_waste_diverted_t", "method"] == "paired t"
    ratio = tax.loc["extra_government_cost_eur", "estimate"] / tax.loc["extra_co2_avoided_t", "estimate"]
    assert tax.loc["government_cost_per_t_co2_avoided_eur", "estimate"] == pytest.approx(ratio)


def test_a_landfill_tax_does_not_divert_significantly_less_than_the_baseline(comparison):
    # With scrap sold rather than landfilled, four years of four replicates leave the tax's effect on
    # diversion small and of either sign by seed: what must hold is that its interval admits no loss.
    tax = rows(comparison.table, "tax200")
    assert tax.loc["extra_waste_diverted_t", "ci_high"] >= 0
    assert tax.loc["extra_government_cost_eur", "estimate"] < 0  # the tax is income


def test_files_hold_the_table_and_a_rerun_reuses_the_runs(comparison):
    written = pd.read_csv(comparison.folder / "comparison.csv")
    assert list(written.columns) == COLUMNS and len(written) == len(comparison.table)
    assert written["estimate"].to_numpy() == pytest.approx(comparison.table["estimate"].to_numpy(), rel=1e-5)
    assert (comparison.folder / "comparison.png").stat().st_size > 10_000
    again = compare(DATA / "facts_park.toml", PACKAGES, replicates=REPLICATES, years=4, workers=1, out_dir=comparison.folder,
                    progress=False)
    pd.testing.assert_frame_equal(again.runs, comparison.runs)


def test_a_policy_value_may_be_a_schedule_with_commas():
    name, overrides = parse_policy("ramp:policy.landfill_tax_eur_per_t=[[0, 10], [24, 80]],policy.subsidy_eur_per_t=2")
    assert name == "ramp"
    assert overrides == {"policy.landfill_tax_eur_per_t": [[0, 10], [24, 80]], "policy.subsidy_eur_per_t": 2}


@pytest.mark.parametrize("policy, words", [
    ("tax80", "needs a name before ':'"),
    (":policy.landfill_tax_eur_per_t=80", "needs a name before ':'"),
    ("tax80:", "sets nothing"),
    ("tax80:policy.landfill_tax_eur_per_t", "expected PATH=VALUE"),
    ("tax80:=80", "expected PATH=VALUE"),
    ("tax80:policy.landfil_tax=80", "policy.landfil_tax: unknown field"),
    ("tax80:policy.landfill_tax_eur_per_t=lots", "policy.landfill_tax_eur_per_t"),
    ("tax80:policy.landfill_tax_eur_per_t=-5", "must not be negative"),
    ("tax80:policy.landfill_tax_eur_per_t=80,policy.landfill_tax_eur_per_t=90", "set twice"),
    ("baseline:policy.landfill_tax_eur_per_t=80", "give the package another name"),
    ("tax 80:policy.landfill_tax_eur_per_t=80", "must be letters, digits"),
])
def test_a_malformed_policy_exits_2_with_one_message_and_writes_nothing(policy, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status = main(["compare", str(DATA / "mini_park.toml"), "--policy", policy, "--replicates", "2", "--quiet"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and words in err, err
    assert list(tmp_path.iterdir()) == []


def test_two_packages_with_one_name_are_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    policy = "tax:policy.landfill_tax_eur_per_t=80"
    assert main(["compare", str(DATA / "mini_park.toml"), "--policy", policy, "--policy", policy]) == 2
    assert "used twice" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_analyze_refuses_a_comparison_store_with_a_pointer_to_the_table(comparison, capsys):
    assert main(["analyze", str(comparison.folder)]) == 2
    assert "comparison_table" in capsys.readouterr().err
    assert not (comparison.folder / "analysis").exists()
