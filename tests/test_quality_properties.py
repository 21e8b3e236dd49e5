"""Property tests (hypothesis) of quality control: money, bans, limits and suites, on small random scenarios.

The strategy builds one project with 1-3 small batches, each maybe reviewed (random delay, auto-accept period),
with a fixed or dynamic overlap, priced per assignment or per item; a team and/or a crowd with random acceptance
rates, agreement, control accuracies and per-performer limits; maybe control tasks with ban rules; a small
balance (money often runs out), a top-up, pauses and cancels.  Each test recomputes one family of invariants from
the run's frames:

1. money: rejected work is never charged (charges = accepted (or unreviewed) submissions × their cost), every
   reservation ends as a charge, a release or money still reserved (in flight or pending review), balances add up;
2. no banned performer takes work in the project after the ban;
3. no performer exceeds its per-batch or per-day (local calendar day) limit;
4. a performer never gets the same suite twice, also after rejections and extra answers;
5. items: an item counts as labeled only with its needed accepted answers (min..max under dynamic overlap);
6. frames match their schemas and statuses follow the state machine.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import labelsim
from labelsim.model import ALLOWED_TRANSITIONS
from labelsim.results import RUN_FRAMES, check_schema

HOUR, DAY = 3600, 86400
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def _batch(draw: st.DrawFn, name: str) -> dict[str, Any]:
    tps = draw(st.integers(1, 4))
    spec: dict[str, Any] = {
        "name": name,
        "items": draw(st.integers(1, 40)),
        "labeling_queue": draw(st.integers(1, 5)),
        "tasks_per_suite": tps,
        "time_limit": f"{draw(st.integers(60, 1200))}s",
        "launch_at": f"{draw(st.sampled_from([0, 0, 600, HOUR]))}s",
    }
    if draw(st.booleans()):
        spec["price_per_item"] = draw(st.sampled_from([0.0, 0.003, 0.01, 0.02]))
    else:
        spec["reward"] = draw(st.sampled_from([0.0, 0.01, 0.03, 0.1]))
    if draw(st.booleans()):
        low = draw(st.integers(1, 3))
        spec["dynamic_overlap"] = {"min": low, "max": low + draw(st.integers(0, 3))}
    else:
        spec["overlap"] = draw(st.integers(1, 3))
    if draw(st.integers(0, 2)) > 0:
        review: dict[str, Any] = {"auto_accept_after": f"{draw(st.sampled_from([600, 2 * HOUR, DAY]))}s"}
        if draw(st.integers(0, 3)) > 0:
            review["delay"] = draw(st.sampled_from([
                {"dist": "exponential", "mean": 900}, {"dist": "constant", "value": 0},
                {"dist": "uniform", "low": 0, "high": 4 * HOUR}]))
        spec["review"] = review
    return spec


def _quality(draw: st.DrawFn) -> dict[str, Any]:
    group: dict[str, Any] = {
        "acceptance_rate": draw(st.sampled_from([1.0, 0.8, 0.5, 0.2])),
        "agreement": draw(st.sampled_from([1.0, 0.7, 0.3, 0.0])),
    }
    if draw(st.booleans()):
        group["control_accuracy"] = draw(st.sampled_from([
            {"dist": "uniform", "low": 0.0, "high": 1.0}, {"dist": "constant", "value": 0.9}]))
    if draw(st.booleans()):
        limits = {}
        if draw(st.booleans()):
            limits["per_batch"] = draw(st.integers(1, 6))
        if draw(st.booleans()) or not limits:
            limits["per_day"] = draw(st.integers(1, 10))
        group["limits"] = limits
    return group


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A valid scenario with quality control, small enough to simulate in milliseconds."""
    batches = [draw(_batch(f"b{i}")) for i in range(draw(st.integers(1, 3)))]
    project: dict[str, Any] = {"name": "p", "batches": batches}
    if draw(st.booleans()):
        control: dict[str, Any] = {"share": draw(st.sampled_from([0.2, 0.5, 1.0])),
                                   "min_control": draw(st.integers(1, 6))}
        if draw(st.booleans()):
            control["min_accuracy"] = draw(st.sampled_from([0.5, 0.8]))
        if draw(st.booleans()):
            control["min_seconds_per_task"] = f"{draw(st.sampled_from([5, 20, 60]))}s"
            control["max_fast"] = draw(st.integers(1, 3))
        project["control"] = control
    kinds = draw(st.sampled_from([["crowd"], ["team"], ["crowd", "team"]]))
    performers = []
    for kind in kinds:
        group: dict[str, Any] = {"name": kind, "kind": kind,
                                 "seconds_per_task": {"dist": "exponential", "mean": draw(st.sampled_from([10, 60]))},
                                 "skip_rate": draw(st.sampled_from([0.0, 0.1])),
                                 "abandon_rate": draw(st.sampled_from([0.0, 0.05])), **_quality(draw)}
        if kind == "team":
            group["size"] = draw(st.integers(1, 6))
        else:
            group.update(population=draw(st.integers(3, 30)), sessions_per_hour=draw(st.integers(5, 100)),
                         suites_per_session={"dist": "geometric", "mean": 4})
        performers.append(group)
    names = [b["name"] for b in batches]
    events = []
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["pause", "resume", "cancel", "top_up"]))
        at = f"{draw(st.integers(0, 2 * DAY))}s"
        target = draw(st.floats(0.1, 5.0)) if action == "top_up" else draw(st.sampled_from(names))
        events.append({"at": at, action: target})
    return {
        "name": "qc-property",
        "start": draw(st.sampled_from(["2026-12-01T00:00:00Z", "2026-10-24T18:00:00Z"])),
        "timezone": draw(st.sampled_from(["UTC", "Europe/Berlin"])),
        "horizon": f"{draw(st.integers(1, 3))}d",
        "account": {"balance": draw(st.sampled_from([0.3, 2.0, 50.0])), "fee_rate": 0.3, "min_fee": 0.005,
                    "min_reward": 0},  # rewards of 0 are drawn too
        "projects": [project],
        "performers": performers,
        "events": events,
    }


