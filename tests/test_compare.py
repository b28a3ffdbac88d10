"""``symbiosis compare``: policy packages against the baseline on the synthetic facts park.

Four paired replicates of four years: enough for the direction of a landfill
tax (stylized fact 1), not for tight intervals.
"""

import re

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

import simulation.experiment.runs as runs_module
from simulation.cli import main
from simulation.experiment.compare import (
    COLUMNS,
    NOT_ESTIMABLE,
    QUANTITIES,
    RATIOS,
    SHARES,
    TOTALS,
    PairedSweep,
    compare,
    default_folder,
    format_table,
    parse_policy,
)
from simulation.experiment.store import reading

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
    ratio = -tax.loc["extra_government_revenue_eur", "estimate"] / tax.loc["extra_co2_avoided_t", "estimate"]
    assert tax.loc["government_cost_per_t_co2_avoided_eur", "estimate"] == pytest.approx(ratio)


def test_a_landfill_tax_does_not_divert_significantly_less_than_the_baseline(comparison):
    # With scrap sold rather than landfilled, four years of four replicates leave the tax's effect on
    # diversion small and of either sign by seed: what must hold is that its interval admits no loss.
    tax = rows(comparison.table, "tax200")
    assert tax.loc["extra_waste_diverted_t", "ci_high"] >= 0
    assert tax.loc["extra_government_revenue_eur", "estimate"] > 0  # the tax is income: + = the state gains


def test_files_hold_the_table_and_a_rerun_reuses_the_runs(comparison):
    written = pd.read_csv(comparison.folder / "comparison.csv")
    assert list(written.columns) == COLUMNS and len(written) == len(comparison.table)
    assert written["estimate"].to_numpy() == pytest.approx(comparison.table["estimate"].to_numpy(), rel=1e-5)
    assert (comparison.folder / "comparison.png").stat().st_size > 10_000
    again = compare(DATA / "facts_park.toml", PACKAGES, replicates=REPLICATES, years=4, workers=1, out_dir=comparison.folder,
                    progress=False)
    pd.testing.assert_frame_equal(again.runs, comparison.runs)
    assert (again.ran, again.reused) == (0, 0)


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


def test_analyze_gives_a_comparison_store_per_point_tables_and_a_figure(comparison, tmp_path, capsys):
    assert main(["analyze", str(comparison.folder), "--out", str(tmp_path / "points")]) == 0
    out = capsys.readouterr().out
    assert "3 points" in out and "tax200" in out
    table = pd.read_csv(tmp_path / "points" / "points.csv")
    assert list(table["label"]) == ["baseline", "tax200", "subsidy"] and (table["n"] == REPLICATES).all()
    runs = comparison.runs
    for row in table.itertuples():
        here = runs[runs["label"] == row.label]
        assert row.co2_avoided_t_mean == pytest.approx(here["co2_avoided_t"].mean())
        assert row.co2_avoided_t_low <= row.co2_avoided_t_mean <= row.co2_avoided_t_high
        assert sum(getattr(row, f"share_{r}") for r in ("none", "formed", "persisted", "collapsed")) == pytest.approx(1)
    assert (tmp_path / "points" / "points.png").stat().st_size > 10_000
    assert not (comparison.folder / "analysis").exists()  # --out: nothing beside the store
    assert main(["analyze", str(comparison.folder), "--x", "policy.landfill_tax_eur_per_t"]) == 2
    assert "a points design (labelled override sets) has no parameter axes" in capsys.readouterr().err


# -- a comparison that grows -------------------------------------------------------------------------------

GROWING = {"tax200": {"policy.landfill_tax_eur_per_t": 200}}
ADDED = {"subsidy": {"policy.subsidy_eur_per_t": 5.0}}


def _grown(tmp_path, monkeypatch, packages, replicates):
    """A comparison in tmp_path's results/ folder, counting the runs it makes in this process."""
    made = []
    execute = runs_module.execute
    monkeypatch.setattr(runs_module, "execute", lambda task: made.append(task.run) or execute(task))
    monkeypatch.chdir(tmp_path)
    result = compare(DATA / "facts_park.toml", packages, replicates=replicates, years=2, workers=1, progress=False)
    return result, made


