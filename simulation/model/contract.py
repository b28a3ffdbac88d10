"""Contracts: the book of every exchange agreement, in arrays.

A contract promises ``quantity`` units of a waste a month from one firm's supply
stream to another firm's demand stream (under toll conversion, to a converter
whose product goes back to the supplier's own demand stream), at ``price`` EUR per unit, from
``start`` for ``term`` months, with a breach penalty in EUR. Its life cycle:

``PENDING`` (pipeline under construction) -> ``ACTIVE`` (deliveries each month,
shortfalls tracked) -> ``ENDED`` with a reason, or renewed at expiry (a new
contract on the same *link*; a link is supplier + receiver + waste + input and
its age runs across renewals).

Arrays keep the monthly hot path vectorised; :meth:`ContractBook.log_rows`
produces the human-readable log.
"""

import numpy as np

from simulation.model.columns import Columns

PENDING, ACTIVE, ENDED = 0, 1, 2
TRUCK, PIPELINE = 0, 1
MODES = ("truck", "pipeline")

END_REASONS = (
    "",  # still running
    "not renewed",
    "no longer profitable",
    "breached by supplier",
    "breached by receiver",
    "supply stopped",
    "demand stopped",
    "partner left",
    "run ended",
    "renewed",
    "revised below the minimum",
    "moved to a better use",
)
REASON = {name: code for code, name in enumerate(END_REASONS)}

_FIELDS = {
    "supply": np.int64, "demand": np.int64, "supplier": np.int64, "receiver": np.int64,
    "waste": np.int64, "input": np.int64, "substitution": np.int64, "ratio": float, "mode": np.int8,
    "distance_km": float, "quantity": float, "price": float, "start": np.int64,
    "term": np.int64, "penalty_eur": float, "status": np.int8, "active_from_day": float,
    "link": np.int64, "renewal_of": np.int64, "network": np.int64, "end": np.int64, "reason": np.int8,
    "trust_in_supplier": float, "trust_in_receiver": float,  # updated monthly while the contract runs
    "loss_months_supplier": np.int64, "loss_months_receiver": np.int64,
    "promised_total": float, "offered_total": float, "accepted_total": float, "delivered_total": float,
    # Teeth of the contract: the price's indexation to the receiver's virgin input cost (per unit of input, EUR, at
    # signing), the shares owed damages for when not offered or not taken, and last month's damages (EUR).
    "indexation": float, "virgin_at_signing": float, "deliver_or_pay": float, "take_or_pay": float,
    "damages_by_supplier": float, "damages_by_receiver": float, "damages_total": float,
    # Hold-up: True from signing until the first review after the receiver's pipeline is built (its capex sunk),
    # and the EUR a month the supplier then took on top of the price.
    "holdup_due": bool, "holdup_eur": float,
    # Toll conversion (simulation.model.toll): the receiver converts the waste and the product goes back to the
    # supplier, whose own the demand stream is.
    "toll": bool,
}
# The deal as priced at signing (EUR a month, capex in EUR, trust in [0, 1]): never changed and read only
# for the log, so kept as one block per signing round rather than as columns.
AT_SIGNING = ("surplus_eur", "supplier_gain_eur", "receiver_gain_eur", "supplier_hurdle_eur", "receiver_hurdle_eur",
              "supplier_avoided_eur", "receiver_avoided_eur", "capex_eur", "signing_trust_in_supplier",
              "signing_trust_in_receiver", "signed_quantity")


