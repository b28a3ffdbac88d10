"""CO2 counted as the Kalundborg Symbiosis counts its biogas plant (co2_attributed_t, docs/odd.md 7.12): the gas
a digester makes from exchanged residues is credited with the natural gas it displaces, beside co2_avoided_t."""

import numpy as np
import pytest
from conftest import ROOT

from simulation.model import SymbiosisModel
from simulation.output.tables import link_table
from simulation.scenario import load

DEMO = ROOT / "scenarios" / "demo_park.toml"
GAS_CO2_T_PER_MWH = 0.202  # natural gas in the shipped catalogue


def run(displaces=True):
    scenario = load(DEMO)
    if not displaces:
        for process in scenario.catalogue.processes.values():
            object.__setattr__(process, "displaces", None)
            object.__setattr__(process, "feedstock", None)
    model = SymbiosisModel(scenario).run()
    return model, model.datacollector.get_model_vars_dataframe()


@pytest.fixture(scope="module")
def credited():
    return run()


def test_the_digester_s_gas_is_credited_only_while_exchanges_feed_it_and_at_most_all_of_it(credited):
    """Credit = digester output x the gas's CO2 x the share of its feedstock exchanges bring: none before the first
    residue reaches it, some after, never more than if every MWh were made from exchanged residues."""
    model, frame = credited
    credit = (frame.co2_attributed_t - frame.co2_avoided_t).to_numpy()
    biogas = next(a for a in model.agents if a.firm_id == "biogas")
    # The agents' table is kept from step 1 (after month 0), and only while the firm is in the park.
    by_step = model.datacollector.get_agent_vars_dataframe().xs(biogas.unique_id, level="AgentID").production
    production = by_step.reindex(range(1, len(credit) + 1), fill_value=0.0).to_numpy()
    links = link_table(model)
    feeding = links[(links.receiver == "biogas") & (links.replaces == "energy_crops") & (links.delivering_from != "")]
    first = min(model.calendar.period_of(month) for month in feeding.delivering_from)
    assert np.all(credit[:first] == 0)
    assert credit[first:].sum() > 0
    assert np.all(credit >= 0)
    assert np.all(credit <= production * GAS_CO2_T_PER_MWH + 1e-9)


def test_the_attribution_changes_no_decision_and_without_it_the_two_counts_agree(credited):
    """Switched off (no process displaces a fuel), co2_attributed_t equals co2_avoided_t month by month, and every
    other measure is as with it: the credit is bookkeeping, not a price any firm sees."""
    _, with_credit = credited
    _, without = run(displaces=False)
    assert (without.co2_attributed_t == without.co2_avoided_t).all()
    assert (with_credit.co2_attributed_t > with_credit.co2_avoided_t).any()
    others = [c for c in with_credit.columns if c != "co2_attributed_t"]
    assert with_credit[others].equals(without[others])
