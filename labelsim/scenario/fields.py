"""Field types of the scenario schema: durations, moments, rates, queues, statuses, names, counts.

Each is stored in a plain unit (seconds, per second, an int) and dumped back as
text that validates again (durations ``"90.0s"``, rates ``"0.5/s"``).
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from ..units import parse_duration, parse_iso, parse_rate
from ..vocabulary import STATUSES
from .limits import MAX_DURATION_S, MAX_RATE_PER_S, MAX_USD, MAX_YEAR, MIN_YEAR

_QUEUE_WORDS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}





def _bounded_duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds > MAX_DURATION_S:
        limit = f"{MAX_DURATION_S / 86400:.0f}d (100 years)"
        raise ValueError(f"duration {_text(value)} is longer than the limit of {limit}")
    return seconds


def _positive_duration(value: object) -> float:
    seconds = _bounded_duration(value)
    if seconds <= 0:
        raise ValueError(f"duration {_text(value)} must be positive")
    return seconds


def _text(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_year(stamp: _dt.datetime, what: str = "timestamp") -> _dt.datetime:
    """Refuse a timestamp outside the years :data:`MIN_YEAR`..:data:`MAX_YEAR` (pandas holds 1677-2262)."""
    if not MIN_YEAR <= stamp.year < MAX_YEAR:
        raise ValueError(f"{what} {stamp.isoformat()} is outside the years {MIN_YEAR}-{MAX_YEAR - 1} labelsim accepts")
    return stamp


def _duration(value: object) -> float:
    seconds = _bounded_duration(value)
    if seconds < 0:
        raise ValueError(f"duration {_text(value)} must not be negative")
    return seconds


def _moment(value: object) -> float | _dt.datetime:
    """An offset from the start (seconds) or a timestamp (a datetime, naive = scenario zone)."""
    looks_like_a_date = isinstance(value, str) and len(text := value.strip()) >= 10 and text[:4].isdigit() and (
        text[4] == "-")
    if isinstance(value, _dt.date) or looks_like_a_date:
        return check_year(parse_iso(value, _text(value)))
    return _bounded_duration(value)


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
    rate = parse_rate(value)
    if rate > MAX_RATE_PER_S:
        raise ValueError(f"rate {_text(value)} is above the limit of {MAX_RATE_PER_S:g}/s")
    return rate


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
#: Control characters, line/paragraph separators and bidi overrides: never in a name.
_CONTROL = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufeff]")


def _plain_text(value: object) -> object:
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValueError(f"{_text(value)} holds a control character (a newline, tab, escape…); use plain text")
    return value


def _name(value: object) -> object:
    _plain_text(value)
    if isinstance(value, str):
        if not value:
            raise ValueError("a name must not be empty")
        if len(value) > 200:
            raise ValueError(f"name {_text(value)} is longer than 200 characters")
        if "/" in value:
            raise ValueError(f"name {_text(value)} must not contain '/' (it separates project/batch)")
        if value != value.strip():
            raise ValueError(f"name {_text(value)} has leading or trailing spaces")
    return value


def _batch_ref(value: object) -> object:
    if isinstance(value, str) and value.count("/") <= 1:
        for part in value.split("/"):
            _name(part)
            if not part:
                raise ValueError(f"{_text(value)}: write a batch as name or project/name")
        return value
    return _name(value)


#: A project, batch or performer-group name: 1-200 characters, no '/', no control characters.
Name = Annotated[str, BeforeValidator(_name), Field(min_length=1, max_length=200)]
#: A batch named in an event: ``batch`` or ``project/batch``.
BatchRef = Annotated[str, BeforeValidator(_batch_ref), Field(min_length=1, max_length=401)]
#: Free text shown in titles (the scenario name): no control characters.
Title = Annotated[str, BeforeValidator(_plain_text), Field(max_length=200)]


def _not_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    return value


#: A whole number; YAML's true/false are refused rather than read as 1/0.
Count = Annotated[int, BeforeValidator(_not_bool)]
#: A finite real number (inf and nan are refused by the models' config); true/false are refused.
Number = Annotated[float, BeforeValidator(_not_bool)]
#: Money in USD: finite, 0..:data:`MAX_USD`.
Money = Annotated[float, BeforeValidator(_not_bool), Field(ge=0, le=MAX_USD)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False)


