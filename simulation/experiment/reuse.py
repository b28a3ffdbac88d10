"""Finished runs a grown experiment takes over from earlier stores, so it runs only what is new.

A run depends on nothing but its base scenario (and catalogue), the sweep's base
overrides, years and kept measures, its own overrides and its seed
(:mod:`simulation.experiment.runs`). Two sweeps that agree on everything but
their design points, replicates and name therefore give the same numbers for a
run with the same overrides and seed, whichever store it was made in. A policy
comparison with one more package, or one more replicate, is such a sweep: its
seeds are common random numbers (replicate r of every package runs on child r
of the master seed, whatever the number of replicates), so every finished run
of the smaller comparison is one of its runs.
"""

import json

from pydantic import ValidationError

from simulation.errors import ScenarioError
from simulation.experiment.store import reading

# What may differ between two sweeps whose runs are interchangeable (and the base, which is compared by content).
DESIGN_FIELDS = {"point_sets", "replicates", "name", "description", "base"}


def same_experiment(sweep, stored_sweep, stored_fingerprint, base_hash):
    """Whether a store's sweep (its JSON and fingerprint) runs what ``sweep`` runs, but for the design.

    The stored sweep's fingerprint recomputed with today's base content must be
    the one stored: so the base scenario and catalogue have not changed, and the
    store was made by a sweep of ``sweep``'s kind (a paired comparison fingerprints
    differently from a sweep with a seed per run).
    """
    try:
        stored = type(sweep).model_validate_json(stored_sweep)
    except ValidationError:
        return False
    if stored.fingerprint(base_hash) != stored_fingerprint:
        return False
    if stored.keep_series:  # series would have to move too; no comparison keeps them
        return False
    return stored.model_dump(mode="json", exclude=DESIGN_FIELDS) == sweep.model_dump(mode="json", exclude=DESIGN_FIELDS)


def carried_runs(sweep, base_hash, stores):
    """Finished runs of ``stores`` that ``sweep`` plans too, as results for its store (numbered as it numbers them).

    A store that is unreadable or made by another experiment is passed over: it
    only means those runs are made again.
    """
    wanted = {run_key(r.overrides, r.seed): r.run for r in sweep.runs()}
    found = {}
    for file in stores:
        try:
            found.update((run, result) for run, result in _finished(file, sweep, base_hash, wanted) if run not in found)
        except ScenarioError:
            continue
    return [found[run] for run in sorted(found)]


def _finished(file, sweep, base_hash, wanted):
    with reading(file) as db:
        meta = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('sweep', 'fingerprint')").fetchall())
        if not same_experiment(sweep, meta.get("sweep", ""), meta.get("fingerprint"), base_hash):
            return []
        columns = ", ".join(f'r."{m}"' for m in sweep.measures)
        rows = db.execute(f"SELECT d.overrides, d.seed, r.seconds, r.regime{', ' + columns if columns else ''} "
                          "FROM design d JOIN runs r USING (run) WHERE r.status = 'done'").fetchall()
    results = []
    for overrides, seed, seconds, regime, *measures in rows:
        run = wanted.get(run_key(json.loads(overrides), seed))
        if run is not None:
            results.append((run, {"run": run, "status": "done", "seconds": seconds, "regime": regime,
                                  "measures": dict(zip(sweep.measures, measures))}))
    return results


def run_key(overrides, seed):
    """What makes a run the same run in two sweeps of one experiment: its overrides (in any order) and its seed."""
    return json.dumps(overrides, sort_keys=True), int(seed)
