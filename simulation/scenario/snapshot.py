"""The files a scenario is read from: TOML parsing, and snapshots that freeze them.

:func:`read_toml` reads a file from disk. A :class:`Snapshot` reads each file
from disk once and serves every later read from the bytes it took then. A sweep
checks its files through one snapshot and ships that snapshot to its workers, so
a scenario or catalogue edited while the sweep runs cannot mix two experiments;
the store records the content hash of what was run.
"""

import copy
import hashlib
import os
import tomllib
from functools import lru_cache

from simulation.errors import ScenarioError


def read_toml(path):
    """A TOML file as a dict; any problem reading it is a ScenarioError naming the file."""
    return copy.deepcopy(_parsed(str(path), read_bytes(path)))


def read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found") from None
    except IsADirectoryError:
        raise ScenarioError(path, "", "is a directory, expected a TOML file") from None
    except PermissionError:
        raise ScenarioError(path, "", "cannot be read (permission denied)") from None
    except OSError as exc:
        raise ScenarioError(path, "", f"cannot be read: {exc.strerror or exc}") from None


@lru_cache(maxsize=64)
def _parsed(path, data):
    """Parsing is most of the time of loading a scenario (the catalogue is large): each text is parsed once.

    Callers get a deep copy, since overrides edit the parsed dict in place.
    """
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(path, "", "not a text file (expected UTF-8 TOML)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "", f"not valid TOML: {exc}") from None


class Snapshot:
    """Every file read through it, as it was at its first read; a reader for :func:`simulation.scenario.load`.

    Once :meth:`freeze` is called (and in every copy sent to a worker), a file
    not read before is refused rather than read from disk.
    """

    def __init__(self):
        self._files = {}  # real path -> bytes
        self._frozen = False
        self._digest = None

    def read(self, path):
        key = os.path.realpath(path)  # one key however the path is spelled, through links or not
        data = self._files.get(key)
        if data is None:
            if self._frozen:
                raise ScenarioError(path, "", "was not read when the sweep was checked, so it is not in the "
                                              "snapshot of files the sweep runs")
            data = self._files[key] = read_bytes(path)
        return copy.deepcopy(_parsed(str(path), data))

    def freeze(self):
        self._frozen = True
        return self

    @property
    def digest(self):
        """Hash of every file's path and content."""
        if self._digest is None or not self._frozen:
            digest = hashlib.sha256()
            for path in sorted(self._files):
                digest.update(path.encode() + b"\0" + hashlib.sha256(self._files[path]).digest())
            self._digest = digest.hexdigest()
        return self._digest

    def __getstate__(self):
        return {"_files": self._files, "_frozen": True, "_digest": None}