def test_a_comparison_grows_by_a_package_and_a_replicate_running_only_the_new_runs(tmp_path, monkeypatch):
    first, made = _grown(tmp_path, monkeypatch, GROWING, 2)
    assert len(made) == 4 and (first.ran, first.reused) == (4, 0)

    wider, made = _grown(tmp_path, monkeypatch, {**GROWING, **ADDED}, 2)
    assert wider.folder != first.folder  # its own folder: the first comparison is left as it was
    assert len(made) == 2 and (wider.ran, wider.reused) == (2, 4)  # only the subsidy's two runs
    old = wider.table[wider.table["package"].isin(["baseline", "tax200"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, first.table.reset_index(drop=True))  # the same numbers, to the bit
    kept = first.runs.drop(columns=["run", "point", "seconds"]).reset_index(drop=True)
    again = wider.runs.loc[wider.runs["label"] != "subsidy", kept.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, kept, check_dtype=False)

    longer, made = _grown(tmp_path, monkeypatch, {**GROWING, **ADDED}, 3)
    assert longer.folder == wider.folder  # more replicates grow the same comparison
    assert len(made) == 3 and (longer.ran, longer.reused) == (3, 6)  # replicate 2 of each package
    assert sorted(longer.runs.loc[longer.runs["run"].isin(made), "replicate"]) == [2, 2, 2]
    seeds = longer.runs.pivot(index="replicate", columns="label", values="seed")
    assert (seeds.nunique(axis=1) == 1).all()
    assert list(seeds["baseline"][:2]) == list(first.runs.drop_duplicates("replicate")["seed"])
    with reading(longer.folder) as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 9


def test_replicate_seeds_are_children_of_the_master_seed_whatever_the_number_of_replicates():
    children = np.random.SeedSequence(2026).spawn(5)
    expected = [int(c.generate_state(1)[0]) for c in children]
    for replicates in (2, 5):
        sweep = PairedSweep(name="x", base="x.toml", design="points", replicates=replicates, seed=2026,
                            point_sets=[{"label": "baseline", "set": {}}])
        assert [r.seed for r in sweep.runs()] == expected[:replicates]


def test_comparisons_of_one_scenario_do_not_collide():
    one = default_folder("park", {"tax": {"policy.landfill_tax_eur_per_t": 80}}, 1, None)
    other = default_folder("park", {"tax": {"policy.landfill_tax_eur_per_t": 90}}, 1, None)
    reordered = default_folder("park", {"b": {"policy.subsidy_eur_per_t": 1}, "a": {"policy.subsidy_eur_per_t": 2}}, 1, None)
    assert one != other and one.name.startswith("park_compare_tax_")
    assert reordered == default_folder("park", {"a": {"policy.subsidy_eur_per_t": 2}, "b": {"policy.subsidy_eur_per_t": 1}}, 1, None)
    assert default_folder("park", {"tax": {"policy.landfill_tax_eur_per_t": 80}}, 2, None) != one  # another master seed


def test_the_printed_table_is_narrow_and_a_ratio_over_an_unclear_effect_is_not_estimable(comparison):
    text = format_table(comparison.table)
    assert max(len(line) for line in text.splitlines()[1:]) <= 140  # a row per package, whatever their number
    assert "unbounded" not in text and "inf" not in text
    table = comparison.table.set_index(["package", "quantity"])
    for package in PACKAGES:
        ratio, co2 = table.loc[(package, "government_cost_per_t_co2_avoided_eur")], table.loc[(package, "extra_co2_avoided_t")]
        assert ratio["estimable"] == (co2["ci_low"] > 0 or co2["ci_high"] < 0)
    unclear = comparison.table.copy()
    unclear.loc[unclear["quantity"].isin(list(RATIOS)), "estimable"] = False
    assert format_table(unclear).count(NOT_ESTIMABLE) == len(PACKAGES)
    assert "not estimable" in (comparison.folder / "comparison.md").read_text() or table["estimable"].all()


def test_the_brief_says_what_was_compared_the_effects_and_the_caveats(comparison):
    text = (comparison.folder / "comparison.md").read_text()
    for words in ("# facts_park: policy packages against the baseline", "## What was compared", f"{REPLICATES} replicates",
                  "`policy.landfill_tax_eur_per_t = 200`", "`policy.capex_subsidy_share = 0.3`", "common random numbers",
                  "## Effects against the baseline", "**tax200**", "95% CI", "| package |", "## Caveats",
                  "docs/odd.md", "+ = the state gains"):
        assert words in text, words
    # A number that is not one reads "nan" as a word; the paths the brief names may hold those letters (/work/kwinana).
    assert "unbounded" not in text and not re.search(r"\bnan\b", text, re.IGNORECASE)


def test_the_cli_prints_the_counts_and_names_the_brief(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["compare", str(DATA / "mini_park.toml"), "--policy", "tax:policy.landfill_tax_eur_per_t=80", "--replicates", "2",
            "--years", "1", "--workers", "1", "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "4 runs made, 0 finished runs reused" in out and "comparison.md" in out
    assert main([*args, "--replicates", "3"]) == 0
    assert "2 runs made, 4 finished runs reused" in capsys.readouterr().out


def test_a_store_written_before_the_sign_convention_is_read_with_the_new_name_and_sign(comparison, tmp_path):
    import json
    import shutil
    import sqlite3

    from simulation.experiment.store import read_runs, read_sweep

    old = tmp_path / "old.sqlite"
    shutil.copy(comparison.folder / "results.sqlite", old)
    with sqlite3.connect(old) as db:  # as stores were: the state's net cost, subsidies minus taxes
        db.execute('UPDATE runs SET government_net_revenue_eur = -government_net_revenue_eur')
        db.execute('ALTER TABLE runs RENAME COLUMN government_net_revenue_eur TO government_net_cost_eur')
        measures = [m.replace("government_net_revenue_eur", "government_net_cost_eur") for m in read_sweep(old).measures]
        db.execute("UPDATE meta SET value = ? WHERE key = 'measures'", (json.dumps(measures),))
    db.close()
    runs = read_runs(old)
    assert "government_net_cost_eur" not in runs.columns
    assert runs["government_net_revenue_eur"].tolist() == comparison.runs["government_net_revenue_eur"].tolist()
