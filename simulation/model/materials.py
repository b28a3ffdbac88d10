"""Material prices and unit costs as arrays indexed by material, and the month's price movements.

Turns the catalogue into numpy arrays and combines them each period with the
policy in force and the market's price multipliers into the unit costs firms
decide on (all EUR per unit of the material):

* ``disposal_cost = gate_fee + waste tax of the route (landfill or
  incineration, t only) + carbon_price * co2_disposal`` for a waste that is
  disposed of, and ``- resale + carbon_price * co2_disposal`` for one with a
  resale value (scrap): a dealer buys it, so it pays no gate fee and no tax
* ``virgin_cost = price * multiplier + virgin_tax (t only) + carbon_price * co2_virgin``
* ``subsidy = subsidy_eur_per_t`` for mass wastes (t), 0 for energy and water

The carbon price on virgin production is passed through in the price, so it
reaches the government as tax revenue like the other instruments.
"""

from dataclasses import dataclass

import numpy as np

NO_MODE = np.nan


class MaterialTable:
    """Per-material arrays built from the catalogue."""

    def __init__(self, catalogue):
        # Rows in the order of the materials' ids, not of the catalogue files: sums over materials then come out the
        # same to the last bit whichever order the files list them in, and whatever unused materials they add.
        self.ids = sorted(catalogue.materials)
        self.index = {mid: i for i, mid in enumerate(self.ids)}
        mats = [catalogue.materials[m] for m in self.ids]
        self.unit = [m.unit for m in mats]
        self.is_mass = np.array([m.unit == "t" for m in mats])
        self.fuel_per_unit = np.array([m.fuel_mwh_per_unit for m in mats], float)  # MWh of fuel per unit made on site
        self.resale = np.array([m.resale_eur for m in mats], float)
        # A waste a dealer pays for is sold when no firm takes it: its disposal route is never used.
        self.sold = self.resale > 0
        self.to_landfill = np.array([m.disposal_route == "landfill" for m in mats]) & ~self.sold
        self.to_incineration = np.array([m.disposal_route == "incineration" for m in mats]) & ~self.sold
        self.base_price = np.array([m.virgin_price_eur for m in mats], float)
        self.catalogue_price = self.base_price.copy()  # the prices processes' margins were estimated at
        self.gate_fee = np.array([m.gate_fee_eur for m in mats], float)
        self.co2_virgin = np.array([m.co2_virgin_t for m in mats], float)
        self.co2_disposal = np.array([m.co2_disposal_t for m in mats], float)
        self.truck_cost = np.array([m.transport.get("truck", NO_MODE) for m in mats], float)
        self.pipeline_cost = np.array([m.transport.get("pipeline", NO_MODE) for m in mats], float)
        self.pipeline_only = np.isnan(self.truck_cost) & ~np.isnan(self.pipeline_cost)
        self.storable = np.array([m.storable for m in mats])
        self.loss_per_km = np.array([m.loss_per_km for m in mats], float)
        self.short_notice_share = np.array([m.short_notice_share for m in mats], float)
        self.short_notice_premium = np.array([m.short_notice_premium for m in mats], float)
        self.standby = np.array([m.standby_eur for m in mats], float)  # EUR a month per unit a month of backup
        self.price_multiplier = np.ones(len(mats))

    def __len__(self):
        return len(self.ids)

    def set_value(self, material, field, value):
        """Apply a scheduled price event (``virgin_price_eur`` or ``gate_fee_eur``)."""
        target = self.base_price if field == "virgin_price_eur" else self.gate_fee
        target[self.index[material]] = value

    def turbulence(self, volatility, persistence, shock):
        """Advance the mean-reverting log multiplier on virgin prices by one month (``shock``: standard normal, by material)."""
        if volatility > 0:
            log_m = persistence * np.log(self.price_multiplier) + volatility * shock
            self.price_multiplier = np.exp(log_m)

    def unit_costs(self, policy):
        """Disposal and virgin cost per unit of each material under ``policy`` (a PolicyState)."""
        return UnitCosts(price=self.base_price * self.price_multiplier, **self._costs_set_by(policy))

    def _costs_set_by(self, policy):
        """The unit costs that change only with the policy or a scheduled price event."""
        return dict(
            waste_tax=np.where(self.to_landfill & self.is_mass, policy.landfill_tax_eur_per_t, 0.0)
            + np.where(self.to_incineration & self.is_mass, policy.incineration_tax_eur_per_t, 0.0),
            virgin_tax=np.where(self.is_mass, policy.virgin_tax_eur_per_t, 0.0),
            gate_fee=np.where(self.sold, -self.resale, self.gate_fee),
            carbon_disposal=policy.carbon_price_eur_per_t * self.co2_disposal,
            carbon_virgin=policy.carbon_price_eur_per_t * self.co2_virgin,
            subsidy=np.where(self.is_mass, policy.subsidy_eur_per_t, 0.0),
        )


