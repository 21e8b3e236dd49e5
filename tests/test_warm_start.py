"""Warm start from a live log: in-flight reservations with their holders and held times, history, decay, limits.

Checked against theory: constant work times end at c − held; exponential remaining work is memoryless;
the expected number of sessions under a decay is the integral of the rate times the multiplier.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labelsim
from labelsim.scenario import Scenario

START = "2026-03-02T00:00:00Z"


def _scenario(state: dict[str, Any] | None = None, *, items: int = 1, overlap: int = 1,
              work: dict[str, Any] | None = None, crowd: dict[str, Any] | None = None, time_limit: str = "10m",
              horizon: str = "2d") -> Scenario:
    batch: dict[str, Any] = {"name": "b", "items": items, "overlap": overlap, "reward": 0.01, "time_limit": time_limit}
    if state is None:
        batch["launch_at"] = "0s"
    else:
        batch["state"] = {"status": "Processing", **state}
    group = {"name": "crowd", "kind": "crowd", "sessions_per_hour": 1e-3, "population": 10,
             "seconds_per_task": work or {"dist": "constant", "value": 100}, **(crowd or {})}
    return Scenario.from_mapping({"start": START, "horizon": horizon, "account": {"balance": 1e4},
                                  "projects": [{"name": "p", "batches": [batch]}], "performers": [group]})


def _ended_s(result: labelsim.SimulationResult) -> np.ndarray:
    frame = result.assignments
    return (frame["ended_at"] - result.start).dt.total_seconds().to_numpy()


def test_constant_work_submits_at_c_minus_held() -> None:
    result = labelsim.simulate(_scenario({"in_flight": [{"performer": "ann", "held": "30s"}]}), seed=1)
    row = result.assignments.iloc[0]
    assert row["outcome"] == "submitted" and str(row["performer"]) == "ann"
    assert (row["reserved_at"] - result.start).total_seconds() == pytest.approx(-30.0)
    assert _ended_s(result)[0] == pytest.approx(70.0)
    assert result.batches["status"].iloc[0] == "Completed"


def test_too_long_work_expires_at_limit_minus_held_and_returns_the_suite() -> None:
    scenario = _scenario({"in_flight": [{"held": "100s"}]}, work={"dist": "constant", "value": 700})
    result = labelsim.simulate(scenario, seed=1)
    first = result.assignments.iloc[0]
    assert first["outcome"] == "expired"
    assert _ended_s(result)[0] == pytest.approx(500.0)
    assert result.batches["expired"].iloc[0] == 1  # the suite went back to the pool


def test_a_queue_of_reservations_is_worked_in_turn() -> None:
    """An MTurk-style queue: ann works one (60 s done of 100 s), two more wait; constant work ends at 40, 140, 240 s."""
    queue = [{"performer": "ann", "held": "90s", "worked": "60s"},
             {"performer": "ann", "held": "80s", "worked": "0s"},
             {"performer": "ann", "held": "70s", "worked": "0s"}]
    result = labelsim.simulate(_scenario({"in_flight": queue}, items=3, time_limit="10m"), seed=1)
    frame = result.assignments.sort_values("ended_at")
    assert (frame["outcome"] == "submitted").all() and set(frame["performer"].astype(str)) == {"ann"}
    ended = (frame["ended_at"] - result.start).dt.total_seconds().to_numpy()
    assert ended == pytest.approx([40.0, 140.0, 240.0])


def test_a_queued_reservation_expires_at_its_own_limit() -> None:
    """Work 100 s each, limit 150 s: the second waits until 100 s and would end at 200 s, past 150 − 20 = 130 s."""
    queue = [{"performer": "ann", "held": "10s", "worked": "0s"}, {"performer": "ann", "held": "20s", "worked": "0s"}]
    result = labelsim.simulate(_scenario({"in_flight": queue}, items=2, time_limit="150s", horizon="5m"), seed=1)
    first = result.assignments[result.assignments["reserved_at"] < result.start].sort_values("reserved_at")
    assert list(first["outcome"]) == ["expired", "submitted"]  # reserved 20 s ago expires; reserved 10 s ago submits
    assert list((first["ended_at"] - result.start).dt.total_seconds()) == pytest.approx([130.0, 100.0])


def test_worked_cannot_exceed_held() -> None:
    with pytest.raises(ValueError, match=r"in_flight\[0\]\.worked \(50 s\) is more than held \(20 s\)"):
        _scenario({"in_flight": [{"performer": "ann", "held": "20s", "worked": "50s"}]})


def test_exponential_remaining_work_is_memoryless() -> None:
    mean, n = 120.0, 300
    held = [{"held": f"{h}s"} for h in np.linspace(1, 400, n)]
    scenario = _scenario({"in_flight": held}, items=n, work={"dist": "exponential", "mean": mean}, time_limit="1d")
    result = labelsim.simulate(scenario, seed=3)
    frame = result.assignments
    first = frame[frame["reserved_at"] < result.start]
    remaining = (first["ended_at"] - result.start).dt.total_seconds().to_numpy()
    assert len(remaining) == n
    assert abs(remaining.mean() - mean) < 4 * mean / math.sqrt(n)  # Exp(mean) whatever the held time


def test_history_binds_never_the_same_suite_twice() -> None:
    state = {"submitted": 1, "suites": [{"submitted_by": ["ann"]}], "done": {"ann": 1}}
    alone = _scenario(state, overlap=2, crowd={"population": 1, "sessions_per_hour": 5}, horizon="1d")
    assert labelsim.simulate(alone, seed=1).batches["status"].iloc[0] == "Processing"  # ann cannot take it again
    two = _scenario(state, overlap=2, crowd={"population": 2, "sessions_per_hour": 5}, horizon="1d")
    assert labelsim.simulate(two, seed=1).batches["status"].iloc[0] == "Completed"


@pytest.mark.parametrize("age_h", [0.0, 2.0])
def test_decay_expected_sessions(age_h: float) -> None:
    """E[sessions in [0, T]] = rate · ∫ 1 + (burst − 1)·2^(−(age + t)/h) dt."""
    rate, burst, half, hours = 60.0, 4.0, 1.0, 3.0
    k = math.log(2) / half
    expected = rate * (hours + (burst - 1) / k * (math.exp(-k * age_h) - math.exp(-k * (age_h + hours))))
    _assert_mean_sessions({"burst": burst, "half_life": f"{half}h"}, rate, age_h, hours, expected)


def _assert_mean_sessions(decay: dict[str, object], rate: float, age_h: float, hours: float, expected: float) -> None:
    """Sessions of a crowd with ``decay`` over ``hours`` from batch age ``age_h``: their mean over 12 runs is
    ``expected`` within 4 standard errors of Poisson counts."""
    crowd = {"sessions_per_hour": rate, "decay": decay, "population": 100000}
    state = {"age": f"{age_h}h"} if age_h else None
    # every session takes one suite and holds it past the horizon: the batch stays open, sessions are counted
    scenario = _scenario(state, items=1500, crowd=crowd, horizon=f"{hours}h", time_limit="2d",
                         work={"dist": "constant", "value": 1e5})
    counts = [labelsim.simulate(scenario, seed=s).performers["sessions"].sum() for s in range(12)]
    se = math.sqrt(expected / len(counts))
    assert abs(np.mean(counts) - expected) < 4 * se


def _fade_integral(rate: float, exponent: float, scale_h: float, a_h: float, b_h: float) -> float:
    """rate · ∫_a^b (1 + t/scale)^(−exponent) dt, hours."""
    if exponent == 1.0:
        return rate * scale_h * math.log((1 + b_h / scale_h) / (1 + a_h / scale_h))
    power = 1.0 - exponent
    return rate * scale_h / power * ((1 + b_h / scale_h) ** power - (1 + a_h / scale_h) ** power)


@pytest.mark.parametrize(("exponent", "age_h", "burst"), [(1.0, 0.0, 1.0), (0.5, 3.0, 1.0), (2.0, 0.0, 1.0),
                                                           (0.7, 0.0, 0.5)])
def test_fade_expected_sessions(exponent: float, age_h: float, burst: float) -> None:
    """E[sessions in [0, T]] = rate · ∫ burst_part · (1 + (age + t)/scale)^(−exponent) dt (a fade with no floor)."""
    rate, scale, hours = 120.0, 0.5, 6.0
    if burst == 1.0:
        expected = _fade_integral(rate, exponent, scale, age_h, age_h + hours)
        decay: dict[str, object] = {"fade_exponent": exponent, "fade_scale": f"{scale}h"}
    else:  # a slow start (burst < 1) under a fade: the integral by quadrature
        t = np.linspace(age_h, age_h + hours, 200_001)
        m = (1 + (burst - 1) * 2 ** (-t / 1.0)) * (1 + t / scale) ** -exponent
        expected = rate * float(np.sum((m[1:] + m[:-1]) / 2 * np.diff(t)))
        decay = {"burst": burst, "half_life": "1h", "fade_exponent": exponent, "fade_scale": f"{scale}h"}
    _assert_mean_sessions(decay, rate, age_h, hours, expected)


@pytest.mark.parametrize("exponent", [0.5, 1.0])
def test_open_work_exponent_makes_the_tail(exponent: float) -> None:
    """Sessions at rate r·(open/needed)^β, one near-instant suite each: with k of N suites left the next comes
    after Exp(r·(k/N)^β), so E[time to finish] = Σ_k 1 / (r·(k/N)^β) (β = 1: (N/r)·H_N, a long tail)."""
    n, rate = 50, 60.0
    k = np.arange(1, n + 1)
    expected_h = float(np.sum(1.0 / (rate * (k / n) ** exponent)))
    sd_h = math.sqrt(float(np.sum((1.0 / (rate * (k / n) ** exponent)) ** 2)))
    crowd = {"sessions_per_hour": rate, "population": 100000, "open_work_exponent": exponent,
             "suites_per_session": {"dist": "constant", "value": 1}}
    scenario = _scenario(None, items=n, crowd=crowd, horizon="30d", work={"dist": "constant", "value": 0.01})
    runs = 30
    ends = [labelsim.simulate(scenario, seed=s).batches["completed_at"].iloc[0] for s in range(runs)]
    hours = np.array([(e - pd.Timestamp(START)).total_seconds() / 3600 for e in ends])
    assert abs(hours.mean() - expected_h) < 4 * sd_h / math.sqrt(runs)


def test_per_batch_limit_and_carried_counts() -> None:
    crowd = {"sessions_per_hour": 30, "population": 5, "limits": {"per_batch": 3},
             "suites_per_session": {"dist": "constant", "value": 10}}
    state = {"done": {"ann": 2}}
    result = labelsim.simulate(_scenario(state, items=100, crowd=crowd, horizon="1d"), seed=2)
    taken = result.assignments[result.assignments["outcome"] != "skipped"].groupby("performer", observed=True).size()
    assert taken.max() <= 3
    assert taken.get("ann", 0) <= 1  # two done before the start
    assert result.batches["status"].iloc[0] == "Processing"  # 5 people × 3 < 100 suites


def test_top10_share_of_work_runs() -> None:
    scenario = _scenario(None, items=50, crowd={"sessions_per_hour": 30, "top10_share_of_work": 0.6})
    assert labelsim.simulate(scenario, seed=1).batches["status"].iloc[0] == "Completed"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["ann", "bob"]), st.integers(1, 500), st.booleans()), min_size=1,
                max_size=8, unique_by=lambda x: x[1]))
def test_queued_reservations_end_in_turn(items: list[tuple[str, int, bool]]) -> None:
    """Constant work of 60 s, limit 600 s: in each performer's queue a reservation ends 60 s − worked after the one
    before it (the head: after now), or expires at 600 − held if that comes first; nothing ends after its limit."""
    work, limit = 60.0, 600.0
    queue = []
    for k, (who, held, head_worked) in enumerate(items):
        first = all(other != who for other, _, _ in items[:k])
        worked = min(held, 30) if first and head_worked else 0
        queue.append({"performer": who, "held": f"{held}s", "worked": f"{worked}s"})
    scenario = _scenario({"in_flight": queue}, items=len(queue), time_limit=f"{limit:g}s", horizon="1h",
                         work={"dist": "constant", "value": work})
    result = labelsim.simulate(scenario, seed=1)
    frame = result.assignments[result.assignments["reserved_at"] < result.start]
    held_s = (result.start - frame["reserved_at"]).dt.total_seconds().round().astype(int)
    ended_s = (frame["ended_at"] - result.start).dt.total_seconds()
    ended = dict(zip(held_s, zip(ended_s, frame["outcome"], strict=True), strict=True))
    busy: dict[str, float] = {}
    for item, (who, held, _) in zip(queue, items, strict=True):
        end, outcome = ended[held]
        due = busy.get(who, 0.0) + work - float(item["worked"][:-1])
        expected = due if due < limit - held else limit - held
        assert end == pytest.approx(expected)
        assert outcome == ("submitted" if due < limit - held else "expired")
        busy[who] = end
