"""The firm: a plant that produces, emits wastes, and decides on exchanges.

A :class:`Firm` is a Mesa agent. Its state (cash, production, streams,
contracts) reads as properties, and its decision rules are its methods, each
written for one firm in plain Python:

* :meth:`Firm.hurdle`, :meth:`Firm.accepts` and :meth:`Firm.renews`: whether a deal pays enough;
* :meth:`Firm.breaks`: whether it walks out of a contract that loses money;
* :meth:`Firm.invests`: whether it builds recovery technology for its own waste;
* :meth:`Firm.holds_up`: what more it asks of a partner whose investment in their deal is sunk;
* :meth:`Firm.leaves_platform`: whether it stops using the facilitator's platform, which finds it nothing;
* :meth:`Firm.exits` and :meth:`Firm.closes`: whether it leaves the park, out of cash or after
  sustained losses.

A month applies these rules to thousands of firms and pairs at once, so each
has a bulk twin below it (:func:`hurdles`, :func:`breaking`, :func:`investing`,
:func:`holding_up`, :func:`leaving_platform`, :func:`exiting`, :func:`closing`) that the phases call; acceptance's twin is
``simulation.model.exchange.Terms.acceptable``, which decides on the space of
cooperation (both sides' gains clear their hurdles exactly when it is >= 0). The
tests hold each twin equal to its rule on random states. The firms' numbers live in one :class:`FirmTable` (a row per firm) so that
the twins can work on columns.
"""

import mesa
import numpy as np

from simulation.model.keyed import ragged_rows


