"""The same scenario and seed give bit-identical output files; another seed does not."""

import filecmp
import shutil
import subprocess
import sys

from conftest import DATA, ROOT

from simulation.cli import main

FILES = ("periods.csv", "contracts.csv", "exchanges.csv", "flows.csv", "metadata.json", "network.png", "timeseries.png")


def run_cli(out, *extra):
    assert main(["run", str(DATA / "mini_park.toml"), "--quiet", "--out", str(out), *extra]) == 0


def test_same_seed_gives_identical_files(tmp_path):
    out = tmp_path / "out"
    run_cli(out, "--seed", "5")
    shutil.copytree(out, tmp_path / "first")
    run_cli(out, "--seed", "5")  # same command line, so metadata.json must match too
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "first", out, FILES, shallow=False)
    assert sorted(match) == sorted(FILES), (mismatch, errors)


def test_another_seed_gives_another_history(tmp_path):
    run_cli(tmp_path / "a", "--seed", "5", "--no-figures")
    run_cli(tmp_path / "b", "--seed", "6", "--no-figures")
    assert not filecmp.cmp(tmp_path / "a" / "periods.csv", tmp_path / "b" / "periods.csv", shallow=False)


def test_identical_in_a_fresh_process_with_another_hash_seed(tmp_path):
    # Set iteration order and hashing must not leak into results.
    run_cli(tmp_path / "here", "--seed", "9", "--no-figures")
    code = (f"import sys; from simulation.cli import main; "
            f"sys.exit(main(['run', {str(DATA / 'mini_park.toml')!r}, '--quiet', '--no-figures', '--seed', '9', '--out', {str(tmp_path / 'there')!r}]))")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={"PYTHONHASHSEED": "12345", "PATH": ""})
    for name in ("periods.csv", "contracts.csv", "exchanges.csv", "flows.csv"):
        assert filecmp.cmp(tmp_path / "here" / name, tmp_path / "there" / name, shallow=False), name
