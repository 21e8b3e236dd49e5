"""Matplotlib figures of results, forecasts, comparisons and plans (layer 6).

Every function takes its data (a result object or one of its frames, columns as
in :data:`labelsim.SCHEMAS`) and an optional ``ax``, draws on it, and returns the
axes: ``plot_x(data, ax=None) -> Axes``.  Time axes are in the scenario's local
time zone, named in the axis label, with concise date ticks; nothing here needs
a display (the Agg backend is enough).

=========================  ===============================================================
figure                     data
=========================  ===============================================================
:func:`plot_status_timeline`  a :class:`~labelsim.SimulationResult` or its ``status_timeline``
:func:`plot_progress`      a result / ``progress`` frame (lines) or a forecast with runs (fan)
:func:`plot_completion`    a forecast or its ``replications`` frame: P(done by t) per batch
:func:`plot_eta`           a forecast, its ``eta`` or ``project_eta`` frame: P10–P90 ranges
:func:`plot_money`         a result / ``ledger`` frame (lines) or a forecast with runs (fan)
:func:`plot_comparison`    a :class:`~labelsim.Comparison` or its ``batches`` frame
:func:`plot_frontier`      a plan (``frontier``, ``required``, ``confidence``, ``vary``) or its frontier
=========================  ===============================================================
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .vocabulary import (
    ARCHIVE,
    CANCELED,
    COMPLETED,
    ERROR,
    LOADING,
    NEW,
    NO_MONEY,
    PROCESSING,
    QUEUED,
    STOPPED,
    STOPPING,
)

__all__ = [
    "EVENT_MARKERS",
    "STATUS_COLORS",
    "money_quantiles",
    "plot_comparison",
    "plot_completion",
    "plot_eta",
    "plot_frontier",
    "plot_ledger",
    "plot_money",
    "plot_progress",
    "plot_status_timeline",
    "progress_quantiles",
    "requester_events",
]

#: A colour per platform status.
STATUS_COLORS: dict[str, str] = {
    NEW: "#d9d9d9",
    LOADING: "#9ecae1",
    QUEUED: "#fdd0a2",
    PROCESSING: "#31a354",
    COMPLETED: "#006d2c",
    ERROR: "#de2d26",
    CANCELED: "#737373",
    NO_MONEY: "#e6550d",
    ARCHIVE: "#bdbdbd",
    STOPPING: "#fd8d3c",
    STOPPED: "#fdae6b",
}

#: Marker per requester action on the status timeline.
EVENT_MARKERS: dict[str, str] = {
    "launch": ">", "pause": "v", "resume": "^", "cancel": "X", "archive": "s", "unarchive": "D",
    "fail": "x", "set_queue": "P", "add_items": "+", "archive_project": "s", "unarchive_project": "D",
    "top_up": "$",
}
_MONEY_RED = "#d62728"
_QUANTILES = (0.1, 0.5, 0.9)
#: What an ETA range says when there is no value.
NOT_WITHIN_HORIZON = "not within horizon"
STOPPED_FOR_MONEY = "stopped for money"
NOT_LAUNCHED = "not launched"


# --------------------------------------------------------------------------- helpers


def _axes(ax: Axes | None, **figure: Any) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(**figure)
    return ax


def zone_name(tz: Any) -> str:
    """The IANA name of a time zone object (``Europe/Berlin``), or its string form."""
    if tz is None:
        return "UTC"
    return str(getattr(tz, "key", None) or getattr(tz, "zone", None) or tz)


def _tz_of(*series: pd.Series) -> Any:
    for values in series:
        tz = getattr(getattr(values, "dt", None), "tz", None)
        if tz is not None:
            return tz
    return _dt.timezone.utc


def _num(values: Any) -> np.ndarray:
    """Matplotlib date numbers (days since the epoch, UTC) of timestamps; NaT -> nan."""
    index = pd.DatetimeIndex(pd.to_datetime(pd.Series(values), utc=True))
    seconds = (index - pd.Timestamp(0, tz="UTC")).total_seconds().to_numpy(dtype=float)
    return seconds / 86400.0 + mdates.date2num(np.datetime64("1970-01-01T00:00:00"))


def _one(value: Any) -> float:
    return float(_num([value])[0])


def _time_axis(ax: Axes, tz: Any) -> None:
    """Concise date ticks in the zone ``tz``, the zone named in the axis label."""
    name = zone_name(tz)
    tick_tz = name if "/" in name or name == "UTC" else tz
    locator = mdates.AutoDateLocator(tz=tick_tz, minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tick_tz))
    ax.set_xlabel(f"time ({name})")


def _labels(frame: pd.DataFrame) -> list[str]:
    if "batch" not in frame.columns:
        return [str(p) for p in frame["project"]]
    keys = list(dict.fromkeys(zip(frame["project"], frame["batch"], strict=True)))
    projects = {p for p, _ in keys}
    return [f"{p}/{b}" if len(projects) > 1 else str(b) for p, b in keys]


def _deadline(deadline: Any, tz: Any) -> pd.Timestamp | None:
    if deadline is None:
        return None
    stamp = pd.Timestamp(deadline)
    return stamp.tz_localize(tz) if stamp.tzinfo is None else stamp


def _mark_deadline(ax: Axes, deadline: pd.Timestamp | None, vertical: bool = True) -> None:
    if deadline is None:
        return
    label = f"deadline {deadline:%m-%d %H:%M}"
    ax.axvline(_one(deadline), color=_MONEY_RED, lw=1.5, ls="--", label=label, zorder=5)


def _is_forecast(data: Any) -> bool:
    return hasattr(data, "eta") and hasattr(data, "replications")


def _is_result(data: Any) -> bool:
    return hasattr(data, "status_timeline") and hasattr(data, "scenario")


def _start(data: Any) -> pd.Timestamp | None:
    scenario = getattr(data, "scenario", None)
    if scenario is None:
        return None
    return pd.Timestamp(scenario.start).tz_convert(scenario.timezone)


def requester_events(scenario: Any) -> pd.DataFrame:
    """The scenario's requester actions and top-ups as a frame: ``at``, ``action``, ``target``, ``label``.

    ``target`` is the batch or project the action names (empty for top-ups); ``at``
    is in the scenario's zone.
    """
    start = pd.Timestamp(scenario.start).tz_convert(scenario.timezone)
    rows: list[dict[str, Any]] = []
    for top_up in scenario.account.top_ups:
        rows.append({"at": start + pd.to_timedelta(scenario.offset_s(top_up.at), unit="s"), "action": "top_up",
                     "target": "", "label": f"top-up {top_up.amount:g} USD"})
    for event in scenario.events:
        at = start + pd.to_timedelta(scenario.offset_s(event.at), unit="s")
        if event.action == "top_up":
            rows.append({"at": at, "action": "top_up", "target": "", "label": f"top-up {event.top_up:g} USD"})
        else:
            target = event.target or ""
            rows.append({"at": at, "action": event.action, "target": target,
                         "label": f"{event.action.replace('_', ' ')} {target}".strip()})
    frame = pd.DataFrame(rows, columns=["at", "action", "target", "label"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True).dt.tz_convert(scenario.timezone)
    return frame.sort_values("at", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- status timeline


def plot_status_timeline(
    data: Any,
    ax: Axes | None = None,
    end: pd.Timestamp | str | None = None,
    events: pd.DataFrame | None = None,
) -> Axes:
    """A Gantt chart of each batch's statuses, one lane per batch, with requester events marked.

    Args:
        data: a :class:`~labelsim.SimulationResult` (its timeline, end of run and
            scenario events are used) or a ``status_timeline`` frame.
        end: where open intervals (``end_at`` NaT) stop (default: the run's end, or
            the last change).
        events: requester events to mark (columns ``at``, ``action``, ``target``,
            ``label`` as from :func:`requester_events`; default: the scenario's).

    Only statuses drawn with a non-zero length appear in the legend; each lane ends
    with the batch's final status written after it.
    """
    if _is_result(data):
        timeline = data.status_timeline
        end = end if end is not None else data.provenance.get("end")
        if events is None:
            events = requester_events(data.scenario)
    else:
        timeline = data
    n_lanes = max(1, timeline[["project", "batch"]].drop_duplicates().shape[0])
    ax = _axes(ax, figsize=(10, 0.55 * max(3, n_lanes) + 1.6))
    tz = _tz_of(timeline["start_at"])
    keys = list(dict.fromkeys(zip(timeline["project"], timeline["batch"], strict=True)))
    last = pd.Timestamp(end) if end is not None else max(timeline["start_at"].max(), timeline["end_at"].max())
    last_num = _one(last)
    shown: set[str] = set()
    for row, key in enumerate(keys):
        mine = timeline[(timeline["project"] == key[0]) & (timeline["batch"] == key[1])]
        starts = _num(mine["start_at"])
        stops = np.where(np.isnan(_num(mine["end_at"])), last_num, _num(mine["end_at"]))
        for status, left, right in zip(mine["status"], starts, stops, strict=True):
            width = right - left
            if width > 0:
                ax.barh(row, width, left=left, height=0.6, color=STATUS_COLORS.get(status, "#999999"),
                        edgecolor="none")
                shown.add(status)
        final = mine["status"].iloc[-1] if len(mine) else ""
        ax.annotate(f" {final}", (max(stops.max(), starts.max()) if len(mine) else last_num, row),
                    va="center", ha="left", fontsize=8, color="#444444", annotation_clip=False)
    handles: list[Any] = [Patch(color=STATUS_COLORS[s], label=s) for s in STATUS_COLORS if s in shown]
    if events is not None and len(events):
        handles.extend(_draw_events(ax, events, keys))
    ax.set_yticks(range(len(keys)), _labels(timeline))
    ax.set_ylim(len(keys) - 0.5, -0.9)
    left, right = ax.get_xlim()
    ax.set_xlim(left, right + 0.1 * (right - left))  # room for the final statuses
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    ax.set_title("Batch statuses and requester actions")
    _time_axis(ax, tz)
    ax.grid(axis="x", color="#eeeeee", zorder=0)
    ax.set_axisbelow(True)
    return ax


def _draw_events(ax: Axes, events: pd.DataFrame, keys: list[tuple[str, str]]) -> list[Any]:
    """Markers for batch actions on their lane; vertical lines for top-ups and project actions."""
    lanes: dict[str, list[int]] = {}
    for row, (project, batch) in enumerate(keys):
        lanes.setdefault(batch, []).append(row)
        lanes.setdefault(f"{project}/{batch}", []).append(row)
    projects = {p for p, _ in keys}
    handles: dict[str, Any] = {}
    for at, action, target in zip(events["at"], events["action"], events["target"], strict=True):
        x = _one(at)
        marker = EVENT_MARKERS.get(action, "o")
        label = action.replace("_", " ").replace("top up", "top-up")
        if target in lanes:
            for row in lanes[target]:
                ax.plot(x, row - 0.42, marker=marker, color="black", ms=7, ls="none", zorder=6, clip_on=False)
        else:  # account (top-up) or project actions: a line across all lanes
            color = "#1f77b4" if action == "top_up" else "#555555"
            ax.axvline(x, color=color, lw=1, ls=":", zorder=4)
            ax.plot(x, -0.75, marker=marker if action != "top_up" else "v", color=color, ms=7, ls="none",
                    zorder=6, clip_on=False)
            if target in projects:
                label = f"{label} (project)"
        if label not in handles:
            color = "#1f77b4" if action == "top_up" else "black"
            handles[label] = Line2D([], [], marker=marker if action != "top_up" else "v", color=color,
                                    ls="none", label=label)
    return list(handles.values())


# --------------------------------------------------------------------------- progress


def _grid(start: pd.Timestamp, stop: pd.Timestamp, points: int) -> pd.DatetimeIndex:
    return pd.date_range(start, stop, periods=max(2, points))


def _step_values(at_s: np.ndarray, values: np.ndarray, grid_s: np.ndarray) -> np.ndarray:
    """Values of a right-continuous step function sampled at ``at_s``, read at ``grid_s`` (held after)."""
    index = np.searchsorted(at_s, grid_s, side="right") - 1
    return values[np.clip(index, 0, len(values) - 1)]


def _runs(data: Any) -> list[Any]:
    runs = getattr(data, "runs", None)
    if not runs:
        from .scenario import LabelsimError

        raise LabelsimError(
            "the forecast has no per-replication runs: call labelsim.forecast(..., keep_runs=True) for a fan"
        )
    return list(runs)


def _quantile_names(quantiles: Sequence[float]) -> list[str]:
    return [f"p{round(q * 100)}" for q in quantiles]


def progress_quantiles(runs: Sequence[Any], quantiles: Sequence[float] = _QUANTILES, points: int = 300) -> pd.DataFrame:
    """Quantiles over replications of each batch's labeled items on a regular time grid.

    Args:
        runs: replications as :class:`~labelsim.SimulationResult` (``Forecast.runs``).
        quantiles: e.g. (0.1, 0.5, 0.9) -> columns ``labeled_p10``, ``labeled_p50``, ``labeled_p90``.
        points: grid points from the start to the latest end of a run.

    Returns:
        Columns ``at`` (scenario zone), ``project``, ``batch``, ``items`` (median
        over runs) and one ``labeled_pXX`` column per quantile.  After a run ends
        its last value holds.
    """
    start = runs[0].start
    stop = max(pd.Timestamp(r.provenance["end"]) for r in runs).tz_convert(start.tz)
    grid = _grid(start, stop, points)
    grid_s = (grid - start).total_seconds().to_numpy()
    names = _quantile_names(quantiles)
    frames = []
    keys = list(zip(runs[0].batches["project"], runs[0].batches["batch"], strict=True))
    samples: dict[tuple[str, str], list[np.ndarray]] = {k: [] for k in keys}
    items: dict[tuple[str, str], list[int]] = {k: [] for k in keys}
    for run in runs:
        progress = run.progress
        for (project, batch), group in progress.groupby(["project", "batch"], sort=False):
            at_s = (group["at"] - start).dt.total_seconds().to_numpy()
            samples[(project, batch)].append(_step_values(at_s, group["labeled_items"].to_numpy(), grid_s))
        for project, batch, n in zip(run.batches["project"], run.batches["batch"], run.batches["items"],
                                     strict=True):
            items[(project, batch)].append(int(n))
    for key in keys:
        if not samples[key]:
            continue
        stack = np.vstack(samples[key]).astype(float)
        frame = pd.DataFrame({"at": grid, "project": key[0], "batch": key[1],
                              "items": int(np.median(items[key]))})
        for name, q in zip(names, quantiles, strict=True):
            frame[f"labeled_{name}"] = np.quantile(stack, q, axis=0, method="inverted_cdf")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def plot_progress(data: Any, ax: Axes | None = None, deadline: Any = None) -> Axes:
    """Labeled items over time per batch.

    For a forecast with runs (``labelsim.forecast(..., keep_runs=True)``): the
    P10–P90 fan over replications (shaded) and the P50 (line); for a result or a
    ``progress`` frame: one step line per batch.  ``deadline`` (a timestamp) is
    marked with a dashed line.
    """
    ax = _axes(ax, figsize=(10, 4))
    colors = _palette()
    if _is_forecast(data):
        fan = progress_quantiles(_runs(data))
        tz = _tz_of(fan["at"])
        for i, ((_project, batch), group) in enumerate(fan.groupby(["project", "batch"], sort=False)):
            x = _num(group["at"])
            color = colors[i % len(colors)]
            ax.fill_between(x, group["labeled_p10"], group["labeled_p90"], color=color, alpha=0.25, lw=0,
                            step="post")
            ax.step(x, group["labeled_p50"], where="post", color=color, lw=1.6, label=f"{batch} (P50)")
        ax.fill_between([], [], [], color="#888888", alpha=0.3, label="P10–P90 over replications")
        title = f"Labeling progress: P50 and P10–P90 of {len(_runs(data))} replications"
    else:
        progress = data.progress if _is_result(data) else data
        tz = _tz_of(progress["at"])
        for i, ((_project, batch), group) in enumerate(progress.groupby(["project", "batch"], sort=False)):
            ax.step(_num(group["at"]), group["labeled_items"], where="post", label=batch, color=colors[i % 10])
        title = "Labeling progress"
    _mark_deadline(ax, _deadline(deadline, tz))
    ax.set_ylabel("labeled items")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.set_title(title)
    _time_axis(ax, tz)
    ax.grid(color="#eeeeee")
    return ax


def _palette() -> list[str]:
    return ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
            "#d62728"]


# --------------------------------------------------------------------------- completion probability


def plot_completion(data: Any, ax: Axes | None = None, deadline: Any = None) -> Axes:
    """P(done by t): the share of replications in which each batch is Completed by ``t``.

    Args:
        data: a forecast or its ``replications`` frame.
        deadline: a timestamp to mark; the legend gives each batch's P(done by the deadline).
    """
    frame = data.replications if _is_forecast(data) else data
    ax = _axes(ax, figsize=(10, 4))
    tz = _tz_of(frame["completed_at"], frame["end_at"])
    stop = frame["end_at"].max()
    begin = _start(data) if _start(data) is not None else frame["started_at"].min()
    due = _deadline(deadline, tz)
    colors = _palette()
    for i, ((_project, batch), group) in enumerate(frame.groupby(["project", "batch"], sort=False)):
        n = len(group)
        done = np.sort(_num(group["completed_at"].dropna()))
        x = np.concatenate([[_one(begin)], done, [_one(stop)]])
        y = np.concatenate([[0.0], np.arange(1, len(done) + 1) / n, [len(done) / n]])
        label = str(batch)
        if due is not None:
            share = float((group["completed_at"] <= due).sum()) / n
            label = f"{batch}: {share:.0%} by the deadline"
        ax.step(x, y, where="post", color=colors[i % len(colors)], lw=1.6, label=label)
    _mark_deadline(ax, due)
    ax.set_ylim(-0.02, 1.02)
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.set_ylabel("P(Completed by t)")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"Chance each batch is done by a time ({frame['replication'].nunique()} replications)")
    _time_axis(ax, tz)
    ax.grid(color="#eeeeee")
    return ax


# --------------------------------------------------------------------------- ETA ranges


def _no_value_reason(row: pd.Series, never_launched: float = 0.0) -> str:
    money = max(float(row.get("p_no_money", 0.0) or 0.0), float(row.get("p_shortfall", 0.0) or 0.0))
    if never_launched >= 0.5:
        return NOT_LAUNCHED
    return STOPPED_FOR_MONEY if money >= 0.5 else NOT_WITHIN_HORIZON


def _never_launched(data: Any) -> dict[tuple[str, str], float]:
    """Per (project, batch): share of replications ending New (a forecast only; else empty)."""
    if not _is_forecast(data):
        return {}
    frame = data.replications
    return (frame["status"] == "New").groupby([frame["project"], frame["batch"]], sort=False).mean().to_dict()


def plot_eta(data: Any, ax: Axes | None = None, deadline: Any = None, min_width: float = 0.012) -> Axes:
    """ETA per batch (``eta`` frame) or per project (``project_eta``): P10–P90 bar and P50 dot.

    A range shorter than ``min_width`` of the axis is drawn at that width (centred on
    the P50) so that it stays visible; a P90 beyond the horizon draws the bar to the
    right edge with an arrow; a batch without a P50 says "not within horizon",
    "stopped for money" (when most replications hit No money) or "not launched" (a
    forecast whose replications mostly end New).
    """
    eta = data.eta if _is_forecast(data) else data
    ax = _axes(ax, figsize=(10, 0.55 * max(3, len(eta)) + 1.4))
    tz = _tz_of(eta["eta_p50"], eta["eta_p10"])
    due = _deadline(deadline, tz)
    p10, p50, p90 = _num(eta["eta_p10"]), _num(eta["eta_p50"]), _num(eta["eta_p90"])
    known = np.concatenate([p10[~np.isnan(p10)], p90[~np.isnan(p90)]])
    if due is not None:
        known = np.append(known, _one(due))
    start = _start(data)
    if start is not None:
        known = np.append(known, _one(start))
    if len(known) == 0:
        known = np.array([_one(pd.Timestamp.now(tz=tz)) - 0.5, _one(pd.Timestamp.now(tz=tz)) + 0.5])
    lo, hi = float(known.min()), float(known.max())
    span = max(hi - lo, 1 / 24)
    lo, hi = lo - 0.04 * span, hi + 0.22 * span
    ax.set_xlim(lo, hi)
    minimum = min_width * (hi - lo)
    never = _never_launched(data)
    for row, (_, item) in enumerate(eta.iterrows()):
        a, m, b = p10[row], p50[row], p90[row]
        if not math.isnan(a):
            right = b if not math.isnan(b) else hi
            left = a
            if right - left < minimum:
                centre = m if not math.isnan(m) else (left + right) / 2
                left, right = centre - minimum / 2, centre + minimum / 2
            ax.barh(row, right - left, left=left, height=0.45, color="#9ecae1", edgecolor="#4292c6", lw=0.8)
            if math.isnan(b):
                ax.annotate("later →", (hi, row), xytext=(-2, 0), textcoords="offset points", ha="right",
                            va="center", fontsize=8, color="#4292c6")
        if not math.isnan(m):
            ax.plot(m, row, "o", color="#08519c", ms=6, zorder=5)
            ax.annotate(f"{pd.Timestamp(eta['eta_p50'].iloc[row]):%m-%d %H:%M}", (m, row), xytext=(6, 7),
                        textcoords="offset points", ha="left", fontsize=7, color="#08519c")
        else:
            key = (item["project"], item["batch"]) if "batch" in eta.columns else None
            reason = _no_value_reason(item, never.get(key, 0.0) if key else 0.0)
            x = a if not math.isnan(a) else lo + 0.02 * (hi - lo)
            ax.annotate(reason, (x, row), xytext=(4, 0), textcoords="offset points", va="center", ha="left",
                        fontsize=9, color=_MONEY_RED if reason == STOPPED_FOR_MONEY else "#555555",
                        style="italic")
    _mark_deadline(ax, due)
    ax.set_yticks(range(len(eta)), _labels(eta))
    ax.set_ylim(len(eta) - 0.5, -0.7)
    handles = [Patch(facecolor="#9ecae1", edgecolor="#4292c6", label="P10–P90"),
               Line2D([], [], marker="o", color="#08519c", ls="none", label="P50 (median)")]
    if due is not None:
        handles.append(Line2D([], [], color=_MONEY_RED, ls="--", label=f"deadline {due:%m-%d %H:%M}"))
    ax.legend(handles=handles, frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    what = "project" if "batch" not in eta.columns else "batch"
    ax.set_title(f"ETA per {what}: P10–P90 range and median")
    _time_axis(ax, tz)
    ax.grid(axis="x", color="#eeeeee")
    ax.set_axisbelow(True)
    return ax


# --------------------------------------------------------------------------- money


def money_quantiles(runs: Sequence[Any], quantiles: Sequence[float] = _QUANTILES, points: int = 300) -> pd.DataFrame:
    """Quantiles over replications of the account balance and reserved money on a time grid.

    Returns columns ``at`` and ``balance_pXX`` / ``reserved_pXX`` (USD) per quantile.
    """
    start = runs[0].start
    stop = max(pd.Timestamp(r.provenance["end"]) for r in runs).tz_convert(start.tz)
    grid = _grid(start, stop, points)
    grid_s = (grid - start).total_seconds().to_numpy()
    balance, reserved = [], []
    for run in runs:
        ledger = run.ledger
        at_s = (ledger["at"] - start).dt.total_seconds().to_numpy()
        balance.append(_step_values(at_s, ledger["balance_usd"].to_numpy(), grid_s))
        reserved.append(_step_values(at_s, ledger["reserved_usd"].to_numpy(), grid_s))
    frame = pd.DataFrame({"at": grid})
    for name, q in zip(_quantile_names(quantiles), quantiles, strict=True):
        frame[f"balance_{name}"] = np.quantile(np.vstack(balance), q, axis=0, method="inverted_cdf")
        frame[f"reserved_{name}"] = np.quantile(np.vstack(reserved), q, axis=0, method="inverted_cdf")
    return frame


def _no_money_starts(timeline: pd.DataFrame) -> pd.Series:
    return timeline.loc[timeline["status"] == "No money", "start_at"]


def plot_money(data: Any, ax: Axes | None = None) -> Axes:
    """The account over time: balance and reserved money (USD), top-ups and No money moments.

    For a forecast with runs: P10–P90 fans over replications and P50 lines; the
    moments a batch went No money are a rug at the bottom (one tick per run and
    batch).  For a result or a ``ledger`` frame: the balance and reserved money as
    steps; top-ups (``top_up`` rows) are marked with a dotted line.
    """
    ax = _axes(ax, figsize=(10, 3.8))
    starts: list[pd.Timestamp] = []
    if _is_forecast(data):
        runs = _runs(data)
        fan = money_quantiles(runs)
        tz = _tz_of(fan["at"])
        x = _num(fan["at"])
        ax.fill_between(x, fan["balance_p10"], fan["balance_p90"], color="#1f77b4", alpha=0.2, lw=0, step="post",
                        label="balance P10–P90")
        ax.step(x, fan["balance_p50"], where="post", color="#1f77b4", lw=1.6, label="balance P50")
        ax.fill_between(x, fan["reserved_p10"], fan["reserved_p90"], color="#ff7f0e", alpha=0.25, lw=0,
                        step="post", label="reserved P10–P90")
        ax.step(x, fan["reserved_p50"], where="post", color="#ff7f0e", lw=1.2, label="reserved P50")
        for run in runs:
            starts.extend(_no_money_starts(run.status_timeline))
        ledger_top_ups = runs[0].ledger
        title = f"Account: balance and reserved money over {len(runs)} replications"
    else:
        ledger = data.ledger if _is_result(data) else data
        tz = _tz_of(ledger["at"])
        x = _num(ledger["at"])
        ax.step(x, ledger["balance_usd"], where="post", color="#1f77b4", lw=1.6, label="balance")
        ax.step(x, ledger["reserved_usd"], where="post", color="#ff7f0e", lw=1.2, label="reserved")
        if _is_result(data):
            starts.extend(_no_money_starts(data.status_timeline))
        ledger_top_ups = ledger
        title = "Account: balance and reserved money"
    top_ups = ledger_top_ups[ledger_top_ups["kind"] == "top_up"]
    for i, (at, amount) in enumerate(zip(top_ups["at"], top_ups["amount_usd"], strict=True)):
        ax.axvline(_one(at), color="#2ca02c", ls=":", lw=1.4, label="top-up" if i == 0 else None)
        ax.annotate(f"+{amount:g} USD", (_one(at), 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                    textcoords="offset points", fontsize=8, color="#2ca02c")
    if starts:
        ax.plot(_num(starts), np.zeros(len(starts)), marker="|", ms=14, mew=1.5, color=_MONEY_RED, ls="none",
                label="a batch goes No money", clip_on=False, zorder=6)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("USD")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title)
    _time_axis(ax, tz)
    ax.grid(color="#eeeeee")
    return ax


def plot_ledger(ledger: Any, ax: Axes | None = None) -> Axes:
    """Balance and reserved money over time (``ledger`` frame or a result); see :func:`plot_money`."""
    return plot_money(ledger, ax=ax)


# --------------------------------------------------------------------------- what-if comparison

_VERDICT_COLORS = {"earlier": "#2ca02c", "later": _MONEY_RED, "no clear difference": "#7f7f7f"}


def plot_comparison(data: Any, ax: Axes | None = None) -> Axes:
    """Paired ETA differences variant − base per batch (hours) with their confidence intervals.

    ``data`` is a :class:`~labelsim.Comparison` (its ``batches``) or a ``comparison``
    / ``project_comparison`` frame.  Points left of zero: the variant finishes
    earlier; colour = verdict; the cost change is written on the right.
    """
    frame = data.batches if hasattr(data, "batches") and hasattr(data, "variant") else data
    ax = _axes(ax, figsize=(10, 0.55 * max(3, len(frame)) + 1.4))
    mean = frame["eta_diff_mean_h"].to_numpy(dtype=float)
    low = frame["eta_diff_ci_low_h"].to_numpy(dtype=float)
    high = frame["eta_diff_ci_high_h"].to_numpy(dtype=float)
    finite = np.concatenate([v[np.isfinite(v)] for v in (mean, low, high)] + [np.array([0.0])])
    reach = max(float(np.abs(finite).max()), 1 / 60)
    unit, scale = ("minutes", 60.0) if reach < 2 else ("hours", 1.0)
    for row in range(len(frame)):
        verdict = str(frame["verdict"].iloc[row])
        color = _VERDICT_COLORS.get(verdict, "#7f7f7f")
        lo_v, hi_v = np.clip([low[row], high[row]], -10 * reach, 10 * reach)
        ax.errorbar(mean[row] * scale, row, xerr=[[(mean[row] - lo_v) * scale], [(hi_v - mean[row]) * scale]],
                    fmt="o", color=color, capsize=4, ms=6, lw=1.6)
        cost = frame["cost_diff_mean_usd"].iloc[row]
        change = f"{mean[row] * scale:+.0f} min" if unit == "minutes" else f"{mean[row]:+.1f} h"
        ax.annotate(f"{verdict} ({change}); cost {cost:+.2f} USD", (1.0, row), xycoords=("axes fraction", "data"),
                    xytext=(6, 0), textcoords="offset points", va="center", fontsize=8, color=color,
                    annotation_clip=False)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(frame)), _labels(frame))
    ax.set_ylim(len(frame) - 0.5, -0.5)
    limit = reach * scale * 1.15
    ax.set_xlim(-limit, limit)
    ax.set_xlabel(f"ETA change, variant − base ({unit}; mean of paired replications, 95% CI)")
    n = int(frame["replications"].iloc[0]) if len(frame) else 0
    ax.set_title(f"What-if: paired differences on common random numbers ({n} pairs)")
    ax.grid(axis="x", color="#eeeeee")
    ax.set_axisbelow(True)
    return ax


# --------------------------------------------------------------------------- planning frontier


def plot_frontier(data: Any, ax: Axes | None = None) -> Axes:
    """P(on time) with its confidence band and the cost P50 against the varied value.

    ``data`` is a plan (attributes ``frontier``, ``required``, ``confidence``,
    ``vary``, ``deadline``) or its ``frontier`` frame (columns ``value``,
    ``p_on_time`` and, when present, ``p_on_time_lo``/``p_on_time_hi``,
    ``cost_p50_usd``).  The target confidence is a dashed line, the answer
    (``required``) a vertical line; the cost is on the right axis.
    """
    frontier = data.frontier if hasattr(data, "frontier") else data
    required = getattr(data, "required", None)
    confidence = getattr(data, "confidence", None)
    vary = getattr(data, "vary", None) or "value"
    deadline = getattr(data, "deadline", None)
    if deadline is None:
        deadline = getattr(data, "deadline_at", None)  # labelsim.plan's Plan
    frame = frontier.sort_values("value", kind="stable")
    ax = _axes(ax, figsize=(9, 4.2))
    x = frame["value"].to_numpy(dtype=float)
    if {"p_on_time_lo", "p_on_time_hi"} <= set(frame.columns):
        ax.fill_between(x, frame["p_on_time_lo"].to_numpy(dtype=float), frame["p_on_time_hi"].to_numpy(dtype=float),
                        color="#1f77b4", alpha=0.2, lw=0, label="95% CI")
    ax.plot(x, frame["p_on_time"], "o-", color="#1f77b4", lw=1.6, ms=4, label="P(on time)")
    if confidence is not None:
        ax.axhline(confidence, color="#555555", ls="--", lw=1, label=f"target {confidence:.0%}")
    if required is not None and not (isinstance(required, float) and math.isnan(required)):
        ax.axvline(float(required), color=_MONEY_RED, lw=1.5, label=f"required: {float(required):.4g}")
    elif confidence is not None:
        ax.annotate("target not reached in this range", (0.5, 0.5), xycoords="axes fraction", ha="center",
                    color=_MONEY_RED, fontsize=10)
    ax.set_ylim(-0.02, 1.02)
    if len(x) and x.min() > 0 and x.max() >= 10 * x.min():  # a wide range (a geometric grid): log scale
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.set_ylabel("P(done by the deadline)")
    ax.set_xlabel(str(vary))
    handles, labels = ax.get_legend_handles_labels()
    if "cost_p50_usd" in frame.columns:
        right = ax.twinx()
        right.plot(x, frame["cost_p50_usd"], "s:", color="#8c564b", ms=3, lw=1.2, label="cost P50 (USD)")
        right.set_ylim(bottom=0)
        right.set_ylabel("cost P50 (USD)", color="#8c564b")
        right.tick_params(axis="y", colors="#8c564b")
        more_h, more_l = right.get_legend_handles_labels()
        handles, labels = handles + more_h, labels + more_l
    ax.legend(handles, labels, frameon=False, fontsize=8, loc="lower right")
    title = "Planning frontier"
    if deadline is not None:
        stamp = pd.Timestamp(deadline)
        title += f": chance to finish by {stamp:%Y-%m-%d %H:%M} {zone_name(stamp.tz) if stamp.tz else ''}".rstrip()
    ax.set_title(title)
    ax.grid(color="#eeeeee")
    return ax


__all__ += ["plot_backtest"]


def _plain_log_ticks(ax: Axes, low: float, high: float) -> None:
    """Log axes labelled 0.1, 1, 10 (not 10⁻¹ …); under two decades the minor ticks (2, 3, 5 …) get labels too."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    plain = FuncFormatter(lambda value, _pos: f"{value:g}")
    minor = plain if high / low < 100 else NullFormatter()
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(minor)


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
    _plain_log_ticks(ax, low, high)
    ax.set_xlabel("actual remaining time (h)")
    ax.set_ylabel("predicted remaining time (h)")
    ax.legend(frameon=False)
    ax.set_title("Backtest: predicted vs actual remaining time")
    return ax
