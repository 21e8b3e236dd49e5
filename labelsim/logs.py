"""Platform exports ↔ one tidy assignment log (layer 3; pure pandas).

:func:`read_log` imports an export a requester already has into the
``assignment_log`` frame (columns in :data:`LOG_SCHEMAS`, registered in
``labelsim.SCHEMAS``), one row per assignment (one performer's take of one task
suite):

- the platform's (Toloka) assignments TSV: one row per *task*, the
  ``ASSIGNMENT:*`` columns repeat over a suite's rows and are grouped to one row
  per assignment (``n_tasks`` = its rows);
- Amazon Mechanical Turk batch results CSV (``AcceptTime`` like
  ``Mon Apr 17 07:15:21 PDT 2017``);
- Figure Eight / Appen full reports (one row per judgment);
- any CSV/TSV with a user-given column mapping (``columns={"accepted_at": "start", ...}``).

The format is detected from the header.  :func:`format_export` writes a log back
in each format (as text; :func:`labelsim.io.write_export` writes the file), and
:func:`log_from_result` turns a simulated run into the same frame, so round
trips are testable.

What each format gives and what the frame holds when it does not:

==================  ==================================  ==========================  =====================
column              Toloka TSV                          MTurk CSV                   Figure Eight report
==================  ==================================  ==========================  =====================
batch               pool id from ``ASSIGNMENT:link``    ``BatchId:`` in             the file's name
                    (``/task/<pool>/``), else the        ``RequesterAnnotation``,
                    file's name                         else the file's name
suite_id            ``ASSIGNMENT:task_suite_id``, else  ``HITId``                   ``_unit_id``
                    a hash of the suite's ``INPUT:*``
                    rows (same tasks = same suite)
assignment_id       ``ASSIGNMENT:assignment_id``        ``AssignmentId``            ``_id``
performer           ``ASSIGNMENT:worker_id``            ``WorkerId``                ``_worker_id``
status              ``ASSIGNMENT:status``               ``AssignmentStatus``; an    submitted, or active
                                                        empty ``SubmitTime`` =      when ``_created_at``
                                                        active                      is empty
accepted_at         ``ASSIGNMENT:started`` (ISO 8601,   ``AcceptTime`` (US zone     ``_started_at``
                    no offset = UTC)                    abbreviations)              (M/D/YYYY, UTC)
submitted_at        ``ASSIGNMENT:submitted`` (newer     ``SubmitTime``              ``_created_at``
                    exports; older ones: NaT)
reward_usd          ``ASSIGNMENT:reward`` (newer)       ``Reward`` (``$0.10``)      NaN
n_tasks             rows of the assignment              1                           1
time_limit_s        NaN                                 ``AssignmentDuration…``     NaN
max_assignments     <NA>                                ``MaxAssignments``          <NA>
==================  ==================================  ==========================  =====================

**In progress.**  ``status == "active"`` is the only marker of an assignment
in progress (reserved at the export moment); its ``submitted_at`` and
``ended_at`` are NaT.  Older Toloka exports have no ``ASSIGNMENT:submitted``:
their finished assignments keep their status (submitted, approved, rejected)
with ``submitted_at`` NaT — *unknown*, not in progress.  Figure Eight reports
have no status: every judgment with a ``_created_at`` is ``submitted``
(``_tainted`` is not read).

**Mapped files** (``columns=``): only the accept time and the worker are required; without a status
column the submit time decides (submitted, else active); without an assignment id it is the file's row
number; without a suite id each assignment is its own suite.  Timestamps may be ISO 8601 (no offset = UTC),
``M/D/YYYY HH:MM:SS`` (UTC) or MTurk's form.  Error messages count rows as a spreadsheet does (the header
is row 1).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd

from .scenario import LabelsimError

if TYPE_CHECKING:  # pragma: no cover
    from .results import SimulationResult

__all__ = [
    "EXPORT_FORMATS",
    "FINISHED",
    "LOG_COLUMNS",
    "LOG_SCHEMAS",
    "LOG_STATUSES",
    "LogError",
    "empty_log",
    "format_export",
    "log_from_result",
    "parse_log",
    "read_log",
]

_TS = "datetime64[ns, tz]"

#: frame name -> ordered list of (column, dtype, meaning); merged into ``labelsim.SCHEMAS``.
LOG_SCHEMAS: dict[str, list[tuple[str, str, str]]] = {
    "assignment_log": [
        ("batch", "object", "batch (pool, job) the assignment belongs to; see labelsim.logs for each format"),
        ("suite_id", "object", "task suite (HIT, unit) id; assignments of the same suite share it"),
        ("assignment_id", "object", "assignment id, unique within the batch"),
        ("performer", "object", "worker id"),
        ("status", "object", "submitted | approved | rejected | expired | skipped | active (= in progress)"),
        ("accepted_at", _TS, "when the performer took the suite (UTC)"),
        ("submitted_at", _TS, "when it was submitted (UTC); NaT: in progress, not submitted, or not in the export"),
        ("ended_at", _TS, "when the performer let it go: submitted, expired (accepted_at + time_limit_s when the "
                          "export has no expiry time) or skipped; NaT: in progress or not known"),
        ("reward_usd", "float64", "reward per assignment, USD (NaN: not in the export)"),
        ("n_tasks", "int64", "tasks (items) in the suite"),
        ("time_limit_s", "float64", "assignment time limit, seconds (NaN: not in the export)"),
        ("max_assignments", "Int64", "assignments wanted per suite, the overlap (<NA>: not in the export)"),
    ],
    # ---- backtests (labelsim.backtest) ----
    "backtest": [
        ("batch", "object", "batch"),
        ("origin", "float64", "share of the batch's final submitted assignments submitted at the forecast moment"),
        ("as_of", _TS, "the forecast moment (the log is cut there)"),
        ("n_submitted", "int64", "assignments submitted at as_of"),
        ("n_active", "int64", "assignments in progress at as_of"),
        ("total_assignments", "int64", "submitted assignments at the end (what the batch needed)"),
        ("elapsed_h", "float64", "hours from the first accept to as_of"),
        ("p10_h", "float64", "forecast remaining time, 10th percentile, hours"),
        ("p50_h", "float64", "forecast remaining time, median, hours"),
        ("p90_h", "float64", "forecast remaining time, 90th percentile, hours"),
        ("platform_h", "float64", "the platform's formula remaining × elapsed ÷ completed, hours (inf: none done)"),
        ("actual_h", "float64", "real remaining time: last submission - as_of, hours"),
    ],
    "backtest_summary": [
        ("method", "object", "labelsim (its P50) | platform (the formula)"),
        ("n_forecasts", "int64", "forecasts scored"),
        ("median_abs_log2", "float64", "median |log2(predicted remaining / actual remaining)|"),
        ("share_within_1_5", "float64", "share of forecasts within a factor 1.5 of the actual remaining time"),
        ("share_too_early", "float64", "share of forecasts predicting less remaining time than it took"),
        ("coverage_p10_p90", "float64", "share with the actual remaining time in [P10, P90] (NaN for the formula)"),
    ],
}

#: The assignment log's columns in order.
LOG_COLUMNS: tuple[str, ...] = tuple(column for column, _, _ in LOG_SCHEMAS["assignment_log"])
#: Status words of the log.
LOG_STATUSES: tuple[str, ...] = ("submitted", "approved", "rejected", "expired", "skipped", "active")
#: Statuses of assignments the performer submitted (the work was done).
FINISHED: frozenset[str] = frozenset({"submitted", "approved", "rejected"})
#: Formats :func:`format_export` writes and :func:`read_log` reads (plus ``"mapped"`` for reading).
EXPORT_FORMATS: tuple[str, ...] = ("toloka", "mturk", "figure-eight")


class LogError(LabelsimError):
    """A platform export cannot be read or written as asked (one line naming the file and the problem)."""


# --------------------------------------------------------------------------- formats

#: field -> what it means in an error message.
_FIELD_WORDS = {
    "accepted_at": "the accept time",
    "submitted_at": "the submit time",
    "assignment_id": "the assignment id",
    "performer": "the worker id",
    "suite_id": "the suite (item) id",
    "status": "the assignment status",
    "reward_usd": "the reward",
    "batch": "the batch",
    "n_tasks": "the tasks per suite",
    "time_limit_s": "the time limit",
    "max_assignments": "the assignments per suite",
    "ended_at": "the end time",
}
_MAPPABLE = frozenset(_FIELD_WORDS)

#: format -> field -> the export's column.
_FORMAT_COLUMNS: dict[str, dict[str, str]] = {
    "toloka": {
        "assignment_id": "ASSIGNMENT:assignment_id",
        "performer": "ASSIGNMENT:worker_id",
        "status": "ASSIGNMENT:status",
        "accepted_at": "ASSIGNMENT:started",
        "submitted_at": "ASSIGNMENT:submitted",
        "reward_usd": "ASSIGNMENT:reward",
        "suite_id": "ASSIGNMENT:task_suite_id",
    },
    "mturk": {
        "suite_id": "HITId",
        "assignment_id": "AssignmentId",
        "performer": "WorkerId",
        "status": "AssignmentStatus",
        "accepted_at": "AcceptTime",
        "submitted_at": "SubmitTime",
        "reward_usd": "Reward",
        "max_assignments": "MaxAssignments",
        "time_limit_s": "AssignmentDurationInSeconds",
    },
    "figure-eight": {
        "suite_id": "_unit_id",
        "assignment_id": "_id",
        "performer": "_worker_id",
        "accepted_at": "_started_at",
        "submitted_at": "_created_at",
    },
    "mapped": {},
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "toloka": ("accepted_at", "assignment_id", "performer", "status"),
    "mturk": ("accepted_at", "assignment_id", "performer", "suite_id"),
    "figure-eight": ("accepted_at", "assignment_id", "performer", "suite_id"),
    "mapped": ("accepted_at", "performer"),
}
_FORMAT_NAMES = {"toloka": "a Toloka assignments TSV", "mturk": "an MTurk batch results CSV",
                 "figure-eight": "a Figure Eight full report", "mapped": "a mapped CSV"}
_FORMAT_ALIASES = {"toloka": "toloka", "tsv": "toloka", "mturk": "mturk", "mechanical-turk": "mturk",
                   "figure-eight": "figure-eight", "figure_eight": "figure-eight", "figureeight": "figure-eight",
                   "appen": "figure-eight", "crowdflower": "figure-eight", "mapped": "mapped", "csv": "mapped"}

#: status words (lower case) of every format -> the log's word.
_STATUS_WORDS = {
    "active": "active", "accepted": "active", "assigned": "active", "in_progress": "active",
    "in progress": "active",
    "submitted": "submitted", "approved": "approved", "rejected": "rejected",
    "expired": "expired", "abandoned": "expired", "skipped": "skipped", "returned": "skipped",
}

#: US time zone abbreviations (as MTurk writes them) -> hours from UTC.
US_ZONES: dict[str, int] = {
    "UTC": 0, "GMT": 0, "EDT": -4, "EST": -5, "CDT": -5, "CST": -6, "MDT": -6, "MST": -7,
    "PDT": -7, "PST": -8, "AKDT": -8, "AKST": -9, "HDT": -9, "HST": -10,
}
_MTURK_TIME = re.compile(
    r"^\s*[A-Za-z]{3}\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}:\d{2}:\d{2})\s+([A-Za-z]{2,5})\s+(\d{4})\s*$"
)
_TOLOKA_POOL = re.compile(r"/task/([^/?#]+)/")
_MTURK_BATCH = re.compile(r"BatchId:([^;]+)")


def empty_log() -> pd.DataFrame:
    """An assignment log without rows (columns and dtypes of ``assignment_log``)."""
    return _finish_frame({column: [] for column in LOG_COLUMNS})


# --------------------------------------------------------------------------- reading


def read_log(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
    batch: str | None = None,
) -> pd.DataFrame:
    """Read a platform export into the tidy ``assignment_log`` frame.

    Args:
        path: a CSV or TSV file (the separator is detected from the header line).
        format: ``"toloka"``, ``"mturk"``, ``"figure-eight"`` or ``"mapped"``; default: detected
            from the header (``"mapped"`` when ``columns`` names the accept time and no format matches).
        columns: log column -> the file's column, e.g. ``{"accepted_at": "start", "performer": "worker"}``;
            overrides the format's own names.  Mappable: batch, suite_id, assignment_id, performer, status,
            accepted_at, submitted_at, ended_at, reward_usd, n_tasks, time_limit_s, max_assignments.
        batch: the batch name for every row (default: from the file, else the file's name without suffix).

    Returns:
        One row per assignment, sorted by batch, accept time and assignment id (see ``assignment_log``
        in :data:`LOG_SCHEMAS`).

    Raises:
        LogError: a missing, empty, binary or malformed file, or a file without a column the log needs;
            one line naming the file and what is wrong.
    """
    source = str(path)
    raw = _read_table(Path(path), source)
    return parse_log(raw, format=format, columns=columns, batch=batch, source=source)


def _read_table(file: Path, source: str) -> pd.DataFrame:
    if not file.exists():
        raise LogError(f"{source}: no such file")
    if file.is_dir():
        raise LogError(f"{source}: is a folder, not an export file")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise LogError(f"{source}: cannot read the file ({exc.strerror or exc.__class__.__name__})") from None
    if not data.strip():
        raise LogError(f"{source}: the file is empty")
    if b"\x00" in data[:65536]:
        raise LogError(f"{source}: not a CSV/TSV text file (binary data); export the results as CSV or TSV")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise LogError(f"{source}: not a CSV/TSV text file (neither UTF-8 nor Windows-1252 text)") from None
    header = text.lstrip().split("\n", 1)[0]
    sep = "\t" if "\t" in header else ("," if "," in header or ";" not in header else ";")
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                           skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise LogError(f"{source}: not a valid CSV/TSV file ({detail})") from None


def detect_format(header: list[str] | pd.Index) -> str | None:
    """The export format a header belongs to (``"toloka"``, ``"mturk"``, ``"figure-eight"``), or None."""
    names = set(header)
    scores = {fmt: sum(col in names for col in spec.values()) for fmt, spec in _FORMAT_COLUMNS.items() if spec}
    if any(name.startswith("ASSIGNMENT:") for name in names):
        scores["toloka"] += 1
    best = max(scores, key=lambda fmt: scores[fmt])
    return best if scores[best] else None


def parse_log(
    raw: pd.DataFrame,
    *,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
    batch: str | None = None,
    source: str = "log",
) -> pd.DataFrame:
    """Turn an export already read as strings (``dtype=str``, empty = missing) into the assignment log.

    The arguments are those of :func:`read_log`; ``source`` names the file in error messages and gives
    the default batch name (its name without suffix).
    """
    mapping = dict(columns or {})
    unknown = sorted(set(mapping) - _MAPPABLE)
    if unknown:
        raise LogError(f"{source}: columns= has no log column {unknown[0]!r}; mappable: {', '.join(sorted(_MAPPABLE))}")
    raw = raw.fillna("").astype(str).reset_index(drop=True) if len(raw.columns) else raw
    header = list(raw.columns)
    fmt = _choose_format(header, format, mapping, source)
    spec = {**_FORMAT_COLUMNS[fmt], **mapping}
    missing_mapped = [f"{field}={col!r}" for field, col in mapping.items() if col not in header]
    if missing_mapped:
        raise LogError(f"{source}: columns= names a column the file does not have: {missing_mapped[0]}")
    for field in _REQUIRED[fmt]:
        if field not in spec or spec[field] not in header:
            if fmt == "toloka" and field == "assignment_id" and "ASSIGNMENT:link" in header:
                continue
            expected = spec.get(field) or ", ".join(
                dict.fromkeys(s[field] for s in _FORMAT_COLUMNS.values() if field in s)) or field
            raise LogError(f"{source}: {_FORMAT_NAMES[fmt]} without a column for {_FIELD_WORDS[field]}; "
                           f"expected {expected} (or map yours: columns={{'{field}': ...}})")
    present = {field: col for field, col in spec.items() if col in header}
    default_batch = batch if batch is not None else Path(source).stem or "batch"
    if fmt == "toloka":
        frame, rows = _group_toloka(raw, present, source)
    else:
        frame = {field: raw[col].str.strip() for field, col in present.items()}
        rows = np.arange(len(raw)) + 2
    return _tidy(frame, rows, present, fmt, raw, default_batch, batch is not None, source)


def _choose_format(header: list[str], format: str | None, mapping: Mapping[str, str], source: str) -> str:
    if format is not None:
        fmt = _FORMAT_ALIASES.get(format.strip().lower())
        if fmt is None:
            raise LogError(f"{source}: unknown format {format!r}; expected one of toloka, mturk, figure-eight, mapped")
        return fmt
    detected = detect_format(header)
    if detected is not None:
        return detected
    if "accepted_at" in mapping:
        return "mapped"
    if not header or (len(header) == 1 and not mapping):
        shown = f" (header: {header[0][:60]!r})" if header else ""
        raise LogError(f"{source}: not a CSV/TSV export with named columns{shown}; no column for the accept time; "
                       "expected one of AcceptTime, _started_at, ASSIGNMENT:started")
    raise LogError(f"{source}: no column for the accept time; expected one of AcceptTime, _started_at, "
                   "ASSIGNMENT:started (or map yours: columns={'accepted_at': ...})")


def _group_toloka(raw: pd.DataFrame, present: dict[str, str], source: str) -> tuple[dict[str, pd.Series], np.ndarray]:
    """One row per assignment from the per-task rows; ``n_tasks`` and a suite id from the rows."""
    key_col = present.get("assignment_id", "ASSIGNMENT:link")
    keys = raw[key_col].str.strip()
    empty = np.flatnonzero((keys == "").to_numpy())
    if len(empty):
        raise LogError(f"{source}: row {empty[0] + 2}: empty {key_col}")
    groups = keys.groupby(keys, sort=False)
    first = groups.head(1).index.to_numpy()
    codes = pd.factorize(keys)[0]
    checked = [col for field, col in present.items() if field in ("performer", "status", "accepted_at")]
    for col in checked:
        values = raw[col].str.strip()
        differs = values.groupby(codes).nunique()
        if (differs > 1).any():
            code = int(differs.index[np.flatnonzero((differs > 1).to_numpy())[0]])
            rows = np.flatnonzero(codes == code)
            raise LogError(f"{source}: assignment {keys.iloc[rows[0]]}: {col} differs between its rows "
                           f"({values.iloc[rows[0]]!r} at row {rows[0] + 2}, "
                           f"{values.iloc[rows[-1]]!r} at row {rows[-1] + 2})")
    frame: dict[str, pd.Series] = {
        field: raw[col].str.strip().iloc[first].reset_index(drop=True) for field, col in present.items()
        if field != "n_tasks"
    }
    if "assignment_id" not in frame:
        frame["assignment_id"] = keys.iloc[first].reset_index(drop=True)
    if "n_tasks" not in present:
        frame["n_tasks"] = pd.Series(np.bincount(codes)[codes[first]]).astype(str)
    else:
        frame["n_tasks"] = raw[present["n_tasks"]].str.strip().iloc[first].reset_index(drop=True)
    if "suite_id" not in present:
        inputs = [col for col in raw.columns if col.startswith("INPUT:")]
        if inputs:
            task = raw[inputs].astype(str).agg("\x1f".join, axis=1)
            suites = task.groupby(codes, sort=True).agg(lambda s: "\x1e".join(sorted(s)))
            frame["suite_id"] = pd.Series(
                [hashlib.sha1(text.encode("utf-8")).hexdigest()[:16] for text in suites.to_numpy()]
            )[codes[first]].reset_index(drop=True)
        else:
            frame["suite_id"] = frame["assignment_id"]
    for name, words in (("expired", "ASSIGNMENT:expired"), ("skipped", "ASSIGNMENT:skipped")):
        if words in raw.columns:
            frame[f"_{name}_at"] = raw[words].str.strip().iloc[first].reset_index(drop=True)
    if "ASSIGNMENT:link" in raw.columns and "batch" not in present:
        pools = raw["ASSIGNMENT:link"].str.extract(_TOLOKA_POOL, expand=False).iloc[first].reset_index(drop=True)
        frame["_pool"] = pools.fillna("").map(unquote)
    return frame, first + 2


def _tidy(
    frame: dict[str, pd.Series],
    rows: np.ndarray,
    present: dict[str, str],
    fmt: str,
    raw: pd.DataFrame,
    default_batch: str,
    batch_given: bool,
    source: str,
) -> pd.DataFrame:
    n = len(rows)
    blank = pd.Series([""] * n, dtype=object)

    def get(field: str) -> pd.Series:
        return frame.get(field, blank)

    for field in ("performer", "accepted_at"):
        empty = np.flatnonzero((get(field) == "").to_numpy())
        if len(empty):
            raise LogError(f"{source}: row {rows[empty[0]]}: empty {present[field]}")
    accepted = _parse_times(get("accepted_at"), present["accepted_at"], rows, fmt, source)
    submitted = _parse_times(get("submitted_at"), present.get("submitted_at", ""), rows, fmt, source)

    # status
    if "status" in present:
        words = get("status").str.strip().str.lower()
        status = words.map(_STATUS_WORDS)
        bad = np.flatnonzero((status.isna() & (words != "")).to_numpy())
        if len(bad):
            raise LogError(f"{source}: row {rows[bad[0]]}: {present['status']} {get('status').iloc[bad[0]]!r} is not "
                           f"a known status; expected one of {', '.join(LOG_STATUSES)} (any case)")
        status = status.fillna("")
        no_status = (status == "").to_numpy()
        if no_status.any() and "submitted_at" not in present:
            raise LogError(f"{source}: row {rows[np.flatnonzero(no_status)[0]]}: empty {present['status']}")
        derived = pd.Series(np.where(submitted.isna(), "active", "submitted"), index=status.index, dtype=object)
        status = status.where(~no_status, derived)
        if fmt == "mturk":  # an empty SubmitTime is an assignment in progress whatever the status says
            status = status.where(~(submitted.isna() & status.isin(["submitted", ""])).to_numpy(), "active")
    elif "submitted_at" in present:
        status = pd.Series(np.where(submitted.isna(), "active", "submitted"), dtype=object)
    else:
        raise LogError(f"{source}: no column for the assignment status or the submit time; map one with "
                       "columns={'status': ...} or columns={'submitted_at': ...}")
    status = pd.Series(status.to_numpy(dtype=object))
    active = (status == "active").to_numpy()
    submitted = submitted.where(~active)
    not_done = (~status.isin(list(FINISHED))).to_numpy()
    submitted = submitted.where(~not_done)

    reward = _numbers(get("reward_usd").str.replace("$", "", regex=False).str.replace(",", "", regex=False),
                      present.get("reward_usd", ""), rows, source)
    time_limit = _numbers(get("time_limit_s"), present.get("time_limit_s", ""), rows, source)
    max_assignments = _numbers(get("max_assignments"), present.get("max_assignments", ""), rows, source)
    if "n_tasks" in frame:
        n_tasks = _numbers(frame["n_tasks"], present.get("n_tasks", "ASSIGNMENT rows"), rows, source).fillna(1)
    else:
        n_tasks = pd.Series(np.ones(n))
    for name, values in (("n_tasks", n_tasks), ("max_assignments", max_assignments)):
        bad = np.flatnonzero((values.notna() & ((values < 1) | (values % 1 != 0))).to_numpy())
        if len(bad):
            raise LogError(f"{source}: row {rows[bad[0]]}: {present.get(name, name)} {values.iloc[bad[0]]!r} "
                           "is not a whole number ≥ 1")

    # when the performer let the assignment go
    ended = submitted.copy()
    if "ended_at" in present:
        ended = ended.fillna(_parse_times(get("ended_at"), present["ended_at"], rows, fmt, source).where(~active))
    for name in ("expired", "skipped"):
        column = f"_{name}_at"
        if column in frame:
            times = _parse_times(frame[column], f"ASSIGNMENT:{name}", rows, fmt, source)
            ended = ended.where(~((status == name).to_numpy() & ended.isna().to_numpy()), times)
    by_limit = accepted + pd.to_timedelta(time_limit, unit="s")
    ended = ended.where(~((status == "expired").to_numpy() & ended.isna().to_numpy()), by_limit)

    # batch
    if batch_given:
        batches = pd.Series([default_batch] * n, dtype=object)
    elif "batch" in present:
        batches = get("batch").replace("", default_batch)
    elif "_pool" in frame:
        batches = frame["_pool"].replace("", default_batch)
    elif fmt == "mturk" and "RequesterAnnotation" in raw.columns:
        found = raw["RequesterAnnotation"].str.extract(_MTURK_BATCH, expand=False).str.strip()
        batches = found.fillna("").replace("", default_batch).reset_index(drop=True)
    else:
        batches = pd.Series([default_batch] * n, dtype=object)

    assignment_ids = get("assignment_id") if "assignment_id" in frame else pd.Series(
        [str(i) for i in rows], dtype=object)
    empty = np.flatnonzero((assignment_ids == "").to_numpy())
    if len(empty):
        raise LogError(f"{source}: row {rows[empty[0]]}: empty {present.get('assignment_id', 'assignment id')}")
    duplicated = pd.DataFrame({"b": batches.to_numpy(), "a": assignment_ids.to_numpy()}).duplicated(keep=False)
    if duplicated.any():
        twice = np.flatnonzero(duplicated.to_numpy())
        raise LogError(f"{source}: assignment id {assignment_ids.iloc[twice[0]]!r} appears twice "
                       f"(rows {rows[twice[0]]} and {rows[twice[1]]})")
    suites = get("suite_id") if "suite_id" in frame else assignment_ids
    suites = suites.where(suites != "", assignment_ids)

    data = {
        "batch": batches.to_numpy(dtype=object),
        "suite_id": suites.to_numpy(dtype=object),
        "assignment_id": assignment_ids.to_numpy(dtype=object),
        "performer": get("performer").to_numpy(dtype=object),
        "status": status.to_numpy(dtype=object),
        "accepted_at": accepted,
        "submitted_at": submitted,
        "ended_at": ended,
        "reward_usd": reward,
        "n_tasks": n_tasks,
        "time_limit_s": time_limit,
        "max_assignments": max_assignments,
    }
    return _finish_frame(data)


def _finish_frame(data: Mapping[str, Any]) -> pd.DataFrame:
    """The columns in order with the schema's dtypes, sorted by batch, accept time, assignment id."""
    frame = pd.DataFrame({column: _as_series(data[column]) for column in LOG_COLUMNS})
    for column in ("batch", "suite_id", "assignment_id", "performer", "status"):
        frame[column] = frame[column].astype(object)
    for column in ("accepted_at", "submitted_at", "ended_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.as_unit("ns")
    frame["reward_usd"] = frame["reward_usd"].astype("float64")
    frame["time_limit_s"] = frame["time_limit_s"].astype("float64")
    frame["n_tasks"] = frame["n_tasks"].astype("int64")
    frame["max_assignments"] = frame["max_assignments"].astype("Float64").astype("Int64")
    frame = frame.sort_values(["batch", "accepted_at", "assignment_id"], kind="stable")
    return frame.reset_index(drop=True)


def _as_series(values: Any) -> pd.Series:
    return values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(values)


def _numbers(values: pd.Series, column: str, rows: np.ndarray, source: str) -> pd.Series:
    """Numbers from text (empty = NaN); a bad value is an error naming the column, the value and the row."""
    text = values.astype(str).str.strip()
    numbers = pd.to_numeric(text.where(text != ""), errors="coerce").astype("float64")
    bad = np.flatnonzero((numbers.isna() & (text != "")).to_numpy())
    if len(bad):
        raise LogError(f"{source}: row {rows[bad[0]]}: {column} {text.iloc[bad[0]]!r} is not a number")
    return numbers.reset_index(drop=True)


def _parse_times(values: pd.Series, column: str, rows: np.ndarray, fmt: str, source: str) -> pd.Series:
    """UTC timestamps from text (empty = NaT).

    ISO 8601 (no offset = UTC; Toloka, mapped files), MTurk's ``Mon Apr 17 07:15:21 PDT 2017`` (US zone
    abbreviations, :data:`US_ZONES`) and Figure Eight's ``M/D/YYYY HH:MM:SS`` (UTC).  A mapped file may
    use any of them (the first that reads every value).
    """
    text = values.astype(str).str.strip().reset_index(drop=True)
    filled = (text != "").to_numpy()
    parsers = {"toloka": [_iso], "mturk": [_mturk_times], "figure-eight": [_mdy]}.get(fmt, [_iso, _mturk_times, _mdy])
    best: pd.Series | None = None
    for parser in parsers:
        parsed = parser(text.where(filled, ""))
        if not (parsed.isna().to_numpy() & filled).any():
            return parsed.dt.tz_convert("UTC").dt.as_unit("ns")
        if best is None:
            best = parsed
    assert best is not None
    bad = int(np.flatnonzero(best.isna().to_numpy() & filled)[0])
    raise LogError(f"{source}: row {rows[bad]}: {column} {text.iloc[bad]!r} is not a timestamp "
                   f"({_TIME_FORMS[fmt]})")


_TIME_FORMS = {
    "toloka": "expected ISO 8601 like 2024-05-17T09:15:00",
    "mturk": "expected like Mon Apr 17 07:15:21 PDT 2017, with a US zone abbreviation",
    "figure-eight": "expected M/D/YYYY HH:MM:SS",
    "mapped": "expected ISO 8601, M/D/YYYY HH:MM:SS or Mon Apr 17 07:15:21 PDT 2017",
}


def _iso(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text.where(text != ""), format="ISO8601", utc=True, errors="coerce")


def _mdy(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text.where(text != ""), format="%m/%d/%Y %H:%M:%S", utc=True, errors="coerce")


def _mturk_times(text: pd.Series) -> pd.Series:
    parts = text.str.extract(_MTURK_TIME)
    offsets = parts[3].str.upper().map(US_ZONES)
    local = parts[0] + " " + parts[1] + " " + parts[4] + " " + parts[2]
    naive = pd.to_datetime(local, format="%b %d %Y %H:%M:%S", errors="coerce", utc=True)
    return naive - pd.to_timedelta(offsets.astype("float64"), unit="h")


# --------------------------------------------------------------------------- writing


def format_export(log: pd.DataFrame, fmt: str) -> str:
    """The log as the text of a platform export (``"toloka"`` TSV, ``"mturk"`` CSV, ``"figure-eight"`` CSV).

    What each format cannot hold is lost, as on the platform (:func:`read_log` gets back the rest):

    - toloka: one row per task (``n_tasks`` rows with ``INPUT:task`` = ``<suite_id>/<k>``), times to the
      millisecond, ``ASSIGNMENT:task_suite_id``, ``ASSIGNMENT:expired`` / ``ASSIGNMENT:skipped`` times,
      the batch as the pool in ``ASSIGNMENT:link``; no time limit, no overlap;
    - mturk: times to the second in US Pacific time (PDT/PST), the batch as ``BatchId:`` in
      ``RequesterAnnotation``; expired and skipped assignments are not listed (MTurk does not list
      abandoned or returned ones), suites count as one task;
    - figure-eight: one batch (job) per file, times to the second (UTC), approved and rejected read back
      as submitted; no reward, time limit or overlap; expired and skipped assignments are not listed.

    Raises:
        LogError: an unknown format, a frame without the log's columns, or several batches in one
            Figure Eight report.
    """
    name = _FORMAT_ALIASES.get(fmt.strip().lower()) if isinstance(fmt, str) else None
    if name not in EXPORT_FORMATS:
        raise LogError(f"export format {fmt!r} is unknown; expected one of {', '.join(EXPORT_FORMATS)}")
    missing = [column for column in LOG_COLUMNS if column not in log.columns]
    if missing:
        raise LogError(f"export: the frame is not an assignment log (no column {missing[0]!r})")
    if name == "toloka":
        table = _toloka_table(log)
        return table.to_csv(sep="\t", index=False, lineterminator="\n")
    kept = log[log["status"].isin([*FINISHED, "active"])]
    if name == "mturk":
        table = _mturk_table(kept)
    else:
        if kept["batch"].nunique() > 1:
            raise LogError("export figure-eight: a Figure Eight report holds one job; write one batch at a time "
                           f"(this log has {kept['batch'].nunique()})")
        table = _figure_eight_table(kept)
    return table.to_csv(index=False, lineterminator="\n")


def _text(values: pd.Series, template: str = "{}") -> pd.Series:
    return pd.Series([("" if _missing(v) else template.format(v)) for v in values], index=values.index, dtype=object)


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _money_text(values: pd.Series, prefix: str = "") -> pd.Series:
    def one(value: float) -> str:
        if _missing(value):
            return ""
        return f"{prefix}{value:.2f}" if round(value, 2) == value else f"{prefix}{value:.6g}"

    return pd.Series([one(v) for v in values], index=values.index, dtype=object)


def _stamp_text(times: pd.Series, form: str) -> pd.Series:
    utc = pd.to_datetime(times, utc=True)
    if form == "iso-ms":
        text = utc.dt.floor("ms").dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3]
    elif form == "mturk":
        local = utc.dt.floor("s").dt.tz_convert("America/Los_Angeles")
        text = local.dt.strftime("%a %b %d %H:%M:%S %Z %Y")
    else:  # M/D/YYYY HH:MM:SS, UTC
        floor = utc.dt.floor("s")
        text = (floor.dt.month.astype("Int64").astype(str) + "/" + floor.dt.day.astype("Int64").astype(str) + "/"
                + floor.dt.year.astype("Int64").astype(str) + " " + floor.dt.strftime("%H:%M:%S"))
    return pd.Series(np.where(utc.isna(), "", text.astype(object).fillna("")), index=times.index, dtype=object)


def _toloka_table(log: pd.DataFrame) -> pd.DataFrame:
    repeat = log["n_tasks"].to_numpy(dtype=np.int64)
    rows = log.loc[log.index.repeat(repeat)]
    task_no = np.concatenate([np.arange(k) for k in repeat]) if len(repeat) else np.zeros(0, dtype=np.int64)
    status = rows["status"]
    pools = rows["batch"].map(lambda b: quote(str(b), safe=""))
    return pd.DataFrame({
        "INPUT:task": rows["suite_id"].astype(str).to_numpy() + "/" + task_no.astype(str),
        "OUTPUT:result": "",
        "ASSIGNMENT:link": ("https://platform.toloka.ai/task/" + pools + "/" + rows["assignment_id"].astype(str)),
        "ASSIGNMENT:task_suite_id": rows["suite_id"].astype(str),
        "ASSIGNMENT:assignment_id": rows["assignment_id"].astype(str),
        "ASSIGNMENT:worker_id": rows["performer"].astype(str),
        "ASSIGNMENT:status": status.str.upper(),
        "ASSIGNMENT:started": _stamp_text(rows["accepted_at"], "iso-ms"),
        "ASSIGNMENT:submitted": _stamp_text(rows["submitted_at"], "iso-ms"),
        "ASSIGNMENT:expired": _stamp_text(rows["ended_at"].where(status == "expired"), "iso-ms"),
        "ASSIGNMENT:skipped": _stamp_text(rows["ended_at"].where(status == "skipped"), "iso-ms"),
        "ASSIGNMENT:reward": _money_text(rows["reward_usd"]),
    }).reset_index(drop=True)


_MTURK_STATUS = {"submitted": "Submitted", "approved": "Approved", "rejected": "Rejected", "active": ""}


def _mturk_table(log: pd.DataFrame) -> pd.DataFrame:
    work = (log["submitted_at"].dt.floor("s") - log["accepted_at"].dt.floor("s")).dt.total_seconds()
    return pd.DataFrame({
        "HITId": log["suite_id"].astype(str),
        "Reward": _money_text(log["reward_usd"], "$"),
        "MaxAssignments": _text(log["max_assignments"].astype("Float64").astype(object)
                                .map(lambda v: v if _missing(v) else int(v))),
        "RequesterAnnotation": "BatchId:" + log["batch"].astype(str) + ";",
        "AssignmentDurationInSeconds": _text(log["time_limit_s"].map(lambda v: v if _missing(v) else int(v))),
        "AssignmentId": log["assignment_id"].astype(str),
        "WorkerId": log["performer"].astype(str),
        "AssignmentStatus": log["status"].map(_MTURK_STATUS),
        "AcceptTime": _stamp_text(log["accepted_at"], "mturk"),
        "SubmitTime": _stamp_text(log["submitted_at"], "mturk"),
        "WorkTimeInSeconds": _text(work.map(lambda v: v if _missing(v) else int(v))),
    }).reset_index(drop=True)


def _figure_eight_table(log: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "_unit_id": log["suite_id"].astype(str),
        "_created_at": _stamp_text(log["submitted_at"], "mdy"),
        "_id": log["assignment_id"].astype(str),
        "_started_at": _stamp_text(log["accepted_at"], "mdy"),
        "_tainted": "false",
        "_channel": "labelsim",
        "_trust": "1",
        "_worker_id": log["performer"].astype(str),
    }).reset_index(drop=True)


