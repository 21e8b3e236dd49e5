"""ETA forecasts with uncertainty and what-if comparisons (layer 5).

:func:`forecast` runs many independent replications of a scenario and reports,
per batch and per project, quantiles of the completion time (P10/P50/P90) with
distribution-free confidence intervals, the chance of finishing within the
horizon, the cost and the chance of running out of money.  :func:`compare`
runs a base and a variant on common random numbers (replication ``r`` uses the
same random streams on both sides) and reports paired differences.

Replications that do not finish a batch within the horizon count as "later
than the horizon": a quantile that falls among them is NaT (not within horizon).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
import pandas as pd

from ._version import __version__
from .engine import REPLICATION_FIELDS, ExecutorLike, ProgressFn, Replications, as_scenario, replicate
from .results import SCHEMAS, SimulationResult, build_result
from .scenario import Batch, LabelsimError, Scenario
from .theory import platform_formula_remaining_s
from .units import parse_duration
from .vocabulary import ARCHIVE, NEW, NOT_EXPECTED

__all__ = [
    "Comparison",
    "Forecast",
    "compare",
    "forecast",
    "min_effect_h",
    "parse_precision",
    "platform_formula_eta",
    "quantile_ci",
    "replicate_to_precision",
    "replications_frame",
]

QUANTILES = (0.1, 0.5, 0.9)
#: The smallest ETA change :func:`compare` calls "earlier" or "later": the mean paired change must be at least
#: ``MIN_EFFECT_S`` seconds and ``MIN_EFFECT_FRACTION`` of the base's mean time to finish (whichever is larger),
#: besides its confidence interval excluding 0.  Anything smaller is "no clear difference".
MIN_EFFECT_S = 60.0
MIN_EFFECT_FRACTION = 0.005
#: Statuses at the end of a run for which a batch is no longer expected to finish.
_ABANDONED = NOT_EXPECTED


# --------------------------------------------------------------------------- statistics


def _binom_cdf(k: np.ndarray, n: int, p: float) -> np.ndarray:
    """P(B ≤ k) for B ~ Binomial(n, p), for an array of k in 0..n."""
    ks = np.arange(n + 1)
    log_pmf = (
        np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in ks])
        + ks * math.log(p)
        + (n - ks) * math.log1p(-p)
    )
    cdf = np.cumsum(np.exp(log_pmf - log_pmf.max()))
    cdf /= cdf[-1]
    return cdf[np.asarray(k)]


def quantile_ci(values: np.ndarray, q: float, confidence: float = 0.95) -> tuple[float, float, float]:
    """The ``q`` quantile of ``values`` and a distribution-free confidence interval.

    The estimate is the order statistic x_(⌈nq⌉); the interval [x_(l), x_(u)]
    uses binomial ranks so that it covers the true quantile with probability ≥
    ``confidence`` (an order-statistics interval; no distribution assumed).
    ``inf`` values (censored: beyond the horizon) sort last; an end that falls
    outside the sample is ``nan`` (unbounded) — ``inf`` means "later".
    """
    data = np.sort(np.asarray(values, dtype=float))
    n = len(data)
    if n == 0:
        return math.nan, math.nan, math.nan
    estimate = data[max(1, math.ceil(n * q)) - 1]
    alpha = 1.0 - confidence
    cdf = _binom_cdf(np.arange(n + 1), n, q)
    # lower rank l: largest l with P(B <= l-1) <= alpha/2; upper rank u: smallest u with P(B <= u-1) >= 1-alpha/2
    lower_candidates = np.nonzero(cdf[:n] <= alpha / 2)[0]
    upper_candidates = np.nonzero(cdf[:n] >= 1 - alpha / 2)[0]
    low = data[lower_candidates[-1]] if len(lower_candidates) else -math.inf
    high = data[upper_candidates[0]] if len(upper_candidates) else math.inf
    return float(estimate), float(low), float(high)


def _t_quantile(confidence: float, df: int) -> float:
    """Two-sided Student t critical value (Cornish-Fisher expansion; exact enough for df ≥ 3)."""
    z = _normal_quantile(0.5 + confidence / 2)
    if df <= 0:
        return math.inf
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + g1 / df + g2 / df**2 + g3 / df**3


def _normal_quantile(p: float) -> float:
    """Inverse standard normal CDF, by bisection on ``erfc`` (exact to double precision)."""
    lo, hi = -10.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if 0.5 * math.erfc(-mid / math.sqrt(2)) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _mean_ci(values: np.ndarray, confidence: float) -> tuple[float, float, float]:
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.mean(values))
    if n == 1:
        return mean, -math.inf, math.inf
    half = _t_quantile(confidence, n - 1) * float(np.std(values, ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


# --------------------------------------------------------------------------- frames


def replications_frame(reps: Replications) -> pd.DataFrame:
    """Long-format per-replication batch rows (schema ``replications`` in :data:`labelsim.SCHEMAS`)."""
    scenario = reps.scenario
    start = pd.Timestamp(scenario.start).tz_convert(scenario.timezone)
    raw = pd.DataFrame(reps.rows, columns=list(REPLICATION_FIELDS))
    keys = [(p.name, b.name) for p, b in scenario.batches()]
    index = raw["batch_index"].to_numpy(dtype=np.int64)

    def stamps(column: str) -> pd.Series:
        return start + pd.to_timedelta(raw[column].astype(float), unit="s")

    return pd.DataFrame({
        "replication": raw["replication"].astype(np.int64),
        "project": np.array([k[0] for k in keys], dtype=object)[index],
        "batch": np.array([k[1] for k in keys], dtype=object)[index],
        "labeling_queue": raw["labeling_queue"].astype(np.int64),
        "status": raw["status"].astype(object),
        "items": raw["items"].astype(np.int64),
        "labeled_items": raw["labeled_items"].astype(np.int64),
        "submitted": raw["submitted"].astype(np.int64),
        "expired": raw["expired"].astype(np.int64),
        "skipped": raw["skipped"].astype(np.int64),
        "rejected": raw["rejected"].astype(np.int64),
        "mean_overlap": raw["mean_overlap"].astype(float),
        "in_flight": raw["in_flight"].astype(np.int64),
        "spent_usd": raw["spent_micro"].astype(float) / 1e6,
        "launched_at": stamps("launched_s"),
        "started_at": stamps("started_s"),
        "completed_at": stamps("completed_s"),
        "no_money": raw["no_money"].astype(bool),
        "end_at": stamps("end_s"),
        **_money_to_finish(raw),
    })


def _money_to_finish(raw: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per row: what the batch's whole work costs, and the money still needed when it stops for money.

    ``cost_to_finish_usd`` = money charged in the run + the assignments not yet
    submitted × the cost of one (whether or not they are paid in the run);
    ``shortfall_usd`` = for a batch that ends the run No money, the cost of its
    assignments neither submitted nor reserved minus the account's available balance
    at the end (0 otherwise).
    """
    cost = raw["cost_micro"].to_numpy(dtype=float)
    left = (raw["needed"] - raw["submitted"]).to_numpy(dtype=float)
    unreserved = left - raw["in_flight"].to_numpy(dtype=float)
    stopped = (raw["status"] == "No money").to_numpy()
    available = raw["available_micro"].to_numpy(dtype=float)
    shortfall = np.where(stopped, np.maximum(0.0, unreserved * cost - available), 0.0)
    return {
        "cost_to_finish_usd": (raw["spent_micro"].to_numpy(dtype=float) + left * cost) / 1e6,
        "shortfall_usd": shortfall / 1e6,
    }


