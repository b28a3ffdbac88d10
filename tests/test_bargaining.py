"""The bargaining rule: no accepted side gets less than its hurdle, and the split adds up."""

import numpy as np
from conftest import mini, run
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.model.exchange import Terms
from simulation.model.firm import hurdles as hurdle

money = st.floats(0.0, 1e6)


def terms_from(draw, n=1):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    q = rng.random(n) * 1000
    a_s, a_r = rng.random(n) * 5e4, rng.random(n) * 5e4
    trust_s, trust_r = rng.random(n), rng.random(n)
    return Terms(
        quantity=q, supplier_avoided=a_s, receiver_avoided=a_r,
        running_unit=rng.random(n) * 30, fixed_cost=rng.random(n) * 5e3 + 500, subsidy=rng.random(n) * 1e3,
        shared=rng.random(n) * 500,
        supplier_hurdle=hurdle(rng.random(n) * 0.5, rng.random(n) * 2, trust_s, a_s),
        receiver_hurdle=hurdle(rng.random(n) * 0.5, rng.random(n) * 2, trust_r, a_r),
        beta=float(rng.random()),
    )


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_accepted_shares_clear_both_hurdles_and_sum_to_surplus(data):
    t = terms_from(data.draw, n=50)
    ok = t.acceptable
    assert (t.supplier_gain[ok] >= t.supplier_hurdle[ok] - 1e-9).all()
    assert (t.receiver_gain[ok] >= t.receiver_hurdle[ok] - 1e-9).all()
    # Gains are differences of sums of tens of thousands of EUR: compare to the rounding of those sums.
    scale = np.maximum(t.supplier_avoided, t.receiver_avoided) + t.fixed_cost
    np.testing.assert_allclose(t.supplier_gain + t.receiver_gain, t.surplus, rtol=1e-12, atol=1e-12 * scale.max())
    # Refused exactly when the surplus cannot cover both hurdles.
    assert (ok == ((t.space >= 0) & (t.surplus > 0) & (t.quantity > 0))).all()


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_price_delivers_the_agreed_split(data):
    t = terms_from(data.draw, n=20)
    q = t.quantity
    supplier = t.supplier_avoided + t.subsidy + t.price * q - t.shared / 2
    receiver = t.receiver_avoided - q * t.running_unit - (t.fixed_cost - t.shared) - t.shared / 2 - t.price * q
    np.testing.assert_allclose(supplier, t.supplier_gain, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(receiver, t.receiver_gain, rtol=1e-9, atol=1e-6)


def test_distrust_raises_the_hurdle():
    assert hurdle(0.2, 1.0, 0.0, 1000.0) > hurdle(0.2, 1.0, 0.5, 1000.0) > hurdle(0.2, 1.0, 1.0, 1000.0) == 200.0


def test_every_signed_contract_cleared_both_hurdles(mini_model):
    book = mini_model.contracts
    assert book.size > 0
    assert (book.supplier_gain_eur >= book.supplier_hurdle_eur - 1e-6).all()
    assert (book.receiver_gain_eur >= book.receiver_hurdle_eur - 1e-6).all()
    np.testing.assert_allclose(book.supplier_gain_eur + book.receiver_gain_eur, book.surplus_eur, rtol=1e-9)


def test_stronger_bargaining_power_raises_the_suppliers_price():
    low = run(mini("contract.supplier_power=0.1"))
    high = run(mini("contract.supplier_power=0.9"))
    first = lambda m: {(int(m.contracts.supplier[c]), int(m.contracts.waste[c])): m.contracts.price[c] for c in range(m.contracts.size)}
    a, b = first(low), first(high)
    common = set(a) & set(b)
    assert common
    assert all(b[key] > a[key] for key in common)
