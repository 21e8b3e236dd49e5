"""Quality control from the scenario: review, dynamic overlap, control tasks and bans, per-performer limits.

:func:`build_quality` returns the plain :class:`~labelsim.model.quality.QualityControl`
(no hooks at all) when the scenario uses none of these, so they cost nothing when off;
otherwise a :class:`ScenarioQuality` that switches on only the hooks it needs:

- ``reviews`` (review, dynamic overlap or control tasks anywhere): every submission passes
  :meth:`ScenarioQuality.on_submitted`.  It scores control answers (and may ban the
  performer from the project); under review it holds the submission (money stays
  reserved) until the verdict, scheduled on the clock; under dynamic overlap it counts the
  answer and may ask the item for one more.
- ``limits`` (control tasks or group ``limits``): :meth:`ScenarioQuality.may_take` refuses
  banned performers and those at a limit; with limits, the dispatcher's ``start`` is wrapped
  to count the suites taken.

Choices (README, "Quality control"): an item counts as labeled when its last needed answer is
*accepted*; while answers wait for review the batch stays Processing (it is Completed when
every needed answer is accepted); a rejected assignment is not charged (ledger ``release``
at the verdict), its suite returns to the back of the pool for another performer.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..rng import RandomStreams
from ..scenario import Scenario
from ..vocabulary import PROCESSING, REJECTED, SKIPPED
from .entities import BatchRun, Suite
from .qc_rules import ControlRule, OverlapRule, Reviewer, TakeLimits, clip01, local_midnights
from .quality import QualityControl
from .records import RECORD_FIELDS, RawRun

if TYPE_CHECKING:
    from .assignments import StartFn
    from .clock import AssignmentEnd
    from .core import LabelingModel
    from .performers import Worker

__all__ = ["ACCEPTED", "PENDING", "REJECTED_VERDICT", "ScenarioQuality", "build_quality"]

#: Verdict codes of :attr:`RawRun.reviews` rows ``(record_row, t_s, verdict, seq)``.
REJECTED_VERDICT, ACCEPTED, PENDING = 0, 1, 2
_NF = len(RECORD_FIELDS)
_OUTCOME = RECORD_FIELDS.index("outcome")


def uses_quality_control(scenario: Scenario) -> bool:
    """True if the scenario sets any quality-control knob the model must enforce."""
    return (
        any(p.control is not None for p in scenario.projects)
        or any(b.review is not None or b.dynamic_overlap is not None for _, b in scenario.batches())
        or any(g.limits is not None and (g.limits.per_batch or g.limits.per_day) for g in scenario.performers)
    )


def build_quality(scenario: Scenario, streams: RandomStreams) -> QualityControl:
    """The quality-control component of a run: none (no hooks) unless the scenario asks for it."""
    if not uses_quality_control(scenario):
        return QualityControl()
    return ScenarioQuality(scenario, streams)


class ScenarioQuality(QualityControl):
    """The scenario's quality control (see the module docstring).

    Attributes:
        banned: project -> performer ids banned from it.
        bans: ``(t_s, performer_id, project, seq)`` per ban.
        review_log: ``(record_row, t_s, verdict, seq)`` per verdict (:data:`ACCEPTED`, :data:`REJECTED_VERDICT`).
        rejected: rejected assignments per batch index.
    """

    def __init__(self, scenario: Scenario, streams: RandomStreams) -> None:
        generator = streams.generator
        groups = scenario.performers
        rates = {g.name: g.acceptance_rate for g in groups}
        agreement = {g.name: g.agreement for g in groups}
        pairs = scenario.batches()
        self.reviewers = [Reviewer(p.name, b, rates, generator) if b.review else None for p, b in pairs]
        self.overlaps = [OverlapRule(p.name, b, agreement, generator) if b.dynamic_overlap else None for p, b in pairs]
        self.accuracies: dict[str, np.ndarray] = {}
        for g in groups:
            if g.control_accuracy is not None:
                size = g.size if g.kind == "team" else g.population
                self.accuracies[g.name] = g.control_accuracy.sample(generator(f"{g.name}/control-accuracy"), size)
        self.controls = {p.name: ControlRule(p, self.accuracy, generator) for p in scenario.projects if p.control}
        self.limit_spec = {
            g.name: (g.limits.per_batch, g.limits.per_day)
            for g in groups if g.limits is not None and (g.limits.per_batch or g.limits.per_day)
        }
        self.take_limits: TakeLimits | None = None
        self.reviews = any(self.reviewers) or any(self.overlaps) or bool(self.controls)
        self.limits = bool(self.controls) or bool(self.limit_spec)
        self.scenario = scenario
        self.banned: dict[str, set[int]] = {p.name: set() for p in scenario.projects}
        self.bans: list[tuple[float, int, str, int]] = []
        self.review_log: list[tuple[int, float, int, int]] = []
        self.held: dict[int, None] = {}
        self.rejected = [0] * len(pairs)

    def accuracy(self, w: Worker) -> float:
        """``w``'s accuracy on control tasks (1.0 when the group gives none)."""
        group = w.group
        if group is None or group.name not in self.accuracies:
            return 1.0
        return clip01(float(self.accuracies[group.name][w.pid - group.base_pid]))

    def attach(self, model: LabelingModel) -> None:
        """Keep the components the hooks use; wrap the dispatcher's ``start`` when limits are set."""
        self.model = model
        self.clock = model.clock
        self.env = model.env
        self.account = model.account
        self.dispatch = model.dispatch
        self.records = model.recorder.records
        self.next_seq = model.account.next_seq
        if self.limit_spec:
            self.take_limits = TakeLimits(self.limit_spec, local_midnights(self.scenario, model.horizon))
            start = model.dispatch.start
            assert start is not None
            self._start: StartFn = start
            model.dispatch.start = self.counted_start

    # ------------------------------------------------------------------ hooks

    def may_take(self, w: Worker, b: BatchRun) -> bool:
        """Not banned from ``b``'s project, and below every limit."""
        if w.pid in self.banned[b.project]:
            return False
        limits = self.take_limits
        return limits is None or limits.allows(w, b, self.env.now)

    def counted_start(self, w: Worker, b: BatchRun, suite: Suite, outcome: int, delay: float) -> None:
        """The dispatcher's ``start``, counting the suite toward ``w``'s limits (unless skipped)."""
        if outcome != SKIPPED:
            self.take_limits.count(w, b, self.env.now)  # type: ignore[union-attr]
        self._start(w, b, suite, outcome, delay)

    def on_submitted(self, event: AssignmentEnd) -> bool:
        """Score control answers; hold for review, or count under dynamic overlap; False: the model counts it."""
        payload = event._value
        w, suite, b = payload[0], payload[1], payload[2]
        now = self.env.now
        if self.controls and w.group is not None:
            control = self.controls.get(b.project)
            if control is not None and control.ban(w, suite.n_tasks, now - payload[4]):
                self.ban(w.pid, b.project, now)
        reviewer = self.reviewers[b.idx]
        if reviewer is not None:
            delay, accepted = reviewer.verdict(w)
            row = len(self.records) // _NF  # the row the model writes for this assignment next
            self.held[row] = None
            self.clock.pending += 1
            self.clock.call(delay, self._on_verdict, (payload, row, accepted))
            return True
        if self.overlaps[b.idx] is not None:
            self.accept(payload)
            return True
        return False

    def ban(self, pid: int, project: str, now: float) -> None:
        """Ban ``pid`` from ``project`` (once)."""
        banned = self.banned[project]
        if pid not in banned:
            banned.add(pid)
            self.bans.append((now, pid, project, self.next_seq()))

    # ------------------------------------------------------------------ verdicts

    def _on_verdict(self, event: Any) -> None:
        payload, row, accepted = event._value
        self.clock.done()
        del self.held[row]
        seq = self.next_seq()
        if accepted:
            self.accept(payload)
        else:
            self.reject(payload, row)
        self.review_log.append((row, self.env.now, ACCEPTED if accepted else REJECTED_VERDICT, seq))
        self.model.update()

    def accept(self, payload: tuple[Any, ...]) -> None:
        """Charge an accepted answer and count it; under dynamic overlap, maybe ask for one more."""
        w, suite, b, cost = payload[0], payload[1], payload[2], payload[6]
        account = self.account
        account.reserved -= cost
        account.balance -= cost
        b.spent += cost
        suite.submitted += 1
        b.submitted += 1
        rule = self.overlaps[b.idx]
        if rule is None:
            if suite.submitted == b.overlap:
                b.labeled_items += suite.n_tasks
            return
        state = rule.decide(suite, w)
        if state == OverlapRule.DONE:
            b.labeled_items += suite.n_tasks
        elif state == OverlapRule.MORE:
            b.needed += 1
            self._reopen(suite, b, w)

    def reject(self, payload: tuple[Any, ...], row: int) -> None:
        """Release a rejected answer's money and return its suite to the pool for someone else."""
        w, suite, b, cost = payload[0], payload[1], payload[2], payload[6]
        self.account.reserved -= cost
        self.rejected[b.idx] += 1
        self.records[row * _NF + _OUTCOME] = REJECTED
        self._reopen(suite, b, w)

    def _reopen(self, suite: Suite, b: BatchRun, w: Worker) -> None:
        """One more assignment of ``suite`` (never for ``w`` again), at the back of the pool."""
        if w.pid >= 0:
            if suite.takers is None:
                suite.takers = {w.pid}
            else:
                suite.takers.add(w.pid)
        suite.open += 1
        b.open_slots += 1
        suite.available_at = self.env.now
        if not suite.in_pool:
            suite.in_pool = True
            b.pool.append(suite)
        if b.status is PROCESSING:
            self.dispatch.offer(b)

    def finish(self, raw: RawRun) -> None:
        """Add reviews (pending ones too), bans and rejections to the run's records."""
        nan = math.nan
        raw.reviews = self.review_log + [(row, nan, PENDING, -1) for row in self.held]
        raw.bans = self.bans
        for final, n in zip(raw.batch_final, self.rejected, strict=True):
            final.rejected = n
