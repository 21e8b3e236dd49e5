"""Upper limits on what a scenario and a run may ask for, and warnings for what is legal but suspicious.

Limits keep every input from crashing or hanging labelsim: a value beyond one is
refused with one message naming the field (exit code 2 on the command line).
They are far above any real labeling project; the README's key table lists them.

:func:`check_run_size` refuses a run that would need more memory than
:data:`MAX_ASSIGNMENTS` assignments (about 72 bytes each plus the frames).
:func:`lint` returns warnings (plain strings, never fatal) for a valid scenario:
events after the horizon, local times that do not exist or are ambiguous,
overlaps no performer set can meet, an opening reservation without in-flight
work, ``--until`` beyond the horizon, and runs large enough to be slow.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .schema import Batch, Scenario

__all__ = [
    "MAX_ASSIGNMENTS",
    "MAX_DURATION_S",
    "MAX_HORIZON_S",
    "MAX_ITEMS",
    "MAX_JOBS",
    "MAX_PARAMETER_DRAWS",
    "MAX_POPULATION",
    "MAX_PROGRESS_SAMPLES",
    "MAX_RATE_PER_S",
    "MAX_REPLICATIONS",
    "MAX_SEED",
    "MAX_SESSIONS_PER_HOUR",
    "MAX_SHIFT_CHANGES",
    "MAX_SUITES_PER_SESSION",
    "MAX_TEAM_SIZE",
    "MAX_USD",
    "MAX_YEAR",
    "MIN_YEAR",
    "WARN_ASSIGNMENTS",
    "WARN_SESSIONS",
    "check_run_size",
    "estimated_assignments",
    "lint",
]

DAY_S = 86400.0
#: Entries of ``parameter_draws`` (parameter sets the replications cycle through).
MAX_PARAMETER_DRAWS = 1000
#: Money: balance, reservations, top-ups, rewards, fees (USD).
MAX_USD = 1e9
#: Items in a batch, in one ``add_items`` upload, and brought by one stream (``items`` or rate × duration).
MAX_ITEMS = 10_000_000
#: The horizon and ``--until``: ten years (3650 days).
MAX_HORIZON_S = 3650 * DAY_S
#: Any other duration or offset (time limits, ``launch_at``, event times): 100 years.
MAX_DURATION_S = 36500 * DAY_S
#: Rates (``upload_rate``, ``stream.rate``): one million per second.
MAX_RATE_PER_S = 1e6
#: People in a crowd group.
MAX_POPULATION = 1_000_000
#: People in a team.
MAX_TEAM_SIZE = 100_000
#: Crowd sessions per hour (weekly average).
MAX_SESSIONS_PER_HOUR = 100_000.0
#: Suites in one crowd session (the distribution's mean and upper end).
MAX_SUITES_PER_SESSION = 10_000
#: Team members' shift starts and ends over the horizon (size × shifts × 2), all scheduled up front.
MAX_SHIFT_CHANGES = 5_000_000
#: Samples of the progress frame (horizon / progress_every).
MAX_PROGRESS_SAMPLES = 100_000
#: Assignments a run may need (items / tasks_per_suite × overlap, uploads and streams included): refused above.
MAX_ASSIGNMENTS = 10_000_000
#: ... and a warning above this many (a run takes seconds per million).
WARN_ASSIGNMENTS = 1_000_000
#: Crowd sessions that may arrive over the horizon: a warning above this many.
WARN_SESSIONS = 5_000_000
#: Timestamps must fall in these years (pandas holds 1677-2262; a horizon must fit after the start).
MIN_YEAR, MAX_YEAR = 1900, 2200
#: ``--jobs`` (parallel workers) and ``--replications``.
MAX_JOBS = 512
MAX_REPLICATIONS = 1_000_000
#: Largest ``--seed`` (numpy's SeedSequence takes any size; 128 bits is plenty).
MAX_SEED = 2**128 - 1


def _days(seconds: float) -> str:
    if seconds >= DAY_S and seconds % 3600 == 0:
        return f"{seconds / DAY_S:g}d"
    return f"{seconds / 3600:g}h" if seconds >= 3600 else f"{seconds:g}s"


def _end_s(scenario: Scenario, until_s: float | None) -> float:
    return until_s if until_s is not None else scenario.horizon


def _stream_items(scenario: Scenario, batch: Batch, end_s: float) -> float:
    """Items a batch's stream is expected to bring within ``end_s`` (its ``items`` caps it)."""
    stream = batch.stream
    if stream is None:
        return 0.0
    start = scenario.offset_s(stream.start)
    stop = min(end_s, scenario.offset_s(stream.until)) if stream.until is not None else end_s
    expected = stream.rate * max(0.0, stop - start)
    return min(expected, stream.items) if stream.items is not None else expected


