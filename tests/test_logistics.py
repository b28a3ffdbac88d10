"""The batched truck dispatch matches one simpy request per shipment."""

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.model.logistics import Logistics, dispatch_trucks
from simulation.scenario.timeline import DAYS_PER_MONTH


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


@settings(max_examples=150, deadline=None)
@given(
    jobs=st.lists(st.tuples(st.floats(0.1, 20.0), st.sampled_from([0.0, 0.0, 3.5, 12.0, 29.0])), min_size=0, max_size=40),
    n_trucks=st.integers(1, 12),
)
def test_dispatch_equals_simpy_fifo_fleet(jobs, n_trucks):
    # Light and heavy loads: the quick all-done check and the full schedule must both agree with simpy.
    durations = [j[0] for j in jobs]
    releases = sorted(j[1] for j in jobs)  # pipelines open in order, so the queue is in release order
    got = dispatch_trucks(durations, releases, n_trucks, 30.0)
    np.testing.assert_allclose(got, simpy_reference(durations, releases, n_trucks, 30.0), atol=1e-9)


def test_no_trucks_moves_nothing():
    assert dispatch_trucks([1.0, 2.0], [0.0, 0.0], 0, 30.0).sum() == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 5000.0), st.floats(1.0, 300.0), st.sampled_from([0.0, 0.0, 4.0, 17.5, 29.0])),
                max_size=20))
def test_hired_trucks_move_every_part_of_a_shipment_alike(shipments):
    # With trucks hired as needed, a shipment split over several trucks moves as one schedule per part would.
    from simulation.model.logistics import Logistics
    from simulation.scenario.timeline import DAYS_PER_MONTH

    quantities = np.array([q for q, _, _ in shipments])
    km = np.array([d for _, d, _ in shipments])
    start = np.array([s for _, _, s in shipments])
    hired = Logistics(None, truck_payload=25.0, truck_speed_kmh=50.0, handling_hours=2.0, hours_per_day=10.0)
    got = hired.truck_delivery_share(quantities, km, start)
    days = np.ceil(quantities / 25.0) * (2 * km / 50.0 + 2.0) / 10.0
    parts = np.maximum(1, np.ceil(days / DAYS_PER_MONTH)).astype(int)
    for j in range(len(shipments)):
        done = dispatch_trucks([days[j] / parts[j]] * parts[j], [start[j]] * parts[j], None, DAYS_PER_MONTH)
        assert got[j] == pytest.approx(done.mean() if quantities[j] > 0 else 0.0)


class _FixedDraws:
    """Stands in for the model's random streams: every plant asked fails a third into the month, for two months."""

    def stream(self, *name):
        return self

    def random(self, n):
        return np.full(n, 1 / 3)

    def exponential(self, scale, n):
        return np.full(n, 2 * DAYS_PER_MONTH)


def test_uptime_counts_an_outage_in_each_month_it_spans():
    logistics = Logistics(None, 20.0, 60.0, 2.0, 10.0)
    logistics.add_firms(3)
    np.testing.assert_array_equal(logistics.play_period(), np.ones(3))  # a month without outages
    logistics.start_outages(np.array([True, False, False]), 1.0, 0.0, _FixedDraws())
    # Down from a third into this month until a third into the month after next.
    np.testing.assert_allclose(logistics.play_period(), [1 / 3, 1, 1])
    np.testing.assert_allclose(logistics.play_period(), [0, 1, 1], atol=1e-12)
    np.testing.assert_allclose(logistics.play_period(), [2 / 3, 1, 1])
    np.testing.assert_array_equal(logistics.play_period(), np.ones(3))  # repaired: a full month again
    assert logistics.plants_down == 0 and np.isnan(logistics.down_since).all()
