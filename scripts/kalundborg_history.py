"""Compare the simulated Kalundborg history with the recorded one, over several seeds.

Usage: .venv/bin/python scripts/kalundborg_history.py [--seeds 10] [--set PATH=VALUE ...]

Prints three markdown tables (used in docs/kalundborg.md): each run scored against the
record (simulation.output.validation.score: recorded exchanges formed, formed within
5 years of the recorded start, median start error, ends matching the record, distinct
links the record does not list), each recorded exchange with its recorded start and end
against the simulated ones (median and range over the seeds), and the links the model
forms in at least half of the runs that are not in the record.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulation.model import SymbiosisModel  # noqa: E402
from simulation.output.tables import link_table  # noqa: E402
from simulation.output.validation import (  # noqa: E402
    compare,
    load_record,
    markdown,
    record_horizon,
    scores,
    unrecorded,
)
from simulation.scenario import load  # noqa: E402

RECORD = ROOT / "scenarios" / "data" / "kalundborg_history.toml"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="runs, seeds 1..N (default 10)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    args = parser.parse_args(argv)
    record = load_record(RECORD)
    runs = []
    for seed in range(1, args.seeds + 1):
        scenario = load(ROOT / "scenarios" / "kalundborg.toml", args.overrides, seed=seed)
        runs.append(link_table(SymbiosisModel(scenario, record_exchanges=False).run()))
        print(f"seed {seed}: {len(runs[-1])} links", file=sys.stderr)
    table = scores(runs, record, record_horizon(RECORD))
    print(markdown(table.rename_axis("run").reset_index()))
    print()
    print(markdown(compare(runs, record)))
    print()
    print(markdown(unrecorded(runs, record)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
