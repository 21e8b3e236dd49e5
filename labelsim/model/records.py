"""Plain records a model run produces, and the batch state machine's edges."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "ABANDONED",
    "ALLOWED_TRANSITIONS",
    "EXPIRED",
    "IN_FLIGHT",
    "OUTCOME_NAMES",
    "RECORD_FIELDS",
    "SKIPPED",
    "SUBMITTED",
    "RawRun",
]

#: Fields of one assignment record in :attr:`RawRun.records` (all stored as floats).
#: ``reserve_seq``/``end_seq`` order money movements that happen at the same instant.
RECORD_FIELDS: tuple[str, ...] = (
    "batch_index", "suite", "performer_id", "available_s", "reserved_s", "ended_s", "outcome",
    "reserve_seq", "end_seq",
)

# Assignment outcomes (codes in RawRun records).
SUBMITTED, EXPIRED, SKIPPED, ABANDONED, IN_FLIGHT = 0, 1, 2, 3, 4
#: Outcome code -> the word in the assignments frame (an abandoned suite EXPIRES).
OUTCOME_NAMES: dict[int, str] = {
    SUBMITTED: "submitted",
    EXPIRED: "expired",
    SKIPPED: "skipped",
    ABANDONED: "expired",
    IN_FLIGHT: "in_flight",
}

_LAUNCHED = ("Loading", "Queued", "Processing", "No money", "Stopping", "Stopped")

#: Status -> statuses it may change to (DOMAIN.md's table plus labelsim's choices:
#: pause works from every launched status; a higher-queue launch or a queue
#: change can send a Processing batch back to Queued; uploads while running
#: return it to Loading; Archive returns to any status on unarchive).
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "New": frozenset({"Loading", "Queued", "Processing", "No money", "Completed", "Archive"}),
    "Loading": frozenset(
        {"Queued", "Processing", "No money", "Stopping", "Stopped", "Completed",
         "Canceled", "Error", "Archive"}
    ),
    "Queued": frozenset(
        {"Processing", "Loading", "No money", "Stopping", "Stopped", "Completed",
         "Canceled", "Error", "Archive"}
    ),
    "Processing": frozenset(
        {"Completed", "Stopping", "Stopped", "No money", "Queued", "Loading", "Canceled", "Error"}
    ),
    "No money": frozenset(  # Completed: only when work in flight at the start finishes the batch
        {"Processing", "Queued", "Loading", "Stopping", "Stopped", "Completed", "Canceled", "Error", "Archive"}
    ),
    "Stopping": frozenset(
        {"Stopped", "Completed", *_LAUNCHED, "Canceled", "Error", "Archive"} - {"Stopping"}
    ),
    "Stopped": frozenset({*_LAUNCHED, "Canceled", "Error", "Archive"} - {"Stopped"}),
    "Completed": frozenset({"Archive"}),
    "Error": frozenset({"Archive"}),
    "Canceled": frozenset({"Archive"}),
    "Archive": frozenset(
        {"New", "Loading", "Queued", "Processing", "Completed", "Error", "Canceled",
         "No money", "Stopping", "Stopped"}
    ),
}


@dataclass
class RawRun:
    """Everything a run recorded, in simulation seconds and micro-USD.

    Attributes:
        end_s: simulation time when the run stopped (seconds from the start).
        horizon_s: the horizon (seconds).
        stop_reason: ``"settled"`` (nothing could change any more) or ``"horizon"``.
        batch_keys: ``(project, batch)`` per batch index.
        batch_final: per batch index, the final counters (dict).
        status_log: ``(t_s, batch_index, status)`` at the start and at every change.
        records: the assignments, :data:`RECORD_FIELDS` floats each, in one flat
            array (56 bytes an assignment, no Python object per row); ``ended_s``
            and ``end_seq`` are NaN for assignments in flight at the end.  See
            :meth:`table` and :attr:`assignments`.
        progress: ``(t_s, batch_index, labeled_items, in_flight, remaining_items)``.
        top_ups: ``(t_s, amount_micro)``; ``top_up_seq`` their sequence numbers.
        warnings: ``(t_s, action, target, message)`` for refused events.
        performer_names: name per performer id; id -1 is "(before start)".
        performer_groups: group name per performer id.
        sessions: number of sessions per performer id.
        opening_balance / opening_reserved / final_balance / final_reserved: micro-USD.
        events_processed: SimPy events scheduled during the run.
    """

    end_s: float
    horizon_s: float
    stop_reason: str
    batch_keys: list[tuple[str, str]]
    batch_final: list[dict[str, object]]
    status_log: list[tuple[float, int, str]]
    records: array
    progress: list[tuple[float, int, int, int, int]]
    top_ups: list[tuple[float, int]]
    top_up_seq: list[int]
    warnings: list[tuple[float, str, str, str]]
    performer_names: dict[int, str]
    performer_groups: dict[int, str]
    sessions: dict[int, int]
    opening_balance: int
    opening_reserved: int
    final_balance: int
    final_reserved: int
    costs: list[tuple[int, int]] = field(default_factory=list)
    events_processed: int = 0

    def table(self) -> np.ndarray:
        """The assignment records as an (n, len(RECORD_FIELDS)) float array (a view, no copy)."""
        return np.frombuffer(self.records, dtype=float).reshape(-1, len(RECORD_FIELDS))

    @property
    def assignments(self) -> list[tuple[int, int, int, float, float, float, int]]:
        """The records as ``(batch_index, suite, performer_id, available_s, reserved_s, ended_s,
        outcome)`` tuples, in the order the assignments ended (slow; for tests and debugging)."""
        return [
            (int(b), int(s), int(p), avail, reserved, ended, int(outcome))
            for b, s, p, avail, reserved, ended, outcome, _, _ in self.table().tolist()
        ]