class Firm(mesa.Agent):
    """A firm of the park.

    Attributes:
        index: row of this firm in the :class:`FirmTable` and the model's arrays.
        firm_id, name, sector, process: identity and current recipe.
        acquaintances: indices of firms it knows beyond its neighbourhood.
    """

    def __init__(self, model, index, firm_id, name, sector, process):
        super().__init__(model)
        self.index = index
        self.firm_id = firm_id
        self.name = name or firm_id
        self.sector = sector
        self.process = process
        self.acquaintances = set()
        self._known = np.zeros(0, dtype=np.int64)  # acquaintances as an array, in the order met (acquaintance_array)
        self._met = []  # and those met since it was last asked for
        self._table = model.firms  # where its numbers are (the DataCollector reads them every month)

    def __repr__(self):
        return f"Firm({self.firm_id!r}, {self.sector}, {self.process})"

    # -- state (read only) -------------------------------------------------------
    @property
    def cash(self):
        """EUR at the end of the last month."""
        return self._table.cash[self.index]

    @property
    def production(self):
        """Product units made last month."""
        return self._table.production[self.index]

    @property
    def utilisation(self):
        """Share of capacity the firm ran at last month, before outages."""
        return self._table.utilisation[self.index]

    @property
    def capacity(self):
        """Product units a month at full utilisation."""
        return float(self._table.capacity[self.index])

    @property
    def hurdle_rate(self):
        return float(self._table.hurdle_rate[self.index])

    @property
    def risk_aversion(self):
        return float(self._table.risk_aversion[self.index])

    @property
    def active(self):
        """True while the firm is in the park."""
        return bool(self._table.active[self.index])

    @property
    def wastes(self):
        """Material id -> units a month the firm expects to emit, for each waste it has now."""
        return self.model.supply.expected_by_material(self.index, self.model.materials.ids)

    @property
    def inputs(self):
        """Material id -> units a month the firm expects to need, for each input it has now."""
        return self.model.demand.expected_by_material(self.index, self.model.materials.ids)

    @property
    def active_contracts(self):
        """Ids (rows of ``model.contracts``) of the contracts delivering to or from the firm."""
        return self.model.contracts.of_firm(self.index)

    @property
    def partners(self):
        """The firms it exchanges with under an active contract."""
        book = self.model.contracts
        ids = self.active_contracts
        others = np.where(book.supplier[ids] == self.index, book.receiver[ids], book.supplier[ids])
        agents = self.model.firm_list
        return [agents[i] for i in np.unique(others).tolist()]

    @property
    def links(self):
        """Number of the firm's contracts active at the end of last month."""
        return int(self._table.links[self.index])

    @property
    def savings(self):
        """EUR the firm saved last month against disposing of all its wastes and buying all inputs virgin."""
        return self._table.savings[self.index]

    def trust_in(self, other):
        """Trust in [0, 1] in ``other`` (a Firm or its index), learnt from its deliveries: as it stands on the
        latest contract between them still running, else as the last one left it; ``trust.initial`` for strangers."""
        other = other.index if isinstance(other, Firm) else int(other)
        book = self.model.contracts
        running = book.running()
        supplier, receiver = book.supplier[running], book.receiver[running]
        between = running[((receiver == self.index) & (supplier == other)) | ((supplier == self.index) & (receiver == other))]
        if len(between):
            latest = between.max()
            live = book.trust_in_supplier if book.receiver[latest] == self.index else book.trust_in_receiver
            return float(live[latest])
        return float(self.model.trust_between(np.array([self.index]), np.array([other]))[0])

    # -- decision rules, one firm at a time ------------------------------------------
    def hurdle(self, avoided_eur, trust):
        """Least net gain (EUR a month) the firm needs from a deal in which it avoids ``avoided_eur``
        a month, given its trust in the partner: more the less it trusts."""
        return self.hurdle_rate * (1 + self.risk_aversion * (1 - trust)) * abs(avoided_eur)

    def accepts(self, gain_eur, avoided_eur, trust):
        """Whether a deal that gives the firm ``gain_eur`` a month clears its hurdle."""
        return gain_eur >= self.hurdle(avoided_eur, trust)

    def renews(self, gain_eur, avoided_eur, trust):
        """Whether the firm signs again a contract that expires, priced afresh at today's costs, flows and
        trust: a renewal is a new deal on the same link, so the rule is the one for any deal."""
        return self.accepts(gain_eur, avoided_eur, trust)

    def breaks(self, gain_eur, months_at_loss, months_left, penalty_eur, review_months):
        """Whether the firm breaks a contract that gives it ``gain_eur`` this month: it has lost money on it
        for ``review_months`` in a row, and what it would lose over the ``months_left`` exceeds the penalty."""
        return months_at_loss >= review_months and -gain_eur * months_left > penalty_eur

    def moves_waste(self, current_gain_eur, better_gain_eur, months_left, penalty_eur):
        """Whether the firm moves a contracted waste from a deal giving it ``current_gain_eur`` a month to one
        giving it ``better_gain_eur``, each net of the risk premium it asks of that partner (:meth:`risk_premium`:
        a partner it trusts less must pay more to be worth the change). At the contract's end (``months_left``
        0) the new use need only pay more; before it, the extra gain over the months left must also pay the
        penalty for leaving early."""
        extra = better_gain_eur - current_gain_eur
        return extra > 0 and (months_left <= 0 or extra * months_left > penalty_eur)

    def invests(self, gain_eur, loan_payment_eur, quantity, min_quantity):
        """Whether recovery technology that saves ``gain_eur`` a month, financed by a loan of
        ``loan_payment_eur`` a month, is worth building for ``quantity`` units of waste a month."""
        return quantity >= min_quantity and gain_eur >= loan_payment_eur * (1 + self.hurdle_rate)

    def risk_premium(self, avoided_eur, trust):
        """The part of its hurdle (EUR a month) the firm asks for bearing its partner's unreliability."""
        return self.hurdle_rate * self.risk_aversion * (1 - trust) * abs(avoided_eur)

    def guarantees(self, partners_premium_eur, expected_damages_eur):
        """Whether the firm writes a delivery guarantee into a deal: where the cover takes away more of its
        partner's risk premium (EUR a month) than the damages it expects to pay on its own record, loaded
        by its risk aversion, cost it (so the deal's space of cooperation widens)."""
        return partners_premium_eur > expected_damages_eur * (1 + self.risk_aversion)

    def keeps_backup(self, standby_eur, expected_loss_eur):
        """Whether the firm keeps its own plant for a critical input on standby (a backup boiler), at
        ``standby_eur`` a month, against the ``expected_loss_eur`` a month of output it expects to lose
        without it when its exchanges fail (:mod:`simulation.model.coupling`): a redundancy with a price."""
        return expected_loss_eur > 0 and standby_eur <= expected_loss_eur

    def holds_up(self, own_gain_eur, partner_gain_eur, penalty_eur, months_left, share):
        """EUR a month more the firm asks of a partner once the partner's investment in their deal (a pipeline
        it paid for) is sunk, on a contract giving it ``own_gain_eur`` and the partner ``partner_gain_eur`` a
        month, with ``months_left`` to run and ``penalty_eur`` for breaking it.

        Renegotiation is bargaining afresh over the joint gain, the partner's sunk capex no longer in it, with
        breaking the contract as the fall-back: the firm would pay the penalty, which the partner would receive.
        It claims ``share`` of the joint gain and asks for the rest of its claim above what it has, so strong
        enforcement (a penalty as large as the claim) leaves nothing to ask. The partner is left at least what
        walking away would give it, so it gives in.
        """
        return holding_up(own_gain_eur, partner_gain_eur, penalty_eur, months_left, share)

    def leaves_platform(self, patience):
        """Whether the firm stops using the facilitator's platform: its last ``patience`` searches as a member
        found it no partner through the platform (0: it never gives up). Keeping a listing up to date costs
        staff time, so a platform too few firms use loses the few it has: a critical mass."""
        return leaving_platform(self._table.platform_misses[self.index], patience)

    def exits(self, exit_after_months):
        """Whether the firm leaves the park: its cash has been negative for ``exit_after_months`` months in a row."""
        return self._table.loss_months[self.index] >= exit_after_months

    def closes(self, close_after_months):
        """Whether the owner closes the plant, cash or not: its month has lost money for ``close_after_months``
        months in a row (0: never for that reason)."""
        return closing(self._table.result_loss_months[self.index], close_after_months)

    # -- acquaintances ------------------------------------------------------------
    def meet(self, others):
        """This firm and each of ``others`` (indices) know each other from now on."""
        for other in others:
            if other != self.index and other not in self.acquaintances:
                partner = self._table.agents[other]
                self.acquaintances.add(other)
                partner.acquaintances.add(self.index)
                self._met.append(other)
                partner._met.append(self.index)

    def acquaintance_array(self):
        """``acquaintances`` as an int64 array, in the order met. Searches ask for it every month and most firms
        meet few new firms in a month, so it is kept and extended with those (``make bench-tricks``: rebuilding it
        from the set each time costs about a tenth of the 10,000-firm run)."""
        if self._met:
            self._known = np.concatenate([self._known, np.array(self._met, dtype=np.int64)])
            self._met = []
        return self._known


