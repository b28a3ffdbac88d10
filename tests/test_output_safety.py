"""Output folders: a result replaces only what this tool wrote, all at once, whatever happens meanwhile."""

import fcntl
import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import time

import pytest
from conftest import DATA, ROOT, tree

from simulation.cli import main
from simulation.errors import ScenarioError
from simulation.output import files as atomic
from simulation.output.files import MANIFEST, clear_leftovers, replaced_folder

MINI = str(DATA / "mini_park.toml")


def leftovers(folder):
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.symbiosis-"))


def assert_refused_untouched(root, out, words):
    """Writing a result to ``out`` is refused with ``words`` (a regex), and nothing under ``root`` changes."""
    before = tree(root)
    with pytest.raises(ScenarioError, match=words):
        write_result(out, {"periods.csv": "new"})
    assert tree(root) == before


def write_result(folder, files, kind="run"):
    with replaced_folder(folder, kind) as staging:
        for name, text in files.items():
            (staging / name).write_text(text)


# -- what may be replaced ------------------------------------------------------------------

def test_a_result_replaces_an_earlier_one_as_a_whole(tmp_path):
    out = tmp_path / "out"
    write_result(out, {"periods.csv": "old", "extra.csv": "old"})
    write_result(out, {"periods.csv": "new"})
    assert set(tree(out)) == {"periods.csv", MANIFEST} and (out / "periods.csv").read_text() == "new"
    assert json.loads((out / MANIFEST).read_text())["files"] == ["periods.csv"]
    assert leftovers(out) == []


@pytest.mark.parametrize("setup, words", [
    (lambda out: (out / "notes.txt").write_text("mine"), "holds files symbiosis did not write (notes.txt)"),
    (lambda out: (out / "notes").mkdir(), "holds files symbiosis did not write (notes/)"),
], ids=["a file", "a folder"])
def test_a_folder_of_someone_elses_files_is_refused_and_left_alone(tmp_path, setup, words):
    out = tmp_path / "out"
    out.mkdir()
    setup(out)
    assert_refused_untouched(tmp_path, out, re.escape(words))


def test_a_file_added_to_an_earlier_result_blocks_replacing_it(tmp_path):
    out = tmp_path / "out"
    write_result(out, {"periods.csv": "old"})
    (out / "analysis.R").write_text("mine")
    assert_refused_untouched(tmp_path, out, "beside its earlier result")


def test_a_file_that_arrives_while_the_result_is_written_is_kept(tmp_path):
    out = tmp_path / "out"
    write_result(out, {"periods.csv": "old"})
    with pytest.raises(ScenarioError, match="beside its earlier result"):
        with replaced_folder(out, "run") as staging:
            (staging / "periods.csv").write_text("new")
            (out / "arrived.txt").write_text("mine")
    assert (out / "arrived.txt").read_text() == "mine" and (out / "periods.csv").read_text() == "old"
    assert leftovers(out) == []


def test_a_file_that_arrives_between_the_last_check_and_the_swap_is_put_back_with_the_old_result(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_result(out, {"periods.csv": "old"})
    checks, check = [], atomic.check_destination

    def check_then_arrive(*args, **kwargs):
        manifest = check(*args, **kwargs)
        checks.append(1)
        if len(checks) == 2:  # the re-check just before the swap has passed
            (out / "arrived.txt").write_text("mine")
        return manifest

    monkeypatch.setattr(atomic, "check_destination", check_then_arrive)
    with pytest.raises(ScenarioError, match=r"changed while the results were written \(arrived.txt appeared\)"):
        write_result(out, {"periods.csv": "new"})
    assert (out / "arrived.txt").read_text() == "mine" and (out / "periods.csv").read_text() == "old"
    assert leftovers(out) == []


def test_another_kind_of_result_is_not_replaced(tmp_path):
    out = tmp_path / "out"
    write_result(out, {"regime_shares.csv": "x", "notes.txt": ""}, kind="analysis")
    with pytest.raises(ScenarioError, match="holds the results of an analysis, not of a run"):
        write_result(out, {"periods.csv": "new"})


def test_a_result_written_before_manifests_is_recognised_by_its_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "metadata.json").write_text(json.dumps({"scenario_sha256": "x", "command": "symbiosis run park.toml"}))
    (out / "periods.csv").write_text("old")
    (out / "network_1990.png").write_text("old")
    write_result(out, {"periods.csv": "new"})
    assert (out / "periods.csv").read_text() == "new" and not (out / "network_1990.png").exists()


@pytest.mark.parametrize("metadata", [{}, {"scenario_sha256": "x", "command": "my own run"}, "not json"],
                         ids=["no command", "another command", "not JSON"])
def test_a_folder_that_only_looks_like_an_old_result_is_refused(tmp_path, metadata):
    out = tmp_path / "out"
    out.mkdir()
    (out / "metadata.json").write_text(metadata if isinstance(metadata, str) else json.dumps(metadata))
    (out / "periods.csv").write_text("mine")
    assert_refused_untouched(tmp_path, out, "holds files symbiosis did not write")


def test_a_symbolic_link_to_the_results_stays_a_link(tmp_path):
    real = tmp_path / "real"
    write_result(real, {"periods.csv": "old"})
    link = tmp_path / "link"
    link.symlink_to(real)
    write_result(link, {"periods.csv": "new"})
    assert link.is_symlink() and (link / "periods.csv").read_text() == "new"


def test_new_folders_and_files_follow_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        write_result(tmp_path / "out", {"periods.csv": "x"})
    finally:
        os.umask(previous)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "out" / "periods.csv").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "out" / MANIFEST).stat().st_mode & 0o777 == 0o640


