"""Scenario parameters with their defaults, units and valid ranges.

Each class is one section of a scenario file (``[demand]``, ``[search]`` ...).
Fields a scenario does not give take the defaults below; ``docs/odd.md`` refers
to them by these names. Policy values may be schedules (see
:mod:`simulation.scenario.timeline`).

Every number has a plausible range, wide enough for any real park and narrow
enough that no value inside it can overflow the model's arithmetic: a value
outside is refused when the scenario is loaded, naming the field. The common
bounds are the constants below.
"""

import functools
import os
import re
import typing

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ScheduleSpec = float | list[list[int | str | float]]
TimeSpec = int | str

MAX_EUR_PER_UNIT = 1e6  # prices, fees, taxes and margins, EUR per t, MWh or m3
MAX_EUR = 1e10  # one-off and monthly sums, EUR
MAX_MONTHS = 1200  # terms, waits and lead times: a century
MAX_KM = 20_000  # half the Earth's circumference
MAX_CAPACITY = 1e9  # product units a month (the largest real plants make about 1e6)
MAX_COUNT = 1_000_000  # trucks, candidates, acquaintances ...
MAX_YEARS = 1000
MAX_FIRMS = 10_000_000


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value, info):
        """TOML's ``true`` is not a number: ``capacity = true`` must not read as 1."""
        if _expects_numbers(cls.model_fields[info.field_name].annotation) and contains_bool(value):
            if isinstance(value, bool):
                raise ValueError(f"expected a number, got {str(value).lower()} (true and false are not numbers)")
            raise ValueError(f"expected numbers, got a true or false inside {value!r}")
        return value


@functools.cache
def _expects_numbers(annotation):
    """Whether a field's type is made of numbers (and text, lists, dicts), with no true/false and no nested section."""
    if annotation is bool or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return False
    args = typing.get_args(annotation)
    if not args:
        return annotation in (int, float)
    parts = [_expects_numbers(a) for a in args]
    nested = [a for a in args if a is bool or (isinstance(a, type) and issubclass(a, BaseModel))]
    return any(parts) and not nested


def contains_bool(value):
    if isinstance(value, bool):
        return True
    if isinstance(value, list):
        return any(contains_bool(v) for v in value)
    if isinstance(value, dict):
        return any(contains_bool(v) for v in value.values())
    return False


class Demand(Section):
    """Monthly capacity utilisation follows a mean-reverting AR(1) process."""

    mean_utilisation: float = Field(0.85, gt=0, le=1, description="long-run capacity utilisation")
    volatility: float = Field(0.08, ge=0, le=10, description="s.d. of the monthly utilisation shock")
    persistence: float = Field(0.7, ge=0, lt=1, description="AR(1) coefficient of utilisation")


class Market(Section):
    """Virgin-price turbulence (a mean-reverting multiplier on every virgin price) and what product prices pass on."""

    price_volatility: float = Field(0.0, ge=0, le=2, description="s.d. of the monthly log-price shock")
    price_persistence: float = Field(0.9, ge=0, lt=1, description="AR(1) coefficient of the log virgin-price multiplier")
    carbon_pass_through: float = Field(1.0, ge=0, le=1, description="share of input carbon cost passed on in product prices")
    price_pass_through: float = Field(0.7, ge=0, le=1, description="share of a change in virgin input prices passed on in product prices")


class FirmDefaults(Section):
    """Defaults for firm attributes a scenario does not set per firm."""

    hurdle_rate: float = Field(0.2, ge=0, le=10, description="minimum net gain as a share of the value at stake")
    hurdle_spread: float = Field(0.05, ge=0, le=10, description="s.d. of hurdle rates drawn for synthetic firms")
    risk_aversion: float = Field(1.0, ge=0, le=100, description="extra hurdle per unit of distrust")
    initial_cash_months: float = Field(6.0, ge=0, le=MAX_MONTHS, description="starting cash, in months of gross margin")
    exit_after_months: int = Field(12, ge=1, le=MAX_MONTHS, description="consecutive months with negative cash before exit")
    close_after_loss_months: int = Field(0, ge=0, le=MAX_MONTHS, description="consecutive months of operating losses after which the owner closes the plant, cash or not (0: only running out of cash ends a firm)")
    storage_months: float = Field(1.0, ge=0, le=MAX_MONTHS, description="storage capacity per storable waste, months of output")
    interest_rate_per_year: float = Field(0.05, ge=0, le=1, description="interest on the loans that finance capex (pipelines, recovery plants)")
    recovery_lead_months: int = Field(0, ge=0, le=MAX_MONTHS, description="months from deciding to install in-plant recovery until it reuses waste; its loan's first payment falls due then")


