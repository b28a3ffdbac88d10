"""Heat grades (a heat pump lifts heat colder than its user needs) and substitutions closed until a date
(a technique's first use, a regulator's approval, a planning rule)."""

import shutil

import pytest
from conftest import DATA, ROOT

from simulation.model import SymbiosisModel
from simulation.scenario import load

MINI_FILES = ("mini_park.toml", "mini_catalogue.toml")


def mini_graded(folder, source_c, user_c, pump="", *overrides):
    """The four-firm park with the power station's surplus heat at ``source_c`` and the greenhouse's heat
    need at ``user_c`` (deg C; None: no grade), and ``pump`` lines in a [heat_pump] section."""
    for name in MINI_FILES:
        shutil.copy(DATA / name, folder / name)
    catalogue = folder / "mini_catalogue.toml"
    text = catalogue.read_text()
    for material, grade in (("surplus_heat", source_c), ("heat", user_c)):
        if grade is not None:
            header = f"[materials.{material}]\n"
            text = text.replace(header, f"{header}temperature_c = {grade}\n")
    catalogue.write_text(text + (f"\n[heat_pump]\n{pump}\n" if pump else ""))
    return load(folder / "mini_park.toml", overrides)


def heat_links(model, before=None):
    """Contracts that carry surplus heat (starting before period ``before``, if given)."""
    book, waste = model.contracts, model.materials.index["surplus_heat"]
    ids = [c for c in range(len(book)) if book.waste[c] == waste]
    return [c for c in ids if before is None or book.start[c] < before]


# -- heat grades -----------------------------------------------------------------------------

def test_heat_colder_than_its_user_needs_is_lifted_by_a_pump_at_the_carnot_cost():
    catalogue = load(ROOT / "scenarios" / "kalundborg.toml").catalogue
    by_pair = {(s.waste, s.replaces): s for s in catalogue.substitutions}
    pump = catalogue.heat_pump
    raw = by_pair["warm_seawater", "district_heat"]
    lifted = catalogue.delivered(raw)
    cop = pump.carnot_share * (80 + 273.15) / (80 - 17)
    electricity = raw.ratio / (cop - 1)  # MWh per m3 of seawater
    assert lifted.ratio == pytest.approx(raw.ratio * cop / (cop - 1))  # the source's heat plus the electricity
    assert lifted.treatment_eur == pytest.approx(raw.treatment_eur + electricity * pump.electricity_eur_per_mwh
                                                 + lifted.ratio * pump.capital_eur_per_mwh)
    assert lifted.treatment_co2_t == pytest.approx(raw.treatment_co2_t + electricity * pump.electricity_co2_t_per_mwh)
    assert lifted.fuel_mwh == pytest.approx(raw.fuel_mwh + electricity * pump.primary_energy_factor)
    # Warm enough already: fish tanks take the seawater as it is; CHP hot water feeds district heating as it is.
    for pair in (("warm_seawater", "aquaculture_heat"), ("surplus_heat", "district_heat")):
        assert catalogue.delivered(by_pair[pair]) is by_pair[pair]
    # A smaller lift costs less electricity per MWh delivered.
    to_process_heat = catalogue.delivered(by_pair["warm_seawater", "low_grade_heat"])
    assert to_process_heat.treatment_eur / to_process_heat.ratio < lifted.treatment_eur / lifted.ratio


def test_dear_electricity_keeps_heat_that_needs_lifting_out_of_use_but_not_heat_hot_enough(tmp_path):
    """The mechanism: the greenhouse takes the power station's surplus heat when it is hot enough, whatever
    electricity costs; when it needs a pump, electricity at 1,000 EUR/MWh makes the exchange not worth it."""
    dear = "electricity_eur_per_mwh = 1000.0"
    for seed in (1, 2, 3):
        hot = SymbiosisModel(mini_graded(tmp_path, 60, 50, dear), seed=seed).run()
        cold = SymbiosisModel(mini_graded(tmp_path, 20, 50, dear), seed=seed).run()
        cheap = SymbiosisModel(mini_graded(tmp_path, 20, 50, "electricity_eur_per_mwh = 0.0\ncapital_eur_per_mwh = 0.0"),
                               seed=seed).run()
        assert heat_links(hot) and heat_links(cheap), seed
        assert not heat_links(cold), seed


