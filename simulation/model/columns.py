"""Structure-of-arrays storage: growable tables and fixed bundles of named arrays.

:class:`Columns` (streams, storage, contracts): appending one row at a time to
plain numpy arrays costs a copy per row (O(n^2) for a large park); these columns
double their capacity instead. Reading a column returns a view of the rows in
use, so in-place updates (``table.level[i] += x``) write through.

:class:`NamedRows` (deal terms, pair details): equal-length arrays that are
always subset together, held as the rows of one 2-D array.
"""

import numpy as np


class Columns:
    """Named numpy columns of equal length with amortised O(1) appends."""

    def __init__(self, dtypes, capacity=64, fill=None):
        self.size = 0
        self._fill = fill or {}
        self._columns = {name: np.zeros(capacity, dtype=dtype) for name, dtype in dtypes.items()}
        self._layout()
        self._expose()

    def _layout(self):
        # (name, column, fill value or None) in column order, for append()'s one pass.
        self._capacity = len(next(iter(self._columns.values())))
        self._slots = [(name, column, self._fill.get(name)) for name, column in self._columns.items()]

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
        start, need = self.size, self.size + n
        if need > self._capacity:
            self._grow(max(need, 2 * self._capacity))
        exposed = self.__dict__
        for name, column, fill in self._slots:
            # Rows past the end are never written, so they still hold the zeros they were allocated with.
            value = values.get(name, fill)
            if value is not None:
                column[start:need] = value
            exposed[name] = column[:need]
        exposed["size"] = need
        return np.arange(start, need)

    def _grow(self, capacity):
        for name, column in self._columns.items():
            grown = np.zeros(capacity, dtype=column.dtype)
            grown[: self.size] = column[: self.size]
            self._columns[name] = grown
        self._layout()


class NamedRows:
    """Equal-length arrays kept as the rows of one 2-D array, each readable by its name.

    Taking the same entries of every row (:meth:`select`) is then one numpy step
    instead of one per array; the search and the contract review do this many
    times a month on short arrays, where the per-call cost is what counts.
    Subclasses name their rows in ``NAMES``; the instance is never changed in place.
    """

    NAMES = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Each row read as a view when asked for: most instances live for a few reads only.
        for row, name in enumerate(cls.NAMES):
            setattr(cls, name, property(lambda self, row=row: self.values[row], doc=f"row {row} of ``values``"))

    def __init__(self, values):
        self.values = values

    def like(self, values):
        """An instance of the same kind over other ``values``."""
        return type(self)(values)

    def select(self, index):
        """The entries at ``index`` (an index array or mask) of every row."""
        return self.like(self.values[:, index])
