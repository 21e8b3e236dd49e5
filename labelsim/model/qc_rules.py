"""The rules of quality control, each a small object with its own random stream (no SimPy here).

- :class:`Reviewer` — when the requester reviews a submission and the verdict (batch ``review``);
- :class:`OverlapRule` — dynamic overlap: after each accepted answer, is the item done or does it
  need another answer (batch ``dynamic_overlap``, group ``agreement``);
- :class:`ControlRule` — control answers per submitted suite and the ban rules (project ``control``);
- :class:`TakeLimits` — per-performer limits per batch and per local calendar day (group ``limits``).

:class:`~labelsim.model.qc.ScenarioQuality` wires them to the model's hooks.
"""

from __future__ import annotations

import bisect
import datetime as _dt
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from ..rng import buffered
from ..scenario import Batch, Project, Scenario
from .entities import BatchRun, Suite

if TYPE_CHECKING:
    from .performers import Worker

__all__ = ["ControlRule", "OverlapRule", "Reviewer", "TakeLimits", "clip01", "local_midnights"]

#: ``generator(name)``: the run's random generator of the source ``name``.
Generator = Callable[[str], np.random.Generator]


def _group_name(w: Worker) -> str | None:
    return w.group.name if w.group is not None else None


class Reviewer:
    """A batch's review: ``verdict(worker) -> (seconds until the verdict, accepted)``.

    The requester reviews after a draw of ``review.delay``; a review later than
    ``auto_accept_after`` (or no ``delay``) is an automatic acceptance at that time.  The
    requester accepts with the performer group's ``acceptance_rate``.

    Streams ``review/{project}/{batch}/delay`` and ``…/verdict``.
    """

    __slots__ = ("auto_s", "delay", "rates", "u")

    def __init__(self, project: str, spec: Batch, rates: dict[str, float], generator: Generator) -> None:
        review = spec.review
        assert review is not None
        self.auto_s = review.auto_accept_after
        self.rates = rates
        key = f"review/{project}/{spec.name}"
        dist = review.delay
        self.delay: Iterator[float] | None = None
        if dist is not None:
            delay_rng = generator(f"{key}/delay")
            self.delay = buffered(lambda n: dist.sample(delay_rng, n))
        u_rng = generator(f"{key}/verdict")
        self.u: Iterator[float] = buffered(lambda n: u_rng.random(n))

    def verdict(self, w: Worker) -> tuple[float, bool]:
        """``(seconds from now, accepted)`` for a submission by ``w``."""
        u = next(self.u)
        if self.delay is None:
            return self.auto_s, True
        delay = max(0.0, float(next(self.delay)))
        if delay >= self.auto_s:
            return self.auto_s, True
        name = _group_name(w)
        return delay, u < (self.rates[name] if name is not None else 1.0)


class OverlapRule:
    """Dynamic overlap of one batch (see :class:`~labelsim.scenario.quality.DynamicOverlap`).

    Per suite it keeps whether all accepted answers so far agree.  After the k-th accepted
    answer (k = ``suite.submitted``), :meth:`decide` says: ``WAIT`` (k < min), ``MORE`` (ask
    one more answer) or ``DONE``.  Answer 1 agrees by definition; answer k ≥ 2 agrees with
    the answering group's ``agreement`` probability.  Mean overlap with one agreement ``a``:
    ``min + (1 − a^(min−1)) · (1 − (1 − a)^(max−min)) / a``
    (:func:`labelsim.theory.dynamic_overlap_mean`).

    Stream ``overlap/{project}/{batch}``.
    """

    WAIT, MORE, DONE = 0, 1, 2
    __slots__ = ("agreement", "disagreed", "high", "low", "u")

    def __init__(self, project: str, spec: Batch, agreement: dict[str, float], generator: Generator) -> None:
        dynamic = spec.dynamic_overlap
        assert dynamic is not None
        self.low, self.high = dynamic.min, dynamic.max
        self.agreement = agreement
        self.disagreed: set[Suite] = set()
        rng = generator(f"overlap/{project}/{spec.name}")
        self.u: Iterator[float] = buffered(lambda n: rng.random(n))

    def decide(self, suite: Suite, w: Worker) -> int:
        """The item's state after its ``suite.submitted``-th accepted answer, given by ``w``."""
        k = suite.submitted
        agrees = True
        if k >= 2:
            name = _group_name(w)
            agrees = next(self.u) < (self.agreement[name] if name is not None else 1.0)
        if k < self.low:
            if not agrees:
                self.disagreed.add(suite)
            return self.WAIT
        if k == self.low:
            unanimous = agrees and suite not in self.disagreed
            self.disagreed.discard(suite)
            if unanimous or k >= self.high:
                return self.DONE
            return self.MORE
        return self.DONE if agrees or k >= self.high else self.MORE


