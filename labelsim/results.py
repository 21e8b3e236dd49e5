"""Tidy result frames and their documented schemas (layer 3).

:func:`build_result` turns a model run's plain records into pandas frames.
Every frame's columns are listed in :data:`SCHEMAS` (name, dtype, meaning);
tests check that the frames match.  Conventions: ``*_at`` columns are
tz-aware timestamps in the scenario's time zone (NaT = did not happen within
the run), ``*_s`` durations in seconds, ``*_usd`` money in USD, statuses in
the platform's words.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any, cast

import numpy as np
import pandas as pd

from ._version import __version__
from .logs import LOG_SCHEMAS
from .model import RawRun
from .scenario import Scenario
from .vocabulary import LEDGER_KINDS, OUTCOME_NAMES, OUTCOME_WORDS, SUBMITTED

__all__ = ["RUN_FRAMES", "SCHEMAS", "SimulationResult", "build_result", "check_schema"]

_TS = "datetime64[ns, tz]"

#: frame name -> ordered list of (column, dtype, meaning).
SCHEMAS: dict[str, list[tuple[str, str, str]]] = {
    "batches": [
        ("project", "object", "project name"),
        ("batch", "object", "batch name"),
        ("labeling_queue", "int64", "labeling queue at the end (1 highest .. 5 lowest)"),
        ("status", "object", "status at the end of the run, in the platform's words"),
        ("items", "int64", "items in the batch (uploaded or uploading) at the end"),
        ("labeled_items", "int64", "items that received their full overlap"),
        ("remaining_items", "int64", "items - labeled_items"),
        ("submitted", "int64", "submitted (paid) assignments, including before the start"),
        ("expired", "int64", "assignments that expired (abandoned or over the time limit)"),
        ("skipped", "int64", "assignments returned at once by the performer"),
        ("rejected", "int64", "submitted assignments rejected at review (not paid; their suites were redone)"),
        ("in_flight", "int64", "assignments still reserved at the end of the run"),
        ("spent_usd", "float64", "money charged for this batch during the run (reward + fee)"),
        ("launched_at", _TS, "when it was launched (NaT: not launched, or before the start)"),
        ("started_at", _TS, "when it first entered Processing during the run"),
        ("completed_at", _TS, "when it became Completed (NaT: not within the run)"),
        ("eta", _TS, "estimated completion in this simulated future (= completed_at)"),
        ("opening_status", "object", "status at the start of the run (a batch New, Loading or Queued then "
         "has its expected start in started_at)"),
        ("n_upload_requests", "int64", "upload requests (at most 10,000 items each) that loaded its items: "
         "`items` (the unlabeled ones for a batch starting with a `state`) and every add_items; streams not counted"),
    ],
    "status_timeline": [
        ("project", "object", "project name"),
        ("batch", "object", "batch name"),
        ("status", "object", "status during the interval"),
        ("start_at", _TS, "when the batch entered the status"),
        ("end_at", _TS, "when it left it (NaT: still in it at the end of the run)"),
    ],
    "assignments": [
        ("project", "category", "project name"),
        ("batch", "category", "batch name"),
        ("suite", "int64", "task suite number within the batch (0-based)"),
        ("performer", "category", "performer name ('(before start)' for in-flight work at the start)"),
        ("group", "category", "performer group"),
        ("available_at", _TS, "when the suite entered the pool (upload, launch, or return)"),
        ("reserved_at", _TS, "when the performer took it (the price is locked then)"),
        ("ended_at", _TS, "when it was submitted, expired or skipped (NaT: in flight at the end)"),
        ("outcome", "category", "submitted | expired | skipped | in_flight | rejected (submitted, then rejected)"),
        ("wait_s", "float64", "reserved_at - available_at, seconds"),
        ("reward_usd", "float64", "reward (paid only if submitted and, under review, accepted)"),
        ("fee_usd", "float64", "platform fee (paid with the reward)"),
        ("review", "category", "accepted | rejected | pending (not reviewed by the end) | none (no review)"),
        ("reviewed_at", _TS, "when the verdict came and the money was charged or released (NaT: none, pending)"),
    ],
    "ledger": [
        ("at", _TS, "when the money moved"),
        ("kind", "object", "opening | top_up | reserve | release | charge"),
        ("project", "object", "project of the assignment (empty for opening and top_up)"),
        ("batch", "object", "batch of the assignment (empty for opening and top_up)"),
        ("amount_usd", "float64", "amount moved (≥ 0); the kind says in which direction"),
        ("balance_usd", "float64", "account balance after the row"),
        ("reserved_usd", "float64", "reserved money after the row"),
        ("available_usd", "float64", "balance_usd - reserved_usd"),
    ],
    "progress": [
        ("at", _TS, "sampling time (regular grid, plus the end of the run)"),
        ("project", "object", "project name"),
        ("batch", "object", "batch name"),
        ("labeled_items", "int64", "items with their full overlap"),
        ("in_flight", "int64", "assignments reserved"),
        ("remaining_items", "int64", "items without their full overlap"),
    ],
    "performers": [
        ("performer", "object", "performer name"),
        ("group", "object", "performer group"),
        ("sessions", "int64", "crowd sessions started (0 for team members)"),
        ("assignments", "int64", "assignments taken"),
        ("submitted", "int64", "assignments submitted"),
        ("busy_s", "float64", "seconds holding assignments"),
        ("earned_usd", "float64", "rewards earned (paid: submitted, and accepted under review)"),
        ("banned_at", _TS, "when first banned from a project by its control-task rules (NaT: never)"),
    ],
    "warnings": [
        ("at", _TS, "when the refused or doubtful action happened"),
        ("action", "object", "the action, e.g. pause or archive"),
        ("target", "object", "the batch, project or 'account' it named"),
        ("message", "object", "what the platform would have said"),
    ],
    # ---- forecasts (labelsim.forecast) ----
    "replications": [
        ("replication", "int64", "replication number (0-based); its streams are keyed by it"),
        ("project", "object", "project name"),
        ("batch", "object", "batch name"),
        ("labeling_queue", "int64", "labeling queue at the end"),
        ("status", "object", "status at the end of the run"),
        ("items", "int64", "items in the batch at the end"),
        ("labeled_items", "int64", "items with their full overlap"),
        ("submitted", "int64", "submitted assignments"),
        ("expired", "int64", "expired assignments"),
        ("skipped", "int64", "skipped assignments"),
        ("rejected", "int64", "assignments rejected at review (quality control)"),
        ("mean_overlap", "float64", "assignments the batch needs per suite (dynamic overlap: as decided so far)"),
        ("in_flight", "int64", "assignments reserved at the end"),
        ("spent_usd", "float64", "money charged for the batch during the run"),
        ("launched_at", _TS, "launch time (NaT: not launched, or before the start)"),
        ("started_at", _TS, "first Processing during the run"),
        ("completed_at", _TS, "completion (NaT: not within the run)"),
        ("no_money", "bool", "the batch was No money at some point"),
        ("end_at", _TS, "when the run stopped (horizon or nothing left to do)"),
        ("cost_to_finish_usd", "float64",
         "money the batch's work costs: charged in the run + assignments not yet submitted × cost of one"),
        ("shortfall_usd", "float64",
         "if the batch ends the run No money: cost of its assignments neither submitted nor reserved − the "
         "available balance at the end (money still needed); else 0"),
    ],
    "eta": [
        ("project", "object", "project name"),
        ("batch", "object", "batch name"),
        ("labeling_queue", "int64", "labeling queue (median over replications)"),
        ("items", "int64", "items at the end (median over replications)"),
        ("eta_p10", _TS, "10% of replications complete by then (NaT: not within horizon)"),
        ("eta_p10_ci_low", _TS, "95% confidence interval of eta_p10, low end (NaT: unbounded)"),
        ("eta_p10_ci_high", _TS, "... high end (NaT: later than the horizon or unbounded)"),
        ("eta_p50", _TS, "median ETA"),
        ("eta_p50_ci_low", _TS, "confidence interval of the median ETA, low end"),
        ("eta_p50_ci_high", _TS, "... high end"),
        ("eta_p90", _TS, "90% of replications complete by then"),
        ("eta_p90_ci_low", _TS, "confidence interval of eta_p90, low end"),
        ("eta_p90_ci_high", _TS, "... high end"),
        ("platform_eta", _TS,
         "the platform's own ETA at the start: start + remaining assignments × state.age ÷ completed (submitted) "
         "assignments (NaT: no state.age or nothing completed)"),
        ("p_complete", "float64", "share of replications completing within the horizon"),
        ("start_p50", _TS, "median expected start: first Processing during the run (NaT: not within horizon, "
         "or started before the run)"),
        ("etd_p50", _TS, "same as start_p50 (its name in earlier versions; deprecated)"),
        ("opening_status", "object", "status at the start: the batch's state.status, else New (the expected "
         "start applies to New, Loading and Queued)"),
        ("cost_p50_usd", "float64", "median money charged for the batch"),
        ("cost_p90_usd", "float64", "90th percentile of the money charged"),
        ("rejected_mean", "float64", "expected rejected assignments (mean over replications; review)"),
        ("overlap_mean", "float64", "mean overlap: assignments needed per suite, averaged over replications"),
        ("cost_per_item_p50_usd", "float64", "median money charged per labeled item (NaN: nothing labeled)"),
        ("p_no_money", "float64", "share of replications in which the batch hit No money"),
        ("cost_to_finish_p50_usd", "float64",
         "median money the batch's remaining work costs, paid in the run or not (charged + not yet submitted × cost)"),
        ("shortfall_p50_usd", "float64",
         "median money still needed, over the replications in which the batch stops for money (0: it never does)"),
        ("p_shortfall", "float64",
         "share of replications in which the batch ends the run No money (stopped for money)"),
        ("replications", "int64", "number of replications"),
    ],
    "project_eta": [
        ("project", "object", "project name"),
        ("eta_p10", _TS, "10% of replications have every expected batch done by then"),
        ("eta_p10_ci_low", _TS, "confidence interval of eta_p10, low end"),
        ("eta_p10_ci_high", _TS, "... high end"),
        ("eta_p50", _TS, "median project ETA"),
        ("eta_p50_ci_low", _TS, "confidence interval of the median, low end"),
        ("eta_p50_ci_high", _TS, "... high end"),
        ("eta_p90", _TS, "90th percentile of the project ETA"),
        ("eta_p90_ci_low", _TS, "confidence interval of eta_p90, low end"),
        ("eta_p90_ci_high", _TS, "... high end"),
        ("p_complete", "float64", "share of replications with the project done within the horizon"),
        ("cost_p50_usd", "float64", "median money charged for the project"),
        ("cost_p90_usd", "float64", "90th percentile of the money charged"),
        ("p_no_money", "float64", "share of replications in which a batch of it hit No money"),
        ("replications", "int64", "number of replications"),
    ],
    "comparison": [
        ("project", "object", "project name"),
        ("batch", "object", "batch name"),
        ("base_eta_p50", _TS, "median ETA of the base"),
        ("variant_eta_p50", _TS, "median ETA of the variant"),
        ("eta_diff_mean_h", "float64", "mean paired difference variant - base of the ETA, hours"),
        ("eta_diff_ci_low_h", "float64", "confidence interval of the mean difference, low end (hours)"),
        ("eta_diff_ci_high_h", "float64", "... high end (hours)"),
        ("eta_diff_median_h", "float64", "median paired difference, hours"),
        ("p_variant_earlier", "float64", "share of replications in which the variant finishes earlier"),
        ("cost_diff_mean_usd", "float64", "mean paired difference of the money charged"),
        ("cost_diff_ci_low_usd", "float64", "confidence interval of the cost difference, low end"),
        ("cost_diff_ci_high_usd", "float64", "... high end"),
        ("base_p_complete", "float64", "share of base replications completing within the horizon"),
        ("variant_p_complete", "float64", "share of variant replications completing within the horizon"),
        ("n_censored", "int64", "pairs with a side not complete (its ETA counted as the horizon)"),
        ("replications", "int64", "number of paired replications"),
        ("verdict", "object", "earlier | later | no clear difference (CI vs 0, and a minimum effect)"),
    ],
}
SCHEMAS["project_comparison"] = [row for row in SCHEMAS["comparison"] if row[0] != "batch"]
# ---- capacity planning (labelsim.plan, labelsim.sweep) ----
SCHEMAS["frontier"] = [
    ("value", "float64", "value of the varied parameter (whole numbers for integer parameters)"),
    ("replications", "int64", "replications run at this value (common random numbers: the same seed at every value)"),
    ("p_on_time", "float64",
     "share of replications meeting the target: every chosen batch Completed by the deadline; for "
     "vary=account.balance: no chosen batch ever No money (and Completed by the deadline when one is given)"),
    ("p_on_time_lo", "float64", "95% Wilson confidence interval of p_on_time, low end"),
    ("p_on_time_hi", "float64", "... high end"),
    ("eta_p50_at", _TS, "median time when every chosen batch is Completed (NaT: not within the horizon)"),
    ("eta_p90_at", _TS, "90th percentile of that time (NaT: not within the horizon)"),
    ("cost_p50_usd", "float64", "median money charged for the chosen batches"),
    ("utilisation", "float64",
     "work of the launched batches ÷ the performers' capacity until the deadline, in assignments (analytic: "
     "a team's on-shift time ÷ mean suite time, a crowd's expected sessions × suites per session); "
     "≥ 1: even the average capacity falls short"),
]
SCHEMAS["sweep"] = [
    ("point", "int64", "grid point (0-based, in the order of the Cartesian product); the varied keys follow as "
     "columns named by the key, then the replications columns"),
    *SCHEMAS["replications"],
]
SCHEMAS["sweep_summary"] = [SCHEMAS["sweep"][0], *SCHEMAS["eta"]]
SCHEMAS.update(LOG_SCHEMAS)  # assignment_log, backtest, backtest_summary (labelsim.logs)
SCHEMAS["calibration_fitted"] = [  # labelsim.calibrate: Calibration.fitted
    ("parameter", "object", "fitted parameter (sessions_per_hour, burst, half_life_h, suites_per_session, ...)"),
    ("value", "float64", "the estimate the calibrated scenario uses (NaN: none, e.g. no limit found)"),
    ("se", "float64", "standard deviation of the parameter draws (bootstrap over performers / posterior)"),
    ("low", "float64", "2.5 % quantile of the draws"),
    ("high", "float64", "97.5 % quantile of the draws"),
    ("unit", "object", "unit of value, se, low and high"),
    ("note", "object", "how it was found, or why it is missing"),
]


#: The frames of one simulated run (the others in :data:`SCHEMAS` belong to forecasts).
RUN_FRAMES: tuple[str, ...] = (
    "batches", "status_timeline", "assignments", "ledger", "progress", "performers", "warnings",
)


class SimulationResult:
    """The outcome of one simulated run: frames, warnings, money and provenance.

    The frames (``batches``, ``status_timeline``, ``assignments``, ``ledger``,
    ``progress``, ``performers``, ``warnings``; columns in :data:`SCHEMAS`) are
    built from the run's records the first time they are read.

    Attributes:
        scenario: the scenario simulated.
        raw: the model's plain records (simulation seconds, micro-USD).
        provenance: scenario name, seed entropy, labelsim version, wall time…
        money: opening/closing balance, reserved, top-ups and spend (USD).
    """

    def __init__(self, raw: RawRun, scenario: Scenario, provenance: dict[str, Any]) -> None:
        self.raw = raw
        self.scenario = scenario
        self.provenance = provenance
        self.money: dict[str, float] = _money(raw)
        self.start = pd.Timestamp(scenario.start).tz_convert(scenario.timezone)

    def __repr__(self) -> str:
        return (
            f"<SimulationResult {self.scenario.name!r} seed={self.provenance.get('seed')} "
            f"batches={len(self.raw.batch_keys)} assignments={len(self.raw.table())}>"
        )

    @cached_property
    def batches(self) -> pd.DataFrame:
        """One row per batch: final status, counts, spend, timestamps and ETA."""
        return _batches(self.raw, self.start)

    @cached_property
    def status_timeline(self) -> pd.DataFrame:
        """One row per interval a batch spent in a status."""
        return _timeline(self.raw, self.start)

    @cached_property
    def assignments(self) -> pd.DataFrame:
        """One row per assignment (including those in flight at the end)."""
        return _assignments(self.raw, self.start, self._table, self._reviews)

    @cached_property
    def _table(self) -> np.ndarray:
        return _assignment_table(self.raw)

    @cached_property
    def _reviews(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        return _review_columns(self.raw)

    @cached_property
    def ledger(self) -> pd.DataFrame:
        """Every money movement with running balance and reserved totals."""
        return _ledger(self.raw, self.start, self._table, self._reviews)

    @cached_property
    def progress(self) -> pd.DataFrame:
        """Labeled, in-flight and remaining items per batch on a regular grid."""
        return _progress(self.raw, self.start)

    @cached_property
    def performers(self) -> pd.DataFrame:
        """Sessions, assignments, busy time, earnings and bans per performer."""
        return _performers(self.raw, self.assignments, self.start)

    @cached_property
    def warnings(self) -> pd.DataFrame:
        """Requester actions the platform would have refused, with their time."""
        return _warnings(self.raw, self.start)

    def frames(self) -> dict[str, pd.DataFrame]:
        """The run's frames by name (:data:`RUN_FRAMES`)."""
        return {name: getattr(self, name) for name in RUN_FRAMES}