@dataclass
class UnitCosts:
    """EUR per unit of each material, split by who receives the money."""

    waste_tax: np.ndarray  # by disposal route: landfill or incineration tax
    virgin_tax: np.ndarray
    gate_fee: np.ndarray  # minus the resale value for a waste that is sold
    price: np.ndarray
    carbon_disposal: np.ndarray
    carbon_virgin: np.ndarray
    subsidy: np.ndarray  # paid per t of mass waste exchanged or reused (energy and water get none)

    def __post_init__(self):
        # Read many times a month, so computed once.
        self.disposal = self.gate_fee + self.waste_tax + self.carbon_disposal
        self.virgin = self.price + self.virgin_tax + self.carbon_virgin


class SubstitutionTable:
    """Which waste can replace which input, as its user gets it (heat pump included), and from when:
    lookups in both directions.

    ``opens`` is the first period each substitution may be used in (default: all open from the start).
    """

    def __init__(self, catalogue, materials, opens=None):
        subs = [catalogue.delivered(sub) for sub in catalogue.substitutions]
        self.opens = np.array(opens if opens is not None else [0] * len(subs), dtype=np.int64)
        self.waste = np.array([materials.index[s.waste] for s in subs], dtype=np.int64)
        self.input = np.array([materials.index[s.replaces] for s in subs], dtype=np.int64)
        self.ratio = np.array([s.ratio for s in subs], float)
        self.max_share = np.array([s.max_share for s in subs], float)
        self.treatment = np.array([s.treatment_eur for s in subs], float)
        self.treatment_co2 = np.array([s.treatment_co2_t for s in subs], float)
        self.capex = np.array([s.recovery_capex_eur for s in subs], float)
        self.fuel = np.array([s.fuel_mwh for s in subs], float)  # MWh of fuel burned elsewhere per unit of waste used
        # Which sectors may not use each substitution (rows: substitutions; columns: the catalogue's sectors in order).
        self.sectors = list(catalogue.sectors)
        self.barred = np.array([[sector in s.barred_sectors for sector in self.sectors] for s in subs],
                               dtype=bool).reshape(len(subs), len(self.sectors))
        # Toll substitutions are used only through a converter (simulation.model.toll), never directly nor in-plant.
        self.toll = np.array([s.toll for s in subs], dtype=bool)
        self.by_waste = {w: [k for k in np.flatnonzero(self.waste == w).tolist() if not self.toll[k]]
                         for w in np.unique(self.waste).tolist()}

    def open_in(self, period, k=slice(None)):
        """Which of substitutions ``k`` (default: all) firms may use in ``period``."""
        return self.opens[k] <= period

    def best_value(self, prices, n_materials):
        """EUR a unit of each material is worth as the input it could best replace at ``prices`` (0 for a material
        no substitution uses)."""
        value = np.zeros(n_materials)
        np.maximum.at(value, self.waste, self.ratio * prices[self.input])
        return value

    def allowed(self, k, sector):
        """Whether firms of ``sector`` (indices into ``sectors``) may use substitutions ``k``, indexed as numpy does
        ``barred[k, sector]``: pair by pair for two arrays, or every substitution for each firm with ``k`` a slice."""
        return ~self.barred[k, sector]

    def treatment_unit(self, carbon_price):
        """Treatment cost per unit of waste of each substitution at ``carbon_price`` (EUR/t CO2), carbon included (EUR)."""
        return self.treatment + carbon_price * self.treatment_co2


class PriceMovements:
    """Phase 2 of the month: virgin prices move, and the unit costs of the month are set under the policy in force."""

    def __init__(self, materials, market, streams, months):
        # Each material's shocks come from a stream of its own (see chance.py), drawn for the run at once.
        self.materials, self.market, self.streams = materials, market, streams
        self.shocks = streams.shocks("price", materials.ids, months)

    def run(self, month):
        m = self.market
        if month.period >= self.shocks.shape[1]:  # stepped past the scenario's end: the streams go on
            more = self.streams.shocks("price", self.materials.ids, self.shocks.shape[1])
            self.shocks = np.concatenate([self.shocks, more], axis=1)
        self.materials.turbulence(m.price_volatility, m.price_persistence, self.shocks[:, month.period])
        month.costs = self.materials.unit_costs(month.policy)
