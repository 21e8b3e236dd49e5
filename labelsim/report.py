"""Presentation of results as tables and text (layer 6).

These functions return pandas frames and plain strings; the CLI renders them
with rich, a notebook displays them as they are.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._version import __version__
from .forecasting import platform_formula_eta as platform_formula_eta_of
from .forecasting import project_completion
from .results import SimulationResult
from .scenario import LabelsimError, Scenario, TeamGroup
from .theory import platform_formula_remaining_s
from .units import format_duration, parse_duration, parse_timestamp
from .vocabulary import ARCHIVE, NO_MONEY, NOT_EXPECTED

__all__ = [
    "NOT_WITHIN_HORIZON",
    "Report",
    "batch_table",
    "build_report",
    "comparison_figures",
    "comparison_table",
    "figure_png",
    "forecast_figures",
    "forecast_table",
    "format_stamp",
    "money_lines",
    "platform_formula_eta",
    "project_forecast_table",
    "render_plan_report",
    "resolve_deadline",
    "result_figures",
    "zone_name",
]

#: What the ETA column shows for a batch that does not finish within the horizon.
NOT_WITHIN_HORIZON = "not within horizon"
_FINAL_WITHOUT_ETA = (*NOT_EXPECTED, ARCHIVE)


def zone_name(stamp: pd.Timestamp) -> str:
    """The abbreviation of the timestamp's zone at that moment (``UTC``, ``CET``, ``CEST``, ``+03``)."""
    return stamp.strftime("%Z") or "local time"


def format_stamp(stamp: pd.Timestamp) -> str:
    """``2026-12-01 14:05 CET`` (the timestamp's own time zone, to the minute, named)."""
    return f"{stamp.strftime('%Y-%m-%d %H:%M')} {zone_name(stamp)}"


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


def _zones(*stamps: pd.Timestamp) -> list[str]:
    return [zone_name(s) for s in stamps if pd.notna(s)]


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _range(low: pd.Timestamp, high: pd.Timestamp) -> str:
    """``12-01 11:04 – 12-01 11:23 UTC``: one zone name, or one per end when they differ (DST)."""
    zones = _zones(low, high)
    if len(set(zones)) > 1:
        return f"{_short(low)} {zones[0]} – {_short(high)} {zones[1]}"
    return f"{_short(low)} – {_short(high)}" + (f" {zones[0]}" if zones else "")


def forecast_table(eta: pd.DataFrame) -> pd.DataFrame:
    """The forecast's batch table: expected start (P50), ETA P50, the platform's own ETA ("n/a" when undefined),
    P10–P90, chances, cost, cost to finish and the money still needed (shortfall) when the batch stops for money."""
    return pd.DataFrame({
        "Project": eta["project"].to_numpy(),
        "Name": eta["batch"].to_numpy(),
        "Labeling queue": eta["labeling_queue"].to_numpy(),
        "Items": eta["items"].to_numpy(),
        "Expected start": [_start_text(*v) for v in zip(eta["start_p50"], eta["opening_status"], strict=True)],
        "ETA P50": [_when(v) for v in eta["eta_p50"]],
        "Platform ETA": [_stamp_text(v, _PLATFORM_NA) for v in eta.get("platform_eta", [pd.NaT] * len(eta))],
        "P10 – P90": [_range(a, b) for a, b in zip(eta["eta_p10"], eta["eta_p90"], strict=True)],
        "P50 95% CI": [_range(a, b) for a, b in zip(eta["eta_p50_ci_low"], eta["eta_p50_ci_high"], strict=True)],
        "In horizon": [_percent(v) for v in eta["p_complete"]],
        NO_MONEY: [_percent(v) for v in eta["p_no_money"]],
        "Cost P50": [f"{v:.2f} USD" for v in eta["cost_p50_usd"]],
        "To finish P50": [_usd(v) for v in eta.get("cost_to_finish_p50_usd", [math.nan] * len(eta))],
        "Shortfall P50": [_shortfall_text(s, p) for s, p in zip(
            eta.get("shortfall_p50_usd", [math.nan] * len(eta)), eta.get("p_shortfall", [math.nan] * len(eta)),
            strict=True)],
    })


