"""The model's clock: SimPy's environment, plain callback events and the run's lifecycle.

Every timed thing in the model is a :class:`Call`: a SimPy event that runs one
callback ``delay`` seconds from now, with its payload in ``_value``.  There is no
SimPy process per performer or per item, so one assignment costs two events
(taking a suite is immediate; its end is one :class:`AssignmentEnd`).
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush

import simpy
from simpy.core import NORMAL, URGENT, StopSimulation
from simpy.events import Event

__all__ = ["AssignmentEnd", "Call", "Callback", "Clock", "SimTime"]

#: Simulation time: seconds from the scenario's start.
SimTime = float
#: What a :class:`Call` runs: ``fn(event)``; the payload is ``event._value``.
Callback = Callable[[Event], None]


class Call(Event):
    """A callback event: ``fn(event)`` runs ``delay`` seconds from now; payload in ``_value``.

    It is created triggered (``ok``) and put on SimPy's event queue directly, as
    :meth:`simpy.Environment.schedule` would (one method call less per event).
    """

    _ok = True  # a Call never fails: class-level, not set per event

    def __init__(self, env: simpy.Environment, delay: SimTime, fn: Callback, value: object = None) -> None:
        self.env = env
        self.callbacks = [fn]
        self._value = value
        heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), self))  # env.schedule(self, NORMAL, delay)

    def rearm(self, delay: SimTime, fn: Callback) -> None:
        """Schedule this Call, already processed, once more: ``fn(self)`` runs ``delay`` seconds from now.

        The same as a new ``Call(env, delay, fn, self._value)`` without creating one.  Only for a
        processed Call that nothing else refers to (a source that has one event scheduled at a time,
        such as an item stream, from its own callback).
        """
        if self.callbacks is not None:
            raise RuntimeError("rearm: the event is still scheduled")
        env = self.env
        self.callbacks = [fn]
        heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), self))


class AssignmentEnd(Call):
    """The end of an assignment.

    Payload ``(worker, suite, batch, available_s, reserved_s, outcome, cost, reserve_seq)``; the
    model keeps every scheduled one in its in-flight registry until it fires.
    """


class Clock:
    """SimPy's environment plus the run's lifecycle: horizon, pending requester actions, stop.

    Attributes:
        env: the SimPy environment (its ``now`` is seconds from the start).
        horizon: the run stops at this time (seconds) at the latest.
        pending: scheduled things that can still change a batch without a performer (requester
            actions, uploads, item streams); the run settles early only when it is 0.
        stop_reason: ``"horizon"`` or ``"settled"``.
        finished: the event :meth:`run` waits for.
    """

    __slots__ = ("env", "finished", "horizon", "pending", "stop_reason")

    def __init__(self, horizon: SimTime) -> None:
        self.env = simpy.Environment()
        self.horizon = horizon
        self.pending = 0
        self.stop_reason = "horizon"
        self.finished = self.env.event()

    @property
    def now(self) -> SimTime:
        """Seconds since the start."""
        return self.env.now

    def call(self, delay: SimTime, fn: Callback, value: object = None) -> Call:
        """Run ``fn(event)`` ``delay`` seconds from now."""
        return Call(self.env, delay, fn, value)

    def schedule(self, at_s: SimTime, fn: Callback, value: object = None) -> None:
        """Schedule an action at ``at_s`` (ignored beyond the horizon) and count it as pending.

        The callback must call :meth:`done` once the action has happened.
        """
        if at_s > self.horizon:
            return
        self.pending += 1
        Call(self.env, max(0.0, at_s - self.env.now), fn, value)

    def done(self) -> None:
        """One pending action happened."""
        self.pending -= 1

    @property
    def stopped(self) -> bool:
        """True once the run was told to stop."""
        return self.finished.triggered

    def stop(self, reason: str) -> None:
        """Stop the run at the current time (the first reason wins)."""
        if not self.finished.triggered:
            self.stop_reason = reason
            self.finished.succeed()

    def run(self) -> None:
        """Process events until :meth:`stop`.

        The same as ``env.run(until=self.finished)``, with :meth:`simpy.Environment.step`
        written out in one loop (one method call and two attribute lookups less per event):
        pop the next event, advance the clock, run its callbacks, crash on a failed event
        nobody defused.
        """
        env, finished = self.env, self.finished
        if finished.callbacks is None:
            return
        finished.callbacks.append(StopSimulation.callback)
        queue = env._queue
        try:
            while queue:
                env._now, _, _, event = heappop(queue)
                callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]  # as SimPy does
                for callback in callbacks:
                    callback(event)
                if not event._ok and not hasattr(event, "_defused"):
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    raise exc
        except StopSimulation:  # as Environment.step: the until event keeps its other callbacks, rescheduled
            event.callbacks = callbacks[callbacks.index(callback) + 1:]
            env.schedule(event, URGENT)
            return
        raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {finished}')

    def events_scheduled(self) -> int:
        """SimPy events scheduled so far (SimPy's event counter)."""
        return next(self.env._eid)