def _seconds(series: pd.Series, start: pd.Timestamp) -> np.ndarray:
    return (series - start).dt.total_seconds().to_numpy(dtype=float)


def _eta_columns(done_s: np.ndarray, start: pd.Timestamp, confidence: float) -> dict[str, Any]:
    """ETA quantiles (with CIs) of completion seconds; NaN = not complete (censored)."""
    censored = np.where(np.isnan(done_s), np.inf, done_s)
    columns: dict[str, Any] = {}
    for q in QUANTILES:
        estimate, low, high = quantile_ci(censored, q, confidence)
        tag = f"eta_p{round(q * 100)}"
        columns[tag] = _to_stamp(start, estimate)
        columns[f"{tag}_ci_low"] = _to_stamp(start, low)
        columns[f"{tag}_ci_high"] = _to_stamp(start, high)
    columns["p_complete"] = float(np.mean(~np.isnan(done_s))) if len(done_s) else math.nan
    return columns


def _to_stamp(start: pd.Timestamp, seconds: float) -> pd.Timestamp:
    return start + pd.to_timedelta(seconds, unit="s") if math.isfinite(seconds) else cast(pd.Timestamp, pd.NaT)


def _opening_statuses(scenario: Scenario) -> dict[tuple[str, str], str]:
    """``(project, batch)`` -> its status at the start: ``state.status``, else New."""
    return {(p.name, b.name): b.state.status if b.state is not None else NEW for p, b in scenario.batches()}