def _shortfall_text(shortfall: Any, chance: Any) -> str:
    """The money still needed when the batch stops for money, with the chance of that; "—" when it never does."""
    if pd.isna(chance) or not chance > 0:
        return "—"
    return f"{_usd(shortfall)} ({_percent(chance)})"


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
    frame: dict[str, Any] = {
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


# =========================================================================== documents (HTML and Markdown)
#
# ``build_report`` turns a forecast (and/or a capacity plan) into one self-contained
# HTML page and a Markdown file with the same content.  Everything here returns
# strings and bytes; writing files is the CLI's job (``labelsim.io.write_folder``).

#: Figure names in the order the report shows them.
FIGURE_ORDER = ("eta", "completion", "progress", "timeline", "money", "comparison", "frontier")
_PLATFORM_NA = "n/a"
_NOT_LAUNCHED = "— (not launched)"


@dataclass
class Report:
    """A report as text: ``html`` (self-contained page), ``markdown`` (same content) and ``figures``.

    ``figures`` maps a file name (``fig-eta.png``…) to PNG bytes; the HTML embeds
    them (base64), the Markdown links to them by that name (write them beside it).
    """

    title: str
    html: str
    markdown: str
    figures: dict[str, bytes] = field(default_factory=dict)


@dataclass
class _Table:
    """A table with optional sortable columns (``sort`` maps a column to "text" or "number")."""

    id: str
    caption: str
    columns: list[str]
    rows: list[list[str]]
    keys: list[list[Any]] = field(default_factory=list)
    sort: dict[int, str] = field(default_factory=dict)
    note: str = ""


def zone_label(tz: Any) -> str:
    """The IANA name of a zone (``Europe/Berlin``), for table headers and captions."""
    return str(getattr(tz, "key", None) or getattr(tz, "zone", None) or tz)


def _stamp_text(stamp: Any, empty: str = NOT_WITHIN_HORIZON) -> str:
    return format_stamp(pd.Timestamp(stamp)) if pd.notna(stamp) else empty


def _epoch(stamp: Any) -> float:
    """Seconds since the epoch (a sort key); missing -> +inf (sorts last)."""
    return float(pd.Timestamp(stamp).timestamp()) if pd.notna(stamp) else math.inf


def resolve_deadline(scenario: Scenario, value: Any) -> pd.Timestamp:
    """A deadline as a timestamp in the scenario's zone.

    ``value`` is a timestamp, an ISO 8601 string (without offset: in the
    scenario's zone) or a duration from the start (``3d``, ``36h``).

    Raises:
        LabelsimError: ``--deadline: …`` when it cannot be read or is before the start.
    """
    start = pd.Timestamp(scenario.start).tz_convert(scenario.timezone)
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        stamp = pd.Timestamp(value)
    else:
        text = str(value).strip()
        try:
            stamp = start + pd.to_timedelta(parse_duration(text), unit="s")
        except ValueError:
            try:
                stamp = pd.Timestamp(parse_timestamp(text, scenario.tz))
            except ValueError:
                raise LabelsimError(
                    f"--deadline: cannot read {text!r}; use a duration from the start (3d, 36h) "
                    "or a date and time (2026-12-03T18:00)"
                ) from None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(scenario.tz)
    stamp = stamp.tz_convert(scenario.timezone)
    if stamp < start:
        raise LabelsimError(f"--deadline: {stamp:%Y-%m-%d %H:%M} is before the scenario start {start:%Y-%m-%d %H:%M}")
    return stamp


def platform_formula_eta(
    now: pd.Timestamp, elapsed_s: float | None, completed: int, remaining: int
) -> pd.Timestamp | None:
    """The platform's own ETA: ``now + remaining × elapsed ÷ completed`` (assignments, seconds).

    ``None`` when it is undefined: nothing completed yet or the time since launch unknown
    (:func:`labelsim.theory.platform_formula_remaining_s`).
    """
    seconds = platform_formula_remaining_s(remaining, elapsed_s, completed)
    return now + pd.to_timedelta(seconds, unit="s") if math.isfinite(seconds) else None


def _platform_eta(scenario: Scenario, batch: Any, item: Any) -> tuple[str, float]:
    """The platform formula at the scenario start (the forecast's ``platform_eta``), as (text, sort key)."""
    eta = item.get("platform_eta")
    if eta is None and batch is not None:  # a frame from before the column existed
        eta = platform_formula_eta_of(scenario, batch)
    return (_stamp_text(eta), _epoch(eta)) if pd.notna(eta) else (_PLATFORM_NA, math.inf)


def _status_now(scenario: Scenario, batch: Any) -> str:
    if batch.state is not None:
        return str(batch.state.status)
    return "New"  # before its launch (at the start or later) a batch shows New


def _percent_text(value: Any) -> str:
    return f"{100 * float(value):.0f}%" if pd.notna(value) else "—"


def _usd(value: Any) -> str:
    return f"{float(value):.2f} USD" if pd.notna(value) else "—"


def _miss_deadline(frame: pd.DataFrame, deadline: pd.Timestamp) -> pd.Series:
    """Per batch: share of replications not Completed by ``deadline`` (NaT counts as a miss)."""
    late = ~(frame["completed_at"] <= deadline)
    return late.groupby([frame["project"], frame["batch"]], sort=False).mean()


def _project_completion(frame: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    return project_completion(frame, start)


def _all_done_by(fc: Any, deadline: pd.Timestamp) -> float:
    """Share of replications in which every project (all its expected batches) is done by ``deadline``."""
    start = pd.Timestamp(fc.scenario.start).tz_convert(fc.scenario.timezone)
    per = _project_completion(fc.replications, start)
    due_s = (deadline - start).total_seconds()
    ok = (per["done_s"] <= due_s).groupby(per["replication"]).all()
    return float(ok.mean())


def _batch_table(fc: Any, tz_name: str) -> _Table:
    scenario = fc.scenario
    eta = fc.eta
    batches = {(p.name, b.name): b for p, b in scenario.batches()}
    ending = fc.replications.groupby(["project", "batch"], sort=False)["status"].agg(
        lambda s: s.value_counts().index[0])
    columns = ["Project", "Name", "Labeling queue", "Status now", "Items", f"ETA P50 ({tz_name})",
               f"P10 – P90 ({tz_name})", f"P50 95% CI ({tz_name})", f"Platform formula ({tz_name})",
               "In horizon", "End status (most often)"]
    rows, keys = [], []
    for _, item in eta.iterrows():
        key = (item["project"], item["batch"])
        batch = batches.get(key)
        labeled = batch.state.labeled_items if batch is not None and batch.state is not None else 0
        platform, platform_key = _platform_eta(scenario, batch, item)
        rows.append([
            str(item["project"]), str(item["batch"]), str(item["labeling_queue"]),
            _status_now(scenario, batch) if batch is not None else "—",
            f"{labeled}/{batch.items if batch is not None else item['items']}",
            _stamp_text(item["eta_p50"], _NOT_LAUNCHED if ending.get(key) == "New" else NOT_WITHIN_HORIZON),
            _range(item["eta_p10"], item["eta_p90"]),
            _range(item["eta_p50_ci_low"], item["eta_p50_ci_high"]),
            platform, _percent_text(item["p_complete"]), str(ending.get(key, "—")),
        ])
        keys.append([None, str(item["batch"]).lower(), None, None, None, _epoch(item["eta_p50"]), None, None,
                     platform_key, None, None])
    note = ("Click Name or ETA P50 to sort. ETA = when the batch is Completed; 'later' = beyond the horizon. "
            "Platform formula = the start + remaining assignments × time since launch (state.age) ÷ completed "
            "assignments (n/a when nothing is completed yet or the batch's state has no age).")
    return _Table("batches", "Batches (as the platform lists them) with the forecast ETA", columns, rows, keys,
                  {1: "text", 5: "number"}, note)


def _money_table(fc: Any, deadline: pd.Timestamp | None) -> _Table:
    eta = fc.eta
    optional = [("cost_to_finish_p50_usd", "Cost to finish P50"), ("shortfall_p50_usd", "Shortfall P50"),
                ("p_shortfall", "P(shortfall)")]
    present = [(c, label) for c, label in optional if c in eta.columns]
    columns = ["Project", "Name", "Cost P50", "Cost P90", *[label for _, label in present], "P(No money)"]
    miss = _miss_deadline(fc.replications, deadline) if deadline is not None else None
    if miss is not None:
        columns.append("P(miss deadline)")
    rows = []
    for _, item in eta.iterrows():
        row = [str(item["project"]), str(item["batch"]), _usd(item["cost_p50_usd"]), _usd(item["cost_p90_usd"])]
        row += [_percent_text(item[c]) if c.startswith("p_") else _usd(item[c]) for c, _ in present]
        row.append(_percent_text(item["p_no_money"]))
        if miss is not None:
            row.append(_percent_text(miss.get((item["project"], item["batch"]), math.nan)))
        rows.append(row)
    note = "Cost = money charged during the run (reward + fee)."
    if present:
        note += " Cost to finish = money the batch still needs; shortfall = what is missing when it stops for money."
    else:
        note += " (Cost to finish and shortfall need a labelsim version that reports them.)"
    return _Table("money", "Money and risks per batch", columns, rows, note=note)


def _project_table(fc: Any, tz_name: str, deadline: pd.Timestamp | None) -> _Table:
    frame = project_forecast_table(fc.project_eta)
    frame = frame.rename(columns={"ETA P50": f"ETA P50 ({tz_name})", "P10 – P90": f"P10 – P90 ({tz_name})"})
    frame.insert(len(frame.columns), "P(No money)", [_percent_text(v) for v in fc.project_eta["p_no_money"]])
    if deadline is not None:
        start = pd.Timestamp(fc.scenario.start).tz_convert(fc.scenario.timezone)
        per = _project_completion(fc.replications, start)
        late = ~(per["done_s"] <= (deadline - start).total_seconds())
        miss = late.groupby(per["project"], sort=False).mean()
        frame["P(miss deadline)"] = [_percent_text(miss.get(p, math.nan)) for p in fc.project_eta["project"]]
    rows = [[str(v) for v in row] for row in frame.itertuples(index=False)]
    return _Table("projects", "Projects (done when all their expected batches are)", list(frame.columns), rows,
                  note="A project waits for its batches that are still expected to finish (not New, Canceled, "
                       "Error or archived unfinished).")


def _frontier_table(plan: Any, tz_name: str) -> _Table:
    frontier = plan.frontier.sort_values("value", kind="stable")
    labels = {"value": str(getattr(plan, "vary", None) or "value"), "replications": "Replications",
              "p_on_time": "P(on time)", "eta_p50_at": f"ETA P50 ({tz_name})", "eta_p90_at": f"ETA P90 ({tz_name})",
              "cost_p50_usd": "Cost P50", "utilisation": "Utilisation"}
    columns, getters = [], []
    for column, label in labels.items():
        if column not in frontier.columns:
            continue
        columns.append(label)
        getters.append(column)
        if column == "p_on_time" and {"p_on_time_lo", "p_on_time_hi"} <= set(frontier.columns):
            columns.append("95% CI")
            getters.append("_ci")
    rows = []
    for _, item in frontier.iterrows():
        row = []
        for column in getters:
            if column == "_ci":
                row.append(f"{_percent_text(item['p_on_time_lo'])} – {_percent_text(item['p_on_time_hi'])}")
            elif column.endswith("_at"):
                row.append(_stamp_text(item[column]))
            elif column.startswith("p_") or column == "utilisation":
                row.append(_percent_text(item[column]))
            elif column.endswith("_usd"):
                row.append(_usd(item[column]))
            elif column == "value":
                row.append(f"{float(item[column]):g}")
            else:
                row.append(str(item[column]))
        rows.append(row)
    return _Table("frontier", "Planning frontier: the values tried", columns, rows,
                  note="P(on time) = share of replications with the chosen batches Completed by the deadline "
                       "(common random numbers across values).")


# ---------------------------------------------------------------------------- figures


def figure_png(draw: Any, data: Any, size: tuple[float, float], dpi: int = 96, **kwargs: Any) -> bytes:
    """Draw ``draw(data, ax=…, **kwargs)`` on an off-screen figure and return PNG bytes (no pyplot)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    draw(data, ax=figure.add_subplot(), **kwargs)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _median_run(fc: Any) -> tuple[int, Any]:
    """The replication whose last completion is the median one (a typical run), and its result."""
    last = fc.replications.groupby("replication")["completed_at"].max()
    last = last[last.index < len(fc.runs)]  # the runs kept may be the first replications only
    seconds = np.array([_epoch(v) for v in last], dtype=float)
    order = np.argsort(seconds, kind="stable")
    pick = int(last.index[order[(len(order) - 1) // 2]])
    return pick, fc.runs[pick]


def forecast_figures(fc: Any, deadline: pd.Timestamp | None = None) -> dict[str, bytes]:
    """PNG figures of a forecast: ETA ranges, P(done by t), and with runs the progress and money fans and a
    typical replication's status timeline.  Keys are file names (``fig-eta.png``…).

    ``fc.runs`` may hold only the first replications (the fans then use those).
    """
    from . import plots

    rows = max(3, len(fc.eta))
    lanes = len(fc.eta)
    figures = {
        "fig-eta.png": figure_png(plots.plot_eta, fc, (10, 0.5 * rows + 1.6), deadline=deadline),
        "fig-completion.png": figure_png(plots.plot_completion, fc, (10, 3.8), deadline=deadline),
    }
    if fc.runs:
        figures["fig-progress.png"] = figure_png(plots.plot_progress, fc, (10, 3.8), deadline=deadline)
        _, run = _median_run(fc)
        figures["fig-timeline.png"] = figure_png(plots.plot_status_timeline, run, (10, 0.45 * lanes + 2.0))
        figures["fig-money.png"] = figure_png(plots.plot_money, fc, (10, 3.6))
    return figures


def result_figures(result: SimulationResult) -> dict[str, bytes]:
    """PNG figures of one run: status timeline, progress, money."""
    from . import plots

    return {
        "fig-timeline.png": figure_png(plots.plot_status_timeline, result, (10, 0.45 * len(result.batches) + 2.0)),
        "fig-progress.png": figure_png(plots.plot_progress, result, (10, 3.8)),
        "fig-money.png": figure_png(plots.plot_money, result, (10, 3.6)),
    }


def comparison_figures(comparison: Any) -> dict[str, bytes]:
    """PNG figures of a what-if comparison: paired differences, and both sides' ETA ranges."""
    from . import plots

    rows = max(3, len(comparison.batches))
    return {
        "fig-comparison.png": figure_png(plots.plot_comparison, comparison, (10, 0.5 * rows + 1.6)),
        "fig-eta-base.png": figure_png(plots.plot_eta, comparison.base, (10, 0.5 * rows + 1.6)),
        "fig-eta-variant.png": figure_png(plots.plot_eta, comparison.variant, (10, 0.5 * rows + 1.6)),
    }


_CAPTIONS = {
    "fig-eta.png": "ETA per batch: the P10–P90 range (bar) and the median (dot).",
    "fig-completion.png": "Chance that each batch is Completed by a given time.",
    "fig-progress.png": "Labeled items: median and P10–P90 over replications.",
    "fig-timeline.png": "Statuses in a typical replication (the median finish), with the requester's actions.",
    "fig-money.png": "Account balance and reserved money, top-ups and the moments a batch goes No money.",
    "fig-frontier.png": "Planning frontier: chance to finish on time (with its 95% CI) and cost against the value.",
    "fig-comparison.png": "Paired ETA differences variant − base with 95% confidence intervals.",
}


# ---------------------------------------------------------------------------- the document


@dataclass
class _Doc:
    """Report content as blocks, rendered to HTML and Markdown alike."""

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.blocks.append(("h2", text))

    def para(self, text: str) -> None:
        self.blocks.append(("p", text))

    def items(self, lines: list[str]) -> None:
        self.blocks.append(("ul", lines))

    def table(self, table: _Table) -> None:
        self.blocks.append(("table", table))

    def figure(self, name: str, png: bytes) -> None:
        self.blocks.append(("figure", (name, png)))

    def definitions(self, pairs: list[tuple[str, str]]) -> None:
        self.blocks.append(("dl", pairs))


def build_report(
    forecast: Any = None,
    *,
    deadline: Any = None,
    plan: Any = None,
    title: str | None = None,
    figures: bool = True,
    command: Sequence[str] | None = None,
) -> Report:
    """A report of a forecast and/or a capacity plan as HTML and Markdown strings.

    Args:
        forecast: a :class:`~labelsim.Forecast` (with ``runs`` for the progress and
            money fans and the status timeline: ``forecast(..., keep_runs=True)``).
        deadline: a timestamp, ISO string or duration from the start; adds
            P(miss deadline) per batch and project and marks it on the figures.
        plan: a capacity plan (duck-typed: ``frontier`` frame with ``value`` and
            ``p_on_time`` columns, ``required``, ``confidence``, ``deadline``, ``vary``).
        title: the page title (default: the scenario's name).
        figures: draw the figures (False: tables and text only, faster).
        command: the command line that made the report, for the provenance.

    Returns:
        A :class:`Report`; the HTML is one self-contained page (figures inline,
        no external resources), the Markdown links the figures by file name.
    """
    if forecast is None and plan is None:
        raise LabelsimError("report: give a forecast or a plan")
    began = time.perf_counter()
    scenario = forecast.scenario if forecast is not None else getattr(plan, "scenario", None)
    if deadline is None and plan is not None:
        deadline = getattr(plan, "deadline", None)
    due = resolve_deadline(scenario, deadline) if deadline is not None and scenario is not None else (
        pd.Timestamp(deadline) if deadline is not None else None)
    tz_name = zone_label(scenario.tz) if scenario is not None else (zone_label(due.tz) if due is not None else "UTC")
    name = title or (scenario.name if scenario is not None else "Capacity plan")
    doc = _Doc(name)
    pngs: dict[str, bytes] = {}
    if scenario is not None:
        _summary(doc, scenario, tz_name, due)
    if plan is not None:
        _plan_section(doc, plan, tz_name, figures, pngs)
    if forecast is not None:
        _forecast_sections(doc, forecast, tz_name, due, figures, pngs)
    _provenance_section(doc, forecast, plan, began, command)
    return Report(title=name, html=_render_html(doc, tz_name), markdown=_render_markdown(doc), figures=pngs)


def render_plan_report(plan: Any, forecast: Any = None, **kwargs: Any) -> Report:
    """The report of a capacity plan (frontier table and figure), plus a forecast's sections if given."""
    return build_report(forecast, plan=plan, **kwargs)


def _summary(doc: _Doc, scenario: Scenario, tz_name: str, due: pd.Timestamp | None) -> None:
    start = pd.Timestamp(scenario.start).tz_convert(scenario.timezone)
    n_batches = len(scenario.batches())
    groups = []
    for group in scenario.performers:
        if isinstance(group, TeamGroup):
            groups.append(f"{group.name} (team of {group.size})")
        else:
            groups.append(f"{group.name} (crowd, {getattr(group, 'sessions_per_hour', '?'):g} sessions/h on average)")
    top_ups = sum(t.amount for t in scenario.account.top_ups) + sum(
        e.top_up for e in scenario.events if e.top_up is not None)
    end = start + pd.to_timedelta(scenario.horizon, unit="s")
    doc.heading("Scenario")
    if scenario.description:
        doc.para(scenario.description)
    pairs = [
        ("Start", f"{format_stamp(start)} ({tz_name})"),
        ("Horizon", f"{format_duration(scenario.horizon)} (until {format_stamp(end)} {tz_name})"),
        ("Time zone", tz_name),
        ("Projects / batches", f"{len(scenario.projects)} / {n_batches}"),
        ("Performers", ", ".join(groups) or "none"),
        ("Account", f"{scenario.account.balance:.2f} USD at the start; top-ups {top_ups:.2f} USD"),
        ("Requester actions", f"{len(scenario.events)} scheduled"),
        ("Policy", f"queue {scenario.policy.queue}, money {scenario.policy.money}"),
    ]
    if due is not None:
        pairs.append(("Deadline", f"{format_stamp(due)} ({tz_name})"))
    doc.definitions(pairs)


def _forecast_sections(doc: _Doc, fc: Any, tz_name: str, due: pd.Timestamp | None, figures: bool,
                       pngs: dict[str, bytes]) -> None:
    n = int(fc.provenance.get("replications", fc.replications["replication"].nunique()))
    doc.heading("Batches")
    doc.para(f"Forecast from {n} independent replications. ETA P50 is the median completion time; P10 – P90 the "
             f"range that 80% of the replications fall in; times in {tz_name}.")
    doc.table(_batch_table(fc, tz_name))
    doc.heading("Projects")
    doc.table(_project_table(fc, tz_name, due))
    doc.heading("Money and risks")
    doc.table(_money_table(fc, due))
    doc.items(_risks(fc, due, tz_name))
    if figures:
        made = forecast_figures(fc, due)
        pngs.update(made)
        doc.heading("Figures")
        for name in (f"fig-{k}.png" for k in FIGURE_ORDER):
            if name in made:
                doc.figure(name, made[name])


def _risks(fc: Any, due: pd.Timestamp | None, tz_name: str) -> list[str]:
    lines = []
    for _, item in fc.eta.iterrows():
        if item["p_no_money"] > 0:
            lines.append(f"{item['batch']}: goes No money in {_percent_text(item['p_no_money'])} of the replications.")
        mine = (fc.replications["project"] == item["project"]) & (fc.replications["batch"] == item["batch"])
        never = float((fc.replications.loc[mine, "status"] == "New").mean())
        if never == 1:
            lines.append(f"{item['batch']}: never launched within the horizon (New).")
        elif item["p_complete"] < 1:
            lines.append(f"{item['batch']}: not Completed within the horizon in "
                         f"{_percent_text(1 - item['p_complete'])} of the replications.")
    if due is not None:
        share = _all_done_by(fc, due)
        lines.append(f"Every project done by the deadline {format_stamp(due)} ({tz_name}): {_percent_text(share)} "
                     f"(P(miss deadline) = {_percent_text(1 - share)}).")
    return lines or ["No replication ran out of money or missed the horizon."]


def _plan_section(doc: _Doc, plan: Any, tz_name: str, figures: bool, pngs: dict[str, bytes]) -> None:
    vary = getattr(plan, "vary", None) or "the varied value"
    required = getattr(plan, "required", None)
    confidence = getattr(plan, "confidence", None)
    deadline = getattr(plan, "deadline", None)
    doc.heading("Capacity plan")
    target = f"P(done by {_stamp_text(deadline, '—')} {tz_name}) ≥ {_percent_text(confidence)}"
    if required is not None and not (isinstance(required, float) and math.isnan(required)):
        answer = f"The smallest {vary} with {target}: **{float(required):g}**."
        frontier = plan.frontier
        at = frontier[frontier["value"] == required]
        if len(at) and {"p_on_time", "p_on_time_lo", "p_on_time_hi"} <= set(frontier.columns):
            row = at.iloc[0]
            answer += (f" There, P(on time) = {_percent_text(row['p_on_time'])} "
                       f"(95% CI {_percent_text(row['p_on_time_lo'])} – {_percent_text(row['p_on_time_hi'])}).")
    else:
        answer = f"No value of {vary} in the range tried reaches {target}."
    doc.para(answer)
    for attribute in ("note", "message", "analytic", "first_guess"):
        value = getattr(plan, attribute, None)
        if isinstance(value, str) and value:
            doc.para(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            doc.para(f"Analytic first guess ({attribute.replace('_', ' ')}): {value:g}")
    doc.table(_frontier_table(plan, tz_name))
    if figures:
        from . import plots

        pngs["fig-frontier.png"] = figure_png(plots.plot_frontier, plan, (9, 4.2))
        doc.figure("fig-frontier.png", pngs["fig-frontier.png"])


def _provenance_section(doc: _Doc, fc: Any, plan: Any, began: float, command: Sequence[str] | None) -> None:
    provenance = dict(getattr(fc, "provenance", None) or getattr(plan, "provenance", None) or {})
    pairs = [("labelsim", str(provenance.get("labelsim_version", __version__)))]
    for key, label in (("seed", "Seed"), ("replications", "Replications"), ("executor", "Executor"),
                       ("jobs", "Jobs"), ("confidence", "Confidence level")):
        if provenance.get(key) is not None:
            pairs.append((label, str(provenance[key])))
    if provenance.get("wall_time_s") is not None:
        pairs.append(("Simulation wall time", f"{float(provenance['wall_time_s']):.2f} s"))
    pairs.append(("Report built in", f"{time.perf_counter() - began:.2f} s"))
    if command:
        pairs.append(("Command", " ".join(command)))
    doc.heading("Provenance")
    doc.definitions(pairs)


# ---------------------------------------------------------------------------- rendering


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _render_markdown(doc: _Doc) -> str:
    out = [f"# {doc.title}", ""]
    for kind, content in doc.blocks:
        if kind == "h2":
            out += [f"## {content}", ""]
        elif kind == "p":
            out += [content, ""]
        elif kind == "ul":
            out += [f"- {line}" for line in content] + [""]
        elif kind == "dl":
            out += ["| | |", "|---|---|"] + [f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in content] + [""]
        elif kind == "table":
            table: _Table = content
            out += [f"**{table.caption}**", ""]
            out.append("| " + " | ".join(_md_cell(c) for c in table.columns) + " |")
            out.append("|" + "|".join("---" for _ in table.columns) + "|")
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
            out.append("")
            if table.note:
                out += [f"*{table.note}*", ""]
        elif kind == "figure":
            name, _ = content
            out += [f"![{_CAPTIONS.get(name, name)}]({name})", "", f"*{_CAPTIONS.get(name, '')}*", ""]
    return "\n".join(out).rstrip() + "\n"


def _inline_markup(text: str) -> str:
    """HTML-escape, then turn ``**bold**`` into <strong>."""
    parts = html.escape(text).split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


def _html_table(table: _Table) -> str:
    head = []
    for i, column in enumerate(table.columns):
        if i in table.sort:
            head.append(f'<th data-sort="{table.sort[i]}" data-col="{i}" tabindex="0" role="button" '
                        f'title="sort by {html.escape(column)}">{html.escape(column)}<span class="arrow"></span></th>')
        else:
            head.append(f"<th>{html.escape(column)}</th>")
    body = []
    for r, row in enumerate(table.rows):
        cells = []
        for i, cell in enumerate(row):
            key = table.keys[r][i] if table.keys and i in table.sort else None
            attribute = ""
            if key is not None:
                value = "Infinity" if isinstance(key, float) and math.isinf(key) else key
                attribute = f' data-key="{html.escape(str(value))}"'
            # keep a date and time on one line
            text = re.sub(r"((?:\d{4}-)?\d\d-\d\d \d\d:\d\d)", r'<span class="t">\1</span>', html.escape(cell))
            cells.append(f"<td{attribute}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    sortable = " sortable" if table.sort else ""
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (f'<div class="table-wrap"><table id="{table.id}" class="data{sortable}">'
            f"<caption>{html.escape(table.caption)}</caption><thead><tr>{''.join(head)}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>{note}")


_CSS = """
:root { --ink: #1b1f24; --muted: #5b6470; --line: #d8dde3; --band: #f5f7f9; --accent: #08519c; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0; background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.7em; margin: 0 0 4px; }
h2 { font-size: 1.25em; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
p.sub { color: var(--muted); margin: 0 0 12px; }
p.note { color: var(--muted); font-size: 0.85em; margin: 4px 0 14px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; }
.table-wrap { overflow-x: auto; }
table.data { border-collapse: collapse; width: 100%; font-size: 0.86em; font-variant-numeric: tabular-nums; }
table.data caption { text-align: left; font-weight: 600; padding: 4px 0 6px; }
table.data th, table.data td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left;
                               vertical-align: top; }
table.data td:nth-child(-n+2) { white-space: nowrap; }
table.data thead th { background: var(--band); border-bottom: 2px solid var(--line); }
table.data tbody tr:nth-child(even) { background: #fbfcfd; }
th[data-sort] { cursor: pointer; color: var(--accent); }
th[data-sort]:hover, th[data-sort]:focus { text-decoration: underline; outline: none; }
th .arrow::after { content: " \\2195"; color: #9aa4ae; }
th.asc .arrow::after { content: " \\25B2"; color: var(--accent); }
th.desc .arrow::after { content: " \\25BC"; color: var(--accent); }
ul.risks li { margin: 3px 0; }
figure { margin: 18px 0 26px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 0.88em; margin-top: 4px; }
pre#selftest { display: none; }
span.t { white-space: nowrap; }
@media print {
  @page { size: A4; margin: 12mm; }
  body { font-size: 10pt; }
  table.data th, table.data td { padding: 3px 4px; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table.data { font-size: 7.5pt; }
  .table-wrap { overflow: visible; }
  table.data td:nth-child(-n+2) { white-space: normal; }
  tr, figure, dl { break-inside: avoid; page-break-inside: avoid; }
  th .arrow::after { content: ""; }
  th[data-sort] { color: var(--ink); }
  figure img { border: none; }
  a { color: inherit; text-decoration: none; }
}
"""

# Sorting on a header click (chronological for ETAs: the cells carry epoch seconds), and a self-test
# hook for the browser test: with #selftest in the URL, sort by ETA and write what happened into
# <pre id="selftest"> (JSON: the order of names, each image's natural width).
_JS = """
(function () {
  function sortBy(th, direction) {
    var table = th.closest('table'), col = +th.dataset.col, numeric = th.dataset.sort === 'number';
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    var key = function (row) {
      var cell = row.cells[col], raw = cell.getAttribute('data-key');
      if (raw === null) { raw = cell.textContent; }
      return numeric ? parseFloat(raw) : raw.toLowerCase();
    };
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      if (x === y) { return 0; }
      if (numeric && x === Infinity) { return 1; }
      if (numeric && y === Infinity) { return -1; }
      return (x < y ? -1 : 1) * direction;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.querySelectorAll('th[data-sort]'), function (h) {
      h.classList.remove('asc', 'desc');
    });
    th.classList.add(direction > 0 ? 'asc' : 'desc');
  }
  function toggle(th) { sortBy(th, th.classList.contains('asc') ? -1 : 1); }
  Array.prototype.forEach.call(document.querySelectorAll('th[data-sort]'), function (th) {
    th.addEventListener('click', function () { toggle(th); });
    th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { toggle(th); } });
  });
  function selftest() {
    var out = document.getElementById('selftest'), result = {};
    var eta = document.querySelector('#batches th[data-sort="number"]');
    if (eta) {
      eta.click();
      var col = +eta.dataset.col;
      result.names = Array.prototype.map.call(document.querySelectorAll('#batches tbody tr'), function (r) {
        return r.cells[1].textContent;
      });
      result.eta_keys = Array.prototype.map.call(document.querySelectorAll('#batches tbody tr'), function (r) {
        return r.cells[col].getAttribute('data-key');
      });
    }
    result.images = Array.prototype.map.call(document.images, function (img) { return img.naturalWidth; });
    out.textContent = JSON.stringify(result);
    out.setAttribute('data-done', '1');
  }
  if (location.hash === '#selftest') {
    if (document.readyState === 'complete') { selftest(); } else { window.addEventListener('load', selftest); }
  }
})();
"""


def _render_html(doc: _Doc, tz_name: str) -> str:
    parts = [f"<h1>{html.escape(doc.title)}</h1>",
             f'<p class="sub">labelsim report · times in {html.escape(tz_name)}</p>']
    for kind, content in doc.blocks:
        if kind == "h2":
            parts.append(f"<h2>{html.escape(content)}</h2>")
        elif kind == "p":
            parts.append(f"<p>{_inline_markup(content)}</p>")
        elif kind == "ul":
            parts.append('<ul class="risks">' + "".join(f"<li>{_inline_markup(x)}</li>" for x in content) + "</ul>")
        elif kind == "dl":
            parts.append("<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in content)
                         + "</dl>")
        elif kind == "table":
            parts.append(_html_table(content))
        elif kind == "figure":
            name, png = content
            data = base64.b64encode(png).decode("ascii")
            caption = _CAPTIONS.get(name, name)
            parts.append(f'<figure id="{html.escape(name.removesuffix(".png"))}"><img alt="{html.escape(caption)}" '
                         f'src="data:image/png;base64,{data}"><figcaption>{html.escape(caption)}</figcaption></figure>')
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # nothing may be fetched: the page is complete in itself (inline style, script and data: images)
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        'style-src \'unsafe-inline\'; script-src \'unsafe-inline\'">\n'
        f"<title>{html.escape(doc.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n{body}\n"
        '<pre id="selftest"></pre>\n</main>\n'
        f"<script>{_JS}</script>\n</body>\n</html>\n"
    )
