"""The results store of a sweep: one SQLite file, ``results/<sweep>/results.sqlite``.

Tables:

* ``meta`` (key, value): the sweep as JSON, its fingerprint, package version;
* ``design``: every planned run (run, point, label, replicate, seed, the
  overrides as JSON, and one column per varied parameter named by its path);
* ``runs``: one row per finished run (status ``done`` or ``failed``, error,
  seconds, regime, one column per kept measure), committed as soon as it ends;
* ``series``: every month's measures of each run, when the sweep keeps them.

A planned run with no row in ``runs`` is pending. The file is created complete
(schema and design) under a temporary name and renamed, so a store either holds
its whole design or does not exist. Journal mode WAL: each commit is one append
that survives the writing process being killed, and notebooks may read while a
sweep writes.
"""

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from simulation import __version__
from simulation.atomic import staged_file
from simulation.errors import ScenarioError
from simulation.measures import MEASURES

FILE_NAME = "results.sqlite"
RUN_COLUMNS = ["run", "point", "label", "replicate", "seed", "status", "error", "seconds", "regime"]


def store_file(path):
    """The store file given either it or its folder."""
    path = Path(path)
    return path / FILE_NAME if path.is_dir() or path.suffix != ".sqlite" else path


def _quote(name):
    return '"' + name.replace('"', '""') + '"'


def _value(value):
    """A parameter value as SQLite keeps it: schedules (lists) as JSON text."""
    return json.dumps(value) if isinstance(value, list) else value


class Store:
    """An open store; the sweep's process is its only writer."""

    def __init__(self, path):
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None)  # transactions explicit, see record()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process; a power cut may lose the last commits, never consistency
        self.measures = json.loads(self.meta("measures"))
        self.keep_series = json.loads(self.meta("keep_series"))

    @classmethod
    def create(cls, path, sweep, runs, fingerprint):
        """Write the schema and the whole design under a temporary name, then move it into place."""
        with staged_file(path) as staging:  # SQLite takes the empty staging file for a new database
            with sqlite3.connect(staging) as db:
                _write_schema(db, sweep, runs, fingerprint)
            db.close()
        return cls(path)

    def meta(self, key):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def pending(self):
        """Runs planned but not finished, in order, with what a worker needs."""
        rows = self.db.execute("SELECT run, seed, overrides FROM design WHERE run NOT IN (SELECT run FROM runs) ORDER BY run")
        return [(run, seed, json.loads(overrides)) for run, seed, overrides in rows]

    def planned(self):
        return self.db.execute("SELECT count(*) FROM design").fetchone()[0]

    def counts(self):
        rows = dict(self.db.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall())
        return rows.get("done", 0), rows.get("failed", 0)

    def record(self, result):
        """Store one finished run (and its series) in one transaction."""
        columns = ["run", "status", "error", "seconds", "regime", *self.measures]
        measures = result.get("measures") or {}
        values = [result["run"], result["status"], result.get("error"), result["seconds"], result.get("regime"),
                  *(measures.get(m) for m in self.measures)]
        self.db.execute("BEGIN")
        try:
            self.db.execute(f"INSERT INTO runs ({', '.join(map(_quote, columns))}) VALUES ({', '.join('?' * len(columns))})", values)
            series = result.get("series")
            if series is not None:
                names = ["run", "period", "month", *MEASURES]
                rows = zip(*([[result["run"]] * len(series["period"])] + [series[n] for n in names[1:]]))
                self.db.executemany(f"INSERT INTO series ({', '.join(map(_quote, names))}) VALUES ({', '.join('?' * len(names))})", rows)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def close(self):
        self.db.close()


