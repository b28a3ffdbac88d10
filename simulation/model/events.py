"""Phase 1 of the month: firms enter and leave, and what the scenario schedules happens.

Firms enter at their entry month and leave at their exit month; a scheduled
event may take a firm out, switch its process (fuel switch) or set a price or a
firm's attribute. A firm that leaves, or loses a stream to a new recipe, ends
the contracts on those streams; stock left in store is disposed of this month.
"""

import numpy as np

from simulation.model.firm import EXIT_REASONS


class ParkEvents:
    """Entries, exits, process switches and scheduled values.

    ``new_agent(index, spec, process)`` makes the Firm agent of row ``index``
    (Mesa's model registers agents, so the model hands over only that constructor).
    """

    def __init__(self, firms, supply, demand, materials, catalogue, params, deals, logistics, investment, plants, loans,
                 social, events, rng, new_agent):
        self.firms, self.supply, self.demand, self.materials = firms, supply, demand, materials
        self.catalogue, self.params = catalogue, params
        self.deals, self.logistics, self.investment, self.plants, self.loans = deals, logistics, investment, plants, loans
        self.social, self.events, self.rng, self.new_agent = social, events, rng, new_agent

    def run(self, month):
        t, f = month.period, self.firms
        self.enter_due(month)
        for index in ((f.exit == t) & f.active).nonzero()[0].tolist():
            self.leave(month, index)
        for event in self.events.get(t, ()):
            index = f.ids.index(event.firm) if event.firm else None
            if event.leave and f.active[index]:
                self.leave(month, index)
            for _, kind, name, field, value in event.settings():
                self._set_value(kind, name, field, value)
            if event.switch_process and f.active[index]:
                self._install_process(month, index, event.switch_process)

    # -- entering --------------------------------------------------------------------
    def enter_due(self, month):
        for index in (self.firms.entry == month.period).nonzero()[0].tolist():
            if self.firms.agents[index] is None:
                self._enter(month, index)

    def _enter(self, month, index):
        f, spec = self.firms, self.firms.specs[index]
        process_id = spec.process or self.catalogue.sectors[spec.sector].default_process
        firm = f.agents[index] = self.new_agent(index, spec, process_id)
        f.platform_draw[index] = self.rng.random()  # the entry stream: one draw per firm entering
        f.active[index] = True
        self._install_process(month, index, process_id)
        f.cash[index] = self.params.firm_defaults.initial_cash_months * f.capacity[index] * max(f.margin[index], 0.0)
        firm.meet([o for o in self.social.neighbors(index) if f.agents[o] is not None])
        for waste in spec.recovery:
            self.investment.grant(index, self.materials.index[waste], month.period)

    def _install_process(self, month, index, process_id):
        """Give firm ``index`` the recipe of ``process_id``.

        Streams of materials the new recipe still has are kept (with the new
        coefficient), so their contracts go on; streams of materials it no longer
        has end, and so do their contracts.
        """
        f, mats = self.firms, self.materials
        process = self.catalogue.processes[process_id]
        f.agents[index].process = process_id
        self.deals.tolls.set_process(index, process_id)
        f.margin[index] = process.margin_eur
        f.fixed_unit[index] = process.fixed_cost_eur
        f.fixed_month[index] = process.fixed_cost_eur * f.capacity[index] * self.params.demand.mean_utilisation
        f.input_co2[index] = sum(c * mats.co2_virgin[mats.index[m]] for m, c in process.inputs.items())
        f.input_price_ref[index] = sum(c * mats.catalogue_price[mats.index[m]] for m, c in process.inputs.items())
        f.displaced_co2[index] = mats.co2_virgin[mats.index[process.displaces]] if process.displaces else 0.0
        f.feedstock[index] = mats.index[process.feedstock] if process.feedstock else -1
        expected = f.capacity[index] * self.params.demand.mean_utilisation
        kept_any = False
        for table, recipe, reason in ((self.supply, process.outputs, "supply stopped"), (self.demand, process.inputs, "demand stopped")):
            kept = {}
            for stream in table.of_firm(index).tolist():
                material = mats.ids[table.material[stream]]
                if material in recipe:
                    table.coef[stream] = recipe[material]
                    kept[material] = stream
                else:
                    self._end_stream(month, table, stream, reason)
            kept_any = kept_any or bool(kept)
            new = table.add(index, {m: c for m, c in recipe.items() if m not in kept}, mats.index, expected)
            if table is self.demand:
                own = table.of_firm(index)
                table.critical[own] = np.isin(table.material[own], [mats.index[m] for m in process.critical])
            if table is self.supply:
                storable = mats.storable[table.material[new]]
                self.logistics.storage.grow(np.where(storable, self.params.firm_defaults.storage_months * table.expected[new], 0.0))
        if kept_any:
            self._rescale_streams(index)

    def _end_stream(self, month, table, stream, reason):
        self.deals.close_on_stream(month, table, stream, reason)
        table.kill([stream])
        if table is self.supply:
            self.logistics.storage.empty(stream)
        self.plants.drop_stream("supply" if table is self.supply else "demand", stream)

    # -- leaving ---------------------------------------------------------------------
    def leave(self, month, index, why="scheduled", reason="partner left"):
        """Firm ``index`` leaves the park (``why``: one of :data:`EXIT_REASONS`): every contract it is party to
        ends (for ``reason``), its loans are written off."""
        f = self.firms
        if not f.active[index]:
            return
        # Ending each of its streams ends every contract the firm is party to, but the toll conversions it does
        # for others, which run on their streams.
        self.deals.close_converted_by(month, index, reason)
        for table in (self.supply, self.demand):
            for stream in table.of_firm(index).tolist():
                self._end_stream(month, table, stream, reason)
        f.active[index] = False
        f.left[index] = month.period
        f.exit_reason[index] = EXIT_REASONS.index(why)
        self.loans.write_off(index)
        f.agents[index].remove()

    # -- scheduled values ------------------------------------------------------------
    def _set_value(self, kind, name, field, value):
        """A scheduled new price (``materials.<id>.<field>``) or firm attribute (``firms.<id>.<field>``)."""
        if kind == "materials":
            self.materials.set_value(name, field, value)
            return
        index = self.firms.ids.index(name)
        getattr(self.firms, field)[index] = value
        if field == "capacity":
            self._rescale_streams(index)

    def _rescale_streams(self, index):
        """A firm that changes size or recipe expects its streams' new flows from the next month on."""
        f = self.firms
        expected = f.capacity[index] * self.params.demand.mean_utilisation
        f.fixed_month[index] = f.fixed_unit[index] * expected
        for table in (self.supply, self.demand):
            streams = table.of_firm(index)
            table.expected[streams] = expected * table.coef[streams]
