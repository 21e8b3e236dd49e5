"""Fast paths of the engine and of frame building behave as the general ones."""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np
import pytest

from labelsim.model.records import RECORD_FIELDS
from labelsim.results import _assignment_table, _in_end_order


class _Raw:
    """Just the records, as :class:`~labelsim.model.records.RawRun` keeps them."""

    def __init__(self, table: np.ndarray) -> None:
        self.records = array("d", table.ravel().tolist())

    def table(self) -> np.ndarray:
        return np.frombuffer(self.records, dtype=float).reshape(-1, len(RECORD_FIELDS))


@pytest.mark.parametrize("unfinished", [0, 5])
@pytest.mark.parametrize("in_end_order", [True, False])
def test_assignment_table_is_lexsorted_by_reservation_then_end(unfinished: int, in_end_order: bool) -> None:
    rng = np.random.default_rng(0)
    n = 400
    table = np.zeros((n, len(RECORD_FIELDS)))
    table[:, 4] = rng.integers(0, 40, n)  # many equal reservation times
    table[:, 5] = table[:, 4] + rng.integers(0, 5, n)  # and equal end times
    table[:, 7] = np.arange(n)  # identifies a row
    if in_end_order:
        table = table[np.argsort(table[:, 5], kind="stable")]
    if unfinished:
        table[-unfinished:, 5] = np.nan
    assert _in_end_order(table[:, 5]) == in_end_order
    expected = table[np.lexsort((table[:, 5], table[:, 4]))]
    np.testing.assert_array_equal(_assignment_table(_Raw(table)), expected)  # type: ignore[arg-type]


def test_in_end_order_needs_unfinished_last() -> None:
    assert _in_end_order(np.array([1.0, 2.0, np.nan, np.nan]))
    assert not _in_end_order(np.array([1.0, np.nan, 2.0]))
    assert not _in_end_order(np.array([2.0, 1.0, np.nan]))
    assert _in_end_order(np.array([], dtype=float))


# ---------------------------------------------------------------------------- the clock's fast paths


def test_rearmed_call_runs_again_and_refuses_while_scheduled() -> None:
    from labelsim.model.clock import Call, Clock

    clock = Clock(100.0)
    seen: list[tuple[float, object]] = []

    def tick(event: Any) -> None:
        seen.append((clock.now, event._value))
        if len(seen) < 3:
            event.rearm(10.0, tick)

    first = Call(clock.env, 5.0, tick, "payload")
    with pytest.raises(RuntimeError, match="still scheduled"):
        first.rearm(1.0, tick)
    clock.call(50.0, lambda _event: clock.stop("done"))
    clock.run()
    assert seen == [(5.0, "payload"), (15.0, "payload"), (25.0, "payload")]
    assert clock.now == 50.0


def test_clock_run_crashes_on_a_failed_event_like_simpy() -> None:
    from labelsim.model.clock import Clock

    clock = Clock(100.0)
    clock.env.event().fail(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        clock.run()

    defused = Clock(100.0)
    event = defused.env.event()
    event.fail(ValueError("boom"))
    event.defused = True
    defused.call(1.0, lambda _event: defused.stop("done"))
    defused.run()
    assert defused.stop_reason == "done"
