"""Performers: crowd sessions and in-house teams, and what a performer does with a suite.

Each performer group of the scenario becomes one :class:`PerformerGroup` at run
time (:class:`Crowd` or :class:`Team`).  A group owns

- a **behaviour** object (:mod:`~labelsim.model.behaviour`): ``decide(worker, suite, batch)``
  says what the performer does with a suite it took — the outcome code and the
  seconds until the assignment ends.  A new behaviour is a new class with that one
  method, plugged in by group name (``behaviours=`` of :func:`build_groups` and of
  :class:`~labelsim.model.core.LabelingModel`);
- its arrivals (crowd sessions) or shifts (team members), scheduled on the clock;
- :meth:`PerformerGroup.after`: what a member does once an assignment ended.

Groups talk to the rest of the model through :class:`~labelsim.model.dispatch.Dispatcher`
(``next_work``, ``idle``, ``groups_offer``) and the :class:`~labelsim.model.recorder.Recorder`
(performer names and sessions).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..calendar import WEEKDAYS, rate_segments, shift_intervals
from ..rng import RandomStreams, buffered
from ..scenario import CrowdGroup, Scenario, TeamGroup
from ..vocabulary import ABANDONED
from .arrivals import AgeDecay
from .behaviour import Behaviour, Generator, StandardBehaviour
from .clock import Call, Clock

if TYPE_CHECKING:
    from .dispatch import Dispatcher
    from .recorder import Recorder

__all__ = [
    "AgeDecay",
    "ArrivalIntensity",
    "Behaviour",
    "BehaviourFactory",
    "Crowd",
    "PerformerGroup",
    "StandardBehaviour",
    "Team",
    "Worker",
    "build_groups",
    "zipf_exponent",
]


class Worker:
    """A performer at work: a team member, or one crowd session of a person.

    ``left`` counts the suites a crowd session may still take; ``group`` is None
    only for the stand-in of work in flight before the start.
    """

    __slots__ = ("busy", "group", "left", "on_shift", "pid", "speed")

    def __init__(self, pid: int, group: PerformerGroup | None, speed: float, left: int = 0) -> None:
        self.pid = pid
        self.group = group
        self.speed = speed
        self.left = left
        self.on_shift = False
        self.busy = False


class ArrivalIntensity(Protocol):
    """A multiplier of a crowd group's session rate, e.g. by batch age (:class:`~labelsim.model.arrivals.AgeDecay`).

    A crowd with an intensity draws candidate sessions at ``bound(now)`` times its base rate and
    keeps one arriving at ``t`` with probability ``factor(t) / bound(now)`` (thinning, with a uniform
    from its own stream ``"{group}/thinning"``), so other streams do not shift.
    """

    def bound(self, now: float) -> float:
        """An upper bound of :meth:`factor` over ``[now, ∞)`` (> 0)."""
        ...

    def factor(self, now: float) -> float:
        """The multiplier at ``now`` (seconds from the start), 0 ≤ factor ≤ peak."""
        ...


class PerformerGroup:
    """A performer group's runtime: members' speeds, behaviour, arrivals or shifts.

    Attributes:
        decide: the behaviour's bound ``decide`` (cached: it runs for every assignment).
        base_pid: performer ids of the group are ``base_pid .. base_pid + size - 1``.
        speeds: per person speed factor (1.0 when the scenario gives none).
    """

    def __init__(
        self,
        spec: CrowdGroup | TeamGroup,
        base_pid: int,
        generator: Generator,
        behaviour: Behaviour | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.base_pid = base_pid
        self.behaviour: Behaviour = behaviour if behaviour is not None else StandardBehaviour(spec, generator)
        self.decide = self.behaviour.decide
        size = spec.size if isinstance(spec, TeamGroup) else spec.population
        if spec.speed is None:
            self.speeds: list[float] = [1.0] * size
        else:
            self.speeds = spec.speed.sample(generator(f"{spec.name}/speed"), size).tolist()
        self.size = size

    def attach(self, clock: Clock, dispatch: Dispatcher, recorder: Recorder, scenario: Scenario) -> None:
        """Connect to the model and schedule the group's arrivals or shifts."""
        self.clock = clock
        self.recorder = recorder
        self.dispatch = dispatch
        self.next_work = dispatch.next_work
        self.idle = dispatch.idle
        self.start(scenario)

    def start(self, scenario: Scenario) -> None:
        """Schedule arrivals or shifts (subclasses)."""
        raise NotImplementedError

    def after(self, w: Worker, outcome: int) -> None:
        """``w``'s assignment just ended with ``outcome``: take more work, wait, or leave."""
        raise NotImplementedError


