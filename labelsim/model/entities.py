"""Runtime objects of the model: task suites and batches.

These are plain ``__slots__`` classes; the scenario's pydantic models stay the
specification, these hold the mutable state of one run.  Performers' runtime
objects are in :mod:`labelsim.model.performers`.
"""

from __future__ import annotations

import math
from collections import deque

from ..scenario import Batch, Scenario
from ..vocabulary import NEW
from .account import assignment_cost

__all__ = ["MAX_UPLOAD_ITEMS", "BatchRun", "Suite", "build_batches"]

#: The platform takes at most this many items in one upload request; larger uploads are split.
MAX_UPLOAD_ITEMS = 10_000


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
    and the counters by :meth:`~labelsim.model.status.StatusRules.derive`; it is never set directly.
    Counts are in assignments unless named ``items``; money in micro-USD.

    With a price per item (``item_price``: ``(USD per item, fee_rate, min_fee_usd)``), ``cost``
    is the cost of a full suite and ``odd_costs`` holds ``suite id -> (reward, fee)`` of the
    suites with fewer tasks; otherwise ``odd_costs`` is None.
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
        "item_price",
        "items_total",
        "labeled_items",
        "launched",
        "launched_at",
        "loading",
        "loading_end",
        "n_suites",
        "n_upload_requests",
        "name",
        "needed",
        "no_money",
        "odd_costs",
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
        self.n_upload_requests = 0
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
        self.item_price: tuple[float, float, float] | None = None
        self.odd_costs: dict[int, tuple[int, int]] | None = None

    def price_per_item(self, usd: float, fee_rate: float, min_fee: float) -> None:
        """Price the batch per item: a suite of n tasks costs ``assignment_cost(usd × n)``."""
        self.item_price = (usd, fee_rate, min_fee)
        self.odd_costs = {}

    def suite_cost(self, suite: Suite) -> int:
        """The cost of one assignment of ``suite`` (micro-USD)."""
        odd = self.odd_costs
        if odd is None or suite.sid not in odd:
            return self.cost
        reward, fee = odd[suite.sid]
        return reward + fee

    def _priced(self, sid: int, n_tasks: int) -> None:
        if self.item_price is not None and n_tasks != self.tasks_per_suite:
            usd, fee_rate, min_fee = self.item_price
            self.odd_costs[sid] = assignment_cost(usd * n_tasks, fee_rate, min_fee)  # type: ignore[index]

    def add_suite(self, n_tasks: int, now: float) -> None:
        """Put one new suite of ``n_tasks`` items in the pool."""
        if self.item_price is not None:
            self._priced(self.n_suites, n_tasks)
        self.pool.append(Suite(self.n_suites, n_tasks, self.overlap, now))
        self.n_suites += 1
        self.needed += self.overlap
        self.open_slots += self.overlap

    def add_suites(self, n_items: int, now: float) -> list[Suite]:
        """Group ``n_items`` new items into suites and put them in the pool.

        Counts the upload requests they took (at most :data:`MAX_UPLOAD_ITEMS` items each);
        :class:`~labelsim.model.uploads.Uploads` calls this once per request.
        """
        if n_items > 0:
            self.n_upload_requests += -(-n_items // MAX_UPLOAD_ITEMS)
        created = []
        size = self.tasks_per_suite
        while n_items > 0:
            n_tasks = min(size, n_items)
            if self.item_price is not None:
                self._priced(self.n_suites, n_tasks)
            suite = Suite(self.n_suites, n_tasks, self.overlap, now)
            self.n_suites += 1
            self.pool.append(suite)
            created.append(suite)
            n_items -= n_tasks
        self.needed += self.overlap * len(created)
        self.open_slots += self.overlap * len(created)
        return created


def build_batches(scenario: Scenario) -> list[BatchRun]:
    """One :class:`BatchRun` per batch of ``scenario``, in the scenario's order (their index)."""
    account = scenario.account
    batches = []
    for idx, (project, spec) in enumerate(scenario.batches()):
        reward, fee = assignment_cost(spec.suite_reward, account.fee_rate, account.min_fee)
        b = BatchRun(idx, project.name, spec, reward, fee)
        if spec.price_per_item is not None:
            b.price_per_item(spec.price_per_item, account.fee_rate, account.min_fee)
        batches.append(b)
    return batches
