"""The scenario schema: what ``labelsim.load_scenario`` accepts, and its error messages.

Every mistake must raise :class:`labelsim.ScenarioError` whose message names the field
(``projects[search-relevance].batches[week-49].overlap``: list items by their name) and the
problem.  Also: labeling queue words, the ``stop`` alias, ``project/batch`` references,
timestamps vs offsets, and the ``--set`` overrides of :func:`labelsim.scenario.apply_overrides`.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import labelsim
from labelsim.scenario import LabelsimError, ScenarioError, apply_overrides

B49 = "projects[search-relevance].batches[week-49]"


def base() -> dict[str, Any]:
    """A valid scenario mapping: two projects, three batches, a crowd and a team, one event."""
    return {
        "name": "schema-test",
        "start": "2026-12-01T09:00:00Z",
        "timezone": "UTC",
        "horizon": "3d",
        "account": {"balance": 100.0},
        "projects": [
            {
                "name": "search-relevance",
                "batches": [
                    {"name": "week-49", "items": 300, "labeling_queue": 1, "overlap": 3, "tasks_per_suite": 10,
                     "reward": 0.04, "time_limit": "10m", "launch_at": "0h"},
                    {"name": "week-49-hard", "items": 100, "labeling_queue": 2, "reward": 0.05,
                     "time_limit": "15m", "launch_at": "0h"},
                ],
            },
            {
                "name": "product-tagging",
                "batches": [{"name": "catalog-dec", "items": 400, "reward": 0.1, "time_limit": "20m"}],
            },
        ],
        "performers": [
            {"name": "crowd", "kind": "crowd", "sessions_per_hour": 40,
             "seconds_per_task": {"dist": "exponential", "mean": 10}},
            {"name": "in-house", "kind": "team", "size": 2,
             "seconds_per_task": {"dist": "exponential", "mean": 8}},
        ],
        "events": [{"at": "1h", "pause": "week-49-hard"}],
    }


def _batch(data: dict[str, Any], project: int = 0, batch: int = 0) -> dict[str, Any]:
    return data["projects"][project]["batches"][batch]


def _error(change: Callable[[dict[str, Any]], object]) -> ScenarioError:
    data = base()
    change(data)
    with pytest.raises(ScenarioError) as info:
        labelsim.load_scenario(data)
    return info.value


def test_the_base_scenario_is_valid():
    scenario = labelsim.load_scenario(base())
    assert [b.name for _, b in scenario.batches()] == ["week-49", "week-49-hard", "catalog-dec"]


# --------------------------------------------------------------------------- error messages

#: case -> (change to the base mapping, expected field, substrings of the problem)
ERRORS: dict[str, tuple[Callable[[dict[str, Any]], object], str, list[str]]] = {
    "unknown-key": (lambda d: _batch(d).update(overlpa=3), f"{B49}.overlpa", ["unknown key", "did you mean 'overlap'"]),
    "unknown-top-level-key": (lambda d: d.update(polcy={}), "polcy", ["unknown key", "did you mean 'policy'"]),
    "unknown-performer-key": (
        lambda d: d["performers"][0].update(sesions_per_hour=3),
        "performers[crowd].sesions_per_hour", ["unknown key", "'sessions_per_hour'"],
    ),
    "unknown-team-key": (
        lambda d: d["performers"][1].update(sizee=3), "performers[in-house].sizee", ["unknown key", "'size'"],
    ),
    "unknown-event-action": (
        lambda d: d["events"][0].update(pasue="week-49"), "events[0].pasue", ["unknown key", "'pause'"],
    ),
    "overlap-zero": (lambda d: _batch(d).update(overlap=0), f"{B49}.overlap", ["must be ≥ 1", "0"]),
    "overlap-too-big": (lambda d: _batch(d).update(overlap=30001), f"{B49}.overlap", ["must be ≤ 30000"]),
    "items-negative": (lambda d: _batch(d).update(items=-5), f"{B49}.items", ["must be ≥ 0", "-5"]),
    "items-fraction": (lambda d: _batch(d).update(items=2.5), f"{B49}.items", ["integer", "2.5"]),
    "queue-six": (lambda d: _batch(d).update(labeling_queue=6), f"{B49}.labeling_queue", ["must be ≤ 5"]),
    "queue-zero": (lambda d: _batch(d).update(labeling_queue=0), f"{B49}.labeling_queue", ["must be ≥ 1"]),
    "queue-word": (
        lambda d: _batch(d).update(labeling_queue="SIX"), f"{B49}.labeling_queue", ["'SIX'", "ONE..FIVE"],
    ),
    "fee-rate": (lambda d: d["account"].update(fee_rate=1.5), "account.fee_rate", ["must be ≤ 1", "1.5"]),
    "balance-negative": (lambda d: d["account"].update(balance=-1), "account.balance", ["must be ≥ 0"]),
    "balance-text": (lambda d: d["account"].update(balance="lots"), "account.balance", ["number", "'lots'"]),
    "missing-reward": (lambda d: _batch(d).pop("reward"), f"{B49}.reward", ["missing"]),
    "missing-account": (lambda d: d.pop("account"), "account", ["missing"]),
    "bad-duration": (
        lambda d: _batch(d).update(time_limit="10 minutes"), f"{B49}.time_limit", ["bad duration", "'10 minutes'"],
    ),
    "zero-duration": (lambda d: _batch(d).update(time_limit="0s"), f"{B49}.time_limit", ["positive"]),
    "negative-duration": (lambda d: _batch(d).update(time_limit="-5m"), f"{B49}.time_limit", ["negative"]),
    "duration-without-unit": (lambda d: _batch(d).update(time_limit=600), f"{B49}.time_limit", ["unit"]),
    "bad-horizon": (lambda d: d.update(horizon="forever"), "horizon", ["bad duration", "'forever'"]),
    "bad-event-time": (lambda d: d["events"][0].update(at="soon"), "events[0].at", ["'soon'"]),
    "bad-rate": (
        lambda d: _batch(d).update(stream={"rate": "fast"}), f"{B49}.stream.rate", ["bad rate", "'fast'"],
    ),
    "event-unknown-batch": (
        lambda d: d["events"][0].update(pause="week-50"),
        "events[0].pause", ["no batch named 'week-50'", "did you mean 'week-49'"],
    ),
    "event-unknown-project": (
        lambda d: d["events"].append({"at": "2h", "archive_project": "nope"}),
        "events[1].archive_project", ["no project named 'nope'", "search-relevance"],
    ),
    "set-queue-unknown-batch": (
        lambda d: d["events"].append({"at": "2h", "set_queue": {"batch": "wk-49", "queue": 1}}),
        "events[1].set_queue", ["no batch named 'wk-49'"],
    ),
    "set-queue-out-of-range": (
        lambda d: d["events"].append({"at": "2h", "set_queue": {"batch": "week-49", "queue": 9}}),
        "events[1].set_queue.queue", ["must be ≤ 5"],
    ),
    "event-two-actions": (
        lambda d: d["events"][0].update(resume="week-49"), "events[0]", ["exactly one action", "pause, resume"],
    ),
    "event-no-action": (lambda d: d["events"].append({"at": "2h"}), "events[1]", ["exactly one action", "none"]),
    "duplicate-batch": (
        lambda d: _batch(d, 0, 1).update(name="week-49"),
        "projects[search-relevance].batches", ["duplicate batch name 'week-49'"],
    ),
    "duplicate-project": (
        lambda d: d["projects"][1].update(name="search-relevance"),
        "projects", ["duplicate project name 'search-relevance'"],
    ),
    "duplicate-performer-group": (
        lambda d: d["performers"][1].update(name="crowd"), "performers", ["duplicate performer group name 'crowd'"],
    ),
    "unknown-time-zone": (lambda d: d.update(timezone="Mars/Olympus"), "timezone", ["'Mars/Olympus'"]),
    "bad-start": (lambda d: d.update(start="yesterday"), "start", ["'yesterday'", "ISO 8601"]),
    "launch-before-start": (
        lambda d: _batch(d).update(launch_at="2026-11-30T00:00:00Z"), f"{B49}.launch_at", ["before the scenario start"],
    ),
    "bad-timestamp": (
        lambda d: _batch(d).update(launch_at="2026-13-01T00:00:00Z"), f"{B49}.launch_at", ["bad timestamp"],
    ),
    "unknown-performer-kind": (
        lambda d: d["performers"][0].update(kind="robot"), "performers[crowd]", ["'robot'", "'crowd'", "'team'"],
    ),
    "unknown-distribution": (
        lambda d: d["performers"][0].update(seconds_per_task={"dist": "normal", "mean": 3}),
        "performers[crowd].seconds_per_task", ["'normal'", "'lognormal'"],
    ),
    "unknown-activity-preset": (
        lambda d: d["performers"][0].update(activity="nocturnal"),
        "performers[crowd].activity", ["'nocturnal'", "diurnal"],
    ),
    "bad-policy": (lambda d: d.update(policy={"queue": "fifo"}), "policy.queue", ["'strict'", "'fifo'"]),
    "bad-shift-time": (
        lambda d: d["performers"][1].update(shifts=[{"start": "25:00", "end": "17:00"}]),
        "performers[in-house].shifts[0].start", ["'25:00'"],
    ),
    "bad-state-status": (
        lambda d: _batch(d).update(launch_at=None, state={"status": "Procesing"}),
        f"{B49}.state.status", ["unknown status 'Procesing'", "Processing"],
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_error_names_the_field_and_the_problem(case: str):
    change, field, problems = ERRORS[case]
    error = _error(change)
    assert error.field == field, str(error)
    message = str(error)
    assert message.startswith(f"{field}: "), message
    assert "\n" not in message
    for text in problems:
        assert text in error.problem, (text, error.problem)
    assert isinstance(error, LabelsimError) and isinstance(error, ValueError)


def test_several_problems_report_the_first_and_count_the_rest():
    error = _error(lambda d: _batch(d).update(overlap=0, items=-1))
    assert error.field.startswith(B49)
    assert "(and 1 more problem)" in error.problem


def test_a_boolean_is_not_a_labeling_queue():
    _error(lambda d: _batch(d).update(labeling_queue=True))


def test_empty_projects_message_is_plain():
    error = _error(lambda d: d.update(projects=[]))
    assert error.field == "projects"
    assert "tuple" not in error.problem and "after validation" not in error.problem


# --------------------------------------------------------------------------- files


def _file_error(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        labelsim.load_scenario(path)
    return info.value


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\naccount:\n  balance: [50\nprojects: []\n", encoding="utf-8")
    message = str(_file_error(path))
    assert message.startswith(f"{path}: YAML syntax error at line ")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "the file is empty"), ("   \n\n", "the file is empty"), ("# TODO\n", "no scenario"),
     ("- a\n- b\n", "mapping")],
    ids=["empty", "blank", "only-comments", "a-list"],
)
def test_empty_or_wrong_files(tmp_path, text, problem):
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    message = str(_file_error(path))
    assert message.startswith(f"{path}: ") and problem in message, message


def test_missing_file_and_folder(tmp_path):
    assert "no such file" in str(_file_error(tmp_path / "nope.yaml"))
    assert "folder" in str(_file_error(tmp_path))


def test_file_errors_carry_the_source(tmp_path):
    data = base()
    _batch(data)["overlap"] = 0
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    error = _file_error(path)
    assert error.source == str(path)
    assert str(error) == f"{path}: {B49}.overlap: {error.problem}"


# --------------------------------------------------------------------------- labeling queue words


@pytest.mark.parametrize(
    ("value", "queue"),
    [("ONE", 1), ("TWO", 2), ("THREE", 3), ("FOUR", 4), ("FIVE", 5), ("two", 2), (" Three ", 3), ("4", 4), (5, 5)],
)
def test_labeling_queue_words(value, queue):
    data = base()
    _batch(data)["labeling_queue"] = value
    scenario = labelsim.load_scenario(data)
    assert scenario.projects[0].batches[0].labeling_queue == queue


def test_labeling_queue_defaults_to_five():
    scenario = labelsim.load_scenario(base())
    assert scenario.projects[1].batches[0].labeling_queue == 5


def test_set_queue_accepts_words():
    data = base()
    data["events"].append({"at": "2h", "set_queue": {"batch": "catalog-dec", "queue": "ONE"}})
    event = labelsim.load_scenario(data).events[1]
    assert event.action == "set_queue" and event.target == "catalog-dec"
    assert event.set_queue.queue == 1


# --------------------------------------------------------------------------- events: stop, references


def test_stop_is_an_alias_of_pause():
    data = base()
    data["events"] = [{"at": "1h", "stop": "week-49"}, {"at": "2h", "resume": "week-49"}]
    scenario = labelsim.load_scenario(data)
    assert [e.action for e in scenario.events] == ["pause", "resume"]
    assert scenario.events[0].target == "week-49"


def test_stop_pauses_in_a_simulation():
    data = {
        "name": "stop", "start": "2026-12-01T00:00:00Z", "horizon": "2d", "account": {"balance": 1000.0},
        "projects": [{"name": "p", "batches": [
            {"name": "b", "items": 400, "reward": 0.01, "time_limit": "1h", "launch_at": "0s"}]}],
        "performers": [{"name": "team", "kind": "team", "size": 3,
                        "seconds_per_task": {"dist": "exponential", "mean": 60}}],
        "events": [{"at": "1h", "stop": "b"}, {"at": "3h", "resume": "p/b"}],
    }
    result = labelsim.simulate(data, seed=1)
    timeline = result.status_timeline
    assert timeline["status"].tolist() == ["Processing", "Stopping", "Stopped", "Processing", "Completed"]
    assert timeline["start_at"].iloc[1] == result.start + dt.timedelta(hours=1)
    assert timeline["start_at"].iloc[3] == result.start + dt.timedelta(hours=3)


def _with_shared_batch_name() -> dict[str, Any]:
    """Both projects have a batch called 'shared'."""
    data = base()
    data["projects"][0]["batches"].append({"name": "shared", "items": 10, "reward": 0.01, "time_limit": "5m"})
    data["projects"][1]["batches"].append({"name": "shared", "items": 20, "reward": 0.01, "time_limit": "5m"})
    return data


def test_project_slash_batch_references():
    data = _with_shared_batch_name()
    data["events"] = [
        {"at": "1h", "launch": "product-tagging/shared"},
        {"at": "2h", "pause": "search-relevance/week-49"},
        {"at": "3h", "set_queue": {"batch": "search-relevance/shared", "queue": 1}},
        {"at": "4h", "add_items": {"batch": "product-tagging/shared", "items": 5}},
    ]
    scenario = labelsim.load_scenario(data)
    project, batch = scenario.find_batch("product-tagging/shared")
    assert (project.name, batch.items) == ("product-tagging", 20)
    project, batch = scenario.find_batch("search-relevance/shared")
    assert (project.name, batch.items) == ("search-relevance", 10)
    assert scenario.find_batch("week-49")[0].name == "search-relevance"  # a unique name needs no project


def test_a_batch_name_in_two_projects_is_ambiguous():
    data = _with_shared_batch_name()
    data["events"] = [{"at": "1h", "launch": "shared"}]
    with pytest.raises(ScenarioError) as info:
        labelsim.load_scenario(data)
    error = info.value
    assert error.field == "events[0].launch"
    assert "ambiguous" in error.problem
    assert "search-relevance/shared" in error.problem and "product-tagging/shared" in error.problem


@pytest.mark.parametrize(
    ("ref", "expected"),
    [("catalog-dec/shared", "no batch named 'catalog-dec/shared'"),
     ("search-relevance/catalog-dec", "no batch named 'search-relevance/catalog-dec'")],
)
def test_wrong_project_in_a_reference(ref, expected):
    data = _with_shared_batch_name()
    data["events"] = [{"at": "1h", "pause": ref}]
    with pytest.raises(ScenarioError) as info:
        labelsim.load_scenario(data)
    assert info.value.field == "events[0].pause"
    assert expected in info.value.problem


# --------------------------------------------------------------------------- moments


@pytest.mark.parametrize(
    ("launch_at", "offset_h"),
    [("2h", 2), ("1d4h", 28), ("90m", 1.5), ("2026-12-01T11:00:00Z", 2), ("2026-12-01T12:00:00+01:00", 2)],
)
def test_launch_at_offset_or_timestamp(launch_at, offset_h):
    data = base()
    _batch(data)["launch_at"] = launch_at
    scenario = labelsim.load_scenario(data)
    assert scenario.offset_s(scenario.projects[0].batches[0].launch_at) == pytest.approx(offset_h * 3600)


def test_naive_timestamps_are_in_the_scenario_time_zone():
    data = base()
    data["timezone"] = "Europe/Berlin"  # start 09:00 UTC = 10:00 in Berlin (winter time)
    _batch(data)["launch_at"] = "2026-12-01T11:00:00"
    data["events"][0]["at"] = dt.datetime(2026, 12, 1, 13, 0)  # YAML reads unquoted timestamps as datetimes
    scenario = labelsim.load_scenario(data)
    assert scenario.offset_s(scenario.projects[0].batches[0].launch_at) == 3600
    assert scenario.offset_s(scenario.events[0].at) == 3 * 3600
    assert scenario.start_local.hour == 10


def test_a_launch_timestamp_shows_in_the_result():
    data = base()
    _batch(data)["launch_at"] = "2026-12-01T10:30:00Z"
    result = labelsim.simulate(labelsim.load_scenario(data), seed=1, until="6h")
    batches = result.batches.set_index("batch")
    assert batches.loc["week-49", "launched_at"] == result.start + dt.timedelta(hours=1, minutes=30)
    assert batches.loc["week-49-hard", "launched_at"] == result.start


# --------------------------------------------------------------------------- --set overrides


@pytest.mark.parametrize(
    ("override", "check"),
    [
        ("batches.week-49.overlap=5", lambda s: s.projects[0].batches[0].overlap == 5),
        ("batches.search-relevance/week-49.labeling_queue=ONE", lambda s: s.projects[0].batches[0].labeling_queue == 1),
        ("batches.catalog-dec.launch_at=2h", lambda s: s.offset_s(s.projects[1].batches[0].launch_at) == 7200),
        ("performers.crowd.sessions_per_hour=80", lambda s: s.performers[0].sessions_per_hour == 80),
        ("performers.in-house.size=7", lambda s: s.performers[1].size == 7),
        ("account.balance=500", lambda s: s.account.balance == 500),
        ("policy.queue=work_conserving", lambda s: s.policy.queue == "work_conserving"),
        ("policy.resume_on_top_up=false", lambda s: s.policy.resume_on_top_up is False),
        ("account.top_ups=[{at: 1d, amount: 50}]", lambda s: s.account.top_ups[0].amount == 50),
        ("projects.product-tagging.batches.catalog-dec.items=9", lambda s: s.projects[1].batches[0].items == 9),
        ("events.0.at=2h", lambda s: s.offset_s(s.events[0].at) == 7200),
    ],
)
def test_overrides(override, check):
    scenario = labelsim.load_scenario(base(), [override])
    assert check(scenario), override


def test_overrides_do_not_change_the_input():
    data = base()
    before = copy.deepcopy(data)
    changed = apply_overrides(data, ["batches.week-49.overlap=5", "account.balance=1"])
    assert data == before
    assert _batch(changed)["overlap"] == 5 and changed["account"]["balance"] == 1


def test_later_overrides_win():
    scenario = labelsim.load_scenario(base(), ["account.balance=5", "account.balance=7"])
    assert scenario.account.balance == 7


@pytest.mark.parametrize(
    ("override", "field", "problem"),
    [
        ("batches.nope.items=5", "--set batches.nope.items", "no batch named 'nope'"),
        ("batches.other/week-49.items=5", "--set batches.other/week-49.items", "no batch named 'other/week-49'"),
        ("performers.nobody.size=3", "--set performers.nobody.size", "no item named 'nobody'"),
        ("projects.nope.status=archive", "--set projects.nope.status", "no item named 'nope'"),
        ("account.balance", "--set account.balance", "KEY=VALUE"),
        ("=5", "--set =5", "KEY=VALUE"),
        ("account.balance=[1", "--set account.balance", "not valid YAML"),
        ("account.balance.cents=5", "--set account.balance.cents", "inside a float"),
    ],
)
def test_bad_overrides(override, field, problem):
    with pytest.raises(ScenarioError) as info:
        apply_overrides(base(), [override])
    assert info.value.field == field
    assert problem in info.value.problem
    with pytest.raises(ScenarioError):
        labelsim.load_scenario(base(), [override])


def test_an_ambiguous_batch_override():
    with pytest.raises(ScenarioError) as info:
        apply_overrides(_with_shared_batch_name(), ["batches.shared.items=5"])
    assert "ambiguous" in info.value.problem
    changed = apply_overrides(_with_shared_batch_name(), ["batches.product-tagging/shared.items=5"])
    assert changed["projects"][1]["batches"][1]["items"] == 5
    assert changed["projects"][0]["batches"][2]["items"] == 10


@pytest.mark.parametrize(
    ("override", "field", "problem"),
    [
        ("batches.week-49.overlap=0", f"{B49}.overlap", "must be ≥ 1"),
        ("batches.week-49.overlpa=3", f"{B49}.overlpa", "did you mean 'overlap'"),
        ("account.fee_rate=2", "account.fee_rate", "must be ≤ 1"),
        ("performers.crowd.kind=robot", "performers[crowd]", "'robot'"),
    ],
)
def test_an_override_is_validated_like_the_file(override, field, problem):
    with pytest.raises(ScenarioError) as info:
        labelsim.load_scenario(base(), [override])
    assert info.value.field == field
    assert problem in info.value.problem


# --------------------------------------------------------------------------- mid-flight state


def _state_error(state: dict, **batch: object) -> str:
    spec = {"name": "b", "items": 10, "overlap": 2, "tasks_per_suite": 5, "reward": 0.01, "time_limit": "10m"}
    spec.update(batch)
    spec["state"] = state
    data = {"start": "2026-12-01T00:00:00Z", "account": {"balance": 1}, "projects": [{"name": "p", "batches": [spec]}]}
    with pytest.raises(labelsim.ScenarioError) as info:
        labelsim.load_scenario(data)
    return str(info.value)


@pytest.mark.parametrize(
    ("state", "batch", "fragment"),
    [
        ({"status": "Loading", "submitted": 2}, {"upload_rate": "1/min"}, "cannot have labeled, submitted"),
        ({"status": "New", "labeled_items": 5}, {}, "cannot have labeled"),
        ({"status": "Stopped", "labeled_items": 7}, {}, "multiple of tasks_per_suite"),
        ({"status": "Processing", "in_flight": 5}, {}, "still open"),
        ({"status": "Processing", "labeled_items": 5, "submitted": 1}, {}, "less than the 2 assignments"),
        ({"status": "Processing", "submitted": 5}, {}, "more than the unlabeled suites can hold"),
    ],
)
def test_inconsistent_state_is_refused(state, batch, fragment):
    message = _state_error(state, **batch)
    assert "projects[p].batches[b]" in message and fragment in message
