"""Physical flows in simpy: storage, the park truck fleet, pipelines, outages.

Each model owns one :class:`simpy.Environment` whose clock runs in days. A
decision period (a month) is ``DAYS_PER_MONTH`` days; :meth:`Logistics.play_period`
runs the environment to the period's end. What happens inside is physical only:

* **Outages**: at the start of a period some running plants fail at a random
  moment and stay down for an exponential repair time, possibly into later
  periods. Each outage is a simpy process; the downtime it causes within each
  period is integrated on the simulation clock.
* **Pipeline construction**: a contract that needs a pipeline is a simpy process
  that waits out the construction lead time and then opens the contract, part
  way through a period if that is when the pipe is ready.
* **Trucks**: by default trucks are hired as needed; a scenario may instead give
  the park a fleet (``logistics.fleet_trucks``), a pool of identical trucks served first come,
  first served (oldest contract first). A month's shipment that would keep one
  truck busy longer than the month is split over several trucks. Dispatch is
  computed in one pass per period (list scheduling, :func:`dispatch_trucks`),
  which gives the same start and finish times as one ``simpy.Resource`` request
  per shipment; the tests check that equivalence. Per-shipment processes cost
  about 47 us each here, too slow for thousands of contracts a month.
* **Storage**: :class:`StorageArray` is the vectorised counterpart of one
  ``simpy.Container`` per (firm, waste): a level and a capacity per stream, with
  overflow going to disposal.
"""

import heapq

import numpy as np
import simpy

from simulation.model.columns import Columns
from simulation.model.keyed import unit_interval
from simulation.scenario.timeline import DAYS_PER_MONTH


class StorageArray(Columns):
    """Level (units) and capacity (units) of storage for every supply stream."""

    def __init__(self):
        super().__init__({"level": float, "capacity": float})
        self.emptied = {}  # stream -> stock taken out of a stream that ended, to be disposed of in the next flows


    def grow(self, capacities):
        self.append(len(capacities), capacity=np.asarray(capacities, float))

    def empty(self, stream):
        """Take the stock out of ``stream``, which has ended: it is disposed of in the next month's flows."""
        self.emptied[stream] = self.emptied.get(stream, 0.0) + float(self.level[stream])
        self.level[stream] = 0.0

    def take_emptied(self, n_streams):
        """Stock emptied since the last call, by supply stream (units), to be disposed of now."""
        forced = np.zeros(n_streams)
        if self.emptied:
            forced[list(self.emptied)] = list(self.emptied.values())
            self.emptied = {}
        return forced


def dispatch_trucks(durations, releases, n_trucks, horizon):
    """First-come-first-served list scheduling of truck jobs on ``n_trucks`` trucks.

    ``durations`` (days) and ``releases`` (earliest start, days from the period
    start) are in queue order; ``n_trucks`` None means trucks are hired as
    needed, so every job starts at its release. Returns the share of each job
    done by ``horizon``.
    """
    durations, releases = np.asarray(durations, float), np.asarray(releases, float)
    if n_trucks is None:
        return _share_done(releases, durations, horizon)
    done = np.zeros(len(durations))
    if n_trucks <= 0 or len(durations) == 0:
        return done
    # After the latest release so far, some truck is free within the average load
    # of the jobs before; when every job finishes by the horizon even at that
    # bound, all are done and nothing needs scheduling.
    latest_start = np.maximum.accumulate(releases) + np.r_[0.0, np.cumsum(durations)[:-1]] / n_trucks
    if (latest_start + durations <= horizon).all():
        return np.ones(len(durations))
    # The first n_trucks jobs each find a free truck at their release.
    first = min(n_trucks, len(durations))
    start = releases[:first]
    done[:first] = _share_done(start, durations[:first], horizon)
    free_at = np.minimum(start + durations[:first], horizon).tolist() + [0.0] * (n_trucks - first)
    heapq.heapify(free_at)
    for j, (duration, release) in enumerate(zip(durations[first:].tolist(), releases[first:].tolist()), start=first):
        begin = max(heapq.heappop(free_at), release)
        if begin >= horizon:
            heapq.heappush(free_at, begin)
            continue
        finish = min(begin + duration, horizon)
        done[j] = (finish - begin) / duration if duration > 0 else 1.0
        heapq.heappush(free_at, finish)
    return done


def _share_done(start, durations, horizon):
    worked = np.minimum(np.maximum(horizon - start, 0.0), durations)  # np.clip, without its Python-level dispatch
    return np.divide(worked, durations, out=np.ones(len(durations)), where=durations > 0)


