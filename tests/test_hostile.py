"""Hostile input (issue 9): a corpus of malformed and extreme inputs run through the command line.

Every case runs the CLI in-process (typer's ``CliRunner``) under a timer: a hang fails the
case instead of blocking the suite.  A case either

- is refused: exit code 2, exactly one line on stderr starting with ``error:`` that names the
  field, flag or file, no traceback, no raw control character, nothing on stdout, and no
  ``--out`` folder; or
- runs (exit code 0), printing at most ``warning: ...`` lines on stderr (those expected).

Scenario cases use ``run --out`` when refused (the refusal comes before any simulation) and
``validate`` when accepted, so the corpus stays fast; a few accepted cases really run.
"""

from __future__ import annotations

import copy
import os
import re
import signal
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import labelsim
from labelsim import engine
from labelsim.cli import app
from labelsim.distributions import Constant
from labelsim.forecasting import forecast
from labelsim.scenario import LabelsimError, Scenario, ScenarioError, limits

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"

#: A small valid scenario; every case breaks one thing in it.
BASE: dict[str, Any] = {
    "name": "hostile",
    "start": "2026-12-01T09:00:00Z",
    "horizon": "2d",
    "account": {"balance": 50.0, "top_ups": [{"at": "1d", "amount": 10.0}]},
    "projects": [
        {
            "name": "search",
            "batches": [
                {"name": "week-49", "items": 200, "labeling_queue": 1, "overlap": 3, "tasks_per_suite": 10,
                 "reward": 0.04, "time_limit": "10m", "launch_at": "0h"},
                {"name": "live", "items": 0, "reward": 0.02, "time_limit": "10m", "launch_at": "0h",
                 "stream": {"rate": "60/h", "until": "1d", "items": 50}},
            ],
        }
    ],
    "performers": [
        {"name": "crowd", "kind": "crowd", "sessions_per_hour": 40, "population": 500,
         "seconds_per_task": {"dist": "lognormal", "median": 12, "sigma": 0.8}},
        {"name": "team", "kind": "team", "size": 3, "seconds_per_task": {"dist": "exponential", "mean": 20},
         "shifts": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}]},
    ],
    "events": [
        {"at": "1h", "pause": "live"},
        {"at": "2h", "top_up": 5.0},
        {"at": "3h", "add_items": {"batch": "week-49", "items": 100}},
    ],
}

ERROR, OK = "error", "ok"
#: Raw control characters must never reach the terminal (a newline ends the one line).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u202a-\u202e]")
#: Seconds a case may take before it counts as a hang.
TIMEOUT_S = 20


@dataclass
class Case:
    """One hostile input: the CLI arguments (``{file}`` is the scenario path, ``{out}`` the --out folder)."""

    expect: str  # ERROR or OK
    must: list[str]  # substrings of the error line, or of the warnings
    text: str | None = None  # the scenario file's text (None: BASE as is)
    args: list[str] = field(default_factory=list)  # flags after the command
    command: str = ""  # default: "run" for errors, "validate" for accepted cases
    setup: Callable[[Path], Path] | None = None  # makes the scenario file itself (FIFO, socket…)


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _with(path: tuple[Any, ...], value: Any) -> str:
    data = copy.deepcopy(BASE)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return _dump(data)


def _edit(fn: Callable[[dict[str, Any]], None]) -> str:
    data = copy.deepcopy(BASE)
    fn(data)
    return _dump(data)


CASES: dict[str, Case] = {}

# --------------------------------------------------------------------------- numbers × hostile values

