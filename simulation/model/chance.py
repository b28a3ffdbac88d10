"""Where the model's chance comes from: one random stream per source, all from the run's seed.

Each source of chance (virgin-price shocks, demand shocks, plant outages, partner
search, ...) draws from a stream of its own, derived from the model's seeded
generator by name (numpy ``SeedSequence`` spawn keys). So the draws of one source
never depend on how many draws another made: adding a material to the catalogue, or
a policy that changes who trades and who searches, leaves the price path, the demand
shocks and the outages as they were. Within a source, draws are made for every firm
row (or every material) each month, whether or not it is active, for the same
reason: two runs of one park under different policies then meet the same shocks
(common random numbers), so their paired difference is the policy's effect and not a
reshuffle of luck. (A park with one more firm row is another park: its rows draw
from the same streams, so later months' draws shift.)

Only the partner search draws as many numbers as the state of the park asks for,
because who can meet whom is itself an outcome; it still has a stream of its own.
"""

import hashlib

import numpy as np


def _key(name):
    """A stable 32-bit spawn key for a stream's name (the same on every machine and Python)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


class RandomStreams:
    """Named, independent generators derived from ``rng``'s seed.

    ``stream("outages")`` is the same generator object on every call, so a phase
    can keep drawing from it month after month; ``stream("price", "steam")``
    is the stream of one material's price shocks.
    """

    def __init__(self, rng):
        # The root is drawn from ``rng``, not read from its seed, so a generator passed in with a state of its own (one
        # reused for several runs, say) gives each run its own streams.
        self._entropy = [int(word) for word in rng.integers(0, 2**63, size=4)]
        self._streams = {}

    def stream(self, *name):
        key = tuple(name)
        if key not in self._streams:
            seed = np.random.SeedSequence(self._entropy, spawn_key=tuple(_key(part) for part in key))
            self._streams[key] = np.random.default_rng(seed)
        return self._streams[key]

    def shocks(self, source, names, months):
        """Standard normal shocks, one row per name and one column per month, each row from its own stream."""
        return np.array([self.stream(source, name).standard_normal(months) for name in names]).reshape(len(names), months)