def estimated_assignments(scenario: Scenario, until_s: float | None = None) -> tuple[float, dict[str, float]]:
    """Assignments a run would need at most: (total, per batch reference) over uploads, ``add_items`` and streams.

    Retries after skips and expiries come on top; the estimate counts each suite's overlap once.
    """
    end_s = _end_s(scenario, until_s)
    added: dict[str, float] = {}
    for event in scenario.events:
        if event.add_items is not None:
            _, batch = scenario.find_batch(event.add_items.batch)
            added[batch.name] = added.get(batch.name, 0.0) + event.add_items.items
    per_batch: dict[str, float] = {}
    for project, batch in scenario.batches():
        items = batch.items + added.get(batch.name, 0.0) + _stream_items(scenario, batch, end_s)
        per_batch[f"projects[{project.name}].batches[{batch.name}]"] = math.ceil(items / batch.tasks_per_suite) * (
            batch.overlap
        )
    return sum(per_batch.values()), per_batch


def check_run_size(scenario: Scenario, until_s: float | None = None) -> None:
    """Refuse a scenario whose run would need more memory or set-up than the limits allow.

    Raises:
        ValueError: ``"field: problem"`` (streams beyond :data:`MAX_ITEMS`, more than
            :data:`MAX_ASSIGNMENTS` assignments, :data:`MAX_SHIFT_CHANGES` shift changes or
            :data:`MAX_PROGRESS_SAMPLES` progress samples).
    """
    end_s = _end_s(scenario, until_s)
    for project, batch in scenario.batches():
        streamed = _stream_items(scenario, batch, end_s)
        if streamed > MAX_ITEMS:
            raise ValueError(
                f"projects[{project.name}].batches[{batch.name}].stream: would bring about {streamed:,.0f} items "
                f"(rate × duration), above the limit of {MAX_ITEMS:,}; set stream.items or stream.until"
            )
    total, per_batch = estimated_assignments(scenario, until_s)
    if total > MAX_ASSIGNMENTS:
        where, most = max(per_batch.items(), key=lambda kv: kv[1])
        raise ValueError(
            f"{where}: the run would need about {total:,.0f} assignments (items / tasks_per_suite × overlap, "
            f"uploads and streams included; this batch {most:,.0f}), above the limit of {MAX_ASSIGNMENTS:,}"
        )
    for group in scenario.performers:
        if group.kind != "team":
            continue
        per_person = 2.0 if group.shifts is None else 2.0 * len(group.shifts) * (end_s / DAY_S + 2)
        changes = group.size * per_person
        if changes > MAX_SHIFT_CHANGES:
            raise ValueError(
                f"performers[{group.name}].size: {group.size:,} people × their shifts over {_days(end_s)} make about "
                f"{changes:,.0f} shift changes, above the limit of {MAX_SHIFT_CHANGES:,}; use a smaller team "
                "or a shorter horizon"
            )
    step = scenario.progress_every
    if step is not None and end_s / step > MAX_PROGRESS_SAMPLES:
        raise ValueError(
            f"progress_every: {_days(step)} over {_days(end_s)} makes {end_s / step:,.0f} progress samples, "
            f"above the limit of {MAX_PROGRESS_SAMPLES:,}"
        )