def _batch_eta(
    frame: pd.DataFrame, start: pd.Timestamp, confidence: float, opening: dict[tuple[str, str], str] | None = None,
) -> pd.DataFrame:
    rows = []
    for (project, batch), group in frame.groupby(["project", "batch"], sort=False):
        done_s = _seconds(group["completed_at"], start)
        started_s = _seconds(group["started_at"], start)
        started = np.where(np.isnan(started_s), np.inf, started_s)
        row: dict[str, Any] = {
            "project": project,
            "batch": batch,
            "labeling_queue": int(group["labeling_queue"].median()),
            "items": int(group["items"].median()),
        }
        row.update(_eta_columns(done_s, start, confidence))
        row["start_p50"] = row["etd_p50"] = _to_stamp(start, quantile_ci(started, 0.5, confidence)[0])
        row["opening_status"] = (opening or {}).get((str(project), str(batch)), NEW)
        row["cost_p50_usd"] = float(np.quantile(group["spent_usd"], 0.5, method="inverted_cdf"))
        row["cost_p90_usd"] = float(np.quantile(group["spent_usd"], 0.9, method="inverted_cdf"))
        row.update(_quality_columns(group))
        row["p_no_money"] = float(group["no_money"].mean())
        row["cost_to_finish_p50_usd"] = float(np.quantile(group["cost_to_finish_usd"], 0.5, method="inverted_cdf"))
        stopped = (group["status"] == "No money").to_numpy()
        row["p_shortfall"] = float(stopped.mean())
        shortfall = group["shortfall_usd"].to_numpy(dtype=float)[stopped]
        row["shortfall_p50_usd"] = float(np.quantile(shortfall, 0.5, method="inverted_cdf")) if stopped.any() else 0.0
        row["replications"] = len(group)
        rows.append(row)
    return _typed(pd.DataFrame(rows), "eta", start.tz)


def _quality_columns(group: pd.DataFrame) -> dict[str, float]:
    """Quality control per batch: mean rejections, mean overlap, median cost per labeled item."""
    labeled = group["labeled_items"].to_numpy(dtype=float)
    per_item = group["spent_usd"].to_numpy(dtype=float)[labeled > 0] / labeled[labeled > 0]
    overlap = group["mean_overlap"].to_numpy(dtype=float)
    cost = float(np.quantile(per_item, 0.5, method="inverted_cdf")) if len(per_item) else math.nan
    return {
        "rejected_mean": float(group["rejected"].mean()),
        "overlap_mean": float(np.nanmean(overlap)) if np.isfinite(overlap).any() else math.nan,
        "cost_per_item_p50_usd": cost,
    }


