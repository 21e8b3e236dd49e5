"""Presentation of results as tables and text (layer 6).

These functions return pandas frames and plain strings; the CLI renders them
with rich, a notebook displays them as they are.
"""

from __future__ import annotations

import pandas as pd

from .results import SimulationResult

__all__ = ["NOT_WITHIN_HORIZON", "batch_table", "format_stamp", "money_lines"]

#: What the ETA column shows for a batch that does not finish within the horizon.
NOT_WITHIN_HORIZON = "not within horizon"
_FINAL_WITHOUT_ETA = ("New", "Canceled", "Error")


def format_stamp(stamp: pd.Timestamp) -> str:
    """``2026-12-01 14:05`` (the timestamp's own time zone, to the minute)."""
    return stamp.strftime("%Y-%m-%d %H:%M")


def _eta_text(row: pd.Series) -> str:
    if pd.notna(row["eta"]):
        return format_stamp(row["eta"])
    if row["status"] in _FINAL_WITHOUT_ETA:
        return "—"
    return NOT_WITHIN_HORIZON


def batch_table(batches: pd.DataFrame, sort: str | None = None) -> pd.DataFrame:
    """The platform's batch list: Project, Name, Labeling queue, Status, Items, ETA.

    ``Items`` is ``labeled/total``; ``ETA`` a date and time in the scenario's
    zone, ``not within horizon``, or ``—`` (never launched, canceled, error).

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
    no_money = timeline[timeline["status"] == "No money"]
    if len(no_money):
        first = no_money.sort_values("start_at").iloc[0]
        lines.append(("Ran out of money", f"{first['batch']} at {format_stamp(first['start_at'])}"))
    ledger = result.ledger
    low = ledger["available_usd"].min() if len(ledger) else float("nan")
    lines.append(("Lowest available", f"{low:.2f} USD"))
    return lines
