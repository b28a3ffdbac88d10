"""Random values in random fields: refused with one clear message, or a run whose every number is finite.

Hypothesis writes values of every shape (huge, tiny, negative, NaN, infinite,
true/false, text, lists) into scenario fields (through ``--set``) and catalogue
fields (by rewriting the file). Each command must either stop with exit status 2,
one line naming file and field and nothing written, or finish with exit status 0
and output files in which every number is finite. Examples are derandomised, so
the suite is the same on every machine.
"""

import json
import math
import os
import tempfile
import tomllib
from pathlib import Path

import pandas as pd
from conftest import DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation.cli import main
from simulation.scenario.parameters import ScenarioSpec

SCENARIO, CATALOGUE = "mini_park.toml", "mini_catalogue.toml"
SECTIONS = ("demand", "market", "firm_defaults", "search", "contract", "trust", "logistics", "outages", "policy", "outcome")
SCENARIO_FIELDS = sorted(
    [f"{s}.{f}" for s in SECTIONS for f in ScenarioSpec.model_fields[s].annotation.model_fields]
    + [f"firms.{firm}.{f}" for firm in ("power", "greenhouse") for f in ("capacity", "x_km", "hurdle_rate", "risk_aversion", "entry")]
    + ["scenario.years", "scenario.seed", "scenario.start", "events.0.at"]
)
CATALOGUE_TEXT = (DATA / CATALOGUE).read_text()
CATALOGUE_RAW = tomllib.loads(CATALOGUE_TEXT)
CATALOGUE_FIELDS = sorted(
    [("materials", m, f) for m, entry in CATALOGUE_RAW["materials"].items() for f, v in entry.items() if not isinstance(v, str)]
    + [("processes", p, f) for p, entry in CATALOGUE_RAW["processes"].items() for f in ("margin_eur", "inputs", "outputs", "capacity")
       if f in entry]
    + [("substitutions", i, f) for i, entry in enumerate(CATALOGUE_RAW["substitutions"]) for f in entry
       if f not in ("waste", "replaces")]
)

NUMBERS = st.one_of(
    st.floats(0, 100), st.integers(0, 500),  # plausible values, so that many examples run
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
    st.sampled_from([0, 1, -1, 0.5, 1e308, -1e308, 1e-308, 5e-324, 2**63, 2**64, 1e6, 1e9, 1e12]),
)
VALUES = st.one_of(
    NUMBERS,
    st.booleans(),
    st.text(max_size=6),
    st.lists(st.tuples(st.one_of(st.integers(-3, 400), st.sampled_from(["2025-06", "2026", "x"])), NUMBERS), max_size=3),
    st.dictionaries(st.sampled_from(["truck", "pipeline", "coal"]), NUMBERS, max_size=2),
)


def toml(value):
    """A Python value as a TOML value (lists of tuples as arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml(v)}" for k, v in value.items()) + "}"


def catalogue_text(raw):
    lines = []
    for section in ("materials", "sectors", "processes"):
        for key, entry in raw[section].items():
            lines.append(f"[{section}.{key}]")
            lines += [f"{k} = {toml(v)}" for k, v in entry.items()]
    for entry in raw["substitutions"]:
        lines.append("[[substitutions]]")
        lines += [f"{k} = {toml(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def run_in(folder, *extra):
    out = Path(folder) / "out"
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        status = main(["run", SCENARIO, "--years", "0.25", "--no-figures", "--quiet", "--out", "out", *extra])
    except SystemExit as exc:
        status = exc.code
    finally:
        os.chdir(cwd)
    return status, out


def assert_refused_or_finite(status, out, capsys):
    _, err = capsys.readouterr()
    if status == 0:
        for table in out.glob("*.csv"):
            cells = pd.read_csv(table, dtype=str, keep_default_na=False).to_numpy().ravel()
            numbers = pd.to_numeric(pd.Series(cells), errors="coerce")
            written_as_nan = pd.Series(cells).str.lower().str.lstrip("+-").isin(["nan", "inf", "infinity"])
            assert not written_as_nan.any() and numbers.dropna().map(math.isfinite).all(), table.name
        assert "NaN" not in (out / "metadata.json").read_text() and "Infinity" not in (out / "metadata.json").read_text()
    else:
        assert status == 2, err
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert not out.exists()


SETTINGS = settings(max_examples=70, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(field=st.sampled_from(SCENARIO_FIELDS), value=VALUES)
def test_random_scenario_values_are_refused_or_run_finite(field, value, capsys):
    with tempfile.TemporaryDirectory() as folder:
        for name in (SCENARIO, CATALOGUE):
            Path(folder, name).write_text((DATA / name).read_text())
        assert_refused_or_finite(*run_in(folder, "--set", f"{field}={toml(value)}"), capsys)


@SETTINGS
@given(field=st.sampled_from(CATALOGUE_FIELDS), value=VALUES)
def test_random_catalogue_values_are_refused_or_run_finite(field, value, capsys):
    section, key, name = field
    raw = tomllib.loads(CATALOGUE_TEXT)
    raw[section][key][name] = value
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, SCENARIO).write_text((DATA / SCENARIO).read_text())
        Path(folder, CATALOGUE).write_text(catalogue_text(raw))
        assert_refused_or_finite(*run_in(folder), capsys)
