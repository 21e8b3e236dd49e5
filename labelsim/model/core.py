"""The labeling platform as a discrete-event model on SimPy's clock.

Design (see the README's "How the model works"):

- SimPy provides the clock and the event list.  Every timed thing is a plain
  callback event (:class:`_Call`): an assignment ending, a crowd session
  arriving, an item uploaded, a shift starting, a requester's action.  No
  process per performer or per item, and no SimPy resource: batches keep their
  own FIFO pools of suites (a deque each) and idle team members wait in an
  insertion-ordered dict, so handing out work is O(1) in the common case.
- A batch's displayed status is *derived* from its flags and counters
  (:meth:`LabelingModel._derive`), never assigned, and recomputed for all
  batches (in labeling-queue order) whenever something that can change a status
  happens.  The transitions it produces are recorded and must follow
  :data:`~labelsim.model.records.ALLOWED_TRANSITIONS`.
- Money is integer micro-USD: the cost of an assignment is reserved when it is
  taken (price locked), charged when it is submitted, released when it expires
  or is skipped.
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections.abc import Callable
from itertools import islice

import simpy
from simpy.core import NORMAL
from simpy.events import Event

from ..calendar import WEEKDAYS, rate_segments, shift_intervals
from ..rng import RandomStreams, buffered
from ..scenario import Scenario
from ..units import usd_to_micro
from .entities import (
    ACTIVE,
    ARCHIVE,
    BLOCKING,
    CANCELED,
    COMPLETED,
    ERROR,
    LOADING,
    NEW,
    NO_MONEY,
    PROCESSING,
    QUEUED,
    STOPPED,
    STOPPING,
    BatchRun,
    GroupRun,
    Suite,
    Worker,
)
from .records import ABANDONED, EXPIRED, IN_FLIGHT, SKIPPED, SUBMITTED, RawRun

__all__ = ["LabelingModel", "run_model"]

#: Performer id of assignments that were in flight before the scenario start.
BEFORE_START = -1
ProgressCallback = Callable[[float], None]


class _Call(Event):
    """A callback event: ``fn(event)`` runs ``delay`` seconds from now; payload in ``_value``."""

    def __init__(self, env: simpy.Environment, delay: float, fn: Callable, value: object = None) -> None:
        self.env = env
        self.callbacks = [fn]
        self._value = value
        self._ok = True
        env.schedule(self, NORMAL, delay)


class _StreamState:
    """A batch's item stream: inter-arrival gaps, end time, items left, last arrival time."""

    __slots__ = ("batch", "gaps", "left", "t", "until")

    def __init__(self, batch: BatchRun, gaps: object, until: float, left: float, t: float) -> None:
        self.batch, self.gaps, self.until, self.left, self.t = batch, gaps, until, left, t


class _AssignmentEnd(_Call):
    """The end of an assignment; payload ``(worker, suite, batch, available_s, reserved_s, outcome, cost)``."""