def project_completion(frame: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """Per (replication, project): when all its batches still expected to finish had finished.

    Batches that end the run New, Canceled or Error, or archived unfinished, are
    not waited for; a project with an unfinished batch is not complete (NaT).
    """
    expected = ~(frame["status"].isin(_ABANDONED) | ((frame["status"] == ARCHIVE) & frame["completed_at"].isna()))
    done_s = _seconds(frame["completed_at"], start)
    work = pd.DataFrame({
        "replication": frame["replication"],
        "project": frame["project"],
        "done_s": np.where(expected, np.where(np.isnan(done_s), np.inf, done_s), -np.inf),
        "spent_usd": frame["spent_usd"],
        "no_money": frame["no_money"],
    })
    grouped = work.groupby(["replication", "project"], sort=False).agg(
        done_s=("done_s", "max"), spent_usd=("spent_usd", "sum"), no_money=("no_money", "any")
    )
    grouped["done_s"] = grouped["done_s"].replace([np.inf, -np.inf], np.nan)
    return grouped.reset_index()


def _project_eta(frame: pd.DataFrame, start: pd.Timestamp, confidence: float) -> pd.DataFrame:
    per_rep = project_completion(frame, start)
    rows = []
    for project, group in per_rep.groupby("project", sort=False):
        row: dict[str, Any] = {"project": project}
        row.update(_eta_columns(group["done_s"].to_numpy(dtype=float), start, confidence))
        row["cost_p50_usd"] = float(np.quantile(group["spent_usd"], 0.5, method="inverted_cdf"))
        row["cost_p90_usd"] = float(np.quantile(group["spent_usd"], 0.9, method="inverted_cdf"))
        row["p_no_money"] = float(group["no_money"].mean())
        row["replications"] = len(group)
        rows.append(row)
    return _typed(pd.DataFrame(rows), "project_eta", start.tz)


def _typed(frame: pd.DataFrame, name: str, tz: Any) -> pd.DataFrame:
    """Columns in the documented order and dtypes (timestamps tz-aware even when all NaT)."""
    columns = [c for c, _, _ in SCHEMAS[name]]
    frame = frame.reindex(columns=columns)
    for column, dtype, _ in SCHEMAS[name]:
        if dtype.startswith("datetime64"):
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(tz)
        elif dtype in ("int64", "float64", "bool"):
            frame[column] = frame[column].astype(np.dtype(dtype))
    return frame


# --------------------------------------------------------------------------- forecast


@dataclass
class Forecast:
    """ETA distributions of a scenario's batches and projects.

    Attributes:
        eta: one row per batch (schema ``eta``): P10/P50/P90 ETAs with confidence
            intervals, expected start, chance to complete within the horizon,
            cost quantiles, chance of No money, number of replications.
        project_eta: the same per project (when all its batches are done).
        replications: long-format per-replication batch rows (``replication`` column).
        provenance: scenario, seed, replications, executor, jobs, wall time, version.
        runs: every replication as a full :class:`~labelsim.SimulationResult` (only
            with ``keep_runs=True``), in replication order.
    """

    scenario: Scenario
    eta: pd.DataFrame
    project_eta: pd.DataFrame
    replications: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)
    runs: list[SimulationResult] | None = None

    def frames(self) -> dict[str, pd.DataFrame]:
        """The frames by name."""
        return {"eta": self.eta, "project_eta": self.project_eta, "replications": self.replications}


def summarize(reps: Replications, confidence: float = 0.95) -> Forecast:
    """Turn replications into a :class:`Forecast`."""
    scenario = reps.scenario
    start = pd.Timestamp(scenario.start).tz_convert(scenario.timezone)
    frame = replications_frame(reps)
    runs = None
    if reps.runs is not None:
        runs = [
            build_result(raw, scenario.for_replication(r), seed_entropy=reps.entropy, wall_time_s=math.nan,
                         replication_key=(r,))
            for r, raw in enumerate(reps.runs)
        ]
    return Forecast(
        scenario=scenario,
        eta=_with_platform_eta(_batch_eta(frame, start, confidence, _opening_statuses(scenario)), scenario),
        project_eta=_project_eta(frame, start, confidence),
        replications=frame,
        provenance=_provenance(reps, confidence),
        runs=runs,
    )


