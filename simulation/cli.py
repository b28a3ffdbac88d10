"""The ``symbiosis`` command.

``symbiosis run [SCENARIO] [--years N] [--seed S] [--set PATH=VALUE ...] [--out DIR]``
runs a scenario with a progress bar, prints a summary table and writes results
to ``results/<scenario>/`` (or ``--out``).

``symbiosis sweep SWEEP.toml [--workers N] [--dask ADDRESS | --dask-local N] [--resume] [--out DIR]``
runs a parameter sweep into ``results/<sweep>/results.sqlite``;
``symbiosis export RESULTS --format csv|parquet`` writes its tables for other tools.

``symbiosis compare SCENARIO --policy NAME:PATH=VALUE[,PATH=VALUE...] ... [--replicates R]``
compares policy packages with the baseline (:mod:`simulation.experiment.compare`);
``symbiosis analyze RESULTS [--x PATH --y PATH] [--measure NAME ...]`` draws a
sweep's regime maps, response curves and sensitivity indices (:mod:`simulation.experiment.analysis`).

Bad input ends with a one-paragraph message and exit status 2, before anything is written;
a run that fails once started (its numbers stop being finite), or a sweep or comparison
with failed runs, ends with exit status 3. Output folders are written as
:mod:`simulation.output.files` describes: only new or empty folders, or over this tool's
own earlier results.
"""

import argparse
import math
import os
import shlex
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from simulation.errors import RunFailed, ScenarioError

DEFAULT_SCENARIO = "scenarios/demo_park.toml"
EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 3
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line like every other refusal (exit status 2)."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser():
    parser = _Parser(prog="symbiosis", description="Agent-based simulation of industrial symbiosis.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run one scenario and write its results")
    run.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO, help=f"scenario TOML file (default {DEFAULT_SCENARIO})")
    run.add_argument("--years", type=_positive_float, help="override the scenario's length in years")
    run.add_argument("--seed", type=_seed, help="override the scenario's random seed")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                     help="override any scenario value by its dotted path, e.g. policy.landfill_tax_eur_per_t=80")
    run.add_argument("--out", type=_out_dir, help="output folder (default results/<scenario name>); must be new, empty, "
                                                   "or an earlier run's results, which are replaced as a whole")
    run.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_sweep_commands(commands)
    _add_compare(commands)
    _add_analyze(commands)
    return parser


