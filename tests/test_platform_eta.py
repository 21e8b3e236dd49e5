"""The platform's own ETA (remaining assignments × time since launch ÷ completed) beside labelsim's P50 (issue 6.6).

One formula (``labelsim.theory.platform_formula_remaining_s``) serves the forecast's ``platform_eta``
column, the CLI forecast table, the HTML/Markdown report and the backtest.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import labelsim
from labelsim.cli import app
from labelsim.report import build_report, forecast_table
from labelsim.results import check_schema
from labelsim.theory import platform_formula_remaining_s

LIVE = Path(__file__).resolve().parents[1] / "scenarios" / "live_state.yaml"


def test_formula_arithmetic() -> None:
    assert platform_formula_remaining_s(500, 16 * 3600.0, 1000) == pytest.approx(8 * 3600)
    assert platform_formula_remaining_s(0, 3600.0, 10) == 0.0
    assert platform_formula_remaining_s(-5, 3600.0, 10) == 0.0  # over-complete counts as done
    assert platform_formula_remaining_s(10, 3600.0, 0) == math.inf  # nothing completed: undefined
    assert platform_formula_remaining_s(10, None, 5) == math.inf  # no time since launch: undefined
    assert platform_formula_remaining_s(10, math.nan, 5) == math.inf


@given(remaining=st.integers(0, 10**6), completed=st.integers(1, 10**6), elapsed=st.floats(0, 1e8))
def test_formula_is_the_pace_so_far(remaining: int, completed: int, elapsed: float) -> None:
    """At the pace so far (completed per elapsed second) the remaining work takes the formula's time."""
    seconds = platform_formula_remaining_s(remaining, elapsed, completed)
    assert seconds * completed == pytest.approx(remaining * elapsed, rel=1e-9, abs=1e-6)


@pytest.fixture(scope="module")
def live_fc() -> labelsim.Forecast:
    return labelsim.forecast(labelsim.load_scenario(LIVE), 10, seed=1)


def test_forecast_frame_has_the_platform_eta(live_fc: labelsim.Forecast) -> None:
    """week-48: 500 of 1500 assignments left, 1000 submitted in 16 h -> 8 h after the start; week-49: undefined."""
    eta = live_fc.eta.set_index("batch")
    assert check_schema(live_fc.eta, "eta") == []
    start = pd.Timestamp(live_fc.scenario.start).tz_convert(live_fc.scenario.timezone)
    assert eta.loc["week-48", "platform_eta"] == start + pd.Timedelta(hours=8)
    assert str(eta["platform_eta"].dt.tz) == live_fc.scenario.timezone
    assert pd.isna(eta.loc["week-49", "platform_eta"])


def test_tables_show_it_beside_the_p50(live_fc: labelsim.Forecast) -> None:
    table = forecast_table(live_fc.eta).set_index("Name")
    columns = list(table.columns)
    assert columns.index("Platform ETA") == columns.index("ETA P50") + 1
    assert table.loc["week-48", "Platform ETA"] == "2026-12-01 17:00 UTC"
    assert table.loc["week-49", "Platform ETA"] == "n/a"
    report = build_report(live_fc, figures=False)
    row = next(line for line in report.markdown.splitlines() if line.startswith("| search-relevance | week-48 |"))
    assert "2026-12-01 17:00 UTC" in row


def test_cli_forecast_prints_the_platform_eta() -> None:
    result = CliRunner().invoke(app, ["forecast", str(LIVE), "-n", "4", "--seed", "1"], terminal_width=400)
    assert result.exit_code == 0, result.output
    assert "Platform ETA" in result.output
    row = next(line for line in result.output.splitlines() if "week-48" in line)
    assert "2026-12-01 17:00 UTC" in row