class ControlRule:
    """Control tasks of one project and its ban rules (see :class:`~labelsim.scenario.quality.Control`).

    :meth:`ban` is called for every submitted suite; it draws the suite's control answers
    (Binomial(tasks, share)) and how many are right (Binomial(answers, accuracy of the
    person)), counts fast responses, and says whether the performer is now banned.

    Stream ``control/{project}``.
    """

    __slots__ = ("accuracy", "fast", "max_fast", "min_accuracy", "min_control", "min_spt", "n", "right", "rng",
                 "share")

    def __init__(self, project: Project, accuracy: Callable[[Worker], float], generator: Generator) -> None:
        control = project.control
        assert control is not None
        self.share = control.share
        self.min_control = control.min_control
        self.min_accuracy = control.min_accuracy
        self.min_spt = control.min_seconds_per_task
        self.max_fast = control.max_fast
        self.accuracy = accuracy
        self.rng = generator(f"control/{project.name}")
        self.n: dict[int, int] = {}
        self.right: dict[int, int] = {}
        self.fast: dict[int, int] = {}

    def ban(self, w: Worker, n_tasks: int, work_s: float) -> bool:
        """Score one submitted suite of ``n_tasks`` that took ``work_s`` seconds; True: ban ``w``."""
        pid = w.pid
        k = int(self.rng.binomial(n_tasks, self.share))
        if k:
            self.n[pid] = n = self.n.get(pid, 0) + k
            self.right[pid] = right = self.right.get(pid, 0) + int(self.rng.binomial(k, self.accuracy(w)))
            if self.min_accuracy is not None and n >= self.min_control and right < self.min_accuracy * n:
                return True
        if self.min_spt is not None and work_s < self.min_spt * n_tasks:
            self.fast[pid] = fast = self.fast.get(pid, 0) + 1
            if fast >= self.max_fast:
                return True
        return False


def local_midnights(scenario: Scenario, horizon_s: float) -> list[float]:
    """Seconds from the start of every local midnight after it, up to past ``horizon_s`` (DST-aware)."""
    tz, utc = scenario.tz, _dt.timezone.utc
    start = scenario.start.astimezone(utc)
    day = scenario.start.astimezone(tz).date()
    out = []
    for i in range(1, int(min(horizon_s, 1e9) // 86400) + 3):
        midnight = _dt.datetime.combine(day + _dt.timedelta(days=i), _dt.time(0), tzinfo=tz)
        out.append((midnight.astimezone(utc) - start).total_seconds())
    return out


class TakeLimits:
    """Per-performer limits: suites taken (not skipped) per batch and per local calendar day.

    Args:
        limits: group name -> ``(per_batch, per_day)`` (None = no limit), only groups with limits.
        midnights: local midnights in seconds from the start (:func:`local_midnights`).
    """

    __slots__ = ("by_batch", "by_day", "limits", "midnights")

    def __init__(self, limits: dict[str, tuple[int | None, int | None]], midnights: list[float]) -> None:
        self.limits = limits
        self.midnights = midnights
        self.by_batch: dict[tuple[int, int], int] = {}
        self.by_day: dict[tuple[int, int], int] = {}

    def day(self, now: float) -> int:
        """Local calendar day of ``now`` (0 = the start's day)."""
        return bisect.bisect_right(self.midnights, now)

    def allows(self, w: Worker, b: BatchRun, now: float) -> bool:
        """May ``w`` take one more suite of ``b`` at ``now``?"""
        name = _group_name(w)
        limit = self.limits.get(name) if name is not None else None
        if limit is None:
            return True
        per_batch, per_day = limit
        if per_batch is not None and self.by_batch.get((w.pid, b.idx), 0) >= per_batch:
            return False
        return per_day is None or self.by_day.get((w.pid, self.day(now)), 0) < per_day

    def carry(self, pid: int, b: BatchRun, n: int) -> None:
        """``n`` suites of ``b`` done by ``pid`` before the start (a live state's ``done``; per batch only)."""
        key = (pid, b.idx)
        self.by_batch[key] = self.by_batch.get(key, 0) + n

    def count(self, w: Worker, b: BatchRun, now: float) -> None:
        """``w`` took a suite of ``b`` at ``now`` (a skip is not counted)."""
        name = _group_name(w)
        if name is None or name not in self.limits:
            return
        key = (w.pid, b.idx)
        self.by_batch[key] = self.by_batch.get(key, 0) + 1
        day = (w.pid, self.day(now))
        self.by_day[day] = self.by_day.get(day, 0) + 1


def clip01(x: float) -> float:
    """``x`` clipped to 0..1 (NaN -> 0)."""
    return 0.0 if not x > 0 else 1.0 if x > 1 else float(x)

