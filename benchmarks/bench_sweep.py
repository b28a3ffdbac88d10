"""Benchmark of the sweep machinery against ``mesa.batch_run`` (``make bench-sweep``).

The same runs of the 50-firm synthetic park (240 months; landfill tax 0, 40, 80
or 120 EUR/t, seeds from one SeedSequence) are made by:

* ``symbiosis sweep`` serially (workers=1) and with 2 worker processes;
* ``mesa.batch_run`` with 1 and 2 processes, driving :class:`BatchSymbiosis`
  (SymbiosisModel with keyword parameters, as batch_run builds models; note that
  batch_run switches the whole interpreter to the spawn start method);

each case in a fresh process of this script (``--child``), while this process
samples the resident memory of that process and all its children every 0.2 s
(proportional set size, so pages that forked workers share with their parent
count once; peak = the highest sum). Sweeps at 50 and at 200 runs show whether memory grows
with the number of runs. Machinery overhead = serial sweep wall time / the time
spent building and running models in it - 1.

The host's speed drifts by up to 20% over minutes, longer than one case takes,
so the cases run in ``--rounds`` interleaved rounds: each round runs every case
once, each round starting further along the list of cases. Each case is reported
by its best round (all rounds' runs/s are listed too) and every verdict compares
best rounds, for the sweep and batch_run alike; peak memory is the highest of the rounds.

Usage::

    python benchmarks/bench_sweep.py            # 200 runs, 2 rounds (about 30 minutes on 2 cores)
    python benchmarks/bench_sweep.py --quick    # 40 runs
    python benchmarks/bench_sweep.py --runs 400 --rounds 3
"""

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_model import (  # noqa: E402
    MIB,
    ROOT,
    SYNTHETIC_PARK,
    print_machine,
    print_table,
    serve_child,
)

from simulation.experiment.sweep import assignments  # noqa: E402
from simulation.model import SymbiosisModel  # noqa: E402
from simulation.scenario import load  # noqa: E402
from simulation.scenario.snapshot import Snapshot  # noqa: E402

TAXES = (0, 40, 80, 120)  # EUR/t: four design points
SEED = 2026
RUNS, QUICK_RUNS = 200, 40
ROUNDS = 2
SAMPLE_S = 0.2
TARGET_SPEEDUP = 1.8
TARGET_OVERHEAD = 0.10


