"""``--set KEY=VALUE`` overrides of a scenario mapping, applied before validation."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from .errors import ScenarioError
from .yamlload import describe_yaml_error, load_yaml

__all__ = ["apply_overrides", "apply_values", "override_for"]

#: The scenario key holding parameter draws (see ``Scenario.parameter_draws``).
DRAWS_KEY = "parameter_draws"


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``KEY=VALUE`` overrides to a copy of a scenario mapping.

    Keys are dotted paths; list items are chosen by name (or index), and
    ``batches.NAME`` reaches a batch in any project.  Examples:
    ``batches.week-49.labeling_queue=1``, ``performers.crowd.sessions_per_hour=80``,
    ``account.balance=500``, ``policy.queue=work_conserving``.  Values are read
    as YAML (``1`` is a number, ``true`` a boolean, ``{a: 1}`` a mapping).

    Raises:
        ScenarioError: for a malformed override or a name that does not exist.
    """
    result = copy.deepcopy(dict(data))
    keys: list[str] = []
    for text in overrides:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(f"--set {text}", "expected KEY=VALUE, e.g. account.balance=500")
        try:
            value = load_yaml(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            shown = raw if len(raw) <= 60 else raw[:59] + "…"
            problem = f"value {shown!r} is not valid YAML ({describe_yaml_error(exc)})"
            raise ScenarioError(f"--set {key}", problem) from None
        _set_path(result, key.split("."), value, key)
        keys.append(key)
    return _fix_in_draws(result, keys)


def apply_values(data: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Apply ``{KEY: value}`` (dotted keys as for ``--set``, values already parsed) to a copy of ``data``.

    Raises:
        ScenarioError: field ``--set KEY`` for a key that does not reach a value.
    """
    result = copy.deepcopy(dict(data))
    for key, value in values.items():
        _set_path(result, str(key).strip().split("."), copy.deepcopy(value), str(key))
    return result


def _fix_in_draws(data: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """An override fixes its key: entries of ``parameter_draws`` at, under or above it are dropped.

    ``--set performers.crowd.sessions_per_hour=80`` on a scenario whose draws vary the
    rate means "with this rate": no draw may overwrite it (a plan, sweep or comparison
    varies it).  Keys are compared as resolved paths (``performers.0`` = ``performers.crowd``).
    """
    draws = data.get(DRAWS_KEY)
    fixed = [_path(data, key) for key in keys if key.split(".")[0] != DRAWS_KEY]
    if not fixed or not isinstance(draws, list):
        return data
    kept = []
    for draw in draws:
        if isinstance(draw, Mapping):
            draw = {k: v for k, v in draw.items() if not any(_overlap(_path(data, str(k)), f) for f in fixed)}
        kept.append(draw)
    data[DRAWS_KEY] = kept
    return data


def _overlap(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return a[: len(b)] == b or b[: len(a)] == a


def _path(root: Mapping[str, Any], key: str) -> tuple[Any, ...]:
    """A dotted key as a path of mapping keys and list indices in ``root`` (names resolved where they can be)."""
    parts = key.strip().split(".")
    path: list[Any] = []
    node: Any = root
    if parts[0] == "batches" and len(parts) >= 2:
        project_name, _, batch_name = parts[1].rpartition("/")
        for pi, project in enumerate(root.get("projects") or []):
            if not isinstance(project, Mapping) or (project_name and project.get("name") != project_name):
                continue
            for bi, batch in enumerate(project.get("batches") or []):
                if isinstance(batch, Mapping) and batch.get("name") == batch_name:
                    path, node = ["projects", pi, "batches", bi], batch
        if not path:
            return tuple(parts)
        parts = parts[2:]
    for part in parts:
        if isinstance(node, list):
            index = next((i for i, item in enumerate(node) if isinstance(item, Mapping) and item.get("name") == part),
                         int(part) if part.isdigit() else None)
            path.append(index if index is not None else part)
            node = node[index] if index is not None and index < len(node) else None
        else:
            path.append(part)
            node = node.get(part) if isinstance(node, Mapping) else None
    return tuple(path)


def _set_path(root: dict[str, Any], parts: list[str], value: Any, key: str) -> None:
    if parts[0] == "batches" and len(parts) < 3:
        raise ScenarioError(f"--set {key}", "name a batch and a field, e.g. batches.week-49.labeling_queue=1")
    if parts[0] == "batches":
        parent: Any = _find_batch_mapping(root, parts[1], key)
        parts = parts[2:]
    else:
        parent = root
    for _i, part in enumerate(parts[:-1]):
        child = _child(parent, part, key, create=True)
        parent = child
    last = parts[-1]
    if isinstance(parent, list):
        index = _list_index(parent, last, key)
        parent[index] = value
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise ScenarioError(f"--set {key}", f"cannot set {last!r} inside a {type(parent).__name__}")


def _child(parent: Any, part: str, key: str, *, create: bool) -> Any:
    if isinstance(parent, dict):
        if part not in parent or parent[part] is None:
            if not create:
                raise ScenarioError(f"--set {key}", f"no key {part!r}")
            parent[part] = {}
        return parent[part]
    if isinstance(parent, list):
        return parent[_list_index(parent, part, key)]
    raise ScenarioError(f"--set {key}", f"cannot go into {part!r}: it is a {type(parent).__name__}")


def _list_index(items: list[Any], part: str, key: str) -> int:
    for index, item in enumerate(items):
        if isinstance(item, Mapping) and item.get("name") == part:
            return index
    if part.isdigit() and int(part) < len(items):
        return int(part)
    names = [str(i.get("name")) for i in items if isinstance(i, Mapping) and "name" in i]
    raise ScenarioError(f"--set {key}", f"no item named {part!r} (names: {', '.join(names) or 'none'})")


def _find_batch_mapping(root: Mapping[str, Any], ref: str, key: str) -> dict[str, Any]:
    project_name, _, batch_name = ref.rpartition("/")
    found = [
        batch
        for project in root.get("projects") or []
        if isinstance(project, Mapping) and (not project_name or project.get("name") == project_name)
        for batch in project.get("batches") or []
        if isinstance(batch, dict) and batch.get("name") == batch_name
    ]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ScenarioError(f"--set {key}", f"no batch named {ref!r}")
    raise ScenarioError(f"--set {key}", f"batch name {ref!r} is ambiguous; write project/batch")


def override_for(field: str, overrides: Sequence[str]) -> str | None:
    """The override whose key names the invalid ``field`` (its names in order), if any."""
    for text in overrides:
        names = [n for n in text.partition("=")[0].strip().split(".") if n not in ("batches", "projects", "performers")]
        position = 0
        for name in names:
            position = field.find(name, position)
            if position < 0:
                break
            position += len(name)
        else:
            if names:
                return text
    return None

