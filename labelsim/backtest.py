"""Backtests: cut a finished batch's log at past moments, forecast from the cut, score against the real end (layer 5).

The pieces, each usable alone:

- :func:`cut_log` — the export as it would have looked at ``as_of``;
- :func:`origins` — the forecast moments: when a share (25/50/75 %) of the final submitted assignments was in;
- :func:`platform_eta` — the platform's own formula, remaining × elapsed ÷ completed;
- :func:`score` — per (batch, origin) the forecaster's P10/P50/P90 remaining time, the formula's and the real
  one (``backtest`` frame), and a summary for both side by side (``backtest_summary`` frame; both schemas in
  ``labelsim.SCHEMAS``).

A forecaster is any function ``forecaster(log_cut, as_of, **known) -> (p10, p50, p90)`` returning the remaining
time in seconds; ``known`` holds what a requester knows about the batch without the log (:func:`known_from_log`:
its size in assignments and suites, overlap, tasks per suite, time limit, reward).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .logs import FINISHED, LOG_SCHEMAS, LogError
from .scenario import LabelsimError
from .theory import platform_formula_remaining_s

__all__ = [
    "Backtest",
    "Forecaster",
    "cut_log",
    "known_from_log",
    "origins",
    "platform_eta",
    "score",
    "summarize",
]

#: ``forecaster(log_cut, as_of, **known) -> (p10, p50, p90)`` remaining seconds.
Forecaster = Callable[..., tuple[float, float, float]]

DEFAULT_ORIGINS: tuple[float, ...] = (0.25, 0.5, 0.75)
_WITHIN = math.log2(1.5)


def _utc(moment: pd.Timestamp | str) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def cut_log(log: pd.DataFrame, as_of: pd.Timestamp | str) -> pd.DataFrame:
    """The assignment log as an export taken at ``as_of`` would have shown it.

    Assignments accepted after ``as_of`` vanish; those submitted, expired or skipped after it are in progress
    (``status`` active, ``submitted_at`` and ``ended_at`` NaT).  What the export cannot date stays as it is:
    a finished assignment without a submit time (older Toloka exports) and review decisions (approved,
    rejected), which the exports do not date either.

    Args:
        log: an ``assignment_log`` frame.
        as_of: the moment (naive = UTC).
    """
    moment = _utc(as_of)
    seen = log[(log["accepted_at"] <= moment).to_numpy()].copy()
    later = ((seen["submitted_at"] > moment) | (seen["ended_at"] > moment)).to_numpy()
    if later.any():
        seen.loc[later, "status"] = "active"
        seen.loc[later, ["submitted_at", "ended_at"]] = pd.NaT
    return seen.reset_index(drop=True)


def _finished(log: pd.DataFrame) -> pd.Series:
    return log["status"].isin(list(FINISHED))


def origins(log: pd.DataFrame, at: Iterable[float] = DEFAULT_ORIGINS) -> pd.DataFrame:
    """Forecast moments per batch: when the share ``at`` of its final submitted assignments had been submitted.

    The moment for share ``s`` of ``n`` submitted assignments is the ``ceil(s·n)``-th submit time.  Batches
    without submit times are left out.

    Returns:
        Columns ``batch``, ``origin`` (the share), ``as_of`` (UTC), one row per batch and share.
    """
    shares = [float(s) for s in at]
    bad = [s for s in shares if not 0 < s <= 1]
    if bad:
        raise LogError(f"backtest origins: {bad[0]!r} is not a share in (0, 1]")
    rows = []
    for batch, part in log.groupby("batch", sort=True):
        times = part.loc[_finished(part), "submitted_at"].dropna().sort_values().reset_index(drop=True)
        if len(times) == 0:
            continue
        for share in shares:
            k = max(1, math.ceil(share * len(times) - 1e-9))
            rows.append({"batch": batch, "origin": share, "as_of": times.iloc[k - 1]})
    frame = pd.DataFrame(rows, columns=["batch", "origin", "as_of"])
    frame["as_of"] = pd.to_datetime(frame["as_of"], utc=True)
    return frame


def known_from_log(log: pd.DataFrame) -> dict[str, Any]:
    """What a requester knows about one finished batch without its log, read from the complete log.

    Keys: ``total_assignments`` (submitted assignments at the end), ``n_suites``, ``items`` (tasks in the
    suites), ``overlap`` (``max_assignments`` when the export has it, else the most submitted assignments of a
    suite), ``tasks_per_suite``, ``time_limit_s`` and ``reward_usd`` (None when the export lacks them).
    """
    finished = log[_finished(log)]
    suites = log.drop_duplicates("suite_id")
    per_suite = finished.groupby("suite_id").size()
    max_assignments = log["max_assignments"].dropna()
    most = int(per_suite.max()) if len(per_suite) else 1
    limit = log["time_limit_s"].dropna()
    reward = log["reward_usd"].dropna()
    return {
        "total_assignments": len(finished),
        "n_suites": len(suites),
        "items": int(suites["n_tasks"].sum()),
        "overlap": int(max_assignments.max()) if len(max_assignments) else most,
        "tasks_per_suite": int(log["n_tasks"].max()) if len(log) else 1,
        "time_limit_s": float(limit.iloc[0]) if len(limit) else None,
        "reward_usd": float(reward.iloc[0]) if len(reward) else None,
    }


def _last_moment(log: pd.DataFrame) -> pd.Timestamp:
    times = pd.concat([log["accepted_at"], log["submitted_at"], log["ended_at"]]).dropna()
    if times.empty:
        raise LogError("platform_eta: the log has no timestamps (give as_of)")
    return pd.Timestamp(times.max())


def platform_eta(log_cut: pd.DataFrame, total_assignments: int, as_of: pd.Timestamp | str | None = None) -> float:
    """The platform's naive ETA: remaining × elapsed ÷ completed, in seconds from ``as_of``.

    ``completed`` counts submitted (also approved or rejected) assignments, ``remaining`` is
    ``total_assignments - completed`` (at least 0), ``elapsed`` runs from the first accept to ``as_of``
    (default: the log's last timestamp).  ``inf`` when nothing is completed yet.
    """
    if len(log_cut) == 0:
        return math.inf
    moment = _utc(as_of) if as_of is not None else _last_moment(log_cut)
    completed = int(_finished(log_cut).sum())
    elapsed = (moment - log_cut["accepted_at"].min()).total_seconds()
    return platform_formula_remaining_s(total_assignments - completed, elapsed, completed)


@dataclass(frozen=True)
class Backtest:
    """A backtest's forecasts (``rows``, schema ``backtest``) and their scores (``summary``, ``backtest_summary``).

    ``skipped`` names the batches and cuts left out and why (an export with no submit times, a cut the
    forecaster refused with a :class:`~labelsim.LabelsimError`).
    """

    rows: pd.DataFrame
    summary: pd.DataFrame
    skipped: tuple[str, ...] = ()


def score(
    log: pd.DataFrame,
    forecaster: Forecaster,
    *,
    at: Iterable[float] = DEFAULT_ORIGINS,
    known: Mapping[str, Mapping[str, Any]] | None = None,
    name: str = "labelsim",
) -> Backtest:
    """Backtest ``forecaster`` on every batch of a finished log at each origin in ``at``.

    For each batch and origin: the log is cut there (:func:`cut_log`), the forecaster gets the cut, the moment
    and the batch's :func:`known_from_log` facts (updated from ``known[batch]``), and its remaining time is set
    beside the platform formula's (:func:`platform_eta`) and the real one (last submit time - as_of).

    Args:
        log: a complete ``assignment_log`` (one or more batches).
        forecaster: ``forecaster(log_cut, as_of, **known) -> (p10, p50, p90)`` remaining seconds.
        at: shares of the final submitted assignments at which to forecast.
        known: per batch, facts to add or override (e.g. ``{"b": {"items": 500}}``).
        name: the forecaster's name in the summary.

    Raises:
        LogError: a bad share, or a forecaster returning something other than three ordered numbers ≥ 0.
    """
    columns = [c for c, _, _ in LOG_SCHEMAS["backtest"]]
    rows = []
    skipped = []
    for batch, full in log.groupby("batch", sort=True):
        if not full.loc[_finished(full), "submitted_at"].notna().any():
            skipped.append(f"{batch}: no finished assignment with a submit time (the export has start times only?)")
            continue
        facts = {**known_from_log(full), **dict((known or {}).get(str(batch), {}))}
        end = full.loc[_finished(full), "submitted_at"].max()
        first = full["accepted_at"].min()
        for _, origin in origins(full, at).iterrows():
            as_of = origin["as_of"]
            cut = cut_log(full, as_of)
            try:
                forecast = forecaster(cut, as_of, **facts)
            except LabelsimError as exc:  # one cut that cannot be forecast does not sink the backtest
                skipped.append(f"{batch} at {float(origin['origin']):.0%}: {exc}")
                continue
            p10, p50, p90 = _quantiles(forecast, batch)
            rows.append({
                "batch": str(batch),
                "origin": float(origin["origin"]),
                "as_of": as_of,
                "n_submitted": int(_finished(cut).sum()),
                "n_active": int((cut["status"] == "active").sum()),
                "total_assignments": int(facts["total_assignments"]),
                "elapsed_h": (as_of - first).total_seconds() / 3600,
                "p10_h": p10 / 3600,
                "p50_h": p50 / 3600,
                "p90_h": p90 / 3600,
                "platform_h": platform_eta(cut, int(facts["total_assignments"]), as_of) / 3600,
                "actual_h": (end - as_of).total_seconds() / 3600,
            })
    frame = pd.DataFrame(rows, columns=columns)
    frame["as_of"] = pd.to_datetime(frame["as_of"], utc=True).dt.as_unit("ns")
    dtypes = {c: d for c, d, _ in LOG_SCHEMAS["backtest"] if d in ("int64", "float64")}
    frame = frame.astype(dtypes).astype({"batch": object})
    return Backtest(frame, summarize(frame, name=name), tuple(skipped))


def _quantiles(values: Any, batch: object) -> tuple[float, float, float]:
    try:
        p10, p50, p90 = (float(v) for v in values)
    except (TypeError, ValueError):
        raise LogError(f"backtest {batch}: the forecaster must return (p10, p50, p90) seconds, "
                       f"not {values!r}") from None
    if any(math.isnan(v) or v < 0 for v in (p10, p50, p90)) or not p10 <= p50 <= p90:
        raise LogError(f"backtest {batch}: the forecaster returned ({p10}, {p50}, {p90}); "
                       "expected 0 ≤ p10 ≤ p50 ≤ p90 seconds")
    return p10, p50, p90


def summarize(rows: pd.DataFrame, *, name: str = "labelsim") -> pd.DataFrame:
    """Score a ``backtest`` frame: the forecaster's P50 and the platform formula side by side.

    Per method: forecasts with an actual remaining time > 0, the median ``|log2(predicted / actual)|``
    (0 = exact, 1 = off by a factor 2), the share within a factor 1.5, the share predicting less time than it
    took (too early), and for the forecaster the share with the actual remaining time within ``[P10, P90]``.
    """
    columns = [c for c, _, _ in LOG_SCHEMAS["backtest_summary"]]
    scored = rows[rows["actual_h"] > 0]
    actual = scored["actual_h"].to_numpy(dtype=float)
    out = []
    for method, column in ((name, "p50_h"), ("platform", "platform_h")):
        predicted = scored[column].to_numpy(dtype=float)
        with np.errstate(divide="ignore"):
            error = np.abs(np.log2(predicted / actual))
        n = len(scored)
        coverage = (
            float(np.mean((scored["p10_h"].to_numpy() <= actual) & (actual <= scored["p90_h"].to_numpy())))
            if method != "platform" and n else math.nan
        )
        out.append({
            "method": method,
            "n_forecasts": n,
            "median_abs_log2": float(np.median(error)) if n else math.nan,
            "share_within_1_5": float(np.mean(error <= _WITHIN + 1e-12)) if n else math.nan,
            "share_too_early": float(np.mean(predicted < actual)) if n else math.nan,
            "coverage_p10_p90": coverage,
        })
    frame = pd.DataFrame(out, columns=columns)
    return frame.astype({"n_forecasts": "int64", "median_abs_log2": "float64", "share_within_1_5": "float64",
                         "share_too_early": "float64", "coverage_p10_p90": "float64"}).astype({"method": object})
