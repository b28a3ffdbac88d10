"""Contract clauses, bargained pair by pair: delivery guarantees and price indexation.

The scenario's ``contract.deliver_or_pay_share``, ``take_or_pay_share`` and
``price_indexation`` are the most a contract may carry. With ``contract.terms =
"bargained"`` (the default) each pair chooses its clauses when it signs or
renews; with ``"standard"`` every contract carries them as set, as under a
standard-form contract a regulator or trade association imposes. Either way each
side's least acceptable gain (its hurdle, :meth:`simulation.model.firm.Firm.hurdle`)
prices what the clauses do to it, so the price and the split follow. ``"simple"``
imposes them unpriced: the deal is signed as it would be without them, as the
simple contracts of Albino, Fraccascia & Giannoccaro (2016), which fix quantities
and shares, are.

**Delivery guarantees** (expected damages at signing, EUR a month, quantity ``q``).
The risk premium in a side's hurdle, ``hurdle_rate * risk_aversion * (1 - trust) * |A|``,
is what it asks for bearing its partner's unreliability. A deliver-or-pay share
``g`` pays the receiver ``g`` of what it loses on each unit not offered, so ``g`` of
its premium falls away; the supplier in turn expects to pay damages on its own
shortfalls, ``g * q * u_s * L_r``, loaded by its risk aversion, ``(1 + risk_aversion)``.
Here ``u_s`` is the share of its promises the supplier expects not to offer (its own
record on past contracts; with none yet, the share of a month its plant is down)
and ``L_r`` what the receiver gains on a unit at the price without guarantees
(the damages per unit). Take-or-pay is the mirror image: the supplier's premium
falls away, the receiver expects to pay on what it will not take. A bargained
guarantee is signed, at its full share, only where it widens the space of
cooperation: where the partner's premium exceeds the guarantor's loaded expected
damages (:meth:`simulation.model.firm.Firm.guarantees`). New partners, who trust each other little, so write guarantees in,
and partners whose trust has caught up with their record drop them at renewal:
formal terms stand in for trust (Poppo & Zenger 2002).

**Price indexation.** A share ``x`` of a fall in the value of what a unit
replaces is passed into the price: the receiver bears ``1 - x`` of the fall, the
supplier ``x``. The pair signs the share, up to the ceiling, under which the deal
survives the largest fall with neither side losing money, ``x = g_s / (g_s + g_r)``
(``g`` each side's gain as signed): a side with a thin margin is not left holding
the price risk.
"""

import numpy as np

from simulation.model.columns import NamedRows
from simulation.model.firm import guaranteeing, risk_premiums
from simulation.scenario.timeline import DAYS_PER_MONTH


class Clauses(NamedRows):
    """Each pair's clauses: price indexation, deliver-or-pay and take-or-pay shares (rows of one array)."""

    NAMES = ("indexation", "deliver_or_pay", "take_or_pay")


