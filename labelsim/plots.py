"""Matplotlib figures of results and forecasts (layer 6).

Every function takes a frame (columns as in :data:`labelsim.SCHEMAS`) and an
optional ``ax``, draws on it, and returns the axes: ``plot_x(frame, ax=None)``.
"""

from __future__ import annotations

from typing import Any

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch

__all__ = [
    "STATUS_COLORS",
    "plot_eta",
    "plot_ledger",
    "plot_progress",
    "plot_status_timeline",
]

#: A colour per platform status.
STATUS_COLORS: dict[str, str] = {
    "New": "#d9d9d9",
    "Loading": "#9ecae1",
    "Queued": "#fdd0a2",
    "Processing": "#31a354",
    "Completed": "#006d2c",
    "Error": "#de2d26",
    "Canceled": "#737373",
    "No money": "#e6550d",
    "Archive": "#bdbdbd",
    "Stopping": "#fd8d3c",
    "Stopped": "#fdae6b",
}


def _axes(ax: Axes | None, **figure: Any) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(**figure)
    return ax


def _finish(ax: Axes, title: str, ylabel: str | None = None, legend: bool = True) -> Axes:
    """Time axis as month-day hour:minute, a title, optional y label and legend."""
    if ylabel:
        ax.set_ylabel(ylabel)
    if legend:
        ax.legend(frameon=False)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M"))
    ax.set_title(title)
    return ax


def _labels(frame: pd.DataFrame) -> list[str]:
    keys = list(dict.fromkeys(zip(frame["project"], frame["batch"], strict=True)))
    projects = {p for p, _ in keys}
    return [f"{p}/{b}" if len(projects) > 1 else b for p, b in keys]


def plot_status_timeline(
    timeline: pd.DataFrame, ax: Axes | None = None, end: pd.Timestamp | str | None = None
) -> Axes:
    """A Gantt chart of each batch's statuses (``status_timeline`` frame).

    Open intervals (``end_at`` NaT) are drawn up to ``end`` (a timestamp, e.g. the
    run's ``provenance["end"]``; default: the last change).
    """
    ax = _axes(ax, figsize=(10, 0.6 * max(2, timeline[["project", "batch"]].drop_duplicates().shape[0]) + 1))
    keys = list(dict.fromkeys(zip(timeline["project"], timeline["batch"], strict=True)))
    last = pd.Timestamp(end) if end is not None else max(timeline["start_at"].max(), timeline["end_at"].max())
    for row, key in enumerate(keys):
        mine = timeline[(timeline["project"] == key[0]) & (timeline["batch"] == key[1])]
        for status, start, stop in zip(mine["status"], mine["start_at"], mine["end_at"], strict=True):
            stop = last if pd.isna(stop) else stop
            ax.barh(row, stop - start, left=start, color=STATUS_COLORS.get(status, "#999999"), edgecolor="white")
    ax.set_yticks(range(len(keys)), _labels(timeline))
    ax.invert_yaxis()
    shown = [s for s in STATUS_COLORS if s in set(timeline["status"])]
    ax.legend(handles=[Patch(color=STATUS_COLORS[s], label=s) for s in shown], loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _finish(ax, "Batch statuses", legend=False)


def plot_progress(progress: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Labeled items over time per batch (``progress`` frame)."""
    ax = _axes(ax, figsize=(10, 4))
    for (_project, batch), group in progress.groupby(["project", "batch"], sort=False):
        ax.step(group["at"], group["labeled_items"], where="post", label=batch)
    return _finish(ax, "Labeling progress", "labeled items")


def plot_ledger(ledger: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Balance and available money over time (``ledger`` frame), USD."""
    ax = _axes(ax, figsize=(10, 3.5))
    ax.step(ledger["at"], ledger["balance_usd"], where="post", label="balance")
    ax.step(ledger["at"], ledger["available_usd"], where="post", label="available (balance − reserved)")
    return _finish(ax, "Account", "USD")


def plot_eta(eta: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Forecast ETAs per batch: the P10–P90 range as a bar and the P50 as a dot (``eta`` frame).

    Batches whose P50 is not within the horizon are drawn without a dot.
    """
    ax = _axes(ax, figsize=(10, 0.6 * max(2, len(eta)) + 1))
    for row, (_, item) in enumerate(eta.iterrows()):
        if pd.notna(item["eta_p10"]):
            stop = item["eta_p90"] if pd.notna(item["eta_p90"]) else item["eta_p10"]
            ax.plot([item["eta_p10"], stop], [row, row], lw=6, color="#9ecae1", solid_capstyle="butt")
        if pd.notna(item["eta_p50"]):
            ax.plot(item["eta_p50"], row, "o", color="#08519c")
    ax.set_yticks(range(len(eta)), _labels(eta))
    ax.invert_yaxis()
    return _finish(ax, "ETA: P10–P90 and median", legend=False)


__all__ += ["plot_backtest"]


def plot_backtest(rows: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Predicted against actual remaining time, log-log (``backtest`` frame from :func:`labelsim.backtest.score`).

    Each forecast is a dot at (actual, P50) with a bar from P10 to P90; the platform formula's forecast of the
    same moment is a cross; points on the line y = x are exact, below it too early.  Infinite or zero
    forecasts are not drawn.
    """
    import numpy as np

    ax = _axes(ax, figsize=(6, 6))
    actual = rows["actual_h"].to_numpy(dtype=float)
    p10, p50, p90 = (rows[c].to_numpy(dtype=float) for c in ("p10_h", "p50_h", "p90_h"))
    platform = rows["platform_h"].to_numpy(dtype=float)
    shown = (actual > 0) & np.isfinite(actual)
    mine = shown & (p50 > 0) & np.isfinite(p50)
    ax.errorbar(actual[mine], p50[mine], yerr=[p50[mine] - np.maximum(p10[mine], p50[mine] * 1e-3),
                                               np.where(np.isfinite(p90[mine]), p90[mine], p50[mine]) - p50[mine]],
                fmt="o", color="#08519c", ecolor="#9ecae1", capsize=2, label="labelsim P50 (P10–P90)")
    theirs = shown & (platform > 0) & np.isfinite(platform)
    ax.plot(actual[theirs], platform[theirs], "x", color="#de2d26", label="platform formula")
    values = np.concatenate([actual[shown], p50[mine], platform[theirs]])
    low, high = (values.min() / 1.5, values.max() * 1.5) if len(values) else (0.1, 10.0)
    ax.plot([low, high], [low, high], color="#737373", lw=1, ls="--", label="exact (y = x)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("actual remaining time (h)")
    ax.set_ylabel("predicted remaining time (h)")
    ax.legend(frameon=False)
    ax.set_title("Backtest: predicted vs actual remaining time")
    return ax
