"""The first hour with labelsim: ``python -m labelsim``, shell completion, ``init``, ``schema``, the bundled
scenarios in the package, time zones named in tables, CSV timestamps to the second, compare's minimum effect.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import invoke
from typer.testing import CliRunner

import labelsim
from labelsim.cli import app
from labelsim.forecasting import MIN_EFFECT_FRACTION, MIN_EFFECT_S, _verdict, min_effect_h
from labelsim.starter import bundled_scenarios, starter_text
from labelsim.yamlschema import scenario_json_schema

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.yaml"))
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"




def _module(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m labelsim ARGS`` on this checkout."""
    return subprocess.run(
        [sys.executable, "-m", "labelsim", *args], capture_output=True, text=True, timeout=120, check=False,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


# --------------------------------------------------------------------------- python -m, completion


def test_python_dash_m_runs_the_cli():
    version = _module("--version")
    assert version.returncode == 0, version.stderr
    assert labelsim.__version__ in version.stdout
    bad = _module("run", "missing.yaml")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


def test_shell_completion_script_and_answers_work_offline():
    script = _module("--show-completion", "bash")
    assert script.returncode == 0, script.stderr
    assert "_LABELSIM_COMPLETE" in script.stdout and "complete" in script.stdout
    answer = _module(env={"_LABELSIM_COMPLETE": "complete_bash", "COMP_WORDS": "labelsim fo", "COMP_CWORD": "1"})
    assert answer.stdout.split() == ["forecast"]


# --------------------------------------------------------------------------- bundled scenarios, init


def test_the_bundled_scenarios_are_package_data():
    bundled = bundled_scenarios()
    assert sorted(bundled) == [p.stem for p in SCENARIO_FILES]
    for path in SCENARIO_FILES:
        assert bundled[path.stem].read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = config["tool"]["setuptools"]["package-data"]["labelsim"]
    assert {"py.typed", "starter.yaml", "scenarios/*.yaml"} <= set(data)


def test_init_writes_a_commented_starter_that_validates_and_runs(runner, tmp_path):
    path = tmp_path / "new" / "scenario.yaml"
    result = invoke(runner, "init", path)
    assert result.exit_code == 0, result.stderr
    text = path.read_text(encoding="utf-8")
    assert text == starter_text()
    assert sum(line.lstrip().startswith("#") for line in text.splitlines()) >= 10, "it explains itself"
    assert invoke(runner, "validate", path).exit_code == 0
    run = invoke(runner, "run", path, "--seed", 1)
    assert run.exit_code == 0, run.stderr
    assert "Completed" in run.stdout


def test_init_never_overwrites(runner, tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text("mine\n", encoding="utf-8")
    result = invoke(runner, "init", path)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: init: {path} already exists; not overwriting it (give another path)"
    assert path.read_text(encoding="utf-8") == "mine\n"


def test_init_into_a_folder_and_from_an_example(runner, tmp_path):
    assert invoke(runner, "init", tmp_path, "--example", "quickstart").exit_code == 0
    assert (tmp_path / "scenario.yaml").read_text(encoding="utf-8") == QUICKSTART.read_text(encoding="utf-8")
    unknown = invoke(runner, "init", tmp_path / "x.yaml", "--example", "nope")
    assert unknown.exit_code == 2 and "quickstart" in unknown.stderr
    assert not (tmp_path / "x.yaml").exists()


# --------------------------------------------------------------------------- schema


class _TextLoader(yaml.SafeLoader):
    """Reads timestamps as the text they are (as an editor's YAML 1.2 parser does)."""


_TextLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.stderr
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _load(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_TextLoader)


@pytest.mark.parametrize("path", [*SCENARIO_FILES, ROOT / "labelsim" / "starter.yaml"], ids=lambda p: p.name)
def test_schema_accepts_every_bundled_scenario(validator, path):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_load(path))]
    assert errors == []


def test_schema_knows_every_validator_of_the_scenario_models():
    unknown: set[str] = set()
    scenario_json_schema(unknown=unknown)
    assert unknown == set(), "add these to labelsim.yamlschema.BEFORE_VALIDATORS"


def test_schema_describes_the_yaml_not_the_validated_values(validator):
    properties = validator.schema["properties"]
    assert properties["horizon"]["type"] == "string" and properties["horizon"]["default"] == "30d"
    assert re.search(properties["horizon"]["pattern"], "1d4h30m")


def _change(data: dict, path: tuple, value: object) -> dict:
    data = copy.deepcopy(data)
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


