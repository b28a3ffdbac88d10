import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run, so CI cannot fail on a new draw;
# `pytest --hypothesis-profile=explore` draws new ones.
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("default")

from simulation.model import SymbiosisModel
from simulation.scenario import load

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


def tree(root):
    """Every file and folder under ``root``, hidden ones too: relative path -> (content, mode).

    Content is the bytes of a file, None for a folder and ``-> target`` for a link
    (never followed): what a test compares to show that nothing was touched.
    """
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                content = "-> " + os.readlink(path)
            else:
                content = None if name in dirs else open(path, "rb").read()
            found[os.path.relpath(path, root)] = (content, os.lstat(path).st_mode)
    return found


def mini(*overrides, **kwargs):
    """The four-firm test park with overrides (``PATH=VALUE`` strings)."""
    return load(DATA / "mini_park.toml", overrides, **kwargs)


def mini_with_catalogue(folder, name, text, *overrides):
    """The four-firm test park loaded from ``folder`` with one more catalogue file ``name`` holding ``text``,
    for materials and processes only a test needs (``PATH=VALUE`` overrides applied after)."""
    for base in ("mini_park.toml", "mini_catalogue.toml"):
        shutil.copy(DATA / base, folder / base)
    (folder / name).write_text(text)
    return load(folder / "mini_park.toml", [f'scenario.catalogue=["mini_catalogue.toml", "{name}"]', *overrides])


def shipped_park_header(name, years, search=""):
    """The [scenario], [search] and [outages] tables of a small park on the shipped catalogue (as
    :func:`with_shipped_catalogue` lays it out), where every firm with unmatched flow searches every month and no
    plant fails; ``search`` adds lines to [search]. The park's own tables follow it."""
    return f"""
[scenario]
name = "{name}"
start = "2025-01"
years = {years}
catalogue = ["materials.toml", "processes.toml"]

[search]
rate_per_month = 1
{search}
[outages]
rate_per_month = 0
"""


def with_shipped_catalogue(folder, text, *overrides, edit=None):
    """A scenario of ``text`` (TOML, its catalogue ``materials.toml`` and ``processes.toml``) loaded from ``folder``,
    next to copies of the shipped catalogue files; ``edit`` may change the copies' text first (``(old, new)`` pairs)."""
    for name in ("materials.toml", "processes.toml"):
        catalogue = (ROOT / "scenarios" / "data" / name).read_text()
        for old, new in edit or ():
            catalogue = catalogue.replace(old, new)
        (folder / name).write_text(catalogue)
    (folder / "park.toml").write_text(text)
    return load(folder / "park.toml", overrides)


def run(scenario, seed=None, **kwargs):
    return SymbiosisModel(scenario, seed=seed, **kwargs).run()


@pytest.fixture
def mini_model():
    return run(mini())
