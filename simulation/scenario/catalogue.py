"""Materials, processes and substitutions: the data a park is built from.

The catalogue is data, not code: it is read from TOML files (see
``scenarios/data/``). This module defines what a valid entry is and gives the
model fast index lookups.

Units: every quantity of a material is in that material's ``unit`` (t for solids
and liquids, MWh for energy, m3 for water); prices and fees are EUR per unit;
CO2 factors are t CO2 per unit; transport costs are EUR per unit-km.

Heat has a grade: a heat stream's ``temperature_c`` is the temperature it is
delivered at (a waste heat) or needed at (a heat input). Heat from a source
colder than its user needs is lifted by a heat pump, whose electricity and
capital :meth:`Catalogue.delivered` adds to the substitution
(:class:`HeatPump`).
"""


from typing import Literal

from pydantic import Field, field_validator, model_validator

from simulation.scenario.parameters import (
    MAX_CAPACITY,
    MAX_EUR,
    MAX_EUR_PER_UNIT,
    Section,
)

Kind = Literal["solid", "liquid", "energy", "water"]
Mode = Literal["truck", "pipeline"]
Route = Literal["landfill", "incineration", "discharge", "venting"]
Price = Field(ge=0, le=MAX_EUR_PER_UNIT)  # EUR per unit
Co2 = Field(ge=0, le=1e5)  # t CO2 per unit
MAX_COEFFICIENT = 1e5  # units of a material per unit of product
MAX_TRANSPORT = 1e3  # EUR per unit-km


# Catalogue entries follow the scenario sections' rules: no unknown field, frozen, no true/false for a number.
Strict = Section


class Material(Strict):
    """A material, energy or water stream.

    ``virgin_price_eur`` is what a firm pays per unit of primary supply;
    ``gate_fee_eur`` is what disposal by ``disposal_route`` costs per unit before
    any tax, and ``resale_eur`` what a dealer pays for it instead (scrap). A waste
    with a resale value is sold when no firm takes it (outside option ``-resale``,
    no gate fee, no tax, counted as sold); any other's outside option is ``gate fee + taxes``. The landfill tax
    applies to route ``landfill``, the incineration tax to ``incineration``.
    """

    name: str
    kind: Kind
    unit: Literal["t", "m3", "MWh"]
    ewc: str | None = Field(default=None, pattern=r"^\d{2} \d{2} \d{2}\*?$")
    virgin_price_eur: float = Price
    disposal_route: Route
    gate_fee_eur: float = Price
    resale_eur: float = Field(0.0, ge=0, le=MAX_EUR_PER_UNIT, description="what a dealer pays per unit of the waste (recyclables)")
    co2_virgin_t: float = Co2
    co2_disposal_t: float = Co2
    transport: dict[Mode, float] = Field(min_length=1)
    storable: bool
    loss_per_km: float = Field(default=0.0, ge=0, lt=1)
    short_notice_share: float = Field(1.0, ge=0, le=1, description="share of a failed exchange's supply of this input a firm can buy at short notice")
    short_notice_premium: float = Field(0.0, ge=0, le=100, description="extra cost of input bought at short notice, as a share of its virgin price")
    standby_eur: float = Field(0.0, ge=0, le=MAX_EUR_PER_UNIT, description="monthly cost of keeping own plant able to make one unit a month of this input on standby (a backup boiler)")
    temperature_c: float | None = Field(None, ge=-50, le=1000, description="heat grade, deg C: what a waste heat is delivered at, or what a heat input must be supplied at")
    fuel_mwh_per_unit: float = Field(0.0, ge=0, le=1e3, description="fuel a firm burns to make one unit of this input itself (its own boiler), MWh; 0 for what is not made from fuel on site")
    source: str = ""

    @field_validator("transport")
    @classmethod
    def _costs_non_negative(cls, costs):
        for mode, cost in costs.items():
            if not 0 <= cost <= MAX_TRANSPORT:
                raise ValueError(f"transport cost for {mode} must lie in [0, {MAX_TRANSPORT:g}] EUR per unit-km, got {cost}")
        return costs

    @model_validator(mode="after")
    def _energy_and_water_flow_in_pipes(self):
        if self.kind in ("energy", "water") and set(self.transport) != {"pipeline"}:
            raise ValueError(f"{self.kind} streams move by pipeline only, got modes {sorted(self.transport)}")
        if self.kind in ("energy", "water") and self.ewc:
            raise ValueError(f"{self.kind} streams have no EWC code")
        return self


class Sector(Strict):
    """An economic sector (NACE Rev.2) with the processes its firms may run."""

    name: str
    nace: str = Field(pattern=r"^\d{2}(\.\d{1,2})?$")
    default_process: str