B0, B1 = ("projects", 0, "batches", 0), ("projects", 0, "batches", 1)
CROWD, TEAM = ("performers", 0), ("performers", 1)
NUMERIC: dict[str, tuple[tuple[Any, ...], str, bool]] = {
    # name: (path, word the message must name, null allowed)
    "balance": (("account", "balance"), "balance", False),
    "reserved": (("account", "reserved"), "reserved", True),
    "fee_rate": (("account", "fee_rate"), "fee_rate", False),
    "min_fee": (("account", "min_fee"), "min_fee", False),
    "top_up_amount": (("account", "top_ups", 0, "amount"), "amount", False),
    "items": ((*B0, "items"), "items", False),
    "overlap": ((*B0, "overlap"), "overlap", False),
    "tasks_per_suite": ((*B0, "tasks_per_suite"), "tasks_per_suite", False),
    "reward": ((*B0, "reward"), "reward", False),
    "labeling_queue": ((*B0, "labeling_queue"), "labeling_queue", False),
    "stream_items": ((*B1, "stream", "items"), "stream.items", True),
    "sessions_per_hour": ((*CROWD, "sessions_per_hour"), "sessions_per_hour", False),
    "population": ((*CROWD, "population"), "population", False),
    "top10_share": ((*CROWD, "top10_share"), "top10_share", False),
    "skip_rate": ((*CROWD, "skip_rate"), "skip_rate", False),
    "suites_per_session": ((*CROWD, "suites_per_session"), "suites_per_session", False),
    "median": ((*CROWD, "seconds_per_task", "median"), "median", False),
    "team_size": ((*TEAM, "size"), "size", False),
    "event_top_up": (("events", 1, "top_up"), "top_up", False),
    "add_items": (("events", 2, "add_items", "items"), "items", False),
    "activity_weight": ((*CROWD, "activity"), "activity", False),
}
HOSTILE_VALUES: dict[str, Any] = {
    "inf": float("inf"), "-inf": float("-inf"), "nan": float("nan"), "1e308": 1e308, "-1": -1,
    "huge-int": 10**30, "string": "abc", "bool": True, "null": None,
}
for _field, (_path, _word, _nullable) in NUMERIC.items():
    for _label, _value in HOSTILE_VALUES.items():
        if _field == "activity_weight":  # one of the 24 hourly weights
            _text = _with(_path, {"hourly": [_value] + [1.0] * 23, "weekly": [1.0] * 7})
        else:
            _text = _with(_path, _value)
        if _label == "null" and _nullable:
            CASES[f"number-{_field}-{_label}"] = Case(OK, [], _text)
        else:
            CASES[f"number-{_field}-{_label}"] = Case(ERROR, [_word, "hostile.yaml"], _text)

# --------------------------------------------------------------------------- durations, rates, sizes

_DURATIONS = {
    "horizon-exponent": (("horizon",), "1e400s", "horizon"),
    "horizon-100000w": (("horizon",), "100000w", "horizon"),
    "horizon-3651d": (("horizon",), "3651d", "horizon"),
    "horizon-zero": (("horizon",), "0s", "horizon"),
    "horizon-negative": (("horizon",), "-1d", "horizon"),
    "horizon-bare-number": (("horizon",), 5, "horizon"),
    "horizon-inf": (("horizon",), float("inf"), "horizon"),
    "time-limit-huge": ((*B0, "time_limit"), "99999999999w", "time_limit"),
    "launch-at-huge": ((*B0, "launch_at"), "9999999999999w", "launch_at"),
    "event-at-huge": (("events", 0, "at"), "999999999999999999999d", "at"),
    "stream-rate-inf": ((*B1, "stream", "rate"), "1.0e+400/s", "rate"),
    "stream-rate-huge": ((*B1, "stream", "rate"), "2e6/s", "rate"),
    "stream-rate-zero": ((*B1, "stream", "rate"), "0/s", "rate"),
    "stream-rate-negative": ((*B1, "stream", "rate"), "-1/s", "rate"),
    "upload-rate-inf": ((*B0, "upload_rate"), "1e999/min", "upload_rate"),
    "progress-every-tiny": (("progress_every",), "0.001s", "progress_every"),
}
for _name, (_path, _value, _word) in _DURATIONS.items():
    CASES[f"duration-{_name}"] = Case(ERROR, [_word], _with(_path, _value))
