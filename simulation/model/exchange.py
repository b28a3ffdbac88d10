"""The economics of one exchange: what it saves each side, what it costs, its surplus and its split.

This is the one home of that arithmetic: pricing a candidate pair, re-pricing a
contract at renewal, a contract's running gains in the review, the value of
in-plant recovery and the money of the month's deliveries in the accounts all
use :class:`ExchangeEconomics`. It reads the month's unit costs (disposal,
virgin, subsidy per unit) that :mod:`simulation.model.materials` derives from
the catalogue and the policy in force.

For a supplier of waste *w* and a receiver that uses it in place of virgin
input *i* at ``ratio`` units of *i* per unit of *w*, with ``q`` units of *w* a
month (all money in EUR per month):

* supplier's avoided cost ``A_s = q * disposal_cost(w)`` (gate fee, landfill tax,
  carbon price on disposal emissions);
* receiver's avoided cost ``A_r = q * ratio * virgin_cost(i)`` (price, virgin
  tax, carbon price passed through on production emissions);
* joint extra cost ``C = q * (transport + treatment + carbon on both) +
  transaction + setup / term + loan payment`` where the loan finances
  ``capex * (1 - capex_subsidy)`` over the term (:mod:`simulation.model.finance`; a renewal
  pays no set-up and no new capex);
* subsidy ``B = q * subsidy``;
* surplus ``S = A_s + A_r + B - C``.

Each side's hurdle is ``H = hurdle_rate * (1 + risk_aversion * (1 - trust)) * |A|``
on its own avoided cost ``A`` (:meth:`simulation.model.firm.Firm.hurdle`): the least net gain it needs to bother, higher the
less it trusts the partner. A deal exists only when the *space of cooperation*
``S - H_s - H_r`` is >= 0 (and ``S > 0``); the split is the generalised Nash
bargaining solution with the hurdles as disagreement points::

    U_s = H_s + beta * (S - H_s - H_r),    U_r = H_r + (1 - beta) * (S - H_s - H_r)

with ``beta`` the supplier's bargaining power. The transfer is a price per unit
of waste paid by the receiver (negative: the supplier pays a fee), with the
receiver bearing transport, treatment and capex and each side half the
transaction and set-up costs (``shared``). By construction no accepted side gets less than its hurdle.

Everything here works on numpy arrays, one element per candidate pair or contract.
"""

import math

import numpy as np

from simulation.model.columns import NamedRows
from simulation.model.contract import PIPELINE, TRUCK
from simulation.model.finance import monthly_payment
from simulation.model.firm import hurdles

BASE = ("quantity", "supplier_avoided", "receiver_avoided", "running_unit", "fixed_cost", "subsidy", "shared",
        "supplier_hurdle", "receiver_hurdle")
_BASE_SET = frozenset(BASE)
DERIVED = ("joint_cost", "surplus", "space")
SCALED = np.array([name in ("supplier_avoided", "receiver_avoided", "subsidy", "supplier_hurdle", "receiver_hurdle")
                   for name in BASE + DERIVED])[:, None]  # rows proportional to the quantity


