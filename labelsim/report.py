"""Presentation of results as tables and text (layer 6).

These functions return pandas frames and plain strings; the CLI renders them
with rich, a notebook displays them as they are.
"""

from __future__ import annotations

import pandas as pd

from .results import SimulationResult
from .vocabulary import ARCHIVE, NO_MONEY, NOT_EXPECTED

__all__ = [
    "NOT_WITHIN_HORIZON",
    "batch_table",
    "comparison_table",
    "forecast_table",
    "format_stamp",
    "money_lines",
    "project_forecast_table",
]

#: What the ETA column shows for a batch that does not finish within the horizon.
NOT_WITHIN_HORIZON = "not within horizon"
_FINAL_WITHOUT_ETA = (*NOT_EXPECTED, ARCHIVE)


def format_stamp(stamp: pd.Timestamp) -> str:
    """``2026-12-01 14:05`` (the timestamp's own time zone, to the minute)."""
    return stamp.strftime("%Y-%m-%d %H:%M")


def _eta_text(row: pd.Series) -> str:
    if pd.notna(row["eta"]):
        return format_stamp(row["eta"])
    if row["status"] in _FINAL_WITHOUT_ETA:
        return "—"
    return NOT_WITHIN_HORIZON


#: Statuses at the start for which a table shows an expected start (the batch has not started yet).
_NOT_STARTED = ("New", "Loading", "Queued")


def _start_text(start: pd.Timestamp, opening_status: str, status: str | None = None) -> str:
    """The "Expected start" cell: when a batch that had not started at the scenario start first
    became Processing; ``—`` for a batch under way at the start (or never launched, canceled…)."""
    if opening_status not in _NOT_STARTED:
        return "—"
    if pd.notna(start):
        return format_stamp(start)
    return "—" if status in _FINAL_WITHOUT_ETA else NOT_WITHIN_HORIZON


def batch_table(batches: pd.DataFrame, sort: str | None = None) -> pd.DataFrame:
    """The platform's batch list: Project, Name, Labeling queue, Status, Items, Expected start, ETA.

    ``Items`` is ``labeled/total``; ``ETA`` a date and time in the scenario's
    zone, ``not within horizon``, or ``—`` (never launched, canceled, error).
    ``Expected start``: for a batch New, Loading or Queued at the start, when it first
    became Processing in this run; ``—`` for a batch already under way.

    Args:
        batches: the ``batches`` frame of a result.
        sort: ``None`` (scenario order), ``"name"`` or ``"eta"`` (unfinished last).
    """
    frame = batches
    if sort == "name":
        frame = frame.sort_values(["batch", "project"], kind="stable")
    elif sort == "eta":
        frame = frame.assign(_never=frame["eta"].isna()).sort_values(["_never", "eta"], kind="stable")
    elif sort is not None:
        raise ValueError(f"sort: expected 'name' or 'eta', got {sort!r}")
    return pd.DataFrame({
        "Project": frame["project"].to_numpy(),
        "Name": frame["batch"].to_numpy(),
        "Labeling queue": frame["labeling_queue"].to_numpy(),
        "Status": frame["status"].to_numpy(),
        "Items": [f"{a}/{b}" for a, b in zip(frame["labeled_items"], frame["items"], strict=True)],
        "Expected start": [
            _start_text(*v) for v in zip(frame["started_at"], frame["opening_status"], frame["status"], strict=True)
        ],
        "ETA": [_eta_text(row) for _, row in frame.iterrows()],
    })