def _local_time_problem(stamp: _dt.datetime, zone: _dt.tzinfo) -> str | None:
    """Why a wall-clock time in ``zone`` is suspicious: it does not exist (DST gap) or is ambiguous (fold)."""
    naive = stamp.replace(tzinfo=None)
    early, late = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if early.utcoffset() == late.utcoffset():
        return None
    utc = _dt.timezone.utc
    round_trip = early.astimezone(utc).astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:
        return f"does not exist in {zone} (the clocks skip it: a daylight-saving gap)"
    return f"is ambiguous in {zone} (it happens twice when the clocks go back); labelsim takes the first"


def lint(scenario: Scenario, until_s: float | None = None) -> list[str]:
    """Warnings about a valid scenario (and ``--until``): legal but probably not what was meant.

    Returns plain one-line strings, in a fixed order; never raises for a valid scenario.
    """
    warnings: list[str] = []
    horizon = scenario.horizon
    end_s = _end_s(scenario, until_s)
    if until_s is not None and until_s > horizon:
        warnings.append(
            f"--until {_days(until_s)} is beyond the scenario's horizon ({_days(horizon)}): "
            f"simulating {_days(until_s)}"
        )
    last = max(horizon, end_s)  # a shorter --until is the user's choice, not the scenario's problem
    for where, moment in scenario._moments():
        offset = scenario.offset_s(moment)
        if offset > last and not where.endswith(".stream.until"):
            what = "the horizon" if last == horizon else "--until"
            warnings.append(
                f"{where}: {_moment_text(moment)} is after {what} ({_days(last)} after the start): it never happens"
            )
    zone = scenario.tz
    start = scenario.start
    if isinstance(start.tzinfo, type(zone)) and getattr(start.tzinfo, "key", None) == scenario.timezone:
        problem = _local_time_problem(start, zone)
        if problem:
            warnings.append(f"start: {start.replace(tzinfo=None).isoformat()} {problem}")
    for where, moment in scenario._moments():
        if isinstance(moment, _dt.datetime) and moment.tzinfo is None:
            problem = _local_time_problem(moment, zone)
            if problem:
                warnings.append(f"{where}: {moment.isoformat()} {problem}")
    people = sum(g.size if g.kind == "team" else g.population for g in scenario.performers)
    if not scenario.performers:
        warnings.append("performers: there are none, so nothing will be labeled")
    for project, batch in scenario.batches():
        if scenario.performers and batch.overlap > people:
            warnings.append(
                f"projects[{project.name}].batches[{batch.name}].overlap: {batch.overlap} distinct performers "
                f"per item, but the performer groups have {people} people in all: its items can never be labeled"
            )
    account = scenario.account
    in_flight = sum(b.state.n_in_flight for _, b in scenario.batches() if b.state is not None)
    if account.reserved and not in_flight:
        warnings.append(
            f"account.reserved: {account.reserved} USD is reserved but no batch state has in_flight "
            "assignments to hold it; it stays reserved for the whole run"
        )
    total, _ = estimated_assignments(scenario, until_s)
    if total > WARN_ASSIGNMENTS:
        warnings.append(
            f"the run needs about {total:,.0f} assignments (warning above {WARN_ASSIGNMENTS:,}, refused above "
            f"{MAX_ASSIGNMENTS:,}): expect it to take a while and a few GB of memory"
        )
    sessions = sum(g.sessions_per_hour for g in scenario.performers if g.kind == "crowd") * end_s / 3600
    if sessions > WARN_SESSIONS:
        warnings.append(
            f"performers: up to {sessions:,.0f} crowd sessions may arrive over {_days(end_s)} "
            f"(warning above {WARN_SESSIONS:,}): a run that does not finish its work early will be slow"
        )
    return warnings


def _moment_text(moment: float | _dt.datetime) -> str:
    return moment.isoformat() if isinstance(moment, _dt.datetime) else _days(float(moment))