def bench_sweep_for(runs):
    from simulation.experiment.sweep_file import sweep_of_points

    points = [(f"tax={tax}", {"policy.landfill_tax_eur_per_t": tax}) for tax in TAXES]
    return sweep_of_points("bench_sweep", SYNTHETIC_PARK, points, replicates=max(1, runs // len(TAXES)), seed=SEED)


# -- children: one case each, in a fresh process ---------------------------------------------

def child_sweep(runs, workers, out):
    """A sweep; in-process (workers=1) it also times model building and running alone."""
    from simulation import model as model_module
    from simulation.experiment.runs import run_sweep

    model_s = [0.0]
    if workers == 1:  # timing wrappers only in this benchmark child; the model itself is untouched
        cls = model_module.SymbiosisModel
        init, run = cls.__init__, cls.run

        def timed(method):
            def wrapper(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return method(*args, **kwargs)
                finally:
                    model_s[0] += time.perf_counter() - started
            return wrapper

        cls.__init__, cls.run = timed(init), timed(run)
    sweep = bench_sweep_for(runs)
    started = time.perf_counter()
    frame = run_sweep(sweep, out, workers=workers, progress=False)
    wall = time.perf_counter() - started
    return {"runs": len(frame), "done": int((frame["status"] == "done").sum()), "wall_s": wall,
            "model_s": model_s[0] if workers == 1 else None, "links": float(frame["links_formed"].sum())}


@functools.cache
def plan(runs):
    """Overrides and seed of each run, as the sweep plans them (recomputed in batch_run's spawned workers)."""
    return [(assignments(planned.overrides), planned.seed) for planned in bench_sweep_for(runs).runs()]


def child_batch_run(runs, workers, out):
    import mesa

    started = time.perf_counter()
    # rng=[None]: one model per parameter set, seeded by BatchSymbiosis from the plan (what iterations=1 did).
    results = mesa.batch_run(BatchSymbiosis, {"run": list(range(len(plan(runs)))), "runs": runs}, number_processes=workers,
                             rng=[None], data_collection_period=-1, max_steps=10_000, display_progress=False)
    wall = time.perf_counter() - started
    return {"runs": len(results), "done": len(results), "wall_s": wall, "model_s": None, "links": None}


FILES = Snapshot()  # the files parsed once per process, as a sweep's workers have them


class BatchSymbiosis(SymbiosisModel):
    """SymbiosisModel built the way mesa.batch_run builds models: from keyword parameters."""

    def __init__(self, run=0, runs=1, rng=None):
        overrides, seed = plan(runs)[run]
        super().__init__(load(SYNTHETIC_PARK, overrides, files=FILES), seed=seed, record_exchanges=False)


CHILDREN = {"sweep": child_sweep, "batch_run": child_batch_run}


# -- the parent: run a case, watch its memory --------------------------------------------------

def run_case(task, runs, workers):
    out = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    command = [sys.executable, str(Path(__file__).resolve()), "--child", task, json.dumps({"runs": runs, "workers": workers, "out": str(out / "store")})]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watched, peak, loads = psutil.Process(process.pid), 0, []
    while process.poll() is None:
        loads.append(os.getloadavg()[0])
        try:
            tree = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(_memory(p) for p in tree))
        except psutil.NoSuchProcess:
            pass
        time.sleep(SAMPLE_S)
    stdout, stderr = process.communicate()
    shutil.rmtree(out, ignore_errors=True)
    if process.returncode != 0:
        return {"ok": False, "error": stderr.strip().splitlines()[-1:] or [f"exit {process.returncode}"]}
    result = json.loads(stdout.strip().splitlines()[-1])
    # The machine's 1-minute load average during the case: above the core count, other work shared the cores.
    result.update(ok=True, peak_bytes=peak, load=sum(loads) / max(1, len(loads)))
    return result


def _memory(process):
    """Proportional set size: pages shared by forked workers counted once in all, not once in each."""
    try:
        return process.memory_full_info().pss
    except psutil.NoSuchProcess:
        return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help=f"runs per case (default {RUNS})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RUNS} runs per case")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"interleaved rounds of every case (default {ROUNDS})")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        serve_child(CHILDREN, args.child)
        return 0
    if args.rounds < 1:
        raise SystemExit("--rounds must be at least 1")
    print_machine()
    results = bench_sweeps(QUICK_RUNS if args.quick else args.runs, args.rounds)
    return 0 if all(r["ok"] for r in results) else 1


