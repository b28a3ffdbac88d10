"""Discovery by the visibility of a large stream (``search.visible_eur_per_month``, ODD §7.3).

A cement works 100 km from a large coal-fired power station and 20 km from a small one knows neither: both are
beyond its neighbourhood, it has no acquaintances, searches reveal nobody, and its search lists only the nearest
fly-ash source. A stream large enough is known across the park all the same.
"""

import numpy as np
from conftest import run, shipped_park_header, with_shipped_catalogue

from simulation.model import SymbiosisModel
from simulation.model.firm import AcquaintanceLists

PARK = shipped_park_header("visible", 3, "acquaintances = 0\ndiscoveries = 0\ncandidates = 1\n") + """
[policy]
landfill_tax_eur_per_t = 30.0

[[firms]]
id = "big_power"
sector = "power"
x_km = 0.0
y_km = 0.0
capacity = 100000.0

[[firms]]
id = "small_power"
sector = "power"
x_km = 80.0
y_km = 0.0
capacity = 2000.0

[[firms]]
id = "cement"
sector = "cement"
x_km = 100.0
y_km = 0.0
capacity = 30000.0
"""
# The big station's fly ash: ~2,560 t a month, worth 72 EUR/t as the clinker it could replace, ~184,000 EUR a month;
# the small one's ~4,300 EUR a month.
VISIBLE, HIDDEN = "search.visible_eur_per_month=100000", "search.visible_eur_per_month=1e7"


def links(model):
    book = model.contracts
    return {(model.materials.ids[book.waste[c]], model.firm_ids[book.supplier[c]]) for c in range(len(book))}


def test_a_stream_large_enough_is_known_across_the_park(tmp_path):
    assert links(run(with_shipped_catalogue(tmp_path, PARK), seed=1)) == set()  # the mechanism off (0)
    assert links(run(with_shipped_catalogue(tmp_path, PARK, HIDDEN), seed=1)) == set()
    found = links(run(with_shipped_catalogue(tmp_path, PARK, VISIBLE), seed=1))
    assert ("fly_ash", "big_power") in found
    assert not any(supplier == "small_power" for _, supplier in found)  # its stream is too small to be known


def test_a_receiver_lists_a_visible_stream_beyond_its_nearest_candidates(tmp_path):
    """Searching for fly ash, the works' own list holds only the nearest source (the small station); the big one's
    stream comes in as a visible stream, and is seen."""
    def candidates(*overrides):
        model = SymbiosisModel(with_shipped_catalogue(tmp_path, PARK, *overrides), seed=1)  # built, not yet run
        cement = model.firm_ids.index("cement")
        searching = np.array([cement])
        rank = np.zeros(len(model.firm_ids), dtype=np.int64)
        known = AcquaintanceLists(model.firms.agents, searching, rank)
        open_d = model.demand.firm == cement
        searcher, partner, s, d, k, dist = model.market.candidate_pairs(
            model.month.policy, model.month.period, searching, np.zeros(len(model.supply), dtype=bool), open_d, known)
        seen, _ = model.market.sees(model.month.policy, model.month.period, searcher, partner, s, dist, known)
        fly_ash = model.supply.material[s] == model.materials.index["fly_ash"]
        return {model.firm_ids[p] for p in partner[fly_ash]}, {model.firm_ids[p] for p in partner[fly_ash & seen]}

    listed, seen = candidates()
    assert listed == {"small_power"} and seen == set()
    listed, seen = candidates(VISIBLE)
    assert listed == {"small_power", "big_power"} and seen == {"big_power"}
