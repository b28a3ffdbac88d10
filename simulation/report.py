"""Writing a run's results: CSV tables, run metadata and the summary table.

Everything is first written into a temporary folder next to the destination
and moved into place only when complete (:mod:`simulation.atomic`), so a
failed run never leaves a half-written result. Files contain no timestamps or
timings, so the same scenario and seed give byte-identical files.
"""

import csv
import json
import platform
from pathlib import Path

import numpy as np
import pandas as pd

from simulation import __version__
from simulation.atomic import staged_folder
from simulation.measures import FLOW_COLUMNS, MEASURES


def period_table(model):
    frame = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    frame.insert(0, "month", [model.calendar.label(t) for t in range(len(frame))])
    frame.insert(0, "period", range(len(frame)))
    return frame


def flow_table(model):
    rows = []
    for t, table in enumerate(model.recorder.material_flows):
        for i, material in enumerate(model.materials.ids):
            if table[i].any():
                rows.append([t, material, model.materials.unit[i], *table[i].tolist()])
    return pd.DataFrame(rows, columns=["period", "material", "unit", *FLOW_COLUMNS])


def exchange_table(model):
    book = model.contracts
    parts = []
    for period, ids, promised, shipped, received in model.recorder.exchanges:
        parts.append(pd.DataFrame({
            "period": period, "contract": ids, "link": book.link[ids],
            "promised": promised, "shipped": shipped, "received_as_input": received,
        }))
    if not parts:
        return pd.DataFrame(columns=["period", "contract", "link", "promised", "shipped", "received_as_input"])
    return pd.concat(parts, ignore_index=True)


def contract_table(model):
    rows = model.contracts.log_rows(model.firm_ids, model.materials.ids, model.calendar)
    return pd.DataFrame(rows)


def metadata(model, command, outcome):
    scenario = model.config
    return {
        "scenario": scenario.name,
        "scenario_file": str(scenario.path),
        "scenario_sha256": scenario.content_hash,
        "overrides": list(scenario.overrides),
        "seed": model.seed,
        "periods": model.period,
        "start": model.calendar.label(0),
        "package_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "command": command,
        "outcome": {
            "regime": outcome.regime,
            "formed": model.calendar.label(outcome.formed_period) if outcome.formed_period is not None else None,
            "collapsed": model.calendar.label(outcome.collapsed_period) if outcome.collapsed_period is not None else None,
            "peak_links": round(outcome.peak_links, 6),
            "drop_share": round(outcome.drop_share, 6),
        },
        "measures": MEASURES,
    }


def summary(model, outcome):
    """Key figures of a run as (label, value) rows."""
    frame = model.datacollector.get_model_vars_dataframe()
    generated = frame["waste_generated_t"].sum()
    diverted = frame["waste_exchanged_t"].sum() + frame["waste_reused_t"].sum()
    book = model.contracts
    return [
        ("outcome", outcome.describe(model.calendar)),
        ("links formed (ever)", f"{book.n_links}"),
        ("links active at end", f"{int(frame['active_links'].iloc[-1])}"),
        ("firms linked at end", f"{int(frame['firms_linked'].iloc[-1])} of {int(frame['active_firms'].iloc[-1])}"),
        ("waste diverted", f"{diverted / generated:.1%} of {generated:,.0f} t" if generated else "no mass waste"),
        ("energy exchanged", f"{frame['energy_exchanged_mwh'].sum():,.0f} MWh"),
        ("water exchanged", f"{frame['water_exchanged_m3'].sum():,.0f} m3"),
        ("CO2 avoided", f"{frame['co2_avoided_t'].sum():,.0f} t"),
        ("firms' savings", f"{frame['savings_eur'].sum():,.0f} EUR"),
        ("government net cost", f"{frame['government_net_cost_eur'].sum():,.0f} EUR"),
    ]


def format_summary(rows):
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label:<{width}}  {value}" for label, value in rows)


def write_results(model, out_dir, command, outcome, figures=True):
    """Write every output file of a run into ``out_dir`` atomically."""
    with staged_folder(out_dir) as staging:
        period_table(model).to_csv(staging / "periods.csv", index=False, float_format="%.6g")
        contract_table(model).to_csv(staging / "contracts.csv", index=False, float_format="%.6g", quoting=csv.QUOTE_MINIMAL)
        exchange_table(model).to_csv(staging / "exchanges.csv", index=False, float_format="%.6g")
        flow_table(model).to_csv(staging / "flows.csv", index=False, float_format="%.6g")
        with open(staging / "metadata.json", "w") as handle:
            json.dump(metadata(model, command, outcome), handle, indent=2, sort_keys=True)
            handle.write("\n")
        if figures:
            from simulation.figures import draw_all

            draw_all(model, staging)
    return Path(out_dir)
