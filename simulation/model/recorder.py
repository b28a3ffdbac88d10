"""What is measured each month, for Mesa's DataCollector and the output files.

All waste and virgin-material measures in t count mass streams only (materials
whose unit is t); energy (MWh) and water (m3) exchanged have their own measures.
The :class:`PeriodRecorder` keeps every month's measures itself, so a sweep run
can do without the DataCollector; the DataCollector's reporters read the recorder.
"""

import itertools
import math

import mesa
import numpy as np

from simulation.errors import RunFailed
from simulation.model.contract import ACTIVE, PENDING
from simulation.model.keyed import unique_ints

MEASURES = {
    "active_firms": "firms in the park",
    "active_links": "links delivering this month",
    "pending_links": "contracts waiting for their pipeline",
    "firms_linked": "firms with at least one active link",
    "links_born": "links that started delivering this month",
    "links_ended": "links that ended this month (renewals excluded)",
    "contracts_revised": "contracts whose promised quantity was cut back to a fallen expected flow",
    "contracts_held_up": "contracts a supplier renegotiated once the receiver's pipeline was sunk",
    "platform_links": "links signed this month with a partner found only through the facilitator's platform",
    "platform_members": "firms using the facilitator's platform",
    "mean_link_age_months": "mean age of active links, months",
    "network_density": "active links / possible firm pairs",
    "largest_component_share": "share of firms in the largest connected group",
    "network_firms": "firms in the network: the largest group joined by contracts that delivered this month",
    "network_materials": "distinct wastes the network's contracts delivered this month",
    "network_flow_eur": "the network's deliveries this month, as the virgin input they replace at catalogue prices, EUR",
    "waste_generated_t": "waste and by-products generated, t",
    "waste_exchanged_t": "waste shipped to other firms, t",
    "waste_reused_t": "waste reused in the firm's own plant, t",
    "waste_sold_t": "waste with a resale value sold to dealers, t",
    "waste_disposed_t": "waste sent to landfill, incineration or discharge, t",
    "waste_landfilled_t": "waste sent to landfill, t",
    "waste_stored_t": "waste in storage at month end, t",
    "waste_diverted_share": "(exchanged + reused) / generated, mass streams",
    "virgin_avoided_t": "virgin input replaced by waste, t",
    "energy_exchanged_mwh": "energy delivered through exchanges, MWh (gross)",
    "energy_saved_mwh": "fuel saved, net: what the receivers' own boilers no longer burn, less the fuel the exchanges cost elsewhere, MWh",
    "water_exchanged_m3": "water delivered through exchanges, m3",
    "co2_avoided_t": "CO2 avoided net of transport and treatment, t",
    "co2_attributed_t": "CO2 avoided as the Kalundborg Symbiosis counts it: co2_avoided_t plus the fossil fuel that products made from exchanged feedstock displace (biogas for natural gas), t",
    "savings_eur": "firms' savings against no exchange at all, EUR",
    "government_net_revenue_eur": "government's net revenue: taxes and carbon revenue collected minus subsidies paid, EUR (+ = the state gains)",
    "fiscal_effect_eur": "what the exchanges changed in the government's net revenue, against no exchange at all, EUR (+ = the state gains)",
    "waste_tax_eur": "landfill and incineration tax collected, EUR",
    "subsidies_eur": "subsidies paid (per t and capex), EUR",
    "shared_networks_eur": "what the shared networks cost their members this month (capital paid off and upkeep), EUR",
    "shared_disposal_eur": "what the shared disposal facilities' capital and upkeep cost their members this month (their fees aside), EUR",
    "firms_short_of_inputs": "firms that lacked a critical input this month, so will make less next month",
    "searches": "partner searches made",
    "investments": "recovery technologies installed",
    "exits": "firms that left out of cash or closed after sustained losses",
}

COLUMN = {name: j for j, name in enumerate(MEASURES)}  # column of each measure in PeriodRecorder's table
FLOW_COLUMNS = ("generated", "reused", "exchanged", "sold", "disposed", "stock_change", "received_as_input")
GENERATED, REUSED, EXCHANGED, SOLD, DISPOSED, STOCK_CHANGE, RECEIVED = range(len(FLOW_COLUMNS))


