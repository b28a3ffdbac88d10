"""Exploring from the command line: the parameters and measures listed from the code, the version, the help, any folder."""

import re

import pytest
from conftest import tree
from test_odd_doc import CLASS_REF, SECTION_REF, TEXT

from simulation import __version__, cli
from simulation.cli import main
from simulation.measures.summary import RUN_MEASURES
from simulation.model.recorder import MEASURES
from simulation.scenario import parameters
from simulation.scenario.describe import LISTS, parameter_rows, sections

# The ODD's names for the fields of list entries, and the paths `symbiosis params` gives them.
LIST_PREFIX = {"FirmSpec": LISTS["firms"][0], "Event": LISTS["events"][0]}


def listed(capsys, *args):
    assert main(["params", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    return {line.split()[0]: line for line in lines[1:]}


def test_params_lists_every_parameter_the_odd_names(capsys):
    rows = listed(capsys)
    named = {f"{s}.{f}" for s, f in SECTION_REF.findall(TEXT)}
    named |= {f"{LIST_PREFIX[c]}.{f}" for c, f in CLASS_REF.findall(TEXT) if c in LIST_PREFIX}
    assert len(named) > 90
    missing = sorted(named - set(rows))
    assert not missing, f"symbiosis params does not list {missing}"


def test_every_parameter_has_a_meaning_and_every_number_a_range():
    for row in parameter_rows():
        assert row.meaning, f"{row.path}: no description in simulation/scenario/parameters.py"
    ranged = {row.path: row.range for row in parameter_rows()}
    assert ranged["demand.persistence"] == "[0, 1)" and ranged["search.distance_decay_km"] == "(0, 20000]"
    assert ranged["policy.landfill_tax_eur_per_t"] == "[0, 1e6]"


def test_params_gives_default_unit_and_range_from_the_fields(capsys):
    rows = listed(capsys, "contract")
    assert set(rows) == {f"contract.{f}" for f in parameters.Contract.model_fields}
    assert re.search(r"^contract\.duration_months\s+36\s+months\s+\[1, 1200\]\s+term of a contract moved by truck$",
                     rows["contract.duration_months"])
    rows = listed(capsys, "policy")
    assert re.search(r"^policy\.subsidy_eur_per_t\s+0\s+EUR/t\s+\[0, 1e6\]\s+paid per t", rows["policy.subsidy_eur_per_t"])
    assert "required" in listed(capsys, "park")["park.n_firms"]
    assert set(sections()) == set(parameters.ScenarioSpec.model_fields)


def test_measures_lists_the_monthly_and_the_run_measures(capsys):
    assert main(["measures"]) == 0
    out = capsys.readouterr().out
    monthly, run = out.split("run measures")
    for name, meaning in MEASURES.items():
        assert re.search(rf"^  {name}\s+{re.escape(meaning)}$", monthly, re.M), name
    for name, meaning in RUN_MEASURES.items():
        assert re.search(rf"^  {name}\s+{re.escape(meaning)}$", run, re.M), name
    assert "+ = the state gains" in MEASURES["government_net_revenue_eur"]


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out == f"symbiosis {__version__}\n"


@pytest.mark.parametrize("command", sorted(cli.EXAMPLES))
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert stop.value.code == 0
    assert f"examples:\n  symbiosis {command}" in out


def test_the_default_scenario_runs_from_any_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--years", "0.1", "--no-figures", "--quiet", "--out", "out"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("demo_park: ") and (tmp_path / "out" / "periods.csv").exists()
    # one sign for the government: + = the state gains
    assert re.search(r"government net revenue\s+[+-][\d,]+ EUR \(taxes - subsidies; \+ = the state gains\)", out)
    assert "government net cost" not in out


def test_without_the_default_scenario_the_error_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "REPOSITORY", tmp_path / "elsewhere")
    assert main(["run", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: scenarios/demo_park.toml: SCENARIO: the default scenario is neither in this folder")
    assert err.count("\n") == 1 and tree(tmp_path) == {}