SEEDS = st.integers(0, 2**16)


def _run(scenario: dict[str, Any], seed: int) -> labelsim.SimulationResult:
    note(f"scenario = {scenario!r}\nseed = {seed}")
    return labelsim.simulate(labelsim.load_scenario(scenario), seed=seed)


def _micro(usd: pd.Series) -> np.ndarray:
    return (usd * 1e6).round().astype(np.int64).to_numpy()


@SETTINGS
@given(scenario=scenarios(), seed=SEEDS)
def test_money_rejected_work_is_never_charged(scenario: dict[str, Any], seed: int) -> None:
    result = _run(scenario, seed)
    raw, a, ledger = result.raw, result.assignments, result.ledger
    cost = _micro(a["reward_usd"]) + _micro(a["fee_usd"])
    paid = ((a["outcome"] == "submitted") & (a["review"] != "pending")).to_numpy()
    held = ((a["outcome"] == "in_flight") | (a["review"] == "pending")).to_numpy()
    released = ~paid & ~held
    assert not ((a["outcome"] == "rejected") & (a["review"] != "rejected")).any()

    kinds = ledger["kind"].to_numpy()
    amounts = _micro(ledger["amount_usd"])
    charged = int(amounts[kinds == "charge"].sum())
    assert charged == int(cost[paid].sum()), "charges = accepted (or unreviewed) submissions × their cost"
    assert int(amounts[kinds == "release"].sum()) == int(cost[released].sum())
    assert int(amounts[kinds == "reserve"].sum()) == int(cost.sum())  # reserve = charge + release + still held
    assert raw.final_reserved == int(cost[held].sum())
    top_ups = sum(amount for _, amount in raw.top_ups)
    assert raw.final_balance == raw.opening_balance + top_ups - charged
    assert (ledger["available_usd"] >= -1e-9).all()
    spent = result.batches["spent_usd"].to_numpy()
    for idx, (project, batch) in enumerate(raw.batch_keys):
        rows = ((a["batch"] == batch) & (a["project"] == project)).to_numpy()
        assert round(spent[idx] * 1e6) == int(cost[paid & rows].sum()), batch
    # rejected work: the release comes at the verdict
    rejected = a[a["outcome"] == "rejected"]
    releases = Counter(zip(ledger.loc[kinds == "release", "batch"], ledger.loc[kinds == "release", "at"], strict=True))
    for batch, at in zip(rejected["batch"].astype(str), rejected["reviewed_at"], strict=True):
        assert releases[(batch, at)] > 0, (batch, at)


