"""Shared networks: one network, many connections, its cost shared by rule (ODD §7.17)."""

import numpy as np
import pytest
from conftest import run, shipped_park_header, with_shipped_catalogue

from simulation.model.contract import PIPELINE, REASON
from simulation.model.finance import monthly_payment
from simulation.model.networks import SharedNetworks
from simulation.scenario.parameters import SharedNetwork
from simulation.scenario.timeline import Calendar

# A utility's treated wastewater could replace the fresh water of three plastics moulding plants 5 km away. A pipeline of its own,
# 2 M EUR for 5 km, does not pay for any of them; a recycled-water main joining all four, built in 2026, might.
PARK = shipped_park_header("water_main", 4) + """
[[firms]]
id = "utility"
sector = "utility"
x_km = 0.0
y_km = 0.0
capacity = 100000.0

[[firms]]
id = "plastics_a"
sector = "plastics"
x_km = 5.0
y_km = 0.0
capacity = 6000.0

[[firms]]
id = "plastics_b"
sector = "plastics"
x_km = 0.0
y_km = 5.0
capacity = 6000.0

[[firms]]
id = "plastics_c"
sector = "plastics"
x_km = -5.0
y_km = 0.0
capacity = 6000.0

[[networks]]
id = "recycled_water"
materials = ["treated_wastewater"]
members = ["utility", "plastics_a", "plastics_b", "plastics_c"]
built = "2026-01"
capex_eur = 600000.0
payoff_months = 240
opex_eur_per_month = 2000.0
sharing = "equal"
"""
BUILT = 12  # 2026-01
USERS = ("plastics_a", "plastics_b", "plastics_c")


def water_main(folder, *overrides, seed=1):
    return run(with_shipped_catalogue(folder, PARK, *overrides), seed=seed)


def water_links(model):
    """(receiver id, signed, first delivery, mode, network, capex) of each water contract."""
    book, waste = model.contracts, model.materials.index["treated_wastewater"]
    return [(model.firm_ids[book.receiver[c]], int(book.start[c]), int(model.deals.link_start[book.link[c]]),
             int(book.mode[c]), int(book.network[c]), float(book.capex_eur[c]))
            for c in range(len(book)) if book.waste[c] == waste]


@pytest.mark.parametrize("seed", [1, 2])
def test_members_exchange_through_the_network_where_no_pipeline_of_their_own_would_pay(tmp_path, seed):
    links = water_links(water_main(tmp_path, seed=seed))
    assert sorted(receiver for receiver, *_ in links) == sorted(USERS)
    for receiver, signed, first, mode, network, capex in links:
        assert mode == PIPELINE and network == 0 and capex == 0.0
        assert signed >= BUILT  # nothing goes through it before it is built
        assert first == signed  # no pipe to build: it delivers at once
    # The network switched off: the same park trades no water.
    assert water_links(water_main(tmp_path, "networks=[]", seed=seed)) == []


def network_cost(model):
    """The recycled-water main's cost a month (EUR), worked out here from its parameters."""
    return monthly_payment(600_000.0, model.params.firm_defaults.interest_rate_per_year, 240) + 2000.0


@pytest.mark.parametrize("sharing", ["equal", "flow"])
def test_the_members_pay_the_network_cost_every_month_from_its_building(tmp_path, sharing):
    model = water_main(tmp_path, f"networks.0.sharing={sharing}", "firms.plastics_a.capacity=24000")
    paid = model.recorder.series("shared_networks_eur")
    assert np.all(paid[:BUILT] == 0.0)
    assert paid[BUILT:] == pytest.approx(network_cost(model), rel=1e-12)
    # The firms' savings still add up to the park's, the network's cost counted once.
    firms_savings = model.datacollector.get_agent_vars_dataframe()["savings"].groupby(level=0).sum().to_numpy()
    assert firms_savings == pytest.approx(model.recorder.series("savings_eur"), rel=1e-9, abs=1e-6)


def small_park_networks(sharing):
    """Three firms, one network joining the first two for material 0, built at period 2, costing 300 EUR a month."""
    spec = SharedNetwork(id="n", materials=["m0"], members=["f0", "f1"], built=2, opex_eur_per_month=300.0,
                         sharing=sharing)
    return SharedNetworks([spec], ["f0", "f1", "f2"], {"m0": 0, "m1": 1}, Calendar(2025), 0.05)


def test_the_flow_rule_bills_receivers_by_the_units_they_received_and_members_alike_when_nothing_flowed():
    networks = small_park_networks("flow")
    active = np.array([True, True, True])
    bill = networks.bill(3, np.array([0, 0, -1]), np.array([1, 0, 2]), np.array([30.0, 10.0, 99.0]), active)
    assert bill.tolist() == pytest.approx([75.0, 225.0, 0.0])  # 10 and 30 of 40 units; f2's truck load pays nothing
    assert networks.bill(3, np.array([-1]), np.array([2]), np.array([5.0]), active).tolist() == [150.0, 150.0, 0.0]
    assert networks.bill(1, np.array([0]), np.array([1]), np.array([5.0]), active).tolist() == [0.0, 0.0, 0.0]  # not built
    # A member that left pays nothing; one that is left pays it all.
    assert networks.bill(3, np.array([-1]), np.array([2]), np.array([5.0]), np.array([False, True, True])).tolist() == \
        [0.0, 300.0, 0.0]


