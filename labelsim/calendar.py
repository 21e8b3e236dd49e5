"""Local-time calendars: activity profiles and shifts (layer 0).

The simulation clock counts seconds from the scenario start.  Crowd activity and
team shifts are given in the scenario's local time zone, so this module turns
them into intervals of simulation seconds, honouring daylight-saving changes.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

__all__ = [
    "ACTIVITY_PRESETS",
    "WEEKDAYS",
    "hour_segments",
    "rate_segments",
    "shift_intervals",
]

#: Day names in Python's weekday order (Monday = 0).
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: Named activity profiles: (24 hourly weights, 7 weekday weights Mon..Sun).
#: ``diurnal`` is shaped like crowd platforms' activity: a night trough at about a
#: fifth of the evening peak, slightly quieter weekends.
ACTIVITY_PRESETS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "flat": ((1.0,) * 24, (1.0,) * 7),
    "diurnal": (
        (0.35, 0.27, 0.22, 0.2, 0.21, 0.28, 0.42, 0.6, 0.8, 0.95, 1.05, 1.1,
         1.12, 1.14, 1.15, 1.18, 1.22, 1.28, 1.33, 1.35, 1.3, 1.1, 0.8, 0.52),
        (1.0, 1.0, 1.0, 1.0, 0.95, 0.8, 0.85),
    ),
    "office": (
        (0.05,) * 8 + (1.0,) * 10 + (0.05,) * 6,
        (1.0, 1.0, 1.0, 1.0, 1.0, 0.1, 0.1),
    ),
}


def _to_seconds(moment: _dt.datetime, start: _dt.datetime) -> float:
    # in UTC: Python subtracts datetimes sharing a tzinfo object on wall-clock time (wrong across DST)
    return (moment.astimezone(_dt.timezone.utc) - start.astimezone(_dt.timezone.utc)).total_seconds()


def hour_segments(
    start: _dt.datetime, tz: ZoneInfo, horizon_s: float
) -> list[tuple[float, float, int, int]]:
    """Split [0, horizon_s] into pieces of constant local (weekday, hour).

    Returns ``(t0, t1, weekday, hour)`` tuples in simulation seconds.
    """
    segments: list[tuple[float, float, int, int]] = []
    t = 0.0
    utc_start = start.astimezone(_dt.timezone.utc)
    while t < horizon_s:
        local = (utc_start + _dt.timedelta(seconds=t)).astimezone(tz)
        into_hour = local.minute * 60 + local.second + local.microsecond / 1e6
        t_next = min(horizon_s, t + 3600.0 - into_hour)
        segments.append((t, t_next, local.weekday(), local.hour))
        t = t_next
    return segments


def rate_segments(
    start: _dt.datetime,
    tz: ZoneInfo,
    horizon_s: float,
    mean_rate: float,
    hourly: Sequence[float],
    weekly: Sequence[float],
) -> list[tuple[float, float, float]]:
    """Piecewise-constant arrival rate ``(t0, t1, rate_per_s)`` over the horizon.

    The weights are normalised so that the rate averaged over a whole week is
    ``mean_rate`` (per second).
    """
    norm = sum(w * h for w in weekly for h in hourly) / (24 * 7)
    if norm <= 0:
        return [(0.0, horizon_s, 0.0)]
    return [
        (t0, t1, mean_rate * weekly[day] * hourly[hour] / norm)
        for t0, t1, day, hour in hour_segments(start, tz, horizon_s)
    ]


def shift_intervals(
    start: _dt.datetime,
    tz: ZoneInfo,
    horizon_s: float,
    shifts: Iterable[tuple[frozenset[int], _dt.time, _dt.time]],
) -> list[tuple[float, float]]:
    """On-shift intervals ``(on_s, off_s)`` within [0, horizon_s], merged and sorted.

    Each shift is ``(weekdays, start, end)`` in local time; a shift whose end is
    not after its start runs past midnight into the next day.
    """
    local_start = start.astimezone(tz)
    first_day = local_start.date() - _dt.timedelta(days=1)
    n_days = int(horizon_s // 86400) + 3
    raw: list[tuple[float, float]] = []
    for shift_days, begin, end in shifts:
        for offset in range(n_days):
            day = first_day + _dt.timedelta(days=offset)
            if day.weekday() not in shift_days:
                continue
            on = _dt.datetime.combine(day, begin, tzinfo=tz)
            off_day = day if end > begin else day + _dt.timedelta(days=1)
            off = _dt.datetime.combine(off_day, end, tzinfo=tz)
            on_s = max(0.0, _to_seconds(on, start))
            off_s = min(horizon_s, _to_seconds(off, start))
            if off_s > on_s:
                raw.append((on_s, off_s))
    raw.sort()
    merged: list[tuple[float, float]] = []
    for on_s, off_s in raw:
        if merged and on_s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], off_s))
        else:
            merged.append((on_s, off_s))
    return merged
