"""Toll conversion: a neighbour turns a firm's waste into a product that goes back to the firm, for a fee.

A refinery's alkylation unit turns bought sulphuric acid into spent acid, which costs it a hazardous-waste
treatment to get rid of. An acid plant with a decomposition furnace regenerates spent acid under toll: the
refinery trucks it there, the plant sends fresh acid back and charges a fee. The catalogue says only what
regeneration yields and costs (the EU sulphuric-acid and refining BREFs) and which processes can do it; who
converts for whom, how much and at what fee come out of the economics.
"""

import numpy as np
import pytest
from conftest import run, shipped_park_header, with_shipped_catalogue

from simulation.model import SymbiosisModel
from simulation.model.contract import REASON
from simulation.model.recorder import (
    DISPOSED,
    EXCHANGED,
    GENERATED,
    RECEIVED,
    STOCK_CHANGE,
)
from simulation.output.tables import link_table

REFINERY = """
[[firms]]
id = "{id}"
sector = "refinery"
process = "refinery_alkylation"
x_km = {x}
y_km = 0.0
capacity = 300000.0
"""
ACID_PLANT = """
[[firms]]
id = "acid"
sector = "sulphuric_acid"
process = "{process}"
x_km = 4.0
y_km = 0.0
capacity = {capacity}
{extra}"""


def park(folder, seed, *overrides, process="sulphuric_acid_regeneration", capacity=20000.0, refineries=("refinery",),
         years=6, extra=""):
    text = shipped_park_header("toll_pair", years)
    text += "".join(REFINERY.format(id=rid, x=-2.0 * j) for j, rid in enumerate(refineries))
    text += ACID_PLANT.format(process=process, capacity=capacity, extra=extra)
    return run(with_shipped_catalogue(folder, text, *overrides), seed=seed)


def toll_contracts(model):
    book = model.contracts
    return np.flatnonzero(book.toll[:book.size])


def spent_acid_flows(model):
    """Flows of spent acid and of sulphuric acid, by month and flow column (recorder.FLOW_COLUMNS)."""
    flows, index = np.array(model.recorder.material_flows), model.materials.index
    return flows[:, index["spent_sulphuric_acid"]], flows[:, index["sulphuric_acid"]]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_spent_acid_goes_to_the_acid_plant_and_fresh_acid_comes_back_to_the_refinery_for_a_fee(tmp_path, seed):
    model = park(tmp_path, seed)
    book, ids = model.contracts, model.firms.ids
    tolls = toll_contracts(model)
    assert len(tolls), "the refinery has its spent acid regenerated next door"
    for c in tolls.tolist():
        assert ids[book.supplier[c]] == "refinery" and ids[book.receiver[c]] == "acid"
        # The acid replaces the refinery's own purchases: the contract's demand stream is the refinery's.
        assert model.demand.firm[book.demand[c]] == book.supplier[c]
        assert model.materials.ids[book.input[c]] == "sulphuric_acid"
    rows = [r for r in model.deals.book.log_rows(ids, model.materials.ids, model.calendar) if r["waste"] == "spent_sulphuric_acid"]
    assert rows and {r["product_returned_to"] for r in rows} == {"refinery"}
    assert {r["receiver"] for r in rows} == {"acid"}
    links = link_table(model)
    assert set(links[links.material == "spent_sulphuric_acid"].product_returned_to) == {"refinery"}
    assert set(links[links.material != "spent_sulphuric_acid"].product_returned_to) == {""}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_fee_covers_the_converters_cost_and_leaves_the_owner_better_off_than_disposal_and_purchase(tmp_path, seed):
    model = park(tmp_path, seed)
    book, economics = model.contracts, model.economics
    month = model.month
    tolls = toll_contracts(model)
    fee = -book.price[tolls]
    converter_cost = (economics.contract_transport_unit(month.policy, book, tolls)
                      + economics.treatment_unit(month.policy, book.substitution[tolls]))
    owner_value = (economics.disposal_unit(month, book.supply[tolls])
                   + book.ratio[tolls] * month.costs.virgin[book.input[tolls]])
    # Prices move little over the run (no turbulence in this park): the signing month's values hold.
    assert model.params.market.price_volatility == 0
    assert np.all(converter_cost < fee) and np.all(fee < owner_value)
    # Both legs are trucked: the way back costs the acid's haul on top of the spent acid's.
    by_truck = economics.transport_per_unit_km(month.policy)[0]
    index = model.materials.index
    expected = 4.0 * (by_truck[index["spent_sulphuric_acid"]] + book.ratio[tolls] * by_truck[index["sulphuric_acid"]])
    np.testing.assert_allclose(economics.contract_transport_unit(month.policy, book, tolls), expected, rtol=1e-12)


