"""The industrial park model: firms, contracts, logistics and policy, month by month.

One call of :meth:`SymbiosisModel.step` is one decision period (a month):

1. the policy in force, then exogenous events due this month (entries, exits,
   process switches, prices), then market prices and unit costs;
2. contract review: deals turned bad may be broken, then expiries are renegotiated;
3. partner search by firms with unmatched flows, fewest links first; firms that
   found nothing consider investing in recovery technology;
4. the physical month in simpy (outages, pipeline construction), then the
   month's flows (:mod:`simulation.model.flows`) and the fleet's deliveries;
5. accounts (cash, government, savings, CO2), trust, insolvency;
6. measures: kept by the :class:`~simulation.model.recorder.PeriodRecorder` and
   collected through Mesa's ``DataCollector`` (unless ``collect=False``).
"""

import mesa
import networkx as nx
import numpy as np

from simulation.model.exchange import side_gains
from simulation.model.columns import Columns
from simulation.model.contract import ACTIVE, AT_SIGNING, PENDING, REASON, TRUCK, ContractBook
from simulation.model.materials import MaterialTable, SubstitutionTable
from simulation.model.finance import LoanBook, monthly_payment
from simulation.model.firm import AcquaintanceLists, Firm
from simulation.model.flows import month_flows
from simulation.model.keyed import KeyedValues, contains, first_occurrences, unique_ints, unit_interval
from simulation.model.logistics import Logistics
from simulation.model.market import (Market, contract_transport_unit, free_quantity, grouped_best, grouped_sample,
                               price_pairs, receiver_running_value, stream_pair_key, treatment_unit_cost)
from simulation.model.recorder import MEASURES, PeriodRecorder
from simulation.model.policy import GovernmentLedger, PolicyTimeline
from simulation.model.streams import StreamTable
from simulation.scenario.synthetic import generate_firms
from simulation.scenario.timeline import DAYS_PER_MONTH
from simulation.model.workload import run_estimate


