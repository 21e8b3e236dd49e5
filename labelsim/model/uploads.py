"""Items arriving in batches: uploads (at once, or at an upload rate while Loading) and item streams.

An upload with a rate keeps the batch Loading until it finishes; its suites join the
pool then.  An item stream is a Poisson process: one event per suite (when the
suite's last item arrives), not per item; items after the stream's ``until`` never
arrive and those before it that do not fill a suite join at ``until``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from ..rng import RandomStreams, buffered
from ..scenario import Scenario
from ..vocabulary import PROCESSING
from .clock import Call, Clock
from .dispatch import Dispatcher
from .entities import BatchRun

__all__ = ["Uploads"]


class _StreamState:
    """A batch's item stream: inter-arrival gaps, end time, items left, last arrival time."""

    __slots__ = ("batch", "gaps", "left", "t", "until")

    def __init__(self, batch: BatchRun, gaps: Iterator[float], until: float, left: float, t: float) -> None:
        self.batch, self.gaps, self.until, self.left, self.t = batch, gaps, until, left, t


class Uploads:
    """Puts new items into batches.

    Args:
        clock: the run's clock (uploads and streams count as pending while they run).
        dispatch: offers new suites of Processing batches to idle members.
        update: the model's status update.
    """

    def __init__(self, clock: Clock, dispatch: Dispatcher, update: Callable[[], None]) -> None:
        self.clock = clock
        self.env = clock.env
        self.dispatch = dispatch
        self.idle = dispatch.idle
        self.account = dispatch.account
        self.update = update
        self._suite_done = self._on_stream_suite  # bound once: one event per streamed suite

    def upload(self, b: BatchRun, n_items: int) -> None:
        """Upload ``n_items`` (already counted in ``items_total``): at once, or over
        time at the batch's upload rate, during which the batch is Loading."""
        if n_items <= 0:
            return
        clock = self.clock
        now = clock.env.now
        if b.upload_rate is None:
            b.add_suites(n_items, now)
            self.dispatch.new_work(b)
            return
        b.loading += 1
        start = max(now, b.loading_end)
        b.loading_end = start + n_items / b.upload_rate
        clock.pending += 1
        clock.call(b.loading_end - now, self._on_loaded, (b, n_items))

    def _on_loaded(self, event: object) -> None:
        b, n_items = event._value  # type: ignore[attr-defined]
        b.add_suites(n_items, self.clock.env.now)
        b.loading -= 1
        self.clock.done()
        self.update()

    # ------------------------------------------------------------------ streams

    def start_stream(self, b: BatchRun, scenario: Scenario, streams: RandomStreams) -> None:
        """Start ``b``'s item stream (``spec.stream``) with its own random stream."""
        stream = b.spec.stream
        assert stream is not None
        rng = streams.generator(f"stream/{b.project}/{b.name}")
        gaps = buffered(lambda n: rng.exponential(1.0 / stream.rate, n))
        start = scenario.offset_s(stream.start)
        until = scenario.offset_s(stream.until) if stream.until is not None else math.inf
        b.streaming = True
        state = _StreamState(b, gaps, until, stream.items or math.inf, start)
        self.clock.pending += 1  # the stream itself, until it ends
        self._next_suite(state, 0.0)

    def _next_suite(self, state: _StreamState, now: float) -> None:
        """Schedule when the stream completes its next suite."""
        b = state.batch
        size = b.tasks_per_suite if state.left >= b.tasks_per_suite else int(state.left)
        t, arrived, gaps, until = state.t, 0, state.gaps, state.until
        while arrived < size:
            t_next = t + next(gaps)
            if t_next > until:
                Call(self.env, until - now, self._on_stream_end, (state, arrived))
                return
            t, arrived = t_next, arrived + 1
        state.t = t
        Call(self.env, t - now, self._suite_done, state)

    def _on_stream_suite(self, event: object) -> None:
        state: _StreamState = event._value  # type: ignore[attr-defined]
        b = state.batch
        now = self.env._now  # Environment.now without the property call
        size = b.tasks_per_suite
        n = size if state.left >= size else int(state.left)
        self._stream_items(b, n, now)
        state.left -= n
        if state.left <= 0:
            self._end_stream(b)
        elif size == 1 and state.left >= 1:  # _next_suite written out for one-item suites (one event per item)
            t = state.t + next(state.gaps)
            if t > state.until:
                Call(self.env, state.until - now, self._on_stream_end, (state, 0))
            else:
                state.t = t
                event.rearm(t - now, self._suite_done)  # type: ignore[attr-defined]  # this event, once more
        else:
            self._next_suite(state, now)

    def _stream_items(self, b: BatchRun, n: int, now: float) -> None:
        b.items_total += n
        b.add_suite(n, now)
        if b.status is PROCESSING:
            account = self.account
            if account.balance - account.reserved < b.cost:
                self.dispatch.new_work(b)  # stops it
            elif self.idle:
                self.dispatch.offer(b)  # what new_work does when the money suffices

    def _on_stream_end(self, event: object) -> None:
        state, partial = event._value  # type: ignore[attr-defined]
        if partial:
            self._stream_items(state.batch, partial, self.clock.env.now)
        self._end_stream(state.batch)

    def _end_stream(self, b: BatchRun) -> None:
        b.streaming = False
        self.clock.done()
        self.update()
