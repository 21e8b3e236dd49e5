"""Backtests (labelsim.backtest): cutting a log at a past moment, the platform formula, scoring."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelsim.backtest import cut_log, known_from_log, origins, platform_eta, score, summarize
from labelsim.logs import FINISHED, LOG_COLUMNS, LOG_SCHEMAS, LogError, _finish_frame, read_log
from labelsim.results import check_schema

REAL = Path(__file__).resolve().parent / "data" / "logs" / "real"
T0 = pd.Timestamp("2024-05-17T09:00:00", tz="UTC")
STATUSES = ["submitted", "approved", "rejected", "expired", "skipped", "active"]


def make_log(rows: list[dict]) -> pd.DataFrame:
    """A log from rows giving status, accepted (minutes after T0) and ended (minutes, or None)."""
    data: dict[str, list] = {column: [] for column in LOG_COLUMNS}
    for i, row in enumerate(rows):
        status, accepted, ended = row["status"], T0 + pd.Timedelta(minutes=row["accepted"]), row.get("ended")
        end = pd.NaT if ended is None or status == "active" else T0 + pd.Timedelta(minutes=ended)
        values = {
            "batch": row.get("batch", "b"), "suite_id": str(row.get("suite", i % 3)), "assignment_id": f"a{i:03d}",
            "performer": f"w{i % 4}", "status": status, "accepted_at": accepted,
            "submitted_at": end if status in FINISHED else pd.NaT, "ended_at": end, "reward_usd": 0.05,
            "n_tasks": 1, "time_limit_s": 600.0, "max_assignments": 3,
        }
        for column in LOG_COLUMNS:
            data[column].append(values[column])
    return _finish_frame(data)


def baseline_forecaster(log_cut: pd.DataFrame, as_of: pd.Timestamp, **known: object) -> tuple[float, float, float]:
    """For tests only: the recent submission rate, with a factor-2 band."""
    done = log_cut[log_cut["status"].isin(list(FINISHED))]
    remaining = int(known["total_assignments"]) - len(done)  # type: ignore[call-overload]
    elapsed = max((as_of - log_cut["accepted_at"].min()).total_seconds(), 1.0)
    p50 = remaining * elapsed / max(len(done), 1)
    return p50 / 2, p50, p50 * 2


# --------------------------------------------------------------------------- cut_log


@st.composite
def random_logs(draw: st.DrawFn) -> pd.DataFrame:
    rows = []
    for _ in range(draw(st.integers(0, 25))):
        status = draw(st.sampled_from(STATUSES))
        accepted = draw(st.integers(0, 600))
        rows.append({"status": status, "accepted": accepted, "ended": accepted + draw(st.integers(0, 120)),
                     "batch": draw(st.sampled_from(["b", "c"]))})
    return make_log(rows)


@settings(max_examples=60, deadline=None)
@given(log=random_logs(), minutes=st.integers(-10, 800))
def test_cut_log_shows_nothing_after_the_moment_and_conserves_counts(log, minutes):
    as_of = T0 + pd.Timedelta(minutes=minutes)
    cut = cut_log(log, as_of)
    assert check_schema(cut, "assignment_log") == []
    # exactly the assignments accepted by then, with their fixed facts unchanged
    seen = log[log["accepted_at"] <= as_of].reset_index(drop=True)
    assert cut["assignment_id"].tolist() == seen["assignment_id"].tolist()
    for column in ("batch", "suite_id", "performer", "accepted_at", "n_tasks", "reward_usd"):
        assert cut[column].equals(seen[column])
    # nothing later is visible
    for column in ("accepted_at", "submitted_at", "ended_at"):
        assert (cut[column].dropna() <= as_of).all()
    # what ended later is in progress; what ended by then is as it was
    ended_later = (seen["ended_at"] > as_of).to_numpy()
    assert (cut.loc[ended_later, "status"] == "active").all()
    assert cut.loc[~ended_later].equals(seen.loc[~ended_later])
    counts = cut["status"].value_counts()
    assert counts.get("active", 0) == int(ended_later.sum()) + int((seen["status"] == "active").sum())
    assert int(cut["status"].isin(list(FINISHED)).sum()) == int(
        (seen["status"].isin(list(FINISHED)) & (seen["submitted_at"] <= as_of)).sum())


@settings(max_examples=30, deadline=None)
@given(log=random_logs(), a=st.integers(0, 800), b=st.integers(0, 800))
def test_cutting_twice_is_cutting_at_the_earlier_moment(log, a, b):
    first, second = T0 + pd.Timedelta(minutes=a), T0 + pd.Timedelta(minutes=b)
    pd.testing.assert_frame_equal(cut_log(cut_log(log, first), second), cut_log(log, min(first, second)))


def test_cut_after_the_end_is_the_log():
    log = make_log([{"status": "submitted", "accepted": 0, "ended": 5},
                    {"status": "expired", "accepted": 1, "ended": 11}, {"status": "active", "accepted": 3}])
    pd.testing.assert_frame_equal(cut_log(log, T0 + pd.Timedelta(hours=1)), log)
    assert cut_log(log, "2024-05-17 09:04")["status"].tolist() == ["active", "active", "active"]  # naive = UTC


def test_finished_without_a_submit_time_stays_finished():
    """Older Toloka exports: a submitted assignment without its time cannot be dated, so it is not reopened."""
    log = make_log([{"status": "submitted", "accepted": 0, "ended": None}])
    assert cut_log(log, T0 + pd.Timedelta(minutes=1))["status"].tolist() == ["submitted"]


# --------------------------------------------------------------------------- origins, the formula


def test_origins_are_the_submit_times_of_the_shares():
    log = make_log([{"status": "submitted", "accepted": i, "ended": 10 * (i + 1)} for i in range(8)]
                   + [{"status": "expired", "accepted": 2, "ended": 200}])
    frame = origins(log, at=(0.25, 0.5, 1.0))
    assert frame["batch"].tolist() == ["b"] * 3
    assert frame["as_of"].tolist() == [T0 + pd.Timedelta(minutes=m) for m in (20, 40, 80)]
    with pytest.raises(LogError, match=r"1\.5 is not a share"):
        origins(log, at=(1.5,))


def test_platform_eta_is_remaining_times_elapsed_over_completed():
    # first accept at T0; at T0 + 2h, 4 of 10 submitted (plus one in progress, one expired) -> 6 × 2 h / 4 = 3 h
    rows = [{"status": "submitted", "accepted": 10 * i, "ended": 10 * i + 5} for i in range(4)]
    rows += [{"status": "active", "accepted": 100}, {"status": "expired", "accepted": 50, "ended": 60}]
    log = make_log(rows)
    assert platform_eta(log, 10, T0 + pd.Timedelta(hours=2)) == pytest.approx(3 * 3600)
    # default moment: the last timestamp in the log (T0 + 100 min)
    assert platform_eta(log, 10) == pytest.approx(6 * 100 * 60 / 4)
    assert platform_eta(log, 4, T0 + pd.Timedelta(hours=2)) == 0.0
    assert platform_eta(make_log([{"status": "active", "accepted": 0}]), 10, T0 + pd.Timedelta(hours=1)) == math.inf


def test_known_from_log():
    log = make_log([{"status": "submitted", "accepted": i, "ended": i + 1, "suite": i % 2} for i in range(5)]
                   + [{"status": "skipped", "accepted": 9, "ended": 9, "suite": 7}])
    known = known_from_log(log)
    assert known["total_assignments"] == 5 and known["n_suites"] == 3 and known["overlap"] == 3
    assert known["time_limit_s"] == 600.0 and known["reward_usd"] == 0.05


# --------------------------------------------------------------------------- scoring


def test_summary_on_constructed_numbers():
    rows = pd.DataFrame({
        "p10_h": [0.5, 1.5, 0.1, 1.0, 1.0], "p50_h": [1.0, 2.0, 0.5, 1.4, 9.0], "p90_h": [2.0, 3.0, 0.9, 2.0, 9.0],
        "platform_h": [0.5, 0.25, math.inf, 1.0, 1.0], "actual_h": [1.0, 1.0, 1.0, 1.0, 0.0],
    })
    summary = summarize(rows).set_index("method")
    assert check_schema(summary.reset_index(), "backtest_summary") == []
    mine, formula = summary.loc["labelsim"], summary.loc["platform"]
    # the last row has no remaining time and is not scored; errors 0, 1, 1, log2(1.4)
    assert mine["n_forecasts"] == formula["n_forecasts"] == 4
    assert mine["median_abs_log2"] == pytest.approx((math.log2(1.4) + 1) / 2)
    assert mine["share_within_1_5"] == 0.5 and mine["share_too_early"] == 0.25
    assert mine["coverage_p10_p90"] == 0.5  # [0.5, 2] and [1, 2] hold 1.0; [1.5, 3] and [0.1, 0.9] do not
    # the formula: errors 1, 2, inf, 0
    assert formula["median_abs_log2"] == 1.5 and formula["share_within_1_5"] == 0.25
    assert formula["share_too_early"] == 0.5 and math.isnan(formula["coverage_p10_p90"])


def test_score_on_a_constructed_batch():
    # 20 assignments submitted one every 10 minutes from T0 + 10 min, each taking 5 minutes
    log = make_log([{"status": "submitted", "accepted": 10 * i + 5, "ended": 10 * i + 10} for i in range(20)])
    result = score(log, lambda cut, as_of, **known: (60.0, 120.0, 7200.0))
    rows = result.rows
    assert check_schema(rows, "backtest") == [] and check_schema(result.summary, "backtest_summary") == []
    assert rows["n_submitted"].tolist() == [5, 10, 15] and rows["total_assignments"].tolist() == [20] * 3
    assert rows["actual_h"].tolist() == pytest.approx([150 / 60, 100 / 60, 50 / 60])
    # the formula at 50%: 10 remaining × 95 min elapsed / 10 done
    assert rows.loc[1, "platform_h"] == pytest.approx(95 / 60)
    assert rows["p50_h"].tolist() == pytest.approx([2 / 60] * 3)
    summary = result.summary.set_index("method")
    assert summary.loc["labelsim", "share_too_early"] == 1.0
    # [1 min, 2 h] holds 100 and 50 minutes, not 150
    assert summary.loc["labelsim", "coverage_p10_p90"] == pytest.approx(2 / 3)


def test_a_bad_forecaster_is_named():
    log = make_log([{"status": "submitted", "accepted": i, "ended": i + 1} for i in range(4)])
    with pytest.raises(LogError, match="expected 0 ≤ p10 ≤ p50 ≤ p90"):
        score(log, lambda cut, as_of, **known: (3.0, 2.0, 1.0))
    with pytest.raises(LogError, match=r"must return \(p10, p50, p90\)"):
        score(log, lambda cut, as_of, **known: 5.0)


def test_backtest_on_the_real_logs_runs_and_the_formula_is_early():
    """Each forecast moment is a real cut; the platform formula finishes too early on these two batches."""
    log = pd.concat([read_log(REAL / name) for name in sorted(p.name for p in REAL.glob("*.csv"))],
                    ignore_index=True)
    result = score(log, baseline_forecaster)
    rows = result.rows
    assert len(rows) == 6 and set(rows["origin"]) == {0.25, 0.5, 0.75}
    for _, group in rows.groupby("batch"):
        assert group["actual_h"].is_monotonic_decreasing and group["n_submitted"].is_monotonic_increasing
        total = group["total_assignments"].iloc[0]
        assert (np.abs(group["n_submitted"] / total - group["origin"]) < 0.02).all()
    formula = result.summary.set_index("method").loc["platform"]
    assert formula["n_forecasts"] == 6 and formula["share_too_early"] > 0.5


def test_plot_backtest(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from labelsim.plots import plot_backtest

    rows = pd.DataFrame({c: [1.0, 2.0] for c, d, _ in LOG_SCHEMAS["backtest"] if d == "float64"})
    rows["platform_h"] = [0.5, math.inf]
    ax = plot_backtest(rows)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.lines) >= 2


def test_an_export_with_start_times_only_is_refused_not_silently_empty(runner: object, tmp_path: Path) -> None:
    """An older web export (start times, no submit times): a warning naming the batch, then exit 2."""
    from conftest import invoke

    path = tmp_path / "started_only.tsv"
    path.write_text("ASSIGNMENT:task_id\tASSIGNMENT:assignment_id\tASSIGNMENT:worker_id\tASSIGNMENT:status\t"
                    "ASSIGNMENT:started\nt1\ta1\tw1\tAPPROVED\t2024-01-01T10:00:00\n"
                    "t2\ta2\tw2\tAPPROVED\t2024-01-01T10:05:00\n")
    result = invoke(runner, "backtest", path)  # type: ignore[arg-type]
    assert result.exit_code == 2
    assert "left out started_only: no finished assignment with a submit time" in result.stderr
    assert "nothing to score" in result.stderr and "Traceback" not in result.stderr


def test_a_cut_the_forecaster_refuses_is_left_out_and_named():
    """A forecaster's LabelsimError on one cut (e.g. a calibration that cannot give a valid scenario) leaves
    that cut out with its reason; the other cuts are still scored."""
    from labelsim.scenario import LabelsimError

    log = make_log([{"status": "submitted", "accepted": 10 * i + 5, "ended": 10 * i + 10} for i in range(20)])

    def picky(cut: pd.DataFrame, as_of: object, **known: object) -> tuple[float, float, float]:
        if len(cut) < 8:
            raise LabelsimError("too little to go on")
        return 60.0, 120.0, 7200.0

    result = score(log, picky)
    assert result.rows["n_submitted"].tolist() == [10, 15]
    assert len(result.skipped) == 1 and "at 25%: too little to go on" in result.skipped[0]
