"""Print the material palette of ``simulation/output/palette.py`` (run once when the catalogue gains a material).

Greedy farthest-point selection in CIELAB over a grid of sRGB colours: each new
colour is the candidate of its family (energy: reds to ambers; water: cyans to
blues; mass: every other hue, and browns and greys) farthest from all colours
chosen so far. Families take turns, so each gets well-spread colours; within a
family the materials listed first (the wastes most often exchanged) get the
earliest, most distinct picks. Colours already in the palette keep their place,
so adding a material never recolours the others.

Usage: .venv/bin/python scripts/make_palette.py
"""

import numpy as np

from simulation.output.palette import MATERIAL_COLOURS, lab

# Per family, materials in the order they get colours: the wastes and by-products exchanged
# first, then virgin inputs (which appear only in flow tables).
ORDER = {
    "energy": ["steam", "surplus_heat", "refinery_gas", "process_steam", "low_grade_heat", "natural_gas",
               "district_heat", "aquaculture_heat", "process_waste_heat", "hydrogen_byproduct", "hydrogen",
               "natural_gas_feedstock"],
    "water": ["used_cooling_water", "warm_seawater", "treated_wastewater", "process_wastewater", "fresh_water"],
    "mass": ["fly_ash", "fgd_gypsum", "wood_fly_ash", "sulphur", "fermentation_sludge", "yeast_slurry",
             "sewage_sludge", "digestate", "manure", "food_waste", "organic_residue", "scrap_metal",
             "plasterboard_offcuts", "concrete_waste", "spent_foundry_sand", "plastic_scrap",
             "coal", "wood_chips", "crude_oil", "glucose", "natural_gypsum", "clinker", "limestone", "cement",
             "aggregates", "mineral_fertiliser", "animal_feed", "fish_feed", "energy_crops", "virgin_sulphur",
             "steel", "pig_iron", "silica_sand", "polymer", "chlorine_coproduct", "chlorine", "salt", "ethylene",
             "spent_sulphuric_acid", "sulphuric_acid", "co2_pure", "waste_hcl", "nitrogen_coproduct", "iron_slag",
             "neutralising_acid", "oxygen", "nitrogen"],
}


def family_of(lab_colour):
    """The family a candidate colour may serve: by its CIELAB lightness, chroma and hue angle."""
    lightness, a, b = lab_colour
    chroma, hue = np.hypot(a, b), np.degrees(np.arctan2(b, a)) % 360
    if not 28 <= lightness <= 82:
        return None  # too dark to tell apart, or too light on a white background
    if chroma >= 45 and 15 <= hue <= 80 and lightness >= 40:
        return "energy"
    if chroma >= 30 and 190 <= hue <= 300:
        return "water"
    if (chroma >= 40 and 5 <= hue <= 88) or (chroma >= 20 and 180 <= hue <= 322):
        return None  # a margin around the energy and water families
    if chroma < 10 and lightness > 70:
        return None  # light greys vanish on white
    return "mass"


def candidates():
    steps = np.linspace(0, 1, 18)
    grid = np.array(np.meshgrid(steps, steps, steps)).reshape(3, -1).T
    hexes = ["#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in rgb)) for rgb in grid]
    labs = np.array([lab(h) for h in hexes])
    families = np.array([family_of(c) for c in labs], dtype=object)
    return np.array(hexes), labs, families


def main():
    hexes, labs, families = candidates()
    chosen = {m: c for m, c in MATERIAL_COLOURS.items()}
    todo = {family: [m for m in order if m not in chosen] for family, order in ORDER.items()}
    picked = np.array([lab(c) for c in chosen.values()]).reshape(-1, 3)
    while any(todo.values()):
        for family in ("energy", "water", "mass"):
            if not todo[family]:
                continue
            pool = families == family
            far = np.full(len(hexes), np.inf) if len(picked) == 0 else np.min(
                np.linalg.norm(labs[:, None, :] - picked[None, :, :], axis=2), axis=1)
            far[~pool] = -1
            best = int(np.argmax(far))
            chosen[todo[family].pop(0)] = hexes[best]
            picked = np.vstack([picked, labs[best]])
    for family, order in ORDER.items():
        print(f"    # {family}")
        for m in order:
            print(f'    "{m}": "{chosen[m]}",')
    distances = np.linalg.norm(picked[:, None] - picked[None], axis=2) + np.eye(len(picked)) * 1e9
    print(f"# minimum CIELAB distance (CIE76): {distances.min():.1f}")


if __name__ == "__main__":
    main()
