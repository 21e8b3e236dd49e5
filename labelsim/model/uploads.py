"""Items arriving in batches: uploads (at once, or at an upload rate while Loading) and item streams.

An upload goes to the platform in requests of at most
:data:`~labelsim.model.entities.MAX_UPLOAD_ITEMS` items, one after another.  With an
upload rate, a request of ``k`` items takes ``k / upload_rate + request_time`` seconds
and its suites join the pool when it ends (a suite never spans two requests); uploads
queue behind the batch's earlier ones.  The batch shows Loading while a request is
under way *and* it has no loaded work left (see :mod:`~labelsim.model.status`), so a
running batch keeps handing out its loaded suites while more items load.  Without an
upload rate every request loads at once.

An item stream is a Poisson process: one event per suite (when the suite's last item
arrives), not per item; items after the stream's ``until`` never arrive and those
before it that do not fill a suite join at ``until``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from ..rng import RandomStreams, buffered
from ..scenario import Scenario
from ..vocabulary import PROCESSING
from .clock import Call, Clock
from .dispatch import Dispatcher
from .entities import MAX_UPLOAD_ITEMS, BatchRun

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
        request_time: seconds each upload request takes on top of its items' time at the
            upload rate (``policy.upload_request_time``; uploads without a rate are instant).
    """

    def __init__(
        self, clock: Clock, dispatch: Dispatcher, update: Callable[[], None], *, request_time: float = 0.0,
    ) -> None:
        self.clock = clock
        self.request_time = request_time
        self.env = clock.env
        self.dispatch = dispatch
        self.idle = dispatch.idle
        self.account = dispatch.account
        self.update = update
        self._suite_done = self._on_stream_suite  # bound once: one event per streamed suite

    def upload(self, b: BatchRun, n_items: int) -> None:
        """Upload ``n_items`` (already counted in ``items_total``) in requests of at most
        :data:`MAX_UPLOAD_ITEMS`: at once, or one request after another at the batch's upload rate."""
        if n_items <= 0:
            return
        clock = self.clock
        now = clock.env.now
        if b.upload_rate is None:
            while n_items > 0:
                k = min(n_items, MAX_UPLOAD_ITEMS)
                b.add_suites(k, now)
                n_items -= k
            self.dispatch.new_work(b)
            return
        t = max(now, b.loading_end)
        while n_items > 0:
            k = min(n_items, MAX_UPLOAD_ITEMS)
            t += k / b.upload_rate + self.request_time
            b.loading += 1
            clock.pending += 1
            clock.call(t - now, self._on_loaded, (b, k))
            n_items -= k
        b.loading_end = t

    def _on_loaded(self, event: object) -> None:
        """One upload request finished: its suites join the pool (and are offered if the batch runs)."""
        b, n_items = event._value  # type: ignore[attr-defined]
        b.add_suites(n_items, self.clock.env.now)
        b.loading -= 1
        self.clock.done()
        self.update()
        self.dispatch.new_work(b)

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