class PeriodRecorder:
    """Collects each month's measures, the per-material flows and the exchange log.

    ``current`` holds the last month's measures; :meth:`series` gives every month's.
    """

    def __init__(self, firms, supply, demand, materials, deals, n_periods, path, calendar, record_exchanges=True):
        self.firms, self.supply, self.demand, self.materials, self.deals = firms, supply, demand, materials, deals
        self.path, self.calendar = path, calendar  # for the message of a run that fails
        self.record_exchanges = record_exchanges
        self.current = dict.fromkeys(MEASURES, 0.0)
        # One row a month, one column a measure (in MEASURES order), each in its own unit.
        # Rows for the whole run up front; a model stepped past its end gets more (see run()).
        self._table = np.zeros((n_periods, len(MEASURES)))
        self.months = 0  # rows filled
        self.material_flows = []  # one (n_materials, len(FLOW_COLUMNS)) array a month
        self.exchanges = []  # (period, contract ids, promised, shipped, received) a month
        mats = materials
        unit = np.array(mats.unit)
        self._mwh, self._m3 = unit == "MWh", unit == "m3"
        self._mass_landfilled = mats.to_landfill[mats.is_mass]  # landfilled among the mass materials
        self._sold = mats.sold
        self._network = Network()

    def delivered_in(self, period):
        """Contracts that shipped in month ``period`` and what they shipped (needs the exchange log)."""
        if not self.record_exchanges:
            raise ValueError("the exchange log was not kept (record_exchanges=False)")
        for logged, ids, _, shipped, _ in self.exchanges:
            if logged == period:
                moving = shipped > 0
                return ids[moving], shipped[moving]
        return np.zeros(0, dtype=np.int64), np.zeros(0)

    def run(self, month):
        """Phase 8 of the month: its measures, from the flows and books the other phases left in ``month``."""
        flows, running, f = month.flows, month.running, self.firms
        mats = self.materials
        n_mat = len(mats)
        s_mat, d_mat = self.supply.material, self.demand.material

        def by_material(index, values):
            return np.bincount(index, weights=values, minlength=n_mat)

        table = np.array([  # one column per FLOW_COLUMNS (np.array and .T cost less than column_stack)
            by_material(s_mat, flows.generated),
            by_material(s_mat, flows.reused),
            by_material(s_mat, flows.shipped),
            np.zeros(n_mat),  # sold: split off the disposed column below
            by_material(s_mat, flows.disposed),
            by_material(s_mat, flows.stock_after - flows.stock_before),
            by_material(d_mat, flows.reused_in + flows.received_in),
        ]).T
        # What leaves a firm unused is sold where a dealer pays for it, and disposed of otherwise.
        table[self._sold, SOLD] = table[self._sold, DISPOSED]
        table[self._sold, DISPOSED] = 0.0
        self.material_flows.append(table)
        if self.record_exchanges and len(running):
            self.exchanges.append((month.period, running.copy(), flows.contract_promised.copy(),
                                   flows.contract_shipped.copy(), flows.contract_received.copy()))
        mass = mats.is_mass
        in_t = table[mass]
        generated, reused, exchanged = total(in_t[:, GENERATED]), total(in_t[:, REUSED]), total(in_t[:, EXCHANGED])
        received = by_material(d_mat, flows.received_in)
        book = self.deals.book
        active = book.where(ACTIVE)
        supplier, receiver = book.supplier[active], book.receiver[active]
        f.links = np.bincount(supplier, minlength=len(f.active)) + np.bincount(receiver, minlength=len(f.active))
        linked = f.links > 0
        n_active = int(f.active.sum())
        self._network.update(supplier, receiver, len(f.active))
        network = self._delivering_network(month)
        ages = month.period - self.deals.link_start[book.link[active]]
        ledger = month.ledger
        self.current = {
            "active_firms": n_active,
            "active_links": len(active),
            "pending_links": len(book.where(PENDING)),
            "firms_linked": np.count_nonzero(linked),
            "links_born": month.born,
            "links_ended": month.ended,
            "contracts_revised": month.revised,
            "contracts_held_up": month.held_up,
            "platform_links": month.platform_links,
            "platform_members": int(f.platform_members(month.policy.facilitator_participation).sum()),
            "mean_link_age_months": float(ages.sum() / len(ages)) if len(ages) else 0.0,  # whole months: the sum is exact
            "network_density": self._network.density(n_active),
            "largest_component_share": self._network.largest_component_share(f.active, n_active),
            "network_firms": network[0],
            "network_materials": network[1],
            "network_flow_eur": network[2],
            "waste_generated_t": generated,
            "waste_exchanged_t": exchanged,
            "waste_reused_t": reused,
            "waste_sold_t": total(in_t[:, SOLD]),
            "waste_disposed_t": total(in_t[:, DISPOSED]),
            "waste_landfilled_t": total(in_t[self._mass_landfilled, DISPOSED]),
            "waste_stored_t": float(flows.stock_after[mass[s_mat]].sum()),
            "waste_diverted_share": float((reused + exchanged) / generated) if generated > 0 else 0.0,
            "virgin_avoided_t": total(in_t[:, RECEIVED]),
            "energy_exchanged_mwh": total(received[self._mwh]),
            "energy_saved_mwh": month.energy_saved,
            "water_exchanged_m3": total(received[self._m3]),
            "co2_avoided_t": month.co2_avoided,
            "co2_attributed_t": month.co2_attributed,
            "savings_eur": month.savings,
            "fiscal_effect_eur": month.fiscal_effect,
            "government_net_revenue_eur": ledger.net_revenue,
            "waste_tax_eur": ledger.waste_tax,
            "subsidies_eur": ledger.subsidies + ledger.capex_subsidies,
            "shared_networks_eur": month.spend["networks"],
            "shared_disposal_eur": month.shared_disposal,
            "firms_short_of_inputs": int(np.count_nonzero((f.output_limit < 1) & f.active)),
            "searches": month.searches,
            "investments": month.investments,
            "exits": month.exits,
        }
        if self.months == len(self._table):
            self._table = np.concatenate([self._table, np.zeros((max(1, self.months), len(MEASURES)))])  # doubles
        row = self._table[self.months]
        row[:] = [self.current[name] for name in MEASURES]
        if not np.isfinite(row).all():
            self._fail(row, month.period)
        self.months += 1

    def _delivering_network(self, month):
        """Firms, distinct wastes and flow (EUR at catalogue prices) of the giant component of this month's deliveries.

        Of components with as many firms, the one with the larger flow: the valued flow
        is a constant-price index, so a price shock alone does not shrink it.
        """
        flows, book = month.flows, self.deals.book
        moving = (flows.contract_shipped > 0).nonzero()[0]
        if len(moving) == 0:
            return 0, 0, 0.0
        contracts = month.running[moving]
        supplier, receiver = book.supplier[contracts], book.receiver[contracts]
        n = len(self.firms.active)
        labels = component_labels(n, supplier, receiver)
        joined = np.zeros(n, dtype=bool)  # a mask, not a unique(): no sort of the month's contracts
        joined[supplier] = joined[receiver] = True
        size = np.bincount(labels[joined], minlength=n)
        component = labels[supplier]  # of each contract, through its supplier
        value = flows.contract_received[moving] * self.materials.catalogue_price[book.input[contracts]]
        flow = np.bincount(component, weights=value, minlength=n)
        largest = np.flatnonzero(size == size.max())
        giant = largest[np.argmax(flow[largest])]
        inside = component == giant
        return int(size[giant]), len(np.unique(book.waste[contracts[inside]])), float(flow[giant])

    def _fail(self, row, period):
        """Stop the run: a measure that is not finite would be written as a result."""
        name = list(MEASURES)[int(np.flatnonzero(~np.isfinite(row))[0])]
        raise RunFailed(self.path, name, f"became {self.current[name]} in {self.calendar.label(period)}; a value of "
                                             f"the scenario is probably far outside what the model can compute with, "
                                             f"so the run stopped and wrote nothing")

    def series(self, name):
        """Measure ``name`` for every month recorded so far, as float64 (a read-only view).

        Holds the values the DataCollector collects, as floats: counts are exact.
        """
        column = self._table[:self.months, COLUMN[name]]
        column.flags.writeable = False
        return column