# -- the same rules for many firms at once (held equal to the methods above by the tests) --
def hurdles(rate, risk_aversion, trust, avoided_eur):
    """:meth:`Firm.hurdle` for arrays of sides: least net gain (EUR a month) each needs.

    ``avoided_eur`` is the side's avoided cost; a supplier that gives up a resale
    value has that revenue at stake, hence the absolute value.
    """
    return rate * (1 + risk_aversion * (1 - trust)) * np.abs(avoided_eur)


def risk_premiums(rate, risk_aversion, trust, avoided_eur):
    """:meth:`Firm.risk_premium` for arrays of sides (EUR a month)."""
    return rate * risk_aversion * (1 - trust) * np.abs(avoided_eur)


def guaranteeing(partners_premium_eur, expected_damages_eur, risk_aversion):
    """:meth:`Firm.guarantees` for arrays of guarantors."""
    return partners_premium_eur > expected_damages_eur * (1 + risk_aversion)


def breaking(gain_eur, months_at_loss, months_left, penalty_eur, review_months):
    """:meth:`Firm.breaks` for arrays of contract sides."""
    return (months_at_loss >= review_months) & (-gain_eur * months_left > penalty_eur)


def moving_waste(current_gain_eur, better_gain_eur, months_left, penalty_eur):
    """:meth:`Firm.moves_waste` for arrays of contracts."""
    extra = better_gain_eur - current_gain_eur
    return (extra > 0) & ((months_left <= 0) | (extra * months_left > penalty_eur))


def investing(gain_eur, loan_payment_eur, quantity, min_quantity, hurdle_rate):
    """:meth:`Firm.invests` for arrays of options (``hurdle_rate`` of each option's firm)."""
    return (quantity >= min_quantity) & (gain_eur >= loan_payment_eur * (1 + hurdle_rate))


def keeping_backup(standby_eur, expected_loss_eur):
    """:meth:`Firm.keeps_backup` for arrays of critical input streams."""
    return (expected_loss_eur > 0) & (standby_eur <= expected_loss_eur)


def holding_up(own_gain, partner_gain, penalty, months_left, share):
    """:meth:`Firm.holds_up` for many contracts."""
    fallback = penalty / np.maximum(months_left, 1)  # the penalty, a month of what is left
    ask = share * (own_gain + partner_gain) - own_gain - fallback
    # Never more than the partner would keep over walking away; nothing from a deal that no longer pays.
    ask = np.minimum(ask, partner_gain - fallback)
    return np.where((own_gain + partner_gain > 0) & (ask > 0), ask, 0.0)


def leaving_platform(misses, patience):
    """:meth:`Firm.leaves_platform` for many firms."""
    return (patience > 0) & (misses >= patience)


def exiting(months_in_debt, exit_after_months):
    """:meth:`Firm.exits` for all firms."""
    return months_in_debt >= exit_after_months


def closing(months_at_loss, close_after_months):
    """:meth:`Firm.closes` for all firms."""
    return (close_after_months > 0) & (months_at_loss >= close_after_months)


EXIT_REASONS = ("", "scheduled", "out of cash", "closed after losses")


