"""Every figure is drawn from a real result and checked for what is on the axes.

The scenario is in Europe/Berlin (UTC+1 in December), so a time axis left in UTC
shows tick labels one hour off and fails the local-time checks.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.patches import Rectangle
from plot_scenarios import berlin_scenario

import labelsim
from labelsim import plots
from labelsim.forecasting import compare, forecast

BERLIN = ZoneInfo("Europe/Berlin")
DEADLINE = pd.Timestamp("2026-12-01 12:00", tz=BERLIN)


@pytest.fixture(scope="module")
def result():
    return labelsim.simulate(berlin_scenario(), seed=3)


@pytest.fixture(scope="module")
def fc():
    return forecast(berlin_scenario(), 12, seed=3, keep_runs=True)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _drawn(ax):
    ax.figure.canvas.draw()
    return ax


def _legend(ax) -> list[str]:
    legends = [ax.get_legend(), *[a.get_legend() for a in ax.figure.axes if a is not ax]]
    return [t.get_text() for leg in legends if leg is not None for t in leg.get_texts()]


def assert_local_time_axis(ax, zone: str = "Europe/Berlin") -> None:
    """The x axis names the zone, and every hour:minute tick label is the tick's local time there."""
    _drawn(ax)
    assert zone in ax.get_xlabel()
    checked = 0
    for loc, label in zip(ax.get_xticks(), [t.get_text() for t in ax.get_xticklabels()], strict=True):
        if re.fullmatch(r"\d\d:\d\d", label):
            assert mdates.num2date(loc, tz=ZoneInfo(zone)).strftime("%H:%M") == label
            checked += 1
    assert checked >= 2, "expected hour:minute tick labels on an axis spanning hours"


def _deadline_lines(ax) -> list:
    return [line for line in ax.get_lines() if line.get_label().startswith("deadline")]


# --------------------------------------------------------------------------- status timeline


def test_status_timeline_lanes_legend_events_local_time():
    result = labelsim.simulate(berlin_scenario(archive_at="5h"), seed=3)
    ax = plots.plot_status_timeline(result)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    timeline = result.status_timeline
    end = pd.Timestamp(result.provenance["end"])
    length = timeline["end_at"].fillna(end) - timeline["start_at"]
    drawn = set(timeline.loc[length > pd.Timedelta(0), "status"])
    zero = set(timeline.loc[length == pd.Timedelta(0), "status"]) - drawn
    assert zero == {"Archive"}, "the run ends when b is archived: Archive has zero length"
    legend = _legend(ax)
    statuses = [s for s in legend if s in plots.STATUS_COLORS]
    assert set(statuses) == drawn
    assert not zero & set(legend)
    assert {"pause", "resume", "top-up", "archive"} <= set(legend)
    assert [t.get_text().strip() for t in ax.texts] == ["Completed", "Archive"]  # the final statuses
    # the bars: one rectangle per drawn interval, starting at the interval's local time
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() > 0]
    assert len(bars) == int((length > pd.Timedelta(0)).sum())
    assert_local_time_axis(ax)


def test_status_timeline_from_frame_keeps_zone(result):
    ax = plots.plot_status_timeline(result.status_timeline, end=result.provenance["end"])
    assert_local_time_axis(ax)


# --------------------------------------------------------------------------- progress


def test_progress_fan_from_forecast_runs(fc):
    ax = plots.plot_progress(fc, deadline=DEADLINE)
    fans = [c for c in ax.collections if isinstance(c, PolyCollection) and len(c.get_paths())]
    assert len(fans) == 2  # one P10–P90 fan per batch
    assert {"a (P50)", "b (P50)", "P10–P90 over replications"} <= set(_legend(ax))
    assert len(_deadline_lines(ax)) == 1
    assert_local_time_axis(ax)


def test_progress_quantiles_are_ordered_and_end_at_the_items(fc):
    fan = plots.progress_quantiles(fc.runs)
    assert (fan["labeled_p10"] <= fan["labeled_p50"]).all() and (fan["labeled_p50"] <= fan["labeled_p90"]).all()
    last = fan.groupby("batch").tail(1)
    assert (last["labeled_p10"] == last["items"]).all()  # every replication completes both batches
    assert str(fan["at"].dt.tz) == "Europe/Berlin"


def test_progress_of_one_run_is_one_line_per_batch(result):
    ax = plots.plot_progress(result)
    assert sorted(_legend(ax)) == ["a", "b"]
    assert_local_time_axis(ax)


def test_progress_fan_without_runs_says_how(fc):
    plain = forecast(berlin_scenario(), 2, seed=1)
    with pytest.raises(labelsim.LabelsimError, match="keep_runs=True"):
        plots.plot_progress(plain)


# --------------------------------------------------------------------------- completion probability


