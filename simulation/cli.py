"""The ``symbiosis`` command.

``symbiosis run [SCENARIO] [--years N] [--seed S] [--set PATH=VALUE ...] [--out DIR]``
runs a scenario with a progress bar, prints a summary table and writes results
to ``results/<scenario>/`` (or ``--out``).

``symbiosis sweep SWEEP.toml [--workers N] [--dask ADDRESS | --dask-local N] [--resume] [--out DIR]``
runs a parameter sweep into ``results/<sweep>/results.sqlite``;
``symbiosis export RESULTS --format csv|parquet`` writes its tables for other tools.

``symbiosis compare SCENARIO --policy NAME:PATH=VALUE[,PATH=VALUE...] ... [--replicates R]``
compares policy packages with the baseline (:mod:`simulation.experiment.compare`);
``symbiosis analyze RESULTS [--x PATH --y PATH] [--measure NAME ...] [--out DIR]`` draws a
sweep's regime maps, response curves and sensitivity indices, or a points sweep's
per-point tables (:mod:`simulation.experiment.analysis`).

``symbiosis params [SECTION]`` lists every scenario parameter (path, default, unit,
range, meaning) and ``symbiosis measures`` every measure, both from the code that
defines them; ``symbiosis --version`` says which version this is.

``symbiosis app [SCENARIO] [--host HOST] [--port PORT]`` serves the interactive page
(:mod:`simulation.output.app`, a Mesa SolaraViz) until Ctrl-C.

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
import warnings
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from simulation import __version__
from simulation.errors import RunFailed, ScenarioError
from simulation.processes import usable_cores

DEFAULT_SCENARIO = "scenarios/demo_park.toml"
# The repository this package sits in: the default scenario is found there from any folder.
REPOSITORY = Path(__file__).resolve().parent.parent
EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 3
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line like every other refusal (exit status 2)."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser():
    parser = _Parser(prog="symbiosis", description="Agent-based simulation of industrial symbiosis.",
                     epilog="'symbiosis COMMAND --help' shows a command's options and an example.")
    parser.add_argument("--version", action="version", version=f"symbiosis {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run one scenario and write its results", **_examples("run"))
    run.add_argument("scenario", nargs="?", help=f"scenario TOML file (default {DEFAULT_SCENARIO}, "
                                                 f"of this folder or else of the repository)")
    run.add_argument("--years", type=_positive_float, help="override the scenario's length in years")
    run.add_argument("--seed", type=_seed, help="override the scenario's random seed")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                     help="override any scenario value by its dotted path, e.g. policy.landfill_tax_eur_per_t=80")
    run.add_argument("--out", type=_out_dir, help="output folder (default results/<scenario name>); must be new, empty, "
                                                   "or an earlier run's results, which are replaced as a whole")
    run.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    run.add_argument("--workers", type=_positive_int, help="processes drawing the figures at once (default: the usable "
                                                           "cores; 1 draws them in this process)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_sweep_commands(commands)
    _add_compare(commands)
    _add_analyze(commands)
    _add_explore(commands)
    _add_app(commands)
    return parser


EXAMPLES = {
    "run": ["symbiosis run", "symbiosis run scenarios/collapse_demo.toml --seed 3 --years 10",
            "symbiosis run --set policy.landfill_tax_eur_per_t=80 --set park.n_firms=200 --out results/tax80"],
    "sweep": ["symbiosis sweep scenarios/sweeps/facilitator_threshold.toml --workers 4",
              "symbiosis sweep scenarios/sweeps/facilitator_threshold.toml --resume   # finish a stopped sweep"],
    "export": ["symbiosis export results/facilitator_threshold --format parquet"],
    "compare": ["symbiosis compare scenarios/demo_park.toml --policy tax80:policy.landfill_tax_eur_per_t=80 "
                "--policy subsidy:policy.subsidy_eur_per_t=5,policy.capex_subsidy_share=0.3 --replicates 10",
                "the same with --replicates 20, or one more --policy, runs only the new runs"],
    "analyze": ["symbiosis analyze results/facilitator_threshold",
                "symbiosis analyze results/facilitator_threshold --x policy.facilitator_participation "
                "--measure links_formed --out results/facilitator_analysis"],
    "params": ["symbiosis params", "symbiosis params policy", "symbiosis params | grep transport"],
    "measures": ["symbiosis measures"],
}


def _examples(command):
    """add_parser keywords giving a command's --help its examples (kept as written, one a line)."""
    lines = "\n".join(f"  {line}" if line.startswith("symbiosis") else f"  ({line})" for line in EXAMPLES[command])
    return {"epilog": f"examples:\n{lines}", "formatter_class": argparse.RawDescriptionHelpFormatter}