def money_lines(result: SimulationResult) -> list[tuple[str, str]]:
    """The money summary as ``(label, value)`` pairs."""
    money = result.money
    lines = [
        ("Opening balance", f"{money['opening_balance_usd']:.2f} USD"),
        ("Top-ups", f"{money['top_ups_usd']:.2f} USD"),
        ("Spent (charged)", f"{money['spent_usd']:.2f} USD"),
        ("Reserved at the end", f"{money['reserved_usd']:.2f} USD"),
        ("Balance at the end", f"{money['balance_usd']:.2f} USD"),
    ]
    timeline = result.status_timeline
    no_money = timeline[timeline["status"] == NO_MONEY]
    if len(no_money):
        first = no_money.sort_values("start_at").iloc[0]
        lines.append(("Ran out of money", f"{first['batch']} at {format_stamp(first['start_at'])}"))
    ledger = result.ledger
    low = ledger["available_usd"].min() if len(ledger) else float("nan")
    lines.append(("Lowest available", f"{low:.2f} USD"))
    return lines


def _when(stamp: pd.Timestamp) -> str:
    return format_stamp(stamp) if pd.notna(stamp) else NOT_WITHIN_HORIZON


def _short(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%m-%d %H:%M") if pd.notna(stamp) else "later"


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _range(low: pd.Timestamp, high: pd.Timestamp) -> str:
    return f"{_short(low)} – {_short(high)}"


def forecast_table(eta: pd.DataFrame) -> pd.DataFrame:
    """The forecast's batch table: expected start (P50), ETA P50 with its P10–P90 range, chances, cost."""
    return pd.DataFrame({
        "Project": eta["project"].to_numpy(),
        "Name": eta["batch"].to_numpy(),
        "Labeling queue": eta["labeling_queue"].to_numpy(),
        "Items": eta["items"].to_numpy(),
        "Expected start": [_start_text(*v) for v in zip(eta["start_p50"], eta["opening_status"], strict=True)],
        "ETA P50": [_when(v) for v in eta["eta_p50"]],
        "P10 – P90": [_range(a, b) for a, b in zip(eta["eta_p10"], eta["eta_p90"], strict=True)],
        "P50 95% CI": [_range(a, b) for a, b in zip(eta["eta_p50_ci_low"], eta["eta_p50_ci_high"], strict=True)],
        "In horizon": [_percent(v) for v in eta["p_complete"]],
        NO_MONEY: [_percent(v) for v in eta["p_no_money"]],
        "Cost P50": [f"{v:.2f} USD" for v in eta["cost_p50_usd"]],
    })


def project_forecast_table(project_eta: pd.DataFrame) -> pd.DataFrame:
    """The forecast's project table (a project is done when all its expected batches are)."""
    return pd.DataFrame({
        "Project": project_eta["project"].to_numpy(),
        "ETA P50": [_when(v) for v in project_eta["eta_p50"]],
        "P10 – P90": [_range(a, b) for a, b in zip(project_eta["eta_p10"], project_eta["eta_p90"], strict=True)],
        "In horizon": [_percent(v) for v in project_eta["p_complete"]],
        "Cost P50": [f"{v:.2f} USD" for v in project_eta["cost_p50_usd"]],
    })


def _hours(value: float) -> str:
    if not pd.notna(value):
        return "—"
    if abs(value) < 1:
        minutes = round(value * 60)
        return "±0m" if minutes == 0 else f"{minutes:+d}m"
    return f"{value:+.1f}h"


def comparison_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """Paired differences variant − base per batch (or project), with a verdict."""
    frame = {
        "Project": comparison["project"].to_numpy(),
    }
    if "batch" in comparison.columns:
        frame["Name"] = comparison["batch"].to_numpy()
    frame.update({
        "Base P50": [_when(v) for v in comparison["base_eta_p50"]],
        "Variant P50": [_when(v) for v in comparison["variant_eta_p50"]],
        "ETA change (mean)": [_hours(v) for v in comparison["eta_diff_mean_h"]],
        "95% CI": [
            f"[{_hours(a)}, {_hours(b)}]"
            for a, b in zip(comparison["eta_diff_ci_low_h"], comparison["eta_diff_ci_high_h"], strict=True)
        ],
        "Cost change": [f"{v:+.2f} USD" for v in comparison["cost_diff_mean_usd"]],
        "Verdict": comparison["verdict"].to_numpy(),
    })
    return pd.DataFrame(frame)
