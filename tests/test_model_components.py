"""Unit tests of the model's components, each on its own (account, status rules, dispatch,
performer behaviour, recorder, clock) plus the hooks the core wires (quality control, in-flight registry)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from conftest import team_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

import labelsim
from labelsim.model.account import Account, assignment_cost
from labelsim.model.assignments import Assignments
from labelsim.model.behaviour import StandardBehaviour
from labelsim.model.clock import Clock
from labelsim.model.core import LabelingModel
from labelsim.model.dispatch import Dispatcher, first_open
from labelsim.model.entities import BatchRun, build_batches
from labelsim.model.performers import Worker
from labelsim.model.quality import QualityControl
from labelsim.model.recorder import Recorder, final_of
from labelsim.model.records import BatchFinal
from labelsim.model.status import StatusRules
from labelsim.rng import RandomStreams
from labelsim.vocabulary import (
    ABANDONED,
    ARCHIVE,
    CANCELED,
    COMPLETED,
    ERROR,
    EXPIRED,
    IN_FLIGHT,
    LOADING,
    NEW,
    NO_MONEY,
    PROCESSING,
    QUEUED,
    SKIPPED,
    STATUSES,
    STOPPED,
    STOPPING,
    SUBMITTED,
)


def _scenario(batches: list[dict[str, Any]], **top: Any) -> labelsim.Scenario:
    spec = {
        "name": "components",
        "start": "2026-12-01T00:00:00Z",
        "horizon": "1d",
        "account": {"balance": 100},
        "projects": [{"name": "p", "batches": batches}],
        "performers": [{"name": "team", "kind": "team", "size": 1,
                        "seconds_per_task": {"dist": "constant", "value": 10}}],
    }
    spec.update(top)
    return labelsim.load_scenario(spec)


def _batches(*sizes: int, queues: tuple[int, ...] | None = None, **top: Any) -> list[BatchRun]:
    """Batches with ``sizes`` items (one task per suite), labeling queues ``queues`` (default all 1)."""
    queues = queues or (1,) * len(sizes)
    specs = [{"name": f"b{i}", "items": n, "labeling_queue": q, "reward": 0.01, "time_limit": "10m"}
             for i, (n, q) in enumerate(zip(sizes, queues, strict=True))]
    batches = build_batches(_scenario(specs, **top))
    for b in batches:
        b.items_total = b.spec.items
        b.add_suites(b.spec.items, 0.0)
    return batches


# --------------------------------------------------------------------------- account


def test_assignment_cost_has_a_minimum_fee():
    assert assignment_cost(0.01, 0.3, 0.005) == (10_000, 5_000)  # 30 % of 0.01 is below the minimum
    assert assignment_cost(1.0, 0.3, 0.005) == (1_000_000, 300_000)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10_000), st.booleans()), max_size=40), st.integers(0, 10**6))
def test_account_reserve_then_charge_or_release_balances_exactly(moves: list[tuple[int, bool]], top_up: int):
    account = Account(500_000)
    for cost, _ in moves:
        account.reserve(cost)
    assert account.reserved == sum(c for c, _ in moves)
    assert account.available == 500_000 - account.reserved
    account.top_up(top_up, 1.0)
    for cost, submitted in moves:
        (account.charge if submitted else account.release)(cost)
    assert account.reserved == 0
    assert account.balance == 500_000 + top_up - sum(c for c, s in moves if s)
    assert account.top_ups == [(1.0, top_up)]


def test_account_sequence_numbers_increase():
    account = Account(0)
    first = account.next_seq()
    account.top_up(5, 0.0)
    assert account.top_up_seq == [first + 1]
    assert account.next_seq() == first + 2


def test_account_money_checks():
    account = Account(100)
    account.reserve(60)
    assert account.can_pay(40) and not account.can_pay(41)
    assert not account.can_start(cost=41, open_slots=1, remaining=1)
    assert account.can_start(cost=41, open_slots=0, remaining=5)  # nothing to hand out now: no check
    full = Account(100, full_cost=True)
    assert full.can_start(cost=10, open_slots=3, remaining=10)
    assert not full.can_start(cost=10, open_slots=3, remaining=11)


def test_account_opening_reservation():
    account = Account(1_000_000)
    account.reserve(300_000)  # in-flight work at the start
    assert account.fix_opening(None) == [] and account.opening_reserved == 300_000
    assert account.fix_opening(0.5) == [] and account.reserved == 500_000
    low = Account(1_000_000)
    low.reserve(300_000)
    (message,) = low.fix_opening(0.1)
    assert "below the cost" in message and low.reserved == 300_000
    assert Account(0).fix_opening(1.0) == ["reserved money exceeds the balance"]


# --------------------------------------------------------------------------- status rules


def _rules(batches: list[BatchRun], balance: int = 10**9, strict: bool = True) -> StatusRules:
    return StatusRules(sorted(batches, key=lambda b: (b.queue, b.idx)), Account(balance), strict=strict)


@pytest.mark.parametrize(("flags", "expected"), [
    ({}, NEW),
    ({"launched": True}, PROCESSING),
    ({"launched": True, "archived": True}, ARCHIVE),
    ({"launched": True, "canceled": True}, CANCELED),
    ({"launched": True, "error": True}, ERROR),
    ({"launched": True, "paused": True}, STOPPED),
    ({"launched": True, "paused": True, "in_flight": 1}, STOPPING),
    ({"launched": True, "loading": 1, "submitted": 3}, LOADING),  # items loading, nothing loaded left to do
    ({"launched": True, "loading": 1}, PROCESSING),  # loaded work goes on while more items load
    ({"launched": True, "no_money": True}, NO_MONEY),
    ({"launched": True, "submitted": 3}, COMPLETED),
    ({"launched": True, "submitted": 3, "streaming": True}, PROCESSING),
])
def test_status_is_derived_from_flags_and_counters(flags: dict[str, Any], expected: str):
    (b,) = _batches(3)
    for name, value in flags.items():
        setattr(b, name, value)
    assert _rules([b]).derive(b) == expected


def test_a_batch_waits_queued_behind_a_blocking_higher_queue():
    high, low = _batches(5, 5, queues=(1, 2))
    for b in (high, low):
        b.launched = True
    rules = _rules([high, low])
    for status in STATUSES:
        high.status = status
        blocking = status in (PROCESSING, STOPPING, LOADING)
        assert rules.derive(low) == (QUEUED if blocking else PROCESSING), status
    high.status = PROCESSING
    assert _rules([high, low], strict=False).derive(low) == PROCESSING  # work conserving


def test_entering_processing_without_money_flags_no_money():
    (b,) = _batches(3)
    b.launched = True
    rules = _rules([b], balance=b.cost - 1)
    assert rules.derive(b) == NO_MONEY and b.no_money


# --------------------------------------------------------------------------- dispatch


class _Starts:
    """Stands in for the assignments component: records what would start."""

    def __init__(self) -> None:
        self.started: list[tuple[int, int, int]] = []

    def __call__(self, w: Worker, b: BatchRun, suite: Any, outcome: int, delay: float) -> None:
        self.started.append((b.idx, suite.sid, w.pid))
        suite.open -= 1
        b.open_slots -= 1
        if not suite.open:
            b.pool.popleft()


class _Group:
    def decide(self, w: Worker, suite: Any, b: BatchRun) -> tuple[int, float]:
        return SUBMITTED, 1.0


def _dispatcher(batches: list[BatchRun], *, parallel: bool = False) -> tuple[Dispatcher, _Starts]:
    by_queue = sorted(batches, key=lambda b: (b.queue, b.idx))
    dispatch = Dispatcher(by_queue, Account(10**9), parallel=parallel, update=lambda: None)
    starts = _Starts()
    dispatch.start = starts
    for b in batches:
        b.status = PROCESSING
    dispatch.rebuild_offer()
    return dispatch, starts


def _worker(pid: int) -> Worker:
    return Worker(pid, _Group(), 1.0)  # type: ignore[arg-type]


def test_dispatch_offers_the_highest_queue_first():
    low, high = _batches(3, 3, queues=(3, 1))
    dispatch, starts = _dispatcher([low, high])
    assert [[b.idx for b in g] for g in dispatch.groups_offer] == [[high.idx], [low.idx]]
    for pid in range(4):
        assert dispatch.next_work(_worker(pid))
    assert [b for b, _, _ in starts.started] == [high.idx] * 3 + [low.idx]


def test_dispatch_same_queue_smallest_remaining_first():
    big, small = _batches(10, 4)
    dispatch, starts = _dispatcher([big, small])
    dispatch.next_work(_worker(0))
    assert starts.started[-1][0] == small.idx
    small.labeled_items = 0
    big.labeled_items = 8  # now big has 2 items left, small 4
    dispatch.next_work(_worker(1))
    assert starts.started[-1][0] == big.idx


def test_dispatch_parallel_same_queue_is_round_robin():
    batches = _batches(10, 10, 10)
    dispatch, starts = _dispatcher(batches, parallel=True)
    for pid in range(6):
        dispatch.next_work(_worker(pid))
    order = [b for b, _, _ in starts.started]
    assert sorted(order[:3]) == [0, 1, 2] and order[3:] == order[:3]


def test_dispatch_never_gives_a_performer_the_same_suite_twice():
    (b,) = _batches(2)
    b.pool[0].takers = {7}
    assert first_open(b, 7) is b.pool[1]
    assert first_open(b, 8) is b.pool[0]
    b.pool[1].takers = {7}
    dispatch, starts = _dispatcher([b])
    assert not dispatch.next_work(_worker(7))
    assert starts.started == []


def test_dispatch_without_money_flags_the_batch_and_updates():
    (b,) = _batches(3)
    updates: list[int] = []
    dispatch = Dispatcher([b], Account(b.cost - 1), parallel=False, update=lambda: updates.append(1))
    dispatch.start = _Starts()
    b.status = PROCESSING
    dispatch.rebuild_offer()
    assert not dispatch.next_work(_worker(0))
    assert b.no_money and updates == [1]


def test_idle_members_are_offered_new_work_longest_idle_first():
    (b,) = _batches(1)
    dispatch, starts = _dispatcher([b])
    first, second = _worker(1), _worker(2)
    dispatch.idle[first] = None
    dispatch.idle[second] = None
    dispatch.offer(b)
    assert [pid for _, _, pid in starts.started] == [1]


# --------------------------------------------------------------------------- performer behaviour


def _behaviour(seconds_per_task: dict[str, Any] | None = None, **rates: Any) -> StandardBehaviour:
    scenario = team_scenario()
    if seconds_per_task is not None:
        scenario["performers"][0]["seconds_per_task"] = seconds_per_task
    spec = labelsim.load_scenario(scenario).performers[0].model_copy(update=rates)
    return StandardBehaviour(spec, RandomStreams(3).generator)


def test_behaviour_skip_and_abandon_rates():
    (b,) = _batches(1)
    suite = b.pool[0]
    assert _behaviour(skip_rate=1.0).decide(_worker(0), suite, b) == (SKIPPED, 0.0)
    assert _behaviour(skip_rate=0.0, abandon_rate=1.0).decide(_worker(0), suite, b) == (ABANDONED, b.time_limit)
    behaviour = _behaviour(skip_rate=0.2, abandon_rate=0.1)
    n = 4000
    outcomes = [behaviour.decide(_worker(0), suite, b)[0] for _ in range(n)]
    for outcome, p in ((SKIPPED, 0.2), (ABANDONED, 0.1)):
        share = outcomes.count(outcome) / n
        assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n), (outcome, share)


def test_behaviour_work_is_the_sum_of_task_times_times_speed_and_expires_at_the_limit():
    (b,) = _batches(1)
    suite = b.pool[0]
    suite.n_tasks = 3
    behaviour = _behaviour({"dist": "constant", "value": 10})
    fast = Worker(0, None, 0.5)
    assert behaviour.decide(fast, suite, b) == (SUBMITTED, 15.0)
    b.time_limit = 14.0
    assert behaviour.decide(fast, suite, b) == (EXPIRED, 14.0)


def test_behaviour_mean_work_matches_the_distribution():
    (b,) = _batches(1)
    suite = b.pool[0]
    behaviour = _behaviour()  # exponential, mean 60 s
    work = np.array([behaviour.decide(_worker(0), suite, b)[1] for _ in range(4000)])
    assert abs(work.mean() - 60.0) < 4 * 60.0 / math.sqrt(len(work))


# --------------------------------------------------------------------------- clock and recorder


def test_clock_counts_pending_actions_and_ignores_those_beyond_the_horizon():
    clock = Clock(100.0)
    seen: list[float] = []

    def act(event: Any) -> None:
        seen.append(clock.now)
        clock.done()

    clock.schedule(150.0, act)
    clock.schedule(40.0, act)
    assert clock.pending == 1
    clock.call(100.0, lambda _e: clock.stop("horizon"))
    clock.call(100.0, lambda _e: clock.stop("settled"))
    clock.run()
    assert seen == [40.0] and clock.pending == 0 and clock.stop_reason == "horizon"


def test_recorder_builds_a_raw_run_with_unfinished_work_and_typed_finals():
    clock = Clock(10.0)
    batches = _batches(4)
    recorder = Recorder(clock, batches, progress_every=4.0)
    recorder.new_performer(0, "team-1", "team")
    recorder.warn(0.0, "pause", "b0", "refused")
    recorder.sample_progress()
    clock.call(10.0, lambda _e: clock.stop("horizon"))
    clock.run()
    unfinished = [(0, 0, 0, 0.0, 1.0, math.nan, IN_FLIGHT, 1, math.nan)]
    raw = recorder.build(Account(50), unfinished)
    assert [t for t, *_ in raw.progress] == [0, 4.0, 8.0, 10.0]
    assert raw.warnings == [(0.0, "pause", "b0", "refused")]
    assert raw.performer_names[0] == "team-1" and raw.sessions == {0: 0}
    assert raw.assignments[0][6] == IN_FLIGHT and math.isnan(raw.assignments[0][5])
    final = raw.batch_final[0]
    assert isinstance(final, BatchFinal) and final == final_of(batches[0])
    assert final.items == final["items"] == 4


# --------------------------------------------------------------------------- assignments and hooks


def test_in_flight_registry_holds_exactly_the_unfinished_assignments():
    scenario = labelsim.load_scenario(team_scenario(items=500, size=4, horizon="10m"))
    model = LabelingModel(scenario, RandomStreams(5))
    raw = model.run()
    registry = model.assignments
    assert isinstance(registry, Assignments)
    in_flight = [a for a in raw.assignments if a[6] == IN_FLIGHT]
    assert len(in_flight) == len(registry.in_flight) == sum(f.in_flight for f in raw.batch_final) == 4
    reserved_order = [a[4] for a in in_flight]
    assert reserved_order == sorted(reserved_order)


class _NobodyWorks(QualityControl):
    limits = True

    def may_take(self, w: Worker, b: BatchRun) -> bool:
        return False


class _HoldEverything(QualityControl):
    reviews = True

    def attach(self, model: LabelingModel) -> None:
        self.held: list[Any] = []

    def on_submitted(self, event: Any) -> bool:
        self.held.append(event._value)
        return True


def test_quality_hooks_are_called():
    scenario = labelsim.load_scenario(team_scenario(items=20, size=2, horizon="1d"))
    banned = LabelingModel(scenario, RandomStreams(1), quality=_NobodyWorks()).run()
    assert banned.assignments == []
    held = _HoldEverything()
    raw = LabelingModel(scenario, RandomStreams(1), quality=held).run()
    submitted = [a for a in raw.assignments if a[6] == SUBMITTED]
    assert len(held.held) == len(submitted) == 20
    assert raw.final_balance == raw.opening_balance  # nothing charged while held
    assert raw.final_reserved == 20 * sum(raw.costs[0])


class _AlwaysSkip:
    def __init__(self, spec: Any, generator: Any) -> None:
        self.calls = 0

    def decide(self, w: Worker, suite: Any, b: BatchRun) -> tuple[int, float]:
        self.calls += 1
        return SKIPPED, 0.0


def test_a_behaviour_plugs_in_by_group_name():
    scenario = labelsim.load_scenario(team_scenario(items=5, size=2, horizon="1h"))
    model = LabelingModel(scenario, RandomStreams(1), behaviours={"team": _AlwaysSkip})
    raw = model.run()
    outcomes = {a[6] for a in raw.assignments}
    assert outcomes == {SKIPPED}
    assert model.groups[0].behaviour.calls == len(raw.assignments) == 10  # each member skips each suite once
