"""The industrial park model: firms, contracts, logistics and policy, month by month.

One call of :meth:`SymbiosisModel.step` is one month, a short schedule of
phases (``SymbiosisModel.schedule``). Each phase is a small object in a module of
its own with a ``run(month)`` method; it was given, when the park was built, the
parts of the park it works on (tables, books, the economics), and not the model.
Two threads lead back to the model, both Mesa's: the Firm agents (a
``mesa.Agent`` holds its model; phases touch them only to record who knows whom)
and the agent constructor the events phase is handed to create entering firms.
The month's shared context (policy, prices, flows, books) is the
:class:`~simulation.model.month.Month` the phases pass along. A new phase, or a
new kind of agent that acts each month, is a module with a ``run(month)``, the
line in ``__init__`` that builds it from the parts it needs, and its line in the
schedule (a new measure also needs its entry in ``recorder.MEASURES`` and the ODD).
"""

import mesa
import networkx as nx
import numpy as np

from simulation.model.accounts import Accounts
from simulation.model.best_use import BestUse
from simulation.model.chance import RandomStreams
from simulation.model.deals import Deals
from simulation.model.events import ParkEvents
from simulation.model.exchange import ExchangeEconomics
from simulation.model.finance import LoanBook
from simulation.model.firm import Firm, FirmTable
from simulation.model.logistics import Logistics
from simulation.model.market import Market
from simulation.model.materials import MaterialTable, PriceMovements, SubstitutionTable
from simulation.model.month import Month
from simulation.model.networks import SharedNetworks
from simulation.model.physical import PhysicalMonth
from simulation.model.policy import PolicyTimeline
from simulation.model.recorder import MEASURES, ParkDataCollector, PeriodRecorder
from simulation.model.recovery import RecoveryInvestment, RecoveryPlants
from simulation.model.review import ContractReview
from simulation.model.search import PartnerSearch
from simulation.model.shared_disposal import SharedDisposal
from simulation.model.streams import StreamTable
from simulation.model.toll import TollConverters
from simulation.model.workload import firm_count, run_estimate
from simulation.scenario.synthetic import generate_firms

# Per-firm measures the DataCollector keeps each month (Firm properties), when it keeps them (see collect_agents).
AGENT_MEASURES = ("cash", "production", "links", "savings")
AGENT_ROWS_KEPT = 1_000_000  # firms x months above which per-firm measures are not collected by default


