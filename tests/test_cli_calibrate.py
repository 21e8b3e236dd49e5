"""``labelsim calibrate``: a log in, a scenario YAML out (new file, atomic); bad input is one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from labelsim.cli import app
from labelsim.io import load_scenario
from labelsim.logs import format_export

runner = CliRunner()


@pytest.fixture
def log_csv(tmp_path: Path) -> Path:
    t0 = pd.Timestamp("2026-03-02T08:00:00Z")
    rows = []
    for k in range(30):
        start = t0 + pd.Timedelta(minutes=7 * k)
        for j in range(3):
            acc = start + pd.Timedelta(seconds=60 * j)
            done = acc + pd.Timedelta(seconds=40 + j)
            rows.append({"batch": "b", "suite_id": f"s{k}-{j}", "assignment_id": f"a{k}-{j}", "performer": f"w{k % 11}",
                         "status": "submitted", "accepted_at": acc, "submitted_at": done, "ended_at": done,
                         "reward_usd": 0.05, "n_tasks": 1, "time_limit_s": 600.0, "max_assignments": 1})
    path = tmp_path / "log.csv"
    path.write_text(format_export(pd.DataFrame(rows), "mturk"), encoding="utf-8")  # an MTurk batch results file
    return path


def test_calibrate_writes_a_valid_scenario(log_csv: Path, tmp_path: Path) -> None:
    target = tmp_path / "scenario.yaml"
    result = runner.invoke(app, ["calibrate", str(log_csv), "--items", "120", "--out", str(target)])
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# ") and "sessions_per_hour" in text
    scenario = load_scenario(target)
    assert scenario.projects[0].batches[0].items == 120


def test_calibrate_refuses_to_overwrite(log_csv: Path, tmp_path: Path) -> None:
    target = tmp_path / "scenario.yaml"
    target.write_text("keep me", encoding="utf-8")
    result = runner.invoke(app, ["calibrate", str(log_csv), "--items", "120", "--out", str(target)])
    assert result.exit_code == 2
    assert target.read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize(("args", "needle"), [
    ([], "items"),
    (["--items", "120", "--time-limit", "soon"], "time_limit"),
    (["--items", "120", "--as-of", "yesterday-ish"], "as_of"),
    (["--items", "120", "--open-work-exponent", "2.5"], "--open-work-exponent"),
])
def test_calibrate_bad_input_is_one_line(log_csv: Path, args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["calibrate", str(log_csv), *args])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0]


def test_backtest_prints_both_methods_and_writes_the_plot(tmp_path: Path) -> None:
    import labelsim
    from labelsim.logs import log_from_result

    scenario = labelsim.Scenario.from_mapping({
        "start": "2026-03-02T08:00:00Z", "account": {"balance": 1000},
        "projects": [{"name": "p", "batches": [{"name": "b", "items": 60, "reward": 0.02, "time_limit": "10m",
                                                 "launch_at": "0s"}]}],
        "performers": [{"name": "crowd", "kind": "crowd", "sessions_per_hour": 40,
                        "seconds_per_task": {"dist": "lognormal", "median": 30, "sigma": 0.5}}],
    })
    path = tmp_path / "finished.csv"
    path.write_text(format_export(log_from_result(labelsim.simulate(scenario, seed=4)), "mturk"), encoding="utf-8")
    folder = tmp_path / "bt"
    result = runner.invoke(app, ["backtest", str(path), "--at", "50%", "-n", "4", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    assert "labelsim" in result.output and "platform" in result.output
    assert {"backtest.csv", "backtest_summary.csv", "backtest.png"} <= {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("args", [["--at", "150%"], ["--at", "half"], ["--open-work-exponent", "-1"]])
def test_backtest_bad_option_is_one_line(log_csv: Path, args: list[str]) -> None:
    result = runner.invoke(app, ["backtest", str(log_csv), *args])
    assert result.exit_code == 2
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1