# --------------------------------------------------------------------------- from a simulation

_OUTCOME_STATUS = {"submitted": "submitted", "expired": "expired", "skipped": "skipped", "in_flight": "active",
                   "rejected": "rejected"}


def log_from_result(result: SimulationResult) -> pd.DataFrame:
    """The assignment log of a simulated run (``result.assignments``), as an export would show it at the end.

    Assignments still in flight at the end are ``active`` (``submitted_at`` NaT); ``batch`` is the batch
    name (``project/batch`` when two projects share a batch name); ``suite_id`` the suite number;
    ``assignment_id`` the row number in reservation order (``A0000000``…); times in UTC.
    ``n_tasks`` is the batch's ``tasks_per_suite`` (a batch's last, partly filled suite holds fewer tasks
    in the simulation); ``time_limit_s`` and ``max_assignments`` (the overlap) come from the scenario.
    """
    frame = result.assignments
    specs = {(project.name, batch.name): batch for project, batch in result.scenario.batches()}
    names = [name for _, name in specs]
    label = {key: (key[1] if names.count(key[1]) == 1 else f"{key[0]}/{key[1]}") for key in specs}
    keys = list(zip(frame["project"].astype(str), frame["batch"].astype(str), strict=True))
    outcome = frame["outcome"].astype(str)
    status = outcome.map(_OUTCOME_STATUS)
    if "review" in frame:  # quality control: accepted submissions are approved
        status = status.where(frame["review"].astype(str) != "accepted", "approved")
    if status.isna().any():
        raise LogError(f"log_from_result: unknown outcome {outcome[status.isna()].iloc[0]!r}")
    ended = frame["ended_at"].dt.tz_convert("UTC")
    return _finish_frame({
        "batch": [label[key] for key in keys],
        "suite_id": frame["suite"].astype(str).to_numpy(dtype=object),
        "assignment_id": [f"A{i:07d}" for i in range(len(frame))],
        "performer": frame["performer"].astype(str).to_numpy(dtype=object),
        "status": status.to_numpy(dtype=object),
        "accepted_at": frame["reserved_at"].dt.tz_convert("UTC"),
        "submitted_at": ended.where(outcome.isin(["submitted", "rejected"])),
        "ended_at": ended,
        "reward_usd": frame["reward_usd"].astype("float64"),
        "n_tasks": [specs[key].tasks_per_suite for key in keys],
        "time_limit_s": [float(specs[key].time_limit) for key in keys],
        "max_assignments": [specs[key].overlap for key in keys],
    })