def _stamps(start: pd.Timestamp, seconds: np.ndarray | list[float]) -> pd.DatetimeIndex:
    values = np.asarray(seconds, dtype=float)
    return pd.DatetimeIndex(start + pd.to_timedelta(values, unit="s"))


def _stamp(start: pd.Timestamp, seconds: float) -> pd.Timestamp:
    return cast(pd.Timestamp, pd.NaT) if math.isnan(seconds) else start + pd.to_timedelta(seconds, unit="s")


def build_result(
    raw: RawRun,
    scenario: Scenario,
    *,
    seed_entropy: int,
    wall_time_s: float,
    replication_key: tuple[int, ...] = (),
) -> SimulationResult:
    """Wrap the records of one run in a :class:`SimulationResult` with its provenance."""
    start = pd.Timestamp(scenario.start).tz_convert(scenario.timezone)
    provenance = {
        "scenario": scenario.name,
        "seed": seed_entropy,
        "replication_key": list(replication_key),
        "labelsim_version": __version__,
        "wall_time_s": round(wall_time_s, 6),
        "start": start.isoformat(),
        "end": _stamp(start, raw.end_s).isoformat(),
        "horizon_s": raw.horizon_s,
        "stop_reason": raw.stop_reason,
        "simpy_events": raw.events_processed,
        "assignments": len(raw.table()),
    }
    return SimulationResult(raw, scenario, provenance)


