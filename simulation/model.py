"""The industrial park model: firms, contracts, logistics and policy, month by month.

One call of :meth:`SymbiosisModel.step` is one decision period (a month):

1. exogenous events due this month (entries, exits, process switches, prices);
2. policy and market prices in force;
3. contract review: expiries are renegotiated, deals turned bad may be broken;
4. partner search by firms with unmatched flows, fewest links first; firms that
   found nothing consider investing in recovery technology;
5. the physical month in simpy (outages, pipeline construction), then the
   month's flows (:mod:`simulation.flows`) and the fleet's deliveries;
6. accounts (cash, government, savings, CO2), trust, insolvency;
7. measures through Mesa's ``DataCollector``.
"""

import mesa
import networkx as nx
import numpy as np

from simulation.bargaining import side_gains
from simulation.contract import ACTIVE, PENDING, REASON, TRUCK, ContractBook
from simulation.economy import MaterialTable, SubstitutionTable
from simulation.errors import ScenarioError
from simulation.firm import Firm
from simulation.flows import month_flows
from simulation.logistics import Logistics
from simulation.market import Market, contract_term, distances, grouped_sample, price_pairs, receiver_running_value, transport_unit_costs, treatment_unit_cost
from simulation.measures import MEASURES, PeriodRecorder
from simulation.policy import GovernmentLedger, PolicyTimeline
from simulation.streams import StreamTable
from simulation.synthetic import generate_firms
from simulation.timeline import DAYS_PER_MONTH


