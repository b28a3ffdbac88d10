"""The firm: a plant that produces, emits wastes, and decides on exchanges.

Quantities that change every month for every firm (production, cash, storage)
live in the model's numpy arrays, indexed by ``Firm.index``; the agent object
keeps what is genuinely per firm: its identity and recipe, and whom it knows. Decisions taken by many firms in a
month (search, offers, investment) are made for all of them at once by the
model and market with numpy, using each firm's own attributes (hurdle rate, risk
aversion, trust, cash).
"""

import mesa
import numpy as np

from simulation.model.keyed import ragged_rows


class Firm(mesa.Agent):
    """A firm of the park.

    Attributes:
        index: row of this firm in the model's arrays.
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
        self._acquaintance_array = None  # the set as an array, rebuilt after it changes

    # -- knowledge and trust ---------------------------------------------------
    def trust_in(self, other):
        """Trust in [0, 1] in firm ``other``: learnt from past deliveries, ``trust.initial`` for strangers."""
        return float(self.model.trust_between(self.index, other)[0])

    def meet(self, others):
        """This firm and each of ``others`` (indices) know each other from now on."""
        for other in others:
            if other != self.index and other not in self.acquaintances:
                self.acquaintances.add(other)
                self._acquaintance_array = None
                partner = self.model.firm_list[other]
                partner.acquaintances.add(self.index)
                partner._acquaintance_array = None

    def acquaintance_array(self):
        if self._acquaintance_array is None:
            self._acquaintance_array = np.fromiter(self.acquaintances, np.int64, len(self.acquaintances))
        return self._acquaintance_array


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