CASES["duration-horizon-10-years"] = Case(OK, [], _with(("horizon",), "3650d"))
CASES["duration-upload-rate-tiny"] = Case(OK, [], _with((*B0, "upload_rate"), "1e-300/s"))
CASES["size-stream-without-end"] = Case(
    ERROR, ["stream", "items", "limit"], _with((*B1, "stream"), {"rate": "1000/s"})
)
CASES["size-stream-items-huge"] = Case(ERROR, ["stream.items"], _with((*B1, "stream", "items"), 10**8))
CASES["size-stream-ends-before-start"] = Case(
    ERROR, ["stream.until", "at or before its start"],
    _with((*B1, "stream"), {"rate": "1/h", "start": "5h", "until": "2h"}),
)
CASES["size-stream-ends-at-start"] = Case(
    ERROR, ["stream.until"], _with((*B1, "stream"), {"rate": "1/h", "start": "2h", "until": "2h"})
)
CASES["size-assignments"] = Case(
    ERROR, ["assignments", "limit"], _edit(lambda d: d["projects"][0]["batches"][0].update(
        items=10_000_000, overlap=30000, tasks_per_suite=1))
)
CASES["size-team-shifts"] = Case(
    ERROR, ["performers[team].size", "shift changes"],
    _edit(lambda d: (d["performers"][1].update(size=100_000), d.update(horizon="3650d"))),
)
CASES["size-progress-samples"] = Case(
    ERROR, ["progress_every"], _edit(lambda d: d.update(horizon="3650d", progress_every="1m"))
)
CASES["size-suites-per-session"] = Case(
    ERROR, ["suites_per_session"], _with((*CROWD, "suites_per_session"), {"dist": "uniform", "low": 1, "high": 1e6})
)
CASES["size-lognormal-sigma"] = Case(ERROR, ["sigma"], _with((*CROWD, "seconds_per_task", "sigma"), 1000))
CASES["size-empirical-huge"] = Case(
    ERROR, ["values"], _with((*CROWD, "seconds_per_task"), {"dist": "empirical", "values": [1, 1e300]})
)
CASES["size-many-assignments-warns"] = Case(
    OK, ["assignments"], _edit(lambda d: d["projects"][0]["batches"][0].update(items=2_000_000, tasks_per_suite=1))
)
CASES["size-many-sessions-warns"] = Case(
    OK, ["crowd sessions"],
    _edit(lambda d: (d["performers"][0].update(sessions_per_hour=100_000), d.update(horizon="3650d"))),
)
CASES["bare-number-constant-distribution"] = Case(OK, [], _with((*CROWD, "seconds_per_task"), 30))
CASES["bare-number-suites-per-session"] = Case(OK, [], _with((*CROWD, "suites_per_session"), 4), command="run")

# --------------------------------------------------------------------------- timestamps and zones

_STAMPS = {
    "start-year-1": (("start",), "0001-01-01T00:00:00Z", "start"),
    "start-year-9999": (("start",), "9999-12-31T23:59:59Z", "start"),
    "start-before-pandas": (("start",), "1677-09-21T00:00:00Z", "start"),
    "start-after-pandas": (("start",), "2262-04-12T00:00:00Z", "start"),
    "start-feb-30": (("start",), "2026-02-30T00:00:00", "start"),
    "start-month-13": (("start",), "2026-13-01T00:00:00", "start"),
    "start-junk": (("start",), "next tuesday", "start"),
    "start-number": (("start",), 12345, "start"),
    "event-year-9999": (("events", 0, "at"), "9999-01-01T00:00:00", "at"),
    "top-up-year-1": (("account", "top_ups", 0, "at"), "0001-01-01T00:00:00Z", "at"),
    "launch-before-start": ((*B0, "launch_at"), "2026-11-30T00:00:00Z", "launch_at"),
    "timezone-unknown": (("timezone",), "Mars/Olympus", "time zone"),
    "timezone-empty": (("timezone",), "", "time zone"),
    "timezone-traversal": (("timezone",), "../../etc/passwd", "time zone"),
    "timezone-nul": (("timezone",), "UTC\x00", "time zone"),
    "timezone-long": (("timezone",), "A" * 5000, "time zone"),
    "timezone-number": (("timezone",), 5, "timezone"),
}
for _name, (_path, _value, _word) in _STAMPS.items():
    CASES[f"time-{_name}"] = Case(ERROR, [_word], _with(_path, _value))
CASES["time-yaml-date-feb-30"] = Case(
    ERROR, ["hostile.yaml", "line 2"], _dump(BASE).replace("start: '2026-12-01T09:00:00Z'", "start: 2026-02-30")
)
CASES["time-start-in-dst-gap"] = Case(
    OK, ["start", "does not exist"], _edit(lambda d: d.update(timezone="Europe/Berlin", start="2026-03-29T02:30:00"))
)
CASES["time-start-ambiguous"] = Case(
    OK, ["start", "ambiguous"], _edit(lambda d: d.update(timezone="Europe/Berlin", start="2026-10-25T02:30:00"))
)
CASES["time-event-in-dst-gap"] = Case(
    OK, ["events[0].at", "does not exist"],
    _edit(lambda d: (d.update(timezone="Europe/Berlin", start="2026-03-28T09:00:00"),
                     d["events"][0].update(at="2026-03-29T02:30:00"))),
)

# --------------------------------------------------------------------------- names and keys