class FirmTable:
    """The park's firms as columns, one row per firm (entered or not yet): what the bulk rules work on.

    Quantities are per month: ``production`` and ``capacity`` in product units,
    ``margin`` in EUR per product unit, ``cash``, ``cash_flow`` and ``savings`` in EUR.
    """

    def __init__(self, specs, firm_defaults, mean_utilisation, calendar, sectors):
        n = len(specs)
        self.specs = specs
        self.ids = [f.id for f in specs]
        self.sector = np.array([sectors.index(f.sector) for f in specs], dtype=np.int64)  # index into ``sectors``
        self.x = np.array([f.x_km for f in specs], float)  # km
        self.y = np.array([f.y_km for f in specs], float)
        self.capacity = np.array([f.capacity for f in specs], float)
        self.margin = np.zeros(n)  # EUR per unit of product before material, disposal and carbon costs
        self.input_co2 = np.zeros(n)  # t CO2 embodied in the virgin inputs of one unit of product
        self.input_price_ref = np.zeros(n)  # EUR of virgin inputs per unit of product at catalogue prices
        # Process.displaces: t CO2 of the fossil fuel one unit of product replaces, and the feedstock (a material
        # index, -1 for none) whose share brought by exchanges earns that credit (co2_attributed_t)
        self.displaced_co2 = np.zeros(n)
        self.feedstock = np.full(n, -1, dtype=np.int64)
        self.utilisation = np.full(n, mean_utilisation)
        self.production = np.zeros(n)
        self.output_limit = np.ones(n)  # share of capacity it can run this month, given last month's critical inputs
        self.active = np.zeros(n, dtype=bool)
        self.cash = np.zeros(n)
        self.cash_flow = np.zeros(n)  # this month's, until the accounts add it to cash
        self.savings = np.zeros(n)  # last month's, against no exchange at all
        self.links = np.zeros(n, dtype=np.int64)  # active contracts last month
        self.loss_months = np.zeros(n, dtype=np.int64)  # months in a row with negative cash
        self.result_loss_months = np.zeros(n, dtype=np.int64)  # months in a row whose result was a loss
        self.fixed_unit = np.zeros(n)  # EUR of fixed cost per unit of normal output
        self.fixed_month = np.zeros(n)  # EUR of fixed cost a month
        self.exit_reason = np.zeros(n, dtype=np.int8)  # a code of EXIT_REASONS, once it has left
        d = firm_defaults
        self.hurdle_rate = np.array([d.hurdle_rate if f.hurdle_rate is None else f.hurdle_rate for f in specs], float)
        self.risk_aversion = np.array([d.risk_aversion if f.risk_aversion is None else f.risk_aversion for f in specs], float)
        self.entry = np.array([calendar.period_of(f.entry) for f in specs], dtype=np.int64)
        self.exit = np.array([-1 if f.exit is None else calendar.period_of(f.exit) for f in specs], dtype=np.int64)
        self.left = np.full(n, -1, dtype=np.int64)  # month each firm left, -1 while it has not
        self.next_search = np.zeros(n, dtype=np.int64)  # first month a firm may search again
        # Uniform draw at entry; a firm is on the platform while its draw is below the participation rate.
        self.platform_draw = np.full(n, np.inf)
        self.platform_misses = np.zeros(n, dtype=np.int64)  # searches in a row the platform found a member nothing
        self.platform_left = np.zeros(n, dtype=bool)  # gave the platform up for good
        self.platform_version = 0  # counts changes of membership other than entry and exit
        self.agents = [None] * n  # the Firm of each row, once it has entered

    def __len__(self):
        return len(self.ids)

    def platform_members(self, participation):
        """Active firms on the facilitator's platform at ``participation`` (a share), but for those that gave it up."""
        return (self.platform_draw < participation) & self.active & ~self.platform_left

    def distances(self, a, b):
        """Straight-line distance in km between firm index arrays ``a`` and ``b``."""
        return np.hypot(self.x[a] - self.x[b], self.y[a] - self.y[b])


class AcquaintanceLists:
    """Whom each of some firms knows, as flat arrays: a snapshot, blind to later meetings.

    ``firms`` are distinct firm indices and ``slot[firms[j]] == j``.
    """

    def __init__(self, firm_list, firms, slot):
        self.firms = firms
        self.slot = slot
        known = [firm_list[f].acquaintance_array() for f in firms.tolist()]
        self.counts = np.fromiter((len(a) for a in known), np.int64, len(known))
        self.flat = np.concatenate(known) if known else np.zeros(0, dtype=np.int64)
        self.starts = self.counts.cumsum() - self.counts

    def known_pairs(self):
        """(firm, acquaintance) arrays: every acquaintance of every one of ``firms``."""
        return self.firms.repeat(self.counts), self.flat

    def pairs(self, firms):
        """(row, acquaintance) arrays: every acquaintance of each of ``firms`` (which may repeat)."""
        if len(self.flat) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        row_of = self.slot[firms]
        rows, at = ragged_rows(self.starts[row_of], self.counts[row_of])
        return rows, self.flat[at]
