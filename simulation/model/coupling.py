"""Coupled production: a plant short of a critical input loses output, so a failed supply can travel.

A process's ``critical`` inputs (steam, process heat, a feedstock, process
water) are ones it cannot run without. A firm that gets part of such an input
through exchanges (contracts, or its own recovery plant) has two fallbacks when
they fail to deliver:

* its own plant kept on **standby** (a backup boiler), at
  ``Material.standby_eur`` a month per unit of monthly capacity, which covers the
  failed supply in full at the virgin price;
* the **short-notice market**, which supplies ``Material.short_notice_share`` of
  what is still missing, at the virgin price plus ``Material.short_notice_premium``.

A supply that stops without warning (the supplier leaves, switches process or
breaks the contract) fails in full for the month it stops; after that the firm
has arranged its own supply again. What neither fallback covers is lost: next month the firm can run only the share of its
capacity that its worst-supplied critical input allows (Leontief), so it makes
less product and less of every waste, and its own partners get less. The month's
delay stands for the input stocks a plant runs down first.

Whether to keep the standby plant is the firm's redundancy choice
(:meth:`simulation.model.firm.Firm.keeps_backup`), made each month against the
output it expects to lose without it.
"""

import numpy as np


def failed_supply(flows, conversion, demand, n_demand):
    """Input units each of ``n_demand`` demand streams' contracts failed to bring this month: what suppliers
    promised and did not have, and what they had and the receiver could take but the trucks did not move.
    What the receiver could not take (its need fell, the substitution's cap) is no failure. ``conversion``
    and ``demand`` are each running contract's input units per unit of waste and demand stream."""
    planned = np.minimum(flows.contract_offered, flows.contract_accepted)
    failed = np.maximum(flows.contract_promised - flows.contract_offered, 0.0) + np.maximum(planned - flows.contract_shipped, 0.0)
    return np.bincount(demand, weights=failed * conversion, minlength=n_demand)


def critical_shortfalls(failed_in, missing, backup, critical, short_share):
    """Units of each demand stream's input bought at short notice and units lost this month.

    ``failed_in`` is what exchanges failed to bring the stream (input units),
    ``missing`` what the stream lacks after reuse and deliveries, ``backup`` the
    standby capacity kept for it, ``critical`` whether the firm's process needs it
    to run, ``short_share`` the short-notice market's share of its material.
    """
    failed = np.minimum(failed_in, missing) * critical
    uncovered = np.maximum(failed - backup, 0.0)
    short_notice = uncovered * short_share
    return short_notice, uncovered - short_notice


def output_limits(lost, need, firm, n_firms):
    """Share of its capacity each of ``n_firms`` can run next month: one less its largest share of a critical input lost."""
    share = np.divide(lost, need, out=np.zeros(len(need)), where=need > 0)
    worst = np.zeros(n_firms)
    np.maximum.at(worst, firm, share)
    return 1.0 - np.minimum(worst, 1.0)


def expected_losses(committed, coef, trust, short_share, unit_loss, least_failure=0.0):
    """EUR a month a firm expects to lose without standby on each critical stream: what a unit not made
    costs it (its margin and fixed cost) on the exchanged input's share of output, times the share its
    exchanges are expected to fail (its distrust in its suppliers, but never less than ``least_failure``,
    the share of a month a supplier's plant is expected to be down), less what the short-notice market
    would cover."""
    failing = np.maximum(1.0 - trust, least_failure)
    return failing * (1.0 - short_share) * committed / coef * np.maximum(unit_loss, 0.0)