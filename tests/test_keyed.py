"""The sort-based key helpers agree with numpy's own set routines and with a dict."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.keyed import KeyedValues, contains, first_occurrences, unique_ints, unique_inverse

ints = st.lists(st.integers(0, 60), max_size=80).map(lambda v: np.array(v, dtype=np.int64))


@settings(max_examples=200, deadline=None)
@given(ints, ints)
def test_helpers_match_numpy(a, b):
    np.testing.assert_array_equal(unique_ints(a), np.unique(a))
    np.testing.assert_array_equal(first_occurrences(a), np.unique(a, return_index=True)[1])
    values, inverse = unique_inverse(a)
    np.testing.assert_array_equal(values[inverse], a)
    np.testing.assert_array_equal(values, np.unique(a))
    np.testing.assert_array_equal(contains(a, b), np.isin(a, b))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.floats(0, 1)), max_size=60), ints)
def test_keyed_values_behave_like_a_dict_with_default(writes, queries):
    store, reference = KeyedValues(default=0.5), {}
    for i, (key, value) in enumerate(writes):
        store.set(key, value)
        reference[key] = value
        if i % 7 == 0:  # reads in between merge the buffered writes
            np.testing.assert_array_equal(store.get(queries), [reference.get(int(q), 0.5) for q in queries])
    np.testing.assert_array_equal(store.get(queries), [reference.get(int(q), 0.5) for q in queries])
