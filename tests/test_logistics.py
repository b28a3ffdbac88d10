"""The batched truck dispatch matches one simpy request per shipment."""

import numpy as np
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.logistics import dispatch_trucks


def simpy_reference(durations, releases, n_trucks, horizon):
    """One process per job: wait for release, queue FIFO for a truck, drive until done or horizon."""
    env = simpy.Environment()
    fleet = simpy.Resource(env, capacity=n_trucks)
    done = [0.0] * len(durations)

    def job(j):
        yield env.timeout(releases[j])
        with fleet.request() as request:
            yield request
            if env.now >= horizon:
                return
            start = env.now
            yield env.timeout(min(durations[j], horizon - start))
            done[j] = (env.now - start) / durations[j]

    for j in range(len(durations)):
        env.process(job(j))
    env.run(until=horizon + 1)
    return np.array(done)


@settings(max_examples=80, deadline=None)
@given(
    durations=st.lists(st.floats(0.1, 20.0), min_size=0, max_size=40),
    n_trucks=st.integers(1, 6),
)
def test_dispatch_equals_simpy_fifo_fleet(durations, n_trucks):
    releases = [0.0] * len(durations)
    got = dispatch_trucks(durations, releases, n_trucks, 30.0)
    np.testing.assert_allclose(got, simpy_reference(durations, releases, n_trucks, 30.0), atol=1e-9)


def test_no_trucks_moves_nothing():
    assert dispatch_trucks([1.0, 2.0], [0.0, 0.0], 0, 30.0).sum() == 0
