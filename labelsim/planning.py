"""Capacity planning (layer 5): how much crowd, team or money a deadline needs; parameter sweeps.

:func:`plan` searches one scenario parameter (a ``--set``-style dotted key such
as ``performers.crowd.sessions_per_hour``) for the smallest value with which the
chosen batches are Completed by a deadline with a given probability.  Every
value is simulated on *common random numbers* (the same seed: replication ``r``
draws the same streams at every value), and the search uses monotonicity: a
coarse grid over the range brackets the answer, bisection refines the bracket
(to adjacent whole numbers for integer parameters, to ``tolerance`` for real
ones).  An analytic first guess (exact makespan, throughput, Erlang C or the
money the work costs) stands beside the simulated answer.

:func:`sweep` runs the Cartesian product of parameter values, each point with
the same replications, and returns long-format rows with the parameters as columns.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ._version import __version__
from .calendar import rate_segments, shift_intervals
from .engine import ExecutorLike, ProgressFn, Replications, as_scenario, check_seed, replicate
from .forecasting import _normal_quantile, quantile_ci, replicate_to_precision, replications_frame, summarize
from .results import SCHEMAS
from .rng import RandomStreams
from .scenario import Batch, CrowdGroup, LabelsimError, Scenario, TeamGroup
from .theory import erlang_c, makespan_exponential_cdf
from .units import parse_duration, parse_timestamp

__all__ = ["Analytic", "Plan", "Sweep", "parse_deadline", "plan", "sweep", "wilson_interval"]



# --------------------------------------------------------------------------- small helpers


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (stays inside [0, 1], sensible at 0 and n)."""
    if n <= 0:
        return math.nan, math.nan
    z = _normal_quantile(0.5 + confidence / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def parse_deadline(scenario: Scenario, deadline: object) -> float:
    """A deadline as seconds from the scenario start.

    Accepts an offset (``3d``, ``36h``, seconds) or a timestamp (ISO 8601 text,
    a datetime or pandas Timestamp; without a zone: the scenario's zone).

    Raises:
        LabelsimError: unreadable, not after the start, or after the horizon.
    """
    try:
        if isinstance(deadline, (_dt.datetime, pd.Timestamp)):
            seconds = scenario.offset_s(parse_timestamp(pd.Timestamp(deadline).to_pydatetime(), scenario.tz))
        elif isinstance(deadline, str) and len(deadline.strip()) >= 10 and deadline.strip()[4:5] == "-":
            seconds = scenario.offset_s(parse_timestamp(deadline, scenario.tz))
        elif isinstance(deadline, (int, float)) and not isinstance(deadline, bool):
            seconds = float(deadline)
        else:
            seconds = parse_duration(deadline)
    except ValueError as exc:
        raise LabelsimError(f"deadline: {exc}") from None
    if not seconds > 0:
        raise LabelsimError(f"deadline: {deadline} is not after the scenario start {scenario.start.isoformat()}")
    if seconds > scenario.horizon:
        raise LabelsimError(
            f"deadline: {deadline} is after the scenario horizon ({scenario.horizon / 3600:g} h from the start); "
            "raise horizon (--set horizon=...)"
        )
    return seconds


def _current_value(data: Mapping[str, Any], key: str) -> Any:
    """The value at a ``--set``-style dotted key in a scenario mapping (None when absent)."""
    parts = key.split(".")
    node: Any = data
    if parts[0] == "batches" and len(parts) >= 3:
        project_name, _, batch_name = parts[1].rpartition("/")
        found = [
            b for p in data.get("projects", []) if not project_name or p.get("name") == project_name
            for b in p.get("batches", []) if b.get("name") == batch_name
        ]
        node, parts = (found[0] if len(found) == 1 else None), parts[2:]
    for part in parts:
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list):
            named = [item for item in node if isinstance(item, Mapping) and item.get("name") == part]
            node = named[0] if named else (node[int(part)] if part.isdigit() and int(part) < len(node) else None)
        else:
            return None
    return node


def _format(value: float, integer: bool) -> str:
    return str(int(value)) if integer else repr(float(value))


