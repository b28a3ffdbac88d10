"""Surplus of a waste exchange and the rule that splits it.

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

import numpy as np

from simulation.model.columns import NamedRows

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
    * ``running_unit``: transport, treatment and their carbon, EUR per unit of waste;
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