class Search(Section):
    """Partner search: who looks, how far, at what cost."""

    rate_per_month: float = Field(0.2, ge=0, le=1, description="chance a firm with unmatched flows searches")
    retry_months: int = Field(12, ge=0, le=MAX_MONTHS, description="months a firm waits after a search that found nothing")
    candidates: int = Field(10, ge=1, le=MAX_COUNT, description="nearest matching streams a search (or the platform) lists")
    cost_eur: float = Field(300.0, ge=0, le=MAX_EUR, description="cost of one search")
    distance_decay_km: float = Field(15.0, gt=0, le=MAX_KM, description="d0 in the exp(-d/d0) partner-choice weight")
    max_distance_km: float = Field(250.0, gt=0, le=MAX_KM, description="no exchange is considered beyond this distance")
    max_offers: int = Field(3, ge=1, le=MAX_COUNT, description="offers a firm makes per search")
    neighbourhood_km: float = Field(1.5, ge=0, le=MAX_KM, description="firms within this distance know each other")
    acquaintances: int = Field(3, ge=0, le=MAX_COUNT, description="extra random acquaintances per firm at start")
    discoveries: int = Field(2, ge=0, le=MAX_COUNT, description="new firms a search reveals")
    visible_eur_per_month: float = Field(0.0, ge=0, le=MAX_EUR, description="a waste stream worth at least this a month, as the input it could best replace at catalogue prices, is known to every firm within max_distance_km (0: none is)")
    min_quantity: float = Field(1.0, ge=0, le=MAX_CAPACITY, description="smallest monthly quantity worth a contract (units)")
    platform_patience: int = Field(3, ge=0, le=MAX_COUNT, description="searches in a row in which the facilitator's platform finds a member no partner, after which it stops using it (0: members stay)")


class Contract(Section):
    duration_months: int = Field(36, ge=1, le=MAX_MONTHS, description="term of a contract moved by truck")
    pipeline_duration_months: int = Field(120, ge=1, le=MAX_MONTHS, description="term of a contract moved by pipeline")
    transaction_cost_eur_per_month: float = Field(400.0, ge=0, le=MAX_EUR, description="coordination, testing and admin, split equally")
    setup_cost_eur: float = Field(10_000.0, ge=0, le=MAX_EUR, description="one-off negotiation, permits and trials of a new link, split equally")
    quantity_share: float = Field(0.8, gt=0, le=1, description="share of expected free flow a contract promises")
    supplier_power: float = Field(0.5, ge=0, le=1, description="supplier's Nash bargaining weight")
    review_months: int = Field(6, ge=1, le=MAX_MONTHS, description="months of losses a side tolerates before breaking")
    terms: typing.Literal["bargained", "standard", "simple"] = Field("bargained", description="how contracts get their clauses (the three shares below): bargained, each pair signing up to each share where it pays both sides; standard, every contract carrying them as set; simple, as standard but signed at the price of a deal without them")
    price_indexation: float = Field(0.0, ge=0, le=1, description="share of the change in the receiver's virgin input cost since signing passed into the price (0: fixed price); the most a bargained contract may take")
    deliver_or_pay_share: float = Field(0.0, ge=0, le=1, description="share of what it falls short of its promise that the supplier owes damages for; the most a bargained contract may take")
    take_or_pay_share: float = Field(0.0, ge=0, le=1, description="share of what it does not take of the offer that the receiver owes damages for; the most a bargained contract may take")
    best_use_rate_per_month: float = Field(1 / 12, ge=0, le=1, description="chance a month that a supplier under contract looks for a better use of its waste among the receivers it knows; it always looks when the contract expires, and leaves early only where the extra gain over the months left pays the breach penalty (0: a contracted waste stays until its contract ends for another reason)")
    holdup_share: float = Field(0.0, ge=0, le=1, description="share of the joint monthly gain a supplier claims by renegotiating once its receiver's pipeline is sunk (0: no hold-up)")