class SymbiosisModel(mesa.Model):
    """Agent-based model of an industrial park practising industrial symbiosis.

    Args:
        scenario: a validated :class:`simulation.scenario.Scenario`.
        seed: overrides the scenario's seed; every random draw comes from
            ``self.rng`` (or, for the layout only, ``park.layout_seed``).
    """

    def __init__(self, scenario, seed=None, record_exchanges=True):
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
        self.policy_timeline = PolicyTimeline(scenario.policy)
        self.policy_now = self.policy_timeline.at(0)
        self.costs = self.materials.unit_costs(self.policy_now)
        self.contracts = ContractBook()
        self.supply, self.demand = StreamTable(), StreamTable()
        self.market = Market(self)
        self.pipelines = set()
        self.linked_pairs = set()  # (supply stream, demand stream) of running contracts
        self.link_start = []
        self.recovery = {"supply": [], "demand": [], "substitution": []}
        self._setup_firms()
        self._setup_events()
        p = self.params.logistics
        trucks = p.fleet_trucks or max(4, len(self.specs) // 4)
        self.logistics = Logistics(self, trucks, p.truck_payload_t, p.truck_speed_kmh, p.truck_handling_hours, p.truck_hours_per_day)
        self.logistics.add_firms(len(self.specs))
        self.recorder = PeriodRecorder(self, record_exchanges)
        self.datacollector = mesa.DataCollector(model_reporters={name: _reporter(name) for name in MEASURES})
        self._reset_period_books()
        self._enter_due(0)

    def _reset_period_books(self):
        self.ledger = GovernmentLedger()
        self.spend = {"search": 0.0, "capex": 0.0, "setup": 0.0}
        self.cash_flow[:] = 0.0
        self.forced_disposal = np.zeros(len(self.supply))

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
        for index in np.flatnonzero(self.entry == period).tolist():
            if self.firm_list[index] is None:
                self._enter(index)

    def _enter(self, index):
        spec = self.specs[index]
        process_id = spec.process or self.config.catalogue.sectors[spec.sector].default_process
        firm = Firm(self, index, spec.id, spec.name, spec.sector, process_id)
        self.firm_list[index] = firm
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
        expected = self.capacity[index] * self.params.demand.mean_utilisation
        for table, recipe, reason in ((self.supply, process.outputs, "supply stopped"), (self.demand, process.inputs, "demand stopped")):
            kept = {}
            for stream in table.of_firm(index).tolist():
                material = self.materials.ids[table.material[stream]]
                if material in recipe:
                    table.coef[stream] = recipe[material]
                    kept[material] = stream
                else:
                    self._end_stream(table, stream, reason)
            new = table.add(index, {m: c for m, c in recipe.items() if m not in kept}, self.materials.index, expected)
            if table is self.supply:
                storable = self.materials.storable[table.material[new]]
                self.logistics.storage.grow(np.where(storable, self.params.firm_defaults.storage_months * table.expected[new], 0.0))
                self.forced_disposal = np.concatenate([self.forced_disposal, np.zeros(len(new))])

    def _end_stream(self, table, stream, reason):
        book = self.contracts
        running = book.running()
        column = book.supply if table is self.supply else book.demand
        self._close(running[column[running] == stream], reason)
        table.kill([stream])
        if table is self.supply:
            self.forced_disposal[stream] += self.logistics.storage.empty([stream])[0]
        side = "supply" if table is self.supply else "demand"
        keep = [j for j, st in enumerate(self.recovery[side]) if st != stream]
        for key in self.recovery:
            self.recovery[key] = [self.recovery[key][j] for j in keep]

    def _grant_recovery(self, index, waste):
        options = self.recovery_options(index, waste=self.materials.index[waste], require_free=False)
        if not options:
            raise ScenarioError(self.config.path, f"firms.{self.firm_ids[index]}.recovery",
                                f"the firm's process has no input that {waste!r} can replace, so it cannot reuse it")
        s, d, k, quantity, _, _ = options[0]
        self.install_recovery(index, s, d, k, quantity, capex=0.0)

    def _leave(self, index, reason="partner left"):
        if not self.active[index]:
            return
        book = self.contracts
        running = book.running()
        self._close(running[(book.supplier[running] == index) | (book.receiver[running] == index)], reason)
        for table in (self.supply, self.demand):
            for stream in table.of_firm(index).tolist():
                self._end_stream(table, stream, reason)
        self.active[index] = False
        self.firm_list[index].remove()

    def _apply_events(self, period):
        self._enter_due(period)
        for index in np.flatnonzero((self.exit == period) & self.active).tolist():
            self._leave(index)
        for event in self.events.get(period, ()):
            index = self.firm_ids.index(event.firm) if event.firm else None
            if event.leave and self.active[index]:
                self._leave(index)
            if event.switch_process and self.active[index]:
                self._install_process(index, event.switch_process)
            for key, value in event.set.items():
                _, material, field = key.split(".")
                self.materials.set_value(material, field, value)

    # -- contracts ---------------------------------------------------------------
    def _pair_context(self, s, d, k):
        """Trust both ways and existing pipelines for candidate pairs."""
        supplier, receiver = self.supply.firm[s].tolist(), self.demand.firm[d].tolist()
        waste = self.subs.waste[k].tolist()
        trust_s = np.array([self.firm_list[a].trust_in(b) for a, b in zip(supplier, receiver)])
        trust_r = np.array([self.firm_list[b].trust_in(a) for a, b in zip(supplier, receiver)])
        pipes = np.array([(a, b, w) in self.pipelines for a, b, w in zip(supplier, receiver, waste)], dtype=bool)
        return trust_s, trust_r, pipes

    def price_candidates(self, s, d, k, renewal=False):
        return price_pairs(self, s, d, k, *self._pair_context(s, d, k), renewal=renewal)

    def _resolve(self, rank, s, d, k, terms, mode, dist, capex, links=None, renewals=None):
        """Sign pairs ``rank`` (indices into the arrays) in order, where both sides still accept.

        A pair whose stream an earlier pair in this batch has used is re-sized to
        the flow left free and accepted only if it still clears both hurdles.
        Returns the indices signed.
        """
        share, min_q = self.params.contract.quantity_share, self.params.search.min_quantity
        used_s, used_d, signed = set(), set(), []
        for j in rank.tolist():
            sj, dj, kj = int(s[j]), int(d[j]), int(k[j])
            deal = terms.select(j)
            if sj in used_s or dj in used_d:
                conversion = self.subs.ratio[kj] * (1.0 - self.materials.loss_per_km[self.supply.material[sj]]) ** dist[j]
                free_s = self.supply.free(share, np.array([sj]))[0]
                free_d = self.demand.free(share, np.array([dj]))[0] / conversion
                deal = deal.with_quantity(min(free_s, free_d))
            if not deal.acceptable[0] or deal.quantity[0] < min_q:
                continue
            link = None if links is None else int(links[j])
            renewal_of = -1 if renewals is None else int(renewals[j])
            self._sign(sj, dj, kj, deal, int(mode[j]), float(dist[j]), float(capex[j]), link=link, renewal_of=renewal_of)
            used_s.add(sj)
            used_d.add(dj)
            signed.append(j)
        return np.array(signed, dtype=np.int64)

    def _sign(self, s, d, k, terms, mode, dist, capex, link=None, renewal_of=-1):
        book, pol, t = self.contracts, self.policy_now, self.period
        supplier, receiver = int(self.supply.firm[s]), int(self.demand.firm[d])
        quantity = float(terms.quantity[0])
        kept = (1.0 - self.materials.loss_per_km[self.supply.material[s]]) ** dist
        term = int(contract_term(self, np.array([mode]))[0])
        penalty_months = pol.breach_penalty_months
        values = dict(
            supply=s, demand=d, supplier=supplier, receiver=receiver, waste=self.supply.material[s],
            input=self.demand.material[d], substitution=k, ratio=self.subs.ratio[k] * kept, mode=mode,
            distance_km=dist, quantity=quantity, price=float(terms.price[0]), start=t, term=term,
            penalty_eur=penalty_months * float(max(terms.supplier_gain[0], terms.receiver_gain[0])),
            status=PENDING, surplus_eur=float(terms.surplus[0]),
            supplier_gain_eur=float(terms.supplier_gain[0]), receiver_gain_eur=float(terms.receiver_gain[0]),
            supplier_hurdle_eur=float(terms.supplier_hurdle[0]), receiver_hurdle_eur=float(terms.receiver_hurdle[0]),
            capex_eur=capex, trust_in_supplier=self.firm_list[receiver].trust_in(supplier),
            trust_in_receiver=self.firm_list[supplier].trust_in(receiver), renewal_of=renewal_of,
        )
        if link is not None:
            values["link"] = link
        cid = book.add(**values)
        if link is None:
            self.link_start.append(-1)
            setup = self.params.contract.setup_cost_eur
            self.cash_flow[[supplier, receiver]] -= setup / 2
            self.spend["setup"] += setup
        self.supply.committed[s] += quantity
        self.demand.committed[d] += quantity * book.ratio[cid]
        self.linked_pairs.add((s, d))
        self.firm_list[supplier].meet([receiver])
        if capex > 0:
            self.cash_flow[receiver] -= capex * (1 - pol.capex_subsidy_share)
            self.ledger.capex_subsidies += capex * pol.capex_subsidy_share
            self.spend["capex"] += capex * (1 - pol.capex_subsidy_share)
            self.pipelines.add((supplier, receiver, int(self.supply.material[s])))
            lead = self.params.logistics.pipeline_lead_months * DAYS_PER_MONTH
            self.logistics.build_pipeline(cid, lead, self._open)
        else:
            self._open(cid, self.logistics.env.now)
        return cid

    def _open(self, cid, day):
        book = self.contracts
        if book.status[cid] != PENDING:
            return  # ended while its pipeline was being built
        book.status[cid] = ACTIVE
        book.active_from_day[cid] = day
        link = int(book.link[cid])
        if self.link_start[link] < 0:
            self.link_start[link] = self.period
            self.recorder.born += 1

    def _close(self, ids, reason, renewed=False):
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        book = self.contracts
        self.supply.committed[book.supply[ids]] -= book.quantity[ids]
        self.demand.committed[book.demand[ids]] -= book.quantity[ids] * book.ratio[ids]
        for c in ids.tolist():
            self.linked_pairs.discard((int(book.supply[c]), int(book.demand[c])))
            supplier, receiver = int(book.supplier[c]), int(book.receiver[c])
            if self.firm_list[receiver] is not None:
                self.firm_list[receiver].trust[supplier] = float(book.trust_in_supplier[c])
            if self.firm_list[supplier] is not None:
                self.firm_list[supplier].trust[receiver] = float(book.trust_in_receiver[c])
        was_active = book.status[ids] == ACTIVE
        book.close(ids, self.period, reason)
        if not renewed:
            self.recorder.ended += int(was_active.sum())

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
        book, pol = self.contracts, self.policy_now
        gain_s, gain_r = side_gains(
            book.quantity[active], book.price[active], self.costs.disposal[book.waste[active]],
            receiver_running_value(self, active), pol.subsidy_eur_per_unit, self.params.contract.transaction_cost_eur_per_month,
        )
        for gain, counter, reason in ((gain_s, book.loss_months_supplier, "breached by supplier"),
                                      (gain_r, book.loss_months_receiver, "breached by receiver")):
            counter[active] = np.where(gain < 0, counter[active] + 1, 0)
            remaining = book.start[active] + book.term[active] - self.period
            breaks = (counter[active] >= self.params.contract.review_months) & (-gain * remaining > book.penalty_eur[active])
            breaks &= book.status[active] == ACTIVE
            for c in active[breaks].tolist():
                breaker = book.supplier[c] if reason.endswith("supplier") else book.receiver[c]
                victim = book.receiver[c] if reason.endswith("supplier") else book.supplier[c]
                self.cash_flow[breaker] -= book.penalty_eur[c]
                self.cash_flow[victim] += book.penalty_eur[c]
                if reason.endswith("supplier"):
                    book.trust_in_supplier[c] = 0.0
                else:
                    book.trust_in_receiver[c] = 0.0
                self._close([c], reason)

    def _renegotiate(self, expiring):
        """Price expiring contracts afresh (current prices, policy, flows, trust); renew or end them.

        A renewal is a new contract on the same link, so the link's age goes on.
        """
        book = self.contracts
        self._close(expiring, "not renewed", renewed=True)
        s, d, k = book.supply[expiring], book.demand[expiring], book.substitution[expiring]
        terms, mode, dist, capex = self.price_candidates(s, d, k, renewal=True)
        renewed = self._resolve(np.arange(len(expiring)), s, d, k, terms, mode, dist, capex,
                                links=book.link[expiring], renewals=expiring)
        lapsed = np.setdiff1d(np.arange(len(expiring)), renewed)
        book.reason[expiring[renewed]] = REASON["renewed"]
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
        candidates = self._firms_with_unmatched_flows()
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

        searcher, s, d, k = self.market.candidate_pairs(searching)
        partner = np.where(self.supply.firm[s] == searcher, self.demand.firm[d], self.supply.firm[s])
        dist = distances(self, searcher, partner)
        seen = self._sees(searcher, partner, dist)
        if p.discoveries:
            seen |= self._discover(searcher, partner, dist, seen)
        searcher, s, d, k = searcher[seen], s[seen], d[seen], k[seen]
        terms, mode, dist, capex = self.price_candidates(s, d, k)
        weight = np.where(terms.acceptable, terms.space * np.exp(-dist / p.distance_decay_km), 0.0)
        offers = grouped_sample(self.rng, rank[searcher], weight, p.max_offers)
        done = self._resolve(offers, s, d, k, terms, mode, dist, capex)
        signed = np.bincount(searcher[done], minlength=len(self.specs))
        for index in searching[signed[searching] == 0].tolist():
            if not self.firm_list[index].consider_investment():
                self.next_search[index] = self.period + p.retry_months

    def _sees(self, searcher, partner, dist):
        """Which partners each searcher knows of: neighbours, acquaintances, platform peers."""
        seen = dist <= self.params.search.neighbourhood_km
        platform = self.platform_members()
        seen |= platform[searcher] & platform[partner]
        firms = self.firm_list
        seen |= np.fromiter((b in firms[a].acquaintances for a, b in zip(searcher.tolist(), partner.tolist())), bool, len(searcher))
        return seen

    def _discover(self, searcher, partner, dist, seen):
        """Each searcher learns of up to ``search.discoveries`` unseen partners, near ones likelier."""
        unseen = np.flatnonzero(~seen)
        if len(unseen) == 0:
            return np.zeros(len(seen), dtype=bool)
        pair = searcher[unseen] * len(self.specs) + partner[unseen]
        _, first = np.unique(pair, return_index=True)
        first = unseen[first]
        weight = np.exp(-dist[first] / self.params.search.distance_decay_km)
        picked = first[grouped_sample(self.rng, searcher[first], weight, self.params.search.discoveries)]
        for a, b in zip(searcher[picked].tolist(), partner[picked].tolist()):
            self.firm_list[a].meet([b])
        found = set(zip(searcher[picked].tolist(), partner[picked].tolist()))
        return np.fromiter(((a, b) in found for a, b in zip(searcher.tolist(), partner.tolist())), bool, len(searcher))

    def _firms_with_unmatched_flows(self):
        share, min_q = self.params.contract.quantity_share, self.params.search.min_quantity
        matchable_waste = np.isin(self.supply.material, self.subs.waste)
        matchable_input = np.isin(self.demand.material, self.subs.input)
        free_s = (self.supply.free(share) >= min_q) & matchable_waste
        free_d = (self.demand.free(share) > 0) & matchable_input
        flagged = np.zeros(len(self.specs), dtype=bool)
        flagged[self.supply.firm[free_s]] = True
        flagged[self.demand.firm[free_d]] = True
        return np.flatnonzero(flagged & self.active)

    def _links_per_firm(self):
        book = self.contracts
        running = book.running()
        n = len(self.specs)
        return np.bincount(book.supplier[running], minlength=n) + np.bincount(book.receiver[running], minlength=n)

    def platform_members(self):
        draws = np.array([f.platform_draw if f is not None else 2.0 for f in self.firm_list])
        return (draws < self.policy_now.facilitator_participation) & self.active

    def recovery_options(self, index, waste=None, require_free=True):
        """Ways ``index`` could reuse its own waste: (s, d, k, quantity, EUR/month gain, capex)."""
        share, min_q, pol = self.params.contract.quantity_share, self.params.search.min_quantity, self.policy_now
        installed = set(zip(self.recovery["supply"], self.recovery["demand"]))
        options = []
        for s in self.supply.of_firm(index).tolist():
            w = int(self.supply.material[s])
            free_s = float(self.supply.free(share, np.array([s]))[0])
            if (waste is not None and w != waste) or (require_free and free_s < min_q):
                continue
            for k in self.subs.by_waste.get(w, ()):
                for d in self.demand.of_firm(index).tolist():
                    if self.demand.material[d] != self.subs.input[k] or (s, d) in installed:
                        continue
                    ratio = self.subs.ratio[k]
                    if require_free:
                        quantity = min(free_s, float(self.demand.free(share, np.array([d]))[0]) / ratio)
                    else:
                        quantity = min(self.supply.expected[s], self.demand.expected[d] / ratio) * share
                    unit = self.costs.disposal[w] + ratio * self.costs.virgin[self.subs.input[k]] - treatment_unit_cost(self, k) + pol.subsidy_eur_per_unit
                    capex = self.subs.capex[k] * (1 - pol.capex_subsidy_share)
                    if quantity > 0:
                        options.append((s, d, k, quantity, quantity * unit, capex))
        return sorted(options, key=lambda o: -o[4])

    def install_recovery(self, index, s, d, k, quantity, capex):
        self.recovery["supply"].append(s)
        self.recovery["demand"].append(d)
        self.recovery["substitution"].append(k)
        self.supply.committed[s] += quantity
        self.demand.committed[d] += quantity * self.subs.ratio[k]
        if capex > 0:
            subsidy = self.subs.capex[k] * self.policy_now.capex_subsidy_share
            self.cash_flow[index] -= capex
            self.spend["capex"] += capex
            self.ledger.capex_subsidies += subsidy
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
        flows, running = self._physical_month()
        self._settle(flows, running)
        self._update_trust(flows, running)
        self._insolvency()
        self.recorder.record(flows, running)
        self.datacollector.collect(self)
        self.period += 1
        if self.period >= self.n_periods:
            self.running = False

    def _physical_month(self):
        o = self.params.outages
        self.logistics.start_outages(self.active, o.rate_per_month, o.mean_repair_days, self.rng)
        period_start = self.logistics.env.now
        uptime = self.logistics.play_period()
        self._advance_utilisation()
        production = np.where(self.active, self.capacity * self.utilisation * uptime, 0.0)
        self.production = production
        book = self.contracts
        running = book.where(ACTIVE)
        share_of_month = np.clip((period_start + DAYS_PER_MONTH - np.maximum(book.active_from_day[running], period_start)) / DAYS_PER_MONTH, 0.0, 1.0)
        contracts = {
            "supply": book.supply[running], "demand": book.demand[running],
            "promised": book.quantity[running] * share_of_month, "conversion": book.ratio[running],
        }
        truck = book.mode[running] == TRUCK
        release = np.maximum(book.active_from_day[running] - period_start, 0.0)

        def ship_share(planned):
            share = np.ones(len(planned))
            share[truck] = self.logistics.truck_delivery_share(planned[truck], book.distance_km[running][truck], release[truck])
            return share

        recovery = {
            "supply": np.array(self.recovery["supply"], dtype=np.int64),
            "demand": np.array(self.recovery["demand"], dtype=np.int64),
            "ratio": self.subs.ratio[np.array(self.recovery["substitution"], dtype=np.int64)],
        }
        generated = self.supply.quantities(production)
        need = self.demand.quantities(production)
        flows = month_flows(generated, need, self.logistics.storage.level, self.logistics.storage.capacity, recovery, contracts, ship_share)
        self.logistics.storage.level = flows.stock_after
        # Stock emptied by a firm leaving or switching is disposed of this month.
        flows.disposed = flows.disposed + self.forced_disposal
        flows.stock_before = flows.stock_before + self.forced_disposal
        self.supply.learn(generated)
        self.demand.learn(need)
        return flows, running

    def _advance_utilisation(self):
        d = self.params.demand
        shock = self.rng.normal(0.0, d.volatility, len(self.utilisation))
        self.utilisation = np.clip(d.mean_utilisation + d.persistence * (self.utilisation - d.mean_utilisation) + shock, 0.0, 1.0)

    def _settle(self, flows, running):
        """Book the month's money: firms' cash, the government's ledger, firms' savings."""
        n, costs, pol, book = len(self.specs), self.costs, self.policy_now, self.contracts
        s_mat, d_mat = self.supply.material, self.demand.material
        s_firm, d_firm = self.supply.firm, self.demand.firm

        def per_firm(firms, values):
            return np.bincount(firms, weights=values, minlength=n)

        disposal_cost = flows.disposed * costs.disposal[s_mat]
        virgin_cost = flows.virgin * costs.virgin[d_mat]
        c_supplier, c_receiver = book.supplier[running], book.receiver[running]
        shipped_c = flows.contract_shipped
        payment = shipped_c * book.price[running]
        truck_unit, pipe_unit = transport_unit_costs(self, book.waste[running], book.distance_km[running])
        transport = shipped_c * np.where(book.mode[running] == TRUCK, truck_unit, pipe_unit)
        k_c = book.substitution[running]
        treatment_c = shipped_c * treatment_unit_cost(self, k_c)
        transaction_half = np.full(len(running), self.params.contract.transaction_cost_eur_per_month / 2)
        rec_s = np.array(self.recovery["supply"], dtype=np.int64)
        rec_k = np.array(self.recovery["substitution"], dtype=np.int64)
        treatment_r = flows.recovery_reused * treatment_unit_cost(self, rec_k)
        subsidy_c = shipped_c * pol.subsidy_eur_per_unit
        subsidy_r = flows.recovery_reused * pol.subsidy_eur_per_unit

        # Carbon costs on inputs are passed on in product prices to the extent the market allows.
        carbon_markup = self.params.market.carbon_pass_through * pol.carbon_price_eur_per_t * self.input_co2
        self.cash_flow += (
            self.production * (self.margin + carbon_markup)
            - per_firm(s_firm, disposal_cost) - per_firm(d_firm, virgin_cost)
            + per_firm(c_supplier, payment + subsidy_c - transaction_half)
            - per_firm(c_receiver, payment + transport + treatment_c + transaction_half)
            + per_firm(s_firm[rec_s], subsidy_r - treatment_r)
        )
        self.cash += self.cash_flow

        truck_co2 = np.where(book.mode[running] == TRUCK, shipped_c * book.distance_km[running] * self.params.logistics.truck_co2_t_per_unit_km, 0.0)
        treatment_co2 = shipped_c * self.subs.treatment_co2[k_c]
        treatment_co2_r = flows.recovery_reused * self.subs.treatment_co2[rec_k]
        ledger = self.ledger
        ledger.landfill_tax += float(flows.disposed @ costs.landfill_tax[s_mat])
        ledger.virgin_tax += float(flows.virgin @ costs.virgin_tax[d_mat])
        ledger.carbon_revenue += float(flows.disposed @ costs.carbon_disposal[s_mat] + flows.virgin @ costs.carbon_virgin[d_mat]
                                       + pol.carbon_price_eur_per_t * (truck_co2.sum() + treatment_co2.sum() + treatment_co2_r.sum()))
        ledger.subsidies += float(subsidy_c.sum() + subsidy_r.sum())

        # Waste put into storage has no fate yet, so it counts in neither case.
        stored = flows.stock_after - flows.stock_before
        counterfactual = (flows.generated - stored) @ costs.disposal[s_mat] + flows.need @ costs.virgin[d_mat]
        actual = (disposal_cost.sum() + virgin_cost.sum() + transport.sum() + treatment_c.sum() + treatment_r.sum()
                  + 2 * transaction_half.sum() + sum(self.spend.values()) - subsidy_c.sum() - subsidy_r.sum())
        self.recorder.savings = float(counterfactual - actual)
        avoided = ((flows.shipped + flows.reused) @ self.materials.co2_disposal[s_mat]
                   + (flows.received_in + flows.reused_in) @ self.materials.co2_virgin[d_mat])
        self.recorder.co2_avoided = float(avoided - truck_co2.sum() - treatment_co2.sum() - treatment_co2_r.sum())
        book.promised_total[running] += flows.contract_promised
        book.delivered_total[running] += shipped_c

    def _update_trust(self, flows, running):
        """Each side's trust moves toward the share of the promise the other kept this month."""
        book, rate = self.contracts, self.params.trust.learning_rate
        promised = flows.contract_promised
        has_promise = promised > 0
        kept = np.divide(flows.contract_shipped, promised, out=np.ones_like(promised), where=has_promise)
        book.trust_in_supplier[running] += np.where(has_promise, rate * (np.clip(kept, 0, 1) - book.trust_in_supplier[running]), 0.0)
        offered = np.minimum(flows.contract_accepted, promised)
        took = np.divide(offered, promised, out=np.ones_like(promised), where=has_promise)
        book.trust_in_receiver[running] += np.where(has_promise, rate * (np.clip(took, 0, 1) - book.trust_in_receiver[running]), 0.0)

    def _insolvency(self):
        self.loss_months = np.where(self.active & (self.cash < 0), self.loss_months + 1, 0)
        for index in np.flatnonzero(self.loss_months >= self.params.firm_defaults.exit_after_months).tolist():
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


def _reporter(name):
    return lambda model: model.recorder.current[name]