_DELETE = object()
_BATCH = ("projects", 0, "batches", 0)
_CROWD = ("performers", 0)
#: (path, value): each breaks the quickstart in one place that labelsim's validation also refuses.
BROKEN = {
    "unknown-top-key": (("horizn",), "14d"),
    "unknown-batch-key": ((*_BATCH, "overlpa"), 3),
    "horizon-a-number": (("horizon",), 14),
    "horizon-bad-unit": (("horizon",), "14x"),
    "items-a-string": ((*_BATCH, "items"), "many"),
    "items-negative": ((*_BATCH, "items"), -1),
    "queue-six": ((*_BATCH, "labeling_queue"), 6),
    "queue-word": ((*_BATCH, "labeling_queue"), "SIX"),
    "rate-words": ((*_BATCH[:-1], 1, "upload_rate"), "200 per minute"),
    "time-limit-missing": ((*_BATCH, "time_limit"), _DELETE),
    "policy-unknown": (("policy", "queue"), "fifo"),
    "activity-unknown": ((*_CROWD, "activity"), "nocturnal"),
    "distribution-unknown": ((*_CROWD, "seconds_per_task"), {"dist": "pareto", "mean": 3}),
    "event-two-actions": (("events", 0), {"at": "3h", "pause": "week-49-hard", "resume": "week-49-hard"}),
    "event-no-action": (("events", 0), {"at": "3h"}),
    "launch-at-bad": ((*_BATCH, "launch_at"), "tomorrow"),
    "shift-bad-clock": (("performers", 1, "shifts", 0, "start"), "9 am"),
}
#: Spellings labelsim accepts that pydantic's own schema would refuse.
ACCEPTED = {
    "queue-word": ((*_BATCH, "labeling_queue"), "one"),
    "status-any-case": (("projects", 1, "status"), "ARCHIVE"),
    "launch-at-timestamp": ((*_BATCH, "launch_at"), "2026-12-01T10:00:00Z"),
    "launch-at-zero": ((*_BATCH, "launch_at"), 0),
    "activity-mapping": ((*_CROWD, "activity"), {"hourly": [1] * 24, "weekly": [1] * 7}),
    "days-full-names": (("performers", 1, "shifts", 0, "days"), ["Monday", "tuesday"]),
    "rate-per-hour": ((*_BATCH[:-1], 1, "upload_rate"), "12000/h"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_schema_rejects_what_labelsim_rejects(validator, case):
    path, value = BROKEN[case]
    data = _change(_load(QUICKSTART), path, value)
    assert list(validator.iter_errors(data)), f"the schema accepts {case}"
    with pytest.raises(labelsim.ScenarioError):
        labelsim.load_scenario(data)


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_schema_accepts_what_labelsim_accepts(validator, case):
    path, value = ACCEPTED[case]
    data = _change(_load(QUICKSTART), path, value)
    assert [e.message for e in validator.iter_errors(data)] == []
    labelsim.load_scenario(data)


# --------------------------------------------------------------------------- time zones, CSV, compare


ZONE = r"(CET|CEST)"


def test_every_timestamp_in_the_run_output_names_its_zone(runner):
    result = invoke(runner, "run", ROOT / "scenarios" / "team_shifts.yaml", "--seed", 1)
    assert result.exit_code == 0, result.stderr
    stamps = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d(?: \S+)?", result.stdout)
    assert stamps
    assert all(re.fullmatch(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d {ZONE}", s) for s in stamps), stamps


def test_forecast_ranges_name_their_zone(runner):
    result = invoke(runner, "forecast", ROOT / "scenarios" / "team_shifts.yaml", "-n", 4, "--seed", 1)
    assert result.exit_code == 0, result.stderr
    ranges = re.findall(r"\d\d-\d\d \d\d:\d\d – \d\d-\d\d \d\d:\d\d(?: [A-Z]+)?", result.stdout)
    assert ranges and all(re.search(rf" {ZONE}$", r) for r in ranges), ranges


def test_csv_timestamps_are_written_to_the_second_with_their_offset(runner, tmp_path):
    out = tmp_path / "run"
    result = invoke(runner, "run", ROOT / "scenarios" / "team_shifts.yaml", "--seed", 1, "--until", "1d",
                     "--out", out)
    assert result.exit_code == 0, result.stderr
    text = (out / "assignments.csv").read_text(encoding="utf-8")
    stamps = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[^,\n]*", text)
    assert stamps
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d", s) for s in stamps), stamps[:5]


def test_compare_calls_an_effect_below_the_minimum_no_clear_difference():
    minimum = min_effect_h(base_time_s=3600.0)  # a one-hour base: the 1-minute floor applies
    assert minimum == pytest.approx(MIN_EFFECT_S / 3600)
    assert min_effect_h(base_time_s=10 * 86400) == pytest.approx(MIN_EFFECT_FRACTION * 10 * 24)
    tiny = minimum / 10  # a tight interval well away from 0, but a few seconds
    assert _verdict(-tiny, -1.5 * tiny, -0.5 * tiny, minimum) == "no clear difference"
    assert _verdict(tiny, 0.5 * tiny, 1.5 * tiny, minimum) == "no clear difference"
    assert _verdict(-2 * minimum, -3 * minimum, -minimum, minimum) == "earlier"
    assert _verdict(2 * minimum, minimum, 3 * minimum, minimum) == "later"
    assert _verdict(-2 * minimum, -3 * minimum, minimum, minimum) == "no clear difference"  # CI spans 0


def test_compare_footer_states_the_minimum(runner):
    result = invoke(runner, "compare", QUICKSTART, "--set", "account.balance=500", "-n", 3, "--seed", 1)
    assert result.exit_code == 0, result.stderr
    assert f"at least {MIN_EFFECT_S / 60:g} min and {100 * MIN_EFFECT_FRACTION:g}%" in result.stdout