class Trust(Section):
    initial: float = Field(0.5, ge=0, le=1, description="trust in a firm never traded with")
    learning_rate: float = Field(0.2, gt=0, le=1, description="weight of the latest delivery ratio")
    reputation_weight: float = Field(0.5, ge=0, le=1, description="share of their trust in a firm that breaks a contract lost by the firms that hear of it from its victim")


class Logistics(Section):
    transport_cost_factor: float = Field(1.0, ge=0, le=1000, description="multiplier on every material's transport cost per unit-km")
    truck_payload_t: float = Field(25.0, gt=0, le=1000, description="payload per trip (units of the material carried)")
    truck_speed_kmh: float = Field(50.0, gt=0, le=200, description="truck speed")
    truck_handling_hours: float = Field(1.0, ge=0, le=1000, description="loading and unloading per trip")
    truck_hours_per_day: float = Field(10.0, gt=0, le=24, description="driving day of a fleet truck")
    fleet_trucks: int = Field(0, ge=0, le=MAX_COUNT, description="trucks in the park fleet; 0: trucks are hired as needed, so none waits")
    truck_co2_t_per_unit_km: float = Field(0.0001, ge=0, le=1, description="about 100 g CO2 per t-km")
    pipeline_capex_eur_per_km: float = Field(400_000.0, ge=0, le=MAX_EUR, description="pipeline investment per km")
    pipeline_min_capex_eur: float = Field(50_000.0, ge=0, le=MAX_EUR, description="connection cost even for adjacent plants")
    pipeline_lead_months: float = Field(6.0, ge=0, le=MAX_MONTHS, description="construction time before a pipeline carries flow")


class Outages(Section):
    rate_per_month: float = Field(0.01, ge=0, le=1, description="chance a running plant fails in a month")
    mean_repair_days: float = Field(5.0, gt=0, le=3650, description="mean of the exponential repair time of a failed plant")


class Policy(Section):
    """Public policy instruments; every value may be a schedule, each value within [0, ``max``]."""

    landfill_tax_eur_per_t: ScheduleSpec = Field(0.0, description="tax on mass waste whose route is landfill", json_schema_extra={"max": MAX_EUR_PER_UNIT})
    incineration_tax_eur_per_t: ScheduleSpec = Field(0.0, description="tax on mass waste whose route is incineration", json_schema_extra={"max": MAX_EUR_PER_UNIT})
    virgin_tax_eur_per_t: ScheduleSpec = Field(0.0, description="tax on virgin mass inputs", json_schema_extra={"max": MAX_EUR_PER_UNIT})
    carbon_price_eur_per_t: ScheduleSpec = Field(0.0, description="carbon price per t CO2", json_schema_extra={"max": MAX_EUR_PER_UNIT})
    subsidy_eur_per_t: ScheduleSpec = Field(0.0, description="paid per t of mass waste exchanged or reused (not energy or water)",
                                            json_schema_extra={"max": MAX_EUR_PER_UNIT})
    capex_subsidy_share: ScheduleSpec = Field(0.0, description="share of pipeline and recovery capex the government pays", json_schema_extra={"max": 1})
    facilitator_participation: ScheduleSpec = Field(0.0, description="share of firms on the information platform",
                                                    json_schema_extra={"max": 1})
    min_contract_months: ScheduleSpec = Field(0.0, description="legal minimum contract term", json_schema_extra={"max": MAX_MONTHS})
    breach_penalty_months: ScheduleSpec = Field(2.0, description="penalty in months of the larger side's expected gain at signing",
                                                json_schema_extra={"max": MAX_MONTHS})

    @classmethod
    def maximum(cls, name):
        return cls.model_fields[name].json_schema_extra["max"]


class Outcome(Section):
    """Thresholds that classify a run as none / formed / persisted / collapsed (:mod:`simulation.measures.outcome`).

    The network is the giant component of firms joined by contracts that delivered in the month.
    """

    min_firms: int = Field(3, ge=2, le=MAX_FIRMS, description="least firms in the network to call it formed (Chertow's 3-2 heuristic)")
    min_firm_share: float = Field(0.1, ge=0, le=1, description="or this share of the active firms, if more")
    min_materials: int = Field(2, ge=1, le=MAX_COUNT, description="least distinct wastes the network carries to call it formed")
    window_months: int = Field(12, ge=1, le=MAX_YEARS * 12, description="rolling window smoothing the network's size and flow")
    persist_months: int = Field(24, ge=1, le=MAX_YEARS * 12, description="months a formed network must last to count as persisted")
    collapse_drop: float = Field(0.5, gt=0, le=1, description="share of the peak size or flow lost that counts as a collapse")


