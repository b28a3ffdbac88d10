"""Names for people: ``policy.landfill_tax_eur_per_t`` reads "landfill tax (EUR/t)".

Parameters and measures carry their unit in their name's suffix (the convention
of :mod:`simulation.scenario.parameters` and :mod:`simulation.measures.summary`);
figures label axes with the words and the unit instead of the dotted path.
"""

from simulation.scenario.describe import field_description
from simulation.scenario.describe import split_unit as split_suffix

WORDS = {"co2": "CO2", "eur": "EUR", "mwh": "MWh", "ewc": "EWC", "n": "number of"}


def split_unit(name):
    """(words, unit or None) of a snake_case name: ``"co2_avoided_t"`` -> ``("CO2 avoided", "t")``."""
    stem, unit = split_suffix(name)
    return _words(stem), unit


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
        unit = _unit_from_description(field_description(path))
    if " " not in words and len(parts) > 1 and parts[-2] != "policy":  # "subsidy" needs no "policy"
        words = f"{_words(parts[-2])} {words}"
    return f"{words} ({unit})" if unit else words


def _unit_from_description(description):
    if "share" in description:
        return "share"
    if "multiplier" in description:
        return "x default"
    return None
