"""Platform details (issue 8, part 3): upload requests of at most 10,000 items, minimum reward and time
limit, the low-funds warning, the expected start, no launch without items, loaded work going on while more
items load, and cancel/fail holding the labeling queue the way a pause does.

Work times are constant here, so every expected time is exact arithmetic (no seeded number is pinned):
an upload of N items at rate u in requests of at most 10,000 loads in N/u + ceil(N/10,000)·overhead.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import labelsim
from labelsim.cli import app
from labelsim.forecasting import forecast
from labelsim.model.account import Account
from labelsim.report import NOT_WITHIN_HORIZON, batch_table, forecast_table
from labelsim.scenario import ScenarioError

START = pd.Timestamp("2026-12-01T00:00:00Z")


def _scenario(batches: list[dict[str, Any]], *, team: int = 1, task_s: float = 10.0, events: list | None = None,
              horizon: str = "2d", account: dict[str, Any] | None = None, policy: dict[str, Any] | None = None,
              ) -> dict[str, Any]:
    """Batches worked by an always-on team whose every task takes ``task_s`` seconds."""
    data: dict[str, Any] = {
        "name": "platform",
        "start": START.isoformat(),
        "horizon": horizon,
        "account": {"balance": 1e6, **(account or {})},
        "projects": [{"name": "p", "batches": [{"reward": 0.01, "time_limit": "1d", **b} for b in batches]}],
        "performers": [{"name": "team", "kind": "team", "size": team,
                        "seconds_per_task": {"dist": "constant", "value": task_s}}] if team else [],
        "events": events or [],
    }
    if policy:
        data["policy"] = policy
    return data


def _run(data: dict[str, Any], seed: int = 1) -> labelsim.SimulationResult:
    return labelsim.simulate(labelsim.load_scenario(data), seed=seed)


def _s(stamp: pd.Timestamp) -> float:
    return (stamp - START).total_seconds()


def _statuses(result: labelsim.SimulationResult, batch: str) -> list[tuple[float, str]]:
    timeline = result.status_timeline
    rows = timeline[timeline["batch"] == batch]
    return [(_s(t), status) for t, status in zip(rows["start_at"], rows["status"], strict=True)]


# --------------------------------------------------------------------------- 1. uploads of at most 10,000 items


@pytest.mark.parametrize(("n_items", "overhead_s"), [(25_000, 30.0), (10_000, 5.0), (10_001, 2.0), (700, 12.0)])
def test_an_upload_loads_in_requests_of_at_most_10000_items(n_items: int, overhead_s: float):
    """Request k ends at launch + Σ_{j≤k} (n_j/u + overhead): all items are in at N/u + ceil(N/10,000)·overhead.

    Each request's suites (1000 tasks of 1 ms: 1 s) join when it ends and are taken at once by the ten
    members, so the batch is Processing from each request's end for 1 s, then Loading (nothing loaded left)
    until the next request ends, and Completed 1 s (or the last suite's time) after the last one."""
    rate, tps, task_s, launch = 50.0, 1000, 0.001, 60.0
    data = _scenario(
        [{"name": "b", "items": n_items, "tasks_per_suite": tps, "upload_rate": f"{rate}/s", "launch_at": "1m"}],
        team=10, task_s=task_s, policy={"upload_request_time": f"{overhead_s}s"},
    )
    result = _run(data)
    sizes = [min(10_000, n_items - k) for k in range(0, n_items, 10_000)]
    ends = [launch + sum(n / rate + overhead_s for n in sizes[: k + 1]) for k in range(len(sizes))]
    assert ends[-1] == pytest.approx(launch + n_items / rate + math.ceil(n_items / 10_000) * overhead_s)

    available = result.assignments.groupby("suite", observed=True)["available_at"].min().map(_s)
    assert sorted(set(available.round(6))) == pytest.approx(ends)  # each request's suites join when it ends
    batch = result.batches.iloc[0]
    assert batch["n_upload_requests"] == len(sizes)
    expected: list[tuple[float, str]] = [(0.0, "New"), (launch, "Loading")]
    for k, end in enumerate(ends):
        expected.append((pytest.approx(end), "Processing"))
        work_s = min(tps, sizes[k]) * task_s
        expected.append((pytest.approx(end + work_s), "Loading" if k + 1 < len(ends) else "Completed"))
    assert _statuses(result, "b") == expected


def test_uploads_without_a_rate_are_instant_but_count_requests():
    data = _scenario([{"name": "b", "items": 20_001, "tasks_per_suite": 10_000, "launch_at": "0s"},
                      {"name": "c", "items": 5, "launch_at": "0s"}],
                     team=0, events=[{"at": "1h", "add_items": {"batch": "c", "items": 30_000}}])
    result = _run(data)
    batches = result.batches.set_index("batch")
    assert batches.loc["b", "n_upload_requests"] == 3
    assert batches.loc["c", "n_upload_requests"] == 1 + 3
    assert batches.loc["c", "items"] == 30_005
    assert _statuses(result, "b") == [(0.0, "Processing")]  # no Loading without a rate (New lasted no time)


def test_requests_of_several_uploads_queue_one_after_another():
    """An add_items while the batch still loads waits for the earlier request: 100 items at 10/s + 7 s end at
    17 s; the 50 added at 5 s load from 17 s and join at 17 + 5 + 7 = 29 s."""
    rate, overhead = 10.0, 7.0
    data = _scenario([{"name": "b", "items": 100, "tasks_per_suite": 10, "upload_rate": f"{rate}/s",
                       "launch_at": "0s"}],
                     team=20, task_s=0.001, events=[{"at": "5s", "add_items": {"batch": "b", "items": 50}}],
                     policy={"upload_request_time": f"{overhead}s"})
    result = _run(data)
    first_end = 100 / rate + overhead
    second_end = first_end + 50 / rate + overhead
    available = result.assignments.groupby("suite", observed=True)["available_at"].min().map(_s)
    assert sorted(set(available.round(6))) == pytest.approx([first_end, second_end])
    assert result.batches.iloc[0]["n_upload_requests"] == 2
    assert result.batches.iloc[0]["labeled_items"] == 150


# --------------------------------------------------------------------------- 6. loaded work goes on while loading


def test_adding_items_to_a_running_batch_keeps_its_loaded_suites_worked():
    """add_items at 60 s (10,000 items at 5/s + 5 s: 2005 s) while one performer works 20 loaded items of 60 s
    (loaded at 9 s): the batch stays Processing and keeps handing out work; once its loaded work is done
    (9 + 20·60 = 1209 s) it shows Loading until the upload ends (2065 s), then Processing again."""
    rate, overhead, task_s = 5.0, 5.0, 60.0
    data = _scenario([{"name": "b", "items": 20, "upload_rate": f"{rate}/s", "launch_at": "0s"}],
                     team=1, task_s=task_s, horizon="5h",
                     events=[{"at": "60s", "add_items": {"batch": "b", "items": 10_000}}])
    result = _run(data)
    first_end = 20 / rate + overhead  # 9 s
    work_done = first_end + 20 * task_s  # 1209 s
    upload_end = 60 + 10_000 / rate + overhead  # 2065 s
    statuses = _statuses(result, "b")
    assert statuses[:4] == [(0.0, "Loading"), (first_end, "Processing"),
                            (pytest.approx(work_done), "Loading"), (pytest.approx(upload_end), "Processing")]
    reserved = result.assignments["reserved_at"].map(_s)
    assert ((reserved > 60) & (reserved < work_done)).sum() == 19  # 69 s, 129 s … 1149 s: while the upload ran


def test_a_batch_with_loaded_work_is_not_held_as_loading_in_the_labeling_queue():
    """While the higher batch loads extra items but still has loaded work, it is Processing (and blocks);
    the lower batch waits Queued, exactly as before the upload."""
    data = _scenario([{"name": "high", "items": 5, "labeling_queue": 1, "upload_rate": "100/s", "launch_at": "0s"},
                      {"name": "low", "items": 5, "labeling_queue": 2, "launch_at": "0s"}],
                     team=1, task_s=100.0, policy={"upload_request_time": "0s"},
                     events=[{"at": "50s", "add_items": {"batch": "high", "items": 100}}])
    result = _run(data)
    assert [s for _, s in _statuses(result, "high")] == ["Loading", "Processing", "Completed"]
    low = result.batches.set_index("batch").loc["low"]
    high = result.batches.set_index("batch").loc["high"]
    assert low["started_at"] == high["completed_at"]


# --------------------------------------------------------------------------- 2. minimum reward and time limit


def _one_batch(**batch: Any) -> dict[str, Any]:
    return _scenario([{"name": "b", "items": 5, **batch}], team=0)


@pytest.mark.parametrize(("batch", "account", "field", "words"), [
    ({"reward": 0.001}, {}, "projects[p].batches[b].reward", ["minimum reward", "0.005", "account.min_reward"]),
    ({"reward": 0.0}, {}, "projects[p].batches[b].reward", ["minimum reward"]),
    ({"reward": 0.02}, {"min_reward": 0.05}, "projects[p].batches[b].reward", ["0.05 USD"]),
    ({"time_limit": "10s"}, {}, "projects[p].batches[b].time_limit", ["30s to 7d"]),
    ({"time_limit": "8d"}, {}, "projects[p].batches[b].time_limit", ["30s to 7d"]),
    ({}, {"low_funds": -1}, "account.low_funds", ["≥ 0"]),
])
def test_platform_minimums_are_validated_with_one_line_naming_the_field(batch, account, field, words):
    data = _one_batch(**batch)
    data["account"].update(account)
    with pytest.raises(ScenarioError) as info:
        labelsim.load_scenario(data)
    assert info.value.field == field, str(info.value)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize(("batch", "account"), [
    ({"reward": 0.005, "time_limit": "30s"}, {}),
    ({"reward": 0.01, "time_limit": "7d"}, {}),
    ({"reward": 0.0}, {"min_reward": 0}),
])
def test_values_at_the_platform_limits_are_accepted(batch, account):
    data = _one_batch(**batch)
    data["account"].update(account)
    labelsim.load_scenario(data)


def test_the_cli_reports_a_reward_below_the_minimum_in_one_line(tmp_path):
    import yaml

    path = tmp_path / "cheap.yaml"
    path.write_text(yaml.safe_dump(_one_batch(reward=0.001)))
    out = CliRunner().invoke(app, ["validate", str(path)])
    assert out.exit_code == 2
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "projects[p].batches[b].reward" in lines[0], out.output


def test_an_override_below_the_minimum_names_the_set():
    scenario = labelsim.load_scenario(_one_batch())
    with pytest.raises(ScenarioError, match="minimum reward"):
        scenario.with_overrides(["batches.b.reward=0.0001"])


# --------------------------------------------------------------------------- 3. low funds


def test_low_funds_warns_once_per_crossing_and_a_top_up_rearms_it():
    """Cost 0.015 USD (0.01 + the 0.005 minimum fee); balance 0.10; one reservation every 10 s: after k of them
    the available money is 0.10 − 0.015·k, below 0.05 first at k = 4 (30 s); No money after the 6th (60 s).
    The top-up of 1 USD at 100 s lifts it to 1.01 (re-armed); 1.10 − 0.015·k < 0.05 again at k = 71, the 65th
    reservation after the top-up: 100 + 64·10 = 740 s.  The ledger's downward crossings say the same."""
    data = _scenario([{"name": "b", "items": 200, "launch_at": "0s"}], team=1, task_s=10.0, horizon="1h",
                     account={"balance": 0.10, "low_funds": 0.05, "top_ups": [{"at": "100s", "amount": 1.0}]})
    result = _run(data)
    low = result.warnings[result.warnings["action"] == "low_funds"]
    assert low["target"].tolist() == ["account", "account"]
    assert [_s(t) for t in low["at"]] == [30.0, 740.0]
    available = result.ledger["available_usd"].to_numpy()
    below = available < 0.05 - 1e-9
    crossings = result.ledger["at"][below & ~pd.Series(below).shift(1, fill_value=False).to_numpy()]
    assert [_s(t) for t in crossings] == [30.0, 740.0]
    assert "below the low-funds threshold (0.05 USD)" in low["message"].iloc[0]


def test_low_funds_at_the_start_and_off_by_default():
    data = _scenario([{"name": "b", "items": 3, "launch_at": "1h"}], team=0,
                     account={"balance": 1.0, "low_funds": 5.0})
    warnings = _run(data).warnings
    assert warnings["action"].tolist() == ["low_funds"] and _s(warnings["at"].iloc[0]) == 0.0
    del data["account"]["low_funds"]
    assert _run(data).warnings.empty


def test_money_released_by_expired_work_does_not_rearm_the_warning():
    account = Account(1_000)
    calls: list[tuple[float, int]] = []
    account.watch_low_funds(500, lambda t, available: calls.append((t, available)))
    account.reserved += 600
    account.check_low(1.0)
    account.release(600)
    account.reserved += 600
    account.check_low(2.0)
    assert calls == [(1.0, 400)]
    account.release(600)
    account.top_up(1, 3.0)  # available 1001 ≥ 500: re-armed
    account.reserved += 600
    account.check_low(4.0)
    assert calls == [(1.0, 400), (4.0, 401)]


def test_the_cli_prints_the_low_funds_warning(tmp_path):
    import yaml

    data = _scenario([{"name": "b", "items": 20, "launch_at": "0s"}], team=1, horizon="1h",
                     account={"balance": 0.10, "low_funds": 0.05})
    path = tmp_path / "low.yaml"
    path.write_text(yaml.safe_dump(data))
    out = CliRunner().invoke(app, ["run", str(path), "--seed", "1"])
    assert out.exit_code == 0, out.output
    assert "low_funds account: the available balance" in out.output


# --------------------------------------------------------------------------- 4. expected start


def _queue_pair(**high: Any) -> dict[str, Any]:
    return _scenario([{"name": "high", "items": 30, "labeling_queue": 1, "launch_at": "0s", **high},
                      {"name": "low", "items": 10, "labeling_queue": 2, "launch_at": "0s"},
                      {"name": "never", "items": 10, "labeling_queue": 3}], team=2, task_s=60.0)


def test_run_table_shows_when_a_queued_batch_starts():
    result = _run(_queue_pair())
    batches = result.batches.set_index("batch")
    assert batches.loc["low", "started_at"] == batches.loc["high", "completed_at"]
    assert (batches["opening_status"] == "New").all()
    table = batch_table(result.batches).set_index("Name")
    assert table.loc["low", "Expected start"] == labelsim.report.format_stamp(batches.loc["high", "completed_at"])
    assert table.loc["high", "Expected start"] == labelsim.report.format_stamp(START)
    assert table.loc["never", "Expected start"] == "—"


def test_a_batch_under_way_at_the_start_has_no_expected_start_but_a_queued_one_has():
    data = _scenario([
        {"name": "live", "items": 30, "labeling_queue": 1, "state": {"status": "Processing", "labeled_items": 10}},
        {"name": "waiting", "items": 10, "labeling_queue": 2, "state": {"status": "Queued"}},
    ], team=1, task_s=60.0, horizon="15m")
    result = _run(data)
    batches = result.batches.set_index("batch")
    assert batches["opening_status"].tolist() == ["Processing", "Queued"]
    table = batch_table(result.batches).set_index("Name")
    assert table.loc["live", "Expected start"] == "—"
    assert table.loc["waiting", "Expected start"] == NOT_WITHIN_HORIZON  # 20 min of work left above it, 15 min run


def test_forecast_start_p50_is_the_median_first_processing_and_equals_the_higher_batchs_eta():
    """Under the strict queue, in every replication the lower batch starts when the higher one completes:
    the two distributions are the same, so their medians are equal (an identity, whatever the draws)."""
    data = _queue_pair()
    data["performers"][0]["seconds_per_task"] = {"dist": "exponential", "mean": 60.0}
    fc = forecast(labelsim.load_scenario(data), 20, seed=3)
    eta = fc.eta.set_index("batch")
    assert eta.loc["low", "start_p50"] == eta.loc["high", "eta_p50"]
    assert eta["start_p50"].equals(eta["etd_p50"])  # the old name still works
    reps = fc.replications.pivot(index="replication", columns="batch")
    assert (reps[("started_at", "low")] == reps[("completed_at", "high")]).all()
    table = forecast_table(fc.eta).set_index("Name")
    assert table.loc["low", "Expected start"] == labelsim.report.format_stamp(eta.loc["low", "start_p50"])
    assert table.loc["never", "Expected start"] == NOT_WITHIN_HORIZON
    assert list(table.columns).index("Expected start") < list(table.columns).index("ETA P50")


# --------------------------------------------------------------------------- 5. no launch without items


def test_a_batch_without_items_cannot_be_launched():
    data = _scenario([{"name": "empty", "items": 0, "launch_at": "1m"}], team=1,
                     events=[{"at": "2m", "add_items": {"batch": "empty", "items": 3}},
                             {"at": "3m", "launch": "empty"}])
    result = _run(data)
    warnings = result.warnings
    assert warnings["action"].tolist() == ["launch_at"]
    assert _s(warnings["at"].iloc[0]) == 60.0 and "no items" in warnings["message"].iloc[0]
    assert _statuses(result, "empty")[:3] == [(0.0, "New"), (180.0, "Processing"), (210.0, "Completed")]


def test_a_streamed_batch_may_launch_empty_and_receive_items_later():
    data = _scenario([{"name": "fed", "items": 0, "launch_at": "0s",
                       "stream": {"rate": "10/h", "start": "1h", "items": 3}}], team=1, horizon="1d")
    result = _run(data)
    assert result.warnings.empty
    statuses = [s for _, s in _statuses(result, "fed")]
    assert statuses == ["Processing", "Completed"]  # launched at 0 s: Processing, waiting for items
    assert result.batches.iloc[0]["labeled_items"] == 3


# --------------------------------------------------------------------------- 7. cancel and pause hold the queue alike


@pytest.mark.parametrize("action", ["pause", "cancel", "fail"])
def test_pause_cancel_and_fail_hold_lower_queues_until_reserved_work_drains(action: str):
    """Two members take two 100 s suites at 0 s, 100 s, …; the action at 150 s leaves two in flight until
    200 s.  The lower queue waits Queued until then — for a pause, a cancel and a fail alike."""
    data = _scenario([{"name": "high", "items": 10, "labeling_queue": 1, "launch_at": "0s"},
                      {"name": "low", "items": 4, "labeling_queue": 2, "launch_at": "0s"}],
                     team=2, task_s=100.0, events=[{"at": "150s", action: "high"}])
    result = _run(data)
    batches = result.batches.set_index("batch")
    assert _s(batches.loc["low", "started_at"]) == 200.0
    assert batches.loc["high", "submitted"] == 4  # the reserved work was finished (and charged)
    assert batches.loc["low", "status"] == "Completed"
    high = dict(_statuses(result, "high"))
    assert high[150.0] == {"pause": "Stopping", "cancel": "Canceled", "fail": "Error"}[action]


def test_work_conserving_lets_lower_queues_start_at_once_after_a_cancel():
    data = _scenario([{"name": "high", "items": 10, "labeling_queue": 1, "launch_at": "0s"},
                      {"name": "low", "items": 4, "labeling_queue": 2, "launch_at": "0s"}],
                     team=2, task_s=100.0, events=[{"at": "150s", "cancel": "high"}],
                     policy={"queue": "work_conserving"})
    result = _run(data)
    low = result.assignments[result.assignments["batch"] == "low"]
    assert _s(low["reserved_at"].min()) == 200.0  # Processing from 0 s, but both members were busy until 200 s
    assert _s(result.batches.set_index("batch").loc["low", "started_at"]) == 0.0