def _provenance(reps: Replications, confidence: float) -> dict[str, Any]:
    return {
        "scenario": reps.scenario.name,
        "seed": reps.entropy,
        "replications": reps.n,
        "confidence": confidence,
        "executor": reps.executor,
        "jobs": reps.jobs,
        "chunk_size": reps.chunk_size,
        "wall_time_s": round(reps.wall_time_s, 6),
        "replications_per_s": round(reps.n / reps.wall_time_s, 3) if reps.wall_time_s > 0 else None,
        "horizon_s": reps.horizon_s,
        "parameter_draws": len(reps.scenario.parameter_draws),  # replication r ran draw r mod this (0: none)
        "labelsim_version": __version__,
        "scenario_warnings": reps.scenario.lint(reps.horizon_s),
    }


def forecast(
    scenario: Scenario | Mapping[str, Any],
    replications: int = 200,
    seed: int | None = None,
    executor: ExecutorLike = None,
    jobs: int | None = None,
    progress: ProgressFn | None = None,
    *,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    until: str | float | None = None,
    confidence: float = 0.95,
    keep_runs: bool = False,
    precision: str | float | None = None,
    max_replications: int | None = None,
) -> Forecast:
    """Forecast every batch's ETA from ``replications`` independent runs.

    Args:
        scenario: a :class:`~labelsim.scenario.Scenario` or a mapping.
        replications: number of runs (more → tighter confidence intervals).
        seed: root seed (None: fresh, recorded in the provenance).
        executor: ``"serial"``, ``"processes"``, ``"dask"`` or a dask ``Client``
            (see :func:`labelsim.engine.replicate`).
        jobs: parallel workers.
        progress: ``progress(done, total)`` after each chunk of replications.
        scheduler: a dask scheduler address (``tcp://host:8786``) for ``executor="dask"``.
        until: simulate at most this long instead of the horizon.
        confidence: level of the confidence intervals (default 0.95).
        keep_runs: also keep every replication's full result (status timelines,
            assignments, ledger…) in ``Forecast.runs``; costs memory.
        precision: adaptive replications: start with ``replications`` and add more in
            rounds until the 95% confidence interval of every batch's P50 ETA is at most
            this wide (a duration such as ``10m``, or seconds); the provenance says how
            many were used (``replications``) and whether the target was met
            (``precision_met``).
        max_replications: the cap of adaptive replications (default 4000, at least
            ``replications``).
    """
    _check_confidence(confidence)
    common = {"executor": executor, "jobs": jobs, "chunk_size": chunk_size, "scheduler": scheduler,
              "until": until, "keep_runs": keep_runs}
    if precision is None:
        reps = replicate(scenario, replications, seed, progress=progress, **common)
        return summarize(reps, confidence)
    reps, met, rounds = replicate_to_precision(
        as_scenario(scenario), replications, seed, parse_precision(precision), max_replications,
        progress=progress, **common,
    )
    result = summarize(reps, confidence)
    result.provenance.update({
        "precision_s": parse_precision(precision), "precision_met": met, "rounds": rounds,
        "max_replications": _cap(replications, max_replications),
        "p50_ci_width_max_s": _widest_p50_ci(replications_frame(reps), reps.scenario),
    })
    return result


# --------------------------------------------------------------------------- adaptive replications

#: Default cap of adaptive replications.
MAX_REPLICATIONS = 4000


def parse_precision(precision: str | float) -> float:
    """A precision target as seconds (a duration such as ``10m``, or a number of seconds)."""
    is_number = isinstance(precision, (int, float)) and not isinstance(precision, bool)
    try:
        seconds = float(precision) if is_number else parse_duration(precision)
    except ValueError as exc:
        raise LabelsimError(f"precision: {exc}") from None
    if not seconds > 0 or not math.isfinite(seconds):
        raise LabelsimError(f"precision: must be a positive duration such as 10m, got {precision!r}")
    return seconds