class Process(Strict):
    """Per-unit input-output recipe of a production process.

    ``inputs`` and ``outputs`` map material ids to units per unit of product.
    ``margin_eur`` is the gross margin per unit of product before material,
    disposal and carbon costs (what keeps the firm solvent), at normal output.
    ``fixed_cost_eur`` is the part of the firm's costs that does not shrink with
    output (staff, maintenance, insurance, capital charges), spread over normal
    output: a unit not made loses its margin and this much besides.
    """

    sector: str
    product: str
    product_unit: str
    margin_eur: float = Field(ge=-MAX_EUR_PER_UNIT, le=MAX_EUR_PER_UNIT)
    inputs: dict[str, float] = {}
    outputs: dict[str, float] = {}
    fixed_cost_eur: float = Field(0.0, ge=0, le=MAX_EUR_PER_UNIT, description="fixed costs, EUR a month per unit of normal monthly output (the margin is after them at normal output)")
    capacity: tuple[float, float] = (100.0, 1000.0)
    critical: list[str] = Field([], description="inputs without which the plant cannot run: a shortfall not covered stops that share of output")
    converts: dict[str, float] = Field({}, description="wastes the plant converts for its neighbours under toll (Substitution.toll): units of each a month per unit of its normal monthly output")
    displaces: str | None = Field(None, description="a fossil fuel its product replaces for whoever buys it, one unit for one (biogas for natural gas): the CO2 that fuel would emit is credited to the exchanges feeding the plant, in proportion to the share of its feedstock they bring (co2_attributed_t, docs/odd.md 7.12)")
    feedstock: str | None = Field(None, description="with displaces: the input whose share brought by exchanges earns that credit")
    source: str = ""

    @field_validator("inputs", "outputs", "converts")
    @classmethod
    def _positive_coefficients(cls, coefficients):
        for material, value in coefficients.items():
            if not 0 < value <= MAX_COEFFICIENT:
                raise ValueError(f"coefficient of {material!r} must lie in (0, {MAX_COEFFICIENT:g}], got {value}")
        return coefficients

    @model_validator(mode="after")
    def _not_empty(self):
        if not self.inputs and not self.outputs:
            raise ValueError("a process needs at least one input or output")
        if not 0 < self.capacity[0] <= self.capacity[1] <= MAX_CAPACITY:
            raise ValueError(f"capacity range must satisfy 0 < min <= max <= {MAX_CAPACITY:g}, got {list(self.capacity)}")
        unknown = [m for m in self.critical if m not in self.inputs]
        if unknown:
            raise ValueError(f"critical inputs {unknown} are not among the process's inputs {sorted(self.inputs)}")
        if (self.displaces is None) != (self.feedstock is None):
            raise ValueError("displaces and feedstock go together: the fuel the product replaces and the input that earns the credit")
        if self.feedstock is not None and self.feedstock not in self.inputs:
            raise ValueError(f"feedstock {self.feedstock!r} is not among the process's inputs {sorted(self.inputs)}")
        return self


class Substitution(Strict):
    """``waste`` can replace ``replaces`` at ``ratio`` units of input per unit of waste.

    ``treatment_eur`` is paid per unit of waste used; ``recovery_capex_eur`` is the
    one-off investment for a firm to reuse the waste in its own plant.
    """

    waste: str
    replaces: str
    ratio: float = Field(gt=0, le=MAX_COEFFICIENT)
    max_share: float = Field(1.0, gt=0, le=1, description="largest share of the input the waste may replace")
    treatment_eur: float = Price
    treatment_co2_t: float = Field(0.0, ge=0, le=1e5)
    recovery_capex_eur: float = Field(0.0, ge=0, le=MAX_EUR)
    fuel_mwh: float = Field(0.0, ge=0, le=1e3, description="fuel burned elsewhere per unit of waste used, MWh (the electricity an extraction forgoes, made up at a power station)")
    available_from: str | None = Field(None, pattern=r"^\d{4}(-(0[1-9]|1[0-2]))?$",
                                       description="first month (YYYY-MM) the technique is in commercial use; no firm adopts it before")
    barred_sectors: list[str] = Field([], description="sectors that may not use it, by a hygiene, quality or safety rule named in the source (e.g. no reclaimed wastewater as pharmaceutical process water)")
    toll: bool = Field(False, description="used only by toll conversion: the waste's owner sends it to a neighbour whose process converts it (Process.converts) and takes the product back in place of its own input, paying a fee; never by a receiver directly nor in the owner's own plant")
    source: str = ""


class HeatPump(Strict):
    """What lifting heat to the grade its user needs costs (:meth:`Catalogue.delivered`).

    A pump lifting from ``T_c`` to ``T_h`` (deg C) has a coefficient of performance
    ``COP = carnot_share * (T_h + 273.15) / (T_h - T_c)``: per MWh drawn from the
    source it uses ``1 / (COP - 1)`` MWh of electricity and delivers ``COP / (COP - 1)`` MWh.
    """

    carnot_share: float = Field(0.5, gt=0, le=1, description="COP as a share of the Carnot COP (large electric heat pumps: 0.45-0.55)")
    electricity_eur_per_mwh: float = Field(80.0, ge=0, le=MAX_EUR_PER_UNIT, description="electricity bought to drive the pump, EUR/MWh")
    electricity_co2_t_per_mwh: float = Field(0.3, ge=0, le=10, description="CO2 of that electricity, t/MWh")
    capital_eur_per_mwh: float = Field(12.0, ge=0, le=MAX_EUR_PER_UNIT, description="the pump's capital and upkeep per MWh delivered, EUR/MWh")
    primary_energy_factor: float = Field(2.5, ge=1, le=10, description="fuel burned to generate one MWh of the pump's electricity, MWh")
    source: str = ""

    def cop(self, source_c, user_c):
        return self.carnot_share * (user_c + 273.15) / (user_c - source_c)