class SymbiosisModel(mesa.Model):
    """Agent-based model of an industrial park practising industrial symbiosis.

    Args:
        scenario: a validated :class:`simulation.scenario.Scenario`.
        seed: overrides the scenario's seed; every random draw comes from
            ``self.rng`` (or, for the layout only, ``park.layout_seed``).
        record_exchanges: keep every month's contract deliveries (the exchange log).
        collect: collect the monthly measures through Mesa's ``DataCollector``.
            Sweeps pass False: they read the same numbers from
            ``self.recorder.series(name)``, and ``self.datacollector`` is None.
    """

    def __init__(self, scenario, seed=None, record_exchanges=True, collect=True):
        # A park that cannot fit in memory is refused here, not after minutes of building it.
        run_estimate(scenario, logged=record_exchanges).checked(scenario.path)
        seed = scenario.spec.scenario.seed if seed is None else seed
        super().__init__(rng=seed)
        self.seed = seed
        self.config = scenario
        self.params = scenario.spec
        self.calendar = scenario.calendar
        self.n_periods = scenario.periods
        self.period = 0
        self.materials = MaterialTable(scenario.catalogue)
        self.subs = SubstitutionTable(scenario.catalogue, self.materials)
        self._is_waste_used = np.isin(np.arange(len(self.materials)), self.subs.waste)
        self._is_input_replaced = np.isin(np.arange(len(self.materials)), self.subs.input)
        self.policy_timeline = PolicyTimeline(scenario.policy)
        self.policy_now = self.policy_timeline.at(0)
        self.costs = self.materials.unit_costs(self.policy_now)
        self.contracts = ContractBook()
        self.loans = LoanBook(self.params.firm_defaults.interest_rate_per_year)
        self.pipelines = KeyedValues(default=0.0)  # 1 where a pipeline joins supplier, receiver and waste
        self.trust = KeyedValues(default=self.params.trust.initial)  # key truster * n + trusted
        self.links = Columns({"start": np.int64}, fill={"start": -1})  # month each link first delivered
        self.recovery = {"supply": [], "demand": [], "substitution": [], "quantity": []}
        self._recovery_cache = None  # _recovery_arrays() until an installation is added or removed
        self._setup_firms()
        self.supply = StreamTable(len(self.specs), len(self.materials))
        self.demand = StreamTable(len(self.specs), len(self.materials))
        self.market = Market(self)
        self._setup_events()
        p = self.params.logistics
        trucks = p.fleet_trucks or None  # None: trucks hired as needed
        self.logistics = Logistics(self, trucks, p.truck_payload_t, p.truck_speed_kmh, p.truck_handling_hours, p.truck_hours_per_day)
        self.logistics.add_firms(len(self.specs))
        self.recorder = PeriodRecorder(self, record_exchanges)
        self.datacollector = mesa.DataCollector(model_reporters={name: _reporter(name) for name in MEASURES}) if collect else None
        self._reset_period_books()
        self._enter_due(0)

    def _reset_period_books(self):
        self.ledger = GovernmentLedger()
        self.spend = {"search": 0.0, "capex": 0.0, "setup": 0.0}
        self.cash_flow[:] = 0.0
        self.forced_disposal = {}  # supply stream -> stock disposed of because the stream ended

    # -- set-up ------------------------------------------------------------------
    def _setup_firms(self):
        spec = self.params
        specs = list(spec.firms)
        if spec.park is not None:
            layout_rng = self.rng if spec.park.layout_seed is None else np.random.default_rng(spec.park.layout_seed)
            specs += generate_firms(spec.park, self.config.catalogue, spec.firm_defaults, layout_rng)
        self.specs = specs
        n = len(specs)
        d = spec.firm_defaults
        self.firm_ids = [f.id for f in specs]
        self.x = np.array([f.x_km for f in specs], float)
        self.y = np.array([f.y_km for f in specs], float)
        self.capacity = np.array([f.capacity for f in specs], float)
        self.margin = np.zeros(n)  # EUR per unit of product before material, disposal and carbon costs
        self.input_co2 = np.zeros(n)  # t CO2 embodied in the virgin inputs of one unit of product
        self.input_price_ref = np.zeros(n)  # EUR of virgin inputs per unit of product at catalogue prices
        self.utilisation = np.full(n, spec.demand.mean_utilisation)
        self.active = np.zeros(n, dtype=bool)
        self.cash = np.zeros(n)
        self.loss_months = np.zeros(n, dtype=np.int64)
        self.firm_attrs = {
            "hurdle_rate": np.array([d.hurdle_rate if f.hurdle_rate is None else f.hurdle_rate for f in specs]),
            "risk_aversion": np.array([d.risk_aversion if f.risk_aversion is None else f.risk_aversion for f in specs]),
        }
        self.entry = np.array([self.calendar.period_of(f.entry) for f in specs], dtype=np.int64)
        self.exit = np.array([-1 if f.exit is None else self.calendar.period_of(f.exit) for f in specs], dtype=np.int64)
        self.firm_list = [None] * n
        self.cash_flow = np.zeros(n)
        self.next_search = np.zeros(n, dtype=np.int64)  # first period a firm may search again
        # Uniform draw at entry; a firm is on the platform while its draw is below the participation rate.
        self.platform_draw = np.full(n, np.inf)
        self.left = np.full(n, -1, dtype=np.int64)  # month each firm left, -1 while it has not
        self.social = self._social_network(n)

    def _social_network(self, n):
        """Acquaintances at start: a preferential-attachment graph (Ghali et al. 2017)."""
        m = self.params.search.acquaintances
        if m == 0 or n <= m:
            return nx.empty_graph(n)
        return nx.barabasi_albert_graph(n, m, seed=int(self.rng.integers(2**32)))

    def _setup_events(self):
        self.events = {}
        for i, event in enumerate(self.params.events):
            self.events.setdefault(self.config.event_period(i), []).append(event)

    # -- firms entering, leaving, switching ----------------------------------------
    def _enter_due(self, period):
        for index in (self.entry == period).nonzero()[0].tolist():
            if self.firm_list[index] is None:
                self._enter(index)

    def _enter(self, index):
        spec = self.specs[index]
        process_id = spec.process or self.config.catalogue.sectors[spec.sector].default_process
        firm = Firm(self, index, spec.id, spec.name, spec.sector, process_id)
        self.firm_list[index] = firm
        self.platform_draw[index] = self.rng.random()
        self.active[index] = True
        self._install_process(index, process_id)
        self.cash[index] = self.params.firm_defaults.initial_cash_months * self.capacity[index] * max(self.margin[index], 0.0)
        known = [o for o in self.social.neighbors(index) if self.firm_list[o] is not None]
        firm.meet(known)
        for waste in spec.recovery:
            self._grant_recovery(index, waste)

    def _install_process(self, index, process_id):
        """Give firm ``index`` the recipe of ``process_id``.

        Streams of materials the new recipe still has are kept (with the new
        coefficient), so their contracts go on; streams of materials it no longer
        has end, and so do their contracts.
        """
        process = self.config.catalogue.processes[process_id]
        self.firm_list[index].process = process_id
        self.margin[index] = process.margin_eur
        self.input_co2[index] = sum(c * self.materials.co2_virgin[self.materials.index[m]] for m, c in process.inputs.items())
        self.input_price_ref[index] = sum(c * self.materials.catalogue_price[self.materials.index[m]] for m, c in process.inputs.items())
        expected = self.capacity[index] * self.params.demand.mean_utilisation
        kept_any = False
        for table, recipe, reason in ((self.supply, process.outputs, "supply stopped"), (self.demand, process.inputs, "demand stopped")):
            kept = {}
            for stream in table.of_firm(index).tolist():
                material = self.materials.ids[table.material[stream]]
                if material in recipe:
                    table.coef[stream] = recipe[material]
                    kept[material] = stream
                else:
                    self._end_stream(table, stream, reason)
            kept_any = kept_any or bool(kept)
            new = table.add(index, {m: c for m, c in recipe.items() if m not in kept}, self.materials.index, expected)
            if table is self.supply:
                storable = self.materials.storable[table.material[new]]
                self.logistics.storage.grow(np.where(storable, self.params.firm_defaults.storage_months * table.expected[new], 0.0))
        if kept_any:
            self._rescale_streams(index)

    def _end_stream(self, table, stream, reason):
        book = self.contracts
        running = book.running()
        column = book.supply if table is self.supply else book.demand
        self._close(running[column[running] == stream], reason)
        table.kill([stream])
        if table is self.supply:
            self.forced_disposal[stream] = self.forced_disposal.get(stream, 0.0) + self.logistics.storage.empty([stream])[0]
        side = "supply" if table is self.supply else "demand"
        keep = [j for j, st in enumerate(self.recovery[side]) if st != stream]
        for key in self.recovery:
            self.recovery[key] = [self.recovery[key][j] for j in keep]
        self._recovery_cache = None

    def _grant_recovery(self, index, waste):
        """Install, without capex, the recovery technology a scenario says the firm owns."""
        w, subs = self.materials.index[waste], self.subs
        # The scenario check guarantees such a substitution exists (scenario._reusable_in).
        k = next(j for j in subs.by_waste[w] if self.demand.lookup[index, subs.input[j]] >= 0)
        s, d = int(self.supply.lookup[index, w]), int(self.demand.lookup[index, subs.input[k]])
        room = subs.max_share[k] * self.demand.expected[d] / subs.ratio[k]
        quantity = self.params.contract.quantity_share * min(self.supply.expected[s], room)
        self.install_recovery(index, s, d, k, quantity, capex=0.0)

    def _leave(self, index, reason="partner left"):
        if not self.active[index]:
            return
        # Ending each of its streams ends every contract the firm is party to.
        for table in (self.supply, self.demand):
            for stream in table.of_firm(index).tolist():
                self._end_stream(table, stream, reason)
        self.active[index] = False
        self.left[index] = self.period
        self.loans.write_off(index)
        self.firm_list[index].remove()

    def _apply_events(self, period):
        self._enter_due(period)
        for index in ((self.exit == period) & self.active).nonzero()[0].tolist():
            self._leave(index)
        for event in self.events.get(period, ()):
            index = self.firm_ids.index(event.firm) if event.firm else None
            if event.leave and self.active[index]:
                self._leave(index)
            for _, kind, name, field, value in event.settings():
                self._set_value(kind, name, field, value)
            if event.switch_process and self.active[index]:
                self._install_process(index, event.switch_process)

    def _set_value(self, kind, name, field, value):
        """A scheduled new price (``materials.<id>.<field>``) or firm attribute (``firms.<id>.<field>``)."""
        if kind == "materials":
            self.materials.set_value(name, field, value)
            return
        index = self.firm_ids.index(name)
        if field == "capacity":
            self.capacity[index] = value
            self._rescale_streams(index)
        else:
            self.firm_attrs[field][index] = value

    def _rescale_streams(self, index):
        """A firm that changes size or recipe expects its streams' new flows from the next month on."""
        expected = self.capacity[index] * self.params.demand.mean_utilisation
        for table in (self.supply, self.demand):
            streams = table.of_firm(index)
            table.expected[streams] = expected * table.coef[streams]

    # -- contracts ---------------------------------------------------------------
    def _pair_context(self, s, d, k):
        """Trust both ways and existing pipelines for candidate pairs."""
        supplier, receiver = self.supply.firm[s], self.demand.firm[d]
        pipes = self.pipelines.get(self._pipe_key(supplier, receiver, self.subs.waste[k])) > 0
        return *self._trust_both_ways(supplier, receiver), pipes

    def trust_between(self, truster, trusted):
        """Trust of firms ``truster`` in firms ``trusted`` (index arrays)."""
        return self.trust.get(self._pair_key(truster, trusted))

    def _trust_both_ways(self, a, b):
        """Trust of firms ``a`` in firms ``b`` and of ``b`` in ``a`` (index arrays), in one look-up."""
        both = self.trust.get(np.concatenate([self._pair_key(a, b), self._pair_key(b, a)]))
        return both[:len(a)], both[len(a):]

    def _pipe_key(self, supplier, receiver, waste):
        return self._pair_key(supplier, receiver) * len(self.materials) + waste

    def price_candidates(self, s, d, k, renewal=False, dist=None):
        return price_pairs(self, s, d, k, *self._pair_context(s, d, k), renewal=renewal, dist=dist)

    def _resolve(self, rank, s, d, k, terms, details, links=None, renewals=None):
        """Sign pairs ``rank`` (indices into the arrays) in that order, where both sides still accept.

        Each signing commits its flow; a later pair whose stream has been used is
        re-sized to the flow left free and signed only if it still clears both
        hurdles. Done in rounds with the same result as one pair at a time: a
        round takes every pair that comes first on both its streams among the
        pairs left, and such pairs share no stream. A later round is re-sized to
        the flow left free when any of its pairs has less free than it was priced
        for (for the others the re-sizing changes nothing). Returns the indices signed.
        """
        if len(rank) == 0:
            return np.zeros(0, dtype=np.int64)
        min_q = self.params.search.min_quantity
        converts = details.conversion
        pending = np.asarray(rank, dtype=np.int64)
        signed, deals = [], []
        while len(pending):
            ready = _first_on_both(s[pending], d[pending])
            batch, pending = pending[ready], pending[~ready]
            deal = terms.select(batch)
            if signed:
                free = free_quantity(self, s[batch], d[batch], k[batch], converts[batch])
                if (free != deal.quantity).any():  # re-sizing to the same quantity would leave the deal as it is
                    deal = deal.with_quantity(free)
            take = (deal.acceptable & (deal.quantity >= min_q)).nonzero()[0]
            batch, deal = batch[take], deal.select(take)
            # A round's pairs share no stream, so plain fancy-index updates add each quantity once.
            self.supply.committed[s[batch]] += deal.quantity
            self.demand.committed[d[batch]] += deal.quantity * converts[batch]
            signed.append(batch)
            deals.append(deal)
        if len(signed) == 1:  # one round keeps the order of ``rank``
            chosen, deal = signed[0], deals[0]
        else:
            position = np.empty(len(s), dtype=np.int64)
            position[rank] = np.arange(len(rank))
            chosen = np.concatenate(signed)
            order = position[chosen].argsort(kind="stable")  # sign in the order of ``rank``
            chosen = chosen[order]
            deal = terms.like(np.concatenate([part.values for part in deals], axis=1)[:, order])
        if len(chosen):
            self._sign(s[chosen], d[chosen], k[chosen], deal, details.select(chosen),
                       links=None if links is None else links[chosen], renewals=None if renewals is None else renewals[chosen])
        return chosen

    def _sign(self, s, d, k, deal, details, links=None, renewals=None):
        """Record contracts whose flows ``_resolve`` has committed; start them or their pipelines.

        Trust at signing is trust as priced: nothing changes it in between."""
        book, pol = self.contracts, self.policy_now
        n = len(s)
        supplier, receiver = self.supply.firm[s], self.demand.firm[d]
        capex = details.capex
        trust_in_supplier, trust_in_receiver = details.trust_r, details.trust_s
        supplier_gain, receiver_gain = deal.supplier_gain, deal.receiver_gain
        priced = {"surplus_eur": deal.surplus, "supplier_gain_eur": supplier_gain, "receiver_gain_eur": receiver_gain,
                  "supplier_hurdle_eur": deal.supplier_hurdle, "receiver_hurdle_eur": deal.receiver_hurdle,
                  "supplier_avoided_eur": deal.supplier_avoided, "receiver_avoided_eur": deal.receiver_avoided,
                  "capex_eur": capex, "signing_trust_in_supplier": trust_in_supplier,
                  "signing_trust_in_receiver": trust_in_receiver}
        ids = book.add(
            n, link=links, supply=s, demand=d, supplier=supplier, receiver=receiver, waste=self.supply.material[s],
            input=self.demand.material[d], substitution=k, ratio=details.conversion, mode=details.mode, distance_km=details.dist,
            quantity=deal.quantity, price=deal.price, start=self.period, term=details.term,
            penalty_eur=pol.breach_penalty_months * np.maximum(supplier_gain, receiver_gain),
            status=PENDING, trust_in_supplier=trust_in_supplier, trust_in_receiver=trust_in_receiver,
            renewal_of=-1 if renewals is None else renewals,
            at_signing=np.array([priced[name] for name in AT_SIGNING]),
        )
        if links is None:
            for a, b in zip(supplier.tolist(), receiver.tolist()):
                self.firm_list[a].meet([b])
            self.links.append(n)
            setup = self.params.contract.setup_cost_eur
            np.subtract.at(self.cash_flow, supplier, setup / 2)
            np.subtract.at(self.cash_flow, receiver, setup / 2)
            self.spend["setup"] += setup * n
        piped = capex > 0
        if piped.any():
            for c in piped.nonzero()[0].tolist():
                self._build_pipeline(int(ids[c]), int(receiver[c]), int(supplier[c]), int(self.supply.material[s[c]]), float(capex[c]))
            ids = ids[~piped]
        self._start(ids, self.logistics.env.now)

    def _build_pipeline(self, cid, receiver, supplier, waste, capex):
        pol = self.policy_now
        self.loans.lend(receiver, capex * (1 - pol.capex_subsidy_share), int(self.contracts.term[cid]))
        self.ledger.capex_subsidies += capex * pol.capex_subsidy_share
        self.pipelines.set(self._pipe_key(supplier, receiver, waste), 1.0)
        lead = self.params.logistics.pipeline_lead_months * DAYS_PER_MONTH
        self.logistics.build_pipeline(cid, lead, self._open)

    def _open(self, cid, day):
        """A pipeline is built: contract ``cid`` starts delivering from ``day``, unless it ended meanwhile."""
        if self.contracts.status[cid] == PENDING:
            self._start(np.array([cid]), day)

    def _start(self, ids, day):
        """Pending contracts ``ids`` start delivering from ``day``."""
        book = self.contracts
        book.activate(ids, day)
        links = unique_ints(book.link[ids])
        first = links[self.links.start[links] < 0]
        self.links.start[first] = self.period
        self.recorder.born += len(first)

    def _close(self, ids, reason, renewed=False):
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        book = self.contracts
        # np.subtract.at, since several closing contracts may share a stream.
        np.subtract.at(self.supply.committed, book.supply[ids], book.quantity[ids])
        np.subtract.at(self.demand.committed, book.demand[ids], book.quantity[ids] * book.ratio[ids])
        supplier, receiver = book.supplier[ids], book.receiver[ids]
        self.trust.set(self._pair_key(receiver, supplier), book.trust_in_supplier[ids])
        self.trust.set(self._pair_key(supplier, receiver), book.trust_in_receiver[ids])
        if not renewed:
            self.recorder.ended += np.count_nonzero(book.status[ids] == ACTIVE)
        book.close(ids, self.period, reason)

    def _review_contracts(self):
        """Let sides break deals that turned bad; renegotiate contracts that expire."""
        book, t = self.contracts, self.period
        active = book.where(ACTIVE)
        if len(active) == 0:
            return
        self._check_breaches(active)
        active = book.where(ACTIVE)
        expiring = active[book.start[active] + book.term[active] <= t]
        if len(expiring):
            self._renegotiate(expiring)

    def _check_breaches(self, active):
        book = self.contracts
        waste = book.waste[active]
        gain_s, gain_r = side_gains(
            book.quantity[active], book.price[active], self.costs.disposal[waste],
            receiver_running_value(self, active), self.costs.subsidy[waste], self.params.contract.transaction_cost_eur_per_month,
        )
        sides = ((gain_s, book.loss_months_supplier, "breached by supplier", book.supplier, book.receiver, book.trust_in_supplier),
                 (gain_r, book.loss_months_receiver, "breached by receiver", book.receiver, book.supplier, book.trust_in_receiver))
        for gain, counter, reason, breaker, victim, trust_in_breaker in sides:
            losing = (counter[active] + 1) * (gain < 0)  # months in a row at a loss, 0 once it gains
            counter[active] = losing
            breaks = losing >= self.params.contract.review_months
            if not breaks.any():  # the usual month: the rest need not be looked at
                continue
            remaining = book.start[active] + book.term[active] - self.period
            breaks &= (-gain * remaining > book.penalty_eur[active]) & (book.status[active] == ACTIVE)
            for c in active[breaks].tolist():
                self.cash_flow[breaker[c]] -= book.penalty_eur[c]
                self.cash_flow[victim[c]] += book.penalty_eur[c]
                trust_in_breaker[c] = 0.0
                self._close([c], reason)

    def _renegotiate(self, expiring):
        """Price expiring contracts afresh (current prices, policy, flows, trust); renew or end them.

        A renewal is a new contract on the same link, so the link's age goes on.
        """
        book = self.contracts
        self._close(expiring, "not renewed", renewed=True)
        s, d, k = book.supply[expiring], book.demand[expiring], book.substitution[expiring]
        # The firms have not moved: the contracts' distances serve.
        terms, details = self.price_candidates(s, d, k, renewal=True, dist=book.distance_km[expiring])
        renewed = self._resolve(np.arange(len(expiring)), s, d, k, terms, details,
                                links=book.link[expiring], renewals=expiring)
        book.reason[expiring[renewed]] = REASON["renewed"]
        if len(renewed) == len(expiring):
            return
        lapsed = np.ones(len(expiring), dtype=bool)
        lapsed[renewed] = False
        lapsed = lapsed.nonzero()[0]
        # With flow left to trade but no surplus the deal has stopped paying; otherwise a side declined.
        unprofitable = (terms.surplus[lapsed] <= 0) & (terms.quantity[lapsed] >= self.params.search.min_quantity)
        book.reason[expiring[lapsed]] = np.where(unprofitable, REASON["no longer profitable"], REASON["not renewed"])
        self.recorder.ended += len(lapsed)

    # -- search and investment -----------------------------------------------------
    def _search(self):
        """One round of partner search by the firms that look this month.

        Searchers go fewest links first (Raimbault et al. 2020). All their
        candidate pairs are found and priced at once; each searcher then makes up
        to ``search.max_offers`` offers, drawn with weight ``space of cooperation x
        exp(-d / d0)``. A pair whose streams an earlier offer this round has
        already used is priced again before its offer. A searcher that signs
        nothing considers investing in recovery technology, and otherwise waits
        ``search.retry_months`` before searching again.
        """
        p = self.params.search
        open_s, open_d = self._open_streams()
        candidates = self._firms_with_unmatched_flows(open_s, open_d)
        candidates = candidates[self.next_search[candidates] <= self.period]
        searching = candidates[self.rng.random(len(candidates)) < p.rate_per_month]
        if len(searching) == 0:
            return
        links = self._links_per_firm()[searching]
        searching = searching[np.lexsort((self.rng.random(len(searching)), links))]
        rank = np.zeros(len(self.specs), dtype=np.int64)
        rank[searching] = np.arange(len(searching))
        self.cash_flow[searching] -= p.cost_eur
        self.spend["search"] += p.cost_eur * len(searching)
        self.recorder.searches += len(searching)

        # Nobody meets anybody until the candidates are seen, so one look-up of the searchers' acquaintances serves.
        known = AcquaintanceLists(self.firm_list, searching, rank)
        searcher, partner, s, d, k, dist = self.market.candidate_pairs(searching, open_s, open_d, known)
        seen = self._sees(searcher, partner, dist, known)
        if p.discoveries:
            seen |= self._discover(searcher, partner, dist, seen)
        searcher, s, d, k = searcher[seen], s[seen], d[seen], k[seen]
        terms, details = self.price_candidates(s, d, k, dist=dist[seen])
        # Only positive weights are drawn, so a refused pair's 0 (or -0.0, or nan) weight is never offered.
        weight = terms.space * np.exp(-details.dist / p.distance_decay_km) * terms.acceptable
        offers = grouped_sample(self.rng, rank[searcher], weight, p.max_offers)
        done = self._resolve(offers, s, d, k, terms, details)
        signed = np.bincount(searcher[done], minlength=len(self.specs))
        idle = searching[signed[searching] == 0]
        invested = self._invest_in_recovery(idle)
        self.next_search[idle[~contains(idle, invested)]] = self.period + p.retry_months

    def _sees(self, searcher, partner, dist, known):
        """Which partners each searcher knows of: neighbours, acquaintances (``known``), platform peers."""
        seen = dist <= self.params.search.neighbourhood_km
        if self.policy_now.facilitator_participation > 0:
            platform = self.platform_members()
            seen |= platform[searcher] & platform[partner]
        seen |= contains(self._pair_key(searcher, partner), self._pair_key(*known.known_pairs()))
        return seen

    def _pair_key(self, a, b):
        return a * len(self.specs) + b

    def _discover(self, searcher, partner, dist, seen):
        """Each searcher learns of up to ``search.discoveries`` unseen partners, near ones likelier."""
        unseen = (~seen).nonzero()[0]
        if len(unseen) == 0:
            return np.zeros(len(seen), dtype=bool)
        first = first_occurrences(self._pair_key(searcher[unseen], partner[unseen]))
        first = unseen[first]
        weight = np.exp(-dist[first] / self.params.search.distance_decay_km)
        picked = first[grouped_sample(self.rng, searcher[first], weight, self.params.search.discoveries)]
        for a, b in zip(searcher[picked].tolist(), partner[picked].tolist()):
            self.firm_list[a].meet([b])
        return contains(self._pair_key(searcher, partner), self._pair_key(searcher[picked], partner[picked]))

    def _open_streams(self):
        """Supply streams with at least ``search.min_quantity`` free, demand streams with any free flow (masks).

        A stream with nothing free is never open, even at ``min_quantity = 0``; ended streams have nothing free.
        """
        share = self.params.contract.quantity_share
        free_s = self.supply.free(share)
        return (free_s >= self.params.search.min_quantity) & (free_s > 0), self.demand.free(share) > 0

    def _firms_with_unmatched_flows(self, open_s, open_d):
        free_s = open_s & self._is_waste_used[self.supply.material]
        free_d = open_d & self._is_input_replaced[self.demand.material]
        flagged = np.zeros(len(self.specs), dtype=bool)
        flagged[self.supply.firm[free_s]] = True
        flagged[self.demand.firm[free_d]] = True
        return (flagged & self.active).nonzero()[0]

    def _links_per_firm(self):
        book = self.contracts
        running = book.running()
        n = len(self.specs)
        return np.bincount(book.supplier[running], minlength=n) + np.bincount(book.receiver[running], minlength=n)

    def platform_members(self):
        """Active firms on the facilitator's platform this month."""
        return (self.platform_draw < self.policy_now.facilitator_participation) & self.active

    def _invest_in_recovery(self, firms):
        """Firms that found no partner consider recovery technology for an own waste and own input.

        A firm invests in its best option when the monthly saving over
        ``contract.duration_months`` repays the capex (after subsidy) with its
        hurdle rate on top: its monthly gain covers the loan's payment
        (:mod:`simulation.model.finance`) times 1 + hurdle rate. Returns the firms that invested.
        """
        if len(firms) == 0:
            return firms
        subs, pol = self.subs, self.policy_now
        firm, k = np.nonzero((self.supply.lookup[firms][:, subs.waste] >= 0) & (self.demand.lookup[firms][:, subs.input] >= 0))
        if len(firm) == 0:
            return firm
        firm = firms[firm]
        s, d = self.supply.lookup[firm, subs.waste[k]], self.demand.lookup[firm, subs.input[k]]
        quantity = free_quantity(self, s, d, k, subs.ratio[k])
        gain = quantity * self._recovery_unit_gain(k)
        capex = subs.capex[k] * (1 - pol.capex_subsidy_share)
        payment = monthly_payment(capex, self.loans.rate_per_year, self.params.contract.duration_months)
        worth = (quantity >= self.params.search.min_quantity) & (gain >= payment * (1 + self.firm_attrs["hurdle_rate"][firm]))
        installed = self._recovery_arrays()
        worth &= ~contains(stream_pair_key(s, d), stream_pair_key(installed["supply"], installed["demand"]))
        best = grouped_best(firm[worth], gain[worth])
        chosen = np.flatnonzero(worth)[best]
        for j in chosen.tolist():
            self.install_recovery(int(firm[j]), int(s[j]), int(d[j]), int(k[j]), float(quantity[j]), float(capex[j]))
        return firm[chosen]

    def _recovery_unit_gain(self, k):
        """EUR a month per unit of waste a firm saves by reusing it itself under substitution ``k``."""
        subs = self.subs
        return (self.costs.disposal[subs.waste[k]] + subs.ratio[k] * self.costs.virgin[subs.input[k]]
                - treatment_unit_cost(self, k) + self.costs.subsidy[subs.waste[k]])

    def _recovery_arrays(self):
        """The installed recovery technologies as arrays (streams, substitution, its ratio and share); read only."""
        if self._recovery_cache is None:
            k = np.array(self.recovery["substitution"], dtype=np.int64)
            self._recovery_cache = {"supply": np.array(self.recovery["supply"], dtype=np.int64),
                                    "demand": np.array(self.recovery["demand"], dtype=np.int64),
                                    "substitution": k, "ratio": self.subs.ratio[k], "max_share": self.subs.max_share[k],
                                    "quantity": np.array(self.recovery["quantity"], dtype=float)}
        return self._recovery_cache

    def install_recovery(self, index, s, d, k, quantity, capex):
        self.recovery["supply"].append(s)
        self.recovery["demand"].append(d)
        self.recovery["substitution"].append(k)
        self.recovery["quantity"].append(quantity)
        self._recovery_cache = None
        self.supply.committed[s] += quantity
        self.demand.committed[d] += quantity * self.subs.ratio[k]
        if capex > 0:
            self.loans.lend(index, capex, self.params.contract.duration_months)
            self.ledger.capex_subsidies += self.subs.capex[k] * self.policy_now.capex_subsidy_share
        self.recorder.investments += 1

    # -- the month -----------------------------------------------------------------
    def step(self):
        t = self.period
        self.policy_now = self.policy_timeline.at(t)
        if t > 0:
            self._reset_period_books()
        self.recorder.start_period()
        self._apply_events(t)
        m = self.params.market
        self.materials.turbulence(m.price_volatility, m.price_persistence, self.rng)
        self.costs = self.materials.unit_costs(self.policy_now)
        self._review_contracts()
        self._search()
        flows, running, recovery = self._physical_month()
        self._settle(flows, running, recovery)
        self._update_trust(flows, running)
        self._insolvency()
        self.recorder.record(flows, running)
        if self.datacollector is not None:
            self.datacollector.collect(self)
        self.period += 1
        if self.period >= self.n_periods:
            self.running = False

    def _physical_month(self):
        o = self.params.outages
        self.logistics.start_outages(self.active, o.rate_per_month, o.mean_repair_days, self.rng)
        period_start = self.logistics.period_start
        uptime = self.logistics.play_period()
        self._advance_utilisation()
        production = self.capacity * self.utilisation * uptime * self.active  # all >= 0: a firm gone makes 0.0
        self.production = production
        book = self.contracts
        running = book.where(ACTIVE)
        active_from = np.maximum(book.active_from_day[running], period_start)
        share_of_month = unit_interval((period_start + DAYS_PER_MONTH - active_from) / DAYS_PER_MONTH)
        contracts = {
            "supply": book.supply[running], "demand": book.demand[running],
            "promised": book.quantity[running] * share_of_month, "conversion": book.ratio[running],
        }
        truck = book.mode[running] == TRUCK
        release = active_from - period_start  # days into the month a contract started delivering

        def ship_share(planned):
            share = np.ones(len(planned))
            share[truck] = self.logistics.truck_delivery_share(planned[truck], book.distance_km[running][truck], release[truck])
            return share

        recovery = self._recovery_arrays()
        generated = self.supply.quantities(production)
        need = self.demand.quantities(production)
        storage = self.logistics.storage
        flows = month_flows(generated, need, storage.level.copy(), storage.capacity, recovery, contracts, ship_share)
        storage.level = flows.stock_after
        # Stock emptied by a firm leaving or switching is disposed of this month.
        forced = np.zeros(len(generated))
        if self.forced_disposal:
            forced[list(self.forced_disposal)] = list(self.forced_disposal.values())
        flows.disposed = flows.disposed + forced
        flows.stock_before = flows.stock_before + forced
        self.supply.learn(generated)
        self.demand.learn(need)
        return flows, running, recovery

    def _advance_utilisation(self):
        d = self.params.demand
        shock = self.rng.normal(0.0, d.volatility, len(self.utilisation))
        self.utilisation = unit_interval(d.mean_utilisation + d.persistence * (self.utilisation - d.mean_utilisation) + shock)

    def _settle(self, flows, running, recovery):
        """Book the month's money: firms' cash, the government's ledger, firms' savings."""
        n, costs, pol, book = len(self.specs), self.costs, self.policy_now, self.contracts
        s_mat, d_mat = self.supply.material, self.demand.material
        s_firm, d_firm = self.supply.firm, self.demand.firm

        def per_firm(firms, values):
            return np.bincount(firms, weights=values, minlength=n)

        disposal_unit, virgin_unit = costs.disposal[s_mat], costs.virgin[d_mat]
        disposal_cost = flows.disposed * disposal_unit
        virgin_cost = flows.virgin * virgin_unit
        c_supplier, c_receiver = book.supplier[running], book.receiver[running]
        shipped_c = flows.contract_shipped
        payment = shipped_c * book.price[running]
        transport = shipped_c * contract_transport_unit(self, running)
        k_c = book.substitution[running]
        treatment_c = shipped_c * treatment_unit_cost(self, k_c)
        transaction_half = np.empty(len(running))
        transaction_half.fill(self.params.contract.transaction_cost_eur_per_month / 2)
        subsidy_c = shipped_c * costs.subsidy[book.waste[running]]
        gain_r, treatment_r, subsidy_r, treatment_co2_r = self._recovery_accounts(flows, recovery, per_firm)
        repayments = self.loans.collect(n)
        self.spend["capex"] += float(repayments.sum())

        self.cash_flow += (
            self.production * self.unit_margin()
            - per_firm(s_firm, disposal_cost) - per_firm(d_firm, virgin_cost)
            + per_firm(c_supplier, payment + subsidy_c - transaction_half)
            - per_firm(c_receiver, payment + transport + treatment_c + transaction_half)
            + gain_r - repayments
        )
        self.cash += self.cash_flow

        # Totals of the month (t CO2)
        by_truck = book.mode[running] == TRUCK  # shipments and distances are >= 0, so a product with False is 0.0
        truck_co2 = (shipped_c * book.distance_km[running] * self.params.logistics.truck_co2_t_per_unit_km * by_truck).sum()
        treatment_co2 = (shipped_c * self.subs.treatment_co2[k_c]).sum()
        subsidy_c_total = subsidy_c.sum()
        ledger = self.ledger
        ledger.waste_tax += total(flows.disposed, costs.waste_tax[s_mat])
        ledger.virgin_tax += total(flows.virgin, costs.virgin_tax[d_mat])
        ledger.carbon_revenue += (total(flows.disposed, costs.carbon_disposal[s_mat]) + total(flows.virgin, costs.carbon_virgin[d_mat])
                                       + pol.carbon_price_eur_per_t * (truck_co2 + treatment_co2 + treatment_co2_r))
        ledger.subsidies += float(subsidy_c_total + subsidy_r)

        # Waste put into storage has no fate yet, so it counts in neither case.
        not_stored = flows.generated - (flows.stock_after - flows.stock_before)
        counterfactual = total(not_stored, disposal_unit) + total(flows.need, virgin_unit)
        actual = (disposal_cost.sum() + virgin_cost.sum() + transport.sum() + treatment_c.sum() + treatment_r
                  + 2 * transaction_half.sum() + sum(self.spend.values()) - subsidy_c_total - subsidy_r)
        self.recorder.savings = float(counterfactual - actual)
        # What the treasury would have collected had every waste been disposed of and every input bought virgin.
        revenue_without = (total(not_stored, costs.waste_tax[s_mat] + costs.carbon_disposal[s_mat])
                           + total(flows.need, costs.virgin_tax[d_mat] + costs.carbon_virgin[d_mat]))
        self.recorder.fiscal_effect = float(-ledger.net_cost - revenue_without)
        avoided = (total(flows.shipped + flows.reused, self.materials.co2_disposal[s_mat])
                   + total(flows.received_in + flows.reused_in, self.materials.co2_virgin[d_mat]))
        self.recorder.co2_avoided = float(avoided - truck_co2 - treatment_co2 - treatment_co2_r)
        book.promised_total[running] += flows.contract_promised
        book.delivered_total[running] += shipped_c

    def unit_margin(self):
        """EUR per unit of product, by firm, before material, disposal and carbon costs, this month.

        Product prices pass on ``market.price_pass_through`` of the change in the
        recipe's virgin input prices since the catalogue's (which the process margin
        was estimated at), and ``market.carbon_pass_through`` of the carbon cost
        embodied in those inputs.
        """
        m, demand = self.params.market, self.demand
        recipe_price = np.bincount(demand.firm, weights=demand.coef * demand.alive * self.costs.price[demand.material],
                                   minlength=len(self.margin))
        return (self.margin + m.price_pass_through * (recipe_price - self.input_price_ref)
                + m.carbon_pass_through * self.policy_now.carbon_price_eur_per_t * self.input_co2)

    def _recovery_accounts(self, flows, recovery, per_firm):
        """The month of the recovery installations: net gain per firm (subsidy less treatment, EUR, via
        ``per_firm``), total treatment cost and subsidy (EUR) and treatment CO2 (t); zeros without any."""
        if len(recovery["supply"]) == 0:
            return 0.0, 0.0, 0.0, 0.0
        reused, k = flows.recovery_reused, recovery["substitution"]
        treatment = reused * treatment_unit_cost(self, k)
        supply = recovery["supply"]
        subsidy = reused * self.costs.subsidy[self.supply.material[supply]]
        return (per_firm(self.supply.firm[supply], subsidy - treatment), treatment.sum(), subsidy.sum(),
                (reused * self.subs.treatment_co2[k]).sum())

    def _update_trust(self, flows, running):
        """Each side's trust moves toward the share of the promise the other kept this month."""
        book, rate = self.contracts, self.params.trust.learning_rate
        # The receiver judges what the supplier had to offer against its promise;
        # the supplier judges how much of its offer the receiver took.
        offered = flows.contract_offered
        judgements = ((book.trust_in_supplier, offered, flows.contract_promised),
                      (book.trust_in_receiver, np.minimum(flows.contract_accepted, offered), offered))
        for trust, part, whole in judgements:
            judged = (whole > 0).nonzero()[0]  # trust stays where nothing was at stake
            at = running[judged]
            trust[at] += rate * (unit_interval(part[judged] / whole[judged]) - trust[at])

    def _insolvency(self):
        self.loss_months = (self.loss_months + 1) * (self.active & (self.cash < 0))
        for index in (self.loss_months >= self.params.firm_defaults.exit_after_months).nonzero()[0].tolist():
            self.recorder.exits += 1
            self._leave(index, "partner left")

    # -- running -------------------------------------------------------------------
    def run(self, progress=None):
        """Run to the scenario's end; ``progress`` is called with the number of periods done."""
        while self.running:
            self.step()
            if progress is not None:
                progress(1)
        self.finish()
        return self

    def finish(self):
        """Mark contracts still running at the end of the run (for the log)."""
        book = self.contracts
        running = book.running()
        book.reason[running] = REASON["run ended"]  # the record stops, not the link


def _first_on_both(s, d):
    """Which entries come first (in order) among those with the same supply stream and the same demand stream."""
    n = len(s)
    if n < 2:
        return np.ones(n, dtype=bool)
    first = np.zeros(2 * n, dtype=bool)
    # One pass over both: demand streams shifted past every supply stream.
    first[first_occurrences(np.concatenate([s, d + (1 << 32)]))] = True
    return first[:n] & first[n:]


def total(quantities, unit_values):
    """Sum of products, without BLAS: its kernels differ between machines, and results must not."""
    return float(np.add.reduce(np.multiply(quantities, unit_values)))  # as .sum() of a 1-D array, without its wrapper


def _reporter(name):
    return lambda model: model.recorder.current[name]
