"""Calendar time and time-varying values (schedules).

The model counts decision periods (months by default) from the scenario's start.
Scenario files may give a time either as a period index (``0``, ``120``) or as a
calendar date string (``"1993"`` or ``"1993-07"``), which is converted to the
period that contains it.

A *schedule* is a value that changes over time: either a plain number, or a list
of ``[time, value]`` pairs read as a step function (the value holds from its
time until the next pair's time; before the first pair the first value holds).
"""

import bisect
from dataclasses import dataclass

import numpy as np

DAYS_PER_MONTH = 365.25 / 12
MAX_PERIOD = 12 * 10_000  # a period number beyond the calendar's last date (year 9999) is a typo


@dataclass(frozen=True)
class Calendar:
    """Maps calendar dates (year, month) to period indices and back."""

    start_year: int
    start_month: int = 1
    months_per_period: int = 1

    def period_of(self, when):
        """Period index of ``when``: an int period, or a ``"YYYY"``/``"YYYY-MM"`` string."""
        if isinstance(when, bool):
            raise ValueError(f"expected a period number or a 'YYYY-MM' date, got {when!r}")
        if isinstance(when, int):
            if not 0 <= when <= MAX_PERIOD:
                raise ValueError(f"a period must lie in [0, {MAX_PERIOD}], got {when}")
            return when
        if isinstance(when, str):
            year, month = parse_date(when)
            months = (year - self.start_year) * 12 + (month - self.start_month)
            return months // self.months_per_period
        raise ValueError(f"expected a period number or a 'YYYY-MM' date, got {when!r}")

    def date_of(self, period):
        """Fractional calendar year at the start of ``period`` (for axes and logs)."""
        months = period * self.months_per_period + (self.start_month - 1)
        return self.start_year + months / 12

    def label(self, period):
        """``"YYYY-MM"`` label of the start of ``period``."""
        months = period * self.months_per_period + (self.start_month - 1)
        return f"{self.start_year + months // 12:04d}-{months % 12 + 1:02d}"


def parse_date(text):
    parts = text.strip().split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 1
    except (ValueError, IndexError):
        raise ValueError(f"expected a date as 'YYYY' or 'YYYY-MM', got {text!r}") from None
    if len(parts) > 2 or not 1 <= month <= 12 or not 1 <= year <= 9999:
        raise ValueError(f"expected a date as 'YYYY' or 'YYYY-MM' (years 1 to 9999), got {text!r}")
    return year, month


class Schedule:
    """A step function of the period index, built from a number or ``[time, value]`` pairs."""

    __slots__ = ("_periods", "_values", "in_order")

    def __init__(self, periods, values):
        order = np.argsort(periods, kind="stable")
        self._periods = [int(periods[i]) for i in order]
        self._values = [float(values[i]) for i in order]
        self.in_order = list(periods) == self._periods  # as given; scenarios are warned when not

    @classmethod
    def constant(cls, value):
        return cls([0], [value])

    @classmethod
    def parse(cls, spec, calendar):
        """Build from a scenario value; raises ``ValueError`` with a readable reason.

        Two pairs for the same period are refused: which one should hold is not clear.
        """
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            return cls.constant(spec)
        if isinstance(spec, list) and spec:
            periods, values = [], []
            for pair in spec:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise ValueError(f"schedule entries must be [time, value] pairs, got {pair!r}")
                when, value = pair
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"schedule value must be a number, got {value!r}")
                period = calendar.period_of(when)
                if period in periods:
                    earlier = spec[periods.index(period)][0]
                    raise ValueError(f"two values for the same period: times {earlier!r} and {when!r} "
                                     f"both fall in {calendar.label(period)}")
                periods.append(period)
                values.append(value)
            return cls(periods, values)
        raise ValueError(f"expected a number or a list of [time, value] pairs, got {spec!r}")

    def at(self, period):
        i = bisect.bisect_right(self._periods, period) - 1
        return self._values[max(i, 0)]

    @property
    def values(self):
        return tuple(self._values)

    @property
    def periods(self):
        """Periods at which the value is set (it holds until the next one)."""
        return tuple(self._periods)
