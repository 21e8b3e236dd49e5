"""Writing assignment logs in the platforms' export formats, and reading them back (round trips)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labelsim
from labelsim.io import OutputError, write_export
from labelsim.logs import FINISHED, LOG_COLUMNS, LogError, _finish_frame, format_export, log_from_result, read_log
from labelsim.results import check_schema

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
TIMES = ("accepted_at", "submitted_at", "ended_at")


def after_round_trip(log: pd.DataFrame, fmt: str) -> pd.DataFrame:
    """What reading back an export of ``log`` gives: the log up to what the format can hold."""
    kept = log if fmt == "toloka" else log[log["status"].isin([*FINISHED, "active"])]
    data = {column: kept[column] for column in LOG_COLUMNS}
    unit = "ms" if fmt == "toloka" else "s"
    for column in TIMES:
        data[column] = kept[column].dt.floor(unit)
    if fmt == "toloka":
        data["time_limit_s"] = np.nan
        data["max_assignments"] = pd.NA
    else:
        data["n_tasks"] = 1
        data["ended_at"] = data["submitted_at"]
    if fmt == "figure-eight":
        data["status"] = kept["status"].replace({"approved": "submitted", "rejected": "submitted"})
        data["reward_usd"] = np.nan
        data["time_limit_s"] = np.nan
        data["max_assignments"] = pd.NA
    return _finish_frame({k: (v.to_numpy() if isinstance(v, pd.Series) else [v] * len(kept)) for k, v in data.items()})


def round_trip(log: pd.DataFrame, fmt: str, folder: Path) -> pd.DataFrame:
    """Write each batch of ``log`` to ``<batch>.<ext>`` in ``fmt`` and read them all back."""
    parts = []
    for batch, part in log.groupby("batch", sort=True):
        path = write_export(part, folder / f"{batch}.{'tsv' if fmt == 'toloka' else 'csv'}", fmt, force=True)
        parts.append(read_log(path))
    return pd.concat(parts, ignore_index=True) if parts else log.iloc[:0]


@pytest.fixture(scope="module")
def simulated_log() -> pd.DataFrame:
    """The quickstart started just before the US spring clock change and stopped with work in flight."""
    scenario = labelsim.load_scenario(SCENARIOS / "quickstart.yaml", ["horizon=14h", "start=2027-03-13T22:00:00Z"])
    return log_from_result(labelsim.simulate(scenario, seed=11))


def test_log_from_result_matches_the_run(simulated_log):
    log = simulated_log
    assert check_schema(log, "assignment_log") == []
    scenario = labelsim.load_scenario(SCENARIOS / "quickstart.yaml", ["horizon=14h", "start=2027-03-13T22:00:00Z"])
    result = labelsim.simulate(scenario, seed=11)
    assert len(log) == len(result.assignments)
    batches = result.batches.set_index("batch")
    counts = log.groupby(["batch", "status"]).size().unstack(fill_value=0)
    for batch, row in batches.iterrows():
        mine = counts.loc[batch] if batch in counts.index else pd.Series(dtype=int)
        assert mine.get("submitted", 0) == row["submitted"]
        assert mine.get("expired", 0) == row["expired"] and mine.get("skipped", 0) == row["skipped"]
        assert mine.get("active", 0) == row["in_flight"]
    active = log["status"] == "active"
    assert active.any(), "the fixture should stop with assignments in flight"
    assert log.loc[active, "submitted_at"].isna().all() and log.loc[~active, "ended_at"].notna().all()
    assert {"expired", "skipped"} <= set(log["status"])


@pytest.mark.parametrize("fmt", ["toloka", "mturk", "figure-eight"])
def test_simulated_log_round_trips_through_each_export_format(simulated_log, tmp_path, fmt):
    back = round_trip(simulated_log, fmt, tmp_path)
    pd.testing.assert_frame_equal(back, after_round_trip(simulated_log, fmt))


def test_mturk_export_spans_both_pacific_zones(simulated_log):
    text = format_export(simulated_log, "mturk")
    assert " PST 2027" in text and " PDT 2027" in text


# --------------------------------------------------------------------------- random logs

STATUSES = ["submitted", "approved", "rejected", "expired", "skipped", "active"]
START = pd.Timestamp("2017-11-05T07:00:00", tz="UTC")  # 00:00 PDT; the clocks fall back at 09:00 UTC


@st.composite
def logs(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 12))
    rows = []
    for i in range(n):
        status = draw(st.sampled_from(STATUSES))
        accepted = START + pd.to_timedelta(draw(st.floats(0, 6 * 3600, allow_nan=False)), unit="s")
        work = pd.to_timedelta(draw(st.floats(0, 3600, allow_nan=False)), unit="s")
        ended = pd.NaT if status == "active" else accepted + work
        rows.append({
            "batch": draw(st.sampled_from(["b1", "b-2"])),
            "suite_id": str(draw(st.integers(0, 3))),
            "assignment_id": f"a{i}",
            "performer": draw(st.sampled_from(["w1", "w2", "w3"])),
            "status": status,
            "accepted_at": accepted,
            "submitted_at": ended if status in FINISHED else pd.NaT,
            "ended_at": ended,
            "reward_usd": draw(st.sampled_from([0.01, 0.05, 0.1])),
            "n_tasks": draw(st.integers(1, 3)),
            "time_limit_s": 3600.0,
            "max_assignments": 3,
        })
    if not rows:
        return _finish_frame({column: [] for column in LOG_COLUMNS})
    return _finish_frame({column: [row[column] for row in rows] for column in LOG_COLUMNS})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=logs(), fmt=st.sampled_from(["toloka", "mturk", "figure-eight"]))
def test_random_logs_round_trip(log, fmt):
    with tempfile.TemporaryDirectory() as folder:
        back = round_trip(log, fmt, Path(folder))
    expected = after_round_trip(log, fmt)
    if len(expected) == 0:
        assert len(back) == 0
    else:
        pd.testing.assert_frame_equal(back, expected)


# --------------------------------------------------------------------------- writing errors


def test_write_export_is_atomic_and_refuses_to_overwrite(simulated_log, tmp_path):
    path = write_export(simulated_log, tmp_path / "out.tsv", "toloka")
    assert path.read_text(encoding="utf-8") == format_export(simulated_log, "toloka")
    with pytest.raises(OutputError, match="exists"):
        write_export(simulated_log, path, "toloka")
    with pytest.raises(LogError, match="export format 'xlsx' is unknown"):
        write_export(simulated_log, path, "xlsx", force=True)
    assert path.read_text(encoding="utf-8") == format_export(simulated_log, "toloka")  # untouched
    with pytest.raises(OutputError, match="does not exist"):
        write_export(simulated_log, tmp_path / "missing" / "out.csv", "mturk")
    with pytest.raises(OutputError, match="is a folder"):
        write_export(simulated_log, tmp_path, "mturk")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tsv"]  # no temporary files left


def test_format_export_errors(simulated_log):
    with pytest.raises(LogError, match="one job; write one batch at a time"):
        format_export(simulated_log, "figure-eight")
    with pytest.raises(LogError, match=r"not an assignment log \(no column 'batch'\)"):
        format_export(pd.DataFrame({"x": [1]}), "mturk")