def _add_explore(commands):
    params = commands.add_parser("params", help="list every scenario parameter: path, default, unit, range, meaning",
                                 **_examples("params"))
    params.add_argument("section", nargs="?", metavar="SECTION", help="only this section, e.g. policy, contract, firms")
    commands.add_parser("measures", help="list the monthly and run measures with their meanings", **_examples("measures"))


def _add_sweep_commands(commands):
    sweep = commands.add_parser("sweep", help="run a parameter sweep into a results store (see scenarios/sweeps/)",
                                **_examples("sweep"))
    sweep.add_argument("sweep_file", metavar="SWEEP.toml", help="sweep file")
    sweep.add_argument("--workers", type=_positive_int, help="worker processes (default: the usable cores; 1 runs in this process)")
    cluster = sweep.add_mutually_exclusive_group()
    cluster.add_argument("--dask", metavar="ADDRESS", help="run on an existing Dask scheduler, e.g. tcp://host:8786")
    cluster.add_argument("--dask-local", type=_positive_int, metavar="N", help="run on a local Dask cluster of N workers")
    sweep.add_argument("--resume", action="store_true", help="finish the runs a stopped sweep left, keeping those done")
    sweep.add_argument("--out", type=_out_dir, help="output folder (default results/<sweep name>)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    export = commands.add_parser("export", help="write a sweep's runs (and series) as CSV or Parquet", **_examples("export"))
    export.add_argument("results", help="results folder of a sweep, or its results.sqlite")
    export.add_argument("--format", choices=("csv", "parquet"), default="csv", help="file format (default csv)")
    export.add_argument("--out", type=_out_dir, help="folder for the files (default: next to the store)")


def _add_compare(commands):
    compare = commands.add_parser("compare", help="compare policy packages against the baseline, with 95%% CIs over replicates",
                                  **_examples("compare"))
    compare.add_argument("scenario", help="scenario TOML file (the baseline)")
    compare.add_argument("--policy", dest="policies", action="append", required=True, metavar="NAME:PATH=VALUE[,PATH=VALUE...]",
                         help="a policy package: a name and the overrides it applies, e.g. tax80:policy.landfill_tax_eur_per_t=80 (repeat for more)")
    compare.add_argument("--replicates", type=_positive_int, default=10, help="runs per package (default 10)")
    compare.add_argument("--seed", type=_seed, help="master seed of the replicates (default the scenario's seed)")
    compare.add_argument("--years", type=_positive_float, help="override the scenario's length in years")
    compare.add_argument("--workers", type=_positive_int, help="worker processes (default: the available cores)")
    compare.add_argument("--out", type=_out_dir, help="output folder (default results/<scenario name>_compare_<packages>_<hash>); "
                                                       "a comparison there with fewer packages or replicates is grown")
    compare.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_analyze(commands):
    analyze = commands.add_parser("analyze", help="regime maps, response curves and sensitivity indices of a sweep's results "
                                                  "(per-point tables of a points sweep)", **_examples("analyze"))
    analyze.add_argument("results", help="a sweep's results folder or its results.sqlite")
    analyze.add_argument("--x", help="swept parameter (dotted path) across (default the first)")
    analyze.add_argument("--y", help="swept parameter (dotted path) up (default the second)")
    analyze.add_argument("--measure", dest="measures", action="extend", nargs="+", metavar="NAME",
                         help="run measures for response curves and indices (default diversion, links, CO2, government net "
                              "revenue); 'symbiosis measures' lists them")
    analyze.add_argument("--out", type=_out_dir, help="folder for the analysis (default: analysis/ next to the store)")


def _add_app(commands):
    app = commands.add_parser(
        "app", help="serve the interactive page of a scenario (sliders, play/step, the network as it forms)",
        description="Serve the interactive page (a Mesa SolaraViz) of a scenario until Ctrl-C: sliders for its costs "
                    "and policies (applied at Reset), play and step, the network month by month, the outcome so far, "
                    "one firm, time series.",
        epilog="example: symbiosis app scenarios/collapse_demo.toml --port 8800, then open http://127.0.0.1:8800")
    app.add_argument("scenario", nargs="?", help=f"scenario TOML file (default {DEFAULT_SCENARIO}, found from any folder)")
    app.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens the page to the network)")
    app.add_argument("--port", type=_port, default=8765, help="port to listen on (default 8765; 0: any free port)")


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
_port = _checked(int, "a whole number", lambda v: 0 <= v <= 65535, "from 0 to 65535")


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
    program = argv is None  # the command itself, not a call from Python (tests, notebooks)
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself exits with status 2 on bad flags
    command = {"run": _run, "sweep": _sweep, "export": _export, "compare": _compare, "analyze": _analyze,
               "params": _params, "measures": _measures, "app": _app}[args.command]
    if args.command in ("compare", "analyze", "app") or (args.command == "run" and not args.no_figures):
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
        if program and _main_thread():
            # The command is over, its results in place or refused: a Ctrl-C while the interpreter shuts
            # down would only turn its exit status into a kill.
            for number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(number, signal.SIG_IGN)


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

    scenario = load(args.scenario or default_scenario(), args.overrides, seed=args.seed, years=args.years)
    _warn(scenario.warnings)
    out_dir = args.out or Path("results") / scenario.name
    check_destination(out_dir, "run", whole=True)
    estimate = run_estimate(scenario, figures=not args.no_figures).checked(scenario.path)
    if estimate.long:
        print(f"{scenario.name}: {estimate.describe()}", file=sys.stderr)
    if estimate.build_seconds > 2 and not args.quiet:
        print(f"{scenario.name}: building the park ({estimate.firms:,} firms)", file=sys.stderr)
    tqdm.monitor_interval = 0  # no monitor thread: the figures are drawn in forked processes
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
                              progress=_file_progress(bar, received), workers=args.workers or usable_cores())
            except OSError as exc:
                raise ScenarioError(out_dir, "", f"cannot write the results: {exc.strerror or exc}") from None
            bar.update(bar.total - bar.n)
    except KeyboardInterrupt:  # before the swap: the results are written whole or not at all
        print("interrupted; no result was written or replaced", file=sys.stderr)
        return EXIT_INTERRUPTED
    with _signals_deferred():  # after the swap the results are in place: an interrupt would only cut the summary
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
    print("state net revenue: taxes collected - subsidies paid (+ = the state gains); state cost per t CO2: its lost "
          "net revenue per extra t avoided (+ = the state pays), not estimable when the extra t's interval contains 0")
    print(f"{result.ran} runs made, {result.reused} finished runs reused")
    print(f"results written to {result.folder}/ (comparison.md: the brief; comparison.csv: every quantity; comparison.png)")
    return _failed_runs(result.runs, result.folder / "results.sqlite")


