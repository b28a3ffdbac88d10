"""Benchmarks of the symbiosis model (``make bench`` runs this script).

Sections (each a function called from :func:`main`):

* model scaling: the synthetic park (``scenarios/synthetic_park.toml``) at 50,
  1,000 and 10,000 firms for 240 monthly periods, and 100,000 firms for 24.
  Firm density is kept constant: ``radius_km = 10 * sqrt(n_firms / 50)``.
* Kalundborg: the full 1959-2025 history (804 months) of ``scenarios/kalundborg.toml``
  with the exchange log kept, as ``symbiosis run`` does (target < 5 s), and the whole
  command including the output files and figures.
* sweeps: 200 runs of the 50-firm park through ``symbiosis sweep`` (serial and 2
  workers) and ``mesa.batch_run``; see ``benchmarks/bench_sweep.py``, which also
  runs on its own (``make bench-sweep``). ``--quick`` makes it 40 runs.
* workload: runs as ``symbiosis run`` and a sweep make them, each beside the memory
  and time :mod:`simulation.model.workload` estimated for it (the estimates that refuse
  runs too large for the machine).

Every run happens in a fresh subprocess of this script (``--child``), so the peak
memory reported (``ru_maxrss`` of the child) belongs to that run alone. The child
times three phases separately: loading the scenario, building the model and
running it; throughput (firm-periods per second) uses the run phase only.

Usage::

    python benchmarks/bench_model.py                 # all sizes
    python benchmarks/bench_model.py --quick         # 50 and 1,000 firms only
    python benchmarks/bench_model.py --sizes 50,10000 --repeat 5
    python benchmarks/bench_model.py --sizes 10000 --profile   # cProfile of the run phase -> results/bench/
    python benchmarks/bench_model.py --sections kalundborg --repeat 3
    python benchmarks/bench_model.py --sections sweep --quick
    python benchmarks/bench_model.py --sections workload --quick
"""

import argparse
import hashlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC_PARK = ROOT / "scenarios" / "synthetic_park.toml"
KALUNDBORG = ROOT / "scenarios" / "kalundborg.toml"
BASE_FIRMS, BASE_RADIUS_KM = 50, 10.0
MIB = 1024 * 1024
GIB = 1024 * MIB
DEFAULT_TIMEOUT_S = 600
PROFILE_DIR = ROOT / "results" / "bench"


# -- targets ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """What a case should achieve; ``None`` means no limit on that figure."""

    max_run_s: float | None = None
    max_peak_bytes: float | None = None

    def describe(self):
        parts = []
        if self.max_run_s is not None:
            parts.append(f"< {self.max_run_s:g} s")
        if self.max_peak_bytes is not None:
            parts.append(f"< {self.max_peak_bytes / GIB:g} GiB")
        return " and ".join(parts) or "completes"

    def verdict(self, result):
        if not result.get("ok"):
            return "FAIL"
        if self.max_run_s is not None and result["run_s"] >= self.max_run_s:
            return "FAIL"
        if self.max_peak_bytes is not None and result["peak_bytes"] >= self.max_peak_bytes:
            return "FAIL"
        return "ok"


# (firms, periods) -> target
MODEL_CASES = {
    50: 240,
    1_000: 240,
    10_000: 240,
    100_000: 24,
}
MODEL_TARGETS = {
    (50, 240): Target(max_run_s=0.5),
    (10_000, 240): Target(max_run_s=30.0, max_peak_bytes=1.5 * GIB),
    (100_000, 24): Target(),
}
QUICK_SIZES = (50, 1_000)
KALUNDBORG_TARGET = Target(max_run_s=5.0)


def radius_for(n_firms):
    """Disc radius that keeps the default park's firm density."""
    return BASE_RADIUS_KM * math.sqrt(n_firms / BASE_FIRMS)


# -- the child: one run in a fresh process -------------------------------------------

