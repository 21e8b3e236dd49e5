"""Validation of the model against queueing theory (labelsim.theory).

Every check runs R independent replications (seeds 0..R-1), treats one number per replication as an i.i.d.
sample, and accepts when |sample mean − exact| < 4·SE with SE = sample std / sqrt(R).  Nothing here pins a
seeded number: a correct model fails a 4·SE check with probability ≈ 6e-5 per comparison.  Each test also
asserts that 4·SE is below 10 % of the exact value, so a model whose result is off by 10 % cannot pass by
luck of a loose tolerance.

Setting shared by the tests: an always-on team of c performers with exponential work of mean m seconds, a
large balance (money never binds) and a 1000-day time limit (nothing expires), so the platform is an M/M/c
queue (streams) or c parallel exponential servers (a batch present at launch).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import labelsim
from labelsim import theory

START = "2026-12-01T00:00:00Z"
T0 = pd.Timestamp(START)
K_SE = 4.0  # tolerance in standard errors
POWER = 0.10  # 4·SE must stay below this fraction of the exact value (detects a 10 % error)


def _seconds(stamps: pd.Series) -> np.ndarray:
    """Seconds from the scenario start (tz-aware timestamps → float)."""
    return (stamps - T0).dt.total_seconds().to_numpy()


def _check(samples: Any, exact: float, what: str) -> tuple[float, float]:
    """Assert the mean of i.i.d. ``samples`` is within K_SE standard errors of ``exact``; return (mean, se)."""
    x = np.asarray(samples, dtype=float)
    mean, se = float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x)))
    assert K_SE * se < POWER * exact, f"{what}: SE {se:.4g} too large to detect a 10% error of {exact:.4g}"
    assert abs(mean - exact) < K_SE * se, (
        f"{what}: mean {mean:.5g} vs exact {exact:.5g} (SE {se:.3g}, z = {(mean - exact) / se:+.2f}, R = {len(x)})"
    )
    return mean, se


def _team_scenario(c: int, mean_s: float, batches: list[dict[str, Any]], queue: str = "strict") -> dict[str, Any]:
    """``batches`` of one-task suites worked by an always-on team of ``c`` with exponential work of ``mean_s``."""
    common = {"reward": 0.01, "time_limit": "7d", "launch_at": 0}
    return {
        "name": "m/m/c",
        "start": START,
        "horizon": "3650d",
        "account": {"balance": 1e9},
        "policy": {"queue": queue},
        "projects": [{"name": "p", "batches": [{**common, **batch} for batch in batches]}],
        "performers": [
            {"name": "team", "kind": "team", "size": c, "seconds_per_task": {"dist": "exponential", "mean": mean_s}}
        ],
    }


def _stream_scenario(
    c: int, mean_s: float, rates_per_s: dict[int, float], until_s: float, queue: str = "work_conserving"
) -> dict[str, Any]:
    """Poisson streams of one-task suites for ``until_s`` seconds, one batch ``q<k>`` per labeling queue k."""
    batches = [
        {
            "name": f"q{q}",
            "items": 0,
            "labeling_queue": q,
            "stream": {"rate": f"{rate * 3600!r}/h", "until": f"{until_s!r}s"},
        }
        for q, rate in rates_per_s.items()
    ]
    return _team_scenario(c, mean_s, batches, queue)


def _steady(assignments: pd.DataFrame, until_s: float) -> pd.DataFrame:
    """Assignments of suites that arrived in the middle 80 % of the arrival period (warm-up and tail dropped)."""
    arrived = _seconds(assignments["available_at"])
    keep = (arrived > 0.1 * until_s) & (arrived < 0.9 * until_s)
    return assignments.loc[keep]


# --------------------------------------------------------------------------- (a) makespan


@pytest.mark.parametrize(
    ("jobs", "servers", "mean_s", "reps"),
    [
        (200, 4, 60.0, 200),  # the (N − c)·m/c term dominates
        (24, 8, 30.0, 400),  # the m·H_c drain of the last c jobs weighs a third of E[T]
        (7, 10, 60.0, 600),  # N < c: E[T] = m·H_N, the maximum of N exponentials
    ],
)
def test_makespan_of_exponential_jobs(jobs, servers, mean_s, reps):
    """E[T] = (N − c)·m/c + m·H_c for N one-task suites present at launch on c always-on performers.

    Tolerance: 4·SE of the mean makespan over `reps` replications; SE ≈ 0.5–2 % of E[T], so a 10 % error
    (or a performer left idle, or the last c jobs draining one at a time) fails.
    """
    scenario = labelsim.load_scenario(_team_scenario(servers, mean_s, [{"name": "b", "items": jobs}]))
    makespans = []
    for seed in range(reps):
        row = labelsim.simulate(scenario, seed=seed).batches.iloc[0]
        assert row["status"] == "Completed" and row["labeled_items"] == jobs
        assert row["launched_at"] == T0
        makespans.append((row["completed_at"] - T0).total_seconds())
    _check(makespans, theory.makespan_exponential(jobs, servers, mean_s), f"makespan N={jobs} c={servers}")


# --------------------------------------------------------------------------- (b) priority M/M/c

# c = 4 performers, m = 60 s, total load ρ = 0.8 split 30/30/40 % over queues 1, 2, 3 (unequal, so the
# σ_k of Cobham's formula are not symmetric), ≈ 60 000 arrivals per replication, 30 replications.
PRIO_C, PRIO_M, PRIO_RHO, PRIO_ARRIVALS, PRIO_REPS = 4, 60.0, 0.8, 60_000, 30
PRIO_SHARES = {1: 0.3, 2: 0.3, 3: 0.4}


def _priority_setup(queue: str, arrivals: int) -> tuple[labelsim.Scenario, dict[int, float], float]:
    total = PRIO_RHO * PRIO_C / PRIO_M
    rates = {q: share * total for q, share in PRIO_SHARES.items()}
    until_s = arrivals / total
    # batches listed in the file out of queue order: the model must order them by labeling queue
    order = (3, 1, 2)
    spec = _stream_scenario(PRIO_C, PRIO_M, {q: rates[q] for q in order}, until_s, queue)
    return labelsim.load_scenario(spec), rates, until_s


def _overtaken(assignments: pd.DataFrame) -> int:
    """Reservations of a lower-queue suite made while a higher-queue suite was waiting (must be 0)."""
    bad = 0
    queue = assignments["batch"].astype(str).str[1:].astype(int).to_numpy()
    avail, taken = _seconds(assignments["available_at"]), _seconds(assignments["reserved_at"])
    for q in (2, 3):
        waited = (queue < q) & (taken > avail)
        starts, ends = np.sort(avail[waited]), np.sort(taken[waited])
        t = taken[queue == q]
        # higher-queue suites with available_at < t < reserved_at, for each reservation time t
        bad += int(np.sum(np.searchsorted(starts, t, "left") - np.searchsorted(ends, t, "right")))
    return bad


@pytest.mark.slow
def test_priority_waits_match_cobham():
    """Mean wait per labeling queue under `work_conserving` = non-preemptive priority M/M/c (Cobham 1954).

    W_k = C(c, λ/μ)/(cμ) / ((1 − σ_{k−1})(1 − σ_k)).  One sample per replication: the mean wait_s of each
    queue over suites that arrived in the middle 80 % of the arrival period (the empty start and the drain
    after the streams end are dropped).  Tolerance 4·SE over 30 replications: SE ≈ 0.5 % (queue 1) to 1.5 %
    (queue 3) of the exact waits, so a 10 % error, a swapped priority or FCFS service (every W_k = 44.7 s)
    fails.  Also: W1 < W2 < W3 in every replication, the λ-weighted mean wait equals the FCFS M/M/c wait
    (conservation law: the priority discipline only reorders the queue), and no suite is ever taken while a
    suite of a higher queue waits.
    """
    scenario, rates, until_s = _priority_setup("work_conserving", PRIO_ARRIVALS)
    exact = theory.priority_mmc_waits(PRIO_C, [rates[1], rates[2], rates[3]], 1.0 / PRIO_M)
    fcfs = theory.mmc_wait(PRIO_C, sum(rates.values()), 1.0 / PRIO_M)
    per_queue, overall = [], []
    for seed in range(PRIO_REPS):
        assignments = labelsim.simulate(scenario, seed=seed).assignments
        assert (assignments["outcome"] == "submitted").all()
        assert _overtaken(assignments) == 0, f"seed {seed}: a lower queue was served before a waiting higher one"
        if seed == 0:  # the detector itself sees the violations of a reversed priority order
            swapped = assignments.assign(
                batch=assignments["batch"].astype(str).map({"q1": "q3", "q2": "q2", "q3": "q1"})
            )
            assert _overtaken(swapped) > 1000
        steady = _steady(assignments, until_s)
        waits = steady.groupby("batch", observed=True)["wait_s"].mean()
        w = [waits[f"q{q}"] for q in (1, 2, 3)]
        assert w[0] < w[1] < w[2], f"seed {seed}: waits {w} not ordered by labeling queue"
        per_queue.append(w)
        overall.append(steady["wait_s"].mean())  # arrivals are λ-weighted by construction
    samples = np.array(per_queue)
    for k in range(3):
        _check(samples[:, k], exact[k], f"Cobham W{k + 1}")
    _check(overall, fcfs, "λ-weighted mean wait vs FCFS M/M/c (conservation)")


def test_strict_queue_is_not_the_priority_queue():
    """Control: under the default `strict` policy queues 2 and 3 are Queued while queue 1 streams, so the
    waits are far from Cobham's (queue 1 alone sees an almost empty M/M/c; queues 2 and 3 wait for the end of
    the stream).  One short run; the margins are orders of magnitude, not statistical."""
    scenario, rates, _ = _priority_setup("strict", 3000)
    exact = theory.priority_mmc_waits(PRIO_C, [rates[1], rates[2], rates[3]], 1.0 / PRIO_M)
    result = labelsim.simulate(scenario, seed=1)
    waits = result.assignments.groupby("batch", observed=True)["wait_s"].mean()
    assert waits["q1"] < 0.5 * exact[0]
    assert waits["q3"] > 10 * exact[2]
    batches = result.batches.set_index("batch")
    reserved = result.assignments.groupby("batch", observed=True)["reserved_at"].min()
    assert reserved["q2"] >= batches.loc["q1", "completed_at"]
    assert reserved["q3"] >= batches.loc["q2", "completed_at"]


# --------------------------------------------------------------------------- (c) Erlang C


@pytest.mark.parametrize(
    ("servers", "rho", "reps"),
    [
        (1, 0.6, 20),  # M/M/1: C = ρ
        (5, 0.8, 30),
    ],
)
def test_probability_of_waiting_is_erlang_c(servers, rho, reps):
    """P(wait_s > 0) for one Poisson stream on c performers = Erlang C(c, λ/μ) (PASTA); mean wait = W_q.

    One sample per replication: the fraction of suites (arrived in the middle 80 % of ≈ 30 000 arrivals)
    taken after a wait, and their mean wait_s.  Tolerance 4·SE over `reps` replications; SE ≈ 0.2–0.6 % of C
    and ≈ 1–2 % of W_q, so a 10 % error in either fails.
    """
    mean_s = 60.0
    rate = rho * servers / mean_s
    until_s = 30_000 / rate
    scenario = labelsim.load_scenario(_stream_scenario(servers, mean_s, {1: rate}, until_s))
    waited, mean_wait = [], []
    for seed in range(reps):
        steady = _steady(labelsim.simulate(scenario, seed=seed).assignments, until_s)
        wait = steady["wait_s"].to_numpy()
        waited.append(np.mean(wait > 0))
        mean_wait.append(wait.mean())
    _check(waited, theory.erlang_c(servers, rate * mean_s), f"Erlang C, c={servers} ρ={rho}")
    _check(mean_wait, theory.mmc_wait(servers, rate, 1.0 / mean_s), f"M/M/{servers} W_q, ρ={rho}")