class Team(PerformerGroup):
    """An in-house team: ``size`` members working on shifts (always on without shifts).

    An idle member on shift waits in the dispatcher's ``idle`` dict (longest idle first).
    """

    def start(self, scenario: Scenario) -> None:
        spec = self.spec
        assert isinstance(spec, TeamGroup)
        if spec.shifts is None:
            intervals = [(0.0, math.inf)]
        else:
            shifts = [(frozenset(WEEKDAYS.index(d) for d in s.days), s.start, s.end) for s in spec.shifts]
            intervals = shift_intervals(scenario.start, scenario.tz, self.clock.horizon, shifts)
        call = self.clock.call
        for i in range(self.size):
            pid = self.base_pid + i
            worker = Worker(pid, self, self.speeds[i])
            self.recorder.new_performer(pid, f"{self.name}-{i + 1}", self.name)
            for on, off in intervals:
                call(on, self._on_shift_start, worker)
                if off < math.inf:
                    call(off, self._on_shift_end, worker)

    def _on_shift_start(self, event: object) -> None:
        w: Worker = event._value  # type: ignore[attr-defined]
        w.on_shift = True
        if not w.busy and not self.next_work(w):
            self.idle[w] = None

    def _on_shift_end(self, event: object) -> None:
        w: Worker = event._value  # type: ignore[attr-defined]
        w.on_shift = False
        self.idle.pop(w, None)

    def after(self, w: Worker, outcome: int) -> None:
        if w.on_shift and not self.next_work(w):
            self.idle[w] = None


def zipf_exponent(population: int, top10_share: float) -> float:
    """The exponent a of weights i^-a under which the top 10 % of people hold ``top10_share``."""
    top = max(1, math.ceil(population * 0.1))
    ranks = np.arange(1, population + 1, dtype=float)

    def share(a: float) -> float:
        weights = ranks**-a
        return float(weights[:top].sum() / weights.sum())

    if share(0.0) >= top10_share:
        return 0.0
    low, high = 0.0, 1.0
    while share(high) < top10_share and high < 64:
        high *= 2
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if share(mid) < top10_share else (low, mid)
    return (low + high) / 2


