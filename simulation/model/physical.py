"""Phase 6 of the month: the physical month, played in simpy, and the month's flows.

Plants fail and are repaired (simpy processes, in days), pipelines finish
construction, utilisation moves, and production follows; then every stream's
flow is worked out: in-plant reuse, contract deliveries (trucks dispatched by
the fleet), storage and disposal (:func:`simulation.model.flows.month_flows`).
The flows are left in the :class:`~simulation.model.month.Month` for the
accounts and the measures.
"""

import numpy as np

from simulation.model.contract import ACTIVE, TRUCK
from simulation.model.coupling import (
    critical_shortfalls,
    expected_losses,
    failed_supply,
    output_limits,
)
from simulation.model.firm import keeping_backup
from simulation.model.flows import month_flows
from simulation.model.keyed import unit_interval
from simulation.scenario.timeline import DAYS_PER_MONTH


class PhysicalMonth:
    def __init__(self, firms, supply, demand, materials, subs, deals, plants, logistics, params, streams):
        self.firms, self.supply, self.demand = firms, supply, demand
        self.max_share = subs.max_share  # the catalogue's cap on the share of an input one substitution replaces
        self.materials = materials
        self.deals, self.plants, self.logistics = deals, plants, logistics
        self.outages, self.demand_params = params.outages, params.demand
        self.streams = streams

    def run(self, month):
        f, logistics = self.firms, self.logistics
        o = self.outages
        logistics.start_outages(f.active, o.rate_per_month, o.mean_repair_days, self.streams)
        period_start = logistics.period_start
        uptime = logistics.play_period()
        self.deals.open_built_pipelines(month)
        self._advance_utilisation()
        f.production = f.capacity * f.utilisation * uptime * f.active * f.output_limit  # all >= 0: a firm gone makes 0.0
        book = self.deals.book
        running = book.where(ACTIVE)
        active_from = np.maximum(book.active_from_day[running], period_start)
        share_of_month = unit_interval((period_start + DAYS_PER_MONTH - active_from) / DAYS_PER_MONTH)
        contracts = {
            "supply": book.supply[running], "demand": book.demand[running],
            "promised": book.quantity[running] * share_of_month, "conversion": book.ratio[running],
            "substitution": book.substitution[running], "max_share": self.max_share[book.substitution[running]],
        }
        truck = book.mode[running] == TRUCK
        release = active_from - period_start  # days into the month a contract started delivering

        def ship_share(planned):
            share = np.ones(len(planned))
            share[truck] = logistics.truck_delivery_share(planned[truck], book.distance_km[running][truck], release[truck])
            return share

        recovery = self.plants.arrays(month.period)
        generated = self.supply.quantities(f.production)
        need = self.demand.quantities(f.production)
        storage = logistics.storage
        flows = month_flows(generated, need, storage.level.copy(), storage.capacity, recovery, contracts, ship_share)
        storage.level = flows.stock_after
        # Stock emptied by a firm leaving or switching is disposed of this month (next month, for one that
        # left insolvent after this month's flows).
        forced = storage.take_emptied(len(generated))
        flows.disposed = flows.disposed + forced
        flows.stock_before = flows.stock_before + forced
        self._fall_back(flows, contracts, need)
        self._review_standby()  # what is kept on standby from here serves next month
        self.supply.learn(generated)
        self.demand.learn(need)
        month.flows, month.running, month.recovery = flows, running, recovery

    def _fall_back(self, flows, contracts, need):
        """Cover what exchanges failed to bring of critical inputs from standby plant and the short-notice
        market; what neither covers is lost, and limits each firm's output next month (:mod:`coupling`)."""
        d, mats = self.demand, self.materials
        stopped = self.deals.take_supply_lost(len(need))
        # An uncoupled park (as most are), or the usual month of a coupled one: nothing to cover, nothing lost.
        coupled = d.critical.any()
        failed = failed_supply(flows, contracts["conversion"], contracts["demand"], len(need)) + stopped if coupled else 0
        if not coupled or not (failed > 0).any():
            flows.short_notice, flows.lost_in = np.zeros(len(need)), np.zeros(len(need))
            self.firms.output_limit[:] = 1.0
            return
        short_notice, lost = critical_shortfalls(failed, flows.virgin, d.backup, d.critical,
                                                 mats.short_notice_share[d.material])
        flows.virgin = flows.virgin - lost
        flows.short_notice, flows.lost_in = short_notice, lost
        self.firms.output_limit = output_limits(lost, need, d.firm, len(self.firms))

    def _review_standby(self):
        """Each firm keeps standby plant for the exchanged part of each critical input, or not (:meth:`Firm.keeps_backup`).

        The exchanged part is what its contracts promise the stream; the chance they
        fail is judged by its trust in those suppliers, weighted by what each promises,
        but a supplier that always delivered still has outages: the share of a month
        its plant is expected to be down is the least a firm expects to lose.
        """
        d, book, mats, f = self.demand, self.deals.book, self.materials, self.firms
        d.backup[:] = 0.0
        if not d.critical.any():
            return
        active = book.where(ACTIVE)
        promised_in = book.quantity[active] * book.ratio[active]
        on = book.demand[active]
        counted = np.bincount(on, weights=promised_in, minlength=len(d))
        streams = (d.critical & (counted > 0)).nonzero()[0]
        if len(streams) == 0:
            return
        # The input comes from the supplier, or under toll conversion from the converter (the receiver).
        source_trust = np.where(book.toll[active], book.trust_in_receiver[active], book.trust_in_supplier[active])
        trust = (np.bincount(on, weights=promised_in * source_trust, minlength=len(d))[streams]
                 / counted[streams])
        material = d.material[streams]
        o = self.outages
        down = o.rate_per_month * min(o.mean_repair_days / DAYS_PER_MONTH, 1.0)
        loss = expected_losses(counted[streams], d.coef[streams], trust, mats.short_notice_share[material],
                               f.margin[d.firm[streams]] + f.fixed_unit[d.firm[streams]], down)
        keep = keeping_backup(counted[streams] * mats.standby[material], loss)
        d.backup[streams[keep]] = counted[streams[keep]]

    def _advance_utilisation(self):
        d, f = self.demand_params, self.firms
        shock = d.volatility * self.streams.stream("demand").standard_normal(len(f.utilisation))
        f.utilisation = unit_interval(d.mean_utilisation + d.persistence * (f.utilisation - d.mean_utilisation) + shock)
