"""Which folders the tool may write into: its own results, marked by a manifest, and nothing else.

Every output of ``symbiosis`` is a folder it owns, marked by ``.symbiosis.json``,
which names the kind of result it holds (``run``, ``sweep``, ``analysis``,
``export``) and lists the files the tool wrote there; results written before
manifests existed are recognised by their names and a file only this tool writes.
:func:`check_destination` refuses, before any work starts, a destination that is
not new, empty or such a folder of the right kind, or that cannot be written or
swapped (:mod:`simulation.output.files` does the writing).
"""

import json
import os
import re
import sqlite3
from pathlib import Path

from simulation.errors import ScenarioError

MANIFEST = ".symbiosis.json"
WRITER = "symbiosis"
# Results written before manifests existed: regular files with these names only, and a
# file that only this tool writes (a run's metadata.json naming its command, a sweep's
# SQLite store); kind -> (every name must match, the proof, and how to read it).
LEGACY = {
    "run": (r"(periods|contracts|exchanges|flows|links|yearly)\.csv|metadata\.json|"
            r"(network(_\d+)?|timeseries|benefits|timeline)\.png", "metadata.json"),
    "sweep": (r"results\.sqlite(-wal|-shm|-journal|\.lock)?|(runs|series)\.(csv|parquet)|comparison\.(csv|png)|analysis",
              "results.sqlite"),
    "analysis": (r"(regime_shares|regime_map|response_[\w.-]+|sensitivity)\.(csv|png)|notes\.txt", "regime_shares.csv"),
}
LEGACY_FOLDERS = {"sweep": ("analysis",)}  # the only entries of an old result that may be folders
ANALYSIS_HEADER_END = "share_collapsed,share_collapsed_low,share_collapsed_high"  # how regime_shares.csv's header ends
KINDS = {"run": "a run", "sweep": "a sweep", "analysis": "an analysis", "export": "an export"}
# Files a listed file brings along (SQLite's journal and shared-memory index).
COMPANIONS = ("-wal", "-shm", "-journal")
STAGING_EXTRA = len(".") + len(".symbiosis-") + 12 + len("-old")  # bytes a staging name adds to the destination's
NAME_MAX = 255  # bytes in a file name on the file systems results go to
PATH_MAX = 4096  # bytes in a path
LONGEST_FILE = 64  # bytes of the longest file name a result holds, with its staging suffix


def _staging_pattern(name):
    return re.compile(rf"^\.{re.escape(name)}\.symbiosis-[0-9a-f]{{12}}(-old)?$")


# -- what a folder holds ---------------------------------------------------------------------

def read_manifest(folder):
    """The manifest of a folder this tool wrote, or None."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if (not isinstance(data, dict) or data.get("written_by") != WRITER or data.get("kind") not in KINDS
            or not isinstance(data.get("files"), list) or not all(isinstance(f, str) for f in data["files"])):
        return None
    return data


def _manifest_or_legacy(folder, entries):
    """The folder's manifest, or one made up for a result written before manifests, or None."""
    manifest = read_manifest(folder)
    if manifest is not None:
        return manifest
    for kind, (names, proof) in LEGACY.items():
        files = all(re.fullmatch(names, e) and _plain(Path(folder) / e, e in LEGACY_FOLDERS.get(kind, ()))
                    for e in entries)
        if proof in entries and files and _written_by_us(Path(folder) / proof):
            return {"written_by": WRITER, "kind": kind, "files": sorted(entries)}
    return None


def _plain(path, folder_allowed):
    """A regular file (or, where allowed, a folder), not a link."""
    return not path.is_symlink() and (path.is_file() or (folder_allowed and path.is_dir()))


def _written_by_us(path):
    """A run's metadata.json naming a symbiosis command, a SQLite file with a sweep's meta table, or an analysis's table."""
    try:
        if path.suffix == ".csv":
            with open(path) as handle:
                return handle.readline().rstrip("\n").endswith(ANALYSIS_HEADER_END)
        if path.suffix == ".json":
            data = json.loads(path.read_text())
            return isinstance(data, dict) and str(data.get("command", "")).startswith("symbiosis ") and "scenario_sha256" in data
        with open(path, "rb") as handle:
            if handle.read(16) != b"SQLite format 3\0":
                return False
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is not None
        finally:
            db.close()
    except (OSError, ValueError, UnicodeDecodeError, sqlite3.Error):
        return False


def _listed(name, files):
    return name == MANIFEST or name in files or any(name == f + c for f in files for c in COMPANIONS)


def _foreign(listing, manifest):
    """The entries of a folder's listing (folders end in ``/``) that its manifest does not list."""
    return [e for e in listing if not _listed(e.rstrip("/"), manifest["files"])]


def _describe(entries, limit=5):
    shown = entries[:limit]
    more = f" and {len(entries) - limit} more" if len(entries) > limit else ""
    return ", ".join(shown) + more


def _entries(folder):
    return sorted(e.name + ("/" if e.is_dir(follow_symlinks=False) else "") for e in os.scandir(folder))


