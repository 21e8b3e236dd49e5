"""Capacity planning (labelsim.plan, labelsim.sweep), cost to finish and shortfall, adaptive replications.

The plan over a team's size is checked against the exact makespan distribution of exponential work on
always-on servers (a hypoexponential sum, labelsim.theory.makespan_exponential_cdf), itself checked against
the known mean; the plan over the balance against the exact money the work costs.  Tolerances come from
the binomial standard error, never from a pinned seeded number.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import team_scenario
from typer.testing import CliRunner

import labelsim
from labelsim import theory
from labelsim.cli import app
from labelsim.results import SCHEMAS, check_schema

COST = 0.01 + 0.005  # reward 0.01 + min fee 0.005 (the fee rate's 0.003 is below it), USD per assignment


def _crowd_scenario(items: int = 300, rate: float = 6.0) -> dict[str, Any]:
    """One-task suites, a flat-activity crowd: sessions of 5 suites on average, 30 s a suite."""
    return {
        "name": "crowd",
        "start": "2026-12-01T00:00:00Z",
        "horizon": "3d",
        "account": {"balance": 1e6},
        "projects": [{"name": "p", "batches": [
            {"name": "b", "items": items, "reward": 0.01, "time_limit": "1h", "launch_at": 0},
        ]}],
        "performers": [{
            "name": "crowd", "kind": "crowd", "sessions_per_hour": rate, "activity": "flat",
            "suites_per_session": {"dist": "geometric", "mean": 5},
            "seconds_per_task": {"dist": "exponential", "mean": 30},
        }],
    }


# --------------------------------------------------------------------------- theory


@pytest.mark.parametrize(("jobs", "servers"), [(40, 3), (10, 4), (3, 5), (1, 1)])
def test_makespan_cdf_integrates_to_the_known_mean(jobs, servers):
    """E[T] = ∫ (1 − F(t)) dt must equal (N − c)·m/c + m·H_c (or m·H_N when N < c)."""
    mean = 60.0
    exact = theory.makespan_exponential(jobs, servers, mean)
    grid = np.linspace(0, 10 * exact, 401)
    survival = [1 - theory.makespan_exponential_cdf(jobs, servers, mean, t) for t in grid]
    integral = float(np.sum((np.array(survival[1:]) + np.array(survival[:-1])) / 2 * np.diff(grid)))
    assert integral == pytest.approx(exact, rel=2e-3)
    assert theory.makespan_exponential_cdf(jobs, servers, mean, 0.0) == 0.0


def test_wilson_interval_contains_the_estimate_and_stays_in_range():
    from labelsim.planning import wilson_interval

    for successes, n in [(0, 10), (10, 10), (7, 10), (93, 100)]:
        low, high = wilson_interval(successes, n)
        assert 0.0 <= low <= successes / n <= high <= 1.0
    low, high = wilson_interval(50, 100)
    assert (low, high) == pytest.approx((0.4038, 0.5962), abs=1e-3)  # the textbook value for 50/100


# --------------------------------------------------------------------------- plan


def test_plan_team_size_agrees_with_the_exact_makespan_distribution():
    """40 exponential suites of 1 min, all there at t = 0, deadline 10 min, 90 % confidence."""
    n, deadline_s, confidence = 200, 600.0, 0.9
    exact_p = {c: theory.makespan_exponential_cdf(40, c, 60.0, deadline_s) for c in range(1, 21)}
    exact_answer = min(c for c, p in exact_p.items() if p >= confidence)
    result = labelsim.plan(team_scenario(items=40, size=3, mean_s=60.0), "performers.team.size", (1, 20),
                           deadline="10m", confidence=confidence, replications=n, seed=3)
    assert result.reachable and result.integer
    assert abs(result.required - exact_answer) <= 1, (result.required, exact_answer, result.frontier)
    assert result.analytic.method == "exact makespan" and result.analytic.value == exact_answer
    for row in result.frontier.itertuples():  # every value tried: the estimate within 4 binomial SE of exact
        p = exact_p[int(row.value)]
        assert abs(row.p_on_time - p) <= 4 * math.sqrt(p * (1 - p) / n) + 1.5 / n, (row.value, row.p_on_time, p)
        assert row.p_on_time_lo <= row.p_on_time <= row.p_on_time_hi
    assert result.frontier["value"].is_monotonic_increasing
    assert (result.frontier["value"] == result.frontier["value"].round()).all()
    assert check_schema(result.frontier, "frontier") == []
    assert [c for c, _, _ in SCHEMAS["frontier"]] == [
        "value", "replications", "p_on_time", "p_on_time_lo", "p_on_time_hi", "eta_p50_at", "eta_p90_at",
        "cost_p50_usd", "utilisation",
    ]
    assert len(result.frontier) < 20  # bracketing + bisection, not every value of the range


def test_plan_balance_is_the_exact_money_the_work_needs():
    """Two batches, overlap and multi-task suites: the money is suites × overlap × cost, to one assignment."""
    spec = team_scenario(items=30, size=4, mean_s=30.0, overlap=2, tasks_per_suite=3, balance=1.0)
    spec["projects"][0]["batches"].append({**spec["projects"][0]["batches"][0], "name": "c", "items": 20})
    exact = (10 * 2 + 7 * 2) * COST  # ceil(30/3) and ceil(20/3) suites, overlap 2
    result = labelsim.plan(spec, "account.balance", (0, 5), replications=8, seed=1)
    assert result.criterion == "no_money" and not result.integer
    assert exact - 1e-9 <= result.required <= exact + COST, (result.required, exact)
    below = result.frontier[result.frontier["value"] < exact - 1e-9]
    assert (below["p_on_time"] == 0).all() and len(below)
    assert result.p_on_time == 1.0
    assert result.analytic.value == pytest.approx(exact)


def test_plan_says_when_the_target_is_not_reachable():
    result = labelsim.plan(team_scenario(items=40, size=3, mean_s=60.0), "performers.team.size", (1, 3),
                           deadline="10m", replications=30, seed=1)
    assert not result.reachable and result.required is None
    assert result.message.startswith("not reachable")
    assert "widen the range" in result.message
    assert result.p_on_time_hi < 0.9


def test_plan_real_parameter_bisects_to_the_tolerance():
    """A crowd's sessions per hour: real values, the answer bracketed within 5 %, above the throughput guess."""
    result = labelsim.plan(_crowd_scenario(), "performers.crowd.sessions_per_hour", (1, 50), deadline="10h",
                           confidence=0.9, replications=40, seed=2)
    assert not result.integer and result.reachable
    values = result.frontier["value"].to_numpy()
    assert not np.allclose(values, np.round(values))
    tried_below = values[values < result.required]
    p = result.frontier.set_index("value")["p_on_time"]
    assert p[tried_below.max()] < 0.9 <= p[result.required]
    assert result.required - tried_below.max() <= 0.05 * result.required * (1 + 1e-9)
    # 300 suites / (5 suites per session × 10 h) = 6 sessions/h just suffice on average
    assert result.analytic.method == "throughput"
    assert result.analytic.value == pytest.approx(6.0, rel=1e-9)
    assert result.required > result.analytic.value


