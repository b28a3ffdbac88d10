"""Names for people: ``policy.landfill_tax_eur_per_t`` reads "landfill tax (EUR/t)".

Parameters and measures carry their unit in their name's suffix (the convention
of :mod:`simulation.scenario.parameters` and :mod:`simulation.measures.summary`);
figures label axes with the words and the unit instead of the dotted path.
"""

import typing

from pydantic import BaseModel

# Longest first: "_eur_per_t" is EUR/t, not "eur per" in t.
UNIT_SUFFIXES = (
    ("_eur_per_t", "EUR/t"), ("_eur_per_month", "EUR/month"), ("_eur_per_km", "EUR/km"),
    ("_t_per_unit_km", "t per unit-km"), ("_per_year", "per year"), ("_per_month", "per month"),
    ("_eur", "EUR"), ("_kmh", "km/h"), ("_km", "km"), ("_months", "months"), ("_month", "month"),
    ("_days", "days"), ("_hours", "hours"), ("_share", "share"), ("_mwh", "MWh"), ("_m3", "m3"),
    ("_t", "t"), ("_factor", "x default"),
)
WORDS = {"co2": "CO2", "eur": "EUR", "mwh": "MWh", "ewc": "EWC", "n": "number of"}


def split_unit(name):
    """(words, unit or None) of a snake_case name: ``"co2_avoided_t"`` -> ``("CO2 avoided", "t")``."""
    for suffix, unit in UNIT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return _words(name[: -len(suffix)]), unit
    return _words(name), None


def _words(snake):
    return " ".join(WORDS.get(word, word) for word in snake.split("_"))


def measure_label(name):
    """A run measure's axis label: ``"waste_diverted_share"`` -> ``"waste diverted (share)"``."""
    words, unit = split_unit(name)
    return f"{words} ({unit})" if unit else words


def parameter_label(path):
    """A scenario parameter's axis label from its dotted path, with its unit.

    The unit comes from the name's suffix, else from the field's description
    (a share, a multiplier); a one-word name takes its section's
    (``search.cost_eur`` -> "search cost (EUR)").
    """
    parts = path.split(".")
    words, unit = split_unit(parts[-1])
    if unit is None:
        unit = _unit_from_description(_description(parts))
    if " " not in words and len(parts) > 1 and parts[-2] != "policy":  # "subsidy" needs no "policy"
        words = f"{_words(parts[-2])} {words}"
    return f"{words} ({unit})" if unit else words


def _unit_from_description(description):
    if "share" in description:
        return "share"
    if "multiplier" in description:
        return "x default"
    return None


def _description(parts):
    """The description of the field a dotted path names (sections and list entries walked through), or ""."""
    from simulation.scenario.parameters import ScenarioSpec

    model = ScenarioSpec
    for part in parts:
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            continue  # a list entry's id or index: stay in the entry's model
        if part == parts[-1]:
            return field.description or ""
        model = _section_of(field.annotation)
    return ""


def _section_of(annotation):
    """The Section class inside an annotation such as ``Demand``, ``SyntheticPark | None`` or ``list[FirmSpec]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _section_of(argument)
        if found is not None:
            return found
    return None
