"""Errors a user can fix, and the translation of pydantic's validation errors into one line.

:class:`LabelsimError` is the base of every error caused by bad input (the CLI
turns it into exit code 2); :class:`ScenarioError` names the scenario field.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["LabelsimError", "ScenarioError", "one_line", "scenario_error"]

#: Characters shown escaped in messages: C0/C1 controls, line and paragraph separators, bidi overrides.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def one_line(text: str) -> str:
    """``text`` with control characters (newlines, escapes, bidi overrides…) shown as ``\\n``, ``\\x1b``…

    Every user-facing message goes through it, so a name or key holding a newline
    or a terminal escape cannot split the message or repaint the terminal.
    """
    return _INVISIBLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class LabelsimError(ValueError):
    """An error the user can fix (bad input); the CLI turns it into exit code 2."""


class ScenarioError(LabelsimError):
    """A scenario (file, mapping or override) is invalid.

    Attributes:
        field: where the problem is, e.g. ``projects[search].batches[week-49].overlap``.
        problem: what is wrong with it.
    """

    def __init__(self, field: str, problem: str, *, source: str | None = None) -> None:
        self.field, self.problem, self.source = field, problem, source
        field, problem = one_line(field), one_line(problem)
        shown = one_line(source) if source else ""
        if len(shown) > 200:  # a path of thousands of characters: keep its start and its file name
            shown = f"{shown[:80]}…{shown[-100:]}"
        where = f"{shown}: " if shown else ""
        super().__init__(f"{where}{field}: {problem}" if field else f"{where}{problem}")




def scenario_error(exc: ValidationError, data: Mapping[str, Any], source: str | None) -> ScenarioError:
    """The first of pydantic's errors as one :class:`ScenarioError` naming the field.

    Problems inside the same object as the first (an unknown key and the "missing"
    key it was meant to be, the branches of a union) are its side effects and are
    not counted; problems at other fields are counted as "(and N more problems)".
    """
    errors = exc.errors(include_url=False)
    # an unknown key usually explains a "missing" one next to it (a typo): report it first
    errors = sorted(errors, key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    field = _format_loc(first["loc"], data)
    problem = _format_problem(first, data)
    if not field and ": " in problem and not problem.startswith(("a ", "an ")):
        field, problem = problem.split(": ", 1)
    others = _unrelated(errors, data)
    if others:
        problem += f" (and {others} more problem{'s' if others > 1 else ''})"
    return ScenarioError(field, problem, source=source)


def _unrelated(errors: Sequence[Any], data: Mapping[str, Any]) -> int:
    """How many fields other than the first have problems that are not side effects of the first one.

    Side effects: errors at the first one's field or inside or above it (the branches of a
    union, a model check of the object holding it), errors of a list or object that failed
    because an item inside it failed ("needs at least 1 item"), and a "missing" key next to
    an unknown key (a typo) in the same object.
    """
    first_error = errors[0]
    first = _format_loc(first_error["loc"], data)
    typo_parent = _parent(first_error["loc"], data) if first_error["type"] == "extra_forbidden" else None
    every = [_format_loc(error["loc"], data) for error in errors]
    places: set[str] = set()
    for error, where in zip(errors[1:], every[1:], strict=True):
        if not where or not first or _nested(where, first) or _nested(first, where):
            continue
        if any(other != where and _nested(other, where) for other in every):
            continue  # a list or object that failed because an item inside it failed
        if error["type"] in ("missing", "extra_forbidden") and _parent(error["loc"], data) == typo_parent:
            continue
        places.add(where)
    return len(places)


def _nested(inner: str, outer: str) -> bool:
    return inner == outer or inner.startswith((outer + ".", outer + "["))


def _parent(loc: tuple[Any, ...], data: Any) -> str:
    """The object holding the field at ``loc`` (its formatted location)."""
    text = _format_loc(loc, data)
    cut = max(text.rfind("."), text.rfind("["))
    return text[:cut] if cut > 0 else ""


def _format_loc(loc: tuple[Any, ...], data: Any) -> str:
    """Turn a pydantic location into ``projects[name].batches[name].field``."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            item = node[key] if isinstance(node, Sequence) and not isinstance(node, str) and key < len(node) else None
            label = item.get("name") if isinstance(item, Mapping) else None
            if isinstance(label, str) and len(label) > 60:
                label = label[:59] + "…"
            parts.append(f"[{label}]" if isinstance(label, str) else f"[{key}]")
            node = item
        elif isinstance(node, (int, float)) and not isinstance(key, int):
            continue  # inside a bare number read as something bigger (a constant distribution)
        elif isinstance(node, Mapping) and key not in node and key in (node.get("kind"), node.get("dist")):
            continue  # the tag of a discriminated union
        elif isinstance(node, Mapping) and key not in node and str(key).startswith(("function-", "tagged-union")):
            continue
        else:
            label = str(key) if len(str(key)) <= 60 else str(key)[:59] + "…"
            parts.append(f".{label}" if parts else label)
            node = node.get(key) if isinstance(node, Mapping) else None
    return "".join(parts)


