"""Parsing of durations, rates, money and timestamps (layer 0).

Durations are written as a number with a unit (``90s``, ``10m``, ``2h``, ``1d``,
``1w``) or a combination (``1d4h30m``); the unit ``min`` is accepted as well as
``m``.  Rates are ``N/s``, ``N/min``, ``N/h`` or ``N/d``.  Internally every
duration is a float number of **seconds**, every rate a float **per second**,
and money an int number of **micro-USD** (1e-6 USD) so that sums are exact.
"""

from __future__ import annotations

import datetime as _dt
import math
import re

__all__ = [
    "SECONDS",
    "format_duration",
    "micro_to_usd",
    "parse_duration",
    "parse_rate",
    "parse_timestamp",
    "usd_to_micro",
]

#: Seconds per unit symbol.
SECONDS: dict[str, float] = {
    "s": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PART = re.compile(rf"\s*({_NUMBER})\s*(min|[smhdw])\s*", re.IGNORECASE)
_RATE = re.compile(rf"^\s*({_NUMBER}(?:[eE][+-]?\d+)?)\s*/\s*(min|[smhdw])\s*$", re.IGNORECASE)


def parse_duration(value: object, *, allow_negative: bool = False) -> float:
    """Return the duration ``value`` in seconds.

    Accepts strings such as ``"90s"``, ``"1d4h"`` or ``"-2h"`` (when
    ``allow_negative``), a ``datetime.timedelta``, or the bare number ``0``.
    Other bare numbers are refused because their unit would be a guess.

    Raises:
        ValueError: with a message saying what is wrong and what is expected.
    """
    if isinstance(value, _dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError(f"expected a duration such as 10m or 2h, got {value!r}")
    elif isinstance(value, (int, float)):
        if value == 0:
            return 0.0
        if not math.isfinite(value):
            raise ValueError(f"duration {value!r} needs a unit and a finite number, e.g. 2h")
        raise ValueError(f"duration {value!r} needs a unit, e.g. '{value}s' or '{value}m'")
    elif isinstance(value, str):
        seconds = _parse_duration_text(value)
    else:
        raise ValueError(f"expected a duration such as 10m or 2h, got {value!r}")
    if not math.isfinite(seconds):
        raise ValueError(f"duration {value!r} is not finite")
    if seconds < 0 and not allow_negative:
        raise ValueError(f"duration {value!r} must not be negative")
    return seconds


def _parse_duration_text(text: str) -> float:
    body = text.strip()
    sign = 1.0
    if body.startswith("-"):
        sign, body = -1.0, body[1:]
    elif body.startswith("+"):
        body = body[1:]
    if not body:
        raise ValueError(f"expected a duration such as 10m or 2h, got {text!r}")
    if re.fullmatch(r"0+(?:\.0*)?", body):
        return 0.0  # zero needs no unit
    pos, total = 0, 0.0
    while pos < len(body):
        match = _PART.match(body, pos)
        if match is None or match.end() == pos:
            raise ValueError(
                f"bad duration {text!r}: use a number with a unit s, m (or min), h, d, w, "
                "e.g. 90s, 10m, 1d4h"
            )
        total += float(match.group(1)) * SECONDS[match.group(2).lower()]
        pos = match.end()
    return sign * total


def parse_rate(value: object) -> float:
    """Return the rate ``value`` (``"200/min"``, ``"100/h"``…) in events per second."""
    if isinstance(value, str):
        match = _RATE.match(value)
        if match is not None:
            rate = float(match.group(1)) / SECONDS[match.group(2).lower()]
            if math.isfinite(rate) and rate > 0:
                return rate
            raise ValueError(f"rate {value!r} must be positive and finite")
    raise ValueError(f"bad rate {value!r}: use N/s, N/min, N/h or N/d, e.g. 200/min")


def format_duration(seconds: float) -> str:
    """Format ``seconds`` compactly, e.g. ``3h 05m`` or ``2d 04h`` (for tables)."""
    if not math.isfinite(seconds):
        return "—"
    seconds = max(0.0, seconds)
    days, rest = divmod(round(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def parse_iso(value: object, shown: str | None = None) -> _dt.datetime:
    """A datetime from ISO 8601 text (``Z`` = UTC), a date or a datetime; naive when the text has no offset.

    Args:
        shown: how to show ``value`` in the error (default ``repr``).

    Raises:
        ValueError: not a timestamp.
    """
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return _dt.datetime.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"bad timestamp {shown or repr(value)}: use ISO 8601, e.g. 2026-12-01T09:00:00Z")


def parse_timestamp(value: object, default_tz: _dt.tzinfo) -> _dt.datetime:
    """Parse an ISO 8601 timestamp; a timestamp without offset is read in ``default_tz``."""
    stamp = parse_iso(value)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=default_tz)
    return stamp


def usd_to_micro(usd: float) -> int:
    """Convert USD to integer micro-USD (rounded to the nearest micro-dollar)."""
    return round(usd * 1_000_000)


def micro_to_usd(micro: int | float) -> float:
    """Convert micro-USD back to USD."""
    return micro / 1_000_000