class SymbiosisModel(mesa.Model):
    """Agent-based model of an industrial park practising industrial symbiosis.

    Args:
        scenario: a validated :class:`simulation.scenario.Scenario`, or the path of a scenario file.
        seed: overrides the scenario's seed; every random draw comes from
            ``self.rng``, through a stream per source of chance (``self.streams``, see
            :mod:`simulation.model.chance`), or, for the layout only, ``park.layout_seed``.
        overrides: scenario values to change, a dict of dotted path -> value
            (``{"policy.landfill_tax_eur_per_t": 80}``) or ``PATH=VALUE`` strings, applied
            after those the scenario was loaded with (a loaded scenario is read again from
            its file), so ``mesa.batch_run(SymbiosisModel, {"scenario": path, "overrides": [...]})``
            runs variants of a park.
        record_exchanges: keep every month's contract deliveries (the exchange log).
        collect: collect the monthly measures through Mesa's ``DataCollector``.
            Sweeps pass False: they read the same numbers from
            ``self.recorder.series(name)``, and ``self.datacollector`` is None.
        collect_agents: also collect each firm's cash, production, links and savings every
            month (``datacollector.get_agent_vars_dataframe()``); by default only while
            firms x months stays under a million rows.
    """

    def __init__(self, scenario, seed=None, overrides=None, record_exchanges=True, collect=True, collect_agents=None):
        if not hasattr(scenario, "spec") or overrides:
            scenario = _loaded(scenario, overrides or ())
        firm_months = firm_count(scenario) * scenario.periods
        collect_agents = collect and (firm_months <= AGENT_ROWS_KEPT if collect_agents is None else collect_agents)
        # A park that cannot fit in memory is refused here, not after minutes of building it.
        run_estimate(scenario, logged=record_exchanges, agent_rows=firm_months if collect_agents else 0).checked(scenario.path)
        seed = scenario.spec.scenario.seed if seed is None else seed
        super().__init__(rng=seed)
        self.seed = seed
        self.config = scenario
        self.streams = RandomStreams(self.rng)
        self.params = p = scenario.spec
        self.calendar = scenario.calendar
        self.n_periods = scenario.periods
        self.materials = MaterialTable(scenario.catalogue)
        self.subs = SubstitutionTable(scenario.catalogue, self.materials, scenario.opening_periods())
        self.policy_timeline = PolicyTimeline(scenario.policy)
        self.firms = FirmTable(self._firm_specs(), p.firm_defaults, p.demand.mean_utilisation, self.calendar,
                               self.subs.sectors)
        n, n_mat = len(self.firms), len(self.materials)
        self.supply, self.demand = StreamTable(n, n_mat), StreamTable(n, n_mat)
        self.loans = LoanBook(p.firm_defaults.interest_rate_per_year)
        shared = (self.firms.ids, self.materials.index, self.calendar, self.loans.rate_per_year)
        self.networks = SharedNetworks(p.networks, *shared)
        self.shared_disposal = SharedDisposal(p.shared_disposal, *shared)
        self.economics = ExchangeEconomics(self.materials, self.subs, self.firms, self.supply, self.demand, p,
                                           self.loans.rate_per_year, self.networks, self.shared_disposal)
        lg = p.logistics
        self.logistics = Logistics(lg.fleet_trucks or None, lg.truck_payload_t, lg.truck_speed_kmh, lg.truck_handling_hours,
                                   lg.truck_hours_per_day)  # no fleet: trucks hired as needed
        self.logistics.add_firms(n)
        self.tolls = TollConverters(scenario.catalogue, self.materials, self.firms, p.demand.mean_utilisation)
        self.deals = Deals(self.firms, self.supply, self.demand, self.economics, self.logistics, self.loans, p, n_mat,
                           self.tolls)
        self.market = Market(self.firms, self.supply, self.demand, self.subs, n_mat, p.search, self.deals.book,
                             self.subs.best_value(self.materials.catalogue_price, n_mat), self.networks)
        self.recovery = RecoveryPlants(self.subs)
        self.investment = RecoveryInvestment(self.recovery, self.firms, self.supply, self.demand, self.economics,
                                             self.loans, p)
        self.events = ParkEvents(self.firms, self.supply, self.demand, self.materials, scenario.catalogue, p, self.deals,
                                 self.logistics, self.investment, self.recovery, self.loans, self._social_network(n),
                                 self._events_by_month(),
                                 self.streams.stream("entry"), self._new_agent)
        self.recorder = PeriodRecorder(self.firms, self.supply, self.demand, self.materials, self.deals, self.n_periods,
                                       scenario.path, self.calendar, record_exchanges)
        self.prices = PriceMovements(self.materials, p.market, self.streams, self.n_periods)
        self.best_use = BestUse(self.deals, self.market, self.economics, self.firms, self.supply, self.demand, p.contract,
                                self.streams)
        self.review = ContractReview(self.deals, self.economics, self.firms, p)
        self.search = PartnerSearch(self.firms, self.supply, self.demand, self.subs, n_mat, self.market, self.deals,
                                    self.investment, p, self.streams)
        self.physical = PhysicalMonth(self.firms, self.supply, self.demand, self.materials, self.subs, self.deals,
                                      self.recovery, self.logistics, p, self.streams)
        self.accounts = Accounts(self.firms, self.supply, self.demand, self.materials, self.subs, self.deals,
                                 self.economics, self.loans, p, self.events.leave)
        # The month, in order. Each phase's module says what it does.
        self.schedule = [
            self.events,    # firms enter and leave; scheduled events (fuel switches, prices)
            self.prices,    # virgin prices move; the month's unit costs under the policy in force
            self.best_use,  # contracted wastes move to a better use
            self.review,    # contract review: breaches, then renewals
            self.search,    # partner search, offers and signing; recovery investment
            self.physical,  # simpy: outages, pipelines, utilisation and production, then the flows
            self.accounts,  # cash, government ledger, savings, CO2; trust; insolvency
            self.recorder,  # the month's measures
        ]
        self.datacollector = self._data_collector(collect, collect_agents)
        self.month = Month(0, self.policy_timeline.at(0))  # firms there from the start enter before the first month
        self.events.enter_due(self.month)

    # -- set-up ------------------------------------------------------------------
    def _firm_specs(self):
        spec = self.params
        specs = list(spec.firms)
        if spec.park is not None:
            layout_rng = self.streams.stream("layout") if spec.park.layout_seed is None else np.random.default_rng(spec.park.layout_seed)
            specs += generate_firms(spec.park, self.config.catalogue, spec.firm_defaults, layout_rng)
        return specs

    def _social_network(self, n):
        """Acquaintances at start: a preferential-attachment graph (Ghali et al. 2017)."""
        m = self.params.search.acquaintances
        if m == 0 or n <= m:
            return nx.empty_graph(n)
        return nx.barabasi_albert_graph(n, m, seed=int(self.streams.stream("acquaintances").integers(2**32)))

    def _events_by_month(self):
        events = {}
        for i, event in enumerate(self.params.events):
            events.setdefault(self.config.event_period(i), []).append(event)
        return events

    def _new_agent(self, index, spec, process):
        return Firm(self, index, spec.id, spec.name, spec.sector, process)

    def _data_collector(self, collect, collect_agents):
        if not collect:
            return None
        recorder = self.recorder
        return ParkDataCollector(
            model_reporters={name: (lambda model, name=name: recorder.current[name]) for name in MEASURES},
            agent_reporters={name: name for name in AGENT_MEASURES} if collect_agents else None,
        )

    # -- the month -----------------------------------------------------------------
    def step(self):
        """One month: each phase of ``schedule`` in turn, then the DataCollector."""
        # Mesa counts the step before it runs, so this month is the one before ``steps``.
        self.month = month = Month(self.steps - 1, self.policy_timeline.at(self.steps - 1))
        for phase in self.schedule:
            phase.run(month)
        if self.datacollector is not None:
            self.datacollector.collect(self)
        if self.steps >= self.n_periods:
            self.running = False

    def run(self, progress=None):
        """Run to the scenario's end; ``progress`` is called with the number of months done."""
        while self.running:
            self.step()
            if progress is not None:
                progress(1)
        self.deals.finish()
        return self

    # -- what outputs, tests and notebooks read ---------------------------------------
    @property
    def period(self):
        """Months simulated so far (Mesa's ``steps``)."""
        return self.steps

    @property
    def contracts(self):
        """The contract book: every contract signed, one row each."""
        return self.deals.book

    @property
    def policy_now(self):
        """The policy in force in the last month begun."""
        return self.month.policy

    @property
    def costs(self):
        """The unit costs of the last month begun."""
        return self.month.costs

    @property
    def firm_list(self):
        """The Firm of each firm row (None before it enters; it stays after it leaves)."""
        return self.firms.agents

    @property
    def firm_ids(self):
        return self.firms.ids

    def trust_between(self, truster, trusted):
        """Trust of firms ``truster`` in firms ``trusted`` (index arrays), from past deliveries."""
        return self.deals.trust_between(truster, trusted)

    def unit_margin(self):
        """EUR per unit of product, by firm, this month (see :meth:`Accounts.unit_margin`)."""
        return self.accounts.unit_margin(self.month)


def _loaded(scenario, overrides):
    """A scenario (a path, or a loaded scenario to vary) loaded with ``overrides`` (a dict of dotted path -> value,
    or ``PATH=VALUE`` strings) after any it was loaded with."""
    from simulation.scenario import load
    from simulation.scenario.loader import assignments

    if hasattr(scenario, "spec"):
        return load(scenario.path, [*scenario.overrides, *assignments(overrides)])
    return load(scenario, assignments(overrides))