def _money(raw: RawRun) -> dict[str, float]:
    top_ups = sum(amount for _, amount in raw.top_ups)
    spent = raw.opening_balance + top_ups - raw.final_balance
    return {
        "opening_balance_usd": raw.opening_balance / 1e6,
        "opening_reserved_usd": raw.opening_reserved / 1e6,
        "top_ups_usd": top_ups / 1e6,
        "spent_usd": spent / 1e6,
        "balance_usd": raw.final_balance / 1e6,
        "reserved_usd": raw.final_reserved / 1e6,
        "available_usd": (raw.final_balance - raw.final_reserved) / 1e6,
    }


def _opening_statuses(raw: RawRun) -> dict[int, str]:
    """Batch index -> its status at the start (the first row of the status log for it)."""
    opening: dict[int, str] = {}
    n = len(raw.batch_keys)
    for _, idx, status in raw.status_log:
        opening.setdefault(idx, status)
        if len(opening) == n:
            break
    return opening


def _batches(raw: RawRun, start: pd.Timestamp) -> pd.DataFrame:
    opening = _opening_statuses(raw)
    rows = []
    for idx, ((project, batch), final) in enumerate(zip(raw.batch_keys, raw.batch_final, strict=True)):
        completed = _stamp(start, final.completed_at)
        rows.append({
            "project": project,
            "batch": batch,
            "labeling_queue": final.labeling_queue,
            "status": final.status,
            "items": final.items,
            "labeled_items": final.labeled_items,
            "remaining_items": final.items - final.labeled_items,
            "submitted": final.submitted,
            "expired": final.expired,
            "skipped": final.skipped,
            "rejected": final.rejected,
            "in_flight": final.in_flight,
            "spent_usd": final.spent / 1e6,
            "launched_at": _stamp(start, final.launched_at),
            "started_at": _stamp(start, final.started_at),
            "completed_at": completed,
            "eta": completed,
            "opening_status": opening.get(idx, final.status),
            "n_upload_requests": final.n_upload_requests,
        })
    frame = pd.DataFrame(rows, columns=[c for c, _, _ in SCHEMAS["batches"]])
    for column in ("launched_at", "started_at", "completed_at", "eta"):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(start.tz)
    return frame