class Network:
    """The month's firm network: distinct linked pairs, their density and largest component."""

    def __init__(self):
        self.pairs = np.zeros(0, dtype=np.int64)
        self.n = 0

    def update(self, a, b, n):
        """This month's links between firms ``a`` and ``b`` (index arrays below ``n``)."""
        self.pairs = unique_ints(np.minimum(a, b) * n + np.maximum(a, b))  # one key per unordered pair
        self.n = n

    def density(self, n_firms):
        """Linked pairs over possible pairs of the ``n_firms`` in the park."""
        if n_firms < 2 or len(self.pairs) == 0:
            return 0.0
        return len(self.pairs) / (n_firms * (n_firms - 1) / 2)

    def largest_component_share(self, active, n_active):
        """Share of the ``n_active`` firms (mask ``active``) in the largest group connected by links."""
        if n_active == 0:
            return 0.0
        if len(self.pairs) == 0:
            return 1.0 / n_active
        labels = component_labels(self.n, self.pairs // self.n, self.pairs % self.n)
        return float(np.bincount(labels[active]).max() / n_active)


def component_labels(n, a, b):
    """Connected-component label of each of ``n`` nodes given undirected edges ``a``-``b``.

    Min-label propagation with pointer jumping: a few vectorised passes for the
    short-diameter networks of a park, with no graph object to build.
    """
    labels = np.arange(n)
    while True:
        low = np.minimum(labels[a], labels[b])
        before = labels.copy()
        np.minimum.at(labels, a, low)
        np.minimum.at(labels, b, low)
        labels = labels[labels]
        if (labels == before).all():
            return labels


class ParkDataCollector(mesa.DataCollector):
    """Mesa's DataCollector, with the per-firm measures read from the firms' table in one pass.

    Mesa reads each agent reporter of each agent in turn; with the firms' numbers
    in columns, one month's records for all firms are a few array reads. The
    records are the ones Mesa would make (the tests hold them equal), with one
    more row for each firm that left the park this month: its last month counts
    in the park's measures, so it is kept in the firms' records too.
    """

    def _record_agents(self, model):
        f = model.firms
        gone = [f.agents[i] for i in np.flatnonzero(f.left == model.steps - 1).tolist()]
        agents = list(model.agents) + gone
        rows = np.fromiter((a.index for a in agents), np.int64, len(agents))
        columns = [getattr(f, name)[rows].tolist() for name in self.agent_reporters]
        return zip(itertools.repeat(model.time), (a.unique_id for a in agents), *columns)


def total(by_material):
    """The sum of a per-material column, exactly rounded (``math.fsum``): the same to the last bit whatever the
    order of the catalogue's materials and however many of them carry nothing."""
    return math.fsum(by_material.tolist())
