"""Synthetic parks: N firms drawn from a sector mix at random places in a disc.

Used for large and swept runs. Layouts are drawn from the generator passed in
(the model's, or one seeded by ``park.layout_seed`` to keep the layout fixed
across replicates).
"""

import numpy as np

from simulation.scenario.parameters import FirmSpec


def generate_firms(park, catalogue, firm_defaults, rng):
    """FirmSpecs for a synthetic park (ids ``s00001``...)."""
    sectors = list(park.sector_mix)
    weights = np.array([park.sector_mix[s] for s in sectors], float)
    picks = rng.choice(len(sectors), size=park.n_firms, p=weights / weights.sum())
    radius = park.radius_km * np.sqrt(rng.random(park.n_firms))
    angle = rng.random(park.n_firms) * 2 * np.pi
    unit = rng.random(park.n_firms)
    hurdles = np.maximum(rng.normal(firm_defaults.hurdle_rate, firm_defaults.hurdle_spread, park.n_firms), 0.0)
    firms = []
    width = len(str(park.n_firms))
    for i in range(park.n_firms):
        sector = sectors[picks[i]]
        process = catalogue.sectors[sector].default_process
        low, high = catalogue.processes[process].capacity
        firms.append(FirmSpec(
            id=f"s{i:0{width}d}",
            sector=sector,
            process=process,
            x_km=float(radius[i] * np.cos(angle[i])),
            y_km=float(radius[i] * np.sin(angle[i])),
            capacity=float(low + unit[i] * (high - low)),
            hurdle_rate=float(hurdles[i]),
        ))
    return firms