def _cap(replications: int, max_replications: int | None) -> int:
    if max_replications is None:
        return max(replications, MAX_REPLICATIONS)
    if isinstance(max_replications, bool) or not isinstance(max_replications, int) or max_replications < 1:
        raise LabelsimError(f"max_replications: must be a positive integer, got {max_replications!r}")
    return max(replications, max_replications)


def _p50_ci_widths(frame: pd.DataFrame, scenario: Scenario, keys: Sequence[str] | None = None) -> list[float]:
    """Width (seconds) of the 95% CI of each batch's P50 ETA; 0 when surely later than the horizon."""
    start = pd.Timestamp(scenario.start).tz_convert(scenario.timezone)
    widths = []
    for (_project, batch), group in frame.groupby(["project", "batch"], sort=False):
        if keys is not None and batch not in keys:
            continue
        done_s = _seconds(group["completed_at"], start)
        estimate, low, high = quantile_ci(np.where(np.isnan(done_s), np.inf, done_s), 0.5, 0.95)
        if math.isinf(estimate) and math.isinf(low):
            widths.append(0.0)  # the median is beyond the horizon with 95% confidence: nothing to refine
        else:
            width = high - low
            widths.append(width if math.isfinite(width) else math.inf)
    return widths


def _widest_p50_ci(frame: pd.DataFrame, scenario: Scenario, keys: Sequence[str] | None = None) -> float:
    widths = _p50_ci_widths(frame, scenario, keys)
    return max(widths) if widths else 0.0


def replicate_to_precision(
    scenario: Scenario,
    replications: int,
    seed: int | None,
    precision_s: float,
    max_replications: int | None = None,
    *,
    batches: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
    **options: Any,
) -> tuple[Replications, bool, int]:
    """Replications in rounds until every batch's P50 ETA has a 95% CI at most ``precision_s`` wide.

    Round one runs ``replications``; each further round adds replications
    ``n, n+1, …`` (same seed: the earlier ones are kept, nothing is rerun), aiming
    at the count the CI's 1/√n shrinkage predicts, at least 25% more, at most the
    cap.  Returns the replications, whether the target was met, and the rounds.
    """
    cap = _cap(replications, max_replications)
    reps = replicate(scenario, replications, seed, progress=progress, **options)
    rounds = 1
    while True:
        width = _widest_p50_ci(replications_frame(reps), scenario, batches)
        if width <= precision_s:
            return reps, True, rounds
        if reps.n >= cap:
            return reps, False, rounds
        ratio = (width / precision_s) ** 2 if math.isfinite(width) else 4.0
        target = min(cap, max(math.ceil(reps.n * 1.25), math.ceil(reps.n * ratio * 1.1)))
        offset = reps.n

        def shifted(done: int, _total: int, offset: int = offset, target: int = target) -> None:
            if progress is not None:
                progress(offset + done, target)

        more = replicate(scenario, target - reps.n, reps.entropy, progress=shifted, first=reps.n, **options)
        reps = _joined(reps, more)
        rounds += 1


def _joined(reps: Replications, more: Replications) -> Replications:
    """Two consecutive sets of replications of one scenario and seed as one."""
    runs = None if reps.runs is None or more.runs is None else [*reps.runs, *more.runs]
    return replace(
        reps, rows=sorted([*reps.rows, *more.rows], key=lambda row: (row[0], row[1])), n=reps.n + more.n,
        wall_time_s=reps.wall_time_s + more.wall_time_s, runs=runs,
    )


def _check_confidence(confidence: float) -> None:
    if not 0.5 <= confidence < 1:
        raise LabelsimError(f"confidence: must be in [0.5, 1), got {confidence!r}")


# --------------------------------------------------------------------------- compare


@dataclass
class Comparison:
    """A what-if comparison on common random numbers.

    Attributes:
        batches: per batch (schema ``comparison``): P50 ETAs of both sides, the
            mean paired difference of the ETA (hours) and of the cost (USD) with
            confidence intervals, and a verdict (earlier / later / no clear difference: a change is
            earlier/later when its confidence interval excludes 0 and its mean is at least
            :data:`MIN_EFFECT_S` and :data:`MIN_EFFECT_FRACTION` of the base's mean time to finish).
        projects: the same per project.
        base, variant: the two forecasts.
    """

    batches: pd.DataFrame
    projects: pd.DataFrame
    base: Forecast
    variant: Forecast
    provenance: dict[str, Any] = field(default_factory=dict)


