"""Material streams of firms: what each plant emits and what it needs.

A *supply stream* is one firm's output of one waste or by-product; a *demand
stream* is one firm's need for one input. Quantities are coefficients (units per
unit of product) times the firm's monthly production. Streams are never deleted:
when a firm leaves or switches process its old streams are marked dead and new
ones appended, so contract records keep pointing at the right stream.

``expected`` is an exponentially weighted average of the monthly quantity, the
figure firms plan contracts on; ``committed`` is what running contracts already
promise (supply side: units of waste; demand side: units of input replaced).
"""

import numpy as np

from simulation.model.columns import Columns

EXPECTATION_WEIGHT = 0.2  # weight of the latest month in the expected monthly flow
NONE = -1


class StreamTable(Columns):
    """One side (supply or demand) of every firm's material streams.

    ``lookup[firm, material]`` is the firm's alive stream of that material, or -1.
    """

    def __init__(self, n_firms, n_materials):
        super().__init__({"firm": np.int64, "material": np.int64, "coef": float, "alive": bool,
                          "expected": float, "committed": float,
                          # demand side: an input the process cannot run without, and standby capacity kept for it
                          "critical": bool, "backup": float})
        self.lookup = np.full((n_firms, n_materials), NONE, dtype=np.int64)
        self.version = 0  # bumped whenever streams are added or killed

    def add(self, firm, recipe, material_index, expected_output):
        """Append one stream per material of ``recipe``; returns their indices."""
        materials = np.array([material_index[m] for m in recipe], dtype=np.int64)
        coefs = np.array(list(recipe.values()), float)
        new = self.append(len(materials), firm=firm, material=materials, coef=coefs, alive=True,
                          expected=expected_output * coefs)
        self.lookup[firm, materials] = new
        self.version += 1
        return new

    def kill(self, streams):
        streams = np.asarray(streams, dtype=np.int64)
        self.alive[streams] = False
        self.lookup[self.firm[streams], self.material[streams]] = NONE
        self.version += 1

    def of_firm(self, firm):
        """Alive streams of ``firm``, in the order they were added."""
        own = self.lookup[firm]
        return np.sort(own[own != NONE])

    def expected_by_material(self, firm, material_ids):
        """Material id -> expected monthly quantity of each alive stream of ``firm``."""
        return {material_ids[self.material[st]]: float(self.expected[st]) for st in self.of_firm(firm).tolist()}

    def quantities(self, production):
        """This month's quantity of every stream given production per firm (dead streams: 0)."""
        return production[self.firm] * self.coef * self.alive  # production >= 0 and coefficients > 0

    def learn(self, quantities):
        alive = self.alive
        self.expected[alive] += EXPECTATION_WEIGHT * (quantities[alive] - self.expected[alive])

    def free(self, share, streams=None, cap=None):
        """Expected monthly flow not yet promised, keeping a safety margin of ``1 - share``.

        For all streams, or only for the index array ``streams``. With ``cap`` (one
        per entry of ``streams``) at most ``cap * share * expected`` may be promised in all.
        """
        if streams is None:
            expected, committed, dead = self.expected, self.committed, ~self.alive
        else:
            expected, committed, dead = self.expected[streams], self.committed[streams], ~self.alive[streams]
        promised_at_most = share * expected
        if cap is not None:
            # Capping before subtracting what is committed rounds as capping the difference would.
            np.minimum(promised_at_most, cap * share * expected, out=promised_at_most)
        free = promised_at_most - committed
        np.maximum(free, 0.0, out=free)
        free[dead] = 0.0  # cheaper than np.where on the short arrays of a month
        return free
