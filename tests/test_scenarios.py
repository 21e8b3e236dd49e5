"""Every bundled scenario simulates with frames that match their schemas, and tells its story.

The schema test globs ``scenarios/``, so a new file is covered without touching this module.
The story tests check, for seeds 1–3, what each file's comments promise (statuses and their
times, money, warnings, shifts in local time) — behaviour, never pinned random numbers.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import pytest

import labelsim
from labelsim.results import check_schema
from labelsim.units import parse_duration

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SEEDS = (1, 2, 3)
#: The frames of one simulated run (labelsim.SCHEMAS also documents the forecast frames).
RUN_FRAMES = ("batches", "status_timeline", "assignments", "ledger", "progress", "performers", "warnings")
SCENARIO_FILES = sorted(SCENARIOS.glob("*.yaml"))


@functools.cache
def _scenario(name: str, overrides: tuple[str, ...] = ()) -> labelsim.Scenario:
    return labelsim.load_scenario(SCENARIOS / name, overrides)


@functools.cache
def _run(name: str, seed: int, overrides: tuple[str, ...] = ()) -> labelsim.SimulationResult:
    return labelsim.simulate(_scenario(name, overrides), seed=seed)


def _statuses(result: labelsim.SimulationResult, batch: str) -> list[str]:
    timeline = result.status_timeline
    return timeline.loc[timeline["batch"] == batch, "status"].tolist()


def _entered(result: labelsim.SimulationResult, batch: str, status: str) -> list[pd.Timestamp]:
    """When ``batch`` entered ``status`` (every time, in order)."""
    timeline = result.status_timeline
    rows = timeline[(timeline["batch"] == batch) & (timeline["status"] == status)]
    return rows["start_at"].tolist()


def _at(result: labelsim.SimulationResult, offset: str) -> pd.Timestamp:
    """The scenario start plus an offset in the scenario's units, such as ``2h30m`` or ``1d``."""
    return result.start + pd.Timedelta(seconds=parse_duration(offset))


def _ledger_rows(result: labelsim.SimulationResult, batch: str, kind: str) -> pd.DataFrame:
    ledger = result.ledger
    return ledger[(ledger["batch"] == batch) & (ledger["kind"] == kind)]


# --------------------------------------------------------------------------- every file


def test_the_bundled_scenarios_are_found():
    names = {path.name for path in SCENARIO_FILES}
    assert {"quickstart.yaml", "priority_queue.yaml", "pause_resume.yaml", "money_topup.yaml",
            "team_shifts.yaml"} <= names


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_scenario_simulates_with_documented_frames(path: Path):
    result = _run(path.name, 1)
    for name in RUN_FRAMES:
        assert check_schema(getattr(result, name), name) == [], name
    assert result.provenance["seed"] == 1
    assert result.provenance["wall_time_s"] < 2.0, "a bundled scenario should simulate in well under 2 s"
    assert len(result.batches) == sum(len(p.batches) for p in result.scenario.projects)


# --------------------------------------------------------------------------- priority_queue.yaml


@pytest.mark.parametrize("seed", SEEDS)
def test_priority_queue_story(seed: int):
    """Strict queue: lower queues wait Queued; same queue: smallest first; set_queue reorders."""
    result = _run("priority_queue.yaml", seed)
    batches = result.batches.set_index("batch")
    assert (batches["status"] == "Completed").all(), batches["status"]
    assert result.warnings.empty
    escalation = _at(result, "2h30m")

    # queue 1 first; everything else Queued until it completes
    assert _statuses(result, "hotfix-queries") == ["Processing", "Completed"]
    hotfix_done = batches.loc["hotfix-queries", "completed_at"]
    for name in ("ads-small", "ads-large", "legal-review", "backfill"):
        assert _statuses(result, name)[0] == "Queued", name

    # the two queue-2 batches start together when the hotfix completes; the smaller finishes first
    assert _entered(result, "ads-small", "Processing") == [hotfix_done]
    assert _entered(result, "ads-large", "Processing")[0] == hotfix_done
    assert _statuses(result, "ads-small") == ["Queued", "Processing", "Completed"]
    assert batches.loc["ads-small", "completed_at"] < escalation

    # the escalation: legal-review (3 -> 1) starts at once and sends ads-large back to Queued
    assert _statuses(result, "legal-review") == ["Queued", "Processing", "Completed"]
    assert _entered(result, "legal-review", "Processing") == [escalation]
    assert batches.loc["legal-review", "labeling_queue"] == 1
    assert _statuses(result, "ads-large") == ["Queued", "Processing", "Queued", "Processing", "Completed"]
    assert _entered(result, "ads-large", "Queued")[1] == escalation
    legal_done = batches.loc["legal-review", "completed_at"]
    assert _entered(result, "ads-large", "Processing")[1] == legal_done

    # queue 4 runs last, after every higher batch completed
    assert _statuses(result, "backfill") == ["Queued", "Processing", "Completed"]
    others_done = batches.drop(index="backfill")["completed_at"].max()
    assert _entered(result, "backfill", "Processing") == [others_done]