_NAMES = {
    "batch-newline": ((*B0, "name"), "week\n49"),
    "batch-bell": ((*B0, "name"), "week\x0749"),
    "batch-ansi": ((*B0, "name"), "\x1b[31mred"),
    "batch-slash": ((*B0, "name"), "a/b"),
    "batch-empty": ((*B0, "name"), ""),
    "batch-leading-space": ((*B0, "name"), " week"),
    "batch-too-long": ((*B0, "name"), "x" * 201),
    "batch-bidi": ((*B0, "name"), "\u202eevil"),
    "batch-number": ((*B0, "name"), 42),
    "batch-null": ((*B0, "name"), None),
    "project-slash": (("projects", 0, "name"), "p/q"),
    "project-newline": (("projects", 0, "name"), "p\nq"),
    "performer-slash": ((*CROWD, "name"), "c/d"),
    "performer-tab": ((*CROWD, "name"), "c\td"),
    "scenario-escape": (("name",), "\x1b[2J"),
    "scenario-huge": (("name",), "x" * 3_000_000),
    "event-target-newline": (("events", 0, "pause"), "live\n"),
    "event-target-two-slashes": (("events", 0, "pause"), "a/b/c"),
    "event-target-empty-project": (("events", 0, "pause"), "/live"),
    "add-items-target-escape": (("events", 2, "add_items", "batch"), "\x1b]0;pwned\x07"),
}
for _name, (_path, _value) in _NAMES.items():
    CASES[f"name-{_name}"] = Case(ERROR, ["hostile.yaml"], _with(_path, _value))
CASES["name-project-slash-event-ok"] = Case(OK, [], _with(("events", 0, "pause"), "search/live"))
CASES["key-control-char"] = Case(
    ERROR, ["unknown key", "over\\x07lap"], _dump(BASE).replace("overlap: 3", '"over\\alap": 3')
)
CASES["key-newline"] = Case(ERROR, ["unknown key", "a\\nb"], _dump(BASE).replace("overlap: 3", '"a\\nb": 3'))
CASES["key-huge"] = Case(ERROR, ["YAML", "line 15"], _dump(BASE).replace("overlap: 3", f"{'k' * 100_000}: 3"))
CASES["key-number"] = Case(ERROR, ["keys should be strings", "12"], _dump(BASE).replace("overlap: 3", "12: 3"))

# --------------------------------------------------------------------------- YAML structure


def _bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


_BASE_TEXT = _dump(BASE)
_YAML = {
    "duplicate-top-level": (_BASE_TEXT + "horizon: 3d\n", ["duplicate key 'horizon'", "line"]),
    "duplicate-nested": (
        _BASE_TEXT.replace("    overlap: 3", "    overlap: 3\n    overlap: 4"), ["duplicate key 'overlap'"]
    ),
    "duplicate-flow": (_BASE_TEXT.replace("balance: 50.0", "balance: 50.0\n  fee_rate: {a: 1, a: 2}"),
                       ["duplicate key 'a'"]),
    "deep-lists": ("name: x\ndeep: " + "[" * 100_000 + "]" * 100_000 + "\n", ["nesting"]),
    "deep-mappings": ("name: x\ndeep: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n", ["nesting"]),
    "deep-block": ("".join(" " * i + "a:\n" for i in range(2_000)), ["nesting"]),
    "alias-bomb": (_bomb(), ["values"]),
    "python-tag": ("name: !!python/object/apply:os.system ['true']\n", ["YAML", "line 1"]),
    "huge-int-literal": (_BASE_TEXT.replace("items: 200", "items: " + "9" * 5000), ["line"]),
    "binary": (None, ["binary"]),
    "utf16": (None, ["hostile.yaml"]),
    "latin1": (None, ["UTF-8"]),
    "only-separator": ("---\n", ["no scenario"]),
    "two-documents": (_BASE_TEXT + "---\nname: other\n", ["another document"]),
    "tab-indent": ("name: x\naccount:\n\tbalance: 5\n", ["YAML syntax error", "line 3"]),
    "scalar": ("42\n", ["mapping"]),
    "list": ("- a\n- b\n", ["mapping"]),
    "unclosed-quote": ('name: "abc\n', ["YAML syntax error"]),
    "raw-control-char": ("name: a\x07b\n", ["not allowed"]),
    "empty": ("", ["empty"]),
    "whitespace": ("   \n\n\t\n", ["empty"]),
}
for _name, (_text, _must) in _YAML.items():
    CASES[f"yaml-{_name}"] = Case(ERROR, ["hostile.yaml", *_must], _text)