class Terms(NamedRows):
    """Vectorised deal terms for candidate pairs (EUR per month unless noted).

    Given as keyword arrays of one length (any but ``quantity`` may be a scalar), and
    ``beta``, the supplier's bargaining power:

    * ``quantity``: units of waste a month;
    * ``supplier_avoided``, ``receiver_avoided``: each side's avoided cost;
    * ``running_unit``: transport (a shared network's charge included), treatment and their carbon, EUR per unit of waste;
    * ``fixed_cost``: shared costs plus the monthly loan payment on capex after subsidy;
    * ``subsidy``;
    * ``shared``: transaction plus amortised set-up cost, split equally;
    * ``supplier_hurdle``, ``receiver_hurdle``.

    ``joint_cost``, ``surplus`` and ``space`` are computed once, as three more
    rows, so that the terms of a selection carry them and need not work them out again.
    """

    NAMES = BASE + DERIVED

    def __init__(self, *, beta, **base):
        if base.keys() != _BASE_SET:
            raise TypeError(f"Terms needs exactly {', '.join(BASE)} and beta; got {', '.join(sorted(base))}")
        values = np.empty((len(self.NAMES), len(base["quantity"])))
        for row, name in zip(values, BASE):
            row[:] = base[name]
        self._bind(_derive(values), beta)

    def _bind(self, values, beta):
        NamedRows.__init__(self, values)
        self.beta = beta

    def like(self, values):
        terms = object.__new__(Terms)
        terms._bind(values, self.beta)
        return terms

    def with_hurdles(self, supplier_hurdle, receiver_hurdle):
        """The same deal with other hurdles (EUR a month), as clauses priced in at signing leave it."""
        values = self.values.copy()
        values[BASE.index("supplier_hurdle")] = supplier_hurdle
        values[BASE.index("receiver_hurdle")] = receiver_hurdle
        return self.like(_derive(values))

    def with_quantity(self, quantity):
        """The same deal for another quantity: everything but the fixed costs scales."""
        scale = np.divide(quantity, self.quantity, out=np.zeros(len(self.quantity)), where=self.quantity > 0)
        values = self.values * np.where(SCALED, scale, 1.0)
        values[0] = quantity
        return self.like(_derive(values))

    # Derived values read once or twice at most: worked out on each read, which costs less than caching them.
    @property
    def acceptable(self):
        return (self.space >= 0) & (self.surplus > 0) & (self.quantity > 0)

    @property
    def supplier_gain(self):
        return self.supplier_hurdle + self.beta * self.space

    @property
    def receiver_gain(self):
        return self.receiver_hurdle + (1 - self.beta) * self.space

    @property
    def price(self):
        """EUR per unit of waste paid by the receiver to the supplier."""
        q = np.where(self.quantity > 0, self.quantity, 1.0)
        return (self.supplier_gain - self.supplier_avoided - self.subsidy + self.shared / 2) / q


def _derive(values):
    """Fill the DERIVED rows of a Terms array from its BASE rows; returns ``values``."""
    quantity, supplier_avoided, receiver_avoided, running_unit, fixed_cost, subsidy, _, supplier_hurdle, receiver_hurdle, \
        joint_cost, surplus, space = values
    np.multiply(quantity, running_unit, out=joint_cost)
    joint_cost += fixed_cost
    np.add(supplier_avoided, receiver_avoided, out=surplus)
    surplus += subsidy
    surplus -= joint_cost  # supplier_avoided + receiver_avoided + subsidy - joint_cost
    np.subtract(surplus, supplier_hurdle, out=space)
    space -= receiver_hurdle  # surplus left after both hurdles: the space of cooperation
    return values


class PairDetails(NamedRows):
    """What signing a priced pair needs besides its terms (rows of one float array, one entry per pair).

    ``receiver`` (the firm that takes the waste: the demand stream's, or a converter under toll conversion,
    :mod:`simulation.model.toll`); ``mode`` (TRUCK or PIPELINE); ``dist`` (km); ``capex`` (EUR of a new pipeline;
    0 by truck or where the pipeline exists); ``conversion`` (units of input
    replaced per unit of waste shipped); ``trust_s`` (the supplier's trust in the
    receiver, as priced); ``trust_r`` (the receiver's in the supplier); ``term``
    (months the contract would run); ``network`` (the shared network it would go
    through, :mod:`simulation.model.networks`, or -1); the clauses (:class:`simulation.model.clauses.Clauses`:
    ``indexation``, ``deliver_or_pay``, ``take_or_pay``, 0 until bargained). ``receiver``, ``mode``,
    ``term`` and ``network`` are whole numbers held as floats: cast them before using them as indices.
    """

    NAMES = ("receiver", "mode", "dist", "capex", "conversion", "trust_s", "trust_r", "term", "network", "indexation",
             "deliver_or_pay", "take_or_pay")
    PRICED = 9  # rows set by pricing; the clauses follow

    def with_clauses(self, clauses):
        """The same pairs with ``clauses`` bargained."""
        return self.like(np.concatenate([self.values[:self.PRICED], clauses.values]))


class ContractMonth:
    """A month's money on contracts, EUR per contract: the price paid, the receiver's transport and treatment,
    the subsidy to the supplier, each side's half of the transaction cost, and what each side's cash gains."""

    def __init__(self, payment, transport, treatment, subsidy, transaction_half):
        self.payment, self.transport, self.treatment = payment, transport, treatment
        self.subsidy, self.transaction_half = subsidy, transaction_half

    @property
    def supplier_cash(self):
        return self.payment + self.subsidy - self.transaction_half

    @property
    def receiver_cost(self):
        return self.payment + self.transport + self.treatment + self.transaction_half


