"""Reading scenarios and writing results (layer 7).

Outputs are written atomically, and only where nothing can be lost: see
:mod:`labelsim.output` (re-exported here).
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .output import OutputError, OutputTarget, _umask, check_output_folder, write_folder
from .scenario import Scenario, ScenarioError
from .scenario.yamlload import describe_yaml_error, load_yaml

__all__ = [
    "MAX_SCENARIO_BYTES",
    "OutputError",
    "OutputTarget",
    "check_output_folder",
    "csv_writer",
    "load_scenario",
    "read_scenario_mapping",
    "write_csv",
    "write_folder",
    "write_frames",
    "write_json",
]


#: Largest scenario file read (bytes); scenarios are a few kilobytes.
MAX_SCENARIO_BYTES = 10 * 1024 * 1024


def read_scenario_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML scenario file into a mapping (:func:`labelsim.scenario.yamlload.load_yaml`).

    Only a regular file of at most :data:`MAX_SCENARIO_BYTES` (10 MB) in UTF-8 is
    read: a folder, FIFO, socket or device (``/dev/zero``) is refused after an
    ``os.stat`` and before opening, so nothing blocks or reads forever.  The YAML
    reader refuses duplicate keys, nesting deeper than 64 levels and alias bombs.

    Raises:
        ScenarioError: missing, not a regular file, too large, unreadable, not
            UTF-8, empty, or not valid YAML.
    """
    source = str(path)
    info = _stat_scenario_file(path, source)
    text = _read_capped(path, source, info.st_size)
    if not text.strip():
        raise ScenarioError("", "the file is empty", source=source)
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ScenarioError("", describe_yaml_error(exc), source=source) from None
    except RecursionError:  # pragma: no cover - the loader's depth limit comes first
        raise ScenarioError("", "YAML nesting is too deep", source=source) from None
    if data is None:
        raise ScenarioError("", "the file holds no scenario (only comments?)", source=source)
    if not isinstance(data, dict):
        raise ScenarioError("", f"a scenario must be a mapping of keys, not a {type(data).__name__}", source=source)
    return data


def _stat_scenario_file(path: str | os.PathLike[str], source: str) -> os.stat_result:
    """``os.stat`` the file (following links); refuse anything but a regular file of sane size."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ScenarioError("", "no such file", source=source) from None
    except (OSError, ValueError) as exc:  # permissions, a name too long, a NUL byte in the name
        raise ScenarioError("", f"cannot read the file ({_os_reason(exc)})", source=source) from None
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise ScenarioError("", "is a folder, not a scenario file", source=source)
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"
        )
        raise ScenarioError("", f"is {kind}, not a regular scenario file", source=source)
    if info.st_size > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            "", f"the file is {info.st_size:,} bytes; a scenario file may have at most {MAX_SCENARIO_BYTES:,}",
            source=source,
        )
    return info


def _read_capped(path: str | os.PathLike[str], source: str, size: int) -> str:
    """Read at most ``MAX_SCENARIO_BYTES`` (+1 to notice growth) without blocking, decode UTF-8."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for something else since the stat
                raise ScenarioError("", "is not a regular scenario file", source=source)
            with os.fdopen(fd, "rb", closefd=False) as handle:
                raw = handle.read(MAX_SCENARIO_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise ScenarioError("", f"cannot read the file ({_os_reason(exc)})", source=source) from None
    if len(raw) > MAX_SCENARIO_BYTES:
        raise ScenarioError("", f"the file is larger than {MAX_SCENARIO_BYTES:,} bytes", source=source)
    if b"\0" in raw:
        raise ScenarioError("", "is a binary file (it holds NUL bytes), not a YAML scenario", source=source)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError("", f"is not UTF-8 text (bad byte at offset {exc.start})", source=source) from None


def _os_reason(exc: BaseException) -> str:
    reason = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
    return str(reason)


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


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` as indented JSON."""
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


def csv_writer(frame: Any) -> Callable[[Path], object]:
    """A writer (for :func:`write_folder`) of ``frame`` as CSV, see :func:`write_csv`."""
    return lambda path: write_csv(path, frame)


def write_csv(path: Path, frame: Any) -> None:
    """Write a frame as CSV, timestamps to the second with their UTC offset (``2026-12-01 09:00:47+00:00``).

    The frames keep full precision (and so does Parquet); a CSV is for people and spreadsheets.
    """
    rounded = {
        column: frame[column].dt.round("s") for column in frame.columns if frame[column].dtype.kind == "M"
    }
    (frame.assign(**rounded) if rounded else frame).to_csv(path, index=False)


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _parquet_writer(frame: Any) -> Callable[[Path], object]:
    return lambda path: frame.to_parquet(path, index=False)


def write_frames(
    frames: Mapping[str, Any], payload: Mapping[str, Any], json_name: str
) -> dict[str, Callable[[Path], object]]:
    """Writers for each frame as CSV (and Parquet when pyarrow is installed) plus a JSON file."""
    writers: dict[str, Callable[[Path], object]] = {}
    parquet = _has_pyarrow()
    for name, frame in frames.items():
        writers[f"{name}.csv"] = csv_writer(frame)
        if parquet:
            writers[f"{name}.parquet"] = _parquet_writer(frame)
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