def _launched(scenario: Scenario, batch: Batch) -> bool:
    """Whether a batch is expected to run: launched at a moment, by an event, or already under way."""
    if batch.launch_at is not None or (batch.state is not None and batch.state.status != "New"):
        return True
    return any(e.action == "launch" and e.target is not None and e.target.split("/")[-1] == batch.name
               for e in scenario.events)


def _chosen(scenario: Scenario, batches: Sequence[str] | None) -> list[tuple[str, str]]:
    if batches is None:
        keys = [(p.name, b.name) for p, b in scenario.batches() if _launched(scenario, b)]
        if not keys:
            raise LabelsimError("batches: no batch of the scenario is launched; name the batches to plan for")
        return keys
    if isinstance(batches, str):
        batches = [batches]
    keys = []
    for ref in batches:
        try:
            project, batch = scenario.find_batch(ref, where="batches")
        except ValueError as exc:
            raise LabelsimError(str(exc)) from None
        keys.append((project.name, batch.name))
    if not keys:
        raise LabelsimError("batches: name at least one batch (or pass None for all launched batches)")
    return keys


@contextmanager
def _executor_scope(executor: ExecutorLike, jobs: int | None, scheduler: str | None) -> Iterator[ExecutorLike]:
    """One dask client for all the values of a plan or sweep (instead of a new cluster per value)."""
    wants_dask = executor == "dask" or (executor is None and scheduler is not None)
    if not wants_dask:
        yield executor
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the installation
        raise LabelsimError("executor dask needs dask.distributed: pip install 'labelsim[dask]'") from None
    cluster = None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise LabelsimError(f"scheduler: cannot connect to {scheduler} ({exc})") from None
    else:
        cluster = LocalCluster(n_workers=jobs or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------- analytic guess


@dataclass
class Analytic:
    """An analytic first guess of the answer.

    Attributes:
        value: the guessed value of the varied parameter (None: no formula applies).
        method: which formula (``exact makespan``, ``throughput``, ``Erlang C``, ``money``, ``none``).
        note: one line on what it assumes and why it differs from the simulated answer.
    """

    value: float | None
    method: str
    note: str


def _remaining_assignments(batch: Batch, scenario: Scenario) -> float:
    """Assignments a batch still needs from the start (expected, for streams)."""
    items = float(batch.items)
    stream = batch.stream
    if stream is not None:
        begin = scenario.offset_s(stream.start)
        end = scenario.horizon if stream.until is None else min(scenario.horizon, scenario.offset_s(stream.until))
        expected = stream.rate * max(0.0, end - begin)
        items += expected if stream.items is None else min(float(stream.items), expected)
    total = math.ceil(items / batch.tasks_per_suite) * batch.overlap
    done = 0
    if batch.state is not None:
        labeled_suites = math.ceil(batch.state.labeled_items / batch.tasks_per_suite)
        done = batch.state.submitted if batch.state.submitted is not None else labeled_suites * batch.overlap
    return max(0.0, total - done)


def _cost(scenario: Scenario, batch: Batch) -> float:
    account = scenario.account
    reward = batch.suite_reward  # reward per assignment, or price_per_item × tasks_per_suite
    return reward + max(reward * account.fee_rate, account.min_fee)


def _suite_seconds(group: CrowdGroup | TeamGroup, batch: Batch) -> float:
    speed = group.speed.mean if group.speed is not None else 1.0
    return batch.tasks_per_suite * group.seconds_per_task.mean * speed


def _group(scenario: Scenario, vary: str) -> CrowdGroup | TeamGroup | None:
    parts = vary.split(".")
    if len(parts) == 3 and parts[0] == "performers":
        named = [g for g in scenario.performers if g.name == parts[1]]
        if named:
            return named[0]
        if parts[1].isdigit() and int(parts[1]) < len(scenario.performers):
            return scenario.performers[int(parts[1])]
    return None


def _on_shift_s(scenario: Scenario, group: TeamGroup, until_s: float) -> float:
    if group.shifts is None:
        return until_s
    days = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
    shifts = [(frozenset(days[d] for d in s.days), s.start, s.end) for s in group.shifts]
    return sum(off - on for on, off in shift_intervals(scenario.start, scenario.tz, until_s, shifts))


def _session_hours(scenario: Scenario, group: CrowdGroup, until_s: float) -> float:
    """Expected sessions until ``until_s`` per session/hour of average rate (the activity profile applied)."""
    segments = rate_segments(scenario.start, scenario.tz, until_s, 1 / 3600, group.activity.hourly,
                             group.activity.weekly)
    return sum((t1 - t0) * rate for t0, t1, rate in segments)


def _capacity(scenario: Scenario, until_s: float, demand_batches: list[Batch]) -> float:
    """Assignments the performers can take until ``until_s`` on average."""
    if not demand_batches:
        return math.nan
    capacity = 0.0
    for group in scenario.performers:
        if isinstance(group, TeamGroup):
            suite_s = float(np.mean([_suite_seconds(group, b) for b in demand_batches]))
            capacity += group.size * _on_shift_s(scenario, group, until_s) / suite_s
        else:
            sessions = group.sessions_per_hour * _session_hours(scenario, group, until_s)
            capacity += sessions * group.suites_per_session.mean
    return capacity


def _utilisation(scenario: Scenario, until_s: float) -> float:
    batches = [b for _, b in scenario.batches() if _launched(scenario, b)]
    demand = sum(_remaining_assignments(b, scenario) for b in batches)
    capacity = _capacity(scenario, until_s, batches)
    return demand / capacity if capacity > 0 else math.inf


def analytic_guess(
    scenario: Scenario, vary: str, chosen: list[tuple[str, str]], deadline_s: float | None, confidence: float,
) -> Analytic:
    """An analytic first guess of the smallest value of ``vary`` that meets the target."""
    batches = [b for p, b in scenario.batches() if (p.name, b.name) in set(chosen)]
    launched = [b for _, b in scenario.batches() if _launched(scenario, b)]
    if vary == "account.balance":
        money = sum(_remaining_assignments(b, scenario) * _cost(scenario, b) for b in launched)
        return Analytic(money, "money", "the cost of every remaining assignment of the launched batches; exact when "
                        "no top-up comes and no item streams in (skipped and expired work is not charged)")
    group = _group(scenario, vary)
    if deadline_s is None or group is None:
        return Analytic(None, "none", f"no analytic formula for {vary}")
    field = vary.split(".")[-1]
    others = [g for g in scenario.performers if g is not group]
    streams = [b for b in batches if b.stream is not None]
    if isinstance(group, TeamGroup) and field == "size":
        if streams:
            lam = sum(b.stream.rate / b.tasks_per_suite * b.overlap for b in streams if b.stream is not None)
            suite_s = float(np.mean([_suite_seconds(group, b) for b in streams]))
            load = lam * suite_s
            size = math.floor(load) + 1
            while erlang_c(size, load) > 1 - confidence:
                size += 1
            return Analytic(size, "Erlang C", f"smallest team whose chance that a streamed item waits is ≤ "
                            f"{1 - confidence:.0%} in steady state (M/M/c); ignores the stream's end, the backlog "
                            "and the deadline's tail")
        exact = (not others and group.shifts is None and group.seconds_per_task.__class__.__name__ == "Exponential"
                 and group.speed is None and group.skip_rate == 0 and group.abandon_rate == 0
                 and all(b.tasks_per_suite == 1 and b.overlap == 1 and b.upload_rate is None
                         and b.launch_at in (0, 0.0) and b.state is None for b in launched))
        jobs = round(sum(_remaining_assignments(b, scenario) for b in launched))
        if exact:
            mean = group.seconds_per_task.mean
            size = 1
            while makespan_exponential_cdf(jobs, size, mean, deadline_s) < confidence and size < max(jobs, 1):
                size += 1
            return Analytic(size, "exact makespan", f"exact P(makespan ≤ deadline) of {jobs} exponential suites on an "
                            "always-on team; the simulation differs only by sampling noise")
        work_s = sum(_remaining_assignments(b, scenario) * _suite_seconds(group, b) for b in launched)
        on_shift = _on_shift_s(scenario, group, deadline_s) / deadline_s
        needed = math.ceil(work_s / (deadline_s * on_shift)) if on_shift > 0 else None
        return Analytic(needed, "throughput", "mean work ÷ on-shift time until the deadline: no margin for random "
                        "work times, the last suites' tail or skips; the simulation adds what the confidence needs")
    if isinstance(group, CrowdGroup) and field == "sessions_per_hour":
        need = sum(_remaining_assignments(b, scenario) for b in launched) / (1 - group.skip_rate - group.abandon_rate)
        for other in others:  # capacity the other groups bring
            need -= _capacity(scenario.model_copy(update={"performers": (other,)}), deadline_s, launched)
        per_rate = _session_hours(scenario, group, deadline_s) * group.suites_per_session.mean
        rate = max(0.0, need) / per_rate if per_rate > 0 else None
        return Analytic(rate, "throughput", "arrivals × suites per session = the work by the deadline, on average: "
                        "no margin for random arrivals, session lengths, sessions that find nothing to take, or the "
                        "last suites' time; the simulation adds what the confidence needs")
    return Analytic(None, "none", f"no analytic formula for {vary}")


# --------------------------------------------------------------------------- plan


@dataclass
class Plan:
    """The answer of :func:`plan`.

    Attributes:
        required: the smallest value of the varied parameter meeting the target
            (None when it is not reachable inside the range).
        p_on_time: the estimated probability of meeting the target at ``required``
            (at the high end of the range when not reachable).
        p_on_time_lo, p_on_time_hi: its 95% Wilson confidence interval.
        reachable: whether the target is met inside the range.
        message: one line saying the answer (or why there is none).
        frontier: one row per value tried (schema ``frontier`` in :data:`labelsim.SCHEMAS`).
        analytic: the analytic first guess.
        vary, between, deadline_at, confidence, batches, criterion, integer: the question.
        provenance: seed, replications, executor, wall time, version.
    """

    scenario: Scenario
    vary: str
    between: tuple[float, float]
    deadline_at: pd.Timestamp | None
    confidence: float
    batches: list[str]
    criterion: str
    integer: bool
    required: float | None
    p_on_time: float
    p_on_time_lo: float
    p_on_time_hi: float
    reachable: bool
    message: str
    frontier: pd.DataFrame
    analytic: Analytic
    provenance: dict[str, Any] = field(default_factory=dict)

    def frames(self) -> dict[str, pd.DataFrame]:
        """The frames by name."""
        return {"frontier": self.frontier}

    def to_dict(self) -> dict[str, Any]:
        """The answer as plain data (for ``plan.json``)."""
        return {
            "vary": self.vary,
            "between": list(self.between),
            "deadline": self.deadline_at.isoformat() if self.deadline_at is not None else None,
            "confidence": self.confidence,
            "batches": self.batches,
            "criterion": self.criterion,
            "integer": self.integer,
            "required": self.required,
            "reachable": self.reachable,
            "p_on_time": self.p_on_time,
            "p_on_time_ci": [self.p_on_time_lo, self.p_on_time_hi],
            "message": self.message,
            "analytic": {"value": self.analytic.value, "method": self.analytic.method, "note": self.analytic.note},
            "provenance": self.provenance,
        }


def _check_between(between: object, integer: bool, vary: str) -> tuple[float, float]:
    if not isinstance(between, (tuple, list)) or len(between) != 2:
        raise LabelsimError(f"between: expected (low, high), got {between!r}")
    lo, hi = between
    for end in (lo, hi):
        if isinstance(end, bool) or not isinstance(end, (int, float)) or not math.isfinite(end):
            raise LabelsimError(f"between: {end!r} is not a number")
    if not lo < hi:
        raise LabelsimError(f"between: the low end {lo} must be below the high end {hi}")
    if integer and (lo != int(lo) or hi != int(hi)):
        raise LabelsimError(f"between: {vary} takes whole numbers, got {lo}..{hi}")
    return (float(int(lo)), float(int(hi))) if integer else (float(lo), float(hi))


def plan(
    scenario: Scenario | Mapping[str, Any],
    vary: str,
    between: tuple[float, float],
    deadline: object = None,
    confidence: float = 0.9,
    batches: Sequence[str] | None = None,
    replications: int = 100,
    seed: int | None = None,
    executor: ExecutorLike = None,
    jobs: int | None = None,
    *,
    scheduler: str | None = None,
    precision: str | float | None = None,
    max_replications: int | None = None,
    tolerance: float | None = None,
    integer: bool | None = None,
    grid: int = 5,
    progress: ProgressFn | None = None,
) -> Plan:
    """The smallest value of ``vary`` for which the chosen batches are Completed by ``deadline`` with ``confidence``.

    Args:
        scenario: a :class:`~labelsim.Scenario` or a mapping.
        vary: a ``--set``-style dotted key: ``performers.team.size``,
            ``performers.crowd.sessions_per_hour``, ``batches.week-49.overlap``,
            ``account.balance``…  Whole-number parameters (the scenario holds an
            integer there) are searched over integers, the others over reals.
        between: ``(low, high)``, the range searched.
        deadline: an offset from the start (``3d``) or a timestamp; required except
            for ``account.balance``.
        confidence: the probability the target must reach (0.5 ≤ confidence < 1).
        batches: names (``batch`` or ``project/batch``) of the batches that must finish;
            default every launched batch.
        replications: replications per value tried (the same seed at every value).
        precision: adaptive replications per value: add replications until the 95%
            CI of each chosen batch's P50 ETA is at most this wide (e.g. ``10m``),
            up to ``max_replications``.
        tolerance: real parameters: stop when the answer is bracketed this tightly
            (default: one assignment's cost for ``account.balance``, else 5% of the answer).
        integer: force an integer (True) or real (False) search.
        grid: values of the first, coarse pass over the range (at least 2: the ends); spaced
            geometrically when the range spans a factor of 4 or more from a positive low end.
        progress: ``progress(done, total)`` in replications (the total is an estimate).

    The target is P(every chosen batch Completed by the deadline) ≥ ``confidence``.
    For ``vary="account.balance"`` it is P(no chosen batch ever shows No money)
    ≥ ``confidence`` (and Completed by the deadline, when one is given): "how much
    money so that no batch stops for money".

    Returns:
        A :class:`Plan`; ``required`` is None (and ``reachable`` False, with a
        message) when even the high end of the range misses the target.
    """
    started = time.perf_counter()
    base = as_scenario(scenario)
    if not isinstance(vary, str) or not vary.strip():
        raise LabelsimError(f"vary: expected a dotted key such as performers.crowd.sessions_per_hour, got {vary!r}")
    vary = vary.strip()
    if not 0.5 <= confidence < 1:
        raise LabelsimError(f"confidence: must be in [0.5, 1), got {confidence!r}")
    if isinstance(grid, bool) or not isinstance(grid, int) or grid < 2:
        raise LabelsimError(f"grid: must be a whole number ≥ 2, got {grid!r}")
    money = vary == "account.balance"
    current = _current_value(base.to_mapping(), vary)
    if current is None:
        base.with_overrides([f"{vary}=1"])  # raises a one-line error naming the unknown key
        raise LabelsimError(f"vary: {vary} has no value in the scenario to vary")
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise LabelsimError(f"vary: {vary} is not a number (it is {current!r}); vary a numeric setting")
    is_int = isinstance(current, int) if integer is None else bool(integer)
    lo, hi = _check_between(between, is_int, vary)
    for end in (lo, hi):
        base.with_overrides([f"{vary}={_format(end, is_int)}"])  # a value out of range: one line naming it
    deadline_s = None if deadline is None else parse_deadline(base, deadline)
    if deadline_s is None and not money:
        raise LabelsimError("deadline: give the deadline the batches must meet, e.g. 3d or 2026-12-04T18:00")
    if tolerance is None:
        tolerance = min(_cost(base, b) for _, b in base.batches()) if money else -0.05  # < 0: relative, 5 %
    elif isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance > 0:
        raise LabelsimError(f"tolerance: must be a positive number, got {tolerance!r}")
    chosen = _chosen(base, batches)
    entropy = RandomStreams(check_seed(seed)).entropy
    start = pd.Timestamp(base.start).tz_convert(base.timezone)
    values_estimate = grid + (max(1, math.ceil(math.log2(hi - lo))) if is_int else 6)
    total = replications * values_estimate
    done_before = 0
    evaluated: dict[float, dict[str, Any]] = {}
    used: list[int] = []

    with _executor_scope(executor, jobs, scheduler) as shared:
        options = {"executor": shared, "jobs": jobs, "scheduler": None if shared is not executor else scheduler}

        def evaluate(value: float) -> dict[str, Any]:
            nonlocal done_before, total
            if value in evaluated:
                return evaluated[value]
            spec = base.with_overrides([f"{vary}={_format(value, is_int)}"])

            def report(done: int, _n: int) -> None:
                if progress is not None:
                    progress(min(done_before + done, total), total)

            if precision is None:
                reps = replicate(spec, replications, entropy, progress=report, **options)
            else:
                from .forecasting import parse_precision

                reps, _met, _rounds = replicate_to_precision(
                    spec, replications, entropy, parse_precision(precision), max_replications,
                    batches=[b for _, b in chosen], progress=report, **options,
                )
            done_before += reps.n
            total = max(total, done_before)
            used.append(reps.n)
            row = _frontier_row(reps, value, chosen, deadline_s, money, start, spec)
            evaluated[value] = row
            return row

        geometric = lo > 0 and hi / lo >= 4  # rates, sizes, money: a factor matters more than a difference
        candidates = np.geomspace(lo, hi, grid) if geometric else np.linspace(lo, hi, grid)
        if is_int:
            candidates = np.unique(np.round(candidates))
        rows = [evaluate(float(v)) for v in candidates]
        passing = [r["value"] for r in rows if r["p_on_time"] >= confidence]
        if passing:
            good = min(passing)
            below = [r["value"] for r in rows if r["value"] < good]
            bad = max(below) if below else None
            while bad is not None and good - bad > (1.0 if is_int else _step(tolerance, good)) * (1 + 1e-9):
                mid = _midpoint(bad, good, is_int, geometric)
                if evaluate(mid)["p_on_time"] >= confidence:
                    good = mid
                else:
                    bad = mid
    if progress is not None:
        progress(done_before, done_before)

    frontier = _typed_frontier(pd.DataFrame([evaluated[v] for v in sorted(evaluated)]), start.tz)
    reachable = bool(passing)
    answer = evaluated[good] if reachable else evaluated[float(candidates[-1])]
    what = ("no chosen batch goes No money" if money else "the chosen batches are Completed")
    if money and deadline_s is not None:
        what += " and they are Completed"
    by = f" by {_stamp(start, deadline_s):%Y-%m-%d %H:%M %Z}" if deadline_s is not None else ""
    shown = _format(answer["value"], is_int) if is_int else f"{answer['value']:.4g}"
    ci = f"[{answer['p_on_time_lo']:.2f}, {answer['p_on_time_hi']:.2f}]"
    if reachable:
        message = (f"{vary} = {shown}: the smallest value in {_format(lo, is_int)}..{_format(hi, is_int)} with "
                   f"P({what}{by}) ≥ {confidence:g} (estimated {answer['p_on_time']:.2f}, 95% CI {ci})")
        if good == lo:
            message += "; already met at the low end of the range"
    else:
        message = (f"not reachable: even {vary} = {shown} (the high end of the range) gives P({what}{by}) = "
                   f"{answer['p_on_time']:.2f} (95% CI {ci}) < {confidence:g}; widen the range or move the deadline")
    analytic = analytic_guess(base, vary, chosen, deadline_s, confidence)
    return Plan(
        scenario=base,
        vary=vary,
        between=(lo, hi),
        deadline_at=_stamp(start, deadline_s) if deadline_s is not None else None,
        confidence=confidence,
        batches=[f"{p}/{b}" for p, b in chosen],
        criterion="no_money" if money else "on_time",
        integer=is_int,
        required=answer["value"] if reachable else None,
        p_on_time=answer["p_on_time"],
        p_on_time_lo=answer["p_on_time_lo"],
        p_on_time_hi=answer["p_on_time_hi"],
        reachable=reachable,
        message=message,
        frontier=frontier,
        analytic=analytic,
        provenance={
            "scenario": base.name,
            "seed": entropy,
            "replications": replications,
            "replications_run": int(sum(used)),
            "values_tried": len(evaluated),
            "precision": precision,
            "tolerance": None if is_int else _step(tolerance, answer["value"]),
            "paired": "common random numbers: the same seed at every value",
            "executor": executor if isinstance(executor, str) or executor is None else type(executor).__name__,
            "jobs": jobs,
            "wall_time_s": round(time.perf_counter() - started, 6),
            "labelsim_version": __version__,
        },
    )


def _midpoint(bad: float, good: float, is_int: bool, geometric: bool) -> float:
    if is_int:
        return float((bad + good) // 2)
    return math.sqrt(bad * good) if geometric else (bad + good) / 2


def _step(tolerance: float, value: float) -> float:
    """The bracket width at which a real search stops: ``tolerance``, or a share of the value when negative."""
    return tolerance if tolerance > 0 else max(-tolerance * abs(value), 1e-9)


def _stamp(start: pd.Timestamp, seconds: float) -> pd.Timestamp:
    return start + pd.to_timedelta(seconds, unit="s")


def _frontier_row(
    reps: Replications, value: float, chosen: list[tuple[str, str]], deadline_s: float | None, money: bool,
    start: pd.Timestamp, spec: Scenario,
) -> dict[str, Any]:
    frame = replications_frame(reps)
    keys = pd.MultiIndex.from_frame(frame[["project", "batch"]])
    mine = frame[keys.isin(chosen)]
    done_s = (mine["completed_at"] - start).dt.total_seconds().fillna(np.inf)
    work = pd.DataFrame({"replication": mine["replication"].to_numpy(), "done_s": done_s.to_numpy(),
                         "no_money": mine["no_money"].to_numpy(), "spent_usd": mine["spent_usd"].to_numpy()})
    per_rep = work.groupby("replication").agg(done_s=("done_s", "max"), no_money=("no_money", "any"),
                                              spent_usd=("spent_usd", "sum"))
    ok = np.ones(len(per_rep), dtype=bool)
    if deadline_s is not None:
        ok &= per_rep["done_s"].to_numpy() <= deadline_s
    if money:
        ok &= ~per_rep["no_money"].to_numpy()
    low, high = wilson_interval(int(ok.sum()), len(ok))
    p50 = quantile_ci(per_rep["done_s"].to_numpy(), 0.5)[0]
    p90 = quantile_ci(per_rep["done_s"].to_numpy(), 0.9)[0]
    return {
        "value": value,
        "replications": reps.n,
        "p_on_time": float(ok.mean()),
        "p_on_time_lo": low,
        "p_on_time_hi": high,
        "eta_p50_at": _stamp(start, p50) if math.isfinite(p50) else pd.NaT,
        "eta_p90_at": _stamp(start, p90) if math.isfinite(p90) else pd.NaT,
        "cost_p50_usd": float(np.quantile(per_rep["spent_usd"], 0.5, method="inverted_cdf")),
        "utilisation": _utilisation(spec, deadline_s if deadline_s is not None else spec.horizon),
    }


def _typed_frontier(frame: pd.DataFrame, tz: Any) -> pd.DataFrame:
    columns = [c for c, _, _ in SCHEMAS["frontier"]]
    frame = frame.reindex(columns=columns)
    for column, dtype, _ in SCHEMAS["frontier"]:
        if dtype.startswith("datetime64"):
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(tz)
        else:
            frame[column] = frame[column].astype(np.dtype(dtype))
    return frame


# --------------------------------------------------------------------------- sweep


@dataclass
class Sweep:
    """The result of :func:`sweep`.

    Attributes:
        replications: long format, one row per (point, replication, batch): ``point``,
            the parameters (one column per key, named by the key), then the columns of
            the ``replications`` schema.  ``groupby`` the parameter columns yourself.
        summary: one row per (point, batch): the parameters, then the ``eta`` schema.
        grid: the keys and their values.
        provenance: seed, replications, executor, wall time, version.
    """

    replications: pd.DataFrame
    summary: pd.DataFrame
    grid: dict[str, list[Any]]
    provenance: dict[str, Any] = field(default_factory=dict)

    def frames(self) -> dict[str, pd.DataFrame]:
        """The frames by name."""
        return {"sweep": self.replications, "sweep_summary": self.summary}


def _grid_value(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value
    return value


def sweep(
    scenario: Scenario | Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    replications: int = 100,
    seed: int | None = None,
    executor: ExecutorLike = None,
    jobs: int | None = None,
    *,
    scheduler: str | None = None,
    until: str | float | None = None,
    progress: ProgressFn | None = None,
) -> Sweep:
    """Run every combination of parameter values (the Cartesian product), each with ``replications``.

    Args:
        grid: ``{KEY: [v1, v2, …], …}`` with ``--set``-style dotted keys, e.g.
            ``{"performers.crowd.sessions_per_hour": [20, 40], "account.balance": [100, 500]}``.
        replications, seed, executor, jobs, scheduler, until: as for :func:`labelsim.forecast`;
            every point uses the same seed (common random numbers), so the rows are
            identical whatever the executor.
        progress: ``progress(done, total)`` in replications over all points.
    """
    started = time.perf_counter()
    base = as_scenario(scenario)
    if not isinstance(grid, Mapping) or not grid:
        raise LabelsimError("grid: give at least one KEY with a list of values")
    keys = list(grid)
    values: dict[str, list[Any]] = {}
    for key in keys:
        given = grid[key]
        if isinstance(given, (str, bytes)) or not isinstance(given, Sequence) or len(given) == 0:
            raise LabelsimError(f"grid: {key} needs a list of values, got {given!r}")
        values[key] = [_grid_value(v) for v in given]
    points = list(itertools.product(*(values[k] for k in keys)))
    specs = [base.with_overrides([f"{k}={v}" for k, v in zip(keys, point, strict=True)]) for point in points]
    entropy = RandomStreams(check_seed(seed)).entropy
    total = replications * len(points)
    frames, summaries = [], []
    with _executor_scope(executor, jobs, scheduler) as shared:
        options = {"executor": shared, "jobs": jobs, "scheduler": None if shared is not executor else scheduler}
        for index, (point, spec) in enumerate(zip(points, specs, strict=True)):
            def report(done: int, _n: int, offset: int = index * replications) -> None:
                if progress is not None:
                    progress(offset + done, total)

            reps = replicate(spec, replications, entropy, until=until, progress=report, **options)
            params = dict(zip(keys, point, strict=True))
            rows = replications_frame(reps)
            summary = summarize(reps).eta
            for frame in (rows, summary):
                for position, (key, value) in enumerate(params.items()):
                    frame.insert(position, key, [value] * len(frame))
                frame.insert(0, "point", index)
            frames.append(rows)
            summaries.append(summary)
    return Sweep(
        replications=pd.concat(frames, ignore_index=True),
        summary=pd.concat(summaries, ignore_index=True),
        grid=values,
        provenance={
            "scenario": base.name,
            "seed": entropy,
            "replications": replications,
            "points": len(points),
            "paired": "common random numbers: the same seed at every point",
            "executor": executor if isinstance(executor, str) or executor is None else type(executor).__name__,
            "jobs": jobs,
            "wall_time_s": round(time.perf_counter() - started, 6),
            "labelsim_version": __version__,
        },
    )