def _timeline(raw: RawRun, start: pd.Timestamp) -> pd.DataFrame:
    """Status intervals ordered by start time, ties in the order the model logged them."""
    rows: list[tuple[int, str, str, str, float, float]] = []
    by_batch: dict[int, list[tuple[int, float, str]]] = {}
    for seq, (t, idx, status) in enumerate(raw.status_log):
        by_batch.setdefault(idx, []).append((seq, t, status))
    for idx, changes in sorted(by_batch.items()):
        project, batch = raw.batch_keys[idx]
        intervals: list[list[Any]] = []
        for k, (seq, t, status) in enumerate(changes):
            end = changes[k + 1][1] if k + 1 < len(changes) else math.nan
            if end == t:
                continue  # passed through within an instant
            if intervals and intervals[-1][1] == status:
                intervals[-1][3] = end
            else:
                intervals.append([seq, status, t, end])
        rows.extend((seq, project, batch, status, t0, t1) for seq, status, t0, t1 in intervals)
    rows.sort(key=lambda row: (row[4], row[0]))
    frame = pd.DataFrame(rows, columns=["seq", "project", "batch", "status", "start_s", "end_s"])
    frame["start_at"] = _stamps(start, frame["start_s"].to_numpy())
    frame["end_at"] = _stamps(start, frame["end_s"].to_numpy())
    return frame.drop(columns=["seq", "start_s", "end_s"])


