"""Field types of the scenario schema: durations, moments, rates, queues, statuses, names, counts.

Each is stored in a plain unit (seconds, per second, an int) and dumped back as
text that validates again (durations ``"90.0s"``, rates ``"0.5/s"``).
"""

from __future__ import annotations

import datetime as _dt
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from ..units import parse_duration, parse_rate
from ..vocabulary import STATUSES

_QUEUE_WORDS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}





def _positive_duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be positive")
    return seconds


def _duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds < 0:
        raise ValueError(f"duration {value!r} must not be negative")
    return seconds


def _moment(value: object) -> float | _dt.datetime:
    """An offset from the start (seconds) or a timestamp (a datetime, naive = scenario zone)."""
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str) and len(value.strip()) >= 10 and value.strip()[:4].isdigit() and value.strip()[4] == "-":
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return _dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"bad timestamp {value!r}: use ISO 8601, e.g. 2026-12-01T15:00:00Z") from None
    return parse_duration(value)


def _queue(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"labeling queue must be 1..5 or ONE..FIVE, got {value!r}")
    if isinstance(value, str):
        word = value.strip().upper()
        if word in _QUEUE_WORDS:
            return _QUEUE_WORDS[word]
        if word.isdigit():
            return int(word)
        raise ValueError(f"labeling queue {value!r} is not 1..5 or ONE..FIVE")
    return value


def _status(value: object) -> object:
    if isinstance(value, str):
        key = value.strip().lower().replace("_", " ")
        for status in STATUSES:
            if status.lower() == key:
                return status
        raise ValueError(f"unknown status {value!r}; one of: {', '.join(STATUSES)}")
    return value


def _rate(value: object) -> float:
    return parse_rate(value)


def _seconds_text(seconds: float) -> str:
    text = repr(seconds)
    return f"{seconds:f}s" if "e" in text else f"{text}s"  # durations take no exponent


def _moment_text(moment: float | _dt.datetime) -> str:
    return moment.isoformat() if isinstance(moment, _dt.datetime) else _seconds_text(moment)


# Stored in seconds (per second for rates); dumped back as text that validates again.
PositiveDuration = Annotated[
    float, BeforeValidator(_positive_duration), PlainSerializer(_seconds_text, when_used="json")
]
Duration = Annotated[float, BeforeValidator(_duration), PlainSerializer(_seconds_text, when_used="json")]
Moment = Annotated[float | _dt.datetime, BeforeValidator(_moment), PlainSerializer(_moment_text, when_used="json")]
Rate = Annotated[float, BeforeValidator(_rate), PlainSerializer(lambda r: f"{r!r}/s", when_used="json")]
LabelingQueue = Annotated[int, BeforeValidator(_queue), Field(ge=1, le=5)]
Status = Annotated[str, BeforeValidator(_status), Field(json_schema_extra={"enum": list(STATUSES)})]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _not_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


#: A whole number; YAML's true/false are refused rather than read as 1/0.
Count = Annotated[int, BeforeValidator(_not_bool)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