class LabelingModel:
    """One run of a scenario.  Build it, call :meth:`run`, read the :class:`RawRun`.

    Args:
        scenario: a validated scenario.
        streams: the run's random streams.
        until_s: stop at this many seconds instead of the scenario horizon.
        progress: called with the fraction of the horizon simulated (0..1),
            every progress sample; for progress bars.
    """

    def __init__(
        self,
        scenario: Scenario,
        streams: RandomStreams,
        *,
        until_s: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.scenario = scenario
        self.streams = streams
        self.horizon = float(until_s if until_s is not None else scenario.horizon)
        self.progress_cb = progress
        self.env = simpy.Environment()
        policy = scenario.policy
        self.strict = policy.queue == "strict"
        self.parallel = policy.same_queue == "parallel"
        self.full_cost = policy.money == "require_full_cost"
        self.resume_on_top_up = policy.resume_on_top_up
        account = scenario.account
        self.balance = usd_to_micro(account.balance)
        self.reserved = 0
        self.opening_balance = self.balance
        # records
        self.status_log: list[tuple[float, int, str]] = []
        self.records = array("d")  # RECORD_FIELDS per assignment, flat: no object per row
        self.seq = itertools.count(1)  # orders money movements within an instant
        self.progress: list[tuple[float, int, int, int, int]] = []
        self.top_ups: list[tuple[float, int]] = []
        self.top_up_seq: list[int] = []
        self.warnings: list[tuple[float, str, str, str]] = []
        self.sessions: dict[int, int] = {}
        self.performer_names: dict[int, str] = {BEFORE_START: "(before start)"}
        self.performer_groups: dict[int, str] = {BEFORE_START: "(before start)"}
        # state
        self.batches = self._build_batches()
        self.projects_archived = {p.name: p.status == "archive" for p in scenario.projects}
        self.by_queue = sorted(self.batches, key=lambda b: (b.queue, b.idx))
        self.groups_offer: list[list[BatchRun]] = []
        self.max_cost = 0
        self.idle: dict[Worker, None] = {}
        self.in_session: set[int] = set()  # crowd people in a session now
        self.before_start = Worker(BEFORE_START, None, 1.0)  # type: ignore[arg-type]  # holds pre-start work
        self.rr = 0
        self.pending = 0  # scheduled scenario actions not yet done
        self._updating = False
        self._dirty = False
        self.stop_reason = "horizon"
        self.finished = self.env.event()
        self.groups = self._build_groups()

    # ------------------------------------------------------------------ set-up

    def _build_batches(self) -> list[BatchRun]:
        fee_rate = self.scenario.account.fee_rate
        min_fee = usd_to_micro(self.scenario.account.min_fee)
        batches = []
        for idx, (project, spec) in enumerate(self.scenario.batches()):
            reward = usd_to_micro(spec.reward)
            fee = max(usd_to_micro(spec.reward * fee_rate), min_fee)
            batches.append(BatchRun(idx, project.name, spec, reward, fee))
        return batches

    def _build_groups(self) -> list[GroupRun]:
        groups, base = [], 0
        for spec in self.scenario.performers:
            group = GroupRun(spec, base, self.streams.generator)
            groups.append(group)
            base += group.size
        return groups

    def _schedule(self, at_s: float, fn: Callable, value: object = None) -> None:
        """Schedule a requester action ``fn`` at ``at_s`` (ignored beyond the horizon); count it as pending."""
        if at_s > self.horizon:
            return
        self.pending += 1
        _Call(self.env, max(0.0, at_s - self.env.now), fn, value)

    def _setup(self) -> None:
        scenario = self.scenario
        for b in self.batches:
            self._setup_batch(b)
        self._reserve_opening()
        for top_up in scenario.account.top_ups:
            self._schedule(scenario.offset_s(top_up.at), self._on_top_up, usd_to_micro(top_up.amount))
        for event in scenario.events:
            self._schedule(scenario.offset_s(event.at), self._on_action, event)
        for group in self.groups:
            if group.is_team:
                self._setup_team(group)
            else:
                self._setup_crowd(group)
        self._initial_statuses()
        self._sample_progress(None)
        _Call(self.env, self.horizon, self._on_horizon)

    def _initial_statuses(self) -> None:
        """Derive every batch's status at the start (without recording a transition)."""
        for b in self.by_queue:
            b.status = self._derive(b)
            state = b.spec.state
            if state is not None and state.status != b.status:
                self._warn(0.0, "state", b.name,
                           f"state.status is {state.status} but the platform's rules give {b.status}")
            self.status_log.append((0.0, b.idx, b.status))
        self.status_log.sort(key=lambda row: row[1])
        self._rebuild_offer()

    def _setup_batch(self, b: BatchRun) -> None:
        spec, state = b.spec, b.spec.state
        b.items_total = spec.items
        labeled = state.labeled_items if state is not None else 0
        unlabeled = spec.items - labeled
        if labeled:
            done_suites = math.ceil(labeled / b.tasks_per_suite)
            b.labeled_items = labeled
            b.needed += done_suites * b.overlap
            b.submitted += done_suites * b.overlap
        if b.upload_rate is not None and (state is None or state.status in (NEW, LOADING)):
            b.pending_upload = unlabeled
        else:
            b.add_suites(unlabeled, 0.0)
        if self.projects_archived[b.project]:
            b.archived = b.archived_by_project = True
        if state is not None:
            self._apply_state(b)
        if spec.launch_at is not None:
            self._schedule(self.scenario.offset_s(spec.launch_at), self._on_launch_at, b)
        if spec.stream is not None:
            self._setup_stream(b)

    def _apply_state(self, b: BatchRun) -> None:
        state = b.spec.state
        assert state is not None
        status = state.status
        if status != NEW:
            b.launched = True  # launched_at stays unknown (before the start)
        b.paused = status in (STOPPING, STOPPED)
        b.no_money = status == NO_MONEY
        b.canceled = status == CANCELED
        b.error = status == ERROR
        if status == ARCHIVE:
            b.archived = True
            b.paused = b.labeled_items < b.items_total
        if status == LOADING:
            n, b.pending_upload = b.pending_upload, 0
            self._upload(b, n)
        extra = (state.submitted or 0) - b.submitted
        for suite in b.pool:
            if extra <= 0:
                break
            done = min(b.overlap - 1, extra)
            suite.submitted += done
            suite.open -= done
            b.submitted += done
            b.open_slots -= done
            extra -= done
        rng = self.streams.generator(f"state/{b.project}/{b.name}")
        for _ in range(state.in_flight):
            suite = self._first_open(b, BEFORE_START)
            if suite is None:
                break
            delay = float(rng.uniform(0.0, b.time_limit))
            self._start(self.before_start, b, suite, SUBMITTED, delay)

    def _reserve_opening(self) -> None:
        implied = self.reserved
        given = self.scenario.account.reserved
        if given is not None:
            given_micro = usd_to_micro(given)
            if given_micro < implied:
                self._warn(0.0, "state", "account",
                           f"account.reserved ({given}) is below the cost of the in-flight "
                           f"assignments ({implied / 1e6:.6f}); using the latter")
            else:
                self.reserved = given_micro
        if self.reserved > self.balance:
            self._warn(0.0, "state", "account", "reserved money exceeds the balance")
        self.opening_reserved = self.reserved

    def _setup_stream(self, b: BatchRun) -> None:
        stream = b.spec.stream
        assert stream is not None
        rng = self.streams.generator(f"stream/{b.project}/{b.name}")
        gaps = buffered(lambda n: rng.exponential(1.0 / stream.rate, n))
        start = self.scenario.offset_s(stream.start)
        until = self.scenario.offset_s(stream.until) if stream.until is not None else math.inf
        b.streaming = True
        state = _StreamState(b, gaps, until, stream.items or math.inf, start)
        self.pending += 1  # the stream itself, until it ends
        self._next_suite(state, 0.0)

    def _setup_team(self, group: GroupRun) -> None:
        spec = group.spec
        if spec.shifts is None:
            intervals = [(0.0, math.inf)]
        else:
            shifts = [(frozenset(WEEKDAYS.index(d) for d in s.days), s.start, s.end) for s in spec.shifts]
            intervals = shift_intervals(self.scenario.start, self.scenario.tz, self.horizon, shifts)
        for i in range(group.size):
            pid = group.base_pid + i
            worker = Worker(pid, group, group.speeds[i])
            self.performer_names[pid] = f"{group.name}-{i + 1}"
            self.performer_groups[pid] = group.name
            self.sessions[pid] = 0
            for on, off in intervals:
                _Call(self.env, on, self._on_shift_start, worker)
                if off < math.inf:
                    _Call(self.env, off, self._on_shift_end, worker)

    def _setup_crowd(self, group: GroupRun) -> None:
        spec = group.spec
        hourly, weekly = spec.activity.hourly, spec.activity.weekly
        group.segments = rate_segments(
            self.scenario.start, self.scenario.tz, self.horizon,
            spec.sessions_per_hour / 3600.0, hourly, weekly,
        )
        group.segment = 0
        self._next_session(group, 0.0)

    # ------------------------------------------------------------------ running

    def run(self) -> RawRun:
        """Simulate until nothing can change any more or the horizon; return the records."""
        self._setup()
        self._check_settled()
        self.env.run(until=self.finished)
        return self._collect()

    def _on_horizon(self, _event: Event) -> None:
        if not self.finished.triggered:
            self.stop_reason = "horizon"
            self.finished.succeed()

    def _check_settled(self) -> None:
        """Stop early when no batch can change without an action and none is scheduled."""
        if self.pending or self.finished.triggered:
            return
        for b in self.batches:
            if b.in_flight or b.loading or b.streaming or b.status in ACTIVE:
                return
        self.stop_reason = "settled"
        self.finished.succeed()

    # ------------------------------------------------------------------ statuses

    def _derive(self, b: BatchRun) -> str:
        """The status ``b`` shows now (batches of higher queues already derived)."""
        if b.archived:
            return ARCHIVE
        if not b.launched:
            return NEW
        if b.canceled:
            return CANCELED
        if b.error:
            return ERROR
        if not b.loading and not b.streaming and b.submitted == b.needed and not b.in_flight:
            return COMPLETED
        if b.paused:
            return STOPPING if b.in_flight else STOPPED
        if b.loading:
            return LOADING
        if self.strict and self._blocked(b):
            return QUEUED
        if not b.no_money and b.status is not PROCESSING and not self._can_start(b):
            b.no_money = True
        return NO_MONEY if b.no_money else PROCESSING

    def _blocked(self, b: BatchRun) -> bool:
        queue = b.queue
        for other in self.by_queue:
            if other.queue >= queue:
                return False
            if other.status in BLOCKING:
                return True
        return False

    def _can_start(self, b: BatchRun) -> bool:
        """Money check when ``b`` would enter Processing."""
        available = self.balance - self.reserved
        if b.open_slots and available < b.cost:
            return False
        if self.full_cost:
            remaining = (b.needed - b.submitted - b.in_flight) * b.cost
            return available >= remaining
        return True

    def _update(self) -> None:
        """Recompute every batch's status; offer work of batches that became Processing."""
        if self._updating:
            self._dirty = True
            return
        self._updating = True
        try:
            while True:
                self._dirty = False
                entered = []
                for b in self.by_queue:
                    status = self._derive(b)
                    if status is not b.status:
                        self._set_status(b, status)
                        if status is PROCESSING:
                            entered.append(b)
                self._rebuild_offer()
                for b in entered:
                    self._offer(b)
                if not self._dirty:
                    break
        finally:
            self._updating = False
        self._check_settled()

    def _set_status(self, b: BatchRun, status: str) -> None:
        now = self.env.now
        b.status = status
        self.status_log.append((now, b.idx, status))
        if status is PROCESSING and math.isnan(b.started_at):
            b.started_at = now
        if status is COMPLETED and math.isnan(b.completed_at):
            b.completed_at = now

    def _rebuild_offer(self) -> None:
        groups: list[list[BatchRun]] = []
        self.max_cost = 0
        for b in self.by_queue:
            if b.status is PROCESSING:
                if groups and groups[-1][0].queue == b.queue:
                    groups[-1].append(b)
                else:
                    groups.append([b])
                self.max_cost = max(self.max_cost, b.cost)
        self.groups_offer = groups

    def _money_check(self) -> None:
        """After money was reserved: Processing batches that cannot pay their next assignment stop."""
        available = self.balance - self.reserved
        hit = False
        for group in self.groups_offer:
            for b in group:
                if b.open_slots and available < b.cost:
                    b.no_money = True
                    hit = True
        if hit:
            self._update()

    # ------------------------------------------------------------------ handing out work

    def _first_open(self, b: BatchRun, pid: int) -> Suite | None:
        """The oldest suite of ``b`` that performer ``pid`` may take, or None."""
        for suite in b.pool:
            if suite.open and (suite.takers is None or pid not in suite.takers):
                return suite
        return None

    def _next_work(self, w: Worker) -> bool:
        """Give ``w`` the highest-priority suite it may take; False if there is none."""
        for group in self.groups_offer:
            if len(group) == 1:
                b = group[0]
                if b.open_slots and self._try_take(w, b):
                    return True
            else:
                for b in self._same_queue_order(group):
                    if b.open_slots and self._try_take(w, b):
                        return True
        return False

    def _same_queue_order(self, group: list[BatchRun]) -> list[BatchRun]:
        if self.parallel:
            self.rr += 1
            k = self.rr % len(group)
            return group[k:] + group[:k]
        return sorted(group, key=lambda b: (b.items_total - b.labeled_items, b.idx))

    def _try_take(self, w: Worker, b: BatchRun) -> bool:
        pool = b.pool
        if not pool:
            return False
        suite = pool[0]  # the pool's head is usually open: the fast path
        if not suite.open or (suite.takers is not None and w.pid in suite.takers):
            suite = self._first_open(b, w.pid)
            if suite is None:
                return False
        if self.balance - self.reserved < b.cost:
            b.no_money = True
            self._update()
            return False
        group = w.group
        u = next(group.u)
        if u < group.skip:
            outcome, delay = SKIPPED, 0.0
        elif u < group.skip_or_abandon:
            outcome, delay = ABANDONED, b.time_limit
        else:
            tasks = suite.n_tasks
            work = (next(group.task) if tasks == 1 else math.fsum(islice(group.task, tasks))) * w.speed
            if work > b.time_limit:
                outcome, delay = EXPIRED, b.time_limit
            else:
                outcome, delay = SUBMITTED, work
        self._start(w, b, suite, outcome, delay)
        if self.balance - self.reserved < self.max_cost:
            self._money_check()
        return True

    def _start(self, w: Worker, b: BatchRun, suite: Suite, outcome: int, delay: float) -> None:
        """Reserve ``suite`` for ``w`` and schedule the assignment's end."""
        suite.open -= 1
        b.open_slots -= 1
        if b.overlap > 1 and w.pid != BEFORE_START:  # unknown earlier performers are not recorded
            if suite.takers is None:
                suite.takers = {w.pid}
            else:
                suite.takers.add(w.pid)
        if not suite.open:
            pool = b.pool
            while pool and not pool[0].open:
                pool.popleft().in_pool = False
        suite.in_flight += 1
        b.in_flight += 1
        self.reserved += b.cost
        w.busy = True
        self.idle.pop(w, None)
        now = self.env.now
        payload = (w, suite, b, suite.available_at, now, outcome, b.cost, next(self.seq))
        _AssignmentEnd(self.env, delay, self._on_end, payload)

    def _on_end(self, event: Event) -> None:
        w, suite, b, available_at, reserved_at, outcome, cost, reserve_seq = event._value
        now = self.env.now
        b.in_flight -= 1
        suite.in_flight -= 1
        self.reserved -= cost
        if outcome == SUBMITTED:
            self.balance -= cost
            b.spent += cost
            suite.submitted += 1
            b.submitted += 1
            if suite.submitted == b.overlap:
                b.labeled_items += suite.n_tasks
        else:
            self._return_suite(w, b, suite, outcome, now)
        self.records.extend(
            (b.idx, suite.sid, w.pid, available_at, reserved_at, now, outcome, reserve_seq, next(self.seq))
        )
        if not b.in_flight and (
            b.status is not PROCESSING or (b.submitted == b.needed and not b.streaming and not b.loading)
        ):
            self._update()
        w.busy = False
        group = w.group
        if group is None:  # in flight before the start
            return
        if group.is_team:
            if w.on_shift and not self._next_work(w):
                self.idle[w] = None
            return
        w.left -= 1
        if not (w.left > 0 and outcome != ABANDONED and self._next_work(w)):
            self.in_session.discard(w.pid)  # the session ends

    def _return_suite(self, w: Worker, b: BatchRun, suite: Suite, outcome: int, now: float) -> None:
        """An expired or skipped suite goes back to the pool (never to the same performer)."""
        if outcome == SKIPPED:
            b.skipped += 1
        else:
            b.expired += 1
        suite.open += 1
        b.open_slots += 1
        if suite.takers is None:
            suite.takers = {w.pid}
        else:
            suite.takers.add(w.pid)
        suite.available_at = now
        if not suite.in_pool:
            suite.in_pool = True
            b.pool.append(suite)
        if b.status is PROCESSING:
            self._offer(b)

    def _offer(self, b: BatchRun) -> None:
        """Offer ``b``'s open suites to idle team members (longest idle first)."""
        idle = self.idle
        if not idle or not b.open_slots:
            return
        if self._try_take(next(iter(idle)), b) and (not idle or not b.open_slots):
            return  # the common case: one new suite, one idle member
        for w in list(idle):
            if b.status is not PROCESSING or not b.open_slots:
                return
            if w in idle:  # a nested status update may have put w to work already
                self._try_take(w, b)

    def _new_work(self, b: BatchRun) -> None:
        """New suites arrived in ``b``: stop it if it cannot pay, else offer them to idle members."""
        if b.status is PROCESSING:
            if self.balance - self.reserved < b.cost:
                b.no_money = True
                self._update()
                return
            self._offer(b)

    # ------------------------------------------------------------------ performers

    def _on_shift_start(self, event: Event) -> None:
        w: Worker = event._value
        w.on_shift = True
        if not w.busy and not self._next_work(w):
            self.idle[w] = None

    def _on_shift_end(self, event: Event) -> None:
        w: Worker = event._value
        w.on_shift = False
        self.idle.pop(w, None)

    def _next_session(self, group: GroupRun, now: float) -> None:
        """Schedule the group's next session (non-homogeneous Poisson, by inversion)."""
        need = next(group.gap)
        segments, k, t = group.segments, group.segment, now
        while k < len(segments):
            t0, t1, rate = segments[k]
            t = max(t, t0)
            if rate > 0 and rate * (t1 - t) >= need:
                group.segment = k
                _Call(self.env, t + need / rate - now, self._on_session, group)
                return
            need -= rate * (t1 - t)
            k += 1
        group.segment = k

    def _on_session(self, event: Event) -> None:
        group: GroupRun = event._value
        person = self._free_person(group)
        pid = group.base_pid + person
        if pid not in self.performer_names:
            width = len(str(group.size))
            self.performer_names[pid] = f"{group.name}-{person + 1:0{width}d}"
            self.performer_groups[pid] = group.name
            self.sessions[pid] = 0
        self.sessions[pid] += 1
        length = next(group.length)
        if self.groups_offer:  # else nothing is offered: the session ends at once
            worker = Worker(pid, group, group.speeds[person], length)
            if self._next_work(worker):
                self.in_session.add(pid)
        self._next_session(group, self.env.now)

    def _free_person(self, group: GroupRun, tries: int = 20) -> int:
        """Who a new session belongs to: a person of the group not in a session already.

        People are drawn by activity; one who is mid-session is drawn again (up to
        ``tries`` times; then, rarely, a person gets a second session at once).
        """
        for _ in range(tries):
            person = next(group.person)
            if group.base_pid + person not in self.in_session:
                return person
        return person

    # ------------------------------------------------------------------ uploads

    def _next_suite(self, state: _StreamState, now: float) -> None:
        """Schedule when the stream completes its next suite (one event per suite, not per item).

        Items arrive at the times of the Poisson stream; they join the batch as a
        suite when the suite's last item arrives.  Items after ``until`` never
        arrive; those before it that do not fill a suite join at ``until``.
        """
        b = state.batch
        size = b.tasks_per_suite if state.left >= b.tasks_per_suite else int(state.left)
        t, arrived, gaps, until = state.t, 0, state.gaps, state.until
        while arrived < size:
            t_next = t + next(gaps)
            if t_next > until:
                _Call(self.env, until - now, self._on_stream_end, (state, arrived))
                return
            t, arrived = t_next, arrived + 1
        state.t = t
        _Call(self.env, t - now, self._on_stream_suite, state)

    def _on_stream_suite(self, event: Event) -> None:
        state: _StreamState = event._value
        b = state.batch
        now = self.env.now
        n = b.tasks_per_suite if state.left >= b.tasks_per_suite else int(state.left)
        self._stream_items(b, n, now)
        state.left -= n
        if state.left <= 0:
            self._end_stream(b)
        else:
            self._next_suite(state, now)

    def _stream_items(self, b: BatchRun, n: int, now: float) -> None:
        b.items_total += n
        b.add_suite(n, now)
        if b.status is PROCESSING and (self.idle or self.balance - self.reserved < b.cost):
            self._new_work(b)

    def _on_stream_end(self, event: Event) -> None:
        state, partial = event._value
        if partial:
            self._stream_items(state.batch, partial, self.env.now)
        self._end_stream(state.batch)

    def _end_stream(self, b: BatchRun) -> None:
        b.streaming = False
        self.pending -= 1
        self._update()

    def _upload(self, b: BatchRun, n_items: int) -> None:
        """Upload ``n_items`` (already counted in ``items_total``): at once, or over
        time at the batch's upload rate, during which the batch is Loading."""
        if n_items <= 0:
            return
        now = self.env.now
        if b.upload_rate is None:
            b.add_suites(n_items, now)
            self._new_work(b)
            return
        b.loading += 1
        start = max(now, b.loading_end)
        b.loading_end = start + n_items / b.upload_rate
        self.pending += 1
        _Call(self.env, b.loading_end - now, self._on_loaded, (b, n_items))

    def _on_loaded(self, event: Event) -> None:
        b, n_items = event._value
        b.add_suites(n_items, self.env.now)
        b.loading -= 1
        self.pending -= 1
        self._update()

    # ------------------------------------------------------------------ money

    def _on_top_up(self, event: Event) -> None:
        self.pending -= 1
        self._add_money(event._value)
        self._update()

    def _add_money(self, amount: int) -> None:
        """A top-up of ``amount`` micro-USD; No money batches resume if the policy says so."""
        self.balance += amount
        self.top_ups.append((self.env.now, amount))
        self.top_up_seq.append(next(self.seq))
        if self.resume_on_top_up:
            for b in self.batches:
                b.no_money = False

    # ------------------------------------------------------------------ requester actions

    def _warn(self, at: float, action: str, target: str, message: str) -> None:
        self.warnings.append((at, action, target, message))

    def _on_launch_at(self, event: Event) -> None:
        b: BatchRun = event._value
        self.pending -= 1
        self._launch(b, "launch_at")
        self._update()

    def _launch(self, b: BatchRun, action: str) -> None:
        if b.status is not NEW:
            self._warn(self.env.now, action, b.name, f"refused: the batch is {b.status}, not New")
            return
        if self.projects_archived[b.project]:
            self._warn(self.env.now, action, b.name, f"refused: project {b.project} is archived")
            return
        now = self.env.now
        b.launched = True
        b.launched_at = now
        for suite in b.pool:
            suite.available_at = now
        if b.pending_upload:
            n, b.pending_upload = b.pending_upload, 0
            self._upload(b, n)

    def _on_action(self, event: Event) -> None:
        action = event._value
        self.pending -= 1
        name = action.action
        if name == "top_up":
            self._add_money(usd_to_micro(action.top_up))
        elif name in ("archive_project", "unarchive_project"):
            self._project_action(name, action.target)
        else:
            project, spec = self.scenario.find_batch(action.target)
            b = next(x for x in self.batches if x.spec is spec and x.project == project.name)
            getattr(self, f"_do_{name}")(b, action)
        self._update()

    def _refuse(self, b: BatchRun, action: str, allowed: tuple[str, ...]) -> bool:
        """Warn and return True unless ``b``'s status is one of ``allowed``."""
        if b.status in allowed:
            return False
        self._warn(self.env.now, action, b.name, f"refused: the batch is {b.status}")
        return True

    def _do_launch(self, b: BatchRun, _action: object) -> None:
        self._launch(b, "launch")

    def _do_pause(self, b: BatchRun, _action: object) -> None:
        if not self._refuse(b, "pause", (LOADING, QUEUED, PROCESSING, NO_MONEY)):
            b.paused = True

    def _do_resume(self, b: BatchRun, _action: object) -> None:
        if not self._refuse(b, "resume", (STOPPING, STOPPED, NO_MONEY)):
            b.paused = False
            b.no_money = False

    def _do_cancel(self, b: BatchRun, _action: object) -> None:
        if not self._refuse(b, "cancel", (LOADING, QUEUED, PROCESSING, NO_MONEY, STOPPING, STOPPED)):
            b.canceled = True

    def _do_fail(self, b: BatchRun, _action: object) -> None:
        if not self._refuse(b, "fail", (LOADING, QUEUED, PROCESSING, NO_MONEY, STOPPING, STOPPED)):
            b.error = True

    def _do_archive(self, b: BatchRun, _action: object) -> None:
        if b.status is PROCESSING or b.status is ARCHIVE:
            self._warn(self.env.now, "archive", b.name, f"refused: the batch is {b.status}")
            return
        b.archived = True

    def _do_unarchive(self, b: BatchRun, _action: object) -> None:
        if self._refuse(b, "unarchive", (ARCHIVE,)):
            return
        if self.projects_archived[b.project]:
            self._warn(self.env.now, "unarchive", b.name, f"refused: project {b.project} is archived")
            return
        b.archived = b.archived_by_project = False

    def _do_set_queue(self, b: BatchRun, action: object) -> None:
        if b.status is ARCHIVE:
            self._warn(self.env.now, "set_queue", b.name, "refused: the batch is Archive")
            return
        b.queue = action.set_queue.queue  # type: ignore[attr-defined]
        self.by_queue.sort(key=lambda x: (x.queue, x.idx))

    def _do_add_items(self, b: BatchRun, action: object) -> None:
        if b.status in (COMPLETED, CANCELED, ERROR, ARCHIVE) or self.projects_archived[b.project]:
            archived = self.projects_archived[b.project]
            why = f"project {b.project} is archived" if archived else f"the batch is {b.status}"
            self._warn(self.env.now, "add_items", b.name, f"refused: {why}")
            return
        n = action.add_items.items  # type: ignore[attr-defined]
        b.items_total += n
        if b.upload_rate is not None and not b.launched:
            b.pending_upload += n  # uploaded at launch
        else:
            self._upload(b, n)

    def _project_action(self, name: str, project: str) -> None:
        members = [b for b in self.batches if b.project == project]
        now = self.env.now
        if name == "archive_project":
            if self.projects_archived[project]:
                self._warn(now, name, project, "refused: the project is already archived")
                return
            busy = [b.name for b in members if b.status is PROCESSING]
            if busy:
                self._warn(now, name, project, f"refused: batch {', '.join(busy)} is Processing")
                return
            self.projects_archived[project] = True
            for b in members:
                if not b.archived:
                    b.archived = b.archived_by_project = True
        else:
            if not self.projects_archived[project]:
                self._warn(now, name, project, "refused: the project is not archived")
                return
            self.projects_archived[project] = False
            for b in members:
                if b.archived_by_project:
                    b.archived = b.archived_by_project = False

    # ------------------------------------------------------------------ records

    def _sample_progress(self, _event: Event | None) -> None:
        now = self.env.now
        for b in self.batches:
            self.progress.append((now, b.idx, b.labeled_items, b.in_flight, b.items_total - b.labeled_items))
        if self.progress_cb is not None:
            self.progress_cb(min(1.0, now / self.horizon))
        step = self.scenario.progress_every or max(1.0, self.horizon / 500)
        if now + step < self.horizon:
            _Call(self.env, step, self._sample_progress)

    def _collect(self) -> RawRun:
        end = self.env.now
        if not self.progress or self.progress[-1][0] < end:
            self._sample_progress_final(end)
        for _time, _prio, _eid, event in self.env._queue:  # assignments still in flight
            if isinstance(event, _AssignmentEnd):
                w, suite, b, available_at, reserved_at, _outcome, _cost, reserve_seq = event._value
                self.records.extend(
                    (b.idx, suite.sid, w.pid, available_at, reserved_at, math.nan, IN_FLIGHT, reserve_seq, math.nan)
                )
        if self.progress_cb is not None:
            self.progress_cb(1.0)
        return RawRun(
            end_s=end,
            horizon_s=self.horizon,
            stop_reason=self.stop_reason,
            batch_keys=[(b.project, b.name) for b in self.batches],
            batch_final=[self._final(b) for b in self.batches],
            status_log=self.status_log,
            records=self.records,
            progress=self.progress,
            top_ups=self.top_ups,
            top_up_seq=self.top_up_seq,
            warnings=self.warnings,
            performer_names=self.performer_names,
            performer_groups=self.performer_groups,
            sessions=self.sessions,
            opening_balance=self.opening_balance,
            opening_reserved=self.opening_reserved,
            final_balance=self.balance,
            final_reserved=self.reserved,
            costs=[(b.reward, b.fee) for b in self.batches],
            events_processed=next(self.env._eid),
        )

    def _sample_progress_final(self, end: float) -> None:
        for b in self.batches:
            self.progress.append((end, b.idx, b.labeled_items, b.in_flight, b.items_total - b.labeled_items))

    @staticmethod
    def _final(b: BatchRun) -> dict[str, object]:
        return {
            "labeling_queue": b.queue,
            "status": b.status,
            "items": b.items_total,
            "labeled_items": b.labeled_items,
            "submitted": b.submitted,
            "expired": b.expired,
            "skipped": b.skipped,
            "in_flight": b.in_flight,
            "spent": b.spent,
            "needed": b.needed,
            "launched_at": b.launched_at,
            "started_at": b.started_at,
            "completed_at": b.completed_at,
        }


def run_model(
    scenario: Scenario,
    streams: RandomStreams,
    *,
    until_s: float | None = None,
    progress: ProgressCallback | None = None,
) -> RawRun:
    """Simulate ``scenario`` once with ``streams``; see :class:`LabelingModel`."""
    return LabelingModel(scenario, streams, until_s=until_s, progress=progress).run()