class ExchangeEconomics:
    """Unit values and deal terms of exchanges in the park, under the month's policy and prices.

    Built once per run over the park's tables (read, never changed here); each
    method takes the :class:`~simulation.model.month.Month` (or its policy) it prices in.
    """

    def __init__(self, materials, subs, firms, supply, demand, params, interest_rate_per_year, networks, shared_disposal):
        self.materials, self.subs, self.firms = materials, subs, firms
        self.networks = networks  # the park's shared networks (simulation.model.networks)
        self.shared_disposal = shared_disposal  # and disposal facilities (simulation.model.shared_disposal)
        self.supply, self.demand = supply, demand
        self.contract, self.logistics = params.contract, params.logistics
        self.interest = interest_rate_per_year
        # Whole months a new pipeline is built before it carries flow: no payment is due on its loan in them.
        self.construction_months = math.floor(params.logistics.pipeline_lead_months)

    # -- unit values (EUR per unit of waste) --------------------------------------
    def disposal_unit(self, month, s):
        """EUR per unit of waste it costs the firm of each supply stream ``s`` to get rid of what no one takes: the
        public route's cost (gate fee, route tax, carbon on its emissions; minus the resale value of a waste that is
        sold), or, where a shared disposal facility serves it for less, the facility's fee, the route's taxes and
        its charge per unit (:meth:`disposal_routes`)."""
        if len(self.shared_disposal) == 0:
            return month.costs.disposal[self.supply.material[s]]
        _, paid, charged = self.disposal_routes(month, s)
        return paid + charged

    def disposal_routes(self, month, s):
        """Where the waste of each supply stream ``s`` not placed goes, in a park with shared disposal facilities:
        ``(facility or -1, paid, charged)``, EUR per unit (:meth:`simulation.model.shared_disposal.SharedDisposal.routes`)."""
        supply, facilities = self.supply, self.shared_disposal
        waste = supply.material[s]
        public = month.costs.disposal[waste]
        # A facility's flow charge is reckoned on the waste its members expect and have not promised away, so that
        # it does not swing with last month's choice of route.
        every = facilities.serving(month.period, supply.firm, supply.firm, supply.material)
        expected = facilities.through(every, np.maximum(supply.expected - supply.committed, 0.0) * supply.alive)
        return facilities.routes(month.period, supply.firm[s], waste, public, month.costs.gate_fee[waste], expected)

    def transport_per_unit_km(self, policy):
        """Running cost per unit-km of each material (column) by mode (row TRUCK, carbon included,
        and row PIPELINE), EUR, nan where the mode is not allowed.
        """
        p, mats, carbon = self.logistics, self.materials, policy.carbon_price_eur_per_t
        by_mode = np.empty((2, len(mats)))
        by_mode[TRUCK] = p.transport_cost_factor * mats.truck_cost + carbon * p.truck_co2_t_per_unit_km
        by_mode[PIPELINE] = p.transport_cost_factor * mats.pipeline_cost
        return by_mode

    def treatment_unit(self, policy, k):
        """Treatment cost per unit of waste for substitutions ``k``, carbon included (EUR)."""
        return self.subs.treatment_unit(policy.carbon_price_eur_per_t)[k]

    def conversion(self, waste, k, dist):
        """Units of input replaced per unit of ``waste`` shipped: the ratio, less what is lost over ``dist`` km."""
        return self.subs.ratio[k] * (1.0 - self.materials.loss_per_km[waste]) ** dist

    def contract_transport_unit(self, policy, book, contracts):
        """Current transport cost per unit of waste of signed contracts, by their mode (EUR); under toll
        conversion, the product's way back by truck too."""
        by_mode, dist = self.transport_per_unit_km(policy), book.distance_km[contracts]
        unit = by_mode[book.mode[contracts], book.waste[contracts]] * dist
        toll = book.toll[contracts]
        if toll.any():
            round_trip = toll_haul_unit(by_mode, book.waste[contracts], book.input[contracts], book.ratio[contracts], dist)
            unit = np.where(toll, round_trip, unit)
        return unit

    def input_value(self, month, book, contracts):
        """What the input replaced is worth a unit of waste to its user, for running contracts (EUR): to the receiver,
        or under toll conversion to the supplier, whose own input it is."""
        # The contract's ratio already counts what is lost in transport.
        return book.ratio[contracts] * month.costs.virgin[book.input[contracts]]

    def receiver_running_value(self, month, book, contracts):
        """Receiver's current net value per unit of waste for running contracts (EUR)."""
        value = (np.where(book.toll[contracts], 0.0, self.input_value(month, book, contracts))
                 - self.contract_transport_unit(month.policy, book, contracts)
                 - self.treatment_unit(month.policy, book.substitution[contracts]))
        if len(self.networks):
            value -= self.network_charge(month, book, contracts)
        return value

    def supplier_running_value(self, month, book, contracts, price):
        """Supplier's current value per unit of waste for running contracts at ``price`` (EUR): disposal avoided,
        subsidy and price, and under toll conversion the input its product replaces."""
        value = self.supplier_unit_value(month, book.supply[contracts], price)
        toll = book.toll[contracts]
        if toll.any():
            value = value + np.where(toll, self.input_value(month, book, contracts), 0.0)
        return value

    def network_charge(self, month, book, contracts):
        """EUR per unit of waste running ``contracts`` bear this month for the shared network they go through:
        under the flow rule, its cost over the units all its running contracts carry; else 0."""
        running = book.running()
        load = self.networks.through(book.network[running], book.quantity[running])
        network = book.network[contracts]
        return self.networks.flow_charge(month.period, network, load[np.maximum(network, 0)])

    def current_price(self, month, book, contracts):
        """EUR per unit of waste the receiver pays this month: the price signed, moved by the contract's
        indexation share of the change in the value of the input it replaces since signing."""
        moved = month.costs.virgin[book.input[contracts]] - book.virgin_at_signing[contracts]
        return book.price[contracts] + book.indexation[contracts] * book.ratio[contracts] * moved

    def side_gains(self, month, book, contracts):
        """Current monthly gains (EUR) of both sides of signed contracts at their current price.

        Sunk capex is not counted: it no longer depends on staying in the deal. Damages
        for shortfalls count as last month's (:meth:`shortfall_damages`) were paid.
        """
        quantity = book.quantity[contracts]
        price = self.current_price(month, book, contracts)
        transaction = self.contract.transaction_cost_eur_per_month
        damages = book.damages_by_receiver[contracts] - book.damages_by_supplier[contracts]  # to the supplier
        supplier = quantity * self.supplier_running_value(month, book, contracts, price) - transaction / 2 + damages
        receiver = quantity * (self.receiver_running_value(month, book, contracts) - price) - transaction / 2 - damages
        return supplier, receiver

    def supplier_unit_value(self, month, s, price):
        """What the supplier gains per unit of the waste of supply streams ``s`` delivered at ``price``: disposal
        avoided, subsidy and price (EUR)."""
        return self.disposal_unit(month, s) + month.costs.subsidy[self.supply.material[s]] + price

    def shortfall_damages(self, month, book, contracts, promised, offered, accepted):
        """Damages (EUR) each side owes the other this month under deliver-or-pay and take-or-pay terms.

        The supplier owes for its guaranteed share of what it did not offer of the
        promise, the receiver for its guaranteed share of what it did not take of the
        offer (units of waste); each unit is worth what the other side would have
        gained on it at the current price (expectation damages, never negative).
        Shortfalls of the trucks are nobody's breach and owe nothing.
        """
        price = self.current_price(month, book, contracts)
        not_offered = book.deliver_or_pay[contracts] * np.maximum(promised - offered, 0.0)
        not_taken = book.take_or_pay[contracts] * np.maximum(offered - accepted, 0.0)
        receiver_loses = np.maximum(self.receiver_running_value(month, book, contracts) - price, 0.0)
        supplier_loses = np.maximum(self.supplier_running_value(month, book, contracts, price), 0.0)
        return not_offered * receiver_loses, not_taken * supplier_loses

    def contract_month(self, month, book, contracts, shipped):
        """The money of a month's deliveries ``shipped`` (units of waste) on ``contracts``, EUR each:
        a :class:`ContractMonth` of what changes hands and what each side keeps."""
        pol = month.policy
        transaction_half = np.empty(len(contracts))
        transaction_half.fill(self.contract.transaction_cost_eur_per_month / 2)
        return ContractMonth(
            payment=shipped * self.current_price(month, book, contracts),
            transport=shipped * self.contract_transport_unit(pol, book, contracts),
            treatment=shipped * self.treatment_unit(pol, book.substitution[contracts]),
            subsidy=shipped * month.costs.subsidy[book.waste[contracts]],
            transaction_half=transaction_half,
        )

    def recovery_month(self, month, reused, k, waste):
        """Treatment cost and subsidy (EUR) of ``reused`` units of ``waste`` in place under substitutions ``k``."""
        return reused * self.treatment_unit(month.policy, k), reused * month.costs.subsidy[waste]

    def recovery_unit_gain(self, month, k, s):
        """EUR a month per unit of waste a firm saves by reusing the waste of its supply stream ``s`` itself under
        substitution ``k``."""
        subs, costs = self.subs, month.costs
        return (self.disposal_unit(month, s) + subs.ratio[k] * costs.virgin[subs.input[k]]
                - self.treatment_unit(month.policy, k) + costs.subsidy[subs.waste[k]])

    def loan_payment(self, capex_eur, months):
        """Monthly payment (EUR) on the loan that finances ``capex_eur`` over ``months``."""
        return monthly_payment(capex_eur, self.interest, months)

    def paying_months(self, term, new_pipe):
        """Months of a contract of ``term`` months in which it delivers and pays for what it needed
        built: all of them, or those after a new pipeline's construction (at least one)."""
        return np.where(new_pipe, np.maximum(term - self.construction_months, 1), term)

    # -- quantities, modes and terms ------------------------------------------------
    def free_quantity(self, s, d, k, conversion, converter_room=None):
        """Largest monthly quantity (units of waste) both sides still have free for substitution ``k``.

        ``conversion`` is the units of input replaced per unit of waste shipped.
        The substitution may replace at most ``Substitution.max_share`` of the input.
        ``converter_room``, where given, caps toll conversions at what their converter can still take (nan: no cap).
        """
        share = self.contract.quantity_share
        room = self.demand.free(share, d, cap=self.subs.max_share[k])
        free = np.minimum(self.supply.free(share, s), room / conversion)
        if converter_room is not None:
            free = np.where(np.isnan(converter_room), free, np.minimum(free, converter_room))
        return free

    def term_months(self, policy, mode):
        """Months a new contract by ``mode`` runs: longer where a pipeline must be paid off, never below the legal minimum."""
        c = self.contract
        return max(c.pipeline_duration_months if mode == PIPELINE else c.duration_months, math.ceil(policy.min_contract_months))

    def contract_term(self, policy, mode):
        """Months a new contract runs by ``mode`` (array)."""
        by_mode = np.empty(2, dtype=np.int64)
        by_mode[TRUCK], by_mode[PIPELINE] = self.term_months(policy, TRUCK), self.term_months(policy, PIPELINE)
        return by_mode[mode]

    def choose_mode(self, policy, waste, dist, quantity, existing_pipe, network_unit=0.0):
        """Cheapest allowed mode per pair: running cost per unit (EUR) and capex (EUR).

        Pipeline capex is paid off, with interest, over the pipeline contract term. ``network_unit`` is what a
        unit would bear for a shared network the pipe is part of (EUR).
        """
        p = self.logistics
        by_mode = self.transport_per_unit_km(policy)
        truck_unit, pipe_unit = by_mode[TRUCK][waste] * dist, by_mode[PIPELINE][waste] * dist + network_unit
        pipe_capex = np.maximum(p.pipeline_min_capex_eur, p.pipeline_capex_eur_per_km * dist)
        pipe_capex[existing_pipe] = 0.0
        months = self.paying_months(self.term_months(policy, PIPELINE), pipe_capex > 0)
        per_unit_capex = self.loan_payment(pipe_capex * (1.0 - policy.capex_subsidy_share), months) / np.maximum(quantity, 1e-9)
        # A comparison with nan (a mode not allowed) is false, so only a pipeline-only waste needs saying.
        use_pipe = self.materials.pipeline_only[waste] | (pipe_unit + per_unit_capex < truck_unit)
        mode = np.where(use_pipe, PIPELINE, TRUCK)
        unit = np.where(use_pipe, pipe_unit, truck_unit)
        return mode, unit, pipe_capex * use_pipe

    # -- a deal ---------------------------------------------------------------------
    def price_pairs(self, month, s, d, k, trust_s, trust_r, existing_pipe, renewal=False, dist=None, network=None,
                    network_load=None, receiver=None, converter_room=None):
        """:class:`Terms` and :class:`PairDetails` for candidate pairs.

        ``trust_s`` is the supplier's trust in the receiver and ``trust_r`` the
        receiver's in the supplier; ``existing_pipe`` marks pairs already joined by a
        pipeline for this waste (no new capex); a ``renewal`` pays no set-up cost.
        ``dist`` (km) may be passed when already known. ``network`` is the shared
        network that would carry each pair's waste (-1: none), and ``network_load``
        the units the network's other contracts carry (per pair): such a pair needs no
        pipeline of its own and bears its share of the network's cost.
        ``receiver`` (firms; default, the demand streams') names a converter where it is not the demand stream's
        firm: a toll conversion (:mod:`simulation.model.toll`), priced for at most ``converter_room`` units (nan
        for the others), by truck both ways, with the input's value on the supplier's side.
        Each pair is priced for the largest quantity both sides still have free.
        """
        costs, pol, c, firms = month.costs, month.policy, self.contract, self.firms
        supplier, owner = self.supply.firm[s], self.demand.firm[d]
        receiver = owner if receiver is None else receiver
        toll = receiver != owner
        waste, inp = self.supply.material[s], self.demand.material[d]
        dist = firms.distances(supplier, receiver) if dist is None else dist
        converts = self.conversion(waste, k, dist)
        quantity = self.free_quantity(s, d, k, converts, converter_room)
        if network is None:
            network, network_unit = np.full(len(s), -1), 0.0
        else:  # a pair with a pipeline of its own keeps to it
            network = np.where(existing_pipe, -1, network)
            existing_pipe = existing_pipe | (network >= 0)
            network_unit = self.networks.flow_charge(month.period, network, network_load + quantity)
        mode, transport_unit, capex = self.choose_mode(pol, waste, dist, quantity, existing_pipe, network_unit)
        if toll.any():  # the converter trucks the waste in and the product back, over the same road
            mode, capex = np.where(toll, TRUCK, mode), np.where(toll, 0.0, capex)
            round_trip = toll_haul_unit(self.transport_per_unit_km(pol), waste, inp, converts, dist)
            transport_unit = np.where(toll, round_trip, transport_unit)
        network = np.where(mode == PIPELINE, network, -1)
        # A network's pipe is no pipe of the pair's to pay off: its contract runs the ordinary term.
        term = self.contract_term(pol, np.where(network >= 0, TRUCK, mode))
        running_unit = transport_unit + self.treatment_unit(pol, k)
        paying = self.paying_months(term, capex > 0)
        capex_month = self.loan_payment(capex * (1.0 - pol.capex_subsidy_share), paying)
        setup = 0.0 if renewal else c.setup_cost_eur
        shared = c.transaction_cost_eur_per_month + setup / paying
        supplier_avoided = quantity * self.disposal_unit(month, s)
        receiver_avoided = quantity * converts * costs.virgin[inp]
        if toll.any():  # the product is the owner's: it avoids buying the input, the converter nothing
            supplier_avoided = supplier_avoided + np.where(toll, receiver_avoided, 0.0)
            receiver_avoided = np.where(toll, 0.0, receiver_avoided)
        terms = Terms(
            quantity=quantity,
            supplier_avoided=supplier_avoided,
            receiver_avoided=receiver_avoided,
            running_unit=running_unit,
            fixed_cost=shared + capex_month,
            subsidy=quantity * costs.subsidy[waste],
            shared=shared,
            supplier_hurdle=hurdles(firms.hurdle_rate[supplier], firms.risk_aversion[supplier], trust_s, supplier_avoided),
            receiver_hurdle=hurdles(firms.hurdle_rate[receiver], firms.risk_aversion[receiver], trust_r, receiver_avoided),
            beta=c.supplier_power,
        )
        details = np.zeros((len(PairDetails.NAMES), len(s)))
        details[:PairDetails.PRICED] = receiver, mode, dist, capex, converts, trust_s, trust_r, term, network
        return terms, PairDetails(details)


def toll_haul_unit(by_mode, waste, product, conversion, dist):
    """EUR per unit of ``waste`` a toll conversion's converter pays to truck it ``dist`` km in and ``conversion``
    units of ``product`` back over the same road (``by_mode``: :meth:`ExchangeEconomics.transport_per_unit_km`)."""
    return (by_mode[TRUCK, waste] + conversion * by_mode[TRUCK, product]) * dist
