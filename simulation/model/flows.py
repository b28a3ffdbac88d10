"""One month of physical flows, in units of each material: the mass balance.

Order of use for every waste stream (the seed's rule that all waste needs a
home): internal reuse in the firm's own plant first, then deliveries on
contracts, then storage up to capacity, then disposal. For every supply stream
``generated = reused + shipped + disposed + (stock_after - stock_before)``
holds exactly; :func:`month_flows` is a pure function of arrays so that this can
be tested on its own.
"""

from dataclasses import dataclass

import numpy as np

from simulation.model.keyed import first_occurrences


def allocate(requests, group, available):
    """Scale ``requests`` down pro rata wherever their ``group``'s total exceeds ``available``."""
    if len(requests) == 0:
        return requests
    total = np.bincount(group, weights=requests, minlength=len(available))
    available = np.maximum(available, 0.0)  # rounding can leave -1e-13 of a need
    scale = np.divide(available, total, out=np.ones(len(total)), where=total > available)  # in [0, 1]
    return requests * scale[group]


@dataclass
class MonthFlows:
    generated: np.ndarray  # per supply stream
    reused: np.ndarray  # per supply stream (units of waste)
    shipped: np.ndarray  # per supply stream (units of waste)
    disposed: np.ndarray  # per supply stream
    stock_before: np.ndarray
    stock_after: np.ndarray
    need: np.ndarray  # per demand stream (units of input)
    reused_in: np.ndarray  # per demand stream (units of input replaced by own waste)
    received_in: np.ndarray  # per demand stream (units of input replaced by deliveries)
    virgin: np.ndarray  # per demand stream (units bought new)
    contract_promised: np.ndarray  # per running contract (units of waste)
    contract_offered: np.ndarray  # per running contract: what the supplier had for it
    contract_shipped: np.ndarray  # per running contract (units of waste)
    contract_accepted: np.ndarray  # per running contract: what the receiver could take
    contract_received: np.ndarray  # per running contract (units of input replaced)
    recovery_reused: np.ndarray  # per recovery installation (units of waste)
    # Set by the physical month for critical inputs (simulation.model.coupling): need = reused_in + received_in
    # + virgin + lost_in, where virgin includes what was bought at short notice.
    short_notice: np.ndarray = None  # per demand stream (units bought at short notice)
    lost_in: np.ndarray = None  # per demand stream (units missing: next month's output falls)


def month_flows(generated, need, stock, capacity, recovery, contracts, ship_share):
    """Compute a month's flows.

    ``recovery`` holds arrays ``supply``, ``demand``, ``ratio``, ``max_share`` and
    ``quantity`` of installed recovery technology: an installation reuses at most
    its installed ``quantity`` (units of waste a month) and replaces at most
    ``max_share`` of the input; the rest of the stream is free for contracts. ``contracts`` holds arrays ``supply``, ``demand``,
    ``promised`` (units of waste, already scaled by the share of the month the
    contract ran), ``conversion`` (input units per unit of waste shipped, i.e.
    ratio times the share not lost in transport) and, optionally, ``substitution``
    and ``max_share``: the contracts of one substitution into one demand stream
    then replace at most ``max_share`` of the month's need. ``ship_share(planned)``
    returns the share of each contract's planned quantity that logistics moves.
    """
    n_supply, n_demand = len(generated), len(need)
    if len(recovery["supply"]):
        rec_used, reused, reused_in = _internal_reuse(generated, need, recovery)
    else:
        rec_used, reused, reused_in = np.zeros(0), np.zeros(n_supply), np.zeros(n_demand)

    available = stock + generated - reused
    offered = allocate(contracts["promised"], contracts["supply"], available)
    conversion = contracts["conversion"]
    wanted = _within_share_caps(offered * conversion, contracts, need)
    accepted = allocate(wanted, contracts["demand"], need - reused_in) / np.where(conversion > 0, conversion, 1.0)
    planned = np.minimum(offered, accepted)
    shipped_c = planned * ship_share(planned)
    received_c = shipped_c * conversion

    shipped = np.bincount(contracts["supply"], weights=shipped_c, minlength=n_supply)
    received_in = np.bincount(contracts["demand"], weights=received_c, minlength=n_demand)
    leftover = np.maximum(available - shipped, 0.0)
    stock_after = np.minimum(leftover, capacity)
    return MonthFlows(
        generated=generated,
        reused=reused,
        shipped=shipped,
        disposed=leftover - stock_after,
        stock_before=stock,
        stock_after=stock_after,
        need=need,
        reused_in=reused_in,
        received_in=received_in,
        virgin=np.maximum(need - reused_in - received_in, 0.0),
        contract_promised=contracts["promised"],
        contract_offered=offered,
        contract_shipped=shipped_c,
        contract_accepted=accepted,
        contract_received=received_c,
        recovery_reused=rec_used,
    )


def _within_share_caps(wanted, contracts, need):
    """Input units each contract may replace: those wanted, scaled down pro rata where the contracts of one
    substitution into one demand stream would replace more than its ``max_share`` of this month's need."""
    if "max_share" not in contracts:
        return wanted
    # A cap of 1 is the receiver's need, which the allocation over each demand stream enforces anyway.
    capped = (contracts["max_share"] < 1).nonzero()[0]
    if len(capped) == 0:
        return wanted
    d, k = contracts["demand"][capped], contracts["substitution"][capped]
    key = d * (int(k.max()) + 1) + k
    first = first_occurrences(key)  # a contract of each group, to read the group's stream and cap
    group = key[first].searchsorted(key)
    wanted = wanted.copy()
    wanted[capped] = allocate(wanted[capped], group, contracts["max_share"][capped][first] * need[d[first]])
    return wanted


def _internal_reuse(generated, need, recovery):
    """Units of waste each installation reuses, and the totals per supply and per demand stream."""
    ratio = np.where(recovery["ratio"] > 0, recovery["ratio"], 1.0)
    usable = np.minimum(np.minimum(generated[recovery["supply"]], recovery["quantity"]),
                        recovery["max_share"] * need[recovery["demand"]] / ratio)
    rec_offer = allocate(usable, recovery["supply"], generated)
    rec_used = allocate(rec_offer * recovery["ratio"], recovery["demand"], need) / ratio
    reused = np.bincount(recovery["supply"], weights=rec_used, minlength=len(generated))
    reused_in = np.bincount(recovery["demand"], weights=rec_used * recovery["ratio"], minlength=len(need))
    return rec_used, reused, reused_in