def test_completion_curves_and_deadline(fc):
    ax = plots.plot_completion(fc, deadline=DEADLINE)
    curves = {line.get_label().split(":")[0]: line for line in ax.get_lines() if not line.get_label().startswith("_")
              and not line.get_label().startswith("deadline")}
    assert set(curves) == {"a", "b"}
    for batch, line in curves.items():
        y = np.asarray(line.get_ydata(), dtype=float)
        assert (np.diff(y) >= 0).all()
        p_complete = fc.eta.set_index("batch").loc[batch, "p_complete"]
        assert y[-1] == pytest.approx(p_complete)
    (deadline,) = _deadline_lines(ax)
    assert deadline.get_xdata()[0] == pytest.approx(mdates.date2num(DEADLINE))
    # the legend states P(done by the deadline), computed here from the replications
    done = fc.replications.assign(ok=fc.replications["completed_at"] <= DEADLINE).groupby("batch")["ok"].mean()
    assert f"a: {done['a']:.0%} by the deadline" in _legend(ax)
    assert_local_time_axis(ax)


# --------------------------------------------------------------------------- ETA ranges


def test_eta_ranges_stay_visible(fc):
    ax = _drawn(plots.plot_eta(fc, deadline=DEADLINE, min_width=0.02))
    left, right = ax.get_xlim()
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 2
    assert all(bar.get_width() >= 0.02 * (right - left) * 0.999 for bar in bars)
    assert len(_deadline_lines(ax)) == 1
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert_local_time_axis(ax)


def test_eta_of_projects_draws(fc):
    ax = plots.plot_eta(fc.project_eta)  # raised KeyError('batch') before
    assert [t.get_text() for t in ax.get_yticklabels()] == ["p"]
    assert "project" in ax.get_title()


def test_eta_without_value_says_why():
    money = forecast(berlin_scenario(top_up=None), 4, seed=1)  # b stops for money, never resumed
    texts = [t.get_text() for t in plots.plot_eta(money).texts]
    assert plots.STOPPED_FOR_MONEY in texts
    late = forecast(berlin_scenario(top_up=None, horizon="30m"), 4, seed=1)  # nothing done in 30 min
    texts = [t.get_text() for t in plots.plot_eta(late).texts]
    assert texts.count(plots.NOT_WITHIN_HORIZON) == 2


# --------------------------------------------------------------------------- money


def test_money_fan_with_top_up_and_no_money(fc):
    ax = plots.plot_money(fc)
    fans = [c for c in ax.collections if isinstance(c, PolyCollection) and len(c.get_paths())]
    assert len(fans) == 2  # balance and reserved
    legend = _legend(ax)
    assert {"balance P50", "reserved P50", "top-up", "a batch goes No money"} <= set(legend)
    top_up = [line for line in ax.get_lines() if line.get_label() == "top-up"]
    assert top_up[0].get_xdata()[0] == pytest.approx(mdates.date2num(pd.Timestamp("2026-12-01 12:00", tz=BERLIN)))
    assert_local_time_axis(ax)


def test_money_of_one_run(result):
    ax = plots.plot_ledger(result.ledger)
    assert {"balance", "reserved", "top-up"} <= set(_legend(ax))
    assert_local_time_axis(ax)


# --------------------------------------------------------------------------- comparison


def test_comparison_intervals_per_batch():
    cmp = compare(berlin_scenario(), ["performers.team.size=5"], replications=8, seed=2)
    ax = plots.plot_comparison(cmp)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert len(ax.containers) == 2  # one error bar per batch
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "earlier" in texts  # five people instead of three finish both batches earlier
    assert "variant − base" in ax.get_xlabel()


# --------------------------------------------------------------------------- frontier


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_frontier_from_real_forecasts():
    """A frontier built from real forecasts over the team size (the plan's frame, duck-typed)."""
    rows = []
    due = pd.Timestamp("2026-12-01 10:00", tz=BERLIN)
    for size in (1, 3, 6):
        sized = forecast(berlin_scenario(balance=1e4, top_up=None, size=size), 6, seed=5)
        done = sized.replications.groupby("replication")["completed_at"].max() <= due
        lo, hi = _wilson(int(done.sum()), len(done))
        rows.append({"value": size, "replications": len(done), "p_on_time": done.mean(), "p_on_time_lo": lo,
                     "p_on_time_hi": hi, "cost_p50_usd": sized.eta["cost_p50_usd"].sum()})
    plan = SimpleNamespace(frontier=pd.DataFrame(rows), required=6, confidence=0.9, deadline=due,
                           vary="performers.team.size")
    ax = plots.plot_frontier(plan)
    assert any(isinstance(c, PolyCollection) for c in ax.collections)  # the CI band
    legend = _legend(ax)
    assert {"P(on time)", "target 90%", "required: 6", "cost P50 (USD)"} <= set(legend)
    assert ax.get_xlabel() == "performers.team.size"
    assert "Europe/Berlin" in ax.get_title()
    # without an answer it says so; without the optional columns it still draws
    bare = plan.frontier[["value", "p_on_time"]]
    ax = plots.plot_frontier(SimpleNamespace(frontier=bare, required=None, confidence=0.99, vary="x",
                                             deadline=None))
    assert "target not reached in this range" in [t.get_text() for t in ax.texts]
