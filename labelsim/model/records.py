"""Plain records a model run produces.

The outcome codes and the state machine's edges live in :mod:`labelsim.vocabulary`;
they are re-exported here so that ``from labelsim.model.records import SUBMITTED`` keeps working.
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..vocabulary import ABANDONED, ALLOWED_TRANSITIONS, EXPIRED, IN_FLIGHT, OUTCOME_NAMES, SKIPPED, SUBMITTED

__all__ = [
    "ABANDONED",
    "ALLOWED_TRANSITIONS",
    "BEFORE_START",
    "EXPIRED",
    "IN_FLIGHT",
    "OUTCOME_NAMES",
    "RECORD_FIELDS",
    "RECORD_STRUCT",
    "SKIPPED",
    "SUBMITTED",
    "BatchFinal",
    "RawRun",
]

#: Performer id of assignments that were in flight before the scenario start.
BEFORE_START = -1

#: Fields of one assignment record in :attr:`RawRun.records` (all stored as floats).
#: ``reserve_seq``/``end_seq`` order money movements that happen at the same instant.
RECORD_FIELDS: tuple[str, ...] = (
    "batch_index", "suite", "performer_id", "available_s", "reserved_s", "ended_s", "outcome",
    "reserve_seq", "end_seq",
)
#: One record as bytes of native doubles: ``records.frombytes(RECORD_STRUCT.pack(*fields))`` appends it
#: as ``records.extend(fields)`` would, in less than half the time (no per-item conversion of ``extend``).
RECORD_STRUCT = struct.Struct(f"{len(RECORD_FIELDS)}d")


@dataclass(slots=True)
class BatchFinal:
    """One batch's counters at the end of a run (shared by single runs and replications).

    Attributes:
        labeling_queue: labeling queue at the end (1 highest .. 5 lowest).
        status: status at the end, in the platform's words.
        items: items in the batch (uploaded or uploading).
        labeled_items: items that received their full overlap.
        submitted: submitted assignments, including before the start.
        expired: expired assignments (abandoned or over the time limit).
        skipped: skipped assignments.
        in_flight: assignments reserved at the end.
        spent: money charged for the batch during the run (micro-USD).
        needed: assignments the batch needs in all (suites × overlap).
        launched_at / started_at / completed_at: seconds from the start (NaN: not within the run).
        rejected: assignments rejected at review (quality control).
        suites: task suites in the batch (``needed / suites`` is its mean overlap).
        n_upload_requests: upload requests (at most 10,000 items each) that loaded its items.
    """

    labeling_queue: int
    status: str
    items: int
    labeled_items: int
    submitted: int
    expired: int
    skipped: int
    in_flight: int
    spent: int
    needed: int
    launched_at: float
    started_at: float
    completed_at: float
    rejected: int = 0
    suites: int = 0
    n_upload_requests: int = 0

    def __getitem__(self, key: str) -> Any:
        """``final["items"]``: the dict-style access of earlier versions."""
        return getattr(self, key)


@dataclass
class RawRun:
    """Everything a run recorded, in simulation seconds and micro-USD.

    Attributes:
        end_s: simulation time when the run stopped (seconds from the start).
        horizon_s: the horizon (seconds).
        stop_reason: ``"settled"`` (nothing could change any more) or ``"horizon"``.
        batch_keys: ``(project, batch)`` per batch index.
        batch_final: per batch index, the final counters (:class:`BatchFinal`).
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
        reviews: quality control: ``(record_row, t_s, verdict, seq)`` per reviewed submission; ``record_row``
            is its row in :meth:`table`, verdict 1 accepted / 0 rejected / 2 pending at the end (``t_s`` NaN);
            ``seq`` orders the money movement of the verdict.
        bans: quality control: ``(t_s, performer_id, project, seq)`` per ban from a project.
        costs: ``(reward, fee)`` of one assignment per batch index (a full suite, micro-USD).
        suite_costs: ``(batch_index, suite) -> (reward, fee)`` where a suite's assignment costs otherwise
            (price per item: suites with fewer tasks).
    """

    end_s: float
    horizon_s: float
    stop_reason: str
    batch_keys: list[tuple[str, str]]
    batch_final: list[BatchFinal]
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
    reviews: list[tuple[int, float, int, int]] = field(default_factory=list)
    bans: list[tuple[float, int, str, int]] = field(default_factory=list)
    suite_costs: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)

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