def compare(
    base: Scenario | Mapping[str, Any],
    variant: Scenario | Mapping[str, Any] | Sequence[str],
    replications: int = 200,
    seed: int | None = None,
    executor: ExecutorLike = None,
    jobs: int | None = None,
    progress: ProgressFn | None = None,
    *,
    scheduler: str | None = None,
    until: str | float | None = None,
    confidence: float = 0.95,
) -> Comparison:
    """Compare a variant with the base on common random numbers.

    Replication ``r`` of both sides uses the same random streams (one per
    source, keyed by name), so differences come from the change, not from the
    noise.  ETAs not within the horizon are censored at the horizon for the
    paired differences (``n_censored`` counts such pairs).

    Args:
        base: the base scenario.
        variant: another scenario, or a list of ``KEY=VALUE`` overrides of the base.
    """
    _check_confidence(confidence)
    base_spec = as_scenario(base)
    if isinstance(variant, (list, tuple)):
        variant_spec = base_spec.with_overrides(list(variant))
    else:
        variant_spec = as_scenario(variant)  # type: ignore[arg-type]
    total = 2 * replications

    def half(offset: int) -> ProgressFn | None:
        if progress is None:
            return None
        return lambda done, _n: progress(offset + done, total)

    common = {"executor": executor, "jobs": jobs, "scheduler": scheduler, "until": until}
    base_reps = replicate(base_spec, replications, seed, progress=half(0), **common)
    variant_reps = replicate(variant_spec, replications, base_reps.entropy, progress=half(replications), **common)
    base_fc, variant_fc = summarize(base_reps, confidence), summarize(variant_reps, confidence)
    start = pd.Timestamp(base_spec.start).tz_convert(base_spec.timezone)
    batches = _paired(
        _per_rep_batches(base_fc.replications, start), _per_rep_batches(variant_fc.replications, start),
        ["project", "batch"], base_fc.eta, variant_fc.eta, confidence, base_reps.horizon_s, start.tz,
    )
    projects = _paired(
        _per_rep_projects(base_fc.replications, start), _per_rep_projects(variant_fc.replications, start),
        ["project"], base_fc.project_eta, variant_fc.project_eta, confidence, base_reps.horizon_s, start.tz,
    )
    provenance = dict(base_fc.provenance)
    provenance.update({"variant_scenario": variant_spec.name, "paired": "common random numbers"})
    return Comparison(batches=batches, projects=projects, base=base_fc, variant=variant_fc, provenance=provenance)


