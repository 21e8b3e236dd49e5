"""Starter and bundled scenario files (layer 7): what ``labelsim init`` writes.

The example scenarios of the repository's ``scenarios/`` folder ship inside the package
(``labelsim/scenarios`` links to it in a source checkout; the wheel holds copies), so an installed
labelsim can hand them out: ``labelsim init --example quickstart``.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

from .scenario import LabelsimError

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable

__all__ = ["bundled_scenarios", "init_scenario", "starter_text"]

#: The commented starter scenario ``labelsim init`` writes by default.
STARTER = "starter.yaml"


def bundled_scenarios() -> dict[str, Traversable]:
    """The example scenarios shipped with labelsim, by name (``quickstart``, ``priority_queue``…)."""
    folder = resources.files("labelsim") / "scenarios"
    if not folder.is_dir():
        return {}
    return {
        entry.name.removesuffix(".yaml"): entry
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    }


def starter_text(example: str | None = None) -> str:
    """The text of the commented starter scenario, or of a bundled example.

    Raises:
        LabelsimError: no bundled example of that name.
    """
    if example is None:
        return (resources.files("labelsim") / STARTER).read_text(encoding="utf-8")
    examples = bundled_scenarios()
    name = example.removesuffix(".yaml")
    if name not in examples:
        raise LabelsimError(f"--example {example}: no such example; one of: {', '.join(examples) or 'none'}")
    return examples[name].read_text(encoding="utf-8")


def init_scenario(path: str | os.PathLike[str], example: str | None = None) -> Path:
    """Write a starter scenario (or a bundled example) at ``path``; never overwrite a file.

    ``path`` may be a folder: the file is then ``scenario.yaml`` in it.  Missing parent folders are
    created.

    Returns:
        The file written.

    Raises:
        LabelsimError: the file exists, or cannot be written (one line).
    """
    text = starter_text(example)
    target = Path(path)
    if target.is_dir():
        target = target / "scenario.yaml"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise LabelsimError(f"init: {target} already exists; not overwriting it (give another path)") from None
    except OSError as exc:
        raise LabelsimError(f"init: cannot write {target} ({exc.strerror or exc.__class__.__name__})") from None
    return target
