"""An assignment's life: reserved when taken, then submitted (charged) or expired/skipped (released).

:meth:`Assignments.start` reserves the suite and the money and schedules one
:class:`~labelsim.model.clock.AssignmentEnd`; :meth:`Assignments.on_end` settles it,
writes its record, returns an unfinished suite to its pool and lets the performer's
group decide what the performer does next.  Scheduled ends are kept in
:attr:`Assignments.in_flight` (in reservation order), so the work in flight at the
end of a run is known without reading SimPy's event queue.

Taking a suite and ending an assignment are the model's inner loop: the money
arithmetic of :class:`~labelsim.model.account.Account` (reserve / charge / release)
is written out here rather than called, and attributes are read into locals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..vocabulary import IN_FLIGHT, PROCESSING, SKIPPED, SUBMITTED
from .account import Account
from .clock import AssignmentEnd, Clock
from .entities import BatchRun, Suite
from .performers import Worker
from .quality import QualityControl
from .records import BEFORE_START, RECORD_STRUCT

if TYPE_CHECKING:
    from .dispatch import Dispatcher
    from .recorder import Recorder

__all__ = ["BEFORE_START", "Assignments", "StartFn"]

#: ``start(worker, batch, suite, outcome, delay_s)``.
StartFn = Callable[[Worker, BatchRun, Suite, int, float], None]


class Assignments:
    """Starts and ends assignments.

    Args:
        clock: the run's clock.
        account: the money.
        recorder: where ended assignments are written.
        dispatch: offers returned suites again.
        quality: the quality-control component (hooks called only if it enables them).
        update: the model's status update.

    Attributes:
        in_flight: scheduled :class:`AssignmentEnd` events, in reservation order.
    """

    __slots__ = (
        "_end", "_pack", "_write", "account", "dispatch", "env", "idle", "in_flight", "next_seq", "record", "review",
        "update",
    )

    def __init__(
        self,
        clock: Clock,
        account: Account,
        recorder: Recorder,
        dispatch: Dispatcher,
        quality: QualityControl,
        update: Callable[[], None],
    ) -> None:
        self.env = clock.env
        self.account = account
        self.dispatch = dispatch
        self.idle = dispatch.idle
        self.update = update
        self.record = recorder.records.extend  # record(fields): one record (a tuple of RECORD_FIELDS)
        self._write, self._pack = recorder.records.frombytes, RECORD_STRUCT.pack  # the same, faster, for on_end
        self.next_seq = account.next_seq
        self.review = quality.on_submitted if quality.reviews else None
        self.in_flight: dict[AssignmentEnd, None] = {}
        self._end = self.on_end  # bound once: handed to every AssignmentEnd

    def start(
        self, w: Worker, b: BatchRun, suite: Suite, outcome: int, delay: float, reserved_at: float | None = None,
    ) -> None:
        """Reserve ``suite`` and its cost for ``w``; the assignment ends ``delay`` seconds from now.

        Args:
            outcome: how it will end (decided by the performer's behaviour).
            reserved_at: when it was taken (seconds; default now).  Hook for work in flight at the
                start with its own reservation time (< 0 = before the start).
        """
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
        cost = b.cost if b.odd_costs is None else b.suite_cost(suite)  # price per item: a short suite costs less
        self.account.reserved += cost  # Account.reserve
        account = self.account
        if account.balance - account.reserved < account.low_mark:  # low funds (Account.ran_low)
            account.ran_low(self.env.now)
        w.busy = True
        self.idle.pop(w, None)
        env = self.env
        payload = (
            w, suite, b, suite.available_at, env._now if reserved_at is None else reserved_at, outcome, cost,
            self.next_seq(),
        )
        self.in_flight[AssignmentEnd(env, delay, self._end, payload)] = None

    def on_end(self, event: Any) -> None:
        """Settle an assignment at its end and let its performer go on."""
        w, suite, b, available_at, reserved_at, outcome, cost, reserve_seq = event._value
        del self.in_flight[event]
        now = self.env._now  # Environment.now without the property call
        b.in_flight -= 1
        suite.in_flight -= 1
        account = self.account
        if outcome == SUBMITTED:
            if self.review is None or not self.review(event):  # quality-control hook
                account.reserved -= cost  # Account.charge
                account.balance -= cost
                b.spent += cost
                suite.submitted += 1
                b.submitted += 1
                if suite.submitted == b.overlap:
                    b.labeled_items += suite.n_tasks
        else:
            account.reserved -= cost  # Account.release
            self.return_suite(w, b, suite, outcome, now)
        self._write(self._pack(b.idx, suite.sid, w.pid, available_at, reserved_at, now, outcome, reserve_seq,
                               self.next_seq()))  # = self.record((...))
        if not b.in_flight and (
            b.status is not PROCESSING or (b.submitted == b.needed and not b.streaming)  # done, or Loading
        ):
            self.update()
        w.busy = False
        group = w.group
        if group is not None:  # None: in flight before the start
            group.after(w, outcome)

    def return_suite(self, w: Worker, b: BatchRun, suite: Suite, outcome: int, now: float) -> None:
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
            self.dispatch.offer(b)

    def unfinished(self) -> Iterator[tuple[float, ...]]:
        """Records of the assignments still in flight (``ended_s``/``end_seq`` NaN), in reservation order."""
        nan = float("nan")
        for event in self.in_flight:
            w, suite, b, available_at, reserved_at, _outcome, _cost, reserve_seq = event._value
            yield (b.idx, suite.sid, w.pid, available_at, reserved_at, nan, IN_FLIGHT, reserve_seq, nan)
