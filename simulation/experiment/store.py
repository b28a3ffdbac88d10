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
its whole design or does not exist. Journal mode WAL while a sweep writes: each
commit is one append that survives the writing process being killed, and
notebooks may read meanwhile; the sweep holds an exclusive lock on
``results.sqlite.lock`` for its whole life, so a second sweep on the same store is
refused. When the sweep ends the store goes back to a single self-contained file.

Readers open the store read-only, so archived or shared stores (read-only
folders) can be analysed; a file that is not a store, or a damaged one, is a
:class:`~simulation.errors.ScenarioError` naming it.
"""

import fcntl
import json
import os
import platform
import sqlite3
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from simulation import __version__
from simulation.errors import ScenarioError
from simulation.measures.summary import RENAMED, RUN_MEASURES
from simulation.model.recorder import MEASURES
from simulation.output.files import added_file, claim, owned_folder

FILE_NAME = "results.sqlite"
LOCK_NAME = FILE_NAME + ".lock"
RUN_COLUMNS = ["run", "point", "label", "replicate", "seed", "status", "error", "seconds", "regime"]
META_KEYS = ("sweep", "fingerprint", "parameters", "measures", "keep_series")
PENDING_CHUNK = 10_000  # pending runs fetched at a time: memory stays flat however large the design


def store_file(path):
    """The store file given either it or its folder."""
    path = Path(path)
    return path / FILE_NAME if path.is_dir() or path.suffix != ".sqlite" else path


def _quote(name):
    return '"' + name.replace('"', '""') + '"'


def _value(value):
    """A parameter value as SQLite keeps it: schedules (lists) as JSON text."""
    return json.dumps(value) if isinstance(value, list) else value


class StoreLock:
    """An exclusive lock on a store for a sweep's life (``flock``, released however the process ends)."""

    _held = []  # descriptors this process holds: closed in forked workers, which must not keep the lock

    def __init__(self, folder, command=""):
        folder = Path(folder)
        claim(folder, LOCK_NAME)
        self.path = folder / LOCK_NAME
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            error = _in_use(folder, self.fd)
            os.close(self.fd)
            raise error from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps({"pid": os.getpid(), "host": platform.node(), "command": command,
                                       "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode(), 0)
        StoreLock._held.append(self.fd)

    @staticmethod
    def check_free(folder):
        """Refuse at once, writing nothing, when a sweep holds the store in ``folder``."""
        try:
            fd = os.open(Path(folder) / LOCK_NAME, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _in_use(folder, fd) from None
        finally:
            os.close(fd)

    def release(self):
        if self.fd in StoreLock._held:
            StoreLock._held.remove(self.fd)
            os.close(self.fd)


def _in_use(folder, fd):
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode(errors="replace"))
        holder = f"process {info['pid']} on {info['host']} since {info['since']}: {info['command'] or 'a sweep'}"
    except (ValueError, KeyError, TypeError):
        holder = "another process"
    return ScenarioError(Path(folder) / FILE_NAME, "", f"is in use by another sweep ({holder}); wait for it to end, "
                                                       f"or stop it and add --resume")


def _close_held_locks():
    for fd in StoreLock._held:
        os.close(fd)
    StoreLock._held.clear()


os.register_at_fork(after_in_child=_close_held_locks)


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
    def create(cls, path, sweep, runs, fingerprint, carried=()):
        """Write the schema, the whole design and the ``carried`` finished runs under a temporary name, then move
        it into place (replacing an earlier store whole)."""
        path = Path(path)
        with added_file(path.parent, path.name) as staging:  # SQLite takes the empty staging file for a new database
            with sqlite3.connect(staging) as db:
                _write_schema(db, sweep, runs, fingerprint)
                for result in carried:
                    _insert_run(db, sweep.measures, result)
            db.close()
        return cls(path)

    def meta(self, key):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def pending(self):
        """Runs planned but not finished, in order, with what a worker needs (an iterator)."""
        last = -1
        while True:
            rows = self.db.execute("SELECT run, seed, overrides FROM design WHERE run > ? AND run NOT IN "
                                   "(SELECT run FROM runs) ORDER BY run LIMIT ?", (last, PENDING_CHUNK)).fetchall()
            for run, seed, overrides in rows:
                yield run, seed, json.loads(overrides)
            if len(rows) < PENDING_CHUNK:
                return
            last = rows[-1][0]

    def planned(self):
        return self.db.execute("SELECT count(*) FROM design").fetchone()[0]

    def counts(self):
        rows = dict(self.db.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall())
        return rows.get("done", 0), rows.get("failed", 0)

    def record(self, result):
        """Store one finished run (and its series) in one transaction."""
        self.db.execute("BEGIN")
        try:
            _insert_run(self.db, self.measures, result)
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
        """Close, leaving one self-contained file (readable from a read-only folder) unless a reader holds it open."""
        try:
            self.db.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.OperationalError:  # a notebook is reading: the file stays in WAL mode, which is fine
            pass
        self.db.close()


def _insert_run(db, measures, result):
    """One row of the runs table from a worker's result."""
    columns = ["run", "status", "error", "seconds", "regime", *measures]
    values = [result["run"], result["status"], result.get("error"), result["seconds"], result.get("regime"),
              *((result.get("measures") or {}).get(m) for m in measures)]
    db.execute(f"INSERT INTO runs ({', '.join(map(_quote, columns))}) VALUES ({', '.join('?' * len(columns))})", values)


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

@contextmanager
def reading(path):
    """A read-only connection to a store, checked to be one; any SQLite problem becomes a ScenarioError naming the file."""
    file = store_file(path)
    if not Path(path).exists():
        raise ScenarioError(path, "", "no such file or folder")
    if not file.is_file():
        raise ScenarioError(path, "", f"no sweep results here (expected {file})")
    db = _connect_read_only(file)
    try:
        _check_schema(db, file)
        yield db
    except (sqlite3.DatabaseError, pd.errors.DatabaseError) as exc:
        raise ScenarioError(file, "", f"cannot be read as a sweep results store: {_reason(exc)}") from None
    finally:
        db.close()


def _connect_read_only(file):
    uri = "file:" + urllib.parse.quote(str(file.resolve()))
    modes = ["mode=ro"]
    # A store in a folder nobody may write can still be read whole if no sweep left a journal beside it.
    if not os.access(file.parent, os.W_OK) and not any(Path(f"{file}{s}").exists() for s in ("-wal", "-journal")):
        modes.append("immutable=1")
    for mode in modes:
        try:
            db = sqlite3.connect(f"{uri}?{mode}", uri=True)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.DatabaseError as exc:
            failure = exc
    hint = ""
    if not os.access(file.parent, os.W_OK) and Path(f"{file}-wal").exists():
        hint = "; the sweep that wrote it did not finish cleanly and its folder is read-only: copy the folder somewhere writable"
    raise ScenarioError(file, "", f"cannot be read as a sweep results store: {_reason(failure)}{hint}")


def _reason(exc):
    text = str(exc)
    return text.split(": ", 1)[-1] if text.startswith("Execution failed on sql") else text


def _check_schema(db, file):
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = {"meta", "design", "runs"} - tables
    if missing:
        raise ScenarioError(file, "", f"is not a sweep results store of symbiosis (no table {', '.join(sorted(missing))})")
    meta = dict(db.execute("SELECT key, value FROM meta"))
    if set(META_KEYS) - set(meta):
        raise ScenarioError(file, "meta", f"is not a sweep results store of symbiosis (missing {', '.join(sorted(set(META_KEYS) - set(meta)))})")
    shapes = {"keep_series": lambda v: isinstance(v, bool), "sweep": lambda v: isinstance(v, dict)}
    columns = {table: {row[1] for row in db.execute(f"PRAGMA table_info({table})")} for table in ("design", "runs")}
    shapes["parameters"] = lambda v: _names(v) and all("." in n for n in v) and set(v) <= columns["design"]
    shapes["measures"] = lambda v: _names(v) and set(v) <= {*RUN_MEASURES, *RENAMED} and set(v) <= columns["runs"]
    for key, fits in shapes.items():
        try:
            good = fits(json.loads(meta[key]))
        except (TypeError, ValueError):
            good = False
        if not good:
            raise ScenarioError(file, f"meta.{key}", "is damaged: not what a sweep results store of symbiosis holds")


def _names(value):
    """A list of distinct texts: the parameter paths or measure names a store keeps."""
    return isinstance(value, list) and all(isinstance(x, str) for x in value) and len(set(value)) == len(value)


def _meta(db, key):
    return db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]


def read_runs(path):
    """One row per planned run (see :mod:`simulation.experiment.runs` for the columns), sorted by run."""
    with reading(path) as db:
        names, measures = json.loads(_meta(db, "parameters")), json.loads(_meta(db, "measures"))
        select = ", ".join([
            "d.run", "d.point", "d.label", "d.replicate", "d.seed", "coalesce(r.status, 'pending') AS status",
            "r.error", "r.seconds", "r.regime", *(f"d.{_quote(n)}" for n in names), *(f"r.{_quote(m)}" for m in measures)])
        frame = pd.read_sql_query(f"SELECT {select} FROM design d LEFT JOIN runs r USING (run) ORDER BY d.run", db)
    for name in names:  # schedules come back as JSON text
        frame[name] = [json.loads(v) if isinstance(v, str) and v.startswith("[") else v for v in frame[name]]
    frame["seconds"] = frame["seconds"].astype(float)
    for m in measures:
        frame[m] = frame[m].astype(float)
    return _renamed(frame)


def _renamed(frame):
    """A store written before a measure was renamed, read with today's names and signs."""
    for old, (new, factor) in RENAMED.items():
        if old in frame.columns:
            frame[old] = frame[old] * factor
    return frame.rename(columns={old: new for old, (new, _) in RENAMED.items()})


def read_sweep(path):
    """The sweep that made a store."""
    from pydantic import ValidationError

    from simulation.experiment.sweep import Sweep

    with reading(path) as db:
        text = _meta(db, "sweep")
    try:
        sweep = Sweep.model_validate_json(text)
    except ValidationError:
        raise ScenarioError(store_file(path), "meta.sweep", "is not a sweep this version of symbiosis can read") from None
    # with its measures named as read_runs names them
    return sweep.model_copy(update={"measures": [RENAMED.get(m, (m,))[0] for m in sweep.measures]})


def read_series(path, runs=None):
    """Every month's measures of the given runs (all by default): run, period, month, measures..."""
    with reading(path) as db:
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'series'").fetchone() is None:
            raise ScenarioError(store_file(path), "series", "this sweep did not keep series (keep_series = false)")
        query, params = "SELECT * FROM series", ()
        if runs is not None:
            runs = [int(r) for r in np.atleast_1d(runs)]
            query += f" WHERE run IN ({', '.join('?' * len(runs))})"
            params = runs
        return pd.read_sql_query(query + " ORDER BY run, period", db, params=params)


def export(path, fmt, out_dir=None):
    """Write the runs table (and the series, if kept) as ``runs.csv`` / ``runs.parquet`` ...; returns the files.

    ``out_dir`` defaults to the store's folder; another folder must be new, empty
    or an earlier export (:mod:`simulation.output.files`).
    """
    with reading(path) as db:
        keep_series = json.loads(_meta(db, "keep_series"))
    store = store_file(path)
    tables = {"runs": read_runs(store)}
    if keep_series:
        tables["series"] = read_series(store)
    own = out_dir is None or Path(out_dir).resolve() == store.parent.resolve()  # beside the store: its own folder
    folder = owned_folder(store.parent if own else Path(out_dir), ("sweep",) if own else ("export",))
    written = []
    for name, frame in tables.items():
        target = folder / f"{name}.{fmt}"
        try:
            with added_file(folder, target.name) as staging:
                _write_table(_flat(frame), staging, fmt)
        except OSError as exc:
            raise ScenarioError(target, "", f"cannot write: {exc.strerror or exc}") from None
        written.append(target)
    return written


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
