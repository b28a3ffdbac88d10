"""Surplus of a waste exchange and the rule that splits it.

For a supplier of waste *w* and a receiver that uses it in place of virgin
input *i* at ``ratio`` units of *i* per unit of *w*, with ``q`` units of *w* a
month (all money in EUR per month):

* supplier's avoided cost ``A_s = q * disposal_cost(w)`` (gate fee, landfill tax,
  carbon price on disposal emissions);
* receiver's avoided cost ``A_r = q * ratio * virgin_cost(i)`` (price, virgin
  tax, carbon price passed through on production emissions);
* joint extra cost ``C = q * (transport + treatment + carbon on both) +
  transaction + setup / term + capex * (1 - capex_subsidy) / term`` (a renewal
  pays no set-up and no new capex);
* subsidy ``B = q * subsidy``;
* surplus ``S = A_s + A_r + B - C``.

Each side's hurdle is ``H = hurdle_rate * (1 + risk_aversion * (1 - trust)) * |A|``
on its own avoided cost ``A``: the least net gain it needs to bother, higher the
less it trusts the partner. A deal exists only when the *space of cooperation*
``S - H_s - H_r`` is >= 0 (and ``S > 0``); the split is the generalised Nash
bargaining solution with the hurdles as disagreement points::

    U_s = H_s + beta * (S - H_s - H_r),    U_r = H_r + (1 - beta) * (S - H_s - H_r)

with ``beta`` the supplier's bargaining power. The transfer is a price per unit
of waste paid by the receiver (negative: the supplier pays a fee), with the
receiver bearing transport, treatment and capex and each side half the
transaction and set-up costs (``shared``). By construction no accepted side gets less than its hurdle.

Everything here works on numpy arrays, one element per candidate pair.
"""

from functools import cached_property

import numpy as np

BASE = ("quantity", "supplier_avoided", "receiver_avoided", "running_unit", "fixed_cost", "subsidy", "shared",
        "supplier_hurdle", "receiver_hurdle")


class Terms:
    """Vectorised deal terms for candidate pairs (EUR per month unless noted).

    Given as keyword arrays of one length (any but ``quantity`` may be a scalar), and
    ``beta``, the supplier's bargaining power:

    * ``quantity``: units of waste a month;
    * ``supplier_avoided``, ``receiver_avoided``: each side's avoided cost;
    * ``running_unit``: transport, treatment and their carbon, EUR per unit of waste;
    * ``fixed_cost``: shared costs plus amortised capex after subsidy;
    * ``subsidy``;
    * ``shared``: transaction plus amortised set-up cost, split equally;
    * ``supplier_hurdle``, ``receiver_hurdle``.

    The given values sit in one array, a row each, so that :meth:`select` and
    :meth:`replace`, which the search calls many times a month, take one step.
    """

    def __init__(self, *, beta, **base):
        if base.keys() != set(BASE):
            raise TypeError(f"Terms needs exactly {', '.join(BASE)} and beta; got {', '.join(sorted(base))}")
        values = np.empty((len(BASE), len(base["quantity"])))
        for row, name in zip(values, BASE):
            row[:] = base[name]
        self._bind(values, beta)

    @classmethod
    def _of(cls, values, beta):
        terms = object.__new__(cls)
        terms._bind(values, beta)
        return terms

    def _bind(self, values, beta):
        self.values, self.beta = values, beta
        self.__dict__.update(zip(BASE, values))  # each given quantity as a view of its row

    # Derived values are cached: a Terms is never changed in place (replace, select and
    # with_quantity make new ones) and the search reads them several times.
    @cached_property
    def joint_cost(self):
        return self.quantity * self.running_unit + self.fixed_cost

    def replace(self, index, other):
        """A copy with the pairs at ``index`` replaced by the pairs of ``other``."""
        values = self.values.copy()
        values[:, index] = other.values
        return Terms._of(values, self.beta)

    def with_quantity(self, quantity):
        """The same deal for another quantity: everything but the fixed costs scales."""
        scale = np.divide(quantity, self.quantity, out=np.zeros_like(self.quantity), where=self.quantity > 0)
        return Terms(
            quantity=np.asarray(quantity, float) * np.ones_like(self.quantity),
            supplier_avoided=self.supplier_avoided * scale,
            receiver_avoided=self.receiver_avoided * scale,
            running_unit=self.running_unit,
            fixed_cost=self.fixed_cost,
            subsidy=self.subsidy * scale,
            shared=self.shared,
            supplier_hurdle=self.supplier_hurdle * scale,
            receiver_hurdle=self.receiver_hurdle * scale,
            beta=self.beta,
        )

    def select(self, index):
        """The terms of the pairs at ``index`` (an int gives a one-pair Terms)."""
        return Terms._of(self.values[:, np.atleast_1d(index)], self.beta)

    @cached_property
    def surplus(self):
        return self.supplier_avoided + self.receiver_avoided + self.subsidy - self.joint_cost

    @cached_property
    def space(self):
        """Space of cooperation: surplus left after both hurdles."""
        return self.surplus - self.supplier_hurdle - self.receiver_hurdle

    @cached_property
    def acceptable(self):
        return (self.space >= 0) & (self.surplus > 0) & (self.quantity > 0)

    @cached_property
    def supplier_gain(self):
        return self.supplier_hurdle + self.beta * self.space

    @cached_property
    def receiver_gain(self):
        return self.receiver_hurdle + (1 - self.beta) * self.space

    @cached_property
    def price(self):
        """EUR per unit of waste paid by the receiver to the supplier."""
        q = np.where(self.quantity > 0, self.quantity, 1.0)
        return (self.supplier_gain - self.supplier_avoided - self.subsidy + self.shared / 2) / q


def hurdle(rate, risk_aversion, trust, at_stake):
    """Least net gain (EUR/month) a side needs, given its trust in the partner.

    ``at_stake`` is the side's avoided cost; a supplier that gives up a resale
    value has that revenue at stake, hence the absolute value.
    """
    return rate * (1 + risk_aversion * (1 - trust)) * np.abs(at_stake)


def side_gains(quantity, price, supplier_unit_value, receiver_unit_value, subsidy_unit, transaction):
    """Current monthly gains of both sides of a signed contract at its fixed price.

    ``supplier_unit_value`` is the avoided disposal cost per unit of waste,
    ``receiver_unit_value`` the avoided virgin cost minus the receiver's running
    cost (transport, treatment, carbon) per unit of waste. Sunk capex is not
    counted: it no longer depends on staying in the deal.
    """
    supplier = quantity * (supplier_unit_value + subsidy_unit + price) - transaction / 2
    receiver = quantity * (receiver_unit_value - price) - transaction / 2
    return supplier, receiver