def test_parents_made_for_a_result_that_failed_are_removed(tmp_path):
    with pytest.raises(RuntimeError):
        with replaced_folder(tmp_path / "a" / "b" / "out", "run"):
            raise RuntimeError("the run broke")
    assert list(tmp_path.iterdir()) == []


# -- what a killed process leaves --------------------------------------------------------------

def test_a_staging_folder_left_by_a_killed_process_is_cleared_but_not_one_in_use(tmp_path):
    out = tmp_path / "out"
    stale = tmp_path / ".out.symbiosis-0123456789ab"
    stale.mkdir()
    (stale / "periods.csv").write_text("half")
    in_use = tmp_path / ".out.symbiosis-ba9876543210"
    in_use.mkdir()
    fd = os.open(in_use, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a writer still running holds it
    try:
        write_result(out, {"periods.csv": "new"})
        assert not stale.exists() and in_use.exists()
    finally:
        os.close(fd)
    clear_leftovers(out)
    assert leftovers(out) == []


def test_a_swap_cut_between_its_two_renames_is_undone(tmp_path, monkeypatch):
    # Where the file system cannot exchange two folders in one step, the swap takes two renames.
    out = tmp_path / "out"
    write_result(out, {"periods.csv": "old"})
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    renames, rename = [], os.rename

    def rename_then_die(src, dst):
        renames.append(src)
        if len(renames) == 2:  # the old result has moved aside; the process dies before the new one moves in
            raise KeyboardInterrupt
        rename(src, dst)

    monkeypatch.setattr(atomic.os, "rename", rename_then_die)
    with pytest.raises(KeyboardInterrupt):
        write_result(out, {"periods.csv": "new"})
    monkeypatch.undo()
    assert not out.exists()
    write_result(out, {"periods.csv": "newer"})  # the next write puts the old result back first, then replaces it
    assert (out / "periods.csv").read_text() == "newer" and leftovers(out) == []
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    write_result(out, {"periods.csv": "newest"})
    assert (out / "periods.csv").read_text() == "newest" and leftovers(out) == []


def _run_command(out, seed):
    return [sys.executable, "-m", "simulation", "run", MINI, "--seed", str(seed), "--out", str(out)]


def _wait_for(process, marker, timeout=60):
    """Read the process's stderr until ``marker`` appears (tqdm writes no newlines)."""
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen:
        assert time.monotonic() < deadline and process.poll() is None, seen.decode(errors="replace")
        ready, _, _ = select.select([process.stderr], [], [], 0.05)
        if ready:
            seen += os.read(process.stderr.fileno(), 4096)


def test_a_run_killed_at_any_moment_of_writing_leaves_the_old_result_or_the_new_one(tmp_path):
    out = tmp_path / "out"
    subprocess.run(_run_command(out, 2), cwd=ROOT, check=True, capture_output=True)
    new = tree(out)
    subprocess.run(_run_command(out, 1), cwd=ROOT, check=True, capture_output=True)
    old = tree(out)
    assert old != new and len(new) >= 10
    rng = random.Random(20261202)
    outcomes = []
    for _ in range(8):
        process = subprocess.Popen(_run_command(out, 2), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_for(process, b"writing results")
        time.sleep(rng.uniform(0, 1.5))  # the writing takes about a second: tables, then figures
        process.kill()
        process.wait()
        state = tree(out)
        assert state in (old, new), sorted(set(state) ^ set(old))
        outcomes.append("new" if state == new else "old")
        if state == new:
            subprocess.run(_run_command(out, 1), cwd=ROOT, check=True, capture_output=True)
    assert "old" in outcomes  # some kills did fall within the writing
    subprocess.run(_run_command(out, 2), cwd=ROOT, check=True, capture_output=True)
    assert tree(out) == new and leftovers(out) == []


def test_ctrl_c_while_a_run_writes_stops_it_cleanly_with_the_old_result_in_place(tmp_path):
    out = tmp_path / "out"
    subprocess.run(_run_command(out, 1), cwd=ROOT, check=True, capture_output=True)
    old = tree(out)
    rng = random.Random(7)
    statuses = []
    # Signals at once (always while writing) and at random moments up to past the swap.
    for delay in (0.0, 0.0, rng.uniform(0, 1.2), rng.uniform(0, 1.2), rng.uniform(0, 1.2)):
        process = subprocess.Popen(_run_command(out, 2), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_for(process, b"writing results")
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        statuses.append(process.returncode)
        text = stderr.decode(errors="replace")
        assert "Traceback" not in text and "Exception ignored" not in text, text
        if process.returncode == 130:
            assert tree(out) == old and "interrupted; no result was written or replaced" in text
        else:
            assert process.returncode == 0, text  # the signal came after the swap
            subprocess.run(_run_command(out, 1), cwd=ROOT, check=True, capture_output=True)
        assert leftovers(out) == []
    assert 130 in statuses


def test_the_cli_refuses_before_running_and_leaves_every_file_as_it_was(tmp_path, monkeypatch, capsys):
    (tmp_path / "analysis.R").write_text("mine")
    (tmp_path / "notes").mkdir()
    monkeypatch.chdir(tmp_path / "notes")
    before = tree(tmp_path)
    assert main(["run", MINI, "--out", "..", "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("error: ..: --out: is the folder this command runs in (or holds it)")
    monkeypatch.chdir(tmp_path.parent)
    assert main(["run", MINI, "--out", tmp_path.name, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path.name}: --out: exists and holds files symbiosis did not write (analysis.R, notes/)")
    assert tree(tmp_path) == before
