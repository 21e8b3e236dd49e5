"""A JSON Schema of the scenario format as written in YAML (layer 1).

pydantic's own schema describes the *validated* values: ``horizon`` is a number of seconds there,
``labeling_queue`` an integer, an activity profile always a mapping.  A scenario file holds text: ``14d``,
``ONE``, ``diurnal``.  :func:`scenario_json_schema` builds the schema from the same pydantic models, with a
schema generator that knows what each "before" validator of :mod:`labelsim.scenario` accepts and describes
that instead (durations, rates and moments as strings with their patterns, queues as 1–5 or ONE–FIVE,
statuses in any case…).  Editors that understand JSON Schema (VS Code's YAML extension, PyCharm) can then
complete and check scenario files::

    labelsim schema > scenario.schema.json
    # first line of a scenario:  # yaml-language-server: $schema=scenario.schema.json

The schema is a guide, not the judge: labelsim's own validation (``labelsim validate``) also checks what a
schema cannot say (names that exist, a stream that ends after it starts…).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from .calendar import ACTIVITY_PRESETS
from .scenario import STATUSES, Scenario
from .units import SECONDS

__all__ = ["DURATION_PATTERN", "RATE_PATTERN", "TIMESTAMP_PATTERN", "scenario_json_schema"]

_NUMBER = r"(\d+(\.\d*)?|\.\d+)"
_UNIT = r"([Mm][Ii][Nn]|[SsMmHhDdWw])"
#: A duration: numbers with units, e.g. ``90s``, ``10m``, ``2h``, ``1d4h30m`` (``min`` = ``m``).
DURATION_PATTERN = rf"^\s*\+?\s*({_NUMBER}\s*{_UNIT}\s*)+$"
#: A rate: ``N/s``, ``N/min``, ``N/h``, ``N/d`` (or ``/w``), e.g. ``200/min``.
RATE_PATTERN = rf"^\s*{_NUMBER}([eE][+-]?\d+)?\s*/\s*{_UNIT}\s*$"
#: An ISO 8601 timestamp; without an offset it is read in the scenario's time zone.
TIMESTAMP_PATTERN = r"^\s*\d{4}-\d\d-\d\d([T ]\d\d(:\d\d(:\d\d([.,]\d+)?)?)?)?\s*([Zz]|[+-]\d\d(:?\d\d)?)?\s*$"
_ZERO_PATTERN = r"^\s*[+-]?0+(\.0*)?\s*$"
_CLOCK_PATTERN = r"^\s*([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?\s*$|^\s*24:00(:00)?\s*$"
_QUEUE_WORDS = ("ONE", "TWO", "THREE", "FOUR", "FIVE")
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _any_case(word: str, space: str = " ") -> str:
    """A regex matching ``word`` in any letter case (JSON Schema regexes take no flags)."""
    parts = []
    for char in word:
        if char.isalpha():
            parts.append(f"[{char.upper()}{char.lower()}]")
        elif char == " ":
            parts.append(space)
        else:
            parts.append(re.escape(char))
    return "".join(parts)


def _one_of_words(words: Iterable[str], space: str = " ") -> str:
    return r"^\s*(" + "|".join(_any_case(w, space) for w in words) + r")\s*$"


def _duration(description: str = "a duration") -> JsonSchemaValue:
    units = ", ".join(SECONDS)
    return {
        "type": "string",
        "pattern": DURATION_PATTERN,
        "description": f"{description}: numbers with a unit ({units}), e.g. 90s, 10m, 2h, 1d4h",
        "examples": ["90s", "10m", "2h", "1d4h"],
    }


def _moment() -> JsonSchemaValue:
    return {
        "description": "an offset from start (a duration such as 3h or 2d; 0 = the start) or an ISO 8601 timestamp",
        "anyOf": [
            _duration("an offset from start"),
            {"type": "string", "pattern": TIMESTAMP_PATTERN, "description": "an ISO 8601 timestamp"},
            {"type": "string", "pattern": _ZERO_PATTERN},
            {"const": 0},
        ],
        "examples": ["3h", "2d", "2026-12-01T15:00:00Z"],
    }


def _rate() -> JsonSchemaValue:
    return {
        "type": "string",
        "pattern": RATE_PATTERN,
        "description": "a rate: N/s, N/min, N/h or N/d, e.g. 200/min",
        "examples": ["200/min", "100/h"],
    }


def _queue() -> JsonSchemaValue:
    return {
        "description": "labeling queue: 1 (ONE, highest) to 5 (FIVE, lowest)",
        "anyOf": [
            {"type": "integer", "minimum": 1, "maximum": 5},
            {"type": "string", "pattern": _one_of_words([*_QUEUE_WORDS, *"12345"])},
        ],
    }


def _clock() -> JsonSchemaValue:
    return {
        "description": "a local time of day, HH:MM (quote it: YAML 1.1 reads an unquoted 09:00 as 540)",
        "anyOf": [
            {"type": "string", "pattern": _CLOCK_PATTERN},
            {"type": "integer", "minimum": 0, "maximum": 1440, "description": "minutes (unquoted HH:MM, YAML 1.1)"},
        ],
        "examples": ["09:00", "18:30"],
    }


def _start() -> JsonSchemaValue:
    return {
        "type": "string",
        "pattern": TIMESTAMP_PATTERN,
        "description": "when the simulation starts: an ISO 8601 timestamp (without an offset: in `timezone`)",
        "examples": ["2026-12-01T09:00:00Z"],
    }


_Handler = Callable[["YamlSchemaGenerator", core_schema.BeforeValidatorFunctionSchema], JsonSchemaValue]


def _days(gen: YamlSchemaGenerator, schema: core_schema.BeforeValidatorFunctionSchema) -> JsonSchemaValue:
    words = [*_DAYS, *(d[:3] for d in _DAYS)]
    return {"type": "array", "items": {"type": "string", "pattern": _one_of_words(words)},
            "description": "days of the week: mon..sun (any case, full names too)"}


def _literal_any_case(gen: YamlSchemaGenerator, schema: core_schema.BeforeValidatorFunctionSchema) -> JsonSchemaValue:
    inner = schema["schema"]
    expected = [str(v) for v in inner.get("expected", [])] if inner["type"] == "literal" else []
    if not expected:
        return gen.generate_inner(inner)
    return {"type": "string", "pattern": _one_of_words(expected), "description": " | ".join(expected)}


def _activity(gen: YamlSchemaGenerator, schema: core_schema.BeforeValidatorFunctionSchema) -> JsonSchemaValue:
    presets = list(ACTIVITY_PRESETS)
    return {
        "description": f"a preset ({' | '.join(presets)}) or relative weights {{hourly: [24], weekly: [7, Mon..Sun]}}",
        "anyOf": [{"type": "string", "pattern": _one_of_words(presets)}, gen.generate_inner(schema["schema"])],
    }


#: What each "before" validator of labelsim.scenario accepts, by the validator's qualified name.
BEFORE_VALIDATORS: dict[str, _Handler] = {
    "_positive_duration": lambda gen, schema: _duration(),
    "_duration": lambda gen, schema: _duration("a duration (0 allowed)"),
    "_moment": lambda gen, schema: _moment(),
    "_rate": lambda gen, schema: _rate(),
    "_queue": lambda gen, schema: _queue(),
    "_status": lambda gen, schema: {
        "type": "string",
        "pattern": _one_of_words(STATUSES, space="[ _]"),
        "description": "a platform status (any case): " + ", ".join(STATUSES),
    },
    "_not_bool": lambda gen, schema: gen.generate_inner(schema["schema"]),
    "_activity": _activity,
    "Project._lower": _literal_any_case,
    "Shift._lower_days": _days,
    "Shift._clock": lambda gen, schema: _clock(),
    "Scenario._start": lambda gen, schema: _start(),
    "Scenario._draws_list": lambda gen, schema: gen.generate_inner(schema["schema"]),
    "_name": lambda gen, schema: {**gen.generate_inner(schema["schema"]), "pattern": NAME_PATTERN},
    "_batch_ref": lambda gen, schema: {**gen.generate_inner(schema["schema"]), "pattern": BATCH_REF_PATTERN},
    "_plain_text": lambda gen, schema: gen.generate_inner(schema["schema"]),
    "Batch._overlap_from_dynamic": lambda gen, schema: gen.generate_inner(schema["schema"]),  # fills overlap
    "_Dist._no_bools": lambda gen, schema: gen.generate_inner(schema["schema"]),
    "_bare_number": lambda gen, schema: {
        "anyOf": [{"type": "number", "minimum": 0}, gen.generate_inner(schema["schema"])],
        "description": "a distribution {dist: ..., ...}, or a bare number for a constant",
    },
}

#: A name: no '/', no control characters, no leading or trailing space.
NAME_PATTERN = r"^[^/\s\x00-\x1f\x7f](?:[^/\x00-\x1f\x7f]*[^/\s\x00-\x1f\x7f])?$"
#: A batch named in an event: ``batch`` or ``project/batch``.
BATCH_REF_PATTERN = r"^[^/\x00-\x1f\x7f]+(?:/[^/\x00-\x1f\x7f]+)?$"


def _yaml_default(value: Any, inner: JsonSchemaValue) -> Any:
    """A default as it would be written in YAML (a duration default of 2592000.0 s is ``30d``)."""
    if isinstance(value, float) and inner.get("pattern") == DURATION_PATTERN and math.isfinite(value):
        for unit, seconds in sorted(SECONDS.items(), key=lambda item: -item[1]):
            if unit != "min" and value >= seconds and value % seconds == 0:
                return f"{int(value // seconds)}{unit}"
        return f"{value:g}s"
    return value


class YamlSchemaGenerator(GenerateJsonSchema):
    """pydantic's schema generator, describing the values a scenario file holds rather than validated ones."""

    #: Qualified names of "before" validators met that :data:`BEFORE_VALIDATORS` does not know.
    unknown_validators: set[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unknown_validators = set()

    def function_before_schema(self, schema: core_schema.BeforeValidatorFunctionSchema) -> JsonSchemaValue:
        name = getattr(schema["function"]["function"], "__qualname__", "")
        handler = BEFORE_VALIDATORS.get(name)
        if handler is None:
            self.unknown_validators.add(name)
            return super().function_before_schema(schema)
        return handler(self, schema)

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        result = super().default_schema(schema)
        if "default" in result:
            result["default"] = _yaml_default(result["default"], result)
        return result


def _event_needs_one_action(definition: JsonSchemaValue) -> None:
    actions = [name for name in definition.get("properties", {}) if name not in ("at", "reason")]
    definition["oneOf"] = [{"required": [name]} for name in actions]


def _drop_stray_keywords(node: Any) -> None:
    """pydantic leaves ``ge``/``le`` of some annotated types as they are; they are not JSON Schema."""
    if isinstance(node, dict):
        for key in ("ge", "le", "gt", "lt"):
            node.pop(key, None)
        for value in node.values():
            _drop_stray_keywords(value)
    elif isinstance(node, list):
        for value in node:
            _drop_stray_keywords(value)


def scenario_json_schema(*, unknown: set[str] | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file as written in YAML.

    Args:
        unknown: if given, filled with the names of validators the generator did not know (their fields
            fall back to pydantic's description of the validated value).
    """
    class _Recording(YamlSchemaGenerator):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if unknown is not None:
                self.unknown_validators = unknown

    schema = Scenario.model_json_schema(mode="validation", schema_generator=_Recording)
    _drop_stray_keywords(schema)
    definitions = schema.get("$defs", {})
    if "Event" in definitions:
        _event_needs_one_action(definitions["Event"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "labelsim scenario",
        **{k: v for k, v in schema.items() if k != "title"},
    }
