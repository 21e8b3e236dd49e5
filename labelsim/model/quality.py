"""The quality-control slot of the model (hooks only; the default does nothing).

A quality-control component subclasses :class:`QualityControl`, sets the flags of
the hooks it uses, and is passed to :class:`~labelsim.model.core.LabelingModel`
(``quality=``).  The model calls a hook only when its flag is set, so the default
costs nothing on the inner loop.

Hooks and what a component may do in them:

- ``reviews`` → :meth:`QualityControl.on_submitted` ``(event) -> bool``: called when an
  assignment ends SUBMITTED, before it is charged and counted.  ``event._value`` is the
  payload ``(worker, suite, batch, available_s, reserved_s, outcome, cost, reserve_seq)``.
  Return True to hold it for review: the model then neither charges nor counts it (its
  money stays reserved, ``suite.in_flight``/``batch.in_flight`` are already decremented
  and the record is written as submitted).  Later (e.g. ``model.clock.call(delay, ...)``)
  accept — ``model.account.charge(cost)`` and count it like
  :meth:`~labelsim.model.assignments.Assignments.on_end` does — or reject —
  ``model.account.release(cost)`` and
  :meth:`~labelsim.model.assignments.Assignments.return_suite`, then ``model.update()``.
  (A REJECTED outcome code is reserved in :mod:`labelsim.vocabulary`.)
- dynamic overlap: inside ``on_submitted`` a component may ask for more assignments of a
  suite: ``suite.open += n; batch.open_slots += n; batch.needed += n`` and put the suite
  back in ``batch.pool`` if ``not suite.in_pool``; then ``model.dispatch.offer(batch)``.
- ``limits`` → :meth:`QualityControl.may_take` ``(worker, batch) -> bool``: checked each
  time a performer is about to take a suite (per-performer limits, bans).  A component
  that must count takes wraps ``model.dispatch.start`` in :meth:`attach`.
- :meth:`QualityControl.finish` ``(raw)``: once at the end, to add its records to the
  :class:`~labelsim.model.records.RawRun` (reviews, bans, rejections).

The scenario's quality control is :class:`~labelsim.model.qc.ScenarioQuality`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .entities import BatchRun

if TYPE_CHECKING:
    from .clock import AssignmentEnd
    from .core import LabelingModel
    from .performers import Worker
    from .records import RawRun

__all__ = ["QualityControl"]


class QualityControl:
    """No quality control: every submission is accepted at once, everyone may work."""

    #: Call :meth:`on_submitted` for every submission (read once, when the model is built).
    reviews: bool = False
    #: Call :meth:`may_take` before every take (read once, when the model is built).
    limits: bool = False

    def attach(self, model: LabelingModel) -> None:
        """Called once the model's components exist (before the run); keep what you need."""
        self.model = model

    def on_submitted(self, event: AssignmentEnd) -> bool:
        """A submission: True to hold it for review (see the module's docstring)."""
        return False

    def may_take(self, w: Worker, b: BatchRun) -> bool:
        """May ``w`` take a suite of ``b`` now?"""
        return True

    def finish(self, raw: RawRun) -> None:
        """Called once with the run's records at the end: add what the component recorded."""