def test_plan_forced_integer_and_the_chosen_batches():
    spec = team_scenario(items=40, size=3, mean_s=60.0)
    spec["projects"][0]["batches"].append({**spec["projects"][0]["batches"][0], "name": "never", "launch_at": None})
    result = labelsim.plan(spec, "performers.team.size", (2, 12), deadline="20m", batches=["b"], replications=20,
                           seed=1, integer=True)
    assert result.batches == ["p/b"]
    default = labelsim.plan(spec, "performers.team.size", (2, 12), deadline="20m", replications=20, seed=1)
    assert default.batches == ["p/b"]  # a batch never launched is not waited for by default


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"vary": "performers.team.sise"}, "sise"),
    ({"vary": "performers.team.size", "between": (3, 3)}, "below the high end"),
    ({"vary": "performers.team.size", "between": (1.5, 4)}, "whole numbers"),
    ({"vary": "performers.team.size", "between": (0, 4)}, "size"),
    ({"deadline": "2026-11-30T00:00:00Z"}, "not after the scenario start"),
    ({"deadline": "40d"}, "after the scenario horizon"),
    ({"deadline": None}, "deadline"),
    ({"deadline": "soon"}, "deadline"),
    ({"confidence": 1.0}, "confidence"),
    ({"batches": ["nope"]}, "no batch named 'nope'"),
    ({"vary": "performers.team.seconds_per_task"}, "not a number"),
])
def test_plan_bad_arguments_name_the_problem(kwargs, message):
    args: dict[str, Any] = {"vary": "performers.team.size", "between": (1, 5), "deadline": "10m"}
    args.update(kwargs)
    with pytest.raises(labelsim.LabelsimError, match=message) as info:
        labelsim.plan(team_scenario(items=10), args.pop("vary"), args.pop("between"), replications=2, **args)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- sweep