def _per_rep_batches(frame: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    return pd.DataFrame({
        "replication": frame["replication"],
        "project": frame["project"],
        "batch": frame["batch"],
        "done_s": _seconds(frame["completed_at"], start),
        "spent_usd": frame["spent_usd"],
    })


def _per_rep_projects(frame: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    return project_completion(frame, start)[["replication", "project", "done_s", "spent_usd"]]


def _paired(
    base: pd.DataFrame,
    variant: pd.DataFrame,
    keys: list[str],
    base_eta: pd.DataFrame,
    variant_eta: pd.DataFrame,
    confidence: float,
    horizon_s: float,
    tz: Any,
) -> pd.DataFrame:
    merged = base.merge(variant, on=["replication", *keys], suffixes=("_base", "_variant"), how="inner")
    rows = []
    for key, group in merged.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        base_done = group["done_s_base"].to_numpy(dtype=float)
        variant_done = group["done_s_variant"].to_numpy(dtype=float)
        censored = np.isnan(base_done) | np.isnan(variant_done)
        diff_h = (np.nan_to_num(variant_done, nan=horizon_s) - np.nan_to_num(base_done, nan=horizon_s)) / 3600
        mean_h, low_h, high_h = _mean_ci(diff_h, confidence)
        base_time_s = float(np.mean(np.nan_to_num(base_done, nan=horizon_s)))
        cost = (group["spent_usd_variant"] - group["spent_usd_base"]).to_numpy(dtype=float)
        cost_mean, cost_low, cost_high = _mean_ci(cost, confidence)
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        lookup = dict(zip(keys, key, strict=True))
        row["base_eta_p50"] = _lookup(base_eta, lookup, "eta_p50")
        row["variant_eta_p50"] = _lookup(variant_eta, lookup, "eta_p50")
        row.update({
            "eta_diff_mean_h": mean_h,
            "eta_diff_ci_low_h": low_h,
            "eta_diff_ci_high_h": high_h,
            "eta_diff_median_h": float(np.median(diff_h)),
            "p_variant_earlier": float(np.mean(diff_h < 0)),
            "cost_diff_mean_usd": cost_mean,
            "cost_diff_ci_low_usd": cost_low,
            "cost_diff_ci_high_usd": cost_high,
            "base_p_complete": float(np.mean(~np.isnan(base_done))),
            "variant_p_complete": float(np.mean(~np.isnan(variant_done))),
            "n_censored": int(censored.sum()),
            "replications": len(group),
            "verdict": _verdict(mean_h, low_h, high_h, min_effect_h(base_time_s)),
        })
        rows.append(row)
    name = "comparison" if "batch" in keys else "project_comparison"
    return _typed(pd.DataFrame(rows), name, tz)


def _lookup(frame: pd.DataFrame, key: dict[str, Any], column: str) -> Any:
    mask = np.ones(len(frame), dtype=bool)
    for name, value in key.items():
        mask &= (frame[name] == value).to_numpy()
    values = frame.loc[mask, column]
    return values.iloc[0] if len(values) else pd.NaT


def min_effect_h(base_time_s: float) -> float:
    """The smallest ETA change (hours) called a difference, for a base that takes ``base_time_s`` on average."""
    return max(MIN_EFFECT_S, MIN_EFFECT_FRACTION * base_time_s) / 3600


def _verdict(mean: float, low: float, high: float, minimum: float) -> str:
    """``earlier``/``later`` when the interval ``[low, high]`` excludes 0 and ``|mean| ≥ minimum`` (hours)."""
    if high < 0 and mean <= -minimum:
        return "earlier"
    if low > 0 and mean >= minimum:
        return "later"
    return "no clear difference"


def platform_formula_eta(scenario: Scenario, batch: Batch) -> pd.Timestamp:
    """The platform's own ETA for ``batch`` at the scenario start, in the scenario's zone (NaT when undefined).

    start + remaining assignments × ``state.age`` ÷ completed assignments (``state.submitted``, else the
    labeled suites × overlap); see :func:`labelsim.theory.platform_formula_remaining_s`.  NaT without a
    ``state.age`` or with nothing completed.
    """
    state = batch.state
    if state is None or state.age is None:
        return cast(pd.Timestamp, pd.NaT)
    total = -(-batch.items // batch.tasks_per_suite) * batch.overlap
    completed = state.submitted if state.submitted is not None else \
        -(-state.labeled_items // batch.tasks_per_suite) * batch.overlap
    start = pd.Timestamp(scenario.start).tz_convert(scenario.timezone)
    return _to_stamp(start, platform_formula_remaining_s(total - completed, state.age, completed))


def _with_platform_eta(eta: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Fill the ``platform_eta`` column of a batch ETA frame from the scenario's live state."""
    batches = {(p.name, b.name): b for p, b in scenario.batches()}
    values = [platform_formula_eta(scenario, batches[key]) if key in batches else pd.NaT
              for key in zip(eta["project"], eta["batch"], strict=True)]
    eta["platform_eta"] = pd.to_datetime(pd.Series(values, index=eta.index, dtype=object), utc=True) \
        .dt.tz_convert(scenario.timezone)
    return eta