class Report(Section):
    """What a run prints and draws beyond the standard outputs."""

    print_timeline: bool = Field(False, description="print the timeline of links after the summary")
    network_years: list[int] = Field([], max_length=200, description="years (January) at which to draw the network, besides the end")


class SyntheticPark(Section):
    """A generated park: N firms from a sector mix at random places in a disc."""

    n_firms: int = Field(gt=0, le=MAX_FIRMS, description="firms in the generated park")
    radius_km: float = Field(10.0, gt=0, le=MAX_KM, description="radius of the disc the firms are placed in")
    sector_mix: dict[str, float] = Field(min_length=1, description="relative number of firms per sector (sector id -> weight)")
    layout_seed: int | None = Field(None, ge=0, lt=2**63, description="fixes the layout across run seeds when set")

    @model_validator(mode="after")
    def _weights_positive(self):
        if any(not 0 <= w <= 1e9 for w in self.sector_mix.values()) or sum(self.sector_mix.values()) <= 0:
            raise ValueError("sector_mix weights must lie in [0, 1e9] and not all be zero")
        return self


class FirmSpec(Section):
    id: str = Field(min_length=1, description="the firm's id, used by links, events and --set firms.<id>.<field>")
    name: str = Field("", description="a name for people (default the id)")
    sector: str = Field(description="sector id of the catalogue (NACE Rev.2)")
    process: str | None = Field(None, description="process recipe of the catalogue (default the sector's first)")
    x_km: float = Field(ge=-MAX_KM, le=MAX_KM, description="location, east")
    y_km: float = Field(ge=-MAX_KM, le=MAX_KM, description="location, north")
    capacity: float = Field(gt=0, le=MAX_CAPACITY, description="product units per month at full utilisation")
    entry: TimeSpec = Field(0, description="when the firm enters the park (period or date)")
    exit: TimeSpec | None = Field(None, description="when it leaves (period or date; none: it stays)")
    hurdle_rate: float | None = Field(None, ge=0, le=10, description="its own hurdle rate (default firm_defaults.hurdle_rate)")
    risk_aversion: float | None = Field(None, ge=0, le=100, description="its own risk aversion (default firm_defaults.risk_aversion)")
    recovery: list[str] = Field([], description="wastes the firm can already reuse in its own plant")


class Event(Section):
    """An exogenous change at time ``at``: a process switch, an exit, or new values."""

    at: TimeSpec = Field(description="when it happens (period or date)")
    firm: str | None = Field(None, description="the firm it applies to")
    switch_process: str | None = Field(None, description="the process the firm switches to")
    leave: bool = Field(False, description="the firm leaves the park")
    set: dict[str, float] = Field({}, description="new values, e.g. materials.<id>.virgin_price_eur or firms.<id>.capacity")

    def settings(self):
        """``(key, kind, name, field, value)`` of each ``set`` entry, from keys like ``firms.asnaes.capacity``."""
        for key, value in self.set.items():
            kind, _, rest = key.partition(".")
            name, _, field = rest.rpartition(".")
            yield key, kind, name, field, value

    @model_validator(mode="after")
    def _does_something(self):
        if not (self.switch_process or self.leave or self.set):
            raise ValueError("an event needs switch_process, leave = true, or set")
        if (self.switch_process or self.leave) and not self.firm:
            raise ValueError("switch_process and leave need the firm they apply to")
        return self


class Approval(Section):
    """A rule that keeps substitutions closed to every firm until a date: a regulator's approval
    (end-of-waste status, a feed or fertiliser approval) or a planning rule (municipal heat planning).

    It applies to every catalogue substitution of ``waste`` into ``replaces`` ('*' for any).
    """

    waste: str = Field("*", description="the waste it applies to ('*': any)")
    replaces: str = Field("*", description="the input it applies to ('*': any)")
    allowed_from: TimeSpec = Field(description="first month (period or date) a firm may use such a substitution")
    source: str = Field("", description="the law, rule or decision, for the reader")

    @model_validator(mode="after")
    def _names_something(self):
        if self.waste == "*" and self.replaces == "*":
            raise ValueError("an approval names a waste, an input it replaces, or both")
        return self

    def covers(self, substitution):
        return self.waste in ("*", substitution.waste) and self.replaces in ("*", substitution.replaces)


