"""Writing results safely: never half-written, never over a file this tool did not write.

Every output of ``symbiosis`` is a folder it owns, marked by a manifest,
``.symbiosis.json``, that names the kind of result the folder holds (``run``,
``sweep``, ``analysis``, ``export``) and lists the files the tool wrote there.

* **Whole results** (a run's folder, a sweep's analysis) are written into a
  staging folder beside their destination, then swapped in by one atomic rename
  (Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere two renames, undone by the next
  write if a crash falls between them). At every moment the destination holds the
  old complete result or the new one. The old one is deleted only after checking
  that it holds nothing but files its manifest lists.
* **Single files** (a sweep's store, exports, a comparison's tables) go into a
  folder the tool owns (:func:`owned_folder`, :func:`added_file`): each is written
  under a temporary name and renamed over its destination, which is replaced only
  if the manifest lists it.

A destination that exists, is not empty and carries no manifest of the right kind
is refused before any work starts (:func:`check_destination`). Staging entries
are named ``.<name>.symbiosis-<12 hex digits>`` and locked (``flock``) while in
use; one left by a killed process is removed by the next write to the same place.
New folders and files get the permissions the user's umask allows.
"""

import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import sqlite3
from contextlib import contextmanager
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


# -- staging entries --------------------------------------------------------------------------

def _new_staging(destination, make):
    """A locked, new staging entry beside ``destination``: (path, lock descriptor)."""
    while True:
        path = destination.parent / f".{destination.name}.symbiosis-{secrets.token_hex(6)}"
        try:
            make(path)
            fd = os.open(path, os.O_RDONLY)
        except (FileExistsError, FileNotFoundError):  # taken, or cleared by a cleaner in the instant before the lock
            continue
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink > 0 and _same_inode(path, fd):
            return path, fd
        os.close(fd)


def _same_inode(path, fd):
    try:
        return os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _make_folder(path):
    os.mkdir(path, 0o777)  # the umask applies


def _make_file(path):
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # the umask applies


def clear_leftovers(destination):
    """Remove staging entries a killed process left beside ``destination``; undo a swap it left half done."""
    destination = Path(destination)
    pattern = _staging_pattern(destination.name)
    try:
        candidates = [e for e in os.scandir(destination.parent) if pattern.match(e.name)]
    except FileNotFoundError:
        return
    for entry in sorted(candidates, key=lambda e: not e.name.endswith("-old")):  # a half-done swap first
        try:
            fd = os.open(entry.path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process is writing it
            os.close(fd)
            continue
        try:
            if entry.name.endswith("-old") and not destination.exists():
                os.rename(entry.path, destination)  # the old result goes back where it was
            elif entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
                for companion in COMPANIONS:  # a store being created when its process was killed
                    Path(entry.path + companion).unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            os.close(fd)


# -- a result replaced as a whole -------------------------------------------------------------

@contextmanager
def replaced_folder(folder, kind, flag="--out"):
    """Yield a staging folder that replaces ``folder`` as a whole once the block ends without error.

    ``folder`` must be new, empty, or an earlier result of ``kind`` holding only
    its own files (:func:`check_destination`).
    """
    check_destination(folder, kind, whole=True, flag=flag)
    folder = _real(folder)
    created = _make_parents(folder.parent)
    clear_leftovers(folder)
    staging, lock = _new_staging(folder, _make_folder)
    try:
        yield staging
        write_manifest(staging, kind, sorted(e.name for e in os.scandir(staging)))
        _sync_tree(staging)
        _swap_in(staging, folder, kind, flag)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_if_empty(created)
        raise
    finally:
        os.close(lock)


def _real(folder):
    """The folder as a real absolute path (so ``.`` has a name and a parent, and a link is never replaced)."""
    return Path(os.path.realpath(folder))


def _working_folder():
    try:
        return Path(os.path.realpath(os.getcwd()))
    except OSError:  # the folder this command was started in has been deleted
        return None


def _swap_in(staging, folder, kind, flag):
    if not folder.exists():
        os.rename(staging, folder)  # atomic; fails rather than replace a folder that appeared meanwhile with files
    else:
        check_destination(folder, kind, whole=True, flag=flag)  # nothing foreign arrived while the new result was made
        old = _swap(staging, folder)
        listing = _entries(old)
        foreign = _foreign(listing, _manifest_or_legacy(old, [e.rstrip("/") for e in listing]) or {"files": []})
        if foreign:  # arrived between the check and the swap: put everything back as it was
            _swap(old, folder)
            raise ScenarioError(folder, flag, f"changed while the results were written ({_describe(foreign)} appeared); "
                                              f"nothing was replaced")
        shutil.rmtree(old, ignore_errors=True)
    _sync_path(folder.parent)


def _swap(new, folder):
    """Put ``new`` at ``folder``; return where the previous content of ``folder`` now is."""
    if _exchange(new, folder):
        return new
    old = new.with_name(new.name + "-old")
    os.rename(folder, old)
    os.rename(new, folder)
    return old


def _exchange(a, b):
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where that is not available."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    import ctypes

    if renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2) == 0:  # AT_FDCWD, RENAME_EXCHANGE
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # kernel or file system without it
        return False
    raise OSError(code, os.strerror(code), str(b))


