"""The sort-based key helpers agree with numpy's own set routines and with a dict."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.model.keyed import KeyedValues, contains, first_occurrences, unique_ints

ints = st.lists(st.integers(0, 60), max_size=80).map(lambda v: np.array(v, dtype=np.int64))


@settings(max_examples=200, deadline=None)
@given(ints, ints)
def test_helpers_match_numpy(a, b):
    np.testing.assert_array_equal(unique_ints(a), np.unique(a))
    np.testing.assert_array_equal(first_occurrences(a), np.unique(a, return_index=True)[1])
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


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 5)), max_size=20))
def test_ragged_rows_lists_every_item_of_every_run(runs):
    from simulation.model.keyed import ragged_rows

    starts = np.array([r[0] for r in runs], dtype=np.int64)
    counts = np.array([r[1] for r in runs], dtype=np.int64)
    rows, at = ragged_rows(starts, counts)
    expected = [(row, start + i) for row, (start, count) in enumerate(runs) for i in range(count)]
    assert list(zip(rows.tolist(), at.tolist())) == expected


def test_unit_interval_clips_like_np_clip():
    from simulation.model.keyed import unit_interval

    values = np.array([-3.0, -0.0, 0.0, 0.25, 1.0, 7.0, np.nan, np.inf, -np.inf])
    np.testing.assert_array_equal(unit_interval(values), np.clip(values, 0.0, 1.0))
