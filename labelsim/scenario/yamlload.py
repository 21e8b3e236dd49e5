"""A hardened YAML reader for scenarios and ``--set`` values.

:func:`load_yaml` is ``yaml.safe_load`` with four changes, each raising
:class:`yaml.YAMLError` with the line (the caller turns it into one message):

- a key repeated in one mapping is an error naming the key and both lines (plain
  YAML keeps the last value silently);
- nesting deeper than :data:`MAX_YAML_DEPTH` levels is an error (instead of a
  ``RecursionError``), and a document that expands to more than
  :data:`MAX_YAML_VALUES` values (counting every use of an alias: the "billion
  laughs") is an error;
- ``15:00`` is the text ``"15:00"``, not YAML 1.1's sexagesimal number 900
  (YAML 1.2 dropped it), so shift times read as written;
- a value the constructor cannot build (``2026-02-30``, an integer of
  thousands of digits) is a YAML error at its line, not a ``ValueError``.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

__all__ = ["MAX_YAML_DEPTH", "MAX_YAML_VALUES", "ScenarioLoader", "describe_yaml_error", "load_yaml"]

#: Deepest nesting of lists and mappings accepted (a scenario needs about eight).
MAX_YAML_DEPTH = 64
#: Most values (scalars, lists, mappings; aliases counted at every use) in one document.
MAX_YAML_VALUES = 1_000_000


class ScenarioLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` refusing duplicate keys, deep nesting and YAML 1.1 sexagesimals."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.YAMLError(
                    f"nesting deeper than {MAX_YAML_DEPTH} levels at line {self.peek_event().start_mark.line + 1}"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                line = key_node.start_mark.line + 1
                if first is not None:
                    raise ConstructorError(
                        None, None,
                        f"duplicate key {_short(key)} (first at line {first})",
                        key_node.start_mark,
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, OverflowError, TypeError) as exc:
            problem = f"cannot read the value ({_short(str(exc), quote=False)})"
            raise ConstructorError(None, None, problem, node.start_mark) from None


# YAML 1.2 has no sexagesimal numbers: drop the resolvers' ``1:30`` forms (ints and floats).
ScenarioLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ScenarioLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"""^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$""", re.X),
    list("-+0123456789"),
)
ScenarioLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _short(value: Any, limit: int = 60, *, quote: bool = True) -> str:
    text = repr(value) if quote else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def count_values(data: Any, limit: int = MAX_YAML_VALUES) -> int:
    """The number of values in ``data`` (shared objects counted at every use), stopping past ``limit``."""
    count, stack = 0, [data]
    while stack:
        item = stack.pop()
        count += 1
        if count > limit:
            return count
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: what and where (line, column)."""
    if isinstance(exc, yaml.reader.ReaderError):
        char = chr(exc.character) if isinstance(exc.character, int) else exc.character
        return f"YAML error: character {char!r} at offset {exc.position} is not allowed in YAML text"
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or (str(exc) if type(exc) is yaml.YAMLError else "") or "invalid syntax"
    syntax = isinstance(exc, (yaml.scanner.ScannerError, yaml.parser.ParserError, yaml.composer.ComposerError))
    return f"YAML {'syntax error' if syntax else 'error'}{where}: {problem}"


def load_yaml(text: str) -> Any:
    """Parse one YAML document with :class:`ScenarioLoader`.

    Raises:
        yaml.YAMLError: bad syntax, a duplicate key, too deep, too many values, a value that cannot be built.
    """
    loader = ScenarioLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    if count_values(data) > MAX_YAML_VALUES:
        raise yaml.YAMLError(f"more than {MAX_YAML_VALUES:,} values (counting every use of an alias)")
    return data