class Crowd(PerformerGroup):
    """Crowd sessions: a non-homogeneous Poisson stream by hour of day and day of week.

    A session belongs to one person, drawn by activity (Zipf weights fitted to
    ``top10_share``); a person already in a session is drawn again.  A session takes
    up to ``suites_per_session`` suites and ends early on an abandoned suite or when
    nothing is offered to it.

    Streams: ``gap`` unit exponentials for arrivals, ``person`` who a session belongs
    to, ``length`` suites per session.

    Attributes:
        intensity: hook for an arrival-rate multiplier (:class:`ArrivalIntensity`); None = off.
        in_session: performer ids of people in a session now.
    """

    def __init__(
        self,
        spec: CrowdGroup,
        base_pid: int,
        generator: Generator,
        behaviour: Behaviour | None = None,
    ) -> None:
        super().__init__(spec, base_pid, generator, behaviour)
        self.intensity: ArrivalIntensity | None = None
        self.visibility = float(spec.open_work_exponent)
        self.thin_bound = 1.0
        self.in_session: set[int] = set()
        gap_rng = generator(f"{spec.name}/arrivals")
        self.gap: Iterator[float] = buffered(lambda n: gap_rng.exponential(1.0, n), 256)
        share = spec.top10_share_of_work if spec.top10_share_of_work is not None else spec.top10_share
        weights = np.arange(1, spec.population + 1, dtype=float) ** -zipf_exponent(spec.population, share)
        cdf = np.cumsum(weights / weights.sum())
        cdf[-1] = 1.0
        person_rng = generator(f"{spec.name}/people")
        self.person: Iterator[int] = buffered(  # type: ignore[assignment]  # ints, drawn as an int array
            lambda n: np.searchsorted(cdf, person_rng.random(n), side="right"), 256
        )
        length_rng = generator(f"{spec.name}/session-length")
        dist = spec.suites_per_session
        self.length: Iterator[int] = buffered(  # type: ignore[assignment]  # ints, drawn as an int array
            lambda n: np.maximum(1, np.rint(dist.sample(length_rng, n))).astype(int), 256
        )
        self.segments: list[tuple[float, float, float]] = []
        self.segment = 0
        thin_rng = generator(f"{spec.name}/thinning")
        self.thin: Iterator[float] = buffered(lambda n: thin_rng.random(n), 256)

    def start(self, scenario: Scenario) -> None:
        spec = self.spec
        assert isinstance(spec, CrowdGroup)
        self.intensity = AgeDecay.of(spec, scenario)
        self.segments = rate_segments(
            scenario.start, scenario.tz, self.clock.horizon,
            spec.sessions_per_hour / 3600.0, spec.activity.hourly, spec.activity.weekly,
        )
        self.segment = 0
        self._next_session(0.0)

    def _next_session(self, now: float) -> None:
        """Schedule the group's next (candidate) session (non-homogeneous Poisson, by inversion)."""
        need = next(self.gap)
        if self.intensity is not None:
            self.thin_bound = self.intensity.bound(now)
            need /= self.thin_bound
        segments, k, t = self.segments, self.segment, now
        while k < len(segments):
            t0, t1, rate = segments[k]
            t = max(t, t0)
            if rate > 0 and rate * (t1 - t) >= need:
                self.segment = k
                Call(self.clock.env, t + need / rate - now, self._on_session)
                return
            need -= rate * (t1 - t)
            k += 1
        self.segment = k

    def _on_session(self, _event: object) -> None:
        intensity = self.intensity
        if intensity is not None or self.visibility:
            factor = intensity.factor(self.clock.env.now) if intensity is not None else 1.0
            if self.visibility:
                factor *= self._open_share() ** self.visibility
            if next(self.thin) * self.thin_bound > factor:
                self._next_session(self.clock.env.now)  # thinned out: this arrival does not happen
                return
        person = self._free_person()
        pid = self.base_pid + person
        recorder = self.recorder
        if pid not in recorder.performer_names:
            width = len(str(self.size))
            recorder.new_performer(pid, f"{self.name}-{person + 1:0{width}d}", self.name)
        recorder.sessions[pid] += 1
        length = next(self.length)
        if self.dispatch.groups_offer:  # else nothing is offered: the session ends at once
            worker = Worker(pid, self, self.speeds[person], length)
            if self.next_work(worker):
                self.in_session.add(pid)
        self._next_session(self.clock.env.now)

    def _open_share(self) -> float:
        """The share of the Processing batches' work that is open now: assignments they could hand out ÷ all
        they need (1 when none is on offer: the session then finds nothing anyway)."""
        open_slots = needed = 0
        for group in self.dispatch.groups_offer:
            for b in group:
                open_slots += b.open_slots
                needed += b.needed
        return min(1.0, open_slots / needed) if needed else 1.0

    def _free_person(self, tries: int = 20) -> int:
        """Who a new session belongs to: a person of the group not in a session already.

        People are drawn by activity; one who is mid-session is drawn again (up to
        ``tries`` times; then, rarely, a person gets a second session at once).
        """
        for _ in range(tries):
            person = next(self.person)
            if self.base_pid + person not in self.in_session:
                return person
        return person

    def after(self, w: Worker, outcome: int) -> None:
        w.left -= 1
        if not (w.left > 0 and outcome != ABANDONED and self.next_work(w)):
            self.in_session.discard(w.pid)  # the session ends


#: Builds a group's behaviour from its specification and the run's ``generator(name)``.
BehaviourFactory = Callable[[CrowdGroup | TeamGroup, Generator], Behaviour]


def build_groups(
    scenario: Scenario, streams: RandomStreams, behaviours: Mapping[str, BehaviourFactory] | None = None,
) -> list[PerformerGroup]:
    """One runtime group per performer group of ``scenario``, with consecutive performer ids.

    Args:
        behaviours: group name -> behaviour factory, for groups that do not use :class:`StandardBehaviour`.
    """
    groups: list[PerformerGroup] = []
    base = 0
    for spec in scenario.performers:
        factory = (behaviours or {}).get(spec.name)
        behaviour = factory(spec, streams.generator) if factory is not None else None
        group: PerformerGroup
        if isinstance(spec, TeamGroup):
            group = Team(spec, base, streams.generator, behaviour)
        else:
            group = Crowd(spec, base, streams.generator, behaviour)
        groups.append(group)
        base += group.size
    return groups