def _categorical(codes: np.ndarray, labels: list[str]) -> pd.Categorical:
    unique = list(dict.fromkeys(labels))
    position = {label: i for i, label in enumerate(unique)}
    mapping = np.array([position[label] for label in labels] + [0], dtype=np.int64)
    return pd.Categorical.from_codes(mapping[codes], categories=pd.Index(unique))


def _in_end_order(ended: np.ndarray) -> bool:
    """True if ``ended`` (seconds, NaN = unfinished) is non-decreasing with every NaN at the end."""
    done = ~np.isnan(ended)
    if done.all():
        return bool((ended[1:] >= ended[:-1]).all())
    finished = ended[done]
    return bool((done[:-1] >= done[1:]).all() and (finished[1:] >= finished[:-1]).all())


def _assignment_order(raw: RawRun) -> np.ndarray:
    """Positions of the records ordered by reservation then end."""
    table = raw.table()
    if _in_end_order(table[:, 5]):
        # a stable sort by reservation alone keeps the end order within equal reservation times: the same order
        return np.argsort(table[:, 4], kind="stable")
    return np.lexsort((table[:, 5], table[:, 4]))


def _assignment_table(raw: RawRun) -> np.ndarray:
    """The assignment records ordered by reservation then end (columns :data:`RECORD_FIELDS`)."""
    return np.take(raw.table(), _assignment_order(raw), axis=0)


