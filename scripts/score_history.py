"""Score a scenario's simulated history against a recorded one, over several seeds.

Usage: .venv/bin/python scripts/score_history.py [SCENARIO] [--record FILE] [--seeds 10] [--set PATH=VALUE ...]

SCENARIO defaults to scenarios/kalundborg.toml, and FILE to ``data/<scenario name>_history.toml``
beside it (the format of scenarios/data/kalundborg_history.toml: ``[[exchanges]]`` with material,
supplier, receiver, start and optional end years, and an optional ``horizon``, the last year the
record knows of). The model never reads the record. Prints three markdown tables (those of
docs/kalundborg.md): each run scored against the record (simulation.output.validation.score:
recorded exchanges formed, formed within 5 years of the recorded start, median start error, ends
matching the record, distinct links the record does not list), each recorded exchange with its
recorded start and end against the simulated ones (median and range over the seeds), and the
links formed in at least half of the runs that the record does not list.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulation.errors import ScenarioError  # noqa: E402
from simulation.model import SymbiosisModel  # noqa: E402
from simulation.output.tables import link_table  # noqa: E402
from simulation.output.validation import (  # noqa: E402
    compare,
    history_file,
    load_record,
    markdown,
    scores,
    unrecorded,
)
from simulation.scenario import load  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "kalundborg.toml"))
    parser.add_argument("--record", help="the recorded history (default: data/<scenario name>_history.toml beside it)")
    parser.add_argument("--seeds", type=int, default=10, help="runs, seeds 1..N (default 10)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    args = parser.parse_args(argv)
    try:
        print(report(args.scenario, args.record, args.seeds, args.overrides))
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


def report(scenario_path, record_path, seeds, overrides=()):
    """The three tables as markdown, for ``seeds`` runs (seeds 1..N) of the scenario."""
    first = load(scenario_path, overrides)
    record_path = Path(record_path) if record_path else history_file(first)
    if record_path is None:
        raise ScenarioError(scenario_path, "", f"no recorded history beside it (data/{first.name}_history.toml); "
                                               "name one with --record")
    record = load_record(record_path)
    runs = []
    for seed in range(1, seeds + 1):
        runs.append(link_table(SymbiosisModel(load(scenario_path, overrides, seed=seed), record_exchanges=False).run()))
        print(f"seed {seed}: {len(runs[-1])} links", file=sys.stderr)
    table = scores(runs, record, record.horizon)
    return "\n\n".join([markdown(table.rename_axis("run").reset_index()), markdown(compare(runs, record)),
                        markdown(unrecorded(runs, record))])


if __name__ == "__main__":
    sys.exit(main())