class ContractBook(Columns):
    """Every contract ever signed, one row each."""

    def __init__(self):
        super().__init__(_FIELDS, fill={"renewal_of": -1, "end": -1, "network": -1})
        self.n_links = 0
        self._at_signing = [np.zeros((len(AT_SIGNING), 0))]  # (len(AT_SIGNING), n) arrays, one per add()

    def add(self, n, at_signing, link=None, **values):
        """Append ``n`` contracts (an array or a scalar per field); returns their ids.

        ``at_signing`` holds the deals as priced, a row per name of ``AT_SIGNING``.
        Without ``link`` each contract opens a new link; a renewal passes the
        link it continues.
        """
        if link is None:
            link = np.arange(self.n_links, self.n_links + n)
            self.n_links += n
        self._at_signing.append(at_signing)
        return self.append(n, link=link, **values)

    def _signed(self):
        """Every contract's deal at signing, a row per name of ``AT_SIGNING``."""
        if len(self._at_signing) > 1:
            self._at_signing = [np.concatenate(self._at_signing, axis=1)]
        return self._at_signing[0]

    def where(self, status):
        """Ids of the contracts with ``status``."""
        return (self.status == status).nonzero()[0]

    def running(self):
        """Ids of contracts pending or active."""
        return (self.status != ENDED).nonzero()[0]

    def of_firm(self, firm):
        """Ids of the active contracts ``firm`` (an index) supplies or receives under."""
        active = self.where(ACTIVE)
        return active[(self.supplier[active] == firm) | (self.receiver[active] == firm)]

    def activate(self, ids, day):
        """Contracts ``ids`` deliver from ``day`` (days since the start of the run)."""
        self.status[ids] = ACTIVE
        self.active_from_day[ids] = day

    def close(self, ids, period, reason):
        ids = np.atleast_1d(ids)
        self.status[ids] = ENDED
        self.end[ids] = period
        self.reason[ids] = REASON[reason]

    def log_rows(self, firm_ids, material_ids, calendar, network_ids=()):
        """One dict per contract, for the contract log CSV (keys: :data:`LOG_COLUMNS`); ``network_ids`` name the
        shared networks (:mod:`simulation.model.networks`)."""
        rows = []
        for c in range(self.size):
            rows.append({
                "contract": c,
                "link": int(self.link[c]),
                "renewal_of": int(self.renewal_of[c]) if self.renewal_of[c] >= 0 else "",
                "supplier": firm_ids[self.supplier[c]],
                "receiver": firm_ids[self.receiver[c]],
                "waste": material_ids[self.waste[c]],
                "replaces": material_ids[self.input[c]],
                "mode": MODES[self.mode[c]],
                "distance_km": float(self.distance_km[c]),
                "quantity_per_month": float(self.signed_quantity[c]),
                "quantity_at_end_per_month": float(self.quantity[c]),
                "price_eur_per_unit": float(self.price[c]),
                "signed": calendar.label(int(self.start[c])),
                "term_months": int(self.term[c]),
                "ended": calendar.label(int(self.end[c])) if self.end[c] >= 0 else "",
                "end_reason": END_REASONS[self.reason[c]],
                "surplus_eur_per_month": float(self.surplus_eur[c]),
                "supplier_avoided_eur_per_month": float(self.supplier_avoided_eur[c]),
                "receiver_avoided_eur_per_month": float(self.receiver_avoided_eur[c]),
                "receiver_trust_in_supplier_at_signing": float(self.signing_trust_in_supplier[c]),
                "supplier_trust_in_receiver_at_signing": float(self.signing_trust_in_receiver[c]),
                "supplier_gain_eur_per_month": float(self.supplier_gain_eur[c]),
                "receiver_gain_eur_per_month": float(self.receiver_gain_eur[c]),
                "supplier_hurdle_eur_per_month": float(self.supplier_hurdle_eur[c]),
                "receiver_hurdle_eur_per_month": float(self.receiver_hurdle_eur[c]),
                "capex_eur": float(self.capex_eur[c]),
                "penalty_eur": float(self.penalty_eur[c]),
                "promised_total": float(self.promised_total[c]),
                "delivered_total": float(self.delivered_total[c]),
                "price_indexation": float(self.indexation[c]),
                "deliver_or_pay_share": float(self.deliver_or_pay[c]),
                "take_or_pay_share": float(self.take_or_pay[c]),
                "damages_paid_eur": float(self.damages_total[c]),
                "held_up_eur_per_month": float(self.holdup_eur[c]),
                "shared_network": network_ids[self.network[c]] if self.network[c] >= 0 else "",
                "product_returned_to": firm_ids[self.supplier[c]] if self.toll[c] else "",
            })
        return rows


LOG_COLUMNS = ("contract", "link", "renewal_of", "supplier", "receiver", "waste", "replaces", "mode", "distance_km",
               "quantity_per_month", "quantity_at_end_per_month", "price_eur_per_unit", "signed", "term_months", "ended", "end_reason",
               "surplus_eur_per_month", "supplier_avoided_eur_per_month", "receiver_avoided_eur_per_month",
               "receiver_trust_in_supplier_at_signing", "supplier_trust_in_receiver_at_signing",
               "supplier_gain_eur_per_month", "receiver_gain_eur_per_month", "supplier_hurdle_eur_per_month",
               "receiver_hurdle_eur_per_month", "capex_eur", "penalty_eur", "promised_total", "delivered_total",
               "price_indexation", "deliver_or_pay_share", "take_or_pay_share", "damages_paid_eur",
               "held_up_eur_per_month", "shared_network", "product_returned_to")


def _at_signing_row(row, name):
    return property(lambda book: book._signed()[row], doc=f"``{name}`` of every contract, as priced at signing")


for _row, _name in enumerate(AT_SIGNING):
    setattr(ContractBook, _name, _at_signing_row(_row, _name))
