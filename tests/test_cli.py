"""The ``labelsim`` command line: what README's "Command line" section promises.

Most tests drive ``labelsim.cli.app`` in-process with typer's ``CliRunner`` (stdout and
stderr are captured separately); one runs the installed console script in a subprocess.
Bad input of any kind must end with exit code 2, one line on stderr naming the field and
the problem, no traceback, and nothing written to ``--out``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import invoke

import labelsim
from labelsim.results import SCHEMAS

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
PRIORITY = ROOT / "scenarios" / "priority_queue.yaml"
RUN_FRAMES = ("batches", "status_timeline", "assignments", "ledger", "progress", "performers", "warnings")
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d ([A-Z][A-Za-z]+|[+-]\d\d(\d\d)?)$")  # the zone is named

#: A small valid scenario; the bad-input cases below each break one thing in it.
GOOD_YAML = """\
name: cli-test
start: "2026-12-01T09:00:00Z"
horizon: 2d
account:
  balance: 50.0
projects:
  - name: search-relevance
    batches:
      - name: week-49
        items: 200
        labeling_queue: 1
        overlap: 3
        tasks_per_suite: 10
        reward: 0.04
        time_limit: 10m
        launch_at: 0h
      - name: week-49-hard
        items: 100
        labeling_queue: 2
        reward: 0.05
        time_limit: 15m
        launch_at: 0h
performers:
  - name: crowd
    kind: crowd
    sessions_per_hour: 40
    seconds_per_task: {dist: lognormal, median: 12, sigma: 0.8}
events:
  - {at: 1h, pause: week-49-hard}
"""


def _bad(old: str, new: str) -> str:
    assert old in GOOD_YAML, old
    return GOOD_YAML.replace(old, new, 1)


#: name -> (file text, substrings stderr must contain)
BAD_FILES: dict[str, tuple[str, list[str]]] = {
    "unknown-key": (_bad("overlap: 3", "overlpa: 3"), ["overlpa", "unknown key", "did you mean 'overlap'"]),
    "out-of-range": (_bad("overlap: 3", "overlap: 0"), ["overlap", "must be ≥ 1"]),
    "bad-duration": (_bad("time_limit: 10m", "time_limit: 10 minutes"), ["time_limit", "bad duration"]),
    "unknown-batch-in-event": (
        _bad("pause: week-49-hard}", "pause: week-50}"),
        ["events[0].pause", "no batch named 'week-50'", "did you mean 'week-49'"],
    ),
    "duplicate-names": (_bad("name: week-49-hard", "name: week-49"), ["duplicate batch name 'week-49'"]),
    "yaml-syntax": (_bad("balance: 50.0", "balance: [50.0"), ["YAML syntax error", "line"]),
    "empty-file": ("", ["empty"]),
    "only-comments": ("# nothing here yet\n", ["no scenario"]),
    "not-a-mapping": ("- just\n- a list\n", ["mapping"]),
}




def _table(stdout: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the first rich table in ``stdout``."""
    header: list[str] = []
    rows: list[list[str]] = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("┃") and not header:
            header = [cell.strip() for cell in line.strip("┃").split("┃")]
        elif line.startswith("│") and header:
            rows.append([cell.strip() for cell in line.strip("│").split("│")])
        elif line.startswith("└") and rows:
            break
    return header, rows


def _column(stdout: str, name: str) -> list[str]:
    header, rows = _table(stdout)
    return [row[header.index(name)] for row in rows]


