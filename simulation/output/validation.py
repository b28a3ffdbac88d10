"""Comparing simulated links with a recorded history of exchanges.

A *record* is a TOML file of ``[[exchanges]]`` (material, supplier, receiver,
start year, optional end year; material and receiver may be lists of
alternatives), e.g. ``scenarios/data/kalundborg_history.toml``. The model never
reads it: it is validation data. :func:`compare` matches each recorded exchange
with the links of one or more runs (``report.link_table``) and reports when
they formed and ended in each run.
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


def load_record(path):
    """The recorded exchanges of ``path`` as a list of dicts with list-valued material and receiver."""
    path = Path(path)
    raw = read_toml(path)
    record = []
    for i, entry in enumerate(raw.get("exchanges", [])):
        for field in ("material", "supplier", "receiver", "start"):
            if field not in entry:
                raise ScenarioError(path, f"exchanges[{i}].{field}", "missing")
        record.append({**entry, "material": _listed(entry["material"]), "receiver": _listed(entry["receiver"])})
    return record


def _listed(value):
    return [value] if isinstance(value, str) else list(value)


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


def unrecorded(runs, record, share=0.5):
    """Supplier -> receiver material links formed in at least ``share`` of the runs but not in the record."""
    starts = {}  # (material, supplier, receiver) -> first start year in each run that formed it
    for links in runs:
        recorded = pd.Index([]).append([matches(links, exchange).index for exchange in record])
        rest = links.drop(recorded.unique()).assign(year=lambda frame: start_years(frame))
        first = rest.sort_values("link").drop_duplicates(["material", "supplier", "receiver"])
        for row in first.itertuples():
            starts.setdefault((row.material, row.supplier, row.receiver), []).append(row.year)
    rows = [{"material": m, "supplier": s, "receiver": r, "runs": len(v), "first_start_median": float(np.median(v))}
            for (m, s, r), v in starts.items() if len(v) >= share * len(runs)]
    return pd.DataFrame(rows, columns=["material", "supplier", "receiver", "runs", "first_start_median"]).sort_values("first_start_median")


def markdown(frame):
    """A data frame as a GitHub markdown table (numbers as whole years)."""
    def cell(value):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        return f"{value:.0f}" if isinstance(value, float) else str(value)
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
