"""The recorder: what a run writes down, and the :class:`~labelsim.model.records.RawRun` built from it.

Status changes, assignment records (one flat ``array('d')``, no object per row),
progress samples on a regular grid, warnings about refused actions, performer
names and sessions.  Nothing here changes the simulation's state.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable

from .account import Account
from .clock import Clock
from .entities import BatchRun
from .records import BEFORE_START, BatchFinal, RawRun

__all__ = ["ProgressCallback", "Recorder", "final_of"]

#: Called with the fraction of the horizon simulated (0..1).
ProgressCallback = Callable[[float], None]


def final_of(b: BatchRun) -> BatchFinal:
    """The end-of-run counters of ``b``."""
    return BatchFinal(
        labeling_queue=b.queue,
        status=b.status,
        items=b.items_total,
        labeled_items=b.labeled_items,
        submitted=b.submitted,
        expired=b.expired,
        skipped=b.skipped,
        in_flight=b.in_flight,
        spent=b.spent,
        needed=b.needed,
        launched_at=b.launched_at,
        started_at=b.started_at,
        completed_at=b.completed_at,
        suites=b.n_suites,
        n_upload_requests=b.n_upload_requests,
    )


class Recorder:
    """Records of one run.

    Args:
        clock: the run's clock.
        batches: all batches, by index.
        progress_every: seconds between progress samples (None: the horizon / 500, at least 1 s).
        progress_cb: called with the fraction of the horizon simulated at every sample.

    Attributes:
        status_log: ``(t_s, batch_index, status)`` at the start and at every change.
        records: assignment records, :data:`~labelsim.model.records.RECORD_FIELDS` floats each.
        progress: ``(t_s, batch_index, labeled_items, in_flight, remaining_items)``.
        warnings: ``(t_s, action, target, message)``.
        performer_names / performer_groups / sessions: by performer id.
    """

    def __init__(
        self,
        clock: Clock,
        batches: list[BatchRun],
        *,
        progress_every: float | None = None,
        progress_cb: ProgressCallback | None = None,
    ) -> None:
        self.clock = clock
        self.batches = batches
        self.step = progress_every or max(1.0, clock.horizon / 500)
        self.progress_cb = progress_cb
        self.status_log: list[tuple[float, int, str]] = []
        self.records = array("d")
        self.progress: list[tuple[float, int, int, int, int]] = []
        self.warnings: list[tuple[float, str, str, str]] = []
        self.performer_names: dict[int, str] = {BEFORE_START: "(before start)"}
        self.performer_groups: dict[int, str] = {BEFORE_START: "(before start)"}
        self.sessions: dict[int, int] = {}

    def new_performer(self, pid: int, name: str, group: str) -> None:
        """A performer seen for the first time (0 sessions so far)."""
        self.performer_names[pid] = name
        self.performer_groups[pid] = group
        self.sessions[pid] = 0

    def warn(self, at: float, action: str, target: str, message: str) -> None:
        """An action the platform would refuse, or a doubtful starting state."""
        self.warnings.append((at, action, target, message))

    def sample_progress(self, _event: object = None) -> None:
        """Sample every batch's progress now and schedule the next sample."""
        clock = self.clock
        now = clock.env.now
        self._sample(now)
        if self.progress_cb is not None:
            self.progress_cb(min(1.0, now / clock.horizon))
        if now + self.step < clock.horizon:
            clock.call(self.step, self.sample_progress)

    def _sample(self, now: float) -> None:
        for b in self.batches:
            self.progress.append((now, b.idx, b.labeled_items, b.in_flight, b.items_total - b.labeled_items))

    def build(self, account: Account, unfinished: Iterable[tuple[float, ...]]) -> RawRun:
        """The run's :class:`RawRun`, with ``unfinished`` assignment records (in flight at the end) added."""
        clock = self.clock
        end = clock.env.now
        if not self.progress or self.progress[-1][0] < end:
            self._sample(end)
        for record in unfinished:
            self.records.extend(record)
        if self.progress_cb is not None:
            self.progress_cb(1.0)
        batches = self.batches
        return RawRun(
            end_s=end,
            horizon_s=clock.horizon,
            stop_reason=clock.stop_reason,
            batch_keys=[(b.project, b.name) for b in batches],
            batch_final=[final_of(b) for b in batches],
            status_log=self.status_log,
            records=self.records,
            progress=self.progress,
            top_ups=account.top_ups,
            top_up_seq=account.top_up_seq,
            warnings=self.warnings,
            performer_names=self.performer_names,
            performer_groups=self.performer_groups,
            sessions=self.sessions,
            opening_balance=account.opening_balance,
            opening_reserved=account.opening_reserved,
            final_balance=account.balance,
            final_reserved=account.reserved,
            costs=[(b.reward, b.fee) for b in batches],
            suite_costs={(b.idx, sid): parts for b in batches if b.odd_costs for sid, parts in b.odd_costs.items()},
            events_processed=clock.events_scheduled(),
        )
