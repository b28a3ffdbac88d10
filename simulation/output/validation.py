"""Comparing simulated links with a recorded history of exchanges.

A *record* is a TOML file of ``[[exchanges]]`` (material, supplier, receiver,
start year, optional end year; material and receiver may be lists of
alternatives), e.g. ``scenarios/data/kalundborg_history.toml``. The model never
reads it: it is validation data. :func:`compare` matches each recorded exchange
with the links of one or more runs (``report.link_table``) and reports when
they formed and ended in each run; :func:`score` sums a run up against the
record in a few numbers (recall, start-year error, end behaviour, links the
record does not list).
"""

from pathlib import Path

import numpy as np
import pandas as pd

from simulation.errors import ScenarioError
from simulation.output.tables import formed
from simulation.scenario.snapshot import read_toml


def history_file(scenario):
    """``data/<scenario name>_history.toml`` beside the scenario's file, if there is one (e.g. Kalundborg's), else None."""
    path = Path(scenario.path).parent / "data" / f"{scenario.name}_history.toml"
    return path if path.is_file() else None


class Record(list):
    """The recorded exchanges (dicts with list-valued material and receiver), and ``horizon``: the last year
    the record knows of (its ``horizon`` key; else its latest start or end)."""

    def __init__(self, exchanges, horizon):
        super().__init__(exchanges)
        self.horizon = horizon


def load_record(path):
    """The :class:`Record` of ``path``."""
    path = Path(path)
    raw = read_toml(path)
    record = []
    if not isinstance(raw.get("horizon", 0), int) or isinstance(raw.get("horizon"), bool):
        raise ScenarioError(path, "horizon", f"must be a year, got {raw['horizon']!r}")
    exchanges = raw.get("exchanges", [])
    if not isinstance(exchanges, list) or not exchanges:
        raise ScenarioError(path, "exchanges", "expected one [[exchanges]] table or more")
    for i, entry in enumerate(exchanges):
        where = f"exchanges[{i}]"
        if not isinstance(entry, dict):
            raise ScenarioError(path, where, "expected a table")
        for field in ("material", "supplier", "receiver", "start"):
            if field not in entry:
                raise ScenarioError(path, f"{where}.{field}", "missing")
        for field in ("start", "end"):
            if field in entry and (not isinstance(entry[field], int) or isinstance(entry[field], bool)):
                raise ScenarioError(path, f"{where}.{field}", f"must be a year, got {entry[field]!r}")
        for field in ("material", "supplier", "receiver"):
            names = _listed(entry[field])
            if not names or not all(isinstance(name, str) for name in names) or (field == "supplier" and len(names) > 1):
                raise ScenarioError(path, f"{where}.{field}", f"must be an id{'' if field == 'supplier' else ' or a list of ids'}, "
                                                              f"got {entry[field]!r}")
        record.append({**entry, "material": _listed(entry["material"]), "supplier": _listed(entry["supplier"])[0],
                       "receiver": _listed(entry["receiver"])})
    latest = max(year for entry in record for year in (entry["start"], entry.get("end", entry["start"])))
    return Record(record, raw.get("horizon", latest))


def _listed(value):
    return [value] if isinstance(value, str) else list(value) if isinstance(value, list) else [value]


def matches(links, exchange):
    """Rows of a link table that realise a recorded exchange."""
    return links[links.material.isin(exchange["material"]) & (links.supplier == exchange["supplier"])
                 & links.receiver.isin(exchange["receiver"])]


def start_years(links):
    """Year each link of a link table formed."""
    return formed(links).str.slice(0, 4).astype(int)


def first_and_last(links, exchange):
    """(year it first delivered, year the last matching link ended or None if running) in one run."""
    found = matches(links, exchange)
    if found.empty:
        return None, None
    running = (found.ended == "").any()
    last_end = None if running else max(int(e[:4]) for e in found.ended)
    return int(start_years(found).min()), last_end


