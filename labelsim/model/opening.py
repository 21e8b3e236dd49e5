"""The state a run starts from: items uploaded or pending, a live batch's state, work in flight.

A batch may start mid-flight (``state:`` in the scenario): items already labeled,
assignments already submitted, a status, and assignments in flight at the start.
Those in-flight assignments are held by a stand-in performer (id
:data:`~labelsim.model.records.BEFORE_START`) and end at a uniform time within the
batch's time limit; :meth:`Opening.place_in_flight` is the hook for in-flight work
with its own performers and reservation times.
"""

from __future__ import annotations

import math

from ..rng import RandomStreams
from ..scenario import Scenario
from ..vocabulary import ARCHIVE, CANCELED, ERROR, LOADING, NEW, NO_MONEY, STOPPED, STOPPING, SUBMITTED
from .assignments import Assignments
from .dispatch import first_open
from .entities import BatchRun
from .performers import Worker
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
    ) -> None:
        self.scenario = scenario
        self.streams = streams
        self.projects_archived = projects_archived
        self.uploads = uploads
        self.assignments = assignments
        self.requester = requester
        #: Holds the assignments in flight before the start (no group: it takes no further work).
        self.before_start = Worker(BEFORE_START, None, 1.0)

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
            if not self.place_in_flight(b, self.before_start, float(rng.uniform(0.0, b.time_limit))):
                break

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
