"""Integer keys in bulk: sparse values keyed by pairs, membership and uniqueness.

Trust between firms and the pipelines between them are sparse (only pairs that
have traded) but are looked up for every candidate pair of a search round. A
Python dict per lookup would dominate large parks, so writes go to a small
buffer and reads merge it into sorted numpy arrays and use ``searchsorted``.

The helpers below sort instead of hashing: on this project's machines numpy's
hash-based ``unique`` is about ten times slower than a sort for int64 keys.
Two more bulk helpers live here with them: expanding ragged runs of a flat
array (:func:`ragged_rows`) and clipping to [0, 1] (:func:`unit_interval`).
"""

import numpy as np


class KeyedValues:
    """A sparse map from int64 keys to floats with a default, vectorised on read."""

    def __init__(self, default):
        self.default = default
        self._keys = np.zeros(0, dtype=np.int64)
        self._values = np.zeros(0)
        self._pending = {}

    def set(self, keys, values):
        """Set int64 ``keys`` to ``values`` (arrays or scalars broadcast to them)."""
        keys = np.atleast_1d(np.asarray(keys, dtype=np.int64))
        values = np.asarray(values, dtype=float)
        if values.shape != keys.shape:
            values = np.broadcast_to(values, keys.shape)
        self._pending.update(zip(keys.tolist(), values.tolist()))

    def get(self, keys):
        """Values of an int64 array of keys (the default where unset)."""
        self._merge()
        keys = np.asarray(keys, dtype=np.int64)
        n = len(self._keys)
        if n == 0:
            return np.full(len(keys), self.default, dtype=float)
        # Clipped to the last key, a key past the end is then simply not found.
        at = self._keys.searchsorted(keys)
        np.minimum(at, n - 1, out=at)
        values = self._values[at]
        values[self._keys[at] != keys] = self.default
        return values

    def _merge(self):
        if not self._pending:
            return
        keys = np.fromiter(self._pending, np.int64, len(self._pending))
        values = np.fromiter(self._pending.values(), float, len(self._pending))
        self._pending = {}
        at = self._keys.searchsorted(keys)
        present = at < len(self._keys)
        present[present] = self._keys[at[present]] == keys[present]
        if present.all():  # the usual merge: values of pairs already known (e.g. trust between partners)
            self._values[at] = values
            return
        self._values[at[present]] = values[present]
        new = ~present
        order = keys[new].argsort(kind="stable")
        # New keys go in before the old key at their search position, as np.insert would put them.
        slots = at[new][order] + np.arange(len(order))
        old = np.ones(len(self._keys) + len(order), dtype=bool)
        old[slots] = False
        self._keys = _interleave(self._keys, old, slots, keys[new][order])
        self._values = _interleave(self._values, old, slots, values[new][order])


def _interleave(kept, kept_at, slots, added):
    out = np.empty(len(kept_at), dtype=kept.dtype)
    out[kept_at] = kept
    out[slots] = added
    return out


def pair_key(a, b, n):
    """One int64 per ordered pair of indices ``a``, ``b`` below ``n`` (e.g. a truster and the firm it trusts)."""
    return a * n + b


def stream_pair_key(s, d):
    """One int64 per (supply stream, demand stream) pair."""
    return s * (1 << 32) + d


def contains(queries, reference):
    """Which of ``queries`` occur in ``reference`` (int64 arrays), by sorting rather than hashing."""
    reference = reference.copy()
    reference.sort()  # as np.sort, without its Python-level wrapper
    at = reference.searchsorted(queries)
    found = at < len(reference)
    found[found] = reference[at[found]] == queries[found]
    return found


def unique_ints(values):
    """Sorted distinct values of an int64 array."""
    ordered = values.copy()
    ordered.sort()
    return ordered[run_start_mask(ordered)]


def first_occurrences(values):
    """Index of the first occurrence of each distinct value, ordered by value (as ``np.unique(return_index=True)``)."""
    order = values.argsort(kind="stable")
    return order[run_start_mask(values[order])]


def ragged_rows(starts, counts):
    """Expand runs of a flat array: ``(row, position)`` of every item of every run,
    where run ``row`` begins at ``starts[row]`` and holds ``counts[row]`` items."""
    rows = np.arange(len(counts)).repeat(counts)
    # Each item's position is its place in the output shifted by its run's offset.
    shift = starts - (counts.cumsum() - counts)
    return rows, np.arange(len(rows)) + shift.repeat(counts)


def unit_interval(values):
    """``values`` clipped to [0, 1]: ``np.clip`` without its Python-level dispatch, which a
    month calls often enough on small arrays to show."""
    return np.minimum(np.maximum(values, 0.0), 1.0)


def run_start_mask(ordered):
    """Mask of the entries of ``ordered`` that begin a run of equal values."""
    starts = np.empty(len(ordered), dtype=bool)
    starts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    return starts
