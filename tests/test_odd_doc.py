"""docs/odd.md stays true to the code: every parameter, field and measure it names exists, and none is left out."""

import re
from pathlib import Path

import pytest

from simulation.model.recorder import MEASURES
from simulation.scenario import catalogue, parameters
from simulation.scenario.describe import section_of

ODD = Path(__file__).parent.parent / "docs" / "odd.md"
TEXT = ODD.read_text(encoding="utf-8")

# Scenario sections that are tables of fields (the firms, events, approvals, networks and shared_disposal lists are
# described as FirmSpec.*, Event.*, Approval.*, SharedNetwork.* and SharedDisposal.*).
SECTIONS = ("scenario", "demand", "market", "firm_defaults", "search", "contract", "trust",
            "logistics", "outages", "policy", "outcome", "report", "park")
# Sections whose every field must be named in the document; the run section and the park generator may be prose.
REQUIRED_SECTIONS = tuple(s for s in SECTIONS if s not in ("scenario", "park"))
CLASSES = {
    "Material": catalogue.Material,
    "Process": catalogue.Process,
    "Substitution": catalogue.Substitution,
    "Sector": catalogue.Sector,
    "FirmSpec": parameters.FirmSpec,
    "Event": parameters.Event,
    "Approval": parameters.Approval,
    "SharedNetwork": parameters.SharedNetwork,
    "SharedDisposal": parameters.SharedDisposal,
    "HeatPump": catalogue.HeatPump,
}

# A dotted name not itself part of a longer dotted name or a path: `search.rate_per_month`, not simulation.model.market.x or contract.py.
SECTION_REF = re.compile(r"(?<![\w./])(" + "|".join(SECTIONS) + r")\.([A-Za-z_]\w*)")
CLASS_REF = re.compile(r"(?<![\w./])(" + "|".join(CLASSES) + r")\.([A-Za-z_]\w*)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")


def section_class(name):
    """The pydantic class of scenario section ``name`` (``park`` is optional, so unwrap ``SyntheticPark | None``)."""
    found = section_of(parameters.ScenarioSpec.model_fields[name].annotation)
    assert found is not None, f"ScenarioSpec.{name} is not a section"
    return found


def code_spans():
    """Inline code spans and fenced code blocks of the document."""
    fenced = re.findall(r"```[^\n]*\n(.*?)```", TEXT, flags=re.S)
    inline = CODE_SPAN.findall(re.sub(r"```.*?```", "", TEXT, flags=re.S))
    return inline + fenced


def test_sections_listed_here_are_the_scenario_sections():
    tables = {name for name in parameters.ScenarioSpec.model_fields if name not in ("firms", "events", "approvals", "networks", "shared_disposal")}
    assert tables == set(SECTIONS)


def test_every_dotted_parameter_name_exists():
    found = [(s, f) for span in code_spans() for s, f in SECTION_REF.findall(span)]
    found += SECTION_REF.findall(TEXT)  # prose and formulas too, not only code spans
    assert len(found) > 100, "the document should name the parameters it uses"
    unknown = sorted({f"{s}.{f}" for s, f in found if f not in section_class(s).model_fields})
    assert not unknown, f"docs/odd.md names parameters the code does not have: {unknown}"


@pytest.mark.parametrize("section", REQUIRED_SECTIONS)
def test_every_parameter_is_documented(section):
    missing = [f"{section}.{field}" for field in section_class(section).model_fields if f"`{section}.{field}`" not in TEXT]
    assert not missing, f"docs/odd.md does not describe {missing}"


def test_every_class_field_reference_exists():
    found = CLASS_REF.findall(TEXT)
    assert len(found) > 40
    unknown = sorted({f"{c}.{f}" for c, f in found if f not in CLASSES[c].model_fields})
    assert not unknown, f"docs/odd.md names fields the catalogue or scenario classes do not have: {unknown}"


def test_every_catalogue_field_is_documented():
    missing = [f"{c}.{f}" for c, cls in CLASSES.items() for f in cls.model_fields if f"`{c}.{f}`" not in TEXT]
    assert not missing, f"docs/odd.md does not describe {missing}"


def test_every_measure_is_documented():
    assert len(MEASURES) > 10
    missing = [name for name in MEASURES if f"`{name}`" not in TEXT]
    assert not missing, f"docs/odd.md does not describe the measures {missing}"


def test_no_unknown_measure_in_the_measure_table():
    """Rows of the observation table name measures the code records, and nothing else."""
    rows = [line for line in TEXT.splitlines() if line.startswith("| `") and line.count("|") == 5]
    named = {m for line in rows for m in re.findall(r"\|\s*`(\w+)`\s*\|", line)}
    assert named, "the observation table is missing"
    assert named <= set(MEASURES), f"not measures: {sorted(named - set(MEASURES))}"


def _number(text):
    """The number a table cell states: ``1,000``, ``0.5`` or a fraction, ``1/12``; None for anything else."""
    numerator, _, denominator = text.replace(",", "").replace("_", "").strip().partition("/")
    try:
        return float(numerator) / float(denominator or 1)
    except (ValueError, ZeroDivisionError):
        return None


def test_defaults_in_the_parameter_table_match_the_code():
    """A table row ``| `section.field` | default | ...`` states the default of that field."""
    checked = 0
    for line in TEXT.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`(\w+)\.(\w+)`", cells[0]) if len(cells) >= 3 else None
        if match is None or match[1] not in SECTIONS:
            continue
        field = section_class(match[1]).model_fields[match[2]]
        stated = _number(cells[1])
        if stated is None or field.is_required():
            continue
        assert stated == pytest.approx(float(field.default)), f"{match[0]}: docs say {cells[1]}, code says {field.default}"
        checked += 1
    assert checked >= 50