@pytest.mark.parametrize("seed", [1, 2])
def test_mass_balance_what_is_shipped_comes_back_as_acid_and_the_rest_is_disposed(tmp_path, seed):
    model = park(tmp_path, seed)
    spent, acid = spent_acid_flows(model)
    assert spent[:, EXCHANGED].sum() > 0
    # Spent acid keeps in tanks: what is stored while the first contract is being found is shipped later.
    np.testing.assert_allclose(spent[:, EXCHANGED] + spent[:, DISPOSED] + spent[:, STOCK_CHANGE], spent[:, GENERATED],
                               rtol=1e-12, atol=1e-9)
    # 0.9 t of acid per t of spent acid, nothing lost on the road.
    np.testing.assert_allclose(acid[:, RECEIVED], 0.9 * spent[:, EXCHANGED], rtol=1e-12)


@pytest.mark.parametrize("seed", [1, 2])
def test_without_a_converter_the_spent_acid_is_disposed_and_never_exchanged_directly(tmp_path, seed):
    # The acid plant has no decomposition furnace: nobody regenerates. A second refinery needs acid too, but a toll
    # substitution is never a direct exchange: it cannot take the first one's spent acid as its acid.
    model = park(tmp_path, seed, process="sulphuric_acid", refineries=("refinery", "refinery_b"))
    spent, _ = spent_acid_flows(model)
    assert len(toll_contracts(model)) == 0
    assert spent[:, EXCHANGED].sum() == 0.0
    np.testing.assert_allclose(spent[:, DISPOSED] + spent[:, STOCK_CHANGE], spent[:, GENERATED], rtol=1e-12, atol=1e-9)
    waste = model.materials.index["spent_sulphuric_acid"]
    assert not np.any(model.contracts.waste[:model.contracts.size] == waste)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_converter_never_promises_more_than_it_can_regenerate(tmp_path, seed):
    # Two refineries, each with ~1,000 t of spent acid a month, and a small plant that regenerates ~430 t a month.
    text = shipped_park_header("toll_capacity", 4)
    text += "".join(REFINERY.format(id=rid, x=-2.0 * j) for j, rid in enumerate(("refinery", "refinery_b")))
    text += ACID_PLANT.format(process="sulphuric_acid_regeneration", capacity=1000.0, extra="")
    model = SymbiosisModel(with_shipped_catalogue(tmp_path, text), seed=seed)
    acid = model.firms.ids.index("acid")
    waste = model.materials.index["spent_sulphuric_acid"]
    most = 0.0
    while model.running:
        model.step()
        capacity = model.tolls.capacity(np.array([acid]), waste)[0]
        used = model.tolls.used(np.array([acid]), waste, model.deals.book)[0]
        assert used <= capacity * (1 + 1e-12)
        most = max(most, used / capacity)
    assert most > 0.9, "the plant's capacity is taken up"