class Logistics:
    """The physical side of the park: one simpy environment, clock in days."""

    def __init__(self, n_trucks, truck_payload, truck_speed_kmh, handling_hours, hours_per_day):
        self.env = simpy.Environment()
        self.storage = StorageArray()
        self.n_trucks = n_trucks
        self.truck_payload = truck_payload
        self.truck_speed_kmh = truck_speed_kmh
        self.handling_hours = handling_hours
        self.hours_per_day = hours_per_day
        self.down_since = np.zeros(0)  # day a plant went down; nan when running
        self.downtime = np.zeros(0)  # days down in the current period (index: firm)
        self.plants_down = 0  # plants failed and not yet repaired
        self._repaired = False  # a repair booked downtime in the current period
        self._built = []  # (contract id, day) of pipelines finished and not yet taken
        self._period_began = 0.0

    def add_firms(self, n):
        self.down_since = np.concatenate([self.down_since, np.full(n, np.nan)])
        self.downtime = np.concatenate([self.downtime, np.zeros(n)])

    @property
    def period_start(self):
        return self.env.now

    # -- outages ---------------------------------------------------------------
    def start_outages(self, running, rate, mean_repair_days, streams):
        """Draw this period's failures among ``running`` plants and start their processes.

        ``streams`` is the model's :class:`~simulation.model.chance.RandomStreams`. Draws (failure, its day, its
        repair time) are made for every plant, running or not, so which plants fail, when and for how long does not
        depend on how many others are running.
        """
        n = len(running)
        draw = streams.stream("outages").random(n)
        repair = streams.stream("repairs")
        offsets, repairs = repair.random(n) * DAYS_PER_MONTH, repair.exponential(mean_repair_days, n)
        fails = ((draw < rate) & running & np.isnan(self.down_since)).nonzero()[0]
        for firm, offset, repair in zip(fails.tolist(), offsets[fails].tolist(), repairs[fails].tolist()):
            self.env.process(self._outage(firm, offset, repair))

    def _outage(self, firm, offset, repair_days):
        yield self.env.timeout(offset)
        self.down_since[firm] = self.env.now
        self.plants_down += 1
        yield self.env.timeout(repair_days)
        self.downtime[firm] += self.env.now - max(self.down_since[firm], self._period_began)
        self.down_since[firm] = np.nan
        self.plants_down -= 1
        self._repaired = True

    # -- pipelines -------------------------------------------------------------
    def build_pipeline(self, contract_id, lead_days):
        """Build the pipe of ``contract_id`` in ``lead_days``; :meth:`take_built` then lists it with its day."""
        self.env.process(self._construction(contract_id, lead_days))

    def _construction(self, contract_id, lead_days):
        yield self.env.timeout(lead_days)
        self._built.append((contract_id, self.env.now))

    def take_built(self):
        """(contract id, day) of the pipelines finished since the last call, in the order they were finished."""
        built, self._built = self._built, []
        return built

    # -- the period ------------------------------------------------------------
    def play_period(self):
        """Run the environment through one period; returns the uptime share per plant."""
        self._period_began = self.env.now
        self._repaired = False
        end = self.env.now + DAYS_PER_MONTH
        self.env.run(until=end)
        if self.plants_down == 0 and not self._repaired:  # the usual month: every plant ran throughout
            return np.ones(len(self.downtime))
        still_down = ~np.isnan(self.down_since)
        self.downtime[still_down] += end - np.maximum(self.down_since[still_down], self._period_began)
        uptime = 1.0 - unit_interval(self.downtime / DAYS_PER_MONTH)
        self.downtime[:] = 0.0  # zero again for the next period, into which a repair may book
        return uptime

    def truck_delivery_share(self, quantities, distances_km, active_from_days):
        """Share of each truck contract's planned quantity the fleet moves this period.

        Arguments are in queue order (oldest contract first); days are measured
        from the start of the period that has just been played.
        """
        trips = np.ceil(quantities / self.truck_payload)
        trip_days = (2 * distances_km / self.truck_speed_kmh + self.handling_hours) / self.hours_per_day
        total_days = trips * trip_days
        # A shipment needing more than a month of one truck is split over several trucks.
        parts = np.maximum(1, np.ceil(total_days / DAYS_PER_MONTH)).astype(np.int64)
        if self.n_trucks is None:  # hired trucks: the parts of a shipment all start at its release, so all go alike
            return dispatch_trucks(total_days / parts, active_from_days, None, DAYS_PER_MONTH) * (quantities > 0)  # shares >= 0
        owner = np.arange(len(quantities)).repeat(parts)
        job_days = (total_days / parts).repeat(parts)
        job_release = active_from_days.repeat(parts)
        done = dispatch_trucks(job_days, job_release, self.n_trucks, DAYS_PER_MONTH)
        share = np.bincount(owner, weights=done, minlength=len(quantities)) / np.maximum(parts, 1)
        return share * (quantities > 0)  # shares >= 0