CASES["yaml-binary"].text = None
CASES["yaml-anchor-outside-the-schema"] = Case(ERROR, ["x-defaults", "unknown key"], _BASE_TEXT.replace(
    "account:\n  balance: 50.0", "x-defaults: &d\n  balance: 50.0\naccount:\n  <<: *d"
))
CASES["yaml-bom-ok"] = Case(OK, [], "\ufeff" + _BASE_TEXT)
CASES["yaml-unquoted-times-ok"] = Case(OK, [], _BASE_TEXT.replace("end: '17:00'", "end: 17:00"))


def _write_bytes(data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "hostile.yaml"
        path.write_bytes(data)
        return path

    return make


CASES["yaml-binary"].setup = _write_bytes(bytes(range(256)) * 64)
CASES["yaml-utf16"].setup = _write_bytes(_BASE_TEXT.encode("utf-16"))
CASES["yaml-latin1"].setup = _write_bytes("name: caf\xe9\n".encode("latin-1"))

# --------------------------------------------------------------------------- shift times

_SHIFT = (*TEAM, "shifts", 0, "start")
CASES["shift-int-1500"] = Case(ERROR, ["shifts[0].start", "'HH:MM'"], _with(_SHIFT, 1500))
CASES["shift-int-540"] = Case(ERROR, ["shifts[0].start", "quoted"], _with(_SHIFT, 540))
CASES["shift-float"] = Case(ERROR, ["shifts[0].start"], _with(_SHIFT, 9.5))
CASES["shift-bool"] = Case(ERROR, ["shifts[0].start"], _with(_SHIFT, True))
CASES["shift-9am"] = Case(ERROR, ["shifts[0].start"], _with(_SHIFT, "9am"))
CASES["shift-25h"] = Case(ERROR, ["shifts[0].start"], _with(_SHIFT, "25:00"))
CASES["shift-unquoted-sexagesimal"] = Case(
    OK, [], _BASE_TEXT.replace("start: 09:00", "start: 15:00").replace("end: '17:00'", "end: 23:00")
)
CASES["shift-end-24"] = Case(OK, [], _with((*TEAM, "shifts", 0, "end"), "24:00"))

# --------------------------------------------------------------------------- warnings: legal but suspicious

CASES["warn-event-after-horizon"] = Case(OK, ["events[0].at", "never happens"], _with(("events", 0, "at"), "10d"))
CASES["warn-top-up-after-horizon"] = Case(
    OK, ["account.top_ups[0].at", "never happens"], _with(("account", "top_ups", 0, "at"), "3d"), command="run"
)
CASES["warn-overlap-beyond-people"] = Case(
    OK, ["overlap", "never be labeled"], _with((*B0, "overlap"), 1000)
)
CASES["warn-no-performers"] = Case(OK, ["nothing will be labeled"], _with(("performers",), []))
CASES["warn-reserved-without-in-flight"] = Case(
    OK, ["account.reserved", "in_flight"], _with(("account", "reserved"), 5.0)
)

# --------------------------------------------------------------------------- files


def _fifo(folder: Path) -> Path:
    path = folder / "hostile.yaml"
    os.mkfifo(path)
    return path


def _socket(folder: Path) -> Path:
    short = Path(tempfile.mkdtemp(prefix="ls", dir="/tmp"))
    path = short / "hostile.yaml"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()
    return path


def _link(target: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "hostile.yaml"
        path.symlink_to(target)
        return path

    return make


def _folder(folder: Path) -> Path:
    path = folder / "hostile.yaml"
    path.mkdir()
    return path


def _sparse(size: int) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "hostile.yaml"
        with open(path, "wb") as handle:
            handle.truncate(size)
        return path

    return make


def _padded(folder: Path) -> Path:
    """A valid scenario padded with a comment to just over the size limit."""
    path = folder / "hostile.yaml"
    path.write_text(_BASE_TEXT + "#" + "x" * (10 * 1024 * 1024) + "\n", encoding="utf-8")
    return path


def _named(name: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        return folder / name

    return make


_FILES = {
    "fifo": (_fifo, ["FIFO"]),
    "socket": (_socket, ["socket"]),
    "dev-zero": (_link("/dev/zero"), ["device"]),
    "dev-null": (_link("/dev/null"), ["device"]),
    "dev-urandom": (_link("/dev/urandom"), ["device"]),
    "folder": (_folder, ["folder"]),
    "dangling-link": (_link("/nonexistent/x.yaml"), ["no such file"]),
    "self-link": (_link("hostile.yaml"), ["hostile.yaml"]),
    "sparse-20mb": (_sparse(20 * 1024 * 1024), ["bytes"]),
    "padded-over-limit": (_padded, ["bytes"]),
    "missing": (_named("nope.yaml"), ["nope.yaml", "no such file"]),
    "name-with-newline": (_named("bad\nname.yaml"), ["bad\\nname.yaml"]),
    "name-with-nul": (_named("bad\x00name.yaml"), ["SCENARIO", "null byte"]),
    "name-too-long": (_named("x" * 5000 + ".yaml"), ["cannot read"]),
}
for _name, (_setup, _must) in _FILES.items():
    CASES[f"file-{_name}"] = Case(ERROR, _must, setup=_setup)

# --------------------------------------------------------------------------- command-line flags

_FLAGS: dict[str, tuple[str, list[str], list[str]]] = {
    # name: (command, flags, substrings)
    "jobs-zero": ("forecast", ["--jobs", "0"], ["--jobs"]),
    "jobs-negative": ("forecast", ["--jobs", "-1"], ["--jobs"]),
    "jobs-huge": ("forecast", ["--jobs", str(10**9)], ["--jobs"]),
    "jobs-text": ("forecast", ["--jobs", "abc"], ["--jobs"]),
    "replications-zero": ("forecast", ["-n", "0"], ["--replications"]),
    "replications-negative": ("forecast", ["-n", "-5"], ["--replications"]),
    "replications-huge": ("forecast", ["-n", str(10**12)], ["--replications"]),
    "replications-float": ("forecast", ["-n", "2.5"], ["--replications"]),
    "until-junk": ("run", ["--until", "soon"], ["until"]),
    "until-exponent": ("run", ["--until", "1e400"], ["until"]),
    "until-huge": ("run", ["--until", "99999w"], ["until", "limit"]),
    "until-inf": ("run", ["--until", "inf"], ["until"]),
    "until-nan": ("run", ["--until", "nan"], ["until"]),
    "until-negative": ("run", ["--until", "-1d"], ["until"]),
    "until-zero": ("run", ["--until", "0"], ["until"]),
    "until-3651d": ("forecast", ["--until", "3651d", "-n", "2"], ["until"]),
    "seed-negative": ("run", ["--seed", "-1"], ["seed"]),
    "seed-huge": ("run", ["--seed", str(2**200)], ["seed"]),
    "seed-float": ("run", ["--seed", "1e5"], ["--seed"]),
    "seed-empty": ("run", ["--seed", ""], ["--seed"]),
    "scheduler-junk": ("forecast", ["--scheduler", "foo", "-n", "2"], ["scheduler", "tcp://"]),
    "scheduler-no-port": ("forecast", ["--scheduler", "tcp://", "-n", "2"], ["scheduler"]),
    "scheduler-port-range": ("forecast", ["--scheduler", "tcp://host:99999", "-n", "2"], ["scheduler"]),
    "scheduler-http": ("forecast", ["--scheduler", "http://host:8786", "-n", "2"], ["scheduler"]),
    "scheduler-newline": ("forecast", ["--scheduler", "tcp://h:1\nx", "-n", "2"], ["scheduler"]),
    "scheduler-with-processes": (
        "forecast", ["--executor", "processes", "--scheduler", "tcp://127.0.0.1:1", "-n", "2"], ["--executor dask"]
    ),
    "scheduler-with-serial": (
        "compare", ["--set", "account.balance=60", "--executor", "serial", "--scheduler", "tcp://127.0.0.1:1",
                    "-n", "2"], ["--executor dask"]
    ),
    "scheduler-unreachable": ("forecast", ["--scheduler", "tcp://127.0.0.1:1", "-n", "2"], ["cannot connect"]),
    "executor-junk": ("forecast", ["--executor", "gpu", "-n", "2"], ["--executor"]),
    "set-no-key": ("run", ["--set", "=5"], ["--set"]),
    "set-no-equals": ("run", ["--set", "account.balance"], ["--set", "KEY=VALUE"]),
    "set-inf": ("run", ["--set", "account.balance=.inf"], ["balance"]),
    "set-nan": ("run", ["--set", "account.balance=.nan"], ["balance"]),
    "set-bad-yaml": ("run", ["--set", "account.balance=["], ["--set account.balance", "YAML"]),
    "set-duplicate-key": ("run", ["--set", "account={balance: 1, balance: 2}"], ["duplicate key"]),
    "set-deep": ("run", ["--set", "name=" + "[" * 1000 + "]" * 1000], ["--set name", "nesting"]),
    "set-unknown-batch": ("run", ["--set", "batches.nope.items=1"], ["no batch named 'nope'"]),
    "set-into-number": ("run", ["--set", "account.balance.x=1"], ["--set account.balance.x"]),
    "set-index-out-of-range": ("run", ["--set", "projects.9.name=x"], ["--set projects.9.name"]),
    "set-escape-name": ("run", ["--set", "name=\x1b[31mred"], ["name", "\\x1b"]),
    "set-slash-name": ("run", ["--set", "batches.week-49.name=a/b"], ["name", "'/'"]),
    "set-section-scalar": ("run", ["--set", "account=5"], ["account"]),
    "set-shift-int": ("run", ["--set", "performers.team.shifts=[{start: 1500, end: '17:00'}]"], ["start"]),
    "set-huge-items": ("run", ["--set", f"batches.week-49.items={10**40}"], ["items"]),
    "set-key-newline": ("run", ["--set", "acc\nount.balance=5"], ["acc\\nount"]),
    "sort-junk": ("run", ["--sort", "size"], ["--sort"]),
    "unknown-flag": ("run", ["--frobnicate"], ["--frobnicate"]),
}
for _name, (_command, _flags, _must) in _FLAGS.items():
    CASES[f"flag-{_name}"] = Case(ERROR, _must, args=_flags, command=_command)
CASES["flag-until-beyond-horizon"] = Case(OK, ["--until", "beyond the scenario's horizon"], args=["--until", "3d"],
                                          command="run")
CASES["flag-seed-max"] = Case(OK, [], args=["--seed", str(2**128 - 1), "--until", "1h"], command="run")


# --------------------------------------------------------------------------- the runner


class Hang(BaseException):
    """A case ran longer than TIMEOUT_S (a BaseException: CliRunner does not swallow it)."""


@pytest.fixture
def guard() -> Iterator[None]:
    def on_alarm(_signum: int, _frame: object) -> None:
        raise Hang(f"no answer within {TIMEOUT_S} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def _fast_scheduler_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "SCHEDULER_TIMEOUT_S", 0.5)


def _scenario_file(case: Case, folder: Path) -> Path:
    if case.setup is not None:
        return case.setup(folder)
    path = folder / "hostile.yaml"
    path.write_text(case.text if case.text is not None else _BASE_TEXT, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input(name: str, tmp_path: Path, guard: None) -> None:
    case = CASES[name]
    scenario = _scenario_file(case, tmp_path)
    out = tmp_path / "out"
    command = case.command or ("run" if case.expect == ERROR else "validate")
    extra = ["--out", str(out)] if command != "validate" else []
    if command != "validate" and "--seed" not in case.args:
        extra += ["--seed", "1"]
    if command in ("forecast", "compare") and "-n" not in case.args:
        extra += ["-n", "2"]
    result = CliRunner().invoke(app, [command, str(scenario), *case.args, *extra])
    stderr = result.stderr
    assert "Traceback" not in result.stdout + stderr, stderr
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        repr(result.exception)
    )
    assert not CONTROL.search(stderr.rstrip("\n")), repr(stderr)
    if case.expect == ERROR:
        assert result.exit_code == 2, (result.exit_code, result.stdout[-500:], stderr)
        assert result.stdout == "", result.stdout[-500:]
        message = stderr.strip()
        assert message and "\n" not in message, repr(stderr)
        assert message.startswith("error: "), message
        assert len(message) < 1000, message[:200]
        for text in case.must:
            assert text in message, (text, message)
        assert not out.exists()
        left = {p.name for p in tmp_path.iterdir()} - {scenario.name}
        assert not left, left  # no staging folder or partial output either
    else:
        assert result.exit_code == 0, (result.exit_code, stderr, repr(result.exception))
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert all(line.startswith(("warning: ", "wrote ")) for line in lines), stderr
        for text in case.must:
            assert any(text in line for line in lines), (text, stderr)
        if not case.must:
            assert not [line for line in lines if line.startswith("warning: ")], stderr


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 150


# --------------------------------------------------------------------------- the same rules through the API


def _base() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def _problem(data: dict[str, Any]) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        Scenario.from_mapping(data)
    return info.value


def test_side_effects_of_the_first_problem_are_not_counted() -> None:
    data = _base()
    data["projects"][0]["batches"][0]["items"] = -1  # pydantic also reports "projects: needs at least 1 item"
    error = _problem(data)
    assert error.field.endswith("week-49].items")
    assert "more problem" not in str(error)
    data = _base()
    batch = data["projects"][0]["batches"][0]
    batch["itmes"] = batch.pop("items")  # the unknown key explains the missing one
    error = _problem(data)
    assert error.field.endswith("itmes") and "more problem" not in str(error)


def test_problems_at_other_fields_are_counted() -> None:
    data = _base()
    data["account"]["balance"] = -1
    data["performers"][1]["size"] = 0
    data["projects"][0]["batches"][0]["overlap"] = 0
    error = _problem(data)
    assert "(and 2 more problems)" in str(error), str(error)


def test_messages_escape_control_characters() -> None:
    data = _base()
    data["projects"][0]["batches"][0]["name"] = "a\nb\x1b[31m"
    message = str(_problem(data))
    assert "\n" not in message and "\x1b" not in message
    assert "\\n" in message and "\\x1b" in message


def test_a_bare_number_is_a_constant_distribution() -> None:
    data = _base()
    data["performers"][0]["seconds_per_task"] = 30
    data["performers"][0]["suites_per_session"] = 3
    scenario = Scenario.from_mapping(data)
    crowd = scenario.performers[0]
    assert crowd.seconds_per_task == Constant(dist="constant", value=30)
    assert crowd.suites_per_session.mean == 3
    assert Scenario.from_mapping(scenario.to_mapping()) == scenario


def test_warnings_reach_the_provenance() -> None:
    data = _base()
    data["events"][0]["at"] = "10d"
    scenario = Scenario.from_mapping(data)
    assert any("never happens" in w for w in scenario.lint())
    assert scenario.lint() == scenario.lint()  # pure: the same answer every time
    result = labelsim.simulate(scenario, seed=1, until="1d")
    assert result.provenance["scenario_warnings"] == scenario.lint(86400.0)
    beyond = Scenario.from_mapping(_base()).lint(3 * 86400.0)
    assert any("--until" in w and "beyond" in w for w in beyond)


def test_a_valid_scenario_has_no_warnings() -> None:
    assert Scenario.from_mapping(_base()).lint() == []
    for path in sorted(SCENARIOS.glob("*.yaml")):
        assert labelsim.load_scenario(path).lint() == [], path.name


@pytest.mark.parametrize(
    "kwargs",
    [{"replications": 0}, {"replications": 10**12}, {"replications": True}, {"jobs": 0}, {"jobs": 10**9},
     {"seed": -1}, {"seed": 2**200}, {"until": float("inf")}, {"until": float("nan")}, {"until": 1e300},
     {"scheduler": "localhost"}, {"scheduler": "tcp://h:1", "executor": "processes"}],
    ids=lambda kw: "-".join(f"{k}={str(v)[:12]}" for k, v in kw.items()),
)
def test_the_api_refuses_out_of_limit_arguments(kwargs: dict[str, Any]) -> None:
    args = {"replications": 2, **kwargs}
    with pytest.raises(LabelsimError):
        forecast(Scenario.from_mapping(_base()), **args)


def test_the_readme_states_the_limits() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for text in (
        "≤ 1e9 USD", f"≤ {limits.MAX_ITEMS:,}", f"≤ {limits.MAX_ASSIGNMENTS:,}",
        f"≤ {limits.MAX_HORIZON_S / 86400:.0f}d", f"≤ {limits.MAX_POPULATION:,}", f"≤ {limits.MAX_TEAM_SIZE:,}",
        f"`sessions_per_hour` ≤ {limits.MAX_SESSIONS_PER_HOUR:,.0f}", f"≤ {limits.MAX_SUITES_PER_SESSION:,}",
        f"`--jobs` ≤ {limits.MAX_JOBS}", f"`--replications` ≤ {limits.MAX_REPLICATIONS:,}",
        f"{limits.MIN_YEAR}–{limits.MAX_YEAR - 1}", "10 MB", f"`parameter_draws` ≤ {limits.MAX_PARAMETER_DRAWS:,}",
    ):
        assert text in readme, text