def _analyze(args, command):
    from simulation.experiment.analysis import analyze, format_analysis
    from simulation.experiment.store import store_file

    analysis = analyze(args.results, args.x, args.y, args.measures, out_dir=args.out)
    _warn(f"warning: {store_file(args.results)}: {line}" for line in analysis.warnings)
    print(format_analysis(analysis))
    return 0


def default_scenario():
    """``scenarios/demo_park.toml`` of this folder, or else of the repository this package is in."""
    for path in (Path(DEFAULT_SCENARIO), REPOSITORY / DEFAULT_SCENARIO):
        if path.is_file():
            return path
    raise ScenarioError(DEFAULT_SCENARIO, "SCENARIO", f"the default scenario is neither in this folder nor in "
                                                      f"{REPOSITORY}; name a scenario file")


def _params(args, command):
    from simulation.scenario.describe import format_parameters, parameter_rows

    print(format_parameters(parameter_rows(args.section)))
    return 0


def _measures(args, command):
    from simulation.measures.summary import RUN_MEASURES
    from simulation.model.recorder import MEASURES

    for title, measures in (("monthly measures (periods.csv, a sweep's series: one value a month)", MEASURES),
                            ("run measures (a sweep's runs table, compare and analyze: one value a run)", RUN_MEASURES)):
        width = max(map(len, measures))
        print(title + ":")
        print("\n".join(f"  {name:<{width}}  {meaning}" for name, meaning in measures.items()))
    return 0


def _app(args, command):
    from simulation.scenario import load

    # Solara would otherwise report usage to its makers; a student's page sends nothing anywhere.
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    from simulation.output import app

    path = Path(args.scenario) if args.scenario else default_scenario()
    scenario = load(path)  # bad input stops here, in one line, before a server starts
    _warn(scenario.warnings)
    port = _usable_port(args.host, args.port)
    os.environ[app.SCENARIO_VARIABLE] = str(path.resolve())
    print(f"{scenario.name}: the page is at http://{args.host}:{port} (Ctrl-C stops it)", file=sys.stderr, flush=True)
    # Solara warns on every page served over http to an address other than "localhost" that its session
    # cookie falls back to SameSite=lax: that is the right cookie for a page on this machine.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none", category=UserWarning)
    from click.exceptions import Abort
    from solara.__main__ import cli as solara_cli

    try:
        solara_cli(["run", app.__name__, "--host", args.host, "--port", str(port), "--production", "--no-open",
                    "--no-check-version"], standalone_mode=False)
    except Abort:  # Ctrl-C or SIGTERM, as click reports them: the usual way to stop a server
        pass
    print("the page is stopped", file=sys.stderr)
    return 0


def _usable_port(host, port):
    """``port`` (or, for 0, a free one) if the server can listen there; else a one-line refusal."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
            probe.bind((host, port))
            return probe.getsockname()[1]
    except OSError as exc:
        raise ScenarioError("--host/--port", "", f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
