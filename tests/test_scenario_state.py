"""Schema of the warm-start fields: in-flight reservations, partial suites, done counts, age, decay, work skew."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from labelsim.scenario import Decay, Scenario, ScenarioError

BASE: dict[str, Any] = {
    "start": "2026-01-01T00:00:00Z",
    "account": {"balance": 100},
    "projects": [{"name": "p", "batches": [{
        "name": "b", "items": 20, "overlap": 3, "reward": 0.1, "time_limit": "10m",
        "state": {
            "status": "Processing", "labeled_items": 2, "submitted": 9, "age": "3h",
            "in_flight": [{"performer": "w1", "held": "2m", "suite": 0}, {"held": "30s"}],
            "suites": [{"submitted_by": ["w2", "w3"]}], "done": {"w2": 4, "w3": 1},
        },
    }]}],
    "performers": [{
        "name": "crowd", "kind": "crowd", "sessions_per_hour": 10,
        "seconds_per_task": {"dist": "constant", "value": 5},
        "decay": {"burst": 3, "half_life": "6h"}, "top10_share_of_work": 0.4,
    }],
}


def test_fields_validate_and_round_trip() -> None:
    scenario = Scenario.from_mapping(BASE)
    state = scenario.projects[0].batches[0].state
    assert state is not None
    assert state.n_in_flight == 2 and state.reservations[0].held == 120.0 and state.age == 3 * 3600.0
    assert state.partial_submitted == 2
    assert Scenario.from_mapping(scenario.to_mapping()) == scenario


def test_count_shorthand_still_works() -> None:
    data = copy.deepcopy(BASE)
    data["projects"][0]["batches"][0]["state"] = {"status": "Processing", "in_flight": 4}
    state = Scenario.from_mapping(data).projects[0].batches[0].state
    assert state is not None and state.n_in_flight == 4 and len(state.reservations) == 4


def test_decay_multiplier() -> None:
    decay = Decay.model_validate({"burst": 3.0, "half_life": "1h"})
    assert decay.multiplier(0.0) == 3.0
    assert decay.multiplier(3600.0) == pytest.approx(2.0)
    assert decay.multiplier(1e9) == pytest.approx(1.0)


def test_fade_multiplier_and_its_checks() -> None:
    fade = Decay.model_validate({"fade_exponent": 1.0, "fade_scale": "2h"})
    assert fade.multiplier(-5.0) == 1.0
    assert fade.multiplier(7200.0) == pytest.approx(0.5)
    assert fade.multiplier(3 * 7200.0) == pytest.approx(0.25)
    both = Decay.model_validate({"burst": 3.0, "half_life": "1h", "fade_exponent": 1.0, "fade_scale": "1h"})
    assert both.multiplier(3600.0) == pytest.approx(2.0 * 0.5)
    for bad, needle in (({"burst": 2.0}, "half_life"), ({"fade_exponent": 0.5}, "fade_scale"), ({}, "drop decay"),
                        ({"fade_exponent": 4, "fade_scale": "1h"}, "fade_exponent")):
        with pytest.raises(ValidationError, match=needle):
            Decay.model_validate(bad)


@pytest.mark.parametrize(("key", "value", "needle"), [
    ("in_flight", [{"held": "11m"}], "held"),
    ("in_flight", [{"suite": 3}], "suite"),
    ("in_flight", [{"performer": "w2", "suite": 0}], "already has suite"),
    ("in_flight", [{"performer": "x", "suite": 0}, {"suite": 0}], "more submitted and in-flight"),
    ("in_flight", -1, "negative"),
    ("suites", [{"submitted_by": ["a", "a"]}], "at most once"),
    ("suites", [{"submitted_by": ["a", "b", "c"]}], "fewer than overlap"),
    ("done", {"x": -1}, "negative"),
    ("age", "-1h", "negative"),
    ("submitted", 7, "listed in state.suites"),
])
def test_bad_state_is_one_line(key: str, value: object, needle: str) -> None:
    data = copy.deepcopy(BASE)
    data["projects"][0]["batches"][0]["state"][key] = value
    with pytest.raises(ScenarioError, match=needle) as info:
        Scenario.from_mapping(data)
    assert "\n" not in str(info.value)


def test_skew_on_sessions_or_work_not_both() -> None:
    data = copy.deepcopy(BASE)
    data["performers"][0]["top10_share"] = 0.6
    with pytest.raises(ScenarioError, match="not both"):
        Scenario.from_mapping(data)


def test_only_the_skew_in_use_is_dumped() -> None:
    data = copy.deepcopy(BASE)
    data["performers"][0]["top10_share_of_work"] = 0.4
    data["performers"][0].pop("top10_share", None)
    scenario = Scenario.from_mapping(data)
    dumped = scenario.to_mapping()["performers"][0]
    assert dumped["top10_share_of_work"] == 0.4 and "top10_share" not in dumped
    assert Scenario.from_mapping(scenario.to_mapping()) == scenario