def bench_sweeps(runs, rounds=ROUNDS):
    """Every case at ``runs`` runs, and sweeps at a quarter of that, in ``rounds`` rounds; prints the table and verdicts."""
    small = max(len(TAXES), runs // 4)
    print(f"Sweep machinery: {runs} runs of the 50-firm synthetic park x 240 months "
          f"(landfill tax {', '.join(map(str, TAXES))} EUR/t x {runs // len(TAXES)} seeds), {rounds} round(s)\n")
    cases = [("sweep", small, 1), ("sweep", runs, 1), ("sweep", small, 2), ("sweep", runs, 2),
             ("batch_run", runs, 1), ("batch_run", runs, 2)]
    rounds_of = {case: [] for case in cases}
    for r in range(rounds):
        shift = r * len(cases) // rounds  # rounds start evenly spread along the list
        for task, n, workers in cases[shift:] + cases[:shift]:
            name = f"{'symbiosis sweep' if task == 'sweep' else 'mesa.batch_run'}, {workers} process{'es' if workers > 1 else ''}, {n} runs"
            print(f"  round {r + 1}: {name} ...", end="", flush=True)
            rounds_of[(task, n, workers)].append(result := run_case(task, n, workers))
            print(f" {result['wall_s']:.1f} s, {result['runs'] / result['wall_s']:.2f} runs/s, peak {result['peak_bytes'] / MIB:,.0f} MiB, "
                  f"load average {result['load']:.1f}" if result["ok"] else f" FAILED: {result['error']}", flush=True)
    print()
    results = {case: _best(found) for case, found in rounds_of.items()}
    rows = []
    for (task, n, workers), r in results.items():
        if r["ok"]:
            overhead = f"{r['wall_s'] / r['model_s'] - 1:+.1%}" if r.get("model_s") else "-"
            rows.append([task, workers, n, f"{r['wall_s']:.1f}", f"{r['runs'] / r['wall_s']:.2f}", ", ".join(f"{x:.2f}" for x in r["rates"]),
                         overhead, f"{r['peak_bytes'] / MIB:,.0f}", f"{r['load']:.1f}"])
    print_table(["machinery", "processes", "runs", "wall s", "runs/s", "runs/s each round", "overhead vs model",
                 "peak memory MiB (PSS, incl. children)", "load average"], rows, ["<", ">", ">", ">", ">", ">", ">", ">", ">"])
    print("  (wall s, runs/s, overhead and load average: the case's best round; peak memory: the highest of the rounds)\n")
    _verdicts(results, runs, small)
    return list(results.values())


def _best(found):
    """A case's best round (highest runs/s), with every round's runs/s and the highest peak memory; failed if any round failed."""
    failed = [r for r in found if not r["ok"]]
    if failed:
        return failed[0]
    best = max(found, key=lambda r: r["runs"] / r["wall_s"])
    return {**best, "rates": [r["runs"] / r["wall_s"] for r in found], "peak_bytes": max(r["peak_bytes"] for r in found)}


def _verdicts(results, runs, small):
    """Targets judged on each case's best round."""
    def rate(key):
        r = results[key]
        return r["runs"] / r["wall_s"] if r["ok"] else float("nan")

    serial, pool = results[("sweep", runs, 1)], results[("sweep", runs, 2)]
    speedup = rate(("sweep", runs, 2)) / rate(("sweep", runs, 1))
    overhead = serial["wall_s"] / serial["model_s"] - 1 if serial["ok"] else float("nan")
    best_batch = max(rate(("batch_run", runs, 1)), rate(("batch_run", runs, 2)))
    batch_peak = max(results[("batch_run", runs, w)].get("peak_bytes", 0) for w in (1, 2))
    print(f"  speed-up with 2 workers: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x): {'met' if speedup >= TARGET_SPEEDUP else 'MISSED'}")
    print(f"  machinery overhead, serial: {overhead:+.1%} of model time (target < {TARGET_OVERHEAD:.0%}): "
          f"{'met' if overhead < TARGET_OVERHEAD else 'MISSED'}")
    best_sweep = max(rate(("sweep", runs, 1)), rate(("sweep", runs, 2)))
    print(f"  best sweep {best_sweep:.2f} runs/s vs best batch_run {best_batch:.2f} runs/s: {'ahead' if best_sweep > best_batch else 'BEHIND'}")
    for workers in (1, 2):
        a, b = results[("sweep", small, workers)], results[("sweep", runs, workers)]
        if a["ok"] and b["ok"]:
            print(f"  memory, {workers} process(es): {a['peak_bytes'] / MIB:,.0f} MiB at {small} runs, "
                  f"{b['peak_bytes'] / MIB:,.0f} MiB at {runs} runs ({b['peak_bytes'] / a['peak_bytes'] - 1:+.0%})")
    if pool["ok"] and batch_peak:
        print(f"  peak memory, sweep with 2 workers vs batch_run's largest: {pool['peak_bytes'] / MIB:,.0f} vs {batch_peak / MIB:,.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
