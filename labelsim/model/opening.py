"""The state a run starts from: items uploaded or pending, a live batch's state, work in flight.

A batch may start mid-flight (``state:`` in the scenario): items already labeled,
assignments already submitted, a status, and assignments in flight at the start.

- ``in_flight: N`` (the count shorthand): held by a stand-in performer (id
  :data:`~labelsim.model.records.BEFORE_START`), each ends submitted at a uniform time
  within the batch's time limit.
- ``in_flight: [{performer, held, suite}]``: each is held by its named performer (a person
  of the first crowd group, who goes on with the session afterwards) or the stand-in, and
  ends as the crowd's behaviour draws it *given it lasted* ``held`` seconds (rejection
  sampling): submitted after the rest of its work, or expired at ``time_limit − held``
  (its suite then returns to the pool).
- ``suites: [{submitted_by}]``: partially done suites with who did them, so "never the
  same suite twice" binds on the real history; ``done`` counts carry into per-batch limits.

Named performers map onto the first crowd group's people by activity: the one with the
most assignments in ``done`` becomes the most active person (the heaviest Zipf weight).
"""

from __future__ import annotations

import math

from ..rng import RandomStreams
from ..scenario import InFlight, Scenario
from ..vocabulary import (
    ARCHIVE,
    CANCELED,
    ERROR,
    EXPIRED,
    LOADING,
    NEW,
    NO_MONEY,
    SKIPPED,
    STOPPED,
    STOPPING,
    SUBMITTED,
)
from .assignments import Assignments
from .dispatch import first_open
from .entities import BatchRun, Suite
from .performers import Crowd, PerformerGroup, Worker
from .qc_rules import TakeLimits
from .recorder import Recorder
from .records import BEFORE_START
from .requester import Requester
from .uploads import Uploads

__all__ = ["Opening"]