def _record_costs(raw: RawRun, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reward and fee (micro-USD) of each record: its batch's, or its suite's under a price per item."""
    batch_idx = table[:, 0].astype(np.int64)
    rewards = np.array([r for r, _ in raw.costs] + [0], dtype=np.int64)[batch_idx]
    fees = np.array([f for _, f in raw.costs] + [0], dtype=np.int64)[batch_idx]
    if raw.suite_costs:
        suites = table[:, 1].astype(np.int64)
        for (idx, sid), (reward, fee) in raw.suite_costs.items():
            rows = (batch_idx == idx) & (suites == sid)
            rewards[rows], fees[rows] = reward, fee
    return rewards, fees


#: Review verdict codes of ``RawRun.reviews`` (labelsim.model.qc) -> words; -1: not reviewed.
_REVIEW_WORDS = ("none", "rejected", "accepted", "pending")


def _review_columns(raw: RawRun) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Per record in :func:`_assignment_table`'s order: verdict code (-1 none), verdict time, verdict
    money sequence; None when nothing was reviewed."""
    if not raw.reviews:
        return None
    n = len(raw.table())
    verdict = np.full(n, -1, dtype=np.int64)
    at = np.full(n, np.nan)
    seq = np.full(n, np.nan)
    rows = np.array([r[0] for r in raw.reviews], dtype=np.int64)
    verdict[rows] = [r[2] for r in raw.reviews]
    at[rows] = [r[1] for r in raw.reviews]
    seq[rows] = [r[3] for r in raw.reviews]
    order = _assignment_order(raw)
    return verdict[order], at[order], seq[order]


def _assignments(
    raw: RawRun, start: pd.Timestamp, table: np.ndarray, reviews: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
) -> pd.DataFrame:
    batch_idx = table[:, 0].astype(np.int64)
    known = np.array(sorted(raw.performer_names), dtype=np.int64)
    pids = table[:, 2].astype(np.int64)
    if len(pids):  # position of each performer id in ``known``, by a lookup table over the ids' range
        low = int(pids.min())
        pid_pos = np.searchsorted(known, np.arange(low, int(pids.max()) + 1))[pids - low]
    else:
        pid_pos = np.searchsorted(known, pids)
    rewards, fees = _record_costs(raw, table)
    outcome_labels = list(OUTCOME_WORDS)
    outcome_codes = np.array([outcome_labels.index(OUTCOME_NAMES[k]) for k in sorted(OUTCOME_NAMES)])
    n = len(table)
    if reviews is None:  # no review in the run: every row "none", NaT (built cheaply)
        review_codes = np.zeros(n, dtype=np.int8)
        reviewed_at = pd.DatetimeIndex(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")).tz_localize(start.tz)
    else:
        review_codes = (reviews[0] + 1).astype(np.int8)
        reviewed_at = _stamps(start, np.where(reviews[0] == 2, np.nan, reviews[1]))
    return pd.DataFrame({
        "project": _categorical(batch_idx, [p for p, _ in raw.batch_keys]),
        "batch": _categorical(batch_idx, [b for _, b in raw.batch_keys]),
        "suite": table[:, 1].astype(np.int64),
        "performer": _categorical(pid_pos, [raw.performer_names[p] for p in known]),
        "group": _categorical(pid_pos, [raw.performer_groups[p] for p in known]),
        "available_at": _stamps(start, table[:, 3]),
        "reserved_at": _stamps(start, table[:, 4]),
        "ended_at": _stamps(start, table[:, 5]),
        "outcome": pd.Categorical.from_codes(
            outcome_codes[table[:, 6].astype(np.int64)], categories=pd.Index(outcome_labels)
        ),
        "wait_s": table[:, 4] - table[:, 3],
        "reward_usd": rewards / 1e6,
        "fee_usd": fees / 1e6,
        "review": pd.Categorical.from_codes(review_codes, categories=pd.Index(list(_REVIEW_WORDS))),
        "reviewed_at": reviewed_at,
    }, copy=False)


def _ledger(
    raw: RawRun, start: pd.Timestamp, table: np.ndarray, reviews: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
) -> pd.DataFrame:
    """Money movements derived from the assignment records and top-ups, with running totals.

    Rows are in the order the model moved the money (its sequence numbers), so the
    running ``available_usd`` is exactly what the model saw.  Assignments in flight
    at the start were reserved before it: their money is in the opening row.  A reviewed
    submission is charged or released at its verdict; one still pending stays reserved.
    """
    batch_idx = table[:, 0].astype(np.int64)
    reserved_s, ended_s, outcome = table[:, 4], table[:, 5], table[:, 6].astype(np.int64)
    end_seq = table[:, 8]
    if reviews is not None:
        verdict, verdict_s, verdict_seq = reviews
        reviewed = verdict >= 0
        ended_s = np.where(reviewed, verdict_s, ended_s)  # NaN for pending: no charge or release yet
        end_seq = np.where(reviewed, verdict_seq, end_seq)
    rewards, fees = _record_costs(raw, table)
    cost = rewards + fees
    reserve_rows = table[:, 2] >= 0  # performer -1: in flight before the start
    ended = ~np.isnan(ended_s)
    n_top, n_res = len(raw.top_ups), int(reserve_rows.sum())
    kinds = np.concatenate([
        [0], np.full(n_top, 1), np.full(n_res, 2), np.where(outcome[ended] == SUBMITTED, 4, 3),
    ]).astype(np.int64)
    times = np.concatenate([[0.0], [t for t, _ in raw.top_ups], reserved_s[reserve_rows], ended_s[ended]])
    sequence = np.concatenate([[0.0], raw.top_up_seq, table[reserve_rows, 7], end_seq[ended]])
    batches = np.concatenate([[-1], np.full(n_top, -1), batch_idx[reserve_rows], batch_idx[ended]]).astype(np.int64)
    amounts = np.concatenate([
        [raw.opening_balance], [a for _, a in raw.top_ups], cost[reserve_rows], cost[ended],
    ]).astype(np.int64)
    d_balance = np.select([kinds <= 1, kinds == 4], [amounts, -amounts], 0)
    d_reserved = np.select([kinds == 2, kinds >= 3], [amounts, -amounts], 0)
    d_reserved[0] = raw.opening_reserved
    order = np.argsort(sequence, kind="stable")
    balance = np.cumsum(d_balance[order])
    reserved = np.cumsum(d_reserved[order])
    project_names = np.array([p for p, _ in raw.batch_keys] + [""], dtype=object)
    batch_names = np.array([b for _, b in raw.batch_keys] + [""], dtype=object)
    return pd.DataFrame({
        "at": _stamps(start, times[order]),
        "kind": np.array(LEDGER_KINDS, dtype=object)[kinds[order]],
        "project": project_names[batches[order]],
        "batch": batch_names[batches[order]],
        "amount_usd": amounts[order] / 1e6,
        "balance_usd": balance / 1e6,
        "reserved_usd": reserved / 1e6,
        "available_usd": (balance - reserved) / 1e6,
    })


def _progress(raw: RawRun, start: pd.Timestamp) -> pd.DataFrame:
    table = np.array(raw.progress, dtype=float).reshape(-1, 5)
    idx = table[:, 1].astype(np.int64)
    return pd.DataFrame({
        "at": _stamps(start, table[:, 0]),
        "project": np.array([p for p, _ in raw.batch_keys], dtype=object)[idx],
        "batch": np.array([b for _, b in raw.batch_keys], dtype=object)[idx],
        "labeled_items": table[:, 2].astype(np.int64),
        "in_flight": table[:, 3].astype(np.int64),
        "remaining_items": table[:, 4].astype(np.int64),
    })


def _performers(raw: RawRun, assignments: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    columns = [c for c, _, _ in SCHEMAS["performers"]]
    frame = assignments.assign(
        busy_s=(assignments["ended_at"] - assignments["reserved_at"]).dt.total_seconds(),
        is_submitted=assignments["outcome"] == "submitted",
    )
    frame["busy_s"] = frame["busy_s"].fillna(0.0)
    paid = frame["is_submitted"] & (frame["review"] != "pending")
    frame["earned_usd"] = np.where(paid, frame["reward_usd"], 0.0)
    grouped = frame.groupby("performer", observed=True).agg(
        assignments=("suite", "size"),
        submitted=("is_submitted", "sum"),
        busy_s=("busy_s", "sum"),
        earned_usd=("earned_usd", "sum"),
    )
    banned: dict[int, float] = {}
    for t, pid, _, _ in raw.bans:
        banned.setdefault(pid, t)
    rows = []
    for pid, name in sorted(raw.performer_names.items()):
        if pid < 0 and name not in grouped.index:
            continue
        if name in grouped.index:
            stats = grouped.loc[name]
            n, n_sub = int(stats["assignments"]), int(stats["submitted"])
            busy, earned = float(stats["busy_s"]), float(stats["earned_usd"])
        else:
            n, n_sub, busy, earned = 0, 0, 0.0, 0.0
        rows.append((name, raw.performer_groups[pid], raw.sessions.get(pid, 0), n, n_sub, busy, earned,
                     banned.get(pid, math.nan)))
    frame = pd.DataFrame(rows, columns=columns)
    frame["banned_at"] = _stamps(start, frame["banned_at"].to_numpy(dtype=float))
    dtypes = {"sessions": "int64", "assignments": "int64", "submitted": "int64", "busy_s": "float64",
              "earned_usd": "float64"}
    return frame.astype(dtypes)


def _warnings(raw: RawRun, start: pd.Timestamp) -> pd.DataFrame:
    frame = pd.DataFrame(raw.warnings, columns=["t", "action", "target", "message"])
    frame.insert(0, "at", _stamps(start, frame["t"].to_numpy()))
    return frame.drop(columns=["t"])


def check_schema(frame: pd.DataFrame, name: str) -> list[str]:
    """Differences between ``frame`` and the documented schema ``name`` (empty = matches)."""
    problems = []
    expected = SCHEMAS[name]
    if list(frame.columns) != [c for c, _, _ in expected]:
        problems.append(f"{name}: columns {list(frame.columns)} != {[c for c, _, _ in expected]}")
        return problems
    for column, dtype, _ in expected:
        actual = frame[column].dtype
        if dtype == _TS:
            ok = isinstance(actual, pd.DatetimeTZDtype)
        elif dtype == "object":
            ok = actual is np.dtype(object) or pd.api.types.is_string_dtype(actual)
        else:
            ok = str(actual) == dtype
        if not ok:
            problems.append(f"{name}.{column}: dtype {actual} != {dtype}")
    return problems
