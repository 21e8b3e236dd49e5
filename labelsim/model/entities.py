"""Runtime objects of the model: suites, batches, workers, performer groups.

These are plain ``__slots__`` classes; the scenario's pydantic models stay the
specification, these hold the mutable state of one run.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator

import numpy as np

from ..rng import buffered
from ..scenario import Batch, CrowdGroup, TeamGroup

__all__ = ["BatchRun", "GroupRun", "Suite", "Worker", "zipf_exponent"]

NEW, LOADING, QUEUED, PROCESSING = "New", "Loading", "Queued", "Processing"
COMPLETED, ERROR, CANCELED, NO_MONEY = "Completed", "Error", "Canceled", "No money"
ARCHIVE, STOPPING, STOPPED = "Archive", "Stopping", "Stopped"
#: Statuses that hold lower labeling queues back under the strict policy.
BLOCKING = frozenset({PROCESSING, STOPPING, LOADING})
#: Statuses in which a batch may still change without a requester's action.
ACTIVE = frozenset({LOADING, QUEUED, PROCESSING, STOPPING})


class Suite:
    """One task suite: ``overlap`` assignments by distinct performers label its items.

    ``open`` counts assignments still to hand out (overlap − submitted − in
    flight); ``takers`` holds the performers who already had it (kept only
    where needed: with overlap > 1, or after a suite came back).
    """

    __slots__ = ("available_at", "in_flight", "in_pool", "n_tasks", "open", "sid", "submitted", "takers")

    def __init__(self, sid: int, n_tasks: int, overlap: int, available_at: float) -> None:
        self.sid = sid
        self.n_tasks = n_tasks
        self.open = overlap
        self.submitted = 0
        self.in_flight = 0
        self.takers: set[int] | None = None
        self.available_at = available_at
        self.in_pool = True


class BatchRun:
    """The mutable state of one batch during a run.

    The displayed status is derived from the flags (``launched``, ``paused``…)
    and the counters by :meth:`LabelingModel._derive`; it is never set directly.
    Counts are in assignments unless named ``items``; money in micro-USD.
    """

    __slots__ = (
        "archived",
        "archived_by_project",
        "canceled",
        "completed_at",
        "cost",
        "error",
        "expired",
        "fee",
        "idx",
        "in_flight",
        "items_total",
        "labeled_items",
        "launched",
        "launched_at",
        "loading",
        "loading_end",
        "n_suites",
        "name",
        "needed",
        "no_money",
        "open_slots",
        "overlap",
        "paused",
        "pending_upload",
        "pool",
        "project",
        "queue",
        "reward",
        "skipped",
        "spec",
        "spent",
        "started_at",
        "status",
        "streaming",
        "submitted",
        "tasks_per_suite",
        "time_limit",
        "upload_rate",
    )

    def __init__(self, idx: int, project: str, spec: Batch, reward: int, fee: int) -> None:
        self.idx = idx
        self.project = project
        self.name = spec.name
        self.spec = spec
        self.queue = spec.labeling_queue
        self.overlap = spec.overlap
        self.tasks_per_suite = spec.tasks_per_suite
        self.reward, self.fee, self.cost = reward, fee, reward + fee
        self.time_limit = spec.time_limit
        self.upload_rate = spec.upload_rate
        self.pool: deque[Suite] = deque()
        self.n_suites = 0
        self.items_total = 0
        self.pending_upload = 0
        self.labeled_items = 0
        self.needed = 0
        self.submitted = self.expired = self.skipped = self.in_flight = 0
        self.open_slots = 0
        self.spent = 0
        self.launched = self.paused = self.canceled = self.error = False
        self.archived = self.archived_by_project = self.no_money = False
        self.loading = 0
        self.loading_end = 0.0
        self.streaming = False
        self.status = NEW
        self.launched_at = self.started_at = self.completed_at = math.nan

    def add_suite(self, n_tasks: int, now: float) -> None:
        """Put one new suite of ``n_tasks`` items in the pool."""
        self.pool.append(Suite(self.n_suites, n_tasks, self.overlap, now))
        self.n_suites += 1
        self.needed += self.overlap
        self.open_slots += self.overlap

    def add_suites(self, n_items: int, now: float) -> list[Suite]:
        """Group ``n_items`` new items into suites and put them in the pool."""
        created = []
        size = self.tasks_per_suite
        while n_items > 0:
            n_tasks = min(size, n_items)
            suite = Suite(self.n_suites, n_tasks, self.overlap, now)
            self.n_suites += 1
            self.pool.append(suite)
            created.append(suite)
            n_items -= n_tasks
        self.needed += self.overlap * len(created)
        self.open_slots += self.overlap * len(created)
        return created


class Worker:
    """A performer at work: a team member, or one crowd session of a person.

    ``left`` counts the suites a crowd session may still take.
    """

    __slots__ = ("busy", "group", "left", "on_shift", "pid", "speed")

    def __init__(self, pid: int, group: GroupRun, speed: float, left: int = 0) -> None:
        self.pid = pid
        self.group = group
        self.speed = speed
        self.left = left
        self.on_shift = False
        self.busy = False


def zipf_exponent(population: int, top10_share: float) -> float:
    """The exponent a of weights i^-a under which the top 10 % of people hold ``top10_share``."""
    top = max(1, math.ceil(population * 0.1))
    ranks = np.arange(1, population + 1, dtype=float)

    def share(a: float) -> float:
        weights = ranks**-a
        return float(weights[:top].sum() / weights.sum())

    if share(0.0) >= top10_share:
        return 0.0
    low, high = 0.0, 1.0
    while share(high) < top10_share and high < 64:
        high *= 2
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if share(mid) < top10_share else (low, mid)
    return (low + high) / 2


class GroupRun:
    """A performer group's runtime: its random streams and members.

    Streams (each from its own generator): ``task`` task seconds, ``u``
    uniforms deciding skip/abandon, and for the crowd ``gap`` unit exponentials
    for session arrivals, ``person`` who a session belongs to, ``length`` suites
    per session.
    """

    def __init__(
        self,
        spec: CrowdGroup | TeamGroup,
        base_pid: int,
        generator: callable,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.is_team = spec.kind == "team"
        self.base_pid = base_pid
        self.skip = spec.skip_rate
        self.skip_or_abandon = spec.skip_rate + spec.abandon_rate
        tasks_rng = generator(f"{spec.name}/task-seconds")
        self.task: Iterator[float] = buffered(lambda n: spec.seconds_per_task.sample(tasks_rng, n))
        u_rng = generator(f"{spec.name}/outcomes")
        self.u: Iterator[float] = buffered(lambda n: u_rng.random(n))
        speed_rng = generator(f"{spec.name}/speed")
        size = spec.size if self.is_team else spec.population
        if spec.speed is None:
            self.speeds = [1.0] * size
        else:
            self.speeds = spec.speed.sample(speed_rng, size).tolist()
        self.size = size
        if not self.is_team:
            self._init_crowd(spec, generator)  # type: ignore[arg-type]

    def _init_crowd(self, spec: CrowdGroup, generator: callable) -> None:
        gap_rng = generator(f"{spec.name}/arrivals")
        self.gap: Iterator[float] = buffered(lambda n: gap_rng.exponential(1.0, n), 256)
        weights = np.arange(1, spec.population + 1, dtype=float) ** -zipf_exponent(
            spec.population, spec.top10_share
        )
        cdf = np.cumsum(weights / weights.sum())
        cdf[-1] = 1.0
        person_rng = generator(f"{spec.name}/people")
        self.person: Iterator[float] = buffered(
            lambda n: np.searchsorted(cdf, person_rng.random(n), side="right"), 256
        )
        length_rng = generator(f"{spec.name}/session-length")
        dist = spec.suites_per_session
        self.length: Iterator[float] = buffered(
            lambda n: np.maximum(1, np.rint(dist.sample(length_rng, n))).astype(int), 256
        )