class Opening:
    """Sets up every batch at the start of a run.

    Args:
        scenario / streams: the run's specification and random streams.
        projects_archived: project name -> archived (at the start).
        uploads / assignments / requester: the components a batch's set-up uses.
    """

    def __init__(
        self,
        scenario: Scenario,
        streams: RandomStreams,
        projects_archived: dict[str, bool],
        uploads: Uploads,
        assignments: Assignments,
        requester: Requester,
        recorder: Recorder,
    ) -> None:
        self.scenario = scenario
        self.streams = streams
        self.projects_archived = projects_archived
        self.uploads = uploads
        self.assignments = assignments
        self.requester = requester
        #: Holds the assignments in flight before the start (no group: it takes no further work).
        self.before_start = Worker(BEFORE_START, None, 1.0)
        #: The run's performer groups (set by the core once built): named performers map onto the crowd.
        self.groups: list[PerformerGroup] = []
        self.recorder = recorder
        self._people: dict[str, int] | None = None
        #: Per-performer limits (set by the core): ``state.done`` counts carry over.
        self.limits: TakeLimits | None = None

    def setup(self, b: BatchRun) -> None:
        """Items, live state, ``launch_at`` and item stream of ``b``."""
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
            self.requester.schedule_launch(b)
        if spec.stream is not None:
            self.uploads.start_stream(b, self.scenario, self.streams)

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
            self.uploads.upload(b, n)
        listed = self._partial_suites(b)
        if self.limits is not None:
            for name, n in state.done.items():
                pid = self.person_of(name)
                if pid is not None:
                    self.limits.carry(pid, b, n)
        extra = (state.submitted or 0) - b.submitted
        for suite in b.pool:
            if extra <= 0:
                break
            if suite in listed:
                continue
            done = min(b.overlap - 1, extra)
            suite.submitted += done
            suite.open -= done
            b.submitted += done
            b.open_slots -= done
            extra -= done
        rng = self.streams.generator(f"state/{b.project}/{b.name}")
        if isinstance(state.in_flight, int):  # the count shorthand: uniform ends within the time limit
            for _ in range(state.in_flight):
                if not self.place_in_flight(b, self.before_start, float(rng.uniform(0.0, b.time_limit))):
                    break
            return
        queued = [item.worked is not None and item.performer is not None for item in state.in_flight]
        last_queued = {item.performer: i for i, item in enumerate(state.in_flight) if queued[i]}
        busy_until: dict[str, float] = {}
        for i, item in enumerate(state.in_flight):
            self._reservation(b, item, listed, busy_until if queued[i] else None,
                              session=not queued[i] or last_queued[item.performer] == i)

    # ------------------------------------------------------------------ named history

    @property
    def crowd(self) -> Crowd | None:
        """The first crowd group: named performers of a live state are its people."""
        return next((g for g in self.groups if isinstance(g, Crowd)), None)

    def person_of(self, name: str | None) -> int | None:
        """The performer id of a named performer of the live state (None: unknown or no crowd)."""
        if name is None:
            return None
        if self._people is None:
            self._people = self._map_people()
        return self._people.get(name)

    def _map_people(self) -> dict[str, int]:
        """Names of the live state -> crowd people, the most active first (they get the heaviest Zipf weights)."""
        crowd = self.crowd
        if crowd is None:
            return {}
        done: dict[str, int] = {}
        for _, spec in self.scenario.batches():
            state = spec.state
            if state is None:
                continue
            for name, n in state.done.items():
                done[name] = done.get(name, 0) + n
            names = [n for s in state.suites for n in s.submitted_by]
            if not isinstance(state.in_flight, int):
                names += [r.performer for r in state.in_flight if r.performer is not None]
            for name in names:
                done.setdefault(name, 0)
        ranked = sorted(done, key=lambda name: (-done[name], name))[: crowd.size]
        people = {name: crowd.base_pid + i for i, name in enumerate(ranked)}
        for name, pid in people.items():
            self.recorder.new_performer(pid, name, crowd.name)
        return people

    def _partial_suites(self, b: BatchRun) -> list[Suite]:
        """Apply ``state.suites``: the first open suites get their submissions and takers."""
        state = b.spec.state
        assert state is not None
        suites: list[Suite] = []
        pool = iter(list(b.pool))
        for listed in state.suites:
            suite = next(pool, None)
            if suite is None:
                break
            done = min(len(listed.submitted_by), b.overlap - 1)
            suite.submitted += done
            suite.open -= done
            b.submitted += done
            b.open_slots -= done
            takers = {pid for pid in (self.person_of(n) for n in listed.submitted_by) if pid is not None}
            if takers:
                suite.takers = takers if suite.takers is None else suite.takers | takers
            suites.append(suite)
        return suites

    def _reservation(self, b: BatchRun, item: InFlight, listed: list[Suite],
                     busy_until: dict[str, float] | None, *, session: bool) -> None:
        """One in-flight assignment of the live state: its holder, its suite, and how it ends.

        ``busy_until`` (performer name -> seconds from now) chains a performer's queued
        reservations (those with ``worked``): each starts when the one before it ends.
        ``session``: whether the performer's session goes on from this one (the last of a queue).
        """
        pid = self.person_of(item.performer)
        crowd = self.crowd
        if pid is not None and crowd is not None:
            person = pid - crowd.base_pid
            if pid in crowd.in_session or not session:  # holds several at once: one session goes on
                worker = Worker(pid, None, crowd.speeds[person])
            else:
                worker = Worker(pid, crowd, crowd.speeds[person], max(1, next(crowd.length)))
                crowd.in_session.add(pid)
        else:
            worker = self.before_start
        suite: Suite | None = None
        if item.suite is not None and item.suite < len(listed):
            candidate = listed[item.suite]
            if candidate.open and (candidate.takers is None or pid not in candidate.takers):
                suite = candidate
        if suite is None:
            suite = first_open(b, worker.pid)
        if suite is None:
            return
        worked = item.held if item.worked is None else item.worked
        name = item.performer or ""
        queue_s = busy_until.get(name, 0.0) if busy_until is not None else 0.0
        outcome, ends_in = self._conditional_end(worker, suite, b, item.held, worked, queue_s)
        if busy_until is not None:
            busy_until[name] = ends_in
        if self.limits is not None and pid is not None and crowd is not None:
            self.limits.count(Worker(pid, crowd, worker.speed), b, 0.0)
        self.assignments.start(worker, b, suite, outcome, ends_in, -item.held)

    def _conditional_end(self, w: Worker, suite: Suite, b: BatchRun, held: float, worked: float,
                         queue_s: float) -> tuple[int, float]:
        """How an assignment held ``held`` s and worked on ``worked`` s ends, its work starting in ``queue_s`` s.

        A draw of the performer's behaviour given it lasted so far (rejection sampling: draws
        that would have ended by now, skips and work shorter than ``worked``, are refused).
        An abandoned one, or one whose work would end after ``time_limit − held``, expires then.
        Without a crowd (or after 1000 refusals, far in the tail) it expires at the limit.
        """
        crowd = self.crowd
        remaining_limit = max(0.0, b.time_limit - held)
        if crowd is None:
            return EXPIRED, remaining_limit
        probe = w if w.group is not None else Worker(w.pid, crowd, w.speed)
        for _ in range(1000):
            outcome, delay = crowd.decide(probe, suite, b)
            if outcome == SKIPPED or delay <= worked:
                continue
            ends_in = queue_s + delay - worked
            if ends_in >= remaining_limit:  # abandoned, too slow, or waited too long in the queue
                return (EXPIRED if outcome == SUBMITTED else outcome), remaining_limit
            return outcome, ends_in
        return EXPIRED, remaining_limit

    def place_in_flight(
        self,
        b: BatchRun,
        worker: Worker,
        ends_in_s: float,
        *,
        reserved_at_s: float | None = None,
        outcome: int = SUBMITTED,
    ) -> bool:
        """Hook: one assignment of ``b`` in flight at the start; False if ``b`` has no suite for ``worker``.

        Args:
            worker: who holds it: :attr:`before_start`, or a real performer (whose group then
                decides what the performer does when it ends).
            ends_in_s: seconds from now until it ends.
            reserved_at_s: when it was taken (seconds from the start, ≤ 0); default now.
            outcome: how it ends (submitted by default).
        """
        suite = first_open(b, worker.pid)
        if suite is None:
            return False
        self.assignments.start(worker, b, suite, outcome, ends_in_s, reserved_at_s)
        return True