def _write_schema(db, sweep, runs, fingerprint):
    names = sweep.parameter_names()
    measure_columns = ", ".join(f"{_quote(m)} REAL" for m in sweep.measures)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(f"""CREATE TABLE design (run INTEGER PRIMARY KEY, point INTEGER NOT NULL, label TEXT NOT NULL,
                   replicate INTEGER NOT NULL, seed INTEGER NOT NULL, overrides TEXT NOT NULL
                   {''.join(f', {_quote(n)}' for n in names)})""")
    db.execute(f"""CREATE TABLE runs (run INTEGER PRIMARY KEY REFERENCES design (run),
                   status TEXT NOT NULL CHECK (status IN ('done', 'failed')), error TEXT, seconds REAL NOT NULL,
                   regime TEXT{', ' + measure_columns if measure_columns else ''})""")
    if sweep.keep_series:
        db.execute(f"""CREATE TABLE series (run INTEGER NOT NULL REFERENCES design (run), period INTEGER NOT NULL,
                       month TEXT NOT NULL, {', '.join(f'{_quote(m)} REAL' for m in MEASURES)},
                       PRIMARY KEY (run, period)) WITHOUT ROWID""")
    meta = {"sweep": sweep.model_dump_json(), "fingerprint": fingerprint, "version": __version__,
            "parameters": json.dumps(names), "measures": json.dumps(sweep.measures),
            "keep_series": json.dumps(sweep.keep_series)}
    db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    columns = ["run", "point", "label", "replicate", "seed", "overrides", *names]
    db.executemany(
        f"INSERT INTO design ({', '.join(map(_quote, columns))}) VALUES ({', '.join('?' * len(columns))})",
        ([r.run, r.point, r.label, r.replicate, r.seed, json.dumps(r.overrides), *(_value(r.overrides.get(n)) for n in names)]
         for r in runs))


# -- reading -------------------------------------------------------------------------------

def _open_for_reading(path):
    file = store_file(path)
    if not file.is_file():
        raise ScenarioError(path, "", f"no sweep results here (expected {file})")
    return sqlite3.connect(file)  # not mode=ro: a reader of a WAL file may need to create its index (-shm)


def read_runs(path):
    """One row per planned run (see :mod:`simulation.experiment` for the columns), sorted by run."""
    db = _open_for_reading(path)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta"))
        names, measures = json.loads(meta["parameters"]), json.loads(meta["measures"])
        select = ", ".join([
            "d.run", "d.point", "d.label", "d.replicate", "d.seed", "coalesce(r.status, 'pending') AS status",
            "r.error", "r.seconds", "r.regime", *(f"d.{_quote(n)}" for n in names), *(f"r.{_quote(m)}" for m in measures)])
        frame = pd.read_sql_query(f"SELECT {select} FROM design d LEFT JOIN runs r USING (run) ORDER BY d.run", db)
    finally:
        db.close()
    for name in names:  # schedules come back as JSON text
        frame[name] = [json.loads(v) if isinstance(v, str) and v.startswith("[") else v for v in frame[name]]
    frame["seconds"] = frame["seconds"].astype(float)
    for m in measures:
        frame[m] = frame[m].astype(float)
    return frame


def read_sweep(path):
    """The sweep that made a store."""
    from simulation.sweep import Sweep

    db = _open_for_reading(path)
    try:
        (text,) = db.execute("SELECT value FROM meta WHERE key = 'sweep'").fetchone()
    finally:
        db.close()
    return Sweep.model_validate_json(text)


def read_series(path, runs=None):
    """Every month's measures of the given runs (all by default): run, period, month, measures..."""
    db = _open_for_reading(path)
    try:
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'series'").fetchone() is None:
            raise ScenarioError(store_file(path), "series", "this sweep did not keep series (keep_series = false)")
        query, params = "SELECT * FROM series", ()
        if runs is not None:
            runs = [int(r) for r in np.atleast_1d(runs)]
            query += f" WHERE run IN ({', '.join('?' * len(runs))})"
            params = runs
        return pd.read_sql_query(query + " ORDER BY run, period", db, params=params)
    finally:
        db.close()


def export(path, fmt, out_dir=None):
    """Write the runs table (and the series, if kept) as ``runs.csv`` / ``runs.parquet`` ...; returns the files."""
    out_dir = Path(out_dir) if out_dir is not None else store_file(path).parent
    tables = {"runs": read_runs(path)}
    if json.loads(_meta(path, "keep_series")):
        tables["series"] = read_series(path)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        target = out_dir / f"{name}.{fmt}"
        try:
            with staged_file(target) as staging:
                _write_table(_flat(frame), staging, fmt)
        except OSError as exc:
            raise ScenarioError(target, "", f"cannot write: {exc.strerror or exc}") from None
        written.append(target)
    return written


def _meta(path, key):
    db = _open_for_reading(path)
    try:
        return db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]
    finally:
        db.close()


def _flat(frame):
    """Schedules (lists) as JSON text, since CSV and Parquet columns hold one type."""
    frame = frame.copy()
    for column in frame.columns[frame.dtypes == object]:
        if any(isinstance(v, list) for v in frame[column]):
            frame[column] = [_value(v) for v in frame[column]]
    return frame


def _write_table(frame, target, fmt):
    if fmt == "csv":
        frame.to_csv(target, index=False)
    else:
        frame.to_parquet(target, index=False)  # pyarrow, a declared dependency