def compare(runs, record):
    """One row per recorded exchange: recorded years against the runs' (median and range over runs)."""
    rows = []
    for exchange in record:
        years = [first_and_last(links, exchange) for links in runs]
        starts = np.array([s for s, _ in years if s is not None])
        ends = [e for s, e in years if s is not None and e is not None]
        rows.append({
            "exchange": f"{'/'.join(exchange['material'])}: {exchange['supplier']} -> {'/'.join(exchange['receiver'])}",
            "recorded_start": exchange["start"],
            "recorded_end": exchange.get("end"),
            "runs_formed": f"{len(starts)}/{len(runs)}",
            "simulated_start_median": float(np.median(starts)) if len(starts) else None,
            "simulated_start_range": f"{starts.min()}-{starts.max()}" if len(starts) else "",
            "runs_ended": len(ends),
            "simulated_end_median": float(np.median(ends)) if ends else None,
        })
    return pd.DataFrame(rows)


WINDOW_YEARS = 5  # a simulated start or end this close to the recorded one counts as on time


def score(links, record, end_year, window=WINDOW_YEARS):
    """One run's link table against a record, as a dict of counts.

    ``formed``: recorded exchanges the run forms at all; ``on_time``: those whose first
    delivery (signing, for a link that never delivered) is within ``window`` years of the recorded start; ``start_error_years``: the
    median absolute start error of those formed (NaN if none); ``ends_right``: recorded
    exchanges whose state at the record's horizon the run matches (ended within ``window``
    years of a recorded end, or still running at ``end_year`` where the record has none);
    ``unrecorded``: distinct (material, supplier, receiver) triples the run links that no
    recorded exchange covers.
    """
    years = [first_and_last(links, exchange) for exchange in record]
    errors = [abs(start - exchange["start"]) for (start, _), exchange in zip(years, record) if start is not None]
    return {
        "recorded": len(record),
        "formed": len(errors),
        "on_time": sum(error <= window for error in errors),
        "start_error_years": float(np.median(errors)) if errors else float("nan"),
        "ends_right": sum(_ends_right(start, end, exchange, end_year, window) for (start, end), exchange in zip(years, record)),
        "unrecorded": len(_unrecorded_rows(links, record).drop_duplicates(["material", "supplier", "receiver"])),
    }


def _ends_right(start, end, exchange, end_year, window):
    if start is None:
        return False
    recorded_end = exchange.get("end")
    if recorded_end is None:
        return end is None or end >= end_year
    return end is not None and abs(end - recorded_end) <= window


def _unrecorded_rows(links, record):
    recorded = pd.Index([]).append([matches(links, exchange).index for exchange in record])
    return links.drop(recorded.unique())


def scores(runs, record, end_year, window=WINDOW_YEARS):
    """:func:`score` of each run, and a last row ``median`` over them."""
    frame = pd.DataFrame([score(links, record, end_year, window) for links in runs])
    frame.index = [f"run {i + 1}" for i in range(len(runs))]
    frame.loc["median"] = frame.median()
    return frame


def unrecorded(runs, record, share=0.5):
    """Supplier -> receiver material links formed in at least ``share`` of the runs but not in the record."""
    starts = {}  # (material, supplier, receiver) -> first start year in each run that formed it
    for links in runs:
        rest = _unrecorded_rows(links, record).assign(year=lambda frame: start_years(frame))
        first = rest.sort_values("link").drop_duplicates(["material", "supplier", "receiver"])
        for row in first.itertuples():
            starts.setdefault((row.material, row.supplier, row.receiver), []).append(row.year)
    rows = [{"material": m, "supplier": s, "receiver": r, "runs": len(v), "first_start_median": float(np.median(v))}
            for (m, s, r), v in starts.items() if len(v) >= share * len(runs)]
    return pd.DataFrame(rows, columns=["material", "supplier", "receiver", "runs", "first_start_median"]).sort_values("first_start_median")


def markdown(frame):
    """A data frame as a GitHub markdown table (whole numbers as such, others to one decimal: a median of
    an even number of runs may fall half-way)."""
    def cell(value):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if isinstance(value, float):
            return f"{value:.0f}" if value == round(value) else f"{value:.1f}"
        return str(value)
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