class Catalogue(Strict):
    materials: dict[str, Material]
    sectors: dict[str, Sector]
    processes: dict[str, Process]
    substitutions: list[Substitution] = Field([], max_length=1024)  # the market packs the index into 10 bits
    heat_pump: HeatPump = HeatPump()

    def lift(self, sub):
        """``(source, user)`` temperatures (deg C) where ``sub``'s waste heat is colder than the input it replaces
        needs, so a heat pump must lift it; else None."""
        source_c, user_c = self.materials[sub.waste].temperature_c, self.materials[sub.replaces].temperature_c
        if source_c is None or user_c is None or source_c >= user_c:
            return None
        return source_c, user_c

    def delivered(self, sub):
        """``sub`` as a user gets it: where the waste heat is colder than the replaced heat input needs, a
        heat pump lifts it, so each unit of waste delivers more heat, for electricity, capital and their CO2."""
        lift = self.lift(sub)
        if lift is None:
            return sub
        cop = self.heat_pump.cop(*lift)
        electricity = sub.ratio / (cop - 1)  # MWh per unit of waste
        ratio = sub.ratio + electricity
        pump = self.heat_pump
        return sub.model_copy(update={
            "ratio": ratio,
            "treatment_eur": sub.treatment_eur + electricity * pump.electricity_eur_per_mwh + ratio * pump.capital_eur_per_mwh,
            "treatment_co2_t": sub.treatment_co2_t + electricity * pump.electricity_co2_t_per_mwh,
            "fuel_mwh": sub.fuel_mwh + electricity * pump.primary_energy_factor})

    @model_validator(mode="after")
    def _references_exist(self):
        for pid, process in self.processes.items():
            if process.sector not in self.sectors:
                raise ValueError(f"processes.{pid}.sector: unknown sector {process.sector!r}")
            for side in ("inputs", "outputs", "converts"):
                for material in getattr(process, side):
                    if material not in self.materials:
                        raise ValueError(f"processes.{pid}.{side}: unknown material {material!r}")
            if process.displaces is not None and process.displaces not in self.materials:
                raise ValueError(f"processes.{pid}.displaces: unknown material {process.displaces!r}")
        for sid, sector in self.sectors.items():
            if sector.default_process not in self.processes:
                raise ValueError(f"sectors.{sid}.default_process: unknown process {sector.default_process!r}")
            if self.processes[sector.default_process].sector != sid:
                raise ValueError(f"sectors.{sid}.default_process: process {sector.default_process!r} belongs to sector {self.processes[sector.default_process].sector!r}")
        for i, sub in enumerate(self.substitutions):
            for field in ("waste", "replaces"):
                if getattr(sub, field) not in self.materials:
                    raise ValueError(f"substitutions[{i}].{field}: unknown material {getattr(sub, field)!r}")
            for sector in sub.barred_sectors:
                if sector not in self.sectors:
                    raise ValueError(f"substitutions[{i}].barred_sectors: unknown sector {sector!r}")
            self._check_lift(i, sub)
            self._check_toll(i, sub)
        return self

    def _check_toll(self, i, sub):
        if not sub.toll:
            return
        if not any(sub.waste in process.converts for process in self.processes.values()):
            raise ValueError(f"substitutions[{i}].toll: no process converts {sub.waste!r} (processes.<id>.converts), "
                             f"so no firm could do the conversion")
        for material in (sub.waste, sub.replaces):
            if "truck" not in self.materials[material].transport:
                raise ValueError(f"substitutions[{i}].toll: toll conversion trucks the waste there and the product "
                                 f"back, but {material!r} cannot go by truck")

    def _check_lift(self, i, sub):
        lift = self.lift(sub)
        if lift is None:
            return
        if self.materials[sub.replaces].unit != "MWh":  # the pump's arithmetic is in MWh of heat delivered
            raise ValueError(f"substitutions[{i}]: a heat pump delivers heat in MWh, but {sub.replaces!r} is in "
                             f"{self.materials[sub.replaces].unit}")
        cop = self.heat_pump.cop(*lift)
        if cop <= 1:
            raise ValueError(f"substitutions[{i}]: no heat pump lifts heat from {lift[0]:g} to {lift[1]:g} deg C "
                             f"(its COP would be {cop:.2f}, at most 1)")