# --------------------------------------------------------------------------- pause_resume.yaml


@pytest.mark.parametrize("seed", SEEDS)
def test_pause_resume_story(seed: int):
    """Pause -> Stopping (reserved work finishes and is charged) -> Stopped -> resume; a cancel;
    two refused actions reported as warnings."""
    result = _run("pause_resume.yaml", seed)
    pause, cancel, resume = _at(result, "1h30m"), _at(result, "2h"), _at(result, "4h")

    assert _statuses(result, "spam-quick") == ["Processing", "Completed"]
    assert _statuses(result, "toxicity-v2") == [
        "Queued", "Processing", "Stopping", "Stopped", "Processing", "Completed",
    ]
    assert _entered(result, "toxicity-v2", "Stopping") == [pause]
    (stopped,) = _entered(result, "toxicity-v2", "Stopped")
    assert stopped > pause  # Stopping lasted while reserved assignments were finished
    assert _entered(result, "toxicity-v2", "Processing")[1] == resume

    # while Stopping: reserved assignments are charged; while paused nobody reserves new ones
    charges = _ledger_rows(result, "toxicity-v2", "charge")["at"]
    assert ((charges > pause) & (charges <= stopped)).sum() > 0
    reserves = _ledger_rows(result, "toxicity-v2", "reserve")["at"]
    assert not ((reserves >= pause) & (reserves < resume)).any()

    # nsfw-legacy starts while toxicity-v2 is Stopped, is canceled (reserved work still charged), archived
    assert _statuses(result, "nsfw-legacy") == ["Queued", "Processing", "Canceled", "Archive"]
    assert _entered(result, "nsfw-legacy", "Processing") == [stopped]
    assert _entered(result, "nsfw-legacy", "Canceled") == [cancel]
    assert _entered(result, "nsfw-legacy", "Archive") == [_at(result, "1d")]
    charges = _ledger_rows(result, "nsfw-legacy", "charge")["at"]
    assert (charges > cancel).sum() > 0
    assert not (_ledger_rows(result, "nsfw-legacy", "reserve")["at"] >= cancel).any()

    warnings = result.warnings
    assert warnings["action"].tolist() == ["pause", "archive"]
    assert warnings["target"].tolist() == ["spam-quick", "toxicity-v2"]
    assert warnings["at"].tolist() == [_at(result, "3h"), _at(result, "5h")]
    assert "Completed" in warnings["message"].iloc[0]
    assert "Processing" in warnings["message"].iloc[1]


# --------------------------------------------------------------------------- money_topup.yaml


@pytest.mark.parametrize("seed", SEEDS)
def test_money_topup_story(seed: int):
    """The balance runs out (No money); the top-up resumes labeling at once."""
    result = _run("money_topup.yaml", seed)
    top_up = pd.Timestamp("2026-12-04T09:00:00Z")
    assert _statuses(result, "sentiment-reviews") == ["Processing", "No money", "Processing", "Completed"]
    (ran_out,) = _entered(result, "sentiment-reviews", "No money")
    assert ran_out < top_up - pd.Timedelta("12h")  # No money through the night
    assert _entered(result, "sentiment-reviews", "Processing")[1] == top_up
    assert _statuses(result, "intent-labels")[-2:] == ["Processing", "Completed"]

    # nobody takes new work between running out and the top-up
    reserves = result.ledger.loc[result.ledger["kind"] == "reserve", "at"]
    assert not ((reserves > ran_out) & (reserves < top_up)).any()
    assert result.ledger["available_usd"].min() >= 0

    money = result.money
    assert money["opening_balance_usd"] == 40.0
    assert money["top_ups_usd"] == 100.0
    # 1500 × (0.05 + 0.015) + 100 × (0.10 + 0.03): every assignment of both batches was paid
    assert money["spent_usd"] == pytest.approx(110.5)
    assert money["reserved_usd"] == 0
    assert result.warnings.empty