def _format_problem(error: Mapping[str, Any], data: Any) -> str:
    kind = error["type"]
    message = str(error["msg"])
    value = error.get("input")
    if kind == "extra_forbidden":
        name = str(error["loc"][-1]) if error["loc"] else "?"
        allowed = _allowed_keys(error["loc"][:-1], data)
        hint = difflib.get_close_matches(name, allowed, 1) if allowed else []
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"unknown key{suggestion}"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        key = str(ctx.get("discriminator", "kind")).strip("'")
        return f"unknown {key} {ctx.get('tag')!r}; one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        ctx = error.get("ctx", {})
        return f"needs the key {ctx.get('discriminator', '').strip(chr(39))}"
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix):]
    message = _plain_message(message)
    if value is not None and not isinstance(value, (Mapping, list, tuple)):
        return f"{message} (got {_short_repr(value)})"
    return message


def _short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (a 10 MB string is not echoed back)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**limit:
        return f"an integer of {len(str(abs(value))) if abs(value) < 10**4000 else 'thousands of'} digits"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_COMPARISONS = (
    ("Input should be greater than or equal to ", "must be ≥ "),
    ("Input should be greater than ", "must be > "),
    ("Input should be less than or equal to ", "must be ≤ "),
    ("Input should be less than ", "must be < "),
    ("Input should be ", "must be "),
)


def _plain_message(message: str) -> str:
    if message.startswith(("Tuple should have at least", "List should have at least")):
        count = message.split("at least ", 1)[1].split(" ", 1)[0]
        return f"needs at least {count} item{'s' if count != '1' else ''}"
    for old, new in _COMPARISONS:
        if message.startswith(old):
            return new + message[len(old):]
    return message[0].lower() + message[1:] if message else message


def _allowed_keys(loc: tuple[Any, ...], data: Any) -> list[str]:
    """Field names allowed at ``loc`` (for "did you mean" hints)."""
    from .schema import CrowdGroup, Scenario, TeamGroup

    model: Any = Scenario
    node = data
    for key in loc:
        if isinstance(key, int):
            node = node[key] if isinstance(node, Sequence) and key < len(node) else None
            continue
        if isinstance(node, Mapping) and key not in node:
            continue
        node = node.get(key) if isinstance(node, Mapping) else None
        model = _field_model(model, str(key), node)
    if isinstance(node, Mapping) and "dist" in node:
        return _distribution_keys(str(node["dist"]))
    if model is None:
        return []
    if isinstance(node, Mapping) and model in (CrowdGroup, TeamGroup):
        model = CrowdGroup if node.get("kind") == "crowd" else TeamGroup
    return [f.alias or name for name, f in model.model_fields.items()]


def _distribution_keys(name: str) -> list[str]:
    from .. import distributions

    for cls in (
        distributions.Exponential, distributions.LogNormal, distributions.Gamma, distributions.Constant,
        distributions.Uniform, distributions.Empirical, distributions.Geometric,
    ):
        if cls.model_fields["dist"].annotation.__args__[0] == name:  # type: ignore[union-attr]
            return [f.alias or n for n, f in cls.model_fields.items()]
    return []


def _field_model(model: Any, key: str, node: Any) -> Any:
    from .schema import (
        Account,
        Activity,
        AddItems,
        Batch,
        BatchState,
        CrowdGroup,
        Event,
        Limits,
        Policy,
        Project,
        SetQueue,
        Shift,
        Stream,
        TopUp,
    )

    if not (isinstance(model, type) and issubclass(model, BaseModel)) or key not in model.model_fields:
        return None
    candidates = {
        ("Scenario", "account"): Account, ("Scenario", "policy"): Policy,
        ("Scenario", "projects"): Project, ("Scenario", "performers"): CrowdGroup,
        ("Scenario", "events"): Event, ("Account", "top_ups"): TopUp,
        ("Project", "batches"): Batch, ("Batch", "stream"): Stream,
        ("Batch", "state"): BatchState, ("TeamGroup", "shifts"): Shift,
        ("CrowdGroup", "activity"): Activity, ("Event", "set_queue"): SetQueue,
        ("Event", "add_items"): AddItems, ("CrowdGroup", "limits"): Limits, ("TeamGroup", "limits"): Limits,
    }
    found = candidates.get((model.__name__, key))
    if found is CrowdGroup and isinstance(node, list):
        return CrowdGroup
    return found