@SETTINGS
@given(scenario=scenarios(), seed=SEEDS)
def test_no_banned_performer_gets_work_after_the_ban(scenario: dict[str, Any], seed: int) -> None:
    result = _run(scenario, seed)
    raw = result.raw
    table = raw.table()
    for t, pid, project, seq in raw.bans:
        batches = [i for i, (p, _) in enumerate(raw.batch_keys) if p == project]
        later = (table[:, 2] == pid) & np.isin(table[:, 0], batches) & (table[:, 7] > seq)
        assert not later.any(), f"performer {pid} banned at {t} took work after: {table[later][:3]}"
    assert len({(pid, project) for _, pid, project, _ in raw.bans}) == len(raw.bans)  # banned once
    banned_at = result.performers["banned_at"]
    assert banned_at.notna().sum() == len({pid for _, pid, _, _ in raw.bans})


@SETTINGS
@given(scenario=scenarios(), seed=SEEDS)
def test_no_performer_exceeds_its_limits(scenario: dict[str, Any], seed: int) -> None:
    result = _run(scenario, seed)
    spec = result.scenario
    a = result.assignments
    taken = a[(a["outcome"] != "skipped") & (a["performer"] != "(before start)")]
    for group in spec.performers:
        if group.limits is None:
            continue
        mine = taken[taken["group"] == group.name]
        if group.limits.per_batch is not None and len(mine):
            assert mine.groupby(["performer", "batch"], observed=True).size().max() <= group.limits.per_batch
        if group.limits.per_day is not None and len(mine):
            day = mine["reserved_at"].dt.tz_convert(spec.timezone).dt.date
            assert mine.groupby([mine["performer"], day], observed=True).size().max() <= group.limits.per_day


@SETTINGS
@given(scenario=scenarios(), seed=SEEDS)
def test_never_the_same_suite_twice_and_items_need_their_accepted_answers(scenario: dict[str, Any], seed: int) -> None:
    result = _run(scenario, seed)
    spec, a = result.scenario, result.assignments
    assert not a.duplicated(["project", "batch", "suite", "performer"]).any()
    accepted = a[(a["outcome"] == "submitted") & a["review"].isin(["accepted", "none"])]
    for idx, (_, b) in enumerate(spec.batches()):
        row = result.batches.iloc[idx]
        counts = accepted[accepted["batch"] == b.name].groupby("suite").size()
        high = b.dynamic_overlap.max if b.dynamic_overlap else b.overlap
        low = b.overlap
        assert counts.max() <= high if len(counts) else True
        sizes = [min(b.tasks_per_suite, b.items - k * b.tasks_per_suite)
                 for k in range(-(-b.items // b.tasks_per_suite))]
        full = sum(sizes[s] for s, n in counts.items() if n >= low)
        assert row["labeled_items"] <= full, b.name
        if b.dynamic_overlap is None:
            assert row["labeled_items"] == full, b.name
        assert row["submitted"] == counts.sum()
        assert row["rejected"] == int(((a["batch"] == b.name) & (a["outcome"] == "rejected")).sum())
        if row["status"] == "Completed":
            assert row["labeled_items"] == row["items"] and (counts >= low).all() and len(counts) == len(sizes)


@settings(SETTINGS, max_examples=30)
@given(scenario=scenarios(), seed=SEEDS)
def test_frames_and_statuses(scenario: dict[str, Any], seed: int) -> None:
    result = _run(scenario, seed)
    for name in RUN_FRAMES:
        assert check_schema(getattr(result, name), name) == [], name
    logs: dict[int, list[str]] = {}
    for _, idx, status in result.raw.status_log:
        logs.setdefault(idx, []).append(status)
    for statuses in logs.values():
        changes = [s for k, s in enumerate(statuses) if k == 0 or s != statuses[k - 1]]
        for old, new in itertools.pairwise(changes):
            assert new in ALLOWED_TRANSITIONS[old], changes
    again = _run(scenario, seed)
    for name in ("assignments", "ledger", "performers"):
        pd.testing.assert_frame_equal(getattr(result, name), getattr(again, name), obj=name)
