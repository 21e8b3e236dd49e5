"""Forecasts: reproducibility across executors, theory, quantile intervals, what-if comparisons."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS, team_scenario
from typer.testing import CliRunner

import labelsim
from labelsim.cli import app
from labelsim.engine import replicate
from labelsim.forecasting import _t_quantile, compare, forecast, quantile_ci
from labelsim.results import check_schema
from labelsim.theory import makespan_exponential


@pytest.fixture(scope="module")
def quickstart() -> labelsim.Scenario:
    return labelsim.load_scenario(SCENARIOS / "quickstart.yaml")


def _two_batches() -> dict:
    """Two batches on one always-on team: A on queue 1, B on queue 2 (strict queue)."""
    scenario = team_scenario(items=60, size=3, mean_s=60.0, labeling_queue=1)
    batch_b = dict(scenario["projects"][0]["batches"][0], name="B", labeling_queue=2, items=40)
    scenario["projects"][0]["batches"][0]["name"] = "A"
    scenario["projects"][0]["batches"].append(batch_b)
    return scenario


def test_same_seed_gives_identical_frames_on_every_executor(quickstart):
    """Serial, joblib processes and a dask LocalCluster give identical eta and replications frames."""
    distributed = pytest.importorskip("distributed")
    serial = forecast(quickstart, 8, seed=11, executor="serial")
    processes = forecast(quickstart, 8, seed=11, executor="processes", jobs=2)
    cluster_options = {"n_workers": 2, "threads_per_worker": 1, "processes": True, "dashboard_address": None}
    with distributed.LocalCluster(**cluster_options) as cluster, distributed.Client(cluster) as client:
        on_dask = forecast(quickstart, 8, seed=11, executor=client)
    for other in (processes, on_dask):
        pd.testing.assert_frame_equal(serial.eta, other.eta)
        pd.testing.assert_frame_equal(serial.replications, other.replications)
        pd.testing.assert_frame_equal(serial.project_eta, other.project_eta)
    assert serial.replications["replication"].tolist() == sorted(serial.replications["replication"])
    assert on_dask.provenance["executor"] == "dask"
    # the chunking does not matter either
    chunked = forecast(quickstart, 8, seed=11, executor="serial", chunk_size=3)
    pd.testing.assert_frame_equal(serial.replications, chunked.replications)


def test_different_seeds_differ(quickstart):
    first = forecast(quickstart, 3, seed=1)
    second = forecast(quickstart, 3, seed=2)
    assert not first.replications["completed_at"].equals(second.replications["completed_at"])


def test_forecast_makespan_matches_theory():
    """Mean makespan over replications vs E[T] = (N - c)·m/c + m·H_c, within 4 standard errors.

    N = 200 one-task suites, c = 5 always-on performers, exponential work of mean m = 60 s:
    E[T] = 2477 s and sd(T) ≈ 183 s, so 120 replications give SE ≈ 17 s (0.7 %); an error of
    3 % in the model's makespan would fail.
    """
    n, c, m, reps = 200, 5, 60.0, 120
    result = forecast(labelsim.load_scenario(team_scenario(items=n, size=c, mean_s=m)), reps, seed=2024)
    start = pd.Timestamp("2026-12-01T00:00:00Z")
    makespans = (result.replications["completed_at"] - start).dt.total_seconds().to_numpy()
    assert len(makespans) == reps and not np.isnan(makespans).any()
    expected = makespan_exponential(n, c, m)
    se = makespans.std(ddof=1) / math.sqrt(reps)
    assert abs(makespans.mean() - expected) < 4 * se, (makespans.mean(), expected, se)
    # the median ETA's confidence interval contains the sample median of the replications
    row = result.eta.iloc[0]
    median = start + pd.to_timedelta(np.quantile(makespans, 0.5, method="inverted_cdf"), unit="s")
    assert row["eta_p50_ci_low"] <= median <= row["eta_p50_ci_high"]
    assert row["p_complete"] == 1.0


def test_forecast_frames_match_their_schemas(quickstart):
    result = forecast(quickstart, 12, seed=5)
    for name, frame in result.frames().items():
        assert check_schema(frame, name) == [], name
    eta = result.eta.set_index("batch")
    assert (eta["eta_p10"] <= eta["eta_p50"]).all() and (eta["eta_p50"] <= eta["eta_p90"]).all()
    assert (eta["eta_p50_ci_low"] <= eta["eta_p50"]).all()
    # catalog-dec waits for the earlier queues: its expected start is after week-49's
    assert eta.loc["catalog-dec", "etd_p50"] > eta.loc["week-49", "etd_p50"]
    assert eta.loc["catalog-dec", "p_no_money"] == 1.0  # the quickstart runs out of money on it
    assert list(result.project_eta["project"]) == ["search-relevance", "product-tagging"]


def test_unfinished_batches_give_no_eta():
    """A batch that cannot finish within the horizon in most replications has no P50 ETA."""
    scenario = labelsim.load_scenario(team_scenario(items=500, size=1, mean_s=60.0, horizon="2h"))
    result = forecast(scenario, 5, seed=1)
    row = result.eta.iloc[0]
    assert row["p_complete"] == 0.0
    assert pd.isna(row["eta_p50"]) and pd.isna(row["eta_p10"])


def test_quantile_interval_covers_the_true_quantile():
    """Order-statistic intervals cover the true quantile of U(0, 1) at least ~95 % of the time."""
    rng = np.random.default_rng(7)
    trials, n = 400, 60
    for q in (0.1, 0.5, 0.9):
        covered = 0
        for _ in range(trials):
            _, low, high = quantile_ci(rng.random(n), q)
            covered += low <= q <= high
        # nominal coverage is >= 0.95; 400 trials have a binomial SE of about 1.1 %
        assert covered / trials >= 0.92, (q, covered / trials)


def test_quantile_estimate_is_an_order_statistic_and_respects_censoring():
    values = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    assert quantile_ci(values, 0.5)[0] == 3.0
    assert quantile_ci(values, 0.1)[0] == 1.0
    censored = np.array([1.0, 2.0, np.inf, np.inf, np.inf])
    assert quantile_ci(censored, 0.5)[0] == np.inf  # most runs did not finish: no median
    assert quantile_ci(censored, 0.1)[0] == 1.0


@pytest.mark.parametrize(("df", "expected"), [(5, 2.5706), (10, 2.2281), (30, 2.0423), (200, 1.9719)])
def test_t_quantile_matches_tables(df, expected):
    assert _t_quantile(0.95, df) == pytest.approx(expected, rel=0.005)


def test_identical_variant_reports_no_difference(quickstart):
    result = compare(quickstart, quickstart, 6, seed=3)
    for frame in (result.batches, result.projects):
        assert (frame["verdict"] == "no clear difference").all()
        for column in ("eta_diff_mean_h", "eta_diff_ci_low_h", "eta_diff_ci_high_h", "cost_diff_mean_usd"):
            assert (frame[column] == 0.0).all(), column
    assert check_schema(result.batches, "comparison") == []
    assert check_schema(result.projects, "project_comparison") == []


def test_priority_change_has_a_clear_paired_effect():
    """Swapping the queues of A and B makes B earlier and A later, with intervals excluding 0."""
    base = labelsim.load_scenario(_two_batches())
    result = compare(base, ["batches.B.labeling_queue=1", "batches.A.labeling_queue=2"], 20, seed=9)
    by_batch = result.batches.set_index("batch")
    assert by_batch.loc["B", "verdict"] == "earlier"
    assert by_batch.loc["B", "eta_diff_ci_high_h"] < 0
    assert by_batch.loc["A", "verdict"] == "later"
    assert by_batch.loc["A", "eta_diff_ci_low_h"] > 0
    assert by_batch.loc["B", "variant_eta_p50"] < by_batch.loc["B", "base_eta_p50"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"replications": 0}, "replications"),
        ({"jobs": 0}, "jobs"),
        ({"executor": "gpu"}, "executor"),
        ({"seed": -1}, "seed"),
        ({"until": "soon"}, "until"),
        ({"chunk_size": 0}, "chunk_size"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, message):
    scenario = labelsim.load_scenario(team_scenario(items=5))
    arguments = {"replications": 2, **kwargs}
    with pytest.raises(labelsim.LabelsimError, match=message):
        replicate(scenario, **arguments)


def test_cli_forecast_prints_quantiles_and_writes_frames(quickstart_path, tmp_path):
    out = tmp_path / "fc"
    result = CliRunner().invoke(
        app, ["forecast", str(quickstart_path), "-n", "4", "--jobs", "2", "--seed", "1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for text in ("ETA P50", "P10 – P90", "week-49-hard", "Projects", "search-relevance"):
        assert text in result.stdout
    names = {p.name for p in out.iterdir()}
    assert {"eta.csv", "project_eta.csv", "replications.csv", "forecast.json"} <= names
    written = pd.read_csv(out / "replications.csv")
    assert len(written) == 4 * 3 and written["replication"].nunique() == 4


def test_cli_compare_reports_the_effect(quickstart_path):
    result = CliRunner().invoke(
        app, ["compare", str(quickstart_path), "--set", "account.balance=400", "-n", "3", "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "Verdict" in result.stdout and "Per project" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "{q}"],  # no variant
        ["compare", "{q}", "--set", "batches.nope.labeling_queue=1"],
        ["forecast", "{q}", "--set", "account.balance=-5"],
        ["forecast", "{q}", "-n", "0"],
    ],
)
def test_cli_bad_forecast_input_exits_2(quickstart_path, args):
    result = CliRunner().invoke(app, [a.format(q=quickstart_path) for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_keep_runs_brings_back_every_replication_in_full(quickstart):
    result = forecast(quickstart, 3, seed=4, executor="processes", jobs=2, keep_runs=True)
    assert result.runs is not None and len(result.runs) == 3
    for replication, run in enumerate(result.runs):
        rows = result.replications[result.replications["replication"] == replication].reset_index(drop=True)
        pd.testing.assert_series_equal(run.batches["completed_at"], rows["completed_at"], check_names=False)
        assert not run.status_timeline.empty and not run.ledger.empty
    assert forecast(quickstart, 2, seed=4).runs is None  # compact by default
