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

EXPECTATION_WEIGHT = 0.2  # weight of the latest month in the expected monthly flow


class StreamTable:
    """One side (supply or demand) of every firm's material streams."""

    def __init__(self):
        self.firm = np.zeros(0, dtype=np.int64)
        self.material = np.zeros(0, dtype=np.int64)
        self.coef = np.zeros(0)
        self.alive = np.zeros(0, dtype=bool)
        self.expected = np.zeros(0)
        self.committed = np.zeros(0)
        self.by_firm = {}  # firm -> {material: alive stream}
        self.version = 0  # bumped whenever streams are added or killed

    def __len__(self):
        return len(self.firm)

    def add(self, firm, recipe, material_index, expected_output):
        """Append one stream per material of ``recipe``; returns their indices."""
        start = len(self.firm)
        materials = [material_index[m] for m in recipe]
        coefs = list(recipe.values())
        n = len(materials)
        self.firm = np.concatenate([self.firm, np.full(n, firm, dtype=np.int64)])
        self.material = np.concatenate([self.material, np.array(materials, dtype=np.int64)])
        self.coef = np.concatenate([self.coef, np.array(coefs, float)])
        self.alive = np.concatenate([self.alive, np.ones(n, dtype=bool)])
        self.expected = np.concatenate([self.expected, expected_output * np.array(coefs, float)])
        self.committed = np.concatenate([self.committed, np.zeros(n)])
        own = self.by_firm.setdefault(firm, {})
        for offset, material in enumerate(materials):
            own[material] = start + offset
        self.version += 1
        return np.arange(start, start + n)

    def kill(self, streams):
        for stream in streams:
            own = self.by_firm.get(int(self.firm[stream]), {})
            if own.get(int(self.material[stream])) == stream:
                del own[int(self.material[stream])]
        self.alive[streams] = False
        self.version += 1

    def of_firm(self, firm):
        """Alive streams of ``firm``, in the order they were added."""
        return np.array(sorted(self.by_firm.get(firm, {}).values()), dtype=np.int64)

    def of_firm_material(self, firm, material):
        """The alive stream of ``firm`` for ``material``, or None."""
        return self.by_firm.get(firm, {}).get(material)

    def quantities(self, production):
        """This month's quantity of every stream given production per firm (dead streams: 0)."""
        return np.where(self.alive, production[self.firm] * self.coef, 0.0)

    def learn(self, quantities):
        alive = self.alive
        self.expected[alive] += EXPECTATION_WEIGHT * (quantities[alive] - self.expected[alive])

    def free(self, share, streams=None):
        """Expected monthly flow not yet promised, keeping a safety margin of ``1 - share``.

        For all streams, or only for the index array ``streams``.
        """
        if streams is None:
            return np.where(self.alive, np.maximum(share * self.expected - self.committed, 0.0), 0.0)
        return np.where(self.alive[streams], np.maximum(share * self.expected[streams] - self.committed[streams], 0.0), 0.0)