def test_sweep_is_identical_on_every_executor():
    distributed = pytest.importorskip("distributed")
    spec = team_scenario(items=20, size=2, mean_s=30.0)
    grid = {"performers.team.size": [2, 4], "batches.b.overlap": [1, 2]}
    serial = labelsim.sweep(spec, grid, replications=6, seed=5)
    processes = labelsim.sweep(spec, grid, replications=6, seed=5, executor="processes", jobs=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as c, \
            distributed.Client(c) as client:
        on_dask = labelsim.sweep(spec, grid, replications=6, seed=5, executor=client)
    for other in (processes, on_dask):
        pd.testing.assert_frame_equal(serial.replications, other.replications)
        pd.testing.assert_frame_equal(serial.summary, other.summary)
    rows = serial.replications
    assert len(rows) == 4 * 6  # 4 points × 6 replications × 1 batch
    assert list(rows.columns[:3]) == ["point", "performers.team.size", "batches.b.overlap"]
    assert check_schema(rows.drop(columns=list(grid)), "sweep") == []
    assert check_schema(serial.summary.drop(columns=list(grid)), "sweep_summary") == []
    # the parameters act: overlap 2 doubles the submitted assignments, whatever the team size
    submitted = rows.groupby(list(grid))["submitted"].first()
    assert submitted[(2, 2)] == 2 * submitted[(2, 1)] == 40


def test_sweep_bad_grid_names_the_key():
    with pytest.raises(labelsim.LabelsimError, match="overlpa"):
        labelsim.sweep(team_scenario(items=5), {"batches.b.overlpa": [1, 2]}, replications=2)
    with pytest.raises(labelsim.LabelsimError, match="list of values"):
        labelsim.sweep(team_scenario(items=5), {"batches.b.overlap": 2}, replications=2)


# --------------------------------------------------------------------------- cost to finish, shortfall


@pytest.mark.parametrize(("balance", "p_shortfall"), [(0.3, 1.0), (100.0, 0.0)])
def test_forecast_reports_cost_to_finish_and_shortfall(balance, p_shortfall):
    """40 one-task assignments cost 0.60 USD; with 0.30 USD the batch stops for money 0.30 USD short."""
    fc = labelsim.forecast(team_scenario(items=40, balance=balance), replications=5, seed=1)
    row = fc.eta.iloc[0]
    assert row["cost_to_finish_p50_usd"] == pytest.approx(40 * COST)
    assert row["p_shortfall"] == p_shortfall
    assert row["shortfall_p50_usd"] == pytest.approx(max(0.0, 40 * COST - balance))
    assert (fc.replications["cost_to_finish_usd"] >= fc.replications["spent_usd"]).all()
    assert check_schema(fc.eta, "eta") == [] and check_schema(fc.replications, "replications") == []


# --------------------------------------------------------------------------- adaptive replications


def test_adaptive_precision_stops_when_the_median_is_known_well_enough():
    spec = team_scenario(items=100, size=5, mean_s=60.0)
    fc = labelsim.forecast(spec, replications=20, seed=4, precision="1m", max_replications=2000)
    p = fc.provenance
    assert p["precision_met"] and p["p50_ci_width_max_s"] <= 60.0
    assert p["replications"] > 20 and p["rounds"] > 1
    eta = fc.eta.iloc[0]
    assert (eta["eta_p50_ci_high"] - eta["eta_p50_ci_low"]).total_seconds() <= 60.0
    # rounds only add replications: the same rows as one run of that many
    once = labelsim.forecast(spec, replications=p["replications"], seed=4)
    pd.testing.assert_frame_equal(fc.replications, once.replications)


def test_adaptive_precision_says_when_the_cap_was_hit():
    fc = labelsim.forecast(team_scenario(items=100, size=5), replications=10, seed=4, precision="1s",
                           max_replications=25)
    assert not fc.provenance["precision_met"]
    assert fc.provenance["replications"] == 25 and fc.provenance["p50_ci_width_max_s"] > 1.0


def test_plan_with_precision_runs_more_replications_where_needed():
    result = labelsim.plan(team_scenario(items=40, size=3, mean_s=60.0), "performers.team.size", (4, 8),
                           deadline="10m", replications=10, precision="2m", max_replications=200, seed=1)
    assert (result.frontier["replications"] >= 10).all() and (result.frontier["replications"] > 10).any()


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def team_file(tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump(team_scenario(items=40, size=3, mean_s=60.0)), encoding="utf-8")
    return path


def _invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_cli_plan_prints_the_answer_and_writes_the_folder(team_file, tmp_path):
    out = tmp_path / "plan"
    result = _invoke("plan", team_file, "--vary", "performers.team.size=1..20", "--deadline", "10m", "-n", 60,
                     "--seed", 1, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("answer: performers.team.size = ")
    assert "analytic guess (exact makespan)" in result.stdout
    assert "ETA P50 (UTC)" in result.stdout and "←" in result.stdout
    header = (out / "frontier.csv").read_text().splitlines()[0]
    assert header.split(",") == [c for c, _, _ in SCHEMAS["frontier"]]
    saved = json.loads((out / "plan.json").read_text())
    assert saved["reachable"] and saved["vary"] == "performers.team.size" and saved["command"][0] == "labelsim"


@pytest.mark.parametrize(("args", "expected"), [
    (["--vary", "performers.team.size=1-20"], "expected KEY=LO..HI"),
    (["--vary", "performers.team.size=5..2"], "LO must be below HI"),
    (["--vary", "performers.team.size=a..b"], "must be numbers"),
    (["--vary", "performers.team.sise=1..3"], "sise"),
    (["--vary", "performers.team.size=1..3", "--deadline", "2026-11-30T00:00"], "not after the scenario start"),
    (["--vary", "performers.team.size=1..3", "--confidence", "1.5"], "confidence"),
])
def test_cli_plan_bad_values_are_one_line_exit_2(team_file, args, expected):
    result = _invoke("plan", team_file, *(["--deadline", "10m"] if "--deadline" not in args else []), *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message and expected in message, message
    assert "Traceback" not in result.stdout + result.stderr


def test_cli_sweep_and_forecast_precision(team_file, tmp_path):
    out = tmp_path / "sweep"
    result = _invoke("sweep", team_file, "--grid", "performers.team.size=2,4", "--grid", "batches.b.overlap=1,2",
                     "-n", 3, "--seed", 1, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "4 points" in result.stdout
    frame = pd.read_csv(out / "sweep.csv")
    assert sorted(set(zip(frame["performers.team.size"], frame["batches.b.overlap"], strict=True))) == [
        (2, 1), (2, 2), (4, 1), (4, 2)]
    bad = _invoke("sweep", team_file, "--grid", "performers.team.size")
    assert bad.exit_code == 2 and "expected KEY=V1,V2" in bad.stderr
    fc = _invoke("forecast", team_file, "-n", 10, "--seed", 1, "--precision", "10m")
    assert fc.exit_code == 0, fc.stderr
    assert re.search(r"precision 10m( 00s)? (met|NOT met)", fc.stdout), fc.stdout
    assert _invoke("forecast", team_file, "--precision", "soon").exit_code == 2
