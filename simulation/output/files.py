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
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path

from simulation.errors import ScenarioError
from simulation.output.ownership import (
    COMPANIONS,
    MANIFEST,
    WRITER,
    _describe,
    _entries,
    _foreign,
    _make_parents,
    _manifest_or_legacy,
    _real,
    _remove_if_empty,
    _staging_pattern,
    check_destination,
    read_manifest,
)

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
