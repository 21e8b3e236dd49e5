"""Output folders that cannot destroy anything (layer 7).

Rules for a folder given as ``--out`` (or to :func:`write_folder`):

- The folder is written complete or not at all: every file goes to a hidden staging folder
  next to the real target (``.NAME.labelsim-tmp-…``, same file system, so the final rename is
  atomic), which then takes the target's place.
- Every output folder carries a marker file, :data:`MARKER` (``.labelsim-output.json``), with
  the run's provenance: labelsim version, command, time, process id, host and the files written.
- A folder that is absent or empty is written.  A non-empty folder is replaced only with
  ``force`` and only if labelsim wrote it (its marker is there and it holds no other files);
  anything else is refused with one line and left untouched.
- The current folder, its parents (``/`` included) and the home folder are always refused.
- Missing parent folders are created, and writing in the parent is tried before any work
  starts (:func:`check_output_folder`).
- A symlink to a folder is followed: the files go to the folder it points to; the link stays.
- Concurrent runs: the state of the target is noted when it is checked and compared again,
  under a lock on the parent folder, at the moment of the swap.  If another run (or anyone)
  changed the target in between, this run gets a clear :class:`OutputError` and writes
  nothing: of several runs racing for one folder, exactly one wins; the others are told.
- Replacing a folder is one atomic exchange of the two folders on Linux (``renameat2`` with
  ``RENAME_EXCHANGE``); elsewhere two renames under the lock.
- Staging folders are removed on any error, Ctrl-C included.  One left by a killed run (its
  name carries the host and process id) is removed by the next write in the same parent
  folder once that process is provably gone; until then it is hidden and ignored.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as _dt
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._version import __version__
from .scenario import LabelsimError

try:  # POSIX only; without it the swap is re-checked but not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["MARKER", "OutputError", "OutputTarget", "check_output_folder", "clean_stale_staging", "write_folder"]

#: The marker file every output folder carries (JSON: who wrote it, when, which files).
MARKER = ".labelsim-output.json"
#: Longest wait for another labelsim run's swap in the same parent folder (seconds).
LOCK_TIMEOUT_S = 30.0

_HOST_TAG = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]
_STAGING_RE = re.compile(r"^\..*\.labelsim-(?P<kind>tmp|old|probe)-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[^/]*$")


class OutputError(LabelsimError):
    """An output folder cannot be written as asked."""


@dataclass(frozen=True)
class _State:
    """What a folder holds, to tell whether it changed between the check and the swap."""

    device: int
    inode: int
    names: frozenset[str]
    run_id: str | None
    files: frozenset[str] | None


@dataclass(frozen=True)
class OutputTarget:
    """An output folder that passed :func:`check_output_folder`.

    Attributes:
        path: the folder as given (possibly a symlink, which is kept).
        real: the folder that is written (symlinks resolved).
        state: what the folder held at the check (``None``: absent); the swap requires the same.
        force: whether a labelsim folder may be replaced.
    """

    path: Path
    real: Path
    state: _State | None
    force: bool


def _problem(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("written_by") == "labelsim" else None


def _state(real: Path) -> _State | None:
    try:
        info = real.stat()
        names = frozenset(os.listdir(real))
    except FileNotFoundError:
        return None
    marker = _read_marker(real) if MARKER in names else None
    files = marker.get("files") if marker else None
    return _State(
        device=info.st_dev,
        inode=info.st_ino,
        names=names,
        run_id=str(marker.get("run_id")) if marker else None,
        files=frozenset(str(f) for f in files) if isinstance(files, list) else None,
    )


def _refuse_dangerous(text: str, real: Path) -> None:
    cwd = Path.cwd().resolve()
    if real == cwd or real in cwd.parents:
        raise OutputError(f"--out {text}: is the current folder or one of its parents; give a new subfolder")
    with contextlib.suppress(RuntimeError, KeyError):
        if real == Path.home().resolve():
            raise OutputError(f"--out {text}: is your home folder; give a new subfolder")


def _make_parent(text: str, parent: Path) -> None:
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"--out {text}: cannot create the folder {parent}: a file of that name exists") from None
    except OSError as exc:
        raise OutputError(f"--out {text}: cannot create the folder {parent} ({_problem(exc)})") from None
    if not parent.is_dir():
        raise OutputError(f"--out {text}: {parent} is not a folder")


def _probe_write(text: str, parent: Path, name: str) -> None:
    """Create and remove a file in ``parent``: the cheapest proof that the output can be written."""
    try:
        handle, probe = tempfile.mkstemp(prefix=f".{name}.labelsim-probe-{_HOST_TAG}-{os.getpid()}-", dir=parent)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"--out {text}: cannot write in {parent} ({_problem(exc)})") from None


def check_output_folder(folder: str | os.PathLike[str], *, force: bool) -> OutputTarget:
    """Check, before any work starts, that ``folder`` can be written; create missing parents.

    Raises:
        OutputError: one line naming the folder and the problem (see the module's rules).
    """
    given = Path(folder)
    text = str(folder)
    real = Path(os.path.realpath(given))
    _refuse_dangerous(text, real)
    if real.exists() and not real.is_dir():
        raise OutputError(f"--out {text}: exists and is not a folder")
    if real.is_dir() and os.path.ismount(real):
        raise OutputError(f"--out {text}: is a mount point; give a folder inside it")
    _make_parent(text, real.parent)
    _probe_write(text, real.parent, real.name)
    clean_stale_staging(real.parent)
    try:
        state = _state(real)
    except OSError as exc:
        raise OutputError(f"--out {text}: cannot read the folder ({_problem(exc)})") from None
    if state is not None and state.names:
        if not force:
            raise OutputError(f"--out {text}: folder is not empty (use --force to replace a folder labelsim wrote)")
        if state.run_id is None or state.files is None:
            raise OutputError(
                f"--out {text}: folder is not empty and was not written by labelsim (no {MARKER}); "
                "refusing to replace it, even with --force"
            )
        foreign = sorted(state.names - state.files - {MARKER})
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise OutputError(
                f"--out {text}: folder holds files labelsim did not write ({shown}); refusing to replace it"
            )
    return OutputTarget(path=given, real=real, state=state, force=force)


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":  # pragma: no cover - os.kill(pid, 0) would end the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def clean_stale_staging(parent: str | os.PathLike[str]) -> list[Path]:
    """Remove staging folders in ``parent`` left by labelsim runs on this host that no longer run.

    Only hidden folders named ``.NAME.labelsim-tmp-HOST-PID-…`` (or ``-old-``), and write-probe files
    ``.NAME.labelsim-probe-HOST-PID-…``, whose host is this one and whose process is gone are removed;
    everything else is left alone.

    Returns:
        The folders removed.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        match = _STAGING_RE.match(entry.name)
        if match is None or match["host"] != _HOST_TAG:
            continue
        probe = match["kind"] == "probe"
        if not (entry.is_file(follow_symlinks=False) if probe else entry.is_dir(follow_symlinks=False)):
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or _pid_alive(pid):
            continue
        if probe:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
        else:
            shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def _locked(folder: Path, text: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``folder`` (the parent of the target) while swapping."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    try:
        handle = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        yield
        return
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OutputError(f"--out {text}: another labelsim run keeps {folder} locked") from None
                time.sleep(0.01)
            except OSError:  # a file system without flock: the re-check below still runs
                break
        yield
    finally:
        os.close(handle)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False when unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _staging_name(real: Path, kind: str) -> str:
    return f".{real.name}.labelsim-{kind}-{_HOST_TAG}-{os.getpid()}-"


def _swap(staging: Path, target: OutputTarget) -> None:
    """Put ``staging`` in the target's place, if the target is still what the check saw."""
    real, text = target.real, str(target.path)
    with _locked(real.parent, text):
        now = _state(real)
        if now != target.state:
            raise OutputError(
                f"--out {text}: the folder changed while this run was working (another run wrote it?); "
                "left it as it is and wrote nothing"
            )
        if now is None or not now.names:
            os.replace(staging, real)  # onto nothing or an empty folder: one atomic rename
            return
        if _exchange(staging, real):
            shutil.rmtree(staging, ignore_errors=True)  # staging now holds the previous folder
            return
        old = Path(tempfile.mkdtemp(prefix=_staging_name(real, "old"), dir=real.parent))
        os.replace(real, old / "previous")
        os.replace(staging, real)
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_folder(
    folder: str | os.PathLike[str] | OutputTarget,
    writers: Mapping[str, Callable[[Path], object]],
    *,
    force: bool = False,
    command: Sequence[str] | None = None,
) -> Path:
    """Write files into ``folder``, completely or not at all (see the module's rules).

    Args:
        folder: the output folder, or the :class:`OutputTarget` an earlier
            :func:`check_output_folder` returned (then a change since that check is detected).
        writers: file name -> function writing that file at the path it is given.
        force: replace a folder labelsim wrote (ignored when ``folder`` is an OutputTarget).
        command: the command line, recorded in the marker file.

    Returns:
        The folder as given.

    Raises:
        OutputError: the folder may not or cannot be written; nothing was changed.
    """
    target = folder if isinstance(folder, OutputTarget) else check_output_folder(folder, force=force)
    if MARKER in writers:
        raise ValueError(f"{MARKER} is written by write_folder itself")
    real, text = target.real, str(target.path)
    try:
        staging = Path(tempfile.mkdtemp(prefix=_staging_name(real, "tmp"), dir=real.parent))
    except OSError as exc:
        raise OutputError(f"--out {text}: cannot write in {real.parent} ({_problem(exc)})") from None
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private; a normal folder is expected
        marker = {
            "written_by": "labelsim",
            "labelsim_version": __version__,
            "run_id": uuid.uuid4().hex,
            "command": list(command) if command is not None else None,
            "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "files": list(writers),
        }
        (staging / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        for name, write in writers.items():
            try:
                write(staging / name)
            except OSError as exc:
                raise OutputError(f"--out {text}: cannot write {name} ({_problem(exc)})") from None
        try:
            _swap(staging, target)
        except OSError as exc:
            raise OutputError(f"--out {text}: cannot replace the folder ({_problem(exc)})") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target.path