@pytest.mark.parametrize("seed", [1, 2])
def test_when_the_converter_leaves_its_toll_contracts_end_and_the_refinery_buys_all_its_acid(tmp_path, seed):
    model = park(tmp_path, seed, extra='exit = "2027-01"')
    book = model.contracts
    tolls = toll_contracts(model)
    assert len(tolls)
    left = model.calendar.period_of("2027-01")
    assert np.all(book.end[tolls] <= left)
    assert np.any(book.reason[tolls] == REASON["partner left"])
    spent, acid = spent_acid_flows(model)
    assert spent[:left, EXCHANGED].sum() > 0
    assert spent[left:, EXCHANGED].sum() == 0.0 and acid[left:, RECEIVED].sum() == 0.0


def test_the_firms_savings_add_up_to_the_parks_with_toll_conversion(tmp_path):
    model = park(tmp_path, 4)
    assert len(toll_contracts(model))
    firms_savings = model.datacollector.get_agent_vars_dataframe()["savings"].groupby(level=0).sum().to_numpy()
    assert firms_savings == pytest.approx(model.recorder.series("savings_eur"), rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("seed", [1, 2])
def test_what_one_converter_has_no_room_for_goes_to_a_second(tmp_path, seed):
    # A refinery with ~1,100 t of spent acid a month and two small acid plants that regenerate ~430 t a month each.
    text = shipped_park_header("two_converters", 3) + REFINERY.format(id="refinery", x=0.0)
    for plant, x in (("acid", 4.0), ("acid_b", -4.0)):
        text += ACID_PLANT.format(process="sulphuric_acid_regeneration", capacity=1000.0, extra="").replace(
            'id = "acid"', f'id = "{plant}"').replace("x_km = 4.0", f"x_km = {x}")
    model = run(with_shipped_catalogue(tmp_path, text), seed=seed)
    book, ids = model.contracts, model.firm_ids
    running = [c for c in toll_contracts(model).tolist() if book.end[c] < 0 or book.reason[c] == REASON["run ended"]]
    assert {ids[book.receiver[c]] for c in running} == {"acid", "acid_b"}  # both convert for it at the end
    assert len({(int(book.supply[c]), int(book.demand[c])) for c in running}) == 1  # for the same pair of streams


CEILINGS = ("contract.deliver_or_pay_share=1", "contract.take_or_pay_share=1", "contract.price_indexation=1")


@pytest.mark.parametrize("terms", ["bargained", "standard"])
@pytest.mark.parametrize("seed", [1, 2])
def test_the_fee_is_not_indexed_and_the_owner_owes_no_take_or_pay_to_itself(tmp_path, seed, terms):
    # The input's value is the owner's, so indexing the fee to it would hand the owner's price risk to the converter;
    # and what the owner takes back is its own need, so no take-or-pay can fall on the converter for it. The ordinary
    # deals of the same park (the acid plant's steam to the refinery, the refinery's sulphur) carry both clauses.
    model = park(tmp_path, seed, *CEILINGS, f"contract.terms={terms}", "market.price_volatility=0.1")
    book = model.contracts
    tolls, others = toll_contracts(model), np.flatnonzero(~book.toll[:book.size])
    assert len(tolls) and len(others)
    assert np.all(book.indexation[tolls] == 0.0) and np.all(book.take_or_pay[tolls] == 0.0)
    assert np.any(book.indexation[others] > 0) and np.any(book.take_or_pay[others] > 0)
    assert np.all(book.damages_total[tolls] >= 0)
    # Prices move, but the fee signed is the fee paid.
    np.testing.assert_array_equal(model.economics.current_price(model.month, book, tolls), book.price[tolls])


def test_a_park_without_any_waste_stream_runs(tmp_path):
    # Firms that only buy (a fish farm has no output stream) still search; with no supply stream at all in the park
    # the search for converters must find nothing rather than fail.
    text = shipped_park_header("buyers_only", 1) + """
[[firms]]
id = "fish"
sector = "fish_farm"
x_km = 0.0
y_km = 0.0
capacity = 20.0
"""
    model = run(with_shipped_catalogue(tmp_path, text), seed=1)
    assert len(model.supply.material) == 0 and model.contracts.size == 0
    assert model.recorder.series("searches").sum() > 0
