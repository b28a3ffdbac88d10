"""All three regimes on one park: the collapse demo forms a network that collapses after a policy change, through
closures for losses and not through an event, and the regimes sweep finds never formed, persisted and collapsed."""

import pytest
from conftest import ROOT
from scipy.stats import binomtest

from simulation.experiment.runs import run_sweep
from simulation.experiment.store import read_runs
from simulation.experiment.sweep_file import load_sweep
from simulation.measures.outcome import outcome_of
from simulation.model import SymbiosisModel
from simulation.model.firm import EXIT_REASONS
from simulation.scenario import load

DEMO = ROOT / "scenarios" / "collapse_demo.toml"
SEEDS = range(1, 9)
ALPHA = 0.05


def collapse_run(seed, *overrides):
    model = SymbiosisModel(load(DEMO, overrides), seed=seed, record_exchanges=False).run()
    return model, outcome_of(model.recorder.series, model.params.outcome)


@pytest.fixture(scope="module")
def demo_runs():
    """Each seed with the carbon price of the demo and without any (the same park, the same draws until 2030)."""
    return [(collapse_run(seed), collapse_run(seed, "policy.carbon_price_eur_per_t=0")) for seed in SEEDS]


def test_the_collapse_demo_removes_no_firm_and_no_waste_by_an_event():
    spec = load(DEMO).spec
    assert spec.events == [] and all(firm.exit is None for firm in spec.firms)


def test_the_demo_network_forms_then_collapses_when_its_anchors_close_for_losses(demo_runs):
    for (model, outcome), _ in demo_runs:
        f = model.firms
        left = [(int(f.left[i]), EXIT_REASONS[f.exit_reason[i]]) for i in range(len(f)) if f.left[i] >= 0]
        assert outcome.regime == "collapsed"
        assert {why for _, why in left} == {"closed after losses"}
        # It formed before anything closed, and collapsed once the first plants had closed.
        assert outcome.formed_period < min(month for month, _ in left) <= outcome.collapsed_period


def test_without_the_carbon_price_the_same_network_persists(demo_runs):
    """Paired by seed: the carbon price's arm loses more of its peak network in every pair (a sign test at alpha)."""
    worse = [taxed.drop_share > untaxed.drop_share for (_, taxed), (_, untaxed) in demo_runs]
    assert binomtest(sum(worse), len(worse), alternative="greater").pvalue < ALPHA
    assert all(untaxed.regime == "persisted" and not untaxed_model.firms.exit_reason.any()
               for _, (untaxed_model, untaxed) in demo_runs)


def regimes_of(tmp_path, replicates=None):
    """The regimes sweep's runs, with ``replicates`` per point (None: as shipped)."""
    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / "regimes.toml")
    if replicates is not None:
        sweep = sweep.model_copy(update={"replicates": replicates})
    run_sweep(sweep, tmp_path, workers=2, progress=False)
    return read_runs(tmp_path / "results.sqlite")


def check_regimes(runs):
    assert (runs.status == "done").all()
    shares = runs.regime.value_counts(normalize=True)
    assert all(shares.get(regime, 0) >= 0.1 for regime in ("none", "persisted", "collapsed")), shares
    cell = runs.groupby(["firm_defaults.hurdle_rate", "policy.carbon_price_eur_per_t"]).regime.agg(lambda r: r.mode()[0])
    assert cell[0.8, 0] == "none" and cell[0.2, 0] == "persisted" and cell[0.2, 150] == "collapsed"


def test_the_regimes_sweep_draws_each_regime_in_at_least_a_tenth_of_its_runs_on_one_replicate(tmp_path):
    check_regimes(regimes_of(tmp_path, 1))


@pytest.mark.slow
def test_the_regimes_sweep_as_shipped_draws_each_regime_in_at_least_a_tenth_of_its_runs(tmp_path):
    check_regimes(regimes_of(tmp_path))
