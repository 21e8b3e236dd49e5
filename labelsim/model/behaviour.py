"""Performer behaviours: what a performer does with a suite it took.

A behaviour is one object per performer group with one method,
``decide(worker, suite, batch) -> (outcome, seconds until the assignment ends)``.
:class:`StandardBehaviour` is the scenario's skip/abandon rates and task times; a
new behaviour (fatigue, learning, cherry-picking…) is a new class with that method,
given to the group (:class:`~labelsim.model.performers.PerformerGroup`'s ``behaviour``).
``decide`` runs once per assignment: keep it lean (no allocation beyond its result).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..rng import buffered
from ..scenario import CrowdGroup, TeamGroup
from ..vocabulary import ABANDONED, EXPIRED, SKIPPED, SUBMITTED
from .entities import BatchRun, Suite

if TYPE_CHECKING:
    from .performers import Worker

__all__ = ["Behaviour", "Generator", "StandardBehaviour"]

#: ``generator(name)``: the run's random generator of the source ``name`` (:meth:`RandomStreams.generator`).
Generator = Callable[[str], np.random.Generator]


class Behaviour(Protocol):
    """What a performer does with a suite it took."""

    def decide(self, w: Worker, suite: Suite, b: BatchRun) -> tuple[int, float]:
        """``(outcome, seconds until the assignment ends)``; outcome is a :mod:`labelsim.vocabulary` code."""
        ...


class StandardBehaviour:
    """Skip (at once) or abandon (held until the time limit) at the group's rates; otherwise
    work the suite's tasks (sum of task seconds × the person's speed), expiring at the time limit.

    Streams (each its own generator, keyed by the group's name): ``task`` task seconds,
    ``u`` uniforms deciding skip/abandon.
    """

    __slots__ = ("skip", "skip_or_abandon", "task", "u")

    def __init__(self, spec: CrowdGroup | TeamGroup, generator: Generator) -> None:
        self.skip = spec.skip_rate
        self.skip_or_abandon = spec.skip_rate + spec.abandon_rate
        tasks_rng = generator(f"{spec.name}/task-seconds")
        self.task: Iterator[float] = buffered(lambda n: spec.seconds_per_task.sample(tasks_rng, n))
        u_rng = generator(f"{spec.name}/outcomes")
        self.u: Iterator[float] = buffered(lambda n: u_rng.random(n))

    def decide(self, w: Worker, suite: Suite, b: BatchRun) -> tuple[int, float]:
        """See :meth:`Behaviour.decide`."""
        u = next(self.u)
        if u < self.skip:
            return SKIPPED, 0.0
        if u < self.skip_or_abandon:
            return ABANDONED, b.time_limit
        tasks = suite.n_tasks
        work = (next(self.task) if tasks == 1 else math.fsum(islice(self.task, tasks))) * w.speed
        if work > b.time_limit:
            return EXPIRED, b.time_limit
        return SUBMITTED, work