def test_the_equal_rule_bills_every_member_alike_used_or_not_and_prices_no_deal_with_it():
    networks = small_park_networks("equal")
    bill = networks.bill(3, np.array([0]), np.array([1]), np.array([40.0]), np.array([True, True, True]))
    assert bill.tolist() == [150.0, 150.0, 0.0]
    assert networks.flow_charge(3, np.array([0]), np.array([40.0])).tolist() == [0.0]
    flow = small_park_networks("flow")
    assert flow.flow_charge(3, np.array([0, -1]), np.array([40.0, 40.0])).tolist() == [7.5, 0.0]
    assert flow.serving(3, np.array([0, 0, 0]), np.array([1, 2, 1]), np.array([0, 0, 1])).tolist() == [0, -1, -1]
    assert flow.serving(1, np.array([0]), np.array([1]), np.array([0])).tolist() == [-1]  # not built yet


@pytest.mark.parametrize("seed", [1, 2])
def test_under_the_flow_rule_an_anchor_user_brings_the_small_ones(tmp_path, seed):
    """Billed by flow, the first user of the main would bear all of it: no small plant signs alone. A plant four
    times as large can, and once it carries water the charge per m3 falls enough for the small ones. Shared
    equally, the fee is the same with or without a deal, so the small plants sign without an anchor."""
    flow = ("networks.0.sharing=flow",)
    assert water_links(water_main(tmp_path, *flow, seed=seed)) == []
    anchored = water_links(water_main(tmp_path, *flow, "firms.plastics_a.capacity=24000", seed=seed))
    assert sorted(receiver for receiver, *_ in anchored) == sorted(USERS)
    signed = {receiver: start for receiver, start, *_ in anchored}
    assert signed["plastics_a"] < min(signed["plastics_b"], signed["plastics_c"])  # the anchor first, the small ones after it
    assert len(water_links(water_main(tmp_path, seed=seed))) == 3  # equal shares, no anchor


def test_the_contract_log_names_the_network(tmp_path):
    from simulation.output.tables import contract_table

    table = contract_table(water_main(tmp_path))
    water = table[table.waste == "treated_wastewater"]
    assert len(water) == 3 and set(water.shared_network) == {"recycled_water"}
    assert set(table[table.waste != "treated_wastewater"].shared_network) <= {""}


def test_a_network_built_before_the_run_pays_only_what_is_left_of_its_capital():
    def network(built):
        spec = SharedNetwork(id="n", materials=["m0"], members=["f0", "f1"], built=built, capex_eur=1e6,
                             payoff_months=240, opex_eur_per_month=300.0)
        return SharedNetworks([spec], ["f0", "f1"], {"m0": 0}, Calendar(2025), 0.05)

    capital = monthly_payment(1e6, 0.05, 240)
    assert network("2000-01").monthly_cost(0) == pytest.approx(300.0)  # paid off in 2019
    assert network("2015-01").monthly_cost(0) == pytest.approx(300.0 + capital)  # ten years still to pay
    assert network("2015-01").monthly_cost(120) == pytest.approx(300.0)
    assert network("2015-01").serving(0, np.array([0]), np.array([1]), np.array([0])).tolist() == [0]


def test_a_deal_is_priced_with_the_load_of_the_contracts_it_does_not_replace(tmp_path):
    """Renewals are priced after their contracts close, best-use moves while theirs still run: either way a pair's
    charge counts the network's other contracts, and not the one whose flow it takes over."""
    model = water_main(tmp_path, "networks.0.sharing=flow", "firms.plastics_a.capacity=24000")
    deals, book = model.deals, model.contracts
    water = np.array([c for c in book.running().tolist() if book.network[c] == 0])
    assert len(water) == 3
    quantity, s, d, k = book.quantity[water], book.supply[water], book.demand[water], book.substitution[water]
    period = model.month.period
    # Three renewals at once, as the review prices them: each pair bears the other two.
    with deals.replacing_contracts(water):
        network, load = deals.network_context(period, s, d, k)
    assert network.tolist() == [0, 0, 0]
    assert load == pytest.approx(quantity.sum() - quantity, rel=1e-12)
    # The utility weighs moving the first contract's water (one supply stream feeds all three): a new pair from that
    # stream takes the first contract's flow over, and the other two load the network as they run.
    with deals.replacing_contracts(water[:1], by_stream=True):
        _, load = deals.network_context(period, s, d, k)
    assert load == pytest.approx(np.full(3, quantity.sum() - quantity[0]), rel=1e-12)


def test_network_contracts_renew_and_the_savings_add_up_every_month_over_ten_years(tmp_path):
    model = water_main(tmp_path, "networks.0.sharing=flow", "firms.plastics_a.capacity=24000", "scenario.years=10")
    book = model.contracts
    water = [c for c in range(len(book)) if book.network[c] == 0]
    # The three links run to the end of the run, renewed at each expiry (none lapses or is broken).
    assert len({int(book.link[c]) for c in water}) == 3 and len(water) >= 6
    assert {int(book.reason[c]) for c in water} <= {REASON["renewed"], REASON["run ended"]}
    firms_savings = model.datacollector.get_agent_vars_dataframe()["savings"].groupby(level=0).sum().to_numpy()
    assert firms_savings == pytest.approx(model.recorder.series("savings_eur"), rel=1e-9, abs=1e-6)


def test_members_of_a_network_know_each_other_for_what_it_carries(tmp_path):
    """With no acquaintances and no discoveries, the plastics plants 5 km from the utility (beyond the 1.5 km
    neighbourhood) know of it only as fellow members of the main, and that is enough: all three take its water."""
    strangers = ("search.acquaintances=0", "search.discoveries=0")
    links = water_links(water_main(tmp_path, *strangers))
    assert sorted(receiver for receiver, *_ in links) == sorted(USERS)
