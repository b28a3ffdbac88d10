"""Toll conversion: a neighbour turns a firm's waste into a product that goes back to the firm, for a fee.

A plant whose process converts a waste for others (``Process.converts``: units
of the waste a month per unit of its normal monthly output) sells that capacity
to its neighbours, as a sulphuric acid plant regenerates a refinery's spent
acid. The waste's owner signs a *toll contract* with it under a toll
substitution (``Substitution.toll``): the owner sends the waste, the converter
treats it (the substitution's treatment cost and CO2) and trucks the product
back, and the product replaces the owner's own input.

In the contract book the converter is the receiver, while the contract's demand
stream is the owner's own. So the owner keeps the input's value as well as the
disposal it avoids, the converter bears the conversion and both truck legs, and
the price, negative, is the fee the owner pays: the surplus is split as for any
deal (:mod:`simulation.model.exchange`). Owners look for converters when they
search (:mod:`simulation.model.search`); a converter does not canvass. Running
toll contracts are cut back, like any stream's, when the converter's capacity
falls below what they promise (:mod:`simulation.model.review`).
"""

import numpy as np

from simulation.model.keyed import KeyedValues


class TollConverters:
    """What each firm can convert for its neighbours: units of waste a month, by (firm, waste)."""

    def __init__(self, catalogue, materials, firms, mean_utilisation):
        self.firms, self.mean_utilisation = firms, mean_utilisation
        self.n_materials = len(materials)
        self.by_process = {pid: {materials.index[w]: c for w, c in p.converts.items()}
                           for pid, p in catalogue.processes.items() if p.converts}
        self.converted = np.array(sorted({w for per in self.by_process.values() for w in per}), dtype=np.int64)
        self.coef = KeyedValues(default=0.0)  # firm * n_materials + waste -> units per unit of normal monthly output

    def key(self, firm, waste):
        return np.asarray(firm, dtype=np.int64) * self.n_materials + waste

    def set_process(self, firm, process_id):
        """Firm ``firm`` (an index) runs ``process_id`` from now on: it converts what that process converts."""
        if len(self.converted) == 0:
            return
        per = self.by_process.get(process_id, {})
        self.coef.set(self.key(firm, self.converted), np.array([per.get(w, 0.0) for w in self.converted.tolist()]))

    def capacity(self, firm, waste):
        """Units of ``waste`` each of ``firm`` can convert a month (0 for a firm that has left)."""
        f = self.firms
        return self.coef.get(self.key(firm, waste)) * f.capacity[firm] * self.mean_utilisation * f.active[firm]

    def used(self, firm, waste, book):
        """Units of ``waste`` a month the running toll contracts of each of ``firm`` promise to convert."""
        running = book.running()
        toll = running[book.toll[running]]
        used = KeyedValues(default=0.0)
        if len(toll):
            keys, group = np.unique(self.key(book.receiver[toll], book.waste[toll]), return_inverse=True)
            used.set(keys, np.bincount(group, weights=book.quantity[toll]))
        return used.get(self.key(firm, waste))

    def room(self, firm, waste, book):
        """Units of ``waste`` a month each of ``firm`` can still take on."""
        return np.maximum(self.capacity(firm, waste) - self.used(firm, waste, book), 0.0)

    def candidates(self, supply, demand, subs, firms, period, owners, open_streams, max_km):
        """Every way ``owners`` (firm indices) could have a waste of theirs converted back into an input of
        theirs by a firm that converts it (its room is reckoned when the pair is priced):
        ``(owner, converter, s, d, k, dist)`` arrays, ``s`` and ``d`` the owner's
        open supply and demand streams (``open_streams()`` gives the masks of open streams, asked only where an
        owner has both streams of a toll substitution), ``k`` the toll substitution, ``dist`` km (at most
        ``max_km``)."""
        toll_k = np.flatnonzero(subs.toll & subs.open_in(period))
        empty = np.zeros(0, dtype=np.int64)
        none = (empty,) * 5 + (np.zeros(0),)
        if len(toll_k) == 0 or len(owners) == 0:
            return none
        s = supply.lookup[owners][:, subs.waste[toll_k]]
        d = demand.lookup[owners][:, subs.input[toll_k]]
        row, col = np.nonzero((s >= 0) & (d >= 0))  # the owner has the waste and the input
        if len(row) == 0:
            return none
        owner, s, d, k = owners[row], s[row, col], d[row, col], toll_k[col]
        open_s, open_d = open_streams()
        usable = open_s[s] & open_d[d] & subs.allowed(k, firms.sector[owner])
        owner, s, d, k = owner[usable], s[usable], d[usable], k[usable]
        everyone = np.arange(len(firms.active))
        parts = []
        for waste in np.unique(subs.waste[k]).tolist():
            able = everyone[self.capacity(everyone, waste) > 0]
            at = np.flatnonzero(subs.waste[k] == waste)
            j, c = np.repeat(at, len(able)), np.tile(able, len(at))
            parts.append((j, c))
        if not parts:
            return none
        j, converter = (np.concatenate(p) for p in zip(*parts))
        dist = firms.distances(owner[j], converter)
        keep = (converter != owner[j]) & (dist <= max_km)
        j, converter, dist = j[keep], converter[keep], dist[keep]
        return owner[j], converter, s[j], d[j], k[j], dist
