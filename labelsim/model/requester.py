"""The requester's scheduled actions: launch, pause, resume, cancel, fail, archive, set_queue,
add_items, top-ups and project archiving.

An action only changes a batch's flags (``launched``, ``paused``…); the status
follows from the rules (:mod:`labelsim.model.status`) at the next update.  An
action the platform would refuse at that moment is recorded as a warning with its
time and changes nothing: among them, launching a batch that has no items (a batch
fed by an item stream may launch empty while its stream runs).

The requester also hears about the account: with ``account.low_funds`` set, a
``low_funds`` warning (target ``account``) is recorded each time the available money
drops below the threshold (see :mod:`labelsim.model.account`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..scenario import Scenario
from ..units import usd_to_micro
from ..vocabulary import (
    ARCHIVE,
    CANCELED,
    COMPLETED,
    ERROR,
    LAUNCHED,
    LOADING,
    NEW,
    NO_MONEY,
    PROCESSING,
    QUEUED,
    STOPPED,
    STOPPING,
)
from .account import Account
from .clock import Clock
from .entities import BatchRun
from .recorder import Recorder
from .uploads import Uploads

__all__ = ["Requester"]

#: Statuses from which a pause is accepted.
_PAUSABLE = (LOADING, QUEUED, PROCESSING, NO_MONEY)
#: Statuses from which a resume is accepted.
_RESUMABLE = (STOPPING, STOPPED, NO_MONEY)


class Requester:
    """Carries out the scenario's events and top-ups at their times.

    Args:
        scenario: the scenario (its events, top-ups and batches' ``launch_at``).
        clock, account, recorder, uploads: the components the actions touch.
        batches: all batches, by index; ``by_queue`` the same in labeling-queue order.
        projects_archived: project name -> archived now (shared with the core).
        update: the model's status update, run after every action.
        resume_on_top_up: a top-up clears every batch's No money flag.
    """

    def __init__(
        self,
        scenario: Scenario,
        clock: Clock,
        account: Account,
        recorder: Recorder,
        uploads: Uploads,
        batches: list[BatchRun],
        by_queue: list[BatchRun],
        projects_archived: dict[str, bool],
        update: Callable[[], None],
        *,
        resume_on_top_up: bool,
    ) -> None:
        self.scenario = scenario
        self.clock = clock
        self.account = account
        self.recorder = recorder
        self.uploads = uploads
        self.batches = batches
        self.by_queue = by_queue
        self.projects_archived = projects_archived
        self.update = update
        self.resume_on_top_up = resume_on_top_up
        low_funds = scenario.account.low_funds
        if low_funds is not None:
            account.watch_low_funds(usd_to_micro(low_funds), self._on_low_funds)

    def schedule_launch(self, b: BatchRun) -> None:
        """Schedule ``b``'s ``launch_at``."""
        assert b.spec.launch_at is not None
        self.clock.schedule(self.scenario.offset_s(b.spec.launch_at), self._on_launch_at, b)

    def schedule_events(self) -> None:
        """Check the opening money against the low-funds threshold; schedule the account's top-ups, then the
        scenario's events."""
        self.account.check_low(self.clock.env.now)
        scenario, schedule = self.scenario, self.clock.schedule
        for top_up in scenario.account.top_ups:
            schedule(scenario.offset_s(top_up.at), self._on_top_up, usd_to_micro(top_up.amount))
        for event in scenario.events:
            schedule(scenario.offset_s(event.at), self._on_action, event)

    # ------------------------------------------------------------------ money

    def _on_top_up(self, event: Any) -> None:
        self.clock.done()
        self.add_money(event._value)
        self.update()

    def add_money(self, amount: int) -> None:
        """A top-up of ``amount`` micro-USD; No money batches resume if the policy says so."""
        self.account.top_up(amount, self.clock.env.now)
        if self.resume_on_top_up:
            for b in self.batches:
                b.no_money = False

    def _on_low_funds(self, now: float, available: int) -> None:
        threshold = self.scenario.account.low_funds
        self.recorder.warn(
            now, "low_funds", "account",
            f"the available balance ({available / 1e6:.2f} USD) is below the low-funds threshold ({threshold:.2f} USD)",
        )

    # ------------------------------------------------------------------ batch actions

    def _warn(self, action: str, target: str, message: str) -> None:
        self.recorder.warn(self.clock.env.now, action, target, message)

    def _on_launch_at(self, event: Any) -> None:
        self.clock.done()
        self.launch(event._value, "launch_at")
        self.update()

    def launch(self, b: BatchRun, action: str) -> None:
        """Launch ``b`` (refused unless it is New in an active project and has items or a running stream)."""
        if b.status is not NEW:
            self._warn(action, b.name, f"refused: the batch is {b.status}, not New")
            return
        if self.projects_archived[b.project]:
            self._warn(action, b.name, f"refused: project {b.project} is archived")
            return
        if not b.items_total and not b.streaming:
            self._warn(action, b.name, "refused: the batch has no items")
            return
        now = self.clock.env.now
        b.launched = True
        b.launched_at = now
        for suite in b.pool:
            suite.available_at = now
        if b.pending_upload:
            n, b.pending_upload = b.pending_upload, 0
            self.uploads.upload(b, n)

    def _on_action(self, event: Any) -> None:
        action = event._value
        self.clock.done()
        name = action.action
        if name == "top_up":
            self.add_money(usd_to_micro(action.top_up))
        elif name in ("archive_project", "unarchive_project"):
            self._project_action(name, action.target)
        else:
            project, spec = self.scenario.find_batch(action.target)
            b = next(x for x in self.batches if x.spec is spec and x.project == project.name)
            getattr(self, f"_do_{name}")(b, action)
        self.update()

    def _refuse(self, b: BatchRun, action: str, allowed: tuple[str, ...]) -> bool:
        """Warn and return True unless ``b``'s status is one of ``allowed``."""
        if b.status in allowed:
            return False
        self._warn(action, b.name, f"refused: the batch is {b.status}")
        return True

    def _do_launch(self, b: BatchRun, _action: object) -> None:
        self.launch(b, "launch")

    def _do_pause(self, b: BatchRun, _action: object) -> None:
        if not self._refuse(b, "pause", _PAUSABLE):
            b.paused = True

    def _do_resume(self, b: BatchRun, _action: object) -> None:
        if not self._refuse(b, "resume", _RESUMABLE):
            b.paused = False
            b.no_money = False

    def _do_cancel(self, b: BatchRun, _action: object) -> None:
        if not self._refuse(b, "cancel", LAUNCHED):
            b.canceled = True

    def _do_fail(self, b: BatchRun, _action: object) -> None:
        if not self._refuse(b, "fail", LAUNCHED):
            b.error = True

    def _do_archive(self, b: BatchRun, _action: object) -> None:
        if b.status is PROCESSING or b.status is ARCHIVE:
            self._warn("archive", b.name, f"refused: the batch is {b.status}")
            return
        b.archived = True

    def _do_unarchive(self, b: BatchRun, _action: object) -> None:
        if self._refuse(b, "unarchive", (ARCHIVE,)):
            return
        if self.projects_archived[b.project]:
            self._warn("unarchive", b.name, f"refused: project {b.project} is archived")
            return
        b.archived = b.archived_by_project = False

    def _do_set_queue(self, b: BatchRun, action: Any) -> None:
        if b.status is ARCHIVE:
            self._warn("set_queue", b.name, "refused: the batch is Archive")
            return
        b.queue = action.set_queue.queue
        self.by_queue.sort(key=lambda x: (x.queue, x.idx))

    def _do_add_items(self, b: BatchRun, action: Any) -> None:
        archived = self.projects_archived[b.project]
        if b.status in (COMPLETED, CANCELED, ERROR, ARCHIVE) or archived:
            why = f"project {b.project} is archived" if archived else f"the batch is {b.status}"
            self._warn("add_items", b.name, f"refused: {why}")
            return
        n = action.add_items.items
        b.items_total += n
        if b.upload_rate is not None and not b.launched:
            b.pending_upload += n  # uploaded at launch
        else:
            self.uploads.upload(b, n)

    # ------------------------------------------------------------------ projects

    def _project_action(self, name: str, project: str) -> None:
        members = [b for b in self.batches if b.project == project]
        if name == "archive_project":
            if self.projects_archived[project]:
                self._warn(name, project, "refused: the project is already archived")
                return
            busy = [b.name for b in members if b.status is PROCESSING]
            if busy:
                self._warn(name, project, f"refused: batch {', '.join(busy)} is Processing")
                return
            self.projects_archived[project] = True
            for b in members:
                if not b.archived:
                    b.archived = b.archived_by_project = True
        else:
            if not self.projects_archived[project]:
                self._warn(name, project, "refused: the project is not archived")
                return
            self.projects_archived[project] = False
            for b in members:
                if b.archived_by_project:
                    b.archived = b.archived_by_project = False
