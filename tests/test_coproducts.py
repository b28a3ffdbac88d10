"""Co-product supply: a product one plant must make and a neighbour buys, piped rather than sold far away.

A chlor-alkali plant makes chlorine with its caustic soda, whether or not anyone near wants it; what no neighbour
takes is liquefied and sold at its netback (``Material.resale_eur``), never dumped. A PVC plant next door buys
liquid chlorine delivered. The catalogue states nothing about Kalundborg or any park: the chlorine and hydrogen
entries come from the EU chlor-alkali BREF, and the link must come out of the economics.
"""

import numpy as np
import pytest
from conftest import run, with_shipped_catalogue

from simulation.model.contract import PIPELINE
from simulation.model.recorder import DISPOSED, EXCHANGED, GENERATED, RECEIVED, SOLD

PARK = """
[scenario]
name = "chlorine_pair"
start = "2025-01"
years = 3
catalogue = ["materials.toml", "processes.toml"]

[search]
rate_per_month = 1

[[firms]]
id = "cells"
sector = "chlor_alkali"
x_km = 0.0
y_km = 0.0
capacity = 15000.0

[[firms]]
id = "vinyls"
sector = "vinyls"
x_km = 1.5
y_km = 0.0
capacity = 20000.0
"""
NETBACK = "resale_eur = 120.0"


def pair(folder, seed, netback=None):
    edit = [(NETBACK, f"resale_eur = {netback}")] if netback is not None else []
    return run(with_shipped_catalogue(folder, PARK, edit=edit), seed=seed)


def contracts_for(model, waste):
    book, m = model.contracts, model.materials.index[waste]
    return [c for c in range(len(book)) if book.waste[c] == m]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chlorine_is_piped_next_door_at_a_price_between_its_netback_and_the_delivered_price(tmp_path, seed):
    model = pair(tmp_path, seed)
    book = model.contracts
    chlorine = contracts_for(model, "chlorine_coproduct")
    assert chlorine, "the PVC plant next door takes the cells' chlorine"
    for c in chlorine:
        assert book.mode[c] == PIPELINE
        # The cells get more than the merchant netback, the PVC plant pays less than chlorine delivered costs.
        assert 120.0 < book.price[c] < 280.0
    # Its hydrogen replaces natural gas in the PVC plant's cracking furnaces.
    assert contracts_for(model, "hydrogen_byproduct")


@pytest.mark.parametrize("seed", [1, 2])
def test_chlorine_not_piped_is_sold_never_dumped_and_the_pvc_plant_buys_what_it_does_not_receive(tmp_path, seed):
    model = pair(tmp_path, seed)
    index = model.materials.index
    flows = np.array(model.recorder.material_flows)  # month, material, column
    made = flows[:, index["chlorine_coproduct"]]
    assert made[:, GENERATED].sum() > 0
    np.testing.assert_allclose(made[:, EXCHANGED] + made[:, SOLD], made[:, GENERATED], rtol=1e-12)
    assert made[:, DISPOSED].sum() == 0.0 and made[:, SOLD].sum() > 0  # the share no contract promises is sold
    # What the PVC plant receives is what the cells shipped (one for one, nothing lost in 1.5 km of pipe).
    bought = flows[:, index["chlorine"]]
    np.testing.assert_allclose(bought[:, RECEIVED], made[:, EXCHANGED], rtol=1e-12)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_netback_as_high_as_the_delivered_price_keeps_the_chlorine_on_the_merchant_market(tmp_path, seed):
    """The outside option decides it: sold far away for what chlorine costs delivered, nothing is left to share
    from piping it next door; the hydrogen, with no such option, still goes."""
    model = pair(tmp_path, seed, netback=280.0)
    assert contracts_for(model, "chlorine_coproduct") == []
    assert contracts_for(model, "hydrogen_byproduct")
