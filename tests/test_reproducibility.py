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


# -- each source of chance draws from a stream of its own (simulation/model/chance.py) -----------------------------

def _periods(model):
    return {name: model.recorder.series(name) for name in ("active_links", "waste_exchanged_t", "savings_eur", "searches")}


def test_a_material_no_firm_makes_or_uses_leaves_the_run_as_it_was(tmp_path):
    """First in the catalogue and first by name, the new material shifts every other material's row; with one stream for all
    the price shocks it would also shift every draw after it. Neither may change a thing."""
    from simulation.model import SymbiosisModel
    from simulation.scenario import load

    folder = tmp_path / "park"
    shutil.copytree(ROOT / "scenarios" / "data", folder / "data")
    (folder / "data" / "extra.toml").write_text(
        '[materials.aardvark_fibre]\nname = "A material no process makes or uses"\nkind = "solid"\nunit = "t"\n'
        'virgin_price_eur = 1000.0\ndisposal_route = "landfill"\ngate_fee_eur = 50.0\nco2_virgin_t = 1.0\n'
        'co2_disposal_t = 0.0\ntransport = { truck = 0.1 }\nstorable = true\nsource = "a test"\n')
    text = (ROOT / "scenarios" / "demo_park.toml").read_text()
    extended = text.replace('catalogue = ["data/materials.toml"', 'catalogue = ["data/extra.toml", "data/materials.toml"')
    assert extended != text
    (folder / "plain.toml").write_text(text)
    (folder / "extended.toml").write_text(extended)
    plain = SymbiosisModel(load(folder / "plain.toml", ["scenario.years=6"]), seed=3, collect=False).run()
    more = SymbiosisModel(load(folder / "extended.toml", ["scenario.years=6"]), seed=3, collect=False).run()
    assert len(more.materials) == len(plain.materials) + 1
    for name, series in _periods(plain).items():
        assert series.tolist() == _periods(more)[name].tolist(), name
    assert plain.contracts.quantity.tolist() == more.contracts.quantity.tolist()


def test_two_policies_meet_the_same_prices_demand_and_outages():
    """Common random numbers: a paired policy comparison differs by the policy, not by a reshuffle of luck."""
    from simulation.model import SymbiosisModel
    from simulation.scenario import load

    arms = [SymbiosisModel(load(ROOT / "scenarios" / "demo_park.toml", ["scenario.years=8", f"policy.landfill_tax_eur_per_t={tax}",
                                                                         "outages.rate_per_month=0.05"]),
                           seed=7, collect=False) for tax in (0.0, 150.0)]
    downtime = [[], []]
    for _ in range(arms[0].n_periods):
        for arm, days in zip(arms, downtime):
            arm.step()
            days.append(arm.logistics.plants_down)
    low, high = arms
    assert (low.firms.left < 0).all() and (high.firms.left < 0).all()  # nobody left, so every plant ran in both arms
    assert low.recorder.series("waste_exchanged_t").tolist() != high.recorder.series("waste_exchanged_t").tolist()  # the arms differ...
    assert low.materials.price_multiplier.tolist() == high.materials.price_multiplier.tolist()  # ...but not in luck
    assert low.firms.utilisation.tolist() == high.firms.utilisation.tolist()
    assert downtime[0] == downtime[1] and max(downtime[0]) > 0


def test_a_generator_passed_as_seed_gives_each_run_its_own_draws():
    """The streams' root is drawn from the generator, not read from its seed: one generator reused for two runs
    gives two histories, and two generators seeded alike give the same one."""
    import numpy as np

    from simulation.model import SymbiosisModel
    from simulation.scenario import load

    scenario = load(DATA / "mini_park.toml", ["scenario.years=3"])

    def history(rng):
        return SymbiosisModel(scenario, seed=rng, collect=False).run().recorder.series("waste_exchanged_t").tolist()

    shared = np.random.default_rng(8)
    assert history(shared) != history(shared)
    assert history(np.random.default_rng(8)) == history(np.random.default_rng(8))
