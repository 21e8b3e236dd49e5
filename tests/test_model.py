"""Targeted behaviours of the model's performers and assignments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

import labelsim


def _crowd_scenario(**crowd: object) -> dict:
    spec = {
        "name": "crowd", "kind": "crowd", "sessions_per_hour": 120, "population": 200,
        "suites_per_session": {"dist": "geometric", "mean": 4},
        "seconds_per_task": {"dist": "exponential", "mean": 60},
    }
    spec.update(crowd)
    return {
        "name": "crowd only",
        "start": "2026-12-01T00:00:00Z",
        "horizon": "1d",
        "account": {"balance": 1e6},
        "projects": [{"name": "p", "batches": [
            {"name": "b", "items": 20000, "overlap": 3, "reward": 0.01, "time_limit": "1h", "launch_at": "0s"},
        ]}],
        "performers": [spec],
    }


def test_a_person_never_works_two_suites_at_once():
    result = labelsim.simulate(labelsim.load_scenario(_crowd_scenario()), seed=4)
    work = result.assignments.dropna(subset=["ended_at"]).sort_values(["performer", "reserved_at"])
    assert len(work) > 1000
    previous_end = work.groupby("performer", observed=True)["ended_at"].shift()
    overlapping = work["reserved_at"] < previous_end
    assert not overlapping.any(), work[overlapping].head()


def test_the_most_active_tenth_holds_the_configured_share_of_sessions():
    """Sessions per person follow the Zipf law fitted to top10_share (sessions short, so few redraws)."""
    scenario = _crowd_scenario(population=500, sessions_per_hour=100, top10_share=0.6,
                               suites_per_session={"dist": "constant", "value": 1},
                               seconds_per_task={"dist": "constant", "value": 5})
    result = labelsim.simulate(labelsim.load_scenario(scenario), seed=2)
    sessions = np.sort(result.performers["sessions"].to_numpy())[::-1]
    total = sessions.sum()
    assert total > 2000
    share = sessions[:50].sum() / total  # top 10 % of 500 people
    se = math.sqrt(0.6 * 0.4 / total)
    assert abs(share - 0.6) < 4 * se + 0.01, share


def test_skips_and_abandons_happen_at_their_rates():
    scenario = _crowd_scenario(skip_rate=0.1, abandon_rate=0.05)
    result = labelsim.simulate(labelsim.load_scenario(scenario), seed=8)
    done = result.assignments[result.assignments["outcome"] != "in_flight"]
    n = len(done)
    for outcome, rate in (("skipped", 0.1), ("expired", 0.05)):
        observed = (done["outcome"] == outcome).mean()
        assert abs(observed - rate) < 4 * math.sqrt(rate * (1 - rate) / n), (outcome, observed)
    skipped = done[done["outcome"] == "skipped"]
    assert (skipped["ended_at"] == skipped["reserved_at"]).all()  # returned at once
    expired = done[done["outcome"] == "expired"]
    assert ((expired["ended_at"] - expired["reserved_at"]) == pd.Timedelta("1h")).all()  # held to the limit


def test_work_longer_than_the_time_limit_expires_and_is_not_paid():
    scenario = _crowd_scenario(seconds_per_task={"dist": "constant", "value": 7200})
    scenario["horizon"] = "6h"
    result = labelsim.simulate(labelsim.load_scenario(scenario), seed=1)
    outcomes = set(result.assignments["outcome"].astype(str))
    assert outcomes <= {"expired", "in_flight"} and "expired" in outcomes
    assert result.money["spent_usd"] == 0.0
    assert result.batches.loc[0, "labeled_items"] == 0


def test_a_session_that_finds_nothing_leaves_at_once():
    """Before the launch at 12:00 sessions arrive (about 120/h) and leave without taking anything."""
    scenario = _crowd_scenario()
    scenario["projects"][0]["batches"][0]["launch_at"] = "12h"
    result = labelsim.simulate(labelsim.load_scenario(scenario), seed=1)
    launch = pd.Timestamp("2026-12-01T12:00:00Z")
    assert result.assignments["reserved_at"].min() >= launch
    sessions = result.performers["sessions"].sum()
    assert abs(sessions - 120 * 24) < 4 * math.sqrt(120 * 24)  # all the day's sessions, not just those with work
