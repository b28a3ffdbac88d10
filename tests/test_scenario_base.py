"""A scenario that builds on another (``scenario.base``) is that scenario with only what it states changed."""

import shutil

from conftest import DATA, ROOT

from simulation.scenario import load


def test_a_variant_states_only_what_differs_and_inherits_the_rest():
    demo, variant = load(ROOT / "scenarios" / "demo_park.toml"), load(ROOT / "scenarios" / "collapse_demo.toml")
    assert variant.spec.firms == demo.spec.firms and variant.catalogue == demo.catalogue
    assert variant.spec.scenario.years == demo.spec.scenario.years and variant.spec.scenario.seed == demo.spec.scenario.seed
    # Tables merge: the variant's keys win, the others stay the base's.
    assert variant.spec.policy.landfill_tax_eur_per_t == demo.spec.policy.landfill_tax_eur_per_t
    assert variant.spec.policy.carbon_price_eur_per_t != demo.spec.policy.carbon_price_eur_per_t
    assert variant.spec.market.price_volatility == demo.spec.market.price_volatility
    assert variant.spec.market.carbon_pass_through == 0.5 != demo.spec.market.carbon_pass_through
    # Lists are replaced: the demo's fuel switch is not in the variant.
    assert demo.spec.events and variant.spec.events == []
    assert variant.name == "collapse_demo" and variant.content_hash != demo.content_hash


def test_a_base_in_a_subfolder_keeps_its_own_catalogue_and_a_chain_of_bases_applies_in_order(tmp_path):
    parks = tmp_path / "parks"
    parks.mkdir()
    for name in ("mini_park.toml", "mini_catalogue.toml"):
        shutil.copy(DATA / name, parks / name)
    (parks / "taxed.toml").write_text('[scenario]\nbase = "mini_park.toml"\nname = "taxed"\n\n[policy]\n'
                                      'landfill_tax_eur_per_t = 90.0\nsubsidy_eur_per_t = 5.0\n')
    (tmp_path / "child.toml").write_text('[scenario]\nbase = "parks/taxed.toml"\nname = "child"\n\n[policy]\n'
                                         'subsidy_eur_per_t = 7.0\n')
    base, child = load(parks / "mini_park.toml"), load(tmp_path / "child.toml")
    assert child.spec.scenario.catalogue == ["parks/mini_catalogue.toml"]  # named from the child's folder
    assert child.catalogue == base.catalogue and child.spec.firms == base.spec.firms
    assert (child.spec.policy.landfill_tax_eur_per_t, child.spec.policy.subsidy_eur_per_t) == (90.0, 7.0)
