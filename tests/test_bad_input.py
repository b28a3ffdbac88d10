"""Bad input ends with one clear message, exit status 2 and no output.

Each case copies the mini scenario and catalogue from ``tests/data`` into a
fresh folder, breaks one thing, runs ``symbiosis run`` and checks that stderr is
one line ``error: <file>: <field>: <problem>`` and that nothing was written.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from simulation.cli import main
from simulation.scenario import load

DATA = Path(__file__).parent / "data"
SCENARIO, CATALOGUE, EXTRA = "mini_park.toml", "mini_catalogue.toml", "extra.toml"
FAST = ("--years", "0.1", "--no-figures")  # cases that get past loading run one month

# Anchors in mini_park.toml: the lines that open a firm, to add a field after.
POWER = 'id = "power"\nsector = "power"\n'
CEMENT = 'id = "cement"\nsector = "cement"\n'
WITH_EXTRA = ('catalogue = ["mini_catalogue.toml"]', 'catalogue = ["mini_catalogue.toml", "extra.toml"]')


@dataclass(frozen=True)
class Case:
    name: str
    file: str  # the file the message must name, relative to the case folder
    field: str  # the field named right after the file ("" for none)
    problem: str | tuple[str, ...]  # words that say what is wrong
    scenario: tuple = ()  # (old, new) edits of mini_park.toml; old None appends
    catalogue: tuple = ()  # (old, new) edits of mini_catalogue.toml
    extra: str | None = None  # text of a second catalogue file extra.toml
    args: tuple = ()  # command-line arguments after FAST
    target: str = SCENARIO  # the scenario file named on the command line


UNBROKEN = Case("unbroken copy", SCENARIO, "", "")

CASES = [
    # -- files -------------------------------------------------------------------
    Case("missing scenario", "nosuch.toml", "", "file not found", target="nosuch.toml"),
    Case("missing catalogue", SCENARIO, "scenario.catalogue[0]", "nosuch_catalogue.toml not found",
         scenario=(('"mini_catalogue.toml"', '"nosuch_catalogue.toml"'),)),
    Case("scenario TOML syntax", SCENARIO, "", ("not valid TOML", "line 9"),
         scenario=(("landfill_tax_eur_per_t = 30.0", 'landfill_tax_eur_per_t = "30.0'),)),
    Case("catalogue TOML syntax", CATALOGUE, "", ("not valid TOML", "line 2"),
         catalogue=(("[materials.coal]", "[materials.coal"),)),
    Case("catalogue section of wrong type", EXTRA, "substitutions", "[[substitutions]]",
         scenario=(WITH_EXTRA,), extra="substitutions = 5\n"),
    Case("catalogue unknown section", EXTRA, "recipes", "unknown section",
         scenario=(WITH_EXTRA,), extra="[recipes.kiln]\nsector = 'cement'\n"),
    # -- firms -------------------------------------------------------------------
    Case("unknown sector", SCENARIO, "firms[1].sector", "unknown sector 'cemnt'",
         scenario=(('sector = "cement"\nx_km', 'sector = "cemnt"\nx_km'),)),
    Case("unknown process", SCENARIO, "firms[1].process", "unknown process 'cemnt'",
         scenario=((CEMENT, CEMENT + 'process = "cemnt"\n'),)),
    Case("process of another sector", SCENARIO, "firms[1].process", "belongs to sector 'boards'",
         scenario=((CEMENT, CEMENT + 'process = "boards"\n'),)),
    Case("missing required field", SCENARIO, "firms[1].x_km", "required field is missing",
         scenario=(("x_km = 2.0\n", ""),)),
    Case("duplicate firm id", SCENARIO, "firms[2].id", "duplicate firm id 'cement'",
         scenario=(('id = "boards"', 'id = "cement"'),)),
    Case("exit before entry", SCENARIO, "firms[1].exit", "must come after entry",
         scenario=((CEMENT, CEMENT + 'entry = "2027-01"\nexit = "2026-06"\n'),)),
    Case("entry before the start", SCENARIO, "firms[1].entry", "before the scenario start",
         scenario=((CEMENT, CEMENT + 'entry = "2020-01"\n'),)),
    Case("not a number", SCENARIO, "firms[0].x_km", "finite number", args=("--set", "firms.power.x_km=nan")),
    Case("recovery the process cannot use", SCENARIO, "firms[0].recovery", "cannot reuse",
         scenario=((POWER, POWER + 'recovery = ["fly_ash"]\n'),)),
    Case("recovery of a firm entering later", SCENARIO, "firms[0].recovery", "cannot reuse",
         scenario=((POWER, POWER + 'entry = "2025-02"\nrecovery = ["fly_ash"]\n'),), args=("--years", "0.25")),
    Case("synthetic park with unknown sector", SCENARIO, "park.sector_mix.nosuch", "unknown sector 'nosuch'",
         scenario=((None, '\n[park]\nn_firms = 3\nsector_mix = { power = 1.0, nosuch = 1.0 }\n'),)),
    # -- catalogue entries ---------------------------------------------------------
    Case("unknown material in a recipe", CATALOGUE, "processes.cement.inputs", "unknown material 'clinkr'",
         catalogue=(("inputs = { clinker = 0.9 }", "inputs = { clinkr = 0.9 }"),)),
    Case("unknown material in a second catalogue file", EXTRA, "processes.kiln.outputs", "unknown material 'slag'",
         scenario=(WITH_EXTRA,),
         extra='[processes.kiln]\nsector = "cement"\nproduct = "lime"\nproduct_unit = "t"\nmargin_eur = 10.0\noutputs = { slag = 0.1 }\n'),
    Case("unknown material in a substitution", CATALOGUE, "substitutions[0].waste", "unknown material 'fly_ahs'",
         catalogue=(('waste = "fly_ash"', 'waste = "fly_ahs"'),)),
    Case("negative virgin price", CATALOGUE, "materials.fly_ash.virgin_price_eur", "greater than or equal to 0",
         catalogue=(('ewc = "10 01 02"\nvirgin_price_eur = 0.0', 'ewc = "10 01 02"\nvirgin_price_eur = -1.0'),)),
    Case("negative gate fee", CATALOGUE, "materials.coal.gate_fee_eur", "greater than or equal to 0",
         catalogue=(("gate_fee_eur = 50.0", "gate_fee_eur = -5.0"),)),
    Case("infinite gate fee", CATALOGUE, "materials.coal.gate_fee_eur", "finite number",
         catalogue=(("gate_fee_eur = 50.0", "gate_fee_eur = inf"),)),
    Case("defined twice across catalogue files", EXTRA, "materials.coal", "defined twice",
         scenario=(WITH_EXTRA,), extra='[materials.coal]\nname = "Coal"\n'),
    # -- policy and parameters -----------------------------------------------------
    Case("negative policy value", SCENARIO, "policy.landfill_tax_eur_per_t", "must not be negative",
         scenario=(("landfill_tax_eur_per_t = 30.0", "landfill_tax_eur_per_t = -30.0"),)),
    Case("negative value in a schedule", SCENARIO, "policy.landfill_tax_eur_per_t", "must not be negative",
         scenario=(("landfill_tax_eur_per_t = 30.0", 'landfill_tax_eur_per_t = [["2025-01", 30.0], ["2027-01", -10.0]]'),)),
    Case("share above 1", SCENARIO, "policy.facilitator_participation", "must lie in [0, 1]",
         scenario=(("landfill_tax_eur_per_t = 30.0", "landfill_tax_eur_per_t = 30.0\nfacilitator_participation = 1.5"),)),
    Case("policy not a number", SCENARIO, "policy.landfill_tax_eur_per_t", "finite number",
         args=("--set", "policy.landfill_tax_eur_per_t=nan")),
    Case("policy given as text", SCENARIO, "policy.landfill_tax_eur_per_t", "valid number",
         args=("--set", "policy.landfill_tax_eur_per_t=abc")),
    Case("unknown field", SCENARIO, "policy.landfil_tax", "unknown field",
         scenario=(("landfill_tax_eur_per_t = 30.0", "landfil_tax = 30.0"),)),
    Case("bad start date", SCENARIO, "scenario.start", "expected a date",
         scenario=(('start = "2025-01"', 'start = "2025-13"'),)),
    Case("run shorter than a month", SCENARIO, "scenario.years", "shorter than one period", args=("--years", "0.01")),
    # -- events --------------------------------------------------------------------
    Case("event for unknown firm", SCENARIO, "events[0].firm", "unknown firm 'powr'",
         scenario=(('firm = "power"', 'firm = "powr"'),)),
    Case("event setting unknown material", SCENARIO, "events[1].set.materials.unobtainium.virgin_price_eur",
         "unknown material 'unobtainium'",
         scenario=((None, '\n[[events]]\nat = "2026-01"\nset = { "materials.unobtainium.virgin_price_eur" = 10.0 }\n'),)),
    Case("event setting an unknown firm's capacity", SCENARIO, "events[1].set.firms.nobody.capacity",
         "unknown firm 'nobody'",
         scenario=((None, '\n[[events]]\nat = "2026-01"\nset = { "firms.nobody.capacity" = 10.0 }\n'),)),
    Case("event setting a zero capacity", SCENARIO, "events[1].set.firms.power.capacity", "capacity must be positive",
         scenario=((None, '\n[[events]]\nat = "2026-01"\nset = { "firms.power.capacity" = 0.0 }\n'),)),
    Case("event setting an unknown firm attribute", SCENARIO, "events[1].set.firms.power.margin",
         "events may set materials.<id>",
         scenario=((None, '\n[[events]]\nat = "2026-01"\nset = { "firms.power.margin" = 1.0 }\n'),)),
    Case("event with bad date", SCENARIO, "events[0].at", "expected a date",
         scenario=(('at = "2028-01"', 'at = "2028-13"'),)),
    Case("event switching to another sector's process", SCENARIO, "events[0].switch_process",
         "belongs to sector 'cement'", scenario=(('switch_process = "power_wood"', 'switch_process = "cement"'),)),
    # -- --set overrides -----------------------------------------------------------
    Case("--set without =", SCENARIO, "policy.landfill_tax_eur_per_t", "PATH=VALUE",
         args=("--set", "policy.landfill_tax_eur_per_t")),
    Case("--set unknown list id", SCENARIO, "firms.nosuch", ("no entry 'nosuch'", "power, cement, boards, greenhouse"),
         args=("--set", "firms.nosuch.capacity=1")),
    Case("--set list index out of range", SCENARIO, "firms.9", "no entry '9'", args=("--set", "firms.9.capacity=1")),
    Case("--set negative value", SCENARIO, "policy.landfill_tax_eur_per_t", "must not be negative",
         args=("--set", "policy.landfill_tax_eur_per_t=-5")),
    Case("--set unknown field", SCENARIO, "search.nosuch", "unknown field", args=("--set", "search.nosuch=1")),
    Case("--set inside a plain value", SCENARIO, "firms.power.capacity.x", "plain value",
         args=("--set", "firms.power.capacity.x=1")),
    Case("--set wrong type", SCENARIO, "scenario.seed", "valid integer", args=("--set", "scenario.seed=abc")),
]


def _edit(path, edits):
    text = path.read_text()
    for old, new in edits:
        if old is None:
            text += new
        else:
            assert text.count(old) == 1, f"test anchor {old!r} must occur once in {path.name}"
            text = text.replace(old, new)
    path.write_text(text)


def _prepare(tmp_path, case):
    for name in (SCENARIO, CATALOGUE):
        shutil.copy(DATA / name, tmp_path / name)
    _edit(tmp_path / SCENARIO, case.scenario)
    _edit(tmp_path / CATALOGUE, case.catalogue)
    if case.extra is not None:
        (tmp_path / EXTRA).write_text(case.extra)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_ends_with_one_clear_message(case, tmp_path, capsys):
    _prepare(tmp_path, case)
    out = tmp_path / "out"
    code = main(["run", str(tmp_path / case.target), *FAST, *case.args, "--out", str(out), "--quiet"])
    stdout, stderr = capsys.readouterr()
    assert code == 2, stderr
    where = f"error: {tmp_path / case.file}: " + (f"{case.field}: " if case.field else "")
    assert stderr.startswith(where), stderr
    for words in (case.problem,) if isinstance(case.problem, str) else case.problem:
        assert words in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr  # one paragraph, no traceback
    assert "Traceback" not in stderr and stdout == ""
    assert not out.exists()
    assert not list(tmp_path.glob(".out-*"))  # no staging folder left behind


@pytest.mark.parametrize("args, words", [
    (("--seed", "abc"), ("--seed", "expected a whole number, got 'abc'")),
    (("--seed", "-3"), ("--seed", "must be >= 0")),
    (("--years", "-1"), ("--years", "must be a positive number")),
    (("--years", "inf"), ("--years", "must be a positive number")),
], ids=["seed abc", "seed negative", "years negative", "years inf"])
def test_bad_flags_exit_2(args, words, tmp_path, capsys):
    _prepare(tmp_path, UNBROKEN)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(tmp_path / SCENARIO), *args, "--out", str(out), "--quiet"])
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    for word in words:
        assert word in stderr, stderr
    assert "Traceback" not in stderr
    assert not out.exists()


def test_out_naming_a_file_exits_2(tmp_path, capsys):
    _prepare(tmp_path, UNBROKEN)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(tmp_path / SCENARIO), "--out", str(tmp_path / CATALOGUE), "--quiet"])
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    assert "--out" in stderr and "is a file, expected a folder" in stderr, stderr
    assert (tmp_path / CATALOGUE).read_text() == (DATA / CATALOGUE).read_text()


def test_good_overrides_load_and_run(tmp_path, capsys):
    _prepare(tmp_path, UNBROKEN)
    overrides = ["policy.landfill_tax_eur_per_t=80", "firms.power.capacity=5000"]
    scenario = load(tmp_path / SCENARIO, overrides)
    assert scenario.policy["landfill_tax_eur_per_t"].values == (80.0,)
    assert scenario.spec.firms[0].capacity == 5000.0
    out = tmp_path / "out"
    args = [arg for o in overrides for arg in ("--set", o)]
    assert main(["run", str(tmp_path / SCENARIO), *FAST, *args, "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert (out / "metadata.json").exists()