@pytest.mark.parametrize("seed", SEEDS)
def test_money_topup_require_full_cost_variant(seed: int):
    """As the file's comments say: the expensive batch cannot start; the cheap one overtakes it."""
    result = _run("money_topup.yaml", seed, ("policy.money=require_full_cost",))
    top_up = pd.Timestamp("2026-12-04T09:00:00Z")
    assert _statuses(result, "sentiment-reviews") == ["No money", "Processing", "Completed"]
    assert _entered(result, "sentiment-reviews", "Processing") == [top_up]
    assert _statuses(result, "intent-labels") == ["Processing", "Completed"]
    assert result.batches.set_index("batch").loc["intent-labels", "completed_at"] < top_up
    assert not (_ledger_rows(result, "sentiment-reviews", "reserve")["at"] < top_up).any()


@pytest.mark.parametrize("seed", SEEDS)
def test_money_topup_without_resume_on_top_up(seed: int):
    """With resume_on_top_up false the top-up alone does not restart the batch."""
    result = _run("money_topup.yaml", seed, ("policy.resume_on_top_up=false",))
    assert _statuses(result, "sentiment-reviews") == ["Processing", "No money"]
    assert result.money["top_ups_usd"] == 100.0
    assert result.money["balance_usd"] > 100.0  # the money is there, unused


# --------------------------------------------------------------------------- team_shifts.yaml


@pytest.mark.parametrize("seed", SEEDS)
def test_team_shifts_story(seed: int):
    """The team works only Mon–Fri 09:00–17:00 Berlin time (across the DST change); the crowd
    works around the clock; progress shows the day/night cycle over several days."""
    result = _run("team_shifts.yaml", seed)
    assert str(result.start.tz) == "Europe/Berlin"
    (batch,) = result.batches.itertuples()
    assert batch.status == "Completed"
    assert batch.completed_at - result.start > pd.Timedelta(days=4)

    assignments = result.assignments
    assert str(assignments["reserved_at"].dt.tz) == "Europe/Berlin"
    team = assignments[assignments["group"] == "linguists"]
    local = team["reserved_at"]
    assert (local.dt.day_of_week < 5).all(), "the team works Monday to Friday"
    assert local.dt.hour.between(9, 16).all(), sorted(local.dt.hour.unique())
    # before and after the clocks go back (Sunday 25 October), shifts start at 09:00 local time
    for day in ("2026-10-22", "2026-10-26"):
        on_day = local[local.dt.strftime("%Y-%m-%d") == day]
        assert len(on_day) > 0, day
        assert on_day.min().strftime("%H:%M") == "09:00", day
    assert local.dt.date.nunique() >= 4

    crowd = assignments[assignments["group"] == "crowd"]["reserved_at"]
    assert crowd.dt.hour.isin([0, 1, 2, 3, 4, 5]).any(), "the crowd also works at night"
    assert crowd.dt.day_of_week.isin([5, 6]).any(), "and at the weekend"

    # the day/night cycle in progress: labeling is much faster in weekday office hours than at night
    progress = result.progress.set_index("at")["labeled_items"].sort_index()
    per_step = progress.diff().dropna()
    per_step = per_step[per_step.index < batch.completed_at]
    hours, weekdays = per_step.index.hour, per_step.index.day_of_week
    office = per_step[(weekdays < 5) & (hours >= 10) & (hours < 16)].mean()
    night = per_step[(hours >= 1) & (hours < 6)].mean()
    assert office > 3 * night, (office, night)
