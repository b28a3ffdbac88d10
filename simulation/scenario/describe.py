"""Every scenario parameter described from its pydantic field: what ``symbiosis params`` lists.

Path, default, unit, range and meaning all come from
:mod:`simulation.scenario.parameters` (the field's default, its ``ge``/``gt``/
``le``/``lt`` constraints, a policy's ``max``, its description), and the unit
from the name, whose suffix carries it by the project's convention
(``_eur_per_t``, ``_months``, ``_km`` ...); so the listing cannot drift from
what the loader accepts.
"""

import math
import typing
from typing import NamedTuple

import annotated_types
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from simulation.errors import ScenarioError
from simulation.scenario import parameters

# Lists of tables in a scenario, and how a path names one of their entries (as --set does).
LISTS = {"firms": ("firms.<id>", parameters.FirmSpec), "events": ("events.<index>", parameters.Event),
         "approvals": ("approvals.<index>", parameters.Approval),
         "networks": ("networks.<index>", parameters.SharedNetwork),
         "shared_disposal": ("shared_disposal.<index>", parameters.SharedDisposal)}
# Name suffix -> unit, the more specific first ("_eur_per_t" is EUR/t, not "eur per" in t): the project's
# convention for parameters and measures alike, read here for `symbiosis params` and for figures' axis labels.
UNIT_SUFFIXES = (
    ("_t_per_unit_km", "t/unit-km"), ("_eur_per_unit", "EUR/unit"), ("_eur_per_t", "EUR/t"), ("_eur_per_km", "EUR/km"), ("_eur_per_month", "EUR/month"),
    ("_eur", "EUR"), ("_hours_per_day", "h/day"), ("_per_month", "per month"), ("_per_year", "per year"),
    ("_months", "months"), ("_month", "month"), ("_days", "days"), ("_hours", "h"), ("_kmh", "km/h"), ("_km", "km"),
    ("_mwh", "MWh"), ("_m3", "m3"), ("_t", "t"), ("_share", "share"), ("_years", "years"), ("_factor", "x default"),
)
# Whole names whose unit no suffix tells.
NAMED_UNITS = {"years": "years", "n_firms": "firms", "capacity": "units/month", "seed": "-", "layout_seed": "-"}


class ParameterRow(NamedTuple):
    path: str
    default: str
    unit: str
    range: str
    meaning: str


def sections():
    """The scenario's sections in file order: its tables and its lists of tables."""
    return list(parameters.ScenarioSpec.model_fields)


def parameter_rows(section=None):
    """One row per parameter of ``section`` (all sections by default)."""
    chosen = sections() if section is None else [section]
    if section is not None and section not in sections():
        raise ScenarioError("params", "SECTION", f"unknown section {section!r} (known: {', '.join(sections())})")
    return [row for name in chosen for row in _section_rows(name)]


def _section_rows(name):
    prefix, cls = LISTS.get(name, (name, _section_class(name)))
    return [_row(f"{prefix}.{field}", field, info, cls) for field, info in cls.model_fields.items()]


def _section_class(name):
    return section_of(parameters.ScenarioSpec.model_fields[name].annotation)


def section_of(annotation):
    """The Section class inside an annotation such as ``Demand``, ``SyntheticPark | None`` or ``list[FirmSpec]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = section_of(argument)
        if found is not None:
            return found
    return None


def field_description(path):
    """The description of the field a dotted path names (sections and list entries walked through), or ""."""
    parts = path.split(".")
    model = parameters.ScenarioSpec
    for part in parts:
        field = model.model_fields.get(part) if model is not None else None
        if field is None:
            continue  # a list entry's id or index: stay in the entry's model
        if part == parts[-1]:
            return field.description or ""
        model = section_of(field.annotation)
    return ""


def _row(path, field, info, cls):
    schedule = cls is parameters.Policy
    meaning = info.description or ""
    if schedule:
        meaning += ("; " if meaning else "") + "a number or a schedule [[time, value], ...]"
    return ParameterRow(path, _default(info), unit_of(field, info.description), _range(info, cls, field), meaning)


def _default(info):
    if info.default is PydanticUndefined:
        return "required"
    value = info.default
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()  # as TOML writes it
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value) if not isinstance(value, str) else (value or '""')


def split_unit(name):
    """(the name without its unit suffix, the unit or None): ``"co2_avoided_t"`` -> ``("co2_avoided", "t")``."""
    for suffix, unit in UNIT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], unit
    return name, None


def unit_of(field, description=None):
    """A field's unit from its name ("-" when it tells none, "share" for a share or a chance)."""
    unit = split_unit(field)[1] or NAMED_UNITS.get(field)
    if unit:
        return unit
    return "share" if (description or "").startswith(("share", "chance")) else "-"


def _range(info, cls, field):
    """The allowed values as an interval, e.g. ``[0, 1]``, ``(0, 1e6]``; "" when the field is not a number."""
    low = high = None
    for bound in info.metadata:
        if isinstance(bound, annotated_types.Ge):
            low = ("[", bound.ge)
        elif isinstance(bound, annotated_types.Gt):
            low = ("(", bound.gt)
        elif isinstance(bound, annotated_types.Le):
            high = (bound.le, "]")
        elif isinstance(bound, annotated_types.Lt):
            high = (bound.lt, ")")
    if cls is parameters.Policy:  # each value of a schedule within [0, max]
        low, high = ("[", 0), (parameters.Policy.maximum(field), "]")
    if low is None and high is None:
        return ""
    left = f"{low[0]}{_bound(low[1])}" if low else "(-inf"
    right = f"{_bound(high[0])}{high[1]}" if high else "inf)"
    return f"{left}, {right}"


def _bound(value):
    if isinstance(value, int) and value >= 2**62:
        return f"2^{round(math.log2(value))}"
    if abs(value) >= 1e5:  # 1e6, not 1e+06
        exponent = int(math.floor(math.log10(abs(value))))
        return f"{value / 10**exponent:g}e{exponent}"
    return f"{value:g}"


def format_parameters(rows):
    """A table: path, default, unit, range, meaning."""
    header = ParameterRow("parameter", "default", "unit", "range", "meaning")
    shown = [header, *rows]
    widths = [max(len(row[i]) for row in shown) for i in range(4)]
    return "\n".join("  ".join(text.ljust(w) for text, w in zip(row[:4], widths)) + "  " + row.meaning
                     for row in shown).rstrip()