_RENAMEAT2 = []


def _renameat2():
    if not _RENAMEAT2:
        function = None
        try:
            import ctypes

            function = ctypes.CDLL(None, use_errno=True).renameat2
            function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        except (OSError, AttributeError):  # not glibc 2.28+ (macOS, musl ...)
            function = None
        _RENAMEAT2.append(function)
    return _RENAMEAT2[0]


def _sync_tree(folder):
    """Flush every file and the folder itself to disk, so a power cut cannot swap in a half-written result."""
    for root, _, files in os.walk(folder):
        for name in files:
            _sync_path(os.path.join(root, name))
        _sync_path(root)


def _sync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a directory; the rename is still atomic
        pass
    finally:
        os.close(fd)


# -- files added to a folder the tool owns ---------------------------------------------------

def write_manifest(folder, kind, files):
    with staged_file(Path(folder) / MANIFEST) as staging:
        staging.write_text(json.dumps({"written_by": WRITER, "kind": kind, "files": sorted(set(files))},
                                      indent=2, sort_keys=True) + "\n")


def owned_folder(folder, kinds, flag="--out"):
    """``folder`` as a folder of one of ``kinds`` this tool owns: created, or claimed when empty, or an earlier one.

    A new folder gets the first of ``kinds``. Returns the folder.
    """
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    check_destination(folder, kinds, whole=False, flag=flag)
    folder = _real(folder)
    created = _make_parents(folder)
    try:
        with _locked(folder):
            if read_manifest(folder) is None:  # new, empty, or written before manifests
                legacy = _manifest_or_legacy(folder, [e.name for e in os.scandir(folder)])
                write_manifest(folder, kinds[0] if legacy is None else legacy["kind"],
                               [] if legacy is None else legacy["files"])
    except BaseException:
        _remove_if_empty(created)
        raise
    return folder


@contextmanager
def added_file(folder, name, flag="--out"):
    """Yield a staging path that becomes ``folder/name`` once the block ends without error.

    ``folder`` is owned (:func:`owned_folder`); an existing ``name`` is replaced
    only if the manifest lists it, i.e. this tool wrote it.
    """
    folder = Path(folder)
    claim(folder, name, flag)
    with staged_file(folder / name) as staging:
        yield staging


def claim(folder, name, flag="--out"):
    """List ``name`` in the manifest of ``folder`` before writing it; refuse a file of that name the tool did not write."""
    with _locked(folder):
        manifest = read_manifest(folder)
        if manifest is None:
            raise ScenarioError(folder, flag, "is not a folder symbiosis wrote (no manifest)")
        if name in manifest["files"]:
            return
        if os.path.lexists(folder / name):
            raise ScenarioError(folder / name, "", "exists and was not written by symbiosis; move it out of the way, "
                                                   "or choose another folder")
        write_manifest(folder, manifest["kind"], [*manifest["files"], name])


@contextmanager
def _locked(folder):
    """The folder locked against other processes updating its manifest at the same time."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def staged_file(path):
    """Yield a temporary path that replaces ``path`` once the block ends without error."""
    path = Path(path)
    clear_leftovers(path)
    staging, lock = _new_staging(path, _make_file)
    try:
        yield staging
        _sync_path(staging)
        os.replace(staging, path)
        _sync_path(path.parent)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    finally:
        os.close(lock)