class SharedInfrastructure(Section):
    """What several firms build once and pay for together (:mod:`simulation.model.infrastructure`): the firms it
    serves, the materials, from when, and its cost, shared among the members each month by ``sharing``:
    ``"flow"``, pro rata to the units each put through it (equally in a month nothing went through); or
    ``"equal"``, in equal shares whether a member uses it or not, a club fee."""

    id: str = Field(min_length=1, description="its id, for the reader and in errors")
    materials: list[str] = Field(min_length=1, description="materials it serves")
    members: list[str] = Field(min_length=2, description="ids of the [[firms]] it serves")
    built: TimeSpec = Field(0, description="first month (period or date) it is in use")
    capex_eur: float = Field(0.0, ge=0, le=MAX_EUR, description="what building it cost, EUR, paid off by the members")
    payoff_months: int = Field(240, gt=0, le=1200, description="months over which the capex is paid off, with interest")
    opex_eur_per_month: float = Field(0.0, ge=0, le=MAX_EUR, description="upkeep, EUR a month")
    sharing: typing.Literal["flow", "equal"] = Field("flow", description="how members share its monthly cost: by units put through it, or equally")
    source: str = Field("", description="where its facts come from, for the reader")


class SharedNetwork(SharedInfrastructure):
    """A pipe network several firms share: a recycled-water main, a steam header, a gas grid inside the fence.

    Any two ``members`` exchange what it carries through it from ``built`` on, with no pipeline of their own to
    build (no capex, no construction time, nothing for a supplier to hold up). Under the ``flow`` rule the units
    are those each member received through it, and a deal is priced with the charge per unit it would bear.
    Each material must be able to move by pipeline.
    """


class SharedDisposal(SharedInfrastructure):
    """A disposal facility several firms share: a central wastewater treatment plant, a park landfill or incinerator.

    From ``built`` on, a member disposes of the ``materials`` it has left through it where that costs less than
    the public route: it pays ``fee_eur_per_unit`` in place of the material's gate fee (the route's taxes and
    carbon stay: the facility disposes by the same route), and under the ``flow`` rule its share of the
    facility's cost per unit it sends. A waste that is sold (a resale value) is not disposed of and cannot be
    served.
    """

    fee_eur_per_unit: float = Field(0.0, ge=0, le=MAX_EUR_PER_UNIT, description="what a member pays per unit it sends, in place of the gate fee, EUR")


NAME_PATTERN = r"^[^\W_][\w.-]*$"  # \w: letters and digits of any script, and '_'
NAME_RULE = "a name, not a path: letters, digits, '_', '-' and '.', starting with a letter or digit"


class Run(Section):
    name: str = Field(min_length=1, max_length=100, description="names the results folder")
    description: str = Field("", description="what the scenario is for")
    start: str = Field("2025-01", description="calendar month of period 0 (YYYY-MM)")
    years: float = Field(20, gt=0, le=MAX_YEARS, description="run length")
    seed: int = Field(42, ge=0, lt=2**63, description="seed of the run's one random generator")

    @field_validator("name")
    @classmethod
    def _a_name_not_a_path(cls, name):
        return checked_name(name)
    catalogue: list[str] = Field(min_length=1, description="catalogue files, relative to the scenario file")


class ScenarioSpec(Section):
    scenario: Run
    demand: Demand = Demand()
    market: Market = Market()
    firm_defaults: FirmDefaults = FirmDefaults()
    search: Search = Search()
    contract: Contract = Contract()
    trust: Trust = Trust()
    logistics: Logistics = Logistics()
    outages: Outages = Outages()
    policy: Policy = Policy()
    outcome: Outcome = Outcome()
    report: Report = Report()
    park: SyntheticPark | None = None
    firms: list[FirmSpec] = []
    events: list[Event] = []
    approvals: list[Approval] = []
    networks: list[SharedNetwork] = []
    shared_disposal: list[SharedDisposal] = []

    @model_validator(mode="after")
    def _has_firms(self):
        if not self.firms and self.park is None:
            raise ValueError("a scenario needs [[firms]], a [park] generator, or both")
        return self


def checked_name(name):
    """A scenario's or sweep's name, which names a folder: refused when it could be read as a path."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise ValueError(f"must be {NAME_RULE}, got {name!r}")
    if len(os.fsencode(name)) > 100:
        raise ValueError(f"must be at most 100 bytes long, got {len(os.fsencode(name))}")
    return name
