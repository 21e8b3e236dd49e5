"""A simulated run as an assignment log (the columns ``labelsim.logs`` reads from platform exports).

Used by the calibration and round-trip tests; ``labelsim.logs.log_from_result`` does the same once merged.
"""

from __future__ import annotations

import pandas as pd

from labelsim.results import SimulationResult

_STATUS = {"submitted": "submitted", "expired": "expired", "skipped": "skipped", "in_flight": "active"}


def log_from_result(result: SimulationResult) -> pd.DataFrame:
    """One row per assignment: batch, suite_id, assignment_id, performer, accepted_at, submitted_at, status, …"""
    frame = result.assignments
    frame = frame[frame["performer"].astype(str) != "(before start)"]
    specs = {b.name: b for _, b in result.scenario.batches()}
    status = frame["outcome"].astype(str).map(_STATUS)
    submitted = frame["ended_at"].where(status == "submitted")
    skipped = status == "skipped"
    submitted = submitted.where(~skipped, frame["ended_at"])
    log = pd.DataFrame({
        "batch": frame["batch"].astype(str),
        "suite_id": frame["batch"].astype(str) + ":" + frame["suite"].astype(str),
        "assignment_id": [f"a{i}" for i in range(len(frame))],
        "performer": frame["performer"].astype(str),
        "accepted_at": frame["reserved_at"].dt.tz_convert("UTC"),
        "submitted_at": submitted.dt.tz_convert("UTC"),
        "status": status,
        "reward_usd": frame["reward_usd"].astype(float),
        "n_tasks": [specs[b].tasks_per_suite for b in frame["batch"].astype(str)],
        "time_limit_s": [specs[b].time_limit for b in frame["batch"].astype(str)],
        "max_assignments": [specs[b].overlap for b in frame["batch"].astype(str)],
    })
    return log.sort_values("accepted_at", kind="stable").reset_index(drop=True)
