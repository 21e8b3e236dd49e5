"""Reading scenarios and writing results (layer 7).

Outputs are written atomically: everything goes to a temporary folder next to
the target, which replaces the target only when complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .scenario import LabelsimError, Scenario, ScenarioError

__all__ = [
    "OutputError",
    "check_output_folder",
    "load_scenario",
    "read_scenario_mapping",
    "write_folder",
    "write_frames",
    "write_json",
]


class OutputError(LabelsimError):
    """An output folder cannot be written as asked."""


def read_scenario_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML scenario file into a mapping (``yaml.safe_load``).

    Raises:
        ScenarioError: missing, unreadable, empty, or not valid YAML.
    """
    source = str(path)
    file = Path(path)
    if not file.exists():
        raise ScenarioError("", "no such file", source=source)
    if file.is_dir():
        raise ScenarioError("", "is a folder, not a scenario file", source=source)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError("", f"cannot read the file ({exc.__class__.__name__})", source=source) from None
    if not text.strip():
        raise ScenarioError("", "the file is empty", source=source)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid syntax"
        raise ScenarioError("", f"YAML syntax error{where}: {problem}", source=source) from None
    if data is None:
        raise ScenarioError("", "the file holds no scenario (only comments?)", source=source)
    if not isinstance(data, dict):
        raise ScenarioError("", f"a scenario must be a mapping of keys, not a {type(data).__name__}", source=source)
    return data


def load_scenario(
    path_or_mapping: str | os.PathLike[str] | Mapping[str, Any] | Scenario,
    overrides: Sequence[str] = (),
) -> Scenario:
    """Load and validate a scenario from a YAML file or a mapping.

    Args:
        path_or_mapping: a path to a ``.yaml`` file, a mapping, or a Scenario.
        overrides: ``KEY=VALUE`` strings applied before validation, e.g.
            ``["batches.week-49.labeling_queue=1", "account.balance=500"]``.

    Raises:
        ScenarioError: one message naming the field and the problem.
    """
    if isinstance(path_or_mapping, Scenario):
        if not overrides:
            return path_or_mapping
        data: Mapping[str, Any] = path_or_mapping.model_dump(mode="json", by_alias=True, exclude_none=True)
        return Scenario.from_mapping(data, overrides=overrides)
    if isinstance(path_or_mapping, Mapping):
        return Scenario.from_mapping(path_or_mapping, overrides=overrides)
    data = read_scenario_mapping(path_or_mapping)
    return Scenario.from_mapping(data, source=str(path_or_mapping), overrides=overrides)


def check_output_folder(folder: str | os.PathLike[str], *, force: bool) -> Path:
    """Check that ``folder`` can be written (absent, empty, or ``force``)."""
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise OutputError(f"--out {target}: exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise OutputError(f"--out {target}: folder is not empty (use --force to replace it)")
    parent = target.resolve().parent
    if not parent.is_dir():
        raise OutputError(f"--out {target}: parent folder {parent} does not exist")
    return target


def write_folder(
    folder: str | os.PathLike[str],
    writers: Mapping[str, Callable[[Path], None]],
    *,
    force: bool = False,
) -> Path:
    """Write files atomically into ``folder``.

    ``writers`` maps a file name to a function that writes that file at the
    given path.  All files are written into a temporary sibling folder, which
    then replaces ``folder``; on any error nothing is left behind.
    """
    target = check_output_folder(folder, force=force)
    parent = target.resolve().parent
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private; a normal folder is expected
    try:
        for name, write in writers.items():
            write(staging / name)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=parent))
            os.replace(target, old / "previous")
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` as indented JSON."""
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def write_frames(
    frames: Mapping[str, Any], payload: Mapping[str, Any], json_name: str
) -> dict[str, Callable[[Path], None]]:
    """Writers for each frame as CSV (and Parquet when pyarrow is installed) plus a JSON file."""
    writers: dict[str, Callable[[Path], None]] = {}
    parquet = _has_pyarrow()
    for name, frame in frames.items():
        writers[f"{name}.csv"] = lambda path, frame=frame: frame.to_csv(path, index=False)
        if parquet:
            writers[f"{name}.parquet"] = lambda path, frame=frame: frame.to_parquet(path, index=False)
    writers[json_name] = lambda path: write_json(path, payload)
    return writers


__all__ += ["write_export"]


def write_export(log: Any, path: str | os.PathLike[str], format: str = "toloka", *, force: bool = False) -> Path:
    """Write an assignment log (:func:`labelsim.logs.read_log`, :func:`labelsim.logs.log_from_result`) as a
    platform export file: ``"toloka"`` (TSV), ``"mturk"`` or ``"figure-eight"`` (CSV), atomically.

    The text is :func:`labelsim.logs.format_export`'s; it goes to a temporary file next to ``path`` that
    replaces ``path`` only when complete.

    Raises:
        OutputError: ``path`` exists (without ``force``), is a folder, or its folder does not exist.
        LogError: an unknown format or a frame that is not an assignment log.
    """
    from .logs import format_export

    target = Path(path)
    if target.is_dir():
        raise OutputError(f"{target}: is a folder; give a file name for the export")
    if target.exists() and not force:
        raise OutputError(f"{target}: exists (use force=True to replace it)")
    if not target.resolve().parent.is_dir():
        raise OutputError(f"{target}: folder {target.resolve().parent} does not exist")
    text = format_export(log, format)
    handle, staging = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.resolve().parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(staging, 0o666 & ~_umask())
        os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return target


def write_text_new(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to a new file atomically (a temporary sibling renamed into place).

    Raises:
        OutputError: the file exists already or its folder does not.
    """
    target = Path(path)
    if target.exists():
        raise OutputError(f"--out {target}: file exists; choose another name or remove it")
    parent = target.resolve().parent
    if not parent.is_dir():
        raise OutputError(f"--out {target}: folder {parent} does not exist")
    handle, staging = tempfile.mkstemp(prefix=f".{target.name}.", dir=parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(staging, 0o666 & ~_umask())
        if target.exists():  # appeared meanwhile: do not replace it
            raise OutputError(f"--out {target}: file exists; choose another name or remove it")
        os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return target