def child_model_run(n_firms, periods, seed, profile=None):
    """Load, build and run the synthetic park once; return the measurements."""
    from simulation.model import SymbiosisModel
    from simulation.scenario import load

    overrides = (f"park.n_firms={n_firms}", f"park.radius_km={radius_for(n_firms)!r}")
    fingerprint = source_fingerprint()
    t0 = time.perf_counter()
    scenario = load(SYNTHETIC_PARK, overrides, seed=seed, years=periods / 12)
    if scenario.periods != periods:
        raise SystemExit(f"asked for {periods} periods, the scenario has {scenario.periods}")
    t1 = time.perf_counter()
    model = SymbiosisModel(scenario, record_exchanges=False)
    rss_built = _rss_bytes()
    t2 = time.perf_counter()  # the run phase times model.run() alone
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        model.run()
        profiler.disable()
        t3 = time.perf_counter()
        profiler.dump_stats(profile)
    else:
        model.run()
        t3 = time.perf_counter()
    return {
        "ok": True,
        "firms": n_firms,
        "periods": model.period,
        "load_s": t1 - t0,
        "build_s": t2 - t1,
        "run_s": t3 - t2,
        "rss_built_bytes": rss_built,
        "peak_bytes": _peak_rss_bytes(),
        "active_links": int(model.recorder.current["active_links"]),
        "active_firms": int(model.recorder.current["active_firms"]),
        "source": fingerprint,
    }


def child_kalundborg_run(seed=None):
    """The Kalundborg history once, with the exchange log the CLI keeps; then the CLI itself."""
    from simulation.model import SymbiosisModel
    from simulation.scenario import load

    t0 = time.perf_counter()
    scenario = load(KALUNDBORG, seed=seed)
    t1 = time.perf_counter()
    model = SymbiosisModel(scenario)
    t2 = time.perf_counter()
    model.run()
    t3 = time.perf_counter()
    command = [str(Path(sys.executable).with_name("symbiosis")), "run", str(KALUNDBORG), "--quiet",
               "--out", str(PROFILE_DIR / "kalundborg")]
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    t4 = time.perf_counter()
    return {
        "ok": True, "periods": model.period, "load_s": t1 - t0, "build_s": t2 - t1, "run_s": t3 - t2,
        "command_s": t4 - t3, "links": model.contracts.n_links, "peak_bytes": _peak_rss_bytes(),
        "source": source_fingerprint(),
    }


def _peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _rss_bytes():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return float("nan")


def child_workload(n_firms, periods, logged):
    """One run as the CLI makes it (logged) or as a sweep makes it (light): time and peak memory, for the estimates."""
    from simulation.cli import main as symbiosis
    from simulation.model import SymbiosisModel
    from simulation.scenario import load

    overrides = [f"park.n_firms={n_firms}", f"park.radius_km={radius_for(n_firms)!r}"]
    started = time.perf_counter()
    if logged:
        out = PROFILE_DIR / "workload"
        args = [arg for o in overrides for arg in ("--set", o)]
        status = symbiosis(["run", str(SYNTHETIC_PARK), *args, "--years", repr(periods / 12), "--no-figures", "--quiet",
                            "--out", str(out)])
        if status != 0:
            raise SystemExit(f"symbiosis run ended with status {status}")
    else:
        scenario = load(SYNTHETIC_PARK, overrides, years=periods / 12)
        SymbiosisModel(scenario, record_exchanges=False, collect=False).run()
    return {"ok": True, "firms": n_firms, "periods": periods, "logged": logged,
            "seconds": time.perf_counter() - started, "peak_bytes": _peak_rss_bytes(), "source": source_fingerprint()}


CHILD_TASKS = {"model": child_model_run, "kalundborg": child_kalundborg_run, "workload": child_workload}


def serve_child(tasks, child):
    """In a child process: run ``tasks[name](**kwargs)`` for ``child = (name, kwargs as JSON)`` and print its result as JSON."""
    task, kwargs = child
    print(json.dumps(tasks[task](**json.loads(kwargs))))