def _add_sweep_commands(commands):
    sweep = commands.add_parser("sweep", help="run a parameter sweep into a results store (see scenarios/sweeps/)")
    sweep.add_argument("sweep_file", metavar="SWEEP.toml", help="sweep file")
    sweep.add_argument("--workers", type=_positive_int, help="worker processes (default: the usable cores; 1 runs in this process)")
    cluster = sweep.add_mutually_exclusive_group()
    cluster.add_argument("--dask", metavar="ADDRESS", help="run on an existing Dask scheduler, e.g. tcp://host:8786")
    cluster.add_argument("--dask-local", type=_positive_int, metavar="N", help="run on a local Dask cluster of N workers")
    sweep.add_argument("--resume", action="store_true", help="finish the runs a stopped sweep left, keeping those done")
    sweep.add_argument("--out", type=_out_dir, help="output folder (default results/<sweep name>)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    export = commands.add_parser("export", help="write a sweep's runs (and series) as CSV or Parquet")
    export.add_argument("results", help="results folder of a sweep, or its results.sqlite")
    export.add_argument("--format", choices=("csv", "parquet"), default="csv", help="file format (default csv)")
    export.add_argument("--out", type=_out_dir, help="folder for the files (default: next to the store)")


def _add_compare(commands):
    compare = commands.add_parser("compare", help="compare policy packages against the baseline, with 95%% CIs over replicates")
    compare.add_argument("scenario", help="scenario TOML file (the baseline)")
    compare.add_argument("--policy", dest="policies", action="append", required=True, metavar="NAME:PATH=VALUE[,PATH=VALUE...]",
                         help="a policy package: a name and the overrides it applies, e.g. tax80:policy.landfill_tax_eur_per_t=80 (repeat for more)")
    compare.add_argument("--replicates", type=_positive_int, default=10, help="runs per package (default 10)")
    compare.add_argument("--seed", type=_seed, help="master seed of the replicates (default the scenario's seed)")
    compare.add_argument("--years", type=_positive_float, help="override the scenario's length in years")
    compare.add_argument("--workers", type=_positive_int, help="worker processes (default: the available cores)")
    compare.add_argument("--out", type=_out_dir, help="output folder (default results/<scenario name>_compare)")
    compare.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_analyze(commands):
    analyze = commands.add_parser("analyze", help="regime maps, response curves and sensitivity indices of a sweep's results")
    analyze.add_argument("results", help="a sweep's results folder or its results.sqlite")
    analyze.add_argument("--x", help="swept parameter (dotted path) across (default the first)")
    analyze.add_argument("--y", help="swept parameter (dotted path) up (default the second)")
    analyze.add_argument("--measure", dest="measures", action="extend", nargs="+", metavar="NAME",
                         help="run measures for response curves and indices (default diversion, links, CO2, government cost)")
    analyze.add_argument("--out", type=_out_dir, help="folder for the analysis (default: analysis/ next to the store)")


def _checked(convert, expected, ok, rule):
    """An argparse type: ``convert`` the text, then require ``ok(value)``."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value
    return parse


# float() also reads "nan" and "inf", hence the finiteness check.
_positive_float = _checked(float, "a number", lambda v: math.isfinite(v) and v > 0, "a positive number")
_seed = _checked(int, "a whole number", lambda v: v >= 0, ">= 0")
_positive_int = _checked(int, "a whole number", lambda v: v >= 1, ">= 1")


def _out_dir(text):
    path = Path(text)
    try:
        is_file = path.exists() and not path.is_dir()
    except OSError:  # a name too long, a folder that cannot be entered: check_destination says so, in one line
        return path
    if is_file:  # caught now, not after the whole run
        raise argparse.ArgumentTypeError(f"{text} is a file, expected a folder")
    return path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself exits with status 2 on bad flags
    command = {"run": _run, "sweep": _sweep, "export": _export, "compare": _compare, "analyze": _analyze}[args.command]
    if args.command in ("compare", "analyze") or (args.command == "run" and not args.no_figures):
        _files_only_figures()  # only then: matplotlib alone adds about 25 MiB to a run's memory
    # A batch system's SIGTERM ends the command as Ctrl-C does: staging cleared, finished sweep runs kept.
    previous = signal.signal(signal.SIGTERM, _interrupt) if _main_thread() else None
    try:
        return command(args, "symbiosis " + shlex.join(argv))
    except RunFailed as exc:
        print(exc.message, file=sys.stderr)
        return EXIT_RUN_FAILED
    except ScenarioError as exc:
        print(exc.message, file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into `head` and the like: the results are written, stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own advice for SIGPIPE
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _files_only_figures():
    """The command draws figures into files: a backend that needs no display (library code never picks one)."""
    import matplotlib

    matplotlib.use("Agg")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _main_thread():
    import threading

    return threading.current_thread() is threading.main_thread()


def _warn(warnings):
    for line in warnings:
        print(line, file=sys.stderr)


def _run(args, command):
    from simulation.measures.outcome import outcome_of
    from simulation.model import SymbiosisModel
    from simulation.model.workload import run_estimate
    from simulation.output.files import check_destination
    from simulation.output.results import output_files, write_results
    from simulation.output.tables import (
        format_summary,
        format_timeline,
        link_table,
        summary,
    )
    from simulation.scenario import load

    scenario = load(args.scenario, args.overrides, seed=args.seed, years=args.years)
    _warn(scenario.warnings)
    out_dir = args.out or Path("results") / scenario.name
    check_destination(out_dir, "run", whole=True)
    estimate = run_estimate(scenario, figures=not args.no_figures).checked(scenario.path)
    if estimate.long:
        print(f"{scenario.name}: {estimate.describe()}", file=sys.stderr)
    if estimate.build_seconds > 2 and not args.quiet:
        print(f"{scenario.name}: building the park ({estimate.firms:,} firms)", file=sys.stderr)
    try:
        model = SymbiosisModel(scenario, collect_agents=False)  # the files hold no per-firm series
        with tqdm(total=model.n_periods, desc=scenario.name, unit="month", disable=args.quiet, file=sys.stderr) as bar:
            model.run(progress=bar.update)
        frame = model.datacollector.get_model_vars_dataframe()
        outcome = outcome_of(frame.__getitem__, scenario.spec.outcome)
        if not args.quiet:  # the bar below moves per file; say why the wait after the run's bar
            print(f"{scenario.name}: writing tables" + ("" if args.no_figures else " and drawing figures..."), file=sys.stderr)
        # Signals deferred around the bar too: one that came as it closed would be raised inside tqdm.
        with _signals_deferred() as received, tqdm(total=output_files(model, not args.no_figures),
                                                   desc="writing results", unit="file", disable=args.quiet,
                                                   file=sys.stderr) as bar:
            try:
                write_results(model, out_dir, command, outcome, figures=not args.no_figures,
                              progress=_file_progress(bar, received))
            except OSError as exc:
                raise ScenarioError(out_dir, "", f"cannot write the results: {exc.strerror or exc}") from None
            bar.update(bar.total - bar.n)
    except KeyboardInterrupt:  # before the swap: the results are written whole or not at all
        print("interrupted; no result was written or replaced", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"{scenario.name}: {model.n_periods} months from {scenario.calendar.label(0)}, seed {model.seed}")
    print(format_summary(summary(model, outcome)))
    if scenario.spec.report.print_timeline:
        print("timeline of links:")
        print(format_timeline(link_table(model), scenario.calendar.label(model.period - 1)))
    print(f"results written to {out_dir}/")
    return 0


def _file_progress(bar, received):
    """A ``progress(name)`` for write_results: the bar moves on when the next file starts, and shows its name.

    A Ctrl-C or SIGTERM that arrived while the last file was written stops the
    writing here, between two files, rather than inside matplotlib or pandas.
    """
    started = []

    def progress(name):
        if received:
            raise KeyboardInterrupt
        if name is None:
            return
        if started:
            bar.update(1)
        started.append(name)
        bar.set_postfix_str(name)
    return progress


@contextmanager
def _signals_deferred():
    """Within the block, Ctrl-C and SIGTERM are noted (in the list it yields) instead of raised at once."""
    received = []
    if not _main_thread():
        yield received
        return
    handlers = {number: signal.signal(number, lambda signum, frame: received.append(signum))
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)


def _sweep(args, command):
    from concurrent.futures.process import BrokenProcessPool

    from simulation.experiment.runs import run_sweep
    from simulation.experiment.store import store_file
    from simulation.experiment.sweep_file import load_sweep

    sweep = load_sweep(args.sweep_file)
    _warn(sweep.load_base(sweep.snapshot).warnings)
    out_dir = args.out or Path("results") / sweep.name
    try:
        runs = run_sweep(sweep, out_dir, workers=args.workers, dask=args.dask, dask_local=args.dask_local,
                         resume=args.resume, progress=not args.quiet, command=command)
    except (KeyboardInterrupt, BrokenProcessPool) as exc:
        again = ["symbiosis", "sweep", args.sweep_file, "--resume", *(["--out", str(args.out)] if args.out else [])]
        return _stopped(exc, store_file(out_dir), f"'{shlex.join(again)}' runs the rest")
    counts = runs["status"].value_counts()
    regimes = runs.loc[runs["status"] == "done", "regime"].value_counts()
    print(f"{sweep.name}: {len(runs)} runs, {counts.get('done', 0)} done, {counts.get('failed', 0)} failed"
          + (f" (first error: {runs.loc[runs['status'] == 'failed', 'error'].iloc[0]})" if counts.get("failed", 0) else ""))
    if len(regimes):
        print("regimes: " + ", ".join(f"{name} {n}" for name, n in regimes.items()))
    print(f"results in {store_file(out_dir)}")
    return _failed_runs(runs, store_file(out_dir))


def _stopped(exc, store, rest):
    """A sweep stopped part-way: what is kept, and how to finish it."""
    why = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"a worker process died ({exc})"
    print(f"{why}; every finished run is stored in {store}; {rest}", file=sys.stderr)
    return EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else 1


def _failed_runs(runs, store):
    """Exit status 0 only when every planned run finished; else 3, with the count on stderr."""
    failed = int((runs["status"] != "done").sum())
    if not failed:
        return 0
    print(f"error: {store}: {failed} of {len(runs)} runs did not finish (their errors are in the store's runs table)",
          file=sys.stderr)
    return EXIT_RUN_FAILED


def _export(args, command):
    from simulation.experiment.store import export

    for path in export(args.results, args.format, args.out):
        print(f"wrote {path}")
    return 0


def _compare(args, command):
    from concurrent.futures.process import BrokenProcessPool

    from simulation.experiment.compare import compare, format_table, parse_policies

    packages = parse_policies(args.policies)
    try:
        result = compare(args.scenario, packages, replicates=args.replicates, seed=args.seed, years=args.years,
                         workers=args.workers, out_dir=args.out, progress=not args.quiet, command=command)
    except (KeyboardInterrupt, BrokenProcessPool) as exc:
        return _stopped(exc, "the comparison's store", "the same command again runs the rest")
    print(format_table(result.table))
    print("95% confidence intervals over replicates; cost per extra t = extra government net cost / extra t vs baseline")
    print(f"results written to {result.folder}/ (comparison.csv, comparison.png)")
    return _failed_runs(result.runs, result.folder / "results.sqlite")


def _analyze(args, command):
    from simulation.experiment.analysis import analyze, format_analysis

    analysis = analyze(args.results, args.x, args.y, args.measures, out_dir=args.out)
    print(format_analysis(analysis))
    return 0