def _assert_user_error(result, *expected: str) -> None:
    """Exit code 2, a message on stderr (one line), no traceback, nothing on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message, message
    assert message.startswith("error: "), message
    for text in expected:
        assert text in message, (text, message)


def _folder_state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# --------------------------------------------------------------------------- validate and run


def test_validate_ok(runner):
    result = invoke(runner, "validate", QUICKSTART)
    assert result.exit_code == 0, result.stderr
    scenario = labelsim.load_scenario(QUICKSTART)
    assert result.stdout.startswith("ok: ")
    assert scenario.name in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_validate_every_bundled_scenario(runner, path):
    assert invoke(runner, "validate", path).exit_code == 0


def test_run_prints_the_batch_table_and_money(runner):
    result = invoke(runner, "run", QUICKSTART, "--seed", 1)
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    header, _ = _table(result.stdout)
    wanted = ["Name", "Labeling queue", "Status", "Items", "ETA"]
    assert [h for h in header if h in wanted] == wanted, header
    scenario = labelsim.load_scenario(QUICKSTART)
    names = [b.name for _, b in scenario.batches()]
    assert _column(result.stdout, "Name") == names
    assert _column(result.stdout, "Labeling queue") == [str(b.labeling_queue) for _, b in scenario.batches()]
    for status in _column(result.stdout, "Status"):
        assert status in labelsim.scenario.STATUSES
    for items in _column(result.stdout, "Items"):
        labeled, total = map(int, items.split("/"))
        assert 0 <= labeled <= total
    for eta in _column(result.stdout, "ETA"):
        assert STAMP.match(eta) or eta in ("not within horizon", "—"), eta
    for label in ("Opening balance", "Top-ups", "Spent (charged)", "Balance at the end"):
        assert label in result.stdout
    assert f"{scenario.account.balance:.2f} USD" in result.stdout
    assert "seed 1" in result.stdout


def test_run_matches_the_api(runner):
    """The table shows what labelsim.simulate computes for the same seed."""
    result = invoke(runner, "run", QUICKSTART, "--seed", 3)
    assert result.exit_code == 0, result.stderr
    batches = labelsim.simulate(labelsim.load_scenario(QUICKSTART), seed=3).batches
    assert _column(result.stdout, "Status") == batches["status"].tolist()
    expected = [f"{a}/{b}" for a, b in zip(batches["labeled_items"], batches["items"], strict=True)]
    assert _column(result.stdout, "Items") == expected


def test_sort_by_name(runner):
    result = invoke(runner, "run", PRIORITY, "--seed", 1, "--sort", "name")
    assert result.exit_code == 0, result.stderr
    names = _column(result.stdout, "Name")
    assert names == sorted(names)
    assert len(names) == 5


def test_sort_by_eta(runner):
    result = invoke(runner, "run", PRIORITY, "--seed", 1, "--sort", "eta")
    assert result.exit_code == 0, result.stderr
    etas = _column(result.stdout, "ETA")
    assert all(STAMP.match(eta) for eta in etas), etas
    assert etas == sorted(etas)
    unsorted = _column(invoke(runner, "run", PRIORITY, "--seed", 1).stdout, "Name")
    assert _column(result.stdout, "Name") != unsorted  # the escalated batch overtakes one on queue 2


def test_sort_by_eta_puts_unfinished_batches_last(runner):
    result = invoke(runner, "run", QUICKSTART, "--seed", 1, "--until", "1d", "--sort", "eta")
    assert result.exit_code == 0, result.stderr
    etas = _column(result.stdout, "ETA")
    dated = [eta for eta in etas if STAMP.match(eta)]
    assert etas[: len(dated)] == sorted(dated)
    assert "not within horizon" in etas[len(dated):]


def test_until_reports_unfinished_batches_not_within_horizon(runner):
    result = invoke(runner, "run", QUICKSTART, "--seed", 1, "--until", "1d")
    assert result.exit_code == 0, result.stderr
    header, rows = _table(result.stdout)
    unfinished = 0
    for row in rows:
        record = dict(zip(header, row, strict=True))
        labeled, total = map(int, record["Items"].split("/"))
        if record["Status"] in ("New", "Canceled", "Error"):
            continue
        if labeled < total:
            unfinished += 1
            assert record["ETA"] == "not within horizon", record
        else:
            assert STAMP.match(record["ETA"]), record
    assert unfinished >= 1
    assert "horizon reached" in result.stdout
    end = labelsim.load_scenario(QUICKSTART).start_local + dt.timedelta(days=1)
    assert f"simulated until {end:%Y-%m-%d %H:%M}" in result.stdout


def test_version(runner):
    result = invoke(runner, "--version")
    assert result.exit_code == 0
    assert labelsim.__version__ in result.stdout


# --------------------------------------------------------------------------- --out


def test_out_writes_every_frame_and_provenance(runner, tmp_path):
    out = tmp_path / "run"
    result = invoke(runner, "run", QUICKSTART, "--seed", 1, "--out", out)
    assert result.exit_code == 0, result.stderr
    files = {p.name for p in out.iterdir()}
    assert {f"{name}.csv" for name in RUN_FRAMES} | {"run.json"} <= files
    for name in RUN_FRAMES:
        header = (out / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == [column for column, _, _ in SCHEMAS[name]], name
    batch_rows = (out / "batches.csv").read_text(encoding="utf-8").strip().splitlines()[1:]
    assert len(batch_rows) == len(labelsim.load_scenario(QUICKSTART).batches())

    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    provenance = run["provenance"]
    assert provenance["scenario"] == labelsim.load_scenario(QUICKSTART).name
    assert provenance["seed"] == 1
    assert provenance["labelsim_version"] == labelsim.__version__
    assert isinstance(provenance["wall_time_s"], float) and provenance["wall_time_s"] >= 0
    assert _table(result.stdout)[1], "the table is still printed"
    # nothing but the output folder was created next to it (no staging folders left behind)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_out_refuses_a_non_empty_folder_without_force(runner, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("keep me\n", encoding="utf-8")
    before = _folder_state(out)
    result = invoke(runner, "run", QUICKSTART, "--seed", 1, "--out", out)
    _assert_user_error(result, "--out", "not empty", "--force")
    assert _folder_state(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_out_force_replaces_a_folder_labelsim_wrote(runner, tmp_path):
    out = tmp_path / "run"
    first = invoke(runner, "run", QUICKSTART, "--seed", 1, "--out", out)
    assert first.exit_code == 0, first.stderr
    before = (out / "assignments.csv").read_bytes()
    result = invoke(runner, "run", QUICKSTART, "--seed", 2, "--out", out, "--force")
    assert result.exit_code == 0, result.stderr
    assert (out / "assignments.csv").read_bytes() != before
    files = {p.name for p in out.iterdir()}
    assert {f"{name}.csv" for name in RUN_FRAMES} | {"run.json"} <= files
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_out_accepts_an_empty_folder(runner, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    result = invoke(runner, "run", QUICKSTART, "--seed", 1, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert (out / "run.json").exists()


def test_same_seed_gives_identical_csvs(runner, tmp_path):
    for name in ("a", "b"):
        result = invoke(runner, "run", QUICKSTART, "--seed", 7, "--out", tmp_path / name)
        assert result.exit_code == 0, result.stderr
    for name in RUN_FRAMES:
        first = (tmp_path / "a" / f"{name}.csv").read_bytes()
        assert first == (tmp_path / "b" / f"{name}.csv").read_bytes(), name
    other = invoke(runner, "run", QUICKSTART, "--seed", 8, "--out", tmp_path / "c")
    assert other.exit_code == 0
    assert (tmp_path / "c" / "assignments.csv").read_bytes() != (tmp_path / "a" / "assignments.csv").read_bytes()


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_scenario_file(runner, tmp_path, case, command):
    text, expected = BAD_FILES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    extra = ["--seed", "1", "--out", out] if command == "run" else []
    result = invoke(runner, command, path, *extra)
    _assert_user_error(result, f"{case}.yaml", *expected)
    assert not out.exists()


def test_missing_file(runner, tmp_path):
    out = tmp_path / "out"
    result = invoke(runner, "run", tmp_path / "nope.yaml", "--out", out)
    _assert_user_error(result, "nope.yaml", "no such file")
    assert not out.exists()


BAD_FLAGS: dict[str, tuple[list[str], list[str]]] = {
    "negative-seed": (["--seed", "-1"], ["seed", "non-negative"]),
    "bad-until": (["--until", "3x"], ["until", "bad duration '3x'"]),
    "zero-until": (["--until", "0s"], ["until", "positive"]),
    "negative-until": (["--until", "-1d"], ["until", "negative"]),
    "set-unknown-batch": (["--set", "batches.nope.items=5"], ["--set batches.nope.items", "no batch named 'nope'"]),
    "set-unknown-performer": (["--set", "performers.nobody.size=5"], ["performers.nobody.size", "'nobody'"]),
    "set-without-value": (["--set", "account.balance"], ["--set account.balance", "KEY=VALUE"]),
    "set-out-of-range": (["--set", "batches.week-49.overlap=0"], ["overlap", "must be ≥ 1"]),
    # values the command-line parser itself rejects (wrong type, not a choice) get the same one line
    "bad-sort": (["--sort", "size"], ["--sort", "size"]),
    "seed-not-a-number": (["--seed", "abc"], ["--seed", "integer"]),
}


@pytest.mark.parametrize("case", list(BAD_FLAGS))
def test_bad_flag(runner, tmp_path, case):
    flags, expected = BAD_FLAGS[case]
    out = tmp_path / "out"
    result = invoke(runner, "run", QUICKSTART, *flags, "--out", out)
    _assert_user_error(result, *expected)
    assert not out.exists()


def test_error_shows_the_full_field_path(runner, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(BAD_FILES["unknown-key"][0], encoding="utf-8")
    result = invoke(runner, "run", path)
    _assert_user_error(
        result, "broken.yaml: projects[search-relevance].batches[week-49].overlpa: unknown key; did you mean 'overlap'?"
    )


# --------------------------------------------------------------------------- the console script


def _console_script() -> str:
    candidate = Path(sys.executable).with_name("labelsim")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("labelsim")
    if found is None:
        pytest.skip("the labelsim console script is not installed")
    return found


def test_console_script(tmp_path):
    script = _console_script()
    ok = subprocess.run(
        [script, "run", str(QUICKSTART), "--seed", "1"], capture_output=True, text=True, timeout=60, check=False
    )
    assert ok.returncode == 0, ok.stderr
    header, rows = _table(ok.stdout)
    assert "Labeling queue" in header and len(rows) == len(labelsim.load_scenario(QUICKSTART).batches())
    assert "Opening balance" in ok.stdout

    broken = tmp_path / "broken.yaml"
    broken.write_text(BAD_FILES["out-of-range"][0], encoding="utf-8")
    bad = subprocess.run(
        [script, "run", str(broken), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert "Traceback" not in bad.stderr
    assert bad.stderr.strip().count("\n") == 0 and "overlap" in bad.stderr
    assert not (tmp_path / "out").exists()