class ClauseBargain:
    """Chooses the clauses of priced pairs (:meth:`settle`) from the scenario's ceilings and the firms' records."""

    def __init__(self, firms, contract, outages):
        self.firms = firms
        self.ceiling = np.array([contract.price_indexation, contract.deliver_or_pay_share, contract.take_or_pay_share])
        self.bargained = contract.terms == "bargained"
        self.priced = contract.terms != "simple"
        # What a firm with no record yet expects of itself: a plant that is down offers and takes nothing.
        self.down_share = outages.rate_per_month * min(outages.mean_repair_days / DAYS_PER_MONTH, 1.0)

    def settle(self, terms, supplier, receiver, trust_s, trust_r, book, toll=None):
        """The ``terms`` of pairs (firm indices ``supplier``, ``receiver``, each one's trust in the other) with
        their clauses priced in, and the :class:`Clauses` chosen; ``book`` holds the firms' records.

        A toll conversion (``toll``, a mask; :mod:`simulation.model.toll`) has no indexation and no take-or-pay:
        the input's value is the owner's, not the payer's, and what the owner takes back is its own need, no
        refusal of the converter's."""
        n = len(terms.quantity)
        if not self.ceiling.any() or not self.priced:
            return terms, Clauses(self.for_toll(np.repeat(self.ceiling[:, None], n, axis=1), toll))
        firms = self.firms
        short_offering, short_taking = self.shortfall_shares(book)
        q = terms.quantity
        per_unit = np.where(q > 0, q, 1.0)
        price = terms.price
        receiver_loss = np.maximum(terms.receiver_avoided / per_unit - terms.running_unit - price, 0.0)
        supplier_loss = np.maximum((terms.supplier_avoided + terms.subsidy) / per_unit + price, 0.0)
        aversion_s, aversion_r = firms.risk_aversion[supplier], firms.risk_aversion[receiver]
        premium_s = risk_premiums(firms.hurdle_rate[supplier], aversion_s, trust_s, terms.supplier_avoided)
        premium_r = risk_premiums(firms.hurdle_rate[receiver], aversion_r, trust_r, terms.receiver_avoided)
        damages_s = q * short_offering[supplier] * receiver_loss  # expected, EUR a month, at the full share
        damages_r = q * short_taking[receiver] * supplier_loss
        indexation, deliver_or_pay, take_or_pay = self.ceiling
        if self.bargained:
            g = deliver_or_pay * guaranteeing(premium_r, damages_s, aversion_s)
            t = take_or_pay * guaranteeing(premium_s, damages_r, aversion_r)
        else:
            g, t = np.full(n, deliver_or_pay), np.full(n, take_or_pay)
        if toll is not None:
            t = np.where(toll, 0.0, t)
        settled = terms.with_hurdles(terms.supplier_hurdle + g * damages_s * (1 + aversion_s) - t * premium_s,
                                     terms.receiver_hurdle + t * damages_r * (1 + aversion_r) - g * premium_r)
        return settled, Clauses(np.array([self.indexation(settled, np.full(n, indexation), toll), g, t], dtype=float))

    @staticmethod
    def for_toll(clauses, toll):
        """``clauses`` (rows indexation, deliver-or-pay, take-or-pay) with neither indexation nor take-or-pay for
        the toll conversions among them (``toll``, a mask, or None for none)."""
        if toll is None or not toll.any():
            return clauses
        clauses = clauses.copy()
        clauses[[0, 2]] = np.where(toll, 0.0, clauses[[0, 2]])
        return clauses

    def indexation(self, deal, priced, toll=None):
        """The indexation share of ``deal`` (:class:`~simulation.model.exchange.Terms`) as signed: bargained, the
        share under which both gains run out at the same fall (worked out again for a deal re-sized since it was
        priced), else ``priced``; none for a toll conversion (``toll``, a mask, or None for none), whose fee does
        not follow the input's value, which is the owner's."""
        share = np.minimum(self.ceiling[0], surviving_share(deal.supplier_gain, deal.receiver_gain)) \
            if self.bargained else priced
        return share if toll is None else np.where(toll, 0.0, share)

    def shortfall_shares(self, book):
        """Per firm, the share of its promises it did not offer as a supplier and the share of what was offered
        that it did not take as a receiver, over all its contracts so far; for a firm with no such record, the
        share of a month its plant is down."""
        n = len(self.firms)
        every, taken_by_receiver = np.arange(book.size), np.flatnonzero(~book.toll[:book.size])
        shares = []
        # What a toll contract's owner takes back is its own need: no record of the converter's.
        for side, asked, given, ids in ((book.supplier, book.promised_total, book.offered_total, every),
                                        (book.receiver, book.offered_total, book.accepted_total, taken_by_receiver)):
            asked_by_firm = np.bincount(side[ids], weights=asked[ids], minlength=n)
            given_by_firm = np.bincount(side[ids], weights=given[ids], minlength=n)
            record = 1.0 - np.divide(given_by_firm, asked_by_firm, out=np.ones(n), where=asked_by_firm > 0)
            shares.append(np.where(asked_by_firm > 0, record, self.down_share))
        return shares


def surviving_share(supplier_gain, receiver_gain):
    """The indexation share under which a deal survives the largest fall in the value of what it replaces:
    the supplier's share of the two gains (0 where they do not add up to a gain)."""
    total = supplier_gain + receiver_gain
    share = np.divide(supplier_gain, total, out=np.zeros(len(total)), where=total > 0)
    return np.clip(share, 0.0, 1.0)