def source_fingerprint():
    """Short hash of the ``simulation`` package's sources, to tell code versions apart."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "simulation").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def code_version():
    """``commit[+dirty]`` of the working tree, or ``unknown`` outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "simulation", "scenarios"], capture_output=True, text=True, cwd=ROOT, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" + uncommitted changes in simulation/ or scenarios/" if dirty else "")


def run_child(task, timeout, **kwargs):
    """Run ``task`` in a fresh interpreter; return its result dict (``ok`` False on failure)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", task, json.dumps(kwargs)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired as exc:
        return {"ok": False, "error": f"killed after {timeout:g} s timeout", "stderr": _text(exc.stderr), **kwargs}
    elapsed = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"ok": False, "error": f"exit status {done.returncode}", "stderr": done.stderr, **kwargs}
    result = json.loads(lines[-1])
    result["stderr"] = done.stderr
    result["process_s"] = elapsed
    return result


def _text(data):
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


# -- report helpers --------------------------------------------------------------------

def print_machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    import numpy

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print("Machine")
    print(f"  CPU      {cpu}")
    print(f"  nproc    {usable} usable of {os.cpu_count()}")
    print(f"  Python   {platform.python_version()} ({platform.python_implementation()}, {sys.executable})")
    print(f"  numpy    {numpy.__version__}")
    print(f"  OS       {platform.platform()}")
    print(f"  code     {code_version()}, simulation/ sources {source_fingerprint()}")
    print()


def print_table(headers, rows, align=None):
    align = align or ["<"] * len(headers)
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(f"{h:{a}{w}}" for h, a, w in zip(headers, align, widths))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(f"{str(c):{a}{w}}" for c, a, w in zip(row, align, widths)))


def print_stderr(label, text):
    text = (text or "").strip()
    if text:
        print(f"  {label} wrote to stderr:")
        for line in text.splitlines()[-20:]:
            print(f"    {line}")


# -- section: model scaling ------------------------------------------------------------

def bench_model_scaling(sizes, repeat, seed, timeout, profile=False):
    """The synthetic park at several sizes; one fresh process per run."""
    print("Model scaling: synthetic park, constant firm density, record_exchanges=False")
    print(f"  scenario {SYNTHETIC_PARK.relative_to(ROOT)}, seed {seed}, radius_km = 10 * sqrt(n_firms / 50)")
    print()
    results = []
    for n_firms in sizes:
        periods = MODEL_CASES.get(n_firms, 240)
        runs = repeat if n_firms == BASE_FIRMS else 1
        attempts = []
        for i in range(runs):
            label = f"{n_firms:,} firms x {periods} periods" + (f" (run {i + 1}/{runs})" if runs > 1 else "")
            print(f"  running {label} ...", end="", flush=True)
            prof = str(PROFILE_DIR / f"model_{n_firms}.prof") if profile else None
            result = run_child("model", timeout, n_firms=n_firms, periods=periods, seed=seed, profile=prof)
            result.setdefault("firms", n_firms)
            result.setdefault("periods", periods)
            print(f" {result['run_s']:.2f} s" if result.get("ok") else f" {result['error']}")
            attempts.append(result)
            if not result.get("ok"):
                break
        good = [r for r in attempts if r.get("ok")]
        best = min(good, key=lambda r: r["run_s"]) if good else attempts[-1]
        best["runs"] = len(good)
        results.append(best)
        if profile and best.get("ok"):
            print_profile(PROFILE_DIR / f"model_{n_firms}.prof")
    print()
    headers = ["firms", "periods", "load s", "build s", "run s", "firm-periods/s", "RSS built MiB",
               "peak MiB", "links at end", "target", "verdict"]
    align = [">", ">", ">", ">", ">", ">", ">", ">", ">", "<", "<"]
    rows = []
    for r in results:
        target = MODEL_TARGETS.get((r["firms"], r["periods"]))
        if r.get("ok"):
            best_of = f" (best of {r['runs']})" if r["runs"] > 1 else ""
            rows.append([
                f"{r['firms']:,}", r["periods"], f"{r['load_s']:.2f}", f"{r['build_s']:.2f}", f"{r['run_s']:.2f}{best_of}",
                f"{r['firms'] * r['periods'] / r['run_s']:,.0f}", f"{r['rss_built_bytes'] / MIB:,.0f}",
                f"{r['peak_bytes'] / MIB:,.0f}", f"{r['active_links']:,}",
                target.describe() if target else "-", target.verdict(r) if target else "-",
            ])
        else:
            rows.append([f"{r['firms']:,}", r["periods"], "-", "-", "-", "-", "-", "-", "-",
                         target.describe() if target else "-", f"FAIL: {r['error']}"])
    print_table(headers, rows, align)
    print()
    for r in results:
        print_stderr(f"{r['firms']:,} firms", r.get("stderr"))
    check_same_code(results)
    return results


# -- section: Kalundborg -----------------------------------------------------------------

def bench_kalundborg(repeat, timeout):
    """The full 1959-2025 Kalundborg run, best of ``repeat`` fresh processes."""
    print("Kalundborg 1959-2025: scenarios/kalundborg.toml, its own seed, exchange log kept (as the CLI)")
    attempts = []
    for i in range(repeat):
        print(f"  run {i + 1}/{repeat} ...", end="", flush=True)
        result = run_child("kalundborg", timeout)
        print(f" {result['run_s']:.2f} s" if result.get("ok") else f" {result['error']}")
        attempts.append(result)
        if not result.get("ok"):
            print_stderr("kalundborg", result.get("stderr"))
            return [result]
    best = min(attempts, key=lambda r: r["run_s"])
    print()
    headers = ["months", "load s", "build s", "run s", "whole `symbiosis run` s", "links formed", "peak MiB", "target", "verdict"]
    print_table(headers, [[best["periods"], f"{best['load_s']:.2f}", f"{best['build_s']:.2f}",
                           f"{best['run_s']:.2f} (best of {repeat})", f"{best['command_s']:.1f}", best["links"],
                           f"{best['peak_bytes'] / MIB:,.0f}", KALUNDBORG_TARGET.describe(), KALUNDBORG_TARGET.verdict(best)]],
                ["<"] + [">"] * 6 + ["<", "<"])
    print("  (the whole command also loads the package, writes 7 files and draws 8 figures)")
    print()
    return [best]


# -- section: workload estimates -------------------------------------------------------------

WORKLOAD_CASES = [(True, 50, 240), (True, 1_000, 240), (True, 10_000, 240), (True, 1_000, 1_200),
                  (False, 1_000, 1_200), (False, 10_000, 240), (False, 100_000, 24)]
QUICK_WORKLOAD_CASES = [(True, 50, 240), (True, 1_000, 240), (False, 1_000, 240)]


def bench_workload(cases, timeout):
    """Each case measured in a fresh process beside what simulation.model.workload estimated for it before it ran."""
    from simulation.model.workload import size_estimate

    print("Workload estimates (simulation/model/workload.py) against measured runs: logged = `symbiosis run --no-figures`,")
    print("  light = a sweep's run (no exchange log, no DataCollector); time excludes starting Python (about 0.8 s)")
    print()
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    rows, results = [], []
    for logged, n_firms, periods in cases:
        kind = "logged" if logged else "light"
        print(f"  {kind} {n_firms:,} firms x {periods} months ...", end="", flush=True)
        result = run_child("workload", timeout, n_firms=n_firms, periods=periods, logged=logged)
        results.append(result)
        if not result.get("ok"):
            print(f" {result['error']}")
            print_stderr(kind, result.get("stderr"))
            continue
        print(f" {result['seconds']:.1f} s")
        estimate = size_estimate(n_firms, periods, logged=logged)
        rows.append([kind, f"{n_firms:,}", periods, f"{result['peak_bytes'] / MIB:,.0f}", f"{estimate.peak_bytes / MIB:,.0f}",
                     f"{estimate.peak_bytes / result['peak_bytes']:.2f}", f"{result['seconds']:.1f}", f"{estimate.seconds:.1f}",
                     f"{estimate.seconds / result['seconds']:.2f}"])
    print()
    print_table(["run", "firms", "months", "peak MiB", "estimate", "ratio", "seconds", "estimate", "ratio"], rows,
                ["<", ">", ">", ">", ">", ">", ">", ">", ">"])
    print("  ratio = estimate / measured: memory should be at or above 1 (a refusal errs on the safe side), time near 1-2")
    print()
    return results


def check_same_code(results):
    """Warn when the runs did not all use the same ``simulation`` sources."""
    versions = {r["source"] for r in results if r.get("source")}
    versions.add(source_fingerprint())
    if len(versions) > 1:
        used = ", ".join(f"{r['firms']:,}: {r.get('source', '?')}" for r in results)
        print(f"  WARNING: simulation/ changed during the benchmark; sources used per case: {used}; "
              f"now {source_fingerprint()}. The figures are not comparable with each other.")


def print_profile(path, top=25):
    import pstats

    print(f"\n  cProfile of the run phase ({path.name}), top {top} by cumulative time:")
    stats = pstats.Stats(str(path), stream=sys.stdout)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)


# -- main ------------------------------------------------------------------------------

def parse_sizes(text):
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected firm counts like 50,1000, got {text!r}") from None
    if not sizes or any(n <= 0 for n in sizes):
        raise argparse.ArgumentTypeError(f"firm counts must be positive, got {text!r}")
    return sizes


SECTIONS = ("model", "kalundborg", "sweep", "workload")


def parse_sections(text):
    sections = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [s for s in sections if s not in SECTIONS]
    if not sections or unknown:
        raise argparse.ArgumentTypeError(f"sections are {', '.join(SECTIONS)}; got {text!r}")
    return sections


def build_parser():
    parser = argparse.ArgumentParser(description="Benchmarks of the symbiosis model.")
    parser.add_argument("--quick", action="store_true", help="only 50 and 1,000 firms")
    parser.add_argument("--sizes", type=parse_sizes, help="firm counts to run, e.g. 50,1000 "
                        f"(periods: {', '.join(f'{n:,} -> {p}' for n, p in MODEL_CASES.items())}; others 240)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the 50-firm case; the best is reported")
    parser.add_argument("--seed", type=int, default=42, help="run seed (default 42)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds before a run is killed (default 600)")
    parser.add_argument("--sections", type=parse_sections, default=SECTIONS,
                        help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})")
    parser.add_argument("--profile", action="store_true", help="cProfile the run phase; writes results/bench/model_<N>.prof")
    parser.add_argument("--child", nargs=2, metavar=("TASK", "JSON"), help=argparse.SUPPRESS)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.child:
        serve_child(CHILD_TASKS, args.child)
        return 0
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    sizes = args.sizes or (list(QUICK_SIZES) if args.quick else list(MODEL_CASES))
    if args.profile:
        PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    print_machine()
    results = []
    if "model" in args.sections:
        results += bench_model_scaling(sizes, args.repeat, args.seed, args.timeout, profile=args.profile)
    if "kalundborg" in args.sections:
        PROFILE_DIR.mkdir(parents=True, exist_ok=True)
        results += bench_kalundborg(args.repeat, args.timeout)
    if "workload" in args.sections:
        results += bench_workload(QUICK_WORKLOAD_CASES if args.quick else WORKLOAD_CASES, args.timeout)
    if "sweep" in args.sections:
        from bench_sweep import QUICK_RUNS, RUNS, bench_sweeps

        results += bench_sweeps(QUICK_RUNS if args.quick else RUNS)
    return 0 if all(r.get("ok") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