def check_destination(folder, kinds, whole, flag="--out"):
    """Refuse, before any work, a destination that is not a new, empty or own folder of one of ``kinds``.

    ``whole``: the result replaces the folder as a whole, so it may hold nothing
    but the files of the earlier result, and it must be a folder that can be
    swapped (:func:`_check_swappable`). Messages name the folder as given.
    Returns the manifest (None for a new or empty folder).
    """
    given = Path(folder)
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    try:
        if given.is_symlink() and not given.exists():
            raise ScenarioError(given, flag, "is a symbolic link to a folder that does not exist (or to itself)")
        return _checked_destination(given, _real(given), kinds, whole, flag)
    except OSError as exc:  # a name too long for the file system, a path through a file ...
        raise ScenarioError(given, flag, f"cannot be used as a folder: {exc.strerror or exc}") from None


def _checked_destination(given, folder, kinds, whole, flag):
    long = [part for part in folder.parts if len(os.fsencode(part)) > NAME_MAX]
    if long:
        raise ScenarioError(given, flag, f"cannot be used as a folder: a name of {len(os.fsencode(long[0]))} bytes, "
                                         f"more than the {NAME_MAX} a file system allows")
    if whole:
        _check_swappable(given, folder, flag)
    if not folder.exists():  # a real path: a link to nothing was refused by check_destination
        _check_creatable(given, folder, flag)
        return None
    if not folder.is_dir():
        raise ScenarioError(given, flag, "is a file, expected a folder")
    listing = _entries(folder)
    names = [e.rstrip("/") for e in listing]
    manifest = _manifest_or_legacy(folder, names) if names else None
    if names and manifest is None:
        raise ScenarioError(given, flag, f"exists and holds files symbiosis did not write ({_describe(listing)}); "
                                         f"symbiosis writes only into a new or empty folder, or over a result it wrote "
                                         f"there before: choose another folder, or move those files out")
    if manifest is not None and manifest["kind"] not in kinds:
        raise ScenarioError(given, flag, f"holds the results of {KINDS[manifest['kind']]}, "
                                         f"not of {' or '.join(KINDS[k] for k in kinds)}; choose another folder")
    foreign = _foreign(listing, manifest) if manifest is not None else []
    if whole and foreign:
        raise ScenarioError(given, flag, f"holds files symbiosis did not write beside its earlier result "
                                         f"({_describe(foreign)}); a new result replaces the folder as a whole, "
                                         f"so move them out first, or choose another folder")
    if not whole:
        _check_writable(folder, given, flag)
    return manifest


def _check_swappable(given, folder, flag):
    """A result replacing ``folder`` is made beside it and swapped in: its parent must take both, and keep it."""
    here = _working_folder()
    if here is not None and (folder == here or folder in here.parents):
        raise ScenarioError(given, flag, "is the folder this command runs in (or holds it); a result replaces its "
                                         "folder as a whole, which would pull it from under you: give a folder inside it")
    if os.path.ismount(folder):
        raise ScenarioError(given, flag, f"is a mount point, which cannot be swapped for a new result; give a folder "
                                         f"inside it, e.g. --out {given / 'results'}")
    if len(os.fsencode(folder.name)) + STAGING_EXTRA > NAME_MAX:
        raise ScenarioError(given, flag, f"has a name of {len(os.fsencode(folder.name))} bytes; the staging folder "
                                         f"beside it needs {STAGING_EXTRA} more and names may have {NAME_MAX}")
    if len(os.fsencode(str(folder))) + STAGING_EXTRA + LONGEST_FILE >= PATH_MAX:
        raise ScenarioError(given, flag, f"is a path of {len(os.fsencode(str(folder)))} bytes; with the files of a "
                                         f"result in its staging folder it would pass the {PATH_MAX} a path may have")
    if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
        raise ScenarioError(given, flag, "cannot be replaced: it cannot be written (permission denied)")
    parent = _existing_ancestor(folder.parent, given, flag)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ScenarioError(given, flag, f"cannot be written: the result is made beside it and swapped in, so {parent} "
                                         f"must be writable (permission denied); give a folder inside one you can "
                                         f"write into")


def _existing_ancestor(folder, given, flag):
    while not folder.exists():
        if folder.is_symlink():
            raise ScenarioError(given, flag, f"cannot be created: {folder} is a symbolic link to nothing")
        folder = folder.parent
    if not folder.is_dir():
        raise ScenarioError(given, flag, f"cannot be created: {folder} is a file")
    return folder


def _check_creatable(given, folder, flag):
    _check_writable(_existing_ancestor(folder.parent, given, flag), given, flag)


def _check_writable(folder, given, flag):
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ScenarioError(given, flag, f"cannot write into {folder} (permission denied)")


def _make_parents(folder):
    """Create ``folder`` and its missing ancestors; return those created, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
    return list(reversed(missing))


def _remove_if_empty(folders):
    for path in reversed(folders):
        try:
            os.rmdir(path)
        except OSError:
            break


def _real(folder):
    """The folder as a real absolute path (so ``.`` has a name and a parent, and a link is never replaced)."""
    return Path(os.path.realpath(folder))


def _working_folder():
    try:
        return Path(os.path.realpath(os.getcwd()))
    except OSError:  # the folder this command was started in has been deleted
        return None
