"""Substitutions barred to some sectors by a hygiene, quality or safety rule (``Substitution.barred_sectors``).

Reclaimed wastewater is no source of pharmaceutical process water (WHO good practices for pharmaceutical water ask for
drinking-water quality feed), and food-contact water must be potable (Regulation (EC) 852/2004): a catalogue states
such rules per substitution, and no firm of a barred sector is offered the substitution by a partner or builds it
for its own waste.
"""

import numpy as np
from conftest import mini_with_catalogue, run, with_shipped_catalogue
from test_mechanisms import BOARDS, OFFCUTS, STEADY
from test_shared_networks import PARK as WATER_MAIN

from simulation.model import SymbiosisModel
from simulation.model.recorder import REUSED

SHIPPED_RULE = 'barred_sectors = ["pharma", "food_processing", "brewery"]'  # on the shipped water substitutions
USERS = ["plastics_a", "plastics_b", "plastics_c"]


def water_links(folder, barred=None, park=WATER_MAIN):
    """Receivers of treated wastewater on the recycled-water main, with the shipped catalogue's water rule replaced
    by ``barred`` (a list of sectors) where given."""
    edit = [(SHIPPED_RULE, f"barred_sectors = {barred!r}".replace("'", '"'))] if barred is not None else []
    model = run(with_shipped_catalogue(folder, park, edit=edit), seed=1)
    book, waste = model.contracts, model.materials.index["treated_wastewater"]
    return [model.firm_ids[book.receiver[c]] for c in range(len(book)) if book.waste[c] == waste]


def test_no_partner_offers_a_barred_sector_the_substitution(tmp_path):
    """The recycled-water main's three plastics plants take the utility's treated wastewater; barred to their sector,
    none does; barred to other sectors only, the links form as before."""
    assert sorted(water_links(tmp_path)) == USERS
    assert water_links(tmp_path, ["plastics"]) == []
    assert sorted(water_links(tmp_path, [])) == USERS


def test_the_shipped_catalogue_keeps_reclaimed_water_out_of_food_plants(tmp_path):
    """The same main serving three food plants of the same water need: under the shipped hygiene rule (potable water
    for food, Regulation (EC) 852/2004) none takes the treated wastewater; with the rule lifted all three do."""
    food = WATER_MAIN.replace('sector = "plastics"', 'sector = "food_processing"').replace(
        "capacity = 6000.0", "capacity = 2000.0")  # 6 m3 of water a t of food against 2 a t of mouldings
    assert "food_processing" in food and water_links(tmp_path, park=food) == []
    assert sorted(water_links(tmp_path, [], park=food)) == USERS


def test_a_firm_of_a_barred_sector_does_not_build_the_substitution_for_its_own_waste(tmp_path):
    """The lone board line that builds recovery for its offcuts at once (tests/test_mechanisms.py, "pays") builds
    nothing when its own sector is barred from putting offcuts back into its gypsum feed."""
    def board_line(barred):
        text = OFFCUTS.replace('recovery_capex_eur = 360000.0', f'recovery_capex_eur = 360000.0\nbarred_sectors = {barred}')
        scenario = mini_with_catalogue(tmp_path, "offcuts.toml", text, f"firms=[{BOARDS}]", *STEADY,
                                       "firm_defaults.interest_rate_per_year=0", "scenario.years=1",
                                       "firm_defaults.hurdle_rate=0.2")
        return SymbiosisModel(scenario, seed=1).run()

    assert board_line('["cement"]').recorder.series("investments").sum() == 1
    barred = board_line('["boards"]')
    assert barred.recorder.series("investments").sum() == 0
    flows = np.array(barred.recorder.material_flows)
    assert flows[:, barred.materials.index["offcuts"], REUSED].sum() == 0.0
