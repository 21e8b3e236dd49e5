"""Small scenarios for the figure and report tests (seconds to run)."""

from __future__ import annotations

from typing import Any


def berlin_scenario(*, balance: float = 12.0, top_up: float | None = 60.0, size: int = 3,
                    horizon: str = "2d", archive_at: str | None = None) -> dict[str, Any]:
    """Two batches in Berlin time: a pause/resume, a run out of money and (optionally) a top-up.

    ``a`` (queue 1) is worked by an always-on team; ``b`` (queue 2) waits Queued,
    is paused and resumed while it waits.  The money lasts for about 180
    assignments, so a batch goes No money before the top-up at 3h.  ``archive_at``
    archives ``b`` then (the run ends there: Archive is a status of zero length).
    """
    events: list[dict[str, Any]] = [{"at": "20m", "pause": "b"}, {"at": "40m", "resume": "b"}]
    if top_up is not None:
        events.append({"at": "3h", "top_up": top_up})
    if archive_at is not None:
        events.append({"at": archive_at, "archive": "b"})
    return {
        "name": "Berlin test",
        "start": "2026-12-01T09:00:00",
        "timezone": "Europe/Berlin",
        "horizon": horizon,
        "account": {"balance": balance},
        "projects": [{"name": "p", "batches": [
            {"name": "a", "items": 150, "labeling_queue": 1, "reward": 0.05, "time_limit": "1h", "launch_at": "0s"},
            {"name": "b", "items": 150, "labeling_queue": 2, "reward": 0.05, "time_limit": "1h", "launch_at": "0s"},
        ]}],
        "performers": [{"name": "team", "kind": "team", "size": size,
                        "seconds_per_task": {"dist": "exponential", "mean": 60}}],
        "events": events,
    }