def test_a_lift_no_heat_pump_can_make_is_refused_with_the_entry_named(tmp_path):
    from simulation.errors import ScenarioError

    with pytest.raises(ScenarioError, match=r"mini_catalogue.toml: substitutions\[2\]: no heat pump lifts heat from -40 to 500"):
        mini_graded(tmp_path, -40, 500, "carnot_share = 0.3")


# -- substitutions closed until a date ----------------------------------------------------------

APPROVAL = '[[approvals]]\nwaste = "surplus_heat"\nallowed_from = "{when}"\nsource = "a test rule"\n'


def mini_with(folder, text):
    for name in MINI_FILES:
        shutil.copy(DATA / name, folder / name)
    scenario = folder / "mini_park.toml"
    scenario.write_text(scenario.read_text() + "\n" + text)
    return load(scenario)


def test_no_firm_uses_a_substitution_before_its_approval_and_firms_do_after(tmp_path):
    """Paired by seed: the surplus-heat exchange forms in the first year without the rule; with the rule
    (from 2027-01) none is signed before then and one is after."""
    opened = mini_with(tmp_path, APPROVAL.format(when="2027-01"))
    at = opened.calendar.period_of("2027-01")
    for seed in (1, 2, 3, 4):
        free = SymbiosisModel(mini_with(tmp_path, ""), seed=seed).run()
        ruled = SymbiosisModel(mini_with(tmp_path, APPROVAL.format(when="2027-01")), seed=seed).run()
        assert heat_links(free, before=12), seed
        assert not heat_links(ruled, before=at) and heat_links(ruled), seed


def test_a_substitution_opens_at_the_later_of_its_technique_date_and_its_approvals(tmp_path):
    text = (APPROVAL.format(when="2026-06") + "\n" + APPROVAL.format(when="2020-01")
            + '\n[[approvals]]\nreplaces = "clinker"\nallowed_from = "2028-03"\n')
    scenario = mini_with(tmp_path, text)
    subs = [(s.waste, s.replaces) for s in scenario.catalogue.substitutions]
    opens = dict(zip(subs, scenario.opening_periods()))
    assert opens["surplus_heat", "heat"] == 17  # the later approval; one before the start opens nothing later
    assert opens["fly_ash", "clinker"] == 38
    assert opens["gypsum_fgd", "gypsum"] == 0
    catalogue = tmp_path / "mini_catalogue.toml"
    catalogue.write_text(catalogue.read_text().replace('waste = "fly_ash"\nreplaces = "clinker"\n',
                                                       'waste = "fly_ash"\nreplaces = "clinker"\navailable_from = "2030-01"\n'))
    opens = dict(zip(subs, load(tmp_path / "mini_park.toml").opening_periods()))
    assert opens["fly_ash", "clinker"] == 60  # the technique's date, later than the approval


# -- energy as the published studies count it -------------------------------------------------

def test_energy_saved_is_the_fuel_the_receivers_no_longer_burn_less_the_fuel_the_exchange_costs(tmp_path):
    """Net energy saved (MWh of fuel), beside the gross heat delivered: the greenhouse's own boiler burns 1.1 MWh
    of fuel per MWh of heat; each MWh of the power station's surplus heat forgoes power worth 0.3 MWh of fuel."""
    import numpy as np

    from simulation.model.recorder import EXCHANGED, RECEIVED

    scenario = mini_graded(tmp_path, None, None)
    catalogue = tmp_path / "mini_catalogue.toml"
    text = catalogue.read_text().replace("[materials.heat]\n", "[materials.heat]\nfuel_mwh_per_unit = 1.1\n")
    text = text.replace('waste = "surplus_heat"\nreplaces = "heat"\n', 'waste = "surplus_heat"\nreplaces = "heat"\nfuel_mwh = 0.3\n')
    catalogue.write_text(text)
    model = SymbiosisModel(load(tmp_path / "mini_park.toml"), seed=2).run()
    flows = np.sum(model.recorder.material_flows, axis=0)
    heat, surplus = model.materials.index["heat"], model.materials.index["surplus_heat"]
    frame = model.datacollector.get_model_vars_dataframe()
    assert flows[heat, RECEIVED] > 0
    assert frame.energy_saved_mwh.sum() == pytest.approx(1.1 * flows[heat, RECEIVED] - 0.3 * flows[surplus, EXCHANGED])
    assert frame.energy_saved_mwh.sum() < 1.1 * frame.energy_exchanged_mwh.sum()
    assert scenario.catalogue.materials["heat"].fuel_mwh_per_unit == 0  # the default: no fuel counted
