"""The labeling platform as a discrete-event model on SimPy's clock: the core that wires the components.

Design (see the README's "How the model works"):

- SimPy provides the clock and the event list (:mod:`~labelsim.model.clock`).  Every timed
  thing is a plain callback event: an assignment ending, a crowd session arriving, an item
  uploaded, a shift starting, a requester's action.
- Components, each with one job: :mod:`~labelsim.model.status` (derived statuses),
  :mod:`~labelsim.model.dispatch` (who gets which suite), :mod:`~labelsim.model.assignments`
  (reserve, end, charge/release), :mod:`~labelsim.model.account` (money),
  :mod:`~labelsim.model.performers` (crowd sessions, teams, behaviours),
  :mod:`~labelsim.model.uploads` (items arriving), :mod:`~labelsim.model.requester`
  (scheduled actions), :mod:`~labelsim.model.opening` (the state at the start),
  :mod:`~labelsim.model.quality` (the quality-control slot), :mod:`~labelsim.model.recorder`.
- The core owns the status update: every batch's status is recomputed in labeling-queue
  order whenever something that can change a status happens; transitions are logged and
  must follow :data:`~labelsim.vocabulary.ALLOWED_TRANSITIONS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from ..rng import RandomStreams
from ..scenario import Scenario
from ..units import usd_to_micro
from ..vocabulary import ACTIVE, COMPLETED, PROCESSING
from .account import Account
from .assignments import Assignments
from .clock import Clock
from .dispatch import Dispatcher, PerformerLimits
from .entities import BatchRun, build_batches
from .opening import Opening
from .performers import BehaviourFactory, build_groups
from .quality import QualityControl
from .recorder import ProgressCallback, Recorder
from .records import RawRun
from .requester import Requester
from .status import StatusRules
from .uploads import Uploads

__all__ = ["LabelingModel", "run_model"]


class LabelingModel:
    """One run of a scenario.  Build it, call :meth:`run`, read the :class:`RawRun`.

    Args:
        scenario: a validated scenario.
        streams: the run's random streams.
        until_s: stop at this many seconds instead of the scenario horizon.
        progress: called with the fraction of the horizon simulated (0..1),
            every progress sample; for progress bars.
        quality: the quality-control component (default: none, see :mod:`~labelsim.model.quality`).
        behaviours: performer group name -> behaviour factory (default: the standard behaviour).
    """

    def __init__(
        self,
        scenario: Scenario,
        streams: RandomStreams,
        *,
        until_s: float | None = None,
        progress: ProgressCallback | None = None,
        quality: QualityControl | None = None,
        behaviours: Mapping[str, BehaviourFactory] | None = None,
    ) -> None:
        self.scenario = scenario
        self.streams = streams
        self.horizon = float(until_s if until_s is not None else scenario.horizon)
        self.clock = clock = Clock(self.horizon)
        self.env = clock.env
        policy = scenario.policy
        self.account = account = Account(
            usd_to_micro(scenario.account.balance), full_cost=policy.money == "require_full_cost"
        )
        self.batches = build_batches(scenario)
        self.by_queue = sorted(self.batches, key=lambda b: (b.queue, b.idx))
        self.projects_archived = {p.name: p.status == "archive" for p in scenario.projects}
        self.recorder = recorder = Recorder(
            clock, self.batches, progress_every=scenario.progress_every, progress_cb=progress
        )
        self.rules = StatusRules(self.by_queue, account, strict=policy.queue == "strict")
        self.dispatch = dispatch = Dispatcher(
            self.by_queue, account, parallel=policy.same_queue == "parallel", update=self.update
        )
        self.quality = quality if quality is not None else QualityControl()
        self.assignments = Assignments(clock, account, recorder, dispatch, self.quality, self.update)
        dispatch.start = self.assignments.start
        if self.quality.limits:
            dispatch.may_take = self.quality.may_take
        self.uploads = Uploads(clock, dispatch, self.update)
        self.requester = Requester(
            scenario, clock, account, recorder, self.uploads, self.batches, self.by_queue, self.projects_archived,
            self.update, resume_on_top_up=policy.resume_on_top_up,
        )
        self.opening = Opening(scenario, streams, self.projects_archived, self.uploads, self.assignments,
                               self.requester, recorder)
        self.groups = build_groups(scenario, streams, behaviours)
        self.opening.groups = self.groups
        dispatch.limits = _limits(scenario, lambda: self.env.now)
        self.opening.limits = dispatch.limits
        self._updating = False
        self._dirty = False
        self.quality.attach(self)

    # ------------------------------------------------------------------ running

    def run(self) -> RawRun:
        """Simulate until nothing can change any more or the horizon; return the records."""
        self._setup()
        self._check_settled()
        self.clock.run()
        return self.recorder.build(self.account, self.assignments.unfinished())

    def _setup(self) -> None:
        """Everything at time 0, in a fixed order (ties between events go by scheduling order)."""
        for b in self.batches:
            self.opening.setup(b)
        for message in self.account.fix_opening(self.scenario.account.reserved):
            self.recorder.warn(0.0, "state", "account", message)
        self.requester.schedule_events()
        for group in self.groups:
            group.attach(self.clock, self.dispatch, self.recorder, self.scenario)
        self._initial_statuses()
        self.recorder.sample_progress()
        self.clock.call(self.horizon, self._on_horizon)

    def _initial_statuses(self) -> None:
        """Derive every batch's status at the start (without recording a transition)."""
        log = self.recorder.status_log
        for b in self.by_queue:
            b.status = self.rules.derive(b)
            state = b.spec.state
            if state is not None and state.status != b.status:
                self.recorder.warn(0.0, "state", b.name,
                                   f"state.status is {state.status} but the platform's rules give {b.status}")
            log.append((0.0, b.idx, b.status))
        log.sort(key=lambda row: row[1])
        self.dispatch.rebuild_offer()

    def _on_horizon(self, _event: object) -> None:
        self.clock.stop("horizon")

    def _check_settled(self) -> None:
        """Stop early when no batch can change without an action and none is scheduled."""
        clock = self.clock
        if clock.pending or clock.stopped:
            return
        for b in self.batches:
            if b.in_flight or b.loading or b.streaming or b.status in ACTIVE:
                return
        clock.stop("settled")

    # ------------------------------------------------------------------ statuses

    def update(self) -> None:
        """Recompute every batch's status; offer work of batches that became Processing.

        Re-entrant calls (a status change that triggers another) mark the update dirty and
        the outer call loops until nothing changes.
        """
        if self._updating:
            self._dirty = True
            return
        self._updating = True
        derive, dispatch = self.rules.derive, self.dispatch
        try:
            while True:
                self._dirty = False
                entered = []
                for b in self.by_queue:
                    status = derive(b)
                    if status is not b.status:
                        self._set_status(b, status)
                        if status is PROCESSING:
                            entered.append(b)
                dispatch.rebuild_offer()
                for b in entered:
                    dispatch.offer(b)
                if not self._dirty:
                    break
        finally:
            self._updating = False
        self._check_settled()

    def _set_status(self, b: BatchRun, status: str) -> None:
        now = self.env.now
        b.status = status
        self.recorder.status_log.append((now, b.idx, status))
        if status is PROCESSING and math.isnan(b.started_at):
            b.started_at = now
        if status is COMPLETED and math.isnan(b.completed_at):
            b.completed_at = now


def _limits(scenario: Scenario, now: Callable[[], float]) -> PerformerLimits | None:
    """The performer groups' limits as a dispatch component (None when no group has any)."""
    per_batch = {g.name: g.limits.per_batch for g in scenario.performers if g.limits and g.limits.per_batch}
    per_day = {g.name: g.limits.per_day for g in scenario.performers if g.limits and g.limits.per_day}
    if not per_batch and not per_day:
        return None
    local = scenario.start_local
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return PerformerLimits(per_batch, per_day, (local - midnight).total_seconds(), now)


def run_model(
    scenario: Scenario,
    streams: RandomStreams,
    *,
    until_s: float | None = None,
    progress: ProgressCallback | None = None,
) -> RawRun:
    """Simulate ``scenario`` once with ``streams``; see :class:`LabelingModel`."""
    return LabelingModel(scenario, streams, until_s=until_s, progress=progress).run()
