"""One colour per material, the same in every figure of every run.

Colours are fixed per material id (not drawn from a colour cycle in the order
materials happen to occur in a run), grouped by family so a figure reads at a
glance: energy (MWh) in reds, oranges and ambers, water (m3) in cyans and
blues, mass (t) in every other hue and in browns and greys. The table was made
by ``scripts/make_palette.py`` (greedy farthest-point selection in CIELAB) so
that no two colours are near-identical; ``tests/test_palette.py`` checks the
minimum distance. A material outside the shipped catalogue gets a colour of
its family chosen by a hash of its id: still the same in every figure.
"""

import hashlib

import numpy as np

FAMILY_OF_UNIT = {"t": "mass", "MWh": "energy", "m3": "water"}

MATERIAL_COLOURS = {
    # energy
    "steam": "#c30000",
    "surplus_heat": "#ffb400",
    "refinery_gas": "#875a0f",
    "process_steam": "#ff9687",
    "low_grade_heat": "#ff3c69",
    "natural_gas": "#ff780f",
    "district_heat": "#b44b2d",
    "aquaculture_heat": "#ffa55a",
    "process_waste_heat": "#ff694b",
    "hydrogen_byproduct": "#c38700",
    "hydrogen": "#b42d4b",
    "natural_gas_feedstock": "#ff003c",
    # water
    "used_cooling_water": "#004bff",
    "warm_seawater": "#00d2f0",
    "treated_wastewater": "#2d4b87",
    "process_wastewater": "#c3c3ff",
    "fresh_water": "#7887ff",
    # mass
    "fly_ash": "#00e100",
    "fgd_gypsum": "#ff87d2",
    "wood_fly_ash": "#0f873c",
    "sulphur": "#ff00ff",
    "fermentation_sludge": "#780087",
    "yeast_slurry": "#b4d23c",
    "sewage_sludge": "#788778",
    "digestate": "#782d3c",
    "manure": "#e1c378",
    "food_waste": "#00e1b4",
    "organic_residue": "#ff00b4",
    "scrap_metal": "#b40f69",
    "plasterboard_offcuts": "#3c4b0f",
    "concrete_waste": "#69e169",
    "spent_foundry_sand": "#a57896",
    "plastic_scrap": "#e169f0",
    "coal": "#0f4b5a",
    "wood_chips": "#96c387",
    "crude_oil": "#e1c3c3",
    "glucose": "#878700",
    "natural_gypsum": "#692d69",
    "clinker": "#0f694b",
    "limestone": "#b48769",
    "cement": "#4b9600",
    "aggregates": "#a5d2d2",
    "mineral_fertiliser": "#5a3c1e",
    "animal_feed": "#7896b4",
    "fish_feed": "#a500c3",
    "energy_crops": "#d26987",
    "virgin_sulphur": "#b44ba5",
    "steel": "#78d20f",
    "pig_iron": "#87874b",
    "silica_sand": "#ff0087",
    "polymer": "#0fa587",
    "chlorine_coproduct": "#5a4b5a",
    "chlorine": "#ffb4e1",
    "salt": "#e1c33c",
    "ethylene": "#3c6900",
    "spent_sulphuric_acid": "#4bc378",
    "sulphuric_acid": "#00b41e",
    "co2_pure": "#3c4b3c",
    "waste_hcl": "#87c35a",
    "nitrogen_coproduct": "#c30fa5",
    "iron_slag": "#f096ff",
    "neutralising_acid": "#b4b496",
    "oxygen": "#870069",
    "nitrogen": "#f04ba5",
}

# For materials not in the table (a scenario's own catalogue): a few colours per family.
FALLBACK = {
    "energy": ["#d62728", "#ff7f0e", "#b8860b", "#e377c2"],
    "water": ["#1f77b4", "#17becf", "#4169e1", "#5f9ea0"],
    "mass": ["#2ca02c", "#8c564b", "#9467bd", "#7f7f7f", "#bcbd22", "#556b2f"],
}


def material_colour(material, unit):
    """The colour (hex) of ``material``, whose quantities are in ``unit`` (t, MWh or m3)."""
    if material in MATERIAL_COLOURS:
        return MATERIAL_COLOURS[material]
    options = FALLBACK[FAMILY_OF_UNIT.get(unit, "mass")]
    digest = hashlib.sha256(material.encode()).digest()  # stable across runs, unlike hash()
    return options[digest[0] % len(options)]


def material_colours(materials, ids=None):
    """Colours of material indices ``ids`` (default: all) of a model's MaterialTable, as a list of hex strings."""
    ids = range(len(materials)) if ids is None else ids
    return [material_colour(materials.ids[i], materials.unit[i]) for i in ids]


def lab(colour):
    """CIELAB (D65) coordinates of a hex colour, for judging how far apart two colours look."""
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])
