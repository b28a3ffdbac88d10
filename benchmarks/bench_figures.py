"""What a run's figures cost, against the run itself (``make bench-figures``; part of ``make bench``).

For each scenario, every variant runs in a fresh process (``--child``), as
``symbiosis run`` does it: load the scenario, build and run the model (the exchange
log kept), write the result folder. Variants:

* ``tables only``: ``--no-figures``;
* ``figures, 1 process``: every figure drawn in this process after the run (``--workers 1``);
* ``figures, 2 processes``: drawn by two forked processes after the run, while the tables are
  written, as ``symbiosis run`` draws them on 2 cores.

(Drawing the networks of ``[report] network_years`` during the run, in processes forked
as each year passed, was measured too and saved nothing on Kalundborg: 2.98 s against
2.93 s for the whole. It was dropped.)

Each variant's time counts from the model's construction to the result in place
(imports and loading excluded); "figures" is a variant's time less that of tables only,
"run" the model's build and run. Best of ``--repeat`` rounds, the variants alternating
in each round. The last column pairs the variants within each round, so that a host
whose speed drifts between rounds (a shared virtual machine) does not bias it: what a
variant took after its run less what tables only took after theirs, over the mean of
the two runs; its median and range over the rounds.

Usage::

    python benchmarks/bench_figures.py
    python benchmarks/bench_figures.py --scenarios kalundborg --repeat 5
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {"demo_park": ROOT / "scenarios" / "demo_park.toml", "kalundborg": ROOT / "scenarios" / "kalundborg.toml",
             "collapse_demo": ROOT / "scenarios" / "collapse_demo.toml", "kwinana": ROOT / "scenarios" / "kwinana.toml",
             "synthetic_park": ROOT / "scenarios" / "synthetic_park.toml"}
VARIANTS = {"tables only": (False, 1), "figures, 1 process": (True, 1), "figures, 2 processes": (True, 2)}


def child(scenario_path, variant):
    import matplotlib

    matplotlib.use("Agg")
    from simulation.measures.outcome import outcome_of
    from simulation.model import SymbiosisModel
    from simulation.output.results import write_results
    from simulation.scenario import load

    figures, workers = VARIANTS[variant]
    scenario = load(scenario_path)
    if figures:
        import simulation.output.figures  # noqa: F401  (imported before the clock, as the CLI has it by then)
    t0 = time.perf_counter()
    model = SymbiosisModel(scenario, collect_agents=False)
    model.run()
    t1 = time.perf_counter()
    outcome = outcome_of(model.datacollector.get_model_vars_dataframe().__getitem__, scenario.spec.outcome)
    with tempfile.TemporaryDirectory() as folder:
        write_results(model, Path(folder) / "out", ["bench"], outcome, figures=figures, workers=workers)
        t2 = time.perf_counter()
        files = len(os.listdir(Path(folder) / "out"))
    return {"run_s": t1 - t0, "total_s": t2 - t0, "files": files}


def run_child(name, variant):
    out = subprocess.run([sys.executable, __file__, "--child", name, variant], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3); the best of each variant is shown")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(SCENARIOS[args.child[0]], args.child[1])))
        return
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for name in args.scenarios.split(","):
        rounds = [{variant: run_child(name, variant) for variant in VARIANTS} for _ in range(args.repeat)]
        best = {variant: min((r[variant] for r in rounds), key=lambda result: result["total_s"]) for variant in VARIANTS}
        base = best["tables only"]
        print(f"\n{name}: model built and run in {base['run_s']:.2f} s (best of {args.repeat}, tables-only variant)")
        print(f"  {'variant':24s} {'whole s':>8s} {'figures s':>10s} {'figures / run':>14s} {'files':>6s}"
              f"  paired figures / run: median (range)")
        for variant, result in best.items():
            figures = result["total_s"] - base["total_s"]
            ratios = sorted(paired_ratio(r[variant], r["tables only"]) for r in rounds)
            print(f"  {variant:24s} {result['total_s']:8.2f} {figures:10.2f} {figures / base['run_s']:14.2f} {result['files']:6d}"
                  f"  {statistics.median(ratios):.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})")


def paired_ratio(variant, tables_only):
    """A variant's drawing time over the run, from one round: its time after the run less tables only's, over the mean run."""
    after = (variant["total_s"] - variant["run_s"]) - (tables_only["total_s"] - tables_only["run_s"])
    return after / ((variant["run_s"] + tables_only["run_s"]) / 2)


if __name__ == "__main__":
    main()
