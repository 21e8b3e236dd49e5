"""Quality-control settings of a scenario: review, dynamic overlap, control tasks (golden set).

Where each knob lives (see the README's "Quality control"):

- batch ``review: {delay, auto_accept_after}`` — the requester reviews submitted work;
- batch ``dynamic_overlap: {min, max}`` — each item needs ``min..max`` answers, more while they disagree;
- batch ``price_per_item`` — the price per item, instead of ``reward`` per assignment;
- project ``control: {share, min_control, min_accuracy, min_seconds_per_task, max_fast}`` — control
  tasks and the bans they trigger (a ban is from the whole project);
- performer group ``acceptance_rate``, ``agreement``, ``control_accuracy`` and ``limits`` (in
  :mod:`.schema`).

Times are durations (``2h``, ``7d``) stored in seconds; distributions are in seconds.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from ..distributions import Distribution
from .fields import Count, PositiveDuration, _Model

__all__ = ["Control", "DynamicOverlap", "Review"]

#: Default auto-accept period of a reviewed batch (seconds): 7 days.
AUTO_ACCEPT_S = 7 * 86400.0


class Review(_Model):
    """The requester reviews each submitted assignment of the batch.

    ``delay`` (a distribution in **seconds**, from the submission) is when the requester
    reviews it; the verdict is *accepted* with the performer group's ``acceptance_rate``,
    else *rejected*.  A submission not reviewed within ``auto_accept_after`` (default 7 days;
    always, if ``delay`` is absent) is accepted then.  An accepted assignment is charged
    and counts toward its item; a rejected one is not charged (its reservation is released)
    and its suite goes back to the pool for another performer.
    """

    delay: Distribution | None = None
    auto_accept_after: PositiveDuration = AUTO_ACCEPT_S


class DynamicOverlap(_Model):
    """Each item (suite) needs between ``min`` and ``max`` accepted answers.

    Rule: answers 2..min each agree with the answers before them with the answering
    performer group's ``agreement`` probability.  If all of the first ``min`` agree, the item
    is done with ``min``; otherwise one more answer is requested at a time, until one agrees
    with the majority (probability ``agreement`` each) or ``max`` answers were given.  With
    one agreement probability ``a`` the mean overlap is
    ``min + (1 − a^(min−1)) · (1 − (1 − a)^(max−min)) / a``.
    """

    min: Count = Field(ge=1, le=30000)
    max: Count = Field(ge=1, le=30000)

    @model_validator(mode="after")
    def _ordered(self) -> DynamicOverlap:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class Control(_Model):
    """Control tasks (a golden set) mixed into a project's suites, and the bans they trigger.

    Each task of a submitted suite is a control task with probability ``share`` (drawn per
    suite; the suite's items and work time are as the batch and group say).  A performer
    answers a control task correctly with their ``control_accuracy`` (their group's).  A
    performer is banned from the project (takes no more suites of any of its batches) when,
    after at least ``min_control`` control answers, the share correct is below
    ``min_accuracy``; or when ``max_fast`` of their submitted suites took less than
    ``min_seconds_per_task`` per task ("fast responses").  Absent thresholds ban nobody.
    """

    share: float = Field(gt=0, le=1, description="share of tasks that are control tasks")
    min_control: Count = Field(default=10, ge=1, description="control answers before the accuracy rule applies")
    min_accuracy: float | None = Field(default=None, ge=0, le=1)
    min_seconds_per_task: PositiveDuration | None = None
    max_fast: Count = Field(default=1, ge=1, description="fast responses that trigger a ban")
