"""Phase 7 of the month: the accounts, trust, and insolvency.

Each firm's cash moves by its margin on what it made, less what it paid for
disposal and virgin inputs, plus or minus what its contracts and installations
brought (prices, transport, treatment, subsidies), less its loan payments. The
government's ledger collects taxes and pays subsidies. The month's savings,
fiscal effect and CO2 avoided are measured against a park without any exchange.
Fixed costs are paid whatever the plant made, so a plant short of a critical
input loses money. Then each side of a contract updates its trust from what the
other delivered, and firms out of cash for too long (:meth:`Firm.exits`) or
losing money for too long (:meth:`Firm.closes`) leave.
"""

import numpy as np

from simulation.model.contract import TRUCK
from simulation.model.firm import closing, exiting
from simulation.model.keyed import unit_interval


class Accounts:
    def __init__(self, firms, supply, demand, materials, subs, deals, economics, loans, params, leave):
        self.firms, self.supply, self.demand = firms, supply, demand
        self.materials, self.subs, self.deals, self.economics, self.loans = materials, subs, deals, economics, loans
        self.params = params
        self.leave = leave  # leave(month, firm): a firm out of cash leaves the park

    def run(self, month):
        self._settle(month)
        self._update_trust(month)
        self._insolvency(month)

    def unit_margin(self, month):
        """EUR per unit of product, by firm, before material, disposal and carbon costs, this month.

        Product prices pass on ``market.price_pass_through`` of the change in the
        recipe's virgin input prices since the catalogue's (which the process margin
        was estimated at), and ``market.carbon_pass_through`` of the carbon cost
        embodied in those inputs.
        """
        m, demand, f = self.params.market, self.demand, self.firms
        recipe_price = np.bincount(demand.firm, weights=demand.coef * demand.alive * month.costs.price[demand.material],
                                   minlength=len(f.margin))
        return (f.margin + m.price_pass_through * (recipe_price - f.input_price_ref)
                + m.carbon_pass_through * month.policy.carbon_price_eur_per_t * f.input_co2)

    def operating_result(self, month):
        """EUR by firm this month from making its product, before material, disposal and carbon costs: the
        margin on what it made, less the fixed costs of what it did not make (:attr:`Process.fixed_cost_eur`)."""
        f = self.firms
        return f.production * (self.unit_margin(month) + f.fixed_unit) - f.fixed_month * f.active

    def _displaced_fuel_co2(self, flows):
        """t CO2 of the fossil fuel that products made from exchanged feedstock replace (Process.displaces).

        How the Kalundborg Symbiosis counts its biogas plant: the gas it makes from its partners' residues is
        credited with the natural gas it displaces, in proportion to the share of the feedstock the exchanges
        bring. An attribution, not a change against a park without exchanges (the plant would run on bought
        feedstock), so it is kept apart from co2_avoided_t.
        """
        f, demand = self.firms, self.demand
        fed = (demand.material == f.feedstock[demand.firm]) & (flows.need > 0)
        firms = demand.firm[fed]
        share = flows.received_in[fed] / flows.need[fed]
        return float((f.production[firms] * f.displaced_co2[firms] * share).sum())

    def _settle(self, month):
        """Book the month's money: firms' cash, the government's ledger, firms' savings."""
        f, flows, running, recovery = self.firms, month.flows, month.running, month.recovery
        n, costs, pol, book = len(f), month.costs, month.policy, self.deals.book
        s_mat, d_mat = self.supply.material, self.demand.material
        s_firm, d_firm = self.supply.firm, self.demand.firm

        def per_firm(firms, values):
            return np.bincount(firms, weights=values, minlength=n)

        disposal_unit, disposal_bill = self._disposal(month)
        virgin_unit = costs.virgin[d_mat]
        disposal_cost = flows.disposed * disposal_unit
        virgin_cost = flows.virgin * virgin_unit
        c_supplier, c_receiver = book.supplier[running], book.receiver[running]
        shipped_c = flows.contract_shipped
        money = self.economics.contract_month(month, book, running, shipped_c)
        k_c = book.substitution[running]
        gain_r, treatment_r, subsidy_r, treatment_co2_r, fuel_r = self._recovery_accounts(month, recovery, per_firm)
        repayments = self.loans.collect(n)
        month.spend["capex"] += float(repayments.sum())
        networks = self._network_bill(month, running, shipped_c)

        damages = self._shortfall_damages(month, per_firm)
        fallback = self._fallback_cost(month)
        operating = self.operating_result(month)
        f.cash_flow += damages + (
            operating
            - per_firm(s_firm, disposal_cost) - per_firm(d_firm, virgin_cost)
            + per_firm(c_supplier, money.supplier_cash)
            - per_firm(c_receiver, money.receiver_cost)
            + gain_r - repayments - networks - disposal_bill - per_firm(d_firm, fallback)
        )
        f.cash += f.cash_flow  # zeroed below, once the savings have read it
        f.result_loss_months = (f.result_loss_months + 1) * (f.active & (f.cash_flow < 0))

        # Totals of the month (t CO2)
        by_truck = book.mode[running] == TRUCK  # shipments and distances are >= 0, so a product with False is 0.0
        # Under toll conversion the product comes back by truck too.
        hauled = shipped_c * (1.0 + book.toll[running] * book.ratio[running])
        truck_co2 = (hauled * book.distance_km[running] * self.params.logistics.truck_co2_t_per_unit_km * by_truck).sum()
        treatment_co2 = (shipped_c * self.subs.treatment_co2[k_c]).sum()
        subsidy_c_total = money.subsidy.sum()
        ledger = month.ledger
        ledger.waste_tax += total(flows.disposed, costs.waste_tax[s_mat])
        ledger.virgin_tax += total(flows.virgin, costs.virgin_tax[d_mat])
        ledger.carbon_revenue += (total(flows.disposed, costs.carbon_disposal[s_mat]) + total(flows.virgin, costs.carbon_virgin[d_mat])
                                  + pol.carbon_price_eur_per_t * (truck_co2 + treatment_co2 + treatment_co2_r))
        ledger.subsidies += float(subsidy_c_total + subsidy_r)

        # Waste put into storage has no fate yet, so it counts in neither case.
        not_stored = flows.generated - (flows.stock_after - flows.stock_before)
        counterfactual = total(not_stored, disposal_unit) + total(flows.need, virgin_unit)
        actual = (disposal_cost.sum() + virgin_cost.sum() + fallback.sum() + money.transport.sum() + money.treatment.sum() + treatment_r
                  + 2 * money.transaction_half.sum() + sum(month.spend.values()) - subsidy_c_total - subsidy_r)
        month.savings = float(counterfactual - actual)
        # Each firm's: what it would have paid without any exchange, less what its month cost it besides its margin.
        # Its share of the shared disposal facilities' costs is paid with or without exchanges, so it counts in both.
        f.savings = per_firm(s_firm, not_stored * disposal_unit) + per_firm(d_firm, flows.need * virgin_unit) \
            + disposal_bill + f.cash_flow - operating
        f.cash_flow[:] = 0.0  # booked: next month's starts from nothing
        # What the treasury would have collected had every waste been disposed of and every input bought virgin.
        revenue_without = (total(not_stored, costs.waste_tax[s_mat] + costs.carbon_disposal[s_mat])
                           + total(flows.need, costs.virgin_tax[d_mat] + costs.carbon_virgin[d_mat]))
        month.fiscal_effect = float(ledger.net_revenue - revenue_without)
        avoided = (total(flows.shipped + flows.reused, self.materials.co2_disposal[s_mat])
                   + total(flows.received_in + flows.reused_in, self.materials.co2_virgin[d_mat]))
        month.co2_avoided = float(avoided - truck_co2 - treatment_co2 - treatment_co2_r)
        month.co2_attributed = month.co2_avoided + self._displaced_fuel_co2(flows)
        # As the published studies count energy: the fuel the receivers' own boilers no longer burn, less the fuel
        # the exchanges cost elsewhere (forgone extraction power, heat-pump electricity), not the gross heat delivered.
        fuel_spared = total(flows.received_in + flows.reused_in, self.materials.fuel_per_unit[d_mat])
        month.energy_saved = float(fuel_spared - (shipped_c * self.subs.fuel[k_c]).sum() - fuel_r)
        book.promised_total[running] += flows.contract_promised
        # The records firms judge their own reliability by when they bargain over guarantees.
        book.offered_total[running] += flows.contract_offered
        book.accepted_total[running] += np.minimum(flows.contract_accepted, flows.contract_offered)
        book.delivered_total[running] += shipped_c

    def _disposal(self, month):
        """EUR per unit each supply stream pays for what it disposes of this month (through a shared disposal
        facility where one serves it for less, :meth:`ExchangeEconomics.disposal_routes`), and EUR each firm pays
        for the facilities' costs (:meth:`SharedInfrastructure.bill`; 0 without any)."""
        economics, streams = self.economics, np.arange(len(self.supply.material))
        facilities = economics.shared_disposal
        if len(facilities) == 0:
            return economics.disposal_unit(month, streams), 0.0
        facility, paid, _ = economics.disposal_routes(month, streams)
        disposed = month.flows.disposed
        bill = facilities.bill(month.period, facility, self.supply.firm, disposed, self.firms.active)
        month.shared_disposal = float(bill.sum())
        return paid, bill

    def _network_bill(self, month, running, shipped):
        """EUR each firm pays this month for the shared networks (:meth:`SharedNetworks.bill`); 0 without any."""
        if len(self.economics.networks) == 0:
            return 0.0
        book = self.deals.book
        bill = self.economics.networks.bill(month.period, book.network[running], book.receiver[running], shipped,
                                            self.firms.active)
        month.spend["networks"] += float(bill.sum())
        return bill

    def _fallback_cost(self, month):
        """EUR per demand stream of keeping standby plant for critical inputs and of the short-notice premium."""
        d, mats, flows = self.demand, self.materials, month.flows
        return (d.backup * mats.standby[d.material]
                + flows.short_notice * mats.short_notice_premium[d.material] * month.costs.price[d.material])

    def _shortfall_damages(self, month, per_firm):
        """Net damages (EUR) each firm receives this month under its contracts' deliver-or-pay and take-or-pay terms."""
        book, flows, running = self.deals.book, month.flows, month.running
        by_supplier, by_receiver = np.zeros(len(running)), np.zeros(len(running))
        # Only contracts with a guarantee can owe damages: the others need no pricing.
        bound = ((book.deliver_or_pay[running] > 0) | (book.take_or_pay[running] > 0)).nonzero()[0]
        if len(bound):
            by_supplier[bound], by_receiver[bound] = self.economics.shortfall_damages(
                month, book, running[bound], flows.contract_promised[bound], flows.contract_offered[bound],
                flows.contract_accepted[bound])
        book.damages_by_supplier[running], book.damages_by_receiver[running] = by_supplier, by_receiver
        book.damages_total[running] += by_supplier + by_receiver
        to_supplier = by_receiver - by_supplier
        return per_firm(book.supplier[running], to_supplier) - per_firm(book.receiver[running], to_supplier)

    def _recovery_accounts(self, month, recovery, per_firm):
        """The month of the recovery installations: net gain per firm (subsidy less treatment, EUR, via
        ``per_firm``), total treatment cost and subsidy (EUR), treatment CO2 (t) and the fuel the reuse costs
        elsewhere (MWh); zeros without any."""
        if len(recovery["supply"]) == 0:
            return 0.0, 0.0, 0.0, 0.0, 0.0
        reused, k, supply = month.flows.recovery_reused, recovery["substitution"], recovery["supply"]
        treatment, subsidy = self.economics.recovery_month(month, reused, k, self.supply.material[supply])
        return (per_firm(self.supply.firm[supply], subsidy - treatment), treatment.sum(), subsidy.sum(),
                (reused * self.subs.treatment_co2[k]).sum(), (reused * self.subs.fuel[k]).sum())

    def _update_trust(self, month):
        """Each side's trust moves toward the share of the promise the other kept this month."""
        book, rate, flows, running = self.deals.book, self.params.trust.learning_rate, month.flows, month.running
        # The receiver judges what the supplier had to offer against its promise;
        # the supplier judges how much of its offer the receiver took.
        # Under toll conversion what is taken is the owner's own need, nothing the converter refused: not judged.
        offered = flows.contract_offered
        judgements = ((book.trust_in_supplier, offered, flows.contract_promised),
                      (book.trust_in_receiver, np.minimum(flows.contract_accepted, offered),
                       np.where(book.toll[running], 0.0, offered)))
        for trust, part, whole in judgements:
            judged = (whole > 0).nonzero()[0]  # trust stays where nothing was at stake
            at = running[judged]
            trust[at] += rate * (unit_interval(part[judged] / whole[judged]) - trust[at])

    def _insolvency(self, month):
        f, rules = self.firms, self.params.firm_defaults
        f.loss_months = (f.loss_months + 1) * (f.active & (f.cash < 0))
        broke = exiting(f.loss_months, rules.exit_after_months)
        closed = closing(f.result_loss_months, rules.close_after_loss_months) & ~broke
        for why, leaving in (("out of cash", broke), ("closed after losses", closed)):
            for index in leaving.nonzero()[0].tolist():
                month.exits += 1
                self.leave(month, index, why)


def total(quantities, unit_values):
    """Sum of products, without BLAS: its kernels differ between machines, and results must not."""
    return float(np.add.reduce(np.multiply(quantities, unit_values)))  # as .sum() of a 1-D array, without its wrapper
