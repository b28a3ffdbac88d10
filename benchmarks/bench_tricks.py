"""What each speed trick of the model saves (``make bench-tricks``).

The project keeps a custom structure or cache only where it saves at least 5%
of run time at 50 or at 10,000 firms; those measured below that were removed
(the README lists them with their figures). For each trick this script runs the
synthetic park with the trick switched off (patched out in the child process,
the library untouched) and with everything on, interleaved, in fresh processes,
and prints the best run-phase CPU time of each and the share the trick saves.
Results must be the same with a trick on or off (the child checks the final
measures against the reference run), since a trick may change speed only.

Usage::

    python benchmarks/bench_tricks.py                      # 50 firms x 240 months, best of 7
    python benchmarks/bench_tricks.py --sizes 50,10000 --repeat 3
"""

import argparse
import json
import math
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC_PARK = ROOT / "scenarios" / "synthetic_park.toml"
KEEP_AT_LEAST = 0.05  # share of run time a trick must save somewhere to stay


# -- each trick, switched off -----------------------------------------------------------

def _no_nearest_cache():
    from simulation.model.market import NearestCache

    original = NearestCache.nearest

    def forgetful(self, roles, firms, material):
        self.start[:] = -1
        self.count[:] = 0
        self.flat = self.flat[:0]
        return original(self, roles, firms, material)
    NearestCache.nearest = forgetful


def _no_keyed_values():
    """Trust and pipelines in a plain dict, looked up key by key."""
    import numpy as np

    from simulation.model.keyed import KeyedValues

    def init(self, default):
        self.default, self.data = default, {}

    def set_(self, keys, values):
        keys = np.atleast_1d(np.asarray(keys, dtype=np.int64))
        values = np.broadcast_to(np.asarray(values, dtype=float), keys.shape)
        self.data.update(zip(keys.tolist(), values.tolist()))

    def get(self, keys):
        found, default = self.data.get, self.default
        return np.array([found(k, default) for k in np.asarray(keys, dtype=np.int64).tolist()], dtype=float)
    KeyedValues.__init__, KeyedValues.set, KeyedValues.get = init, set_, get


def _no_column_doubling():
    """Growable columns grow by exactly what is appended, so every append copies them."""
    from simulation.model.columns import Columns

    original = Columns.append

    def append(self, n, **values):
        if self.size + n > self._capacity:
            self._grow(self.size + n)
        return original(self, n, **values)
    Columns.append = append


def _no_named_rows():
    """Deal terms and pair details held as separate arrays, each selected on its own."""
    from simulation.model.columns import NamedRows

    NamedRows.select = lambda self, index: self.like([row[index] for row in self.values])


def _no_packed_keys():
    """Candidate pairs made distinct by numpy's unique over rows instead of one packed int64 each."""
    import numpy as np

    from simulation.model import market

    def distinct(s, d, k, by_receiver):
        rows = np.unique(np.column_stack([s, d, k, by_receiver.astype(np.int64)]), axis=0)
        return rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3].astype(bool)
    market.distinct_pairs = distinct


def _no_acquaintance_arrays():
    """Each firm's acquaintances made into an array afresh whenever a search asks for them."""
    import numpy as np

    from simulation.model.firm import Firm

    Firm.acquaintance_array = lambda self: np.fromiter(self.acquaintances, np.int64, len(self.acquaintances))


def _no_bulk_agent_records():
    import mesa

    from simulation.model.recorder import ParkDataCollector

    ParkDataCollector._record_agents = mesa.DataCollector._record_agents


TRICKS = {
    "NearestCache (nearest streams kept per role)": _no_nearest_cache,
    "KeyedValues (sorted arrays for trust, pipelines)": _no_keyed_values,
    "Columns: capacity doubling": _no_column_doubling,
    "NamedRows: terms selected as one block": _no_named_rows,
    "ParkDataCollector: agent records in one pass": _no_bulk_agent_records,
    "Market: candidate pairs as packed int64 keys": _no_packed_keys,
    "Firm: acquaintance array kept, extended with those met since": _no_acquaintance_arrays,
}


# -- child --------------------------------------------------------------------------------

def child(trick, n_firms, periods, seed):
    if trick:
        TRICKS[trick]()
    from simulation.model import SymbiosisModel
    from simulation.scenario import load

    overrides = (f"park.n_firms={n_firms}", f"park.radius_km={10.0 * math.sqrt(n_firms / 50)!r}")
    model = SymbiosisModel(load(SYNTHETIC_PARK, overrides, seed=seed, years=periods / 12), record_exchanges=False)
    started = time.process_time()
    model.run()
    run_s = time.process_time() - started
    return {"run_s": run_s, "measures": {k: float(v) for k, v in model.recorder.current.items()}, "contracts": len(model.contracts)}


def run_child(trick, n_firms, periods, seed):
    command = [sys.executable, __file__, "--child", json.dumps([trick, n_firms, periods, seed])]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{trick or 'reference'} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench(n_firms, periods, repeat, seed):
    names = [None, *TRICKS]
    best = dict.fromkeys(names, math.inf)
    reference = None
    for _ in range(repeat):
        for name in names:  # interleaved, so a slow spell of the machine hits every variant alike
            result = run_child(name, n_firms, periods, seed)
            if name is None:
                reference = result
            elif (result["measures"], result["contracts"]) != (reference["measures"], reference["contracts"]):
                raise SystemExit(f"switching off {name!r} changed the results: it is not a pure speed trick")
            best[name] = min(best[name], result["run_s"])
    print(f"\n{n_firms:,} firms x {periods} months, best of {repeat} (run phase, CPU s): all tricks on {best[None]:.3f} s")
    print(f"  {'trick switched off':<58} {'run s':>8} {'saves':>7}  verdict")
    for name in TRICKS:
        saves = 1 - best[None] / best[name]
        verdict = "keep" if saves >= KEEP_AT_LEAST else "below 5% here"
        print(f"  {name:<58} {best[name]:8.3f} {saves:7.1%}  {verdict}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50", help="firm counts, e.g. 50,10000 (10,000 firms: 240 months; larger: 24)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*json.loads(args.child))))
        return 0
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    for n in (int(s) for s in args.sizes.split(",")):
        bench(n, 240 if n <= 10_000 else 24, args.repeat, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
