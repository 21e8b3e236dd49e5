"""Reading scenarios and writing results (layer 7).

Outputs are written atomically: everything goes to a temporary folder next to
the target, which replaces the target only when complete.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .scenario import LabelsimError, Scenario, ScenarioError
from .scenario.yamlload import describe_yaml_error, load_yaml

__all__ = [
    "MAX_SCENARIO_BYTES",
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
