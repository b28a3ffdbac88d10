"""Growable structure-of-arrays storage shared by streams, storage and contracts.

Appending one row at a time to plain numpy arrays costs a copy per row (O(n^2)
for a large park); these columns double their capacity instead. Reading a
column returns a view of the rows in use, so in-place updates
(``table.level[i] += x``) write through.
"""

import numpy as np


class Columns:
    """Named numpy columns of equal length with amortised O(1) appends."""

    def __init__(self, dtypes, capacity=64, fill=None):
        self.size = 0
        self._fill = fill or {}
        self._columns = {name: np.zeros(capacity, dtype=dtype) for name, dtype in dtypes.items()}
        self._expose()

    def _expose(self):
        # Plain instance attributes holding views: reading a column costs one dict lookup.
        for name, column in self._columns.items():
            self.__dict__[name] = column[: self.size]

    def __setattr__(self, name, value):
        columns = self.__dict__.get("_columns")
        if columns is not None and name in columns:
            columns[name][: self.size] = value
        else:
            super().__setattr__(name, value)

    def __len__(self):
        return self.size

    def append(self, n, **values):
        """Append ``n`` rows; columns not given take their fill value (default 0). Returns the new row indices."""
        need = self.size + n
        capacity = len(next(iter(self._columns.values())))
        if need > capacity:
            new_capacity = max(need, 2 * capacity)
            for name, column in self._columns.items():
                grown = np.zeros(new_capacity, dtype=column.dtype)
                grown[: self.size] = column[: self.size]
                self._columns[name] = grown
        start, fill, exposed = self.size, self._fill, self.__dict__
        for name, column in self._columns.items():
            # Rows past the end are never written, so they still hold the zeros they were allocated with.
            if name in values:
                column[start:need] = values[name]
            elif name in fill:
                column[start:need] = fill[name]
            exposed[name] = column[:need]
        self.size = need
        return np.arange(start, need)
