"""Importing platform exports (labelsim.logs): small fixtures in each format, the two real logs, bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

import labelsim
from labelsim.logs import FINISHED, LOG_COLUMNS, LOG_STATUSES, LogError, detect_format, empty_log, read_log
from labelsim.results import check_schema

DATA = Path(__file__).resolve().parent / "data" / "logs"
REAL = DATA / "real"
MTURK_REAL = REAL / "mturk_fc-aaai18_Batch_2768981_batch_results.csv"
F8_REAL = REAL / "figure-eight_crowdtruth_f1220777_full_report.csv"
MAPPED = {"batch": "job", "suite_id": "item", "performer": "worker", "accepted_at": "start",
          "submitted_at": "end", "status": "state", "reward_usd": "price"}


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def by_id(log: pd.DataFrame) -> pd.DataFrame:
    return log.set_index("assignment_id")


def check_invariants(log: pd.DataFrame) -> None:
    """What every assignment log satisfies, whatever the format."""
    assert check_schema(log, "assignment_log") == []
    assert set(log["status"]) <= set(LOG_STATUSES)
    active = log["status"] == "active"
    assert log.loc[active, ["submitted_at", "ended_at"]].isna().all().all()
    assert log.loc[~log["status"].isin(FINISHED), "submitted_at"].isna().all()
    done = log["submitted_at"].notna()
    assert (log.loc[done, "submitted_at"] >= log.loc[done, "accepted_at"]).all()
    assert (log.loc[done, "ended_at"] == log.loc[done, "submitted_at"]).all()
    assert not log.duplicated(["batch", "assignment_id"]).any()
    assert (log["n_tasks"] >= 1).all()
    assert log.equals(log.sort_values(["batch", "accepted_at", "assignment_id"], kind="stable").reset_index(drop=True))


# --------------------------------------------------------------------------- formats


def test_toloka_new_export_groups_tasks_into_assignments():
    log = read_log(DATA / "toloka_new.tsv")
    check_invariants(log)
    assert list(log.columns) == list(LOG_COLUMNS)
    assert len(log) == 7  # 13 task rows -> 7 assignments
    rows = by_id(log)
    assert set(log["batch"]) == {"12345"}  # the pool in ASSIGNMENT:link
    assert rows["status"].to_dict() == {
        "00001--aa": "approved", "00002--bb": "submitted", "00003--cc": "rejected", "00004--dd": "expired",
        "00005--ee": "skipped", "00006--ff": "active", "00007--gg": "active",
    }
    assert rows.loc["00001--aa", "n_tasks"] == 2 and rows.loc["00006--ff", "n_tasks"] == 1
    assert rows.loc["00001--aa", "submitted_at"] == utc("2024-05-17T09:01:30.500")
    assert rows.loc["00007--gg", "accepted_at"] == utc("2024-05-17T09:11:00.250")
    assert rows.loc["00004--dd", "ended_at"] == utc("2024-05-17T09:15:00")  # ASSIGNMENT:expired
    assert pd.isna(rows.loc["00005--ee", "ended_at"])  # no skip time in this export
    assert (log["reward_usd"] == 0.05).all()
    # the same tasks make the same suite, whoever did them
    suite = rows["suite_id"]
    assert suite["00001--aa"] == suite["00002--bb"] == suite["00007--gg"]
    assert suite["00003--cc"] == suite["00004--dd"] == suite["00005--ee"] != suite["00001--aa"]
    assert suite["00006--ff"] not in {suite["00001--aa"], suite["00003--cc"]}


def test_toloka_old_export_has_no_submit_times_but_keeps_finished_statuses():
    new, old = read_log(DATA / "toloka_new.tsv"), read_log(DATA / "toloka_old.tsv")
    check_invariants(old)
    assert set(old["batch"]) == {"999"}
    assert old["submitted_at"].isna().all() and old["reward_usd"].isna().all()
    rows = by_id(old)
    # finished, not in progress: only ACTIVE is in progress
    assert rows["status"].to_dict() == {
        "00001--aa": "approved", "00002--bb": "submitted", "00003--cc": "rejected", "00004--dd": "expired",
        "00005--ee": "skipped", "00006--ff": "active",
    }
    # suites from the tasks' INPUT values agree with the new export (rows in another order too)
    assert rows["suite_id"].to_dict() == by_id(new)["suite_id"].drop("00007--gg").to_dict()
    common = old["assignment_id"]
    assert old["accepted_at"].tolist() == new.set_index("assignment_id").loc[common, "accepted_at"].tolist()


def test_mturk_times_with_us_zone_abbreviations_across_daylight_saving_changes():
    log = read_log(DATA / "mturk_dst.csv")
    check_invariants(log)
    rows = by_id(log)
    assert set(log["batch"]) == {"777"}  # BatchId in RequesterAnnotation
    assert rows.loc["A1", "accepted_at"] == utc("2017-03-12T07:50:00")  # PST = UTC-8
    assert rows.loc["A2", "submitted_at"] == utc("2017-03-12T10:10:00")  # PDT = UTC-7
    # across the spring change: 01:30 PST -> 03:10 PDT is 40 minutes, as WorkTimeInSeconds says
    raw = pd.read_csv(DATA / "mturk_dst.csv", dtype=str, keep_default_na=False).set_index("AssignmentId")
    done = log[log["submitted_at"].notna()].set_index("assignment_id")
    work = (done["submitted_at"] - done["accepted_at"]).dt.total_seconds()
    assert work.to_dict() == {k: float(raw.loc[k, "WorkTimeInSeconds"]) for k in work.index}
    assert work["A2"] == 2400 and work["A5"] == 2400  # the autumn change too (01:30 PDT -> 01:10 PST)
    assert rows.loc["A4", "status"] == "active" and pd.isna(rows.loc["A4", "submitted_at"])
    assert rows.loc["A1", "status"] == "approved" and rows.loc["A3", "status"] == "rejected"
    assert (log["reward_usd"] == 0.10).all() and (log["time_limit_s"] == 3600).all()
    assert (log["max_assignments"] == 3).all() and (log["n_tasks"] == 1).all()
    assert rows["suite_id"].to_dict() == {"A1": "H1", "A2": "H1", "A3": "H2", "A4": "H2", "A5": "H3"}


def test_figure_eight_report_one_assignment_per_judgment():
    log = read_log(DATA / "figure_eight.csv")
    check_invariants(log)
    rows = by_id(log)
    assert set(log["batch"]) == {"figure_eight"}  # the file's name: the report has no job column
    assert rows.loc["9001", "accepted_at"] == utc("2017-12-31T23:58:00")
    assert rows.loc["9002", "submitted_at"] == utc("2018-01-01T00:10:05")  # M/D/YYYY without zero padding
    assert rows.loc["9004", "status"] == "active"
    assert set(rows.drop(index="9004")["status"]) == {"submitted"}
    assert rows["suite_id"].tolist() == ["101", "101", "102", "102", "103"]
    assert log["reward_usd"].isna().all() and log["max_assignments"].isna().all()


def test_any_csv_with_a_column_mapping():
    log = read_log(DATA / "mapped.csv", columns=MAPPED)
    check_invariants(log)
    assert log["batch"].tolist() == ["j1"] * 3
    assert log["accepted_at"].tolist() == [utc("2024-05-17T09:00"), utc("2024-05-17T09:01"), utc("2024-05-17T09:06")]
    assert log["status"].tolist() == ["submitted", "active", "submitted"]
    assert log["reward_usd"].tolist() == [0.02] * 3
    # without a status column the submit time decides; the batch defaults to the file's name
    plain = read_log(DATA / "mapped.csv",
                     columns={"performer": "worker", "accepted_at": "start", "submitted_at": "end"})
    assert plain["status"].tolist() == ["submitted", "active", "submitted"]
    assert set(plain["batch"]) == {"mapped"}
    assert read_log(DATA / "mapped.csv", columns=MAPPED, batch="mine")["batch"].tolist() == ["mine"] * 3


def test_a_mapping_overrides_a_detected_format_column():
    log = read_log(DATA / "mturk_dst.csv", columns={"suite_id": "Input.text"})
    assert by_id(log).loc["A1", "suite_id"] == "Hello, world"


def test_format_is_detected_from_the_header():
    assert detect_format(["a", "ASSIGNMENT:started"]) == "toloka"
    assert detect_format(["HITId", "AssignmentId", "AcceptTime"]) == "mturk"
    assert detect_format(["_unit_id", "_started_at", "_id"]) == "figure-eight"
    assert detect_format(["when", "who"]) is None


def test_a_header_only_export_is_an_empty_log():
    log = read_log(DATA / "mturk_dst.csv")
    assert check_schema(empty_log(), "assignment_log") == []
    assert list(empty_log().dtypes) == list(log.dtypes)


def test_public_api_and_schema():
    assert labelsim.read_log is read_log
    assert [c for c, _, _ in labelsim.SCHEMAS["assignment_log"]] == list(LOG_COLUMNS)


# --------------------------------------------------------------------------- the real logs


def test_real_mturk_batch():
    log = read_log(MTURK_REAL)
    check_invariants(log)
    assert len(log) == 300 and log["performer"].nunique() == 28 and log["suite_id"].nunique() == 60
    assert (log.groupby("suite_id").size() == 5).all() and (log["max_assignments"] == 5).all()
    assert (log["status"] == "submitted").all() and (log["reward_usd"] == 0.10).all()
    assert (log["time_limit_s"] == 3600).all()
    # Mon Apr 17 2017 07:15 .. 08:53 PDT (UTC-7); the file's own WorkTimeInSeconds agrees
    assert log["accepted_at"].min() >= utc("2017-04-17T14:15") and log["submitted_at"].max() < utc("2017-04-17T15:54")
    raw = pd.read_csv(MTURK_REAL, dtype=str, keep_default_na=False).set_index("AssignmentId")
    work = (log["submitted_at"] - log["accepted_at"]).dt.total_seconds()
    assert work.tolist() == raw.loc[log["assignment_id"], "WorkTimeInSeconds"].astype(float).tolist()


def test_real_figure_eight_job():
    log = read_log(F8_REAL)
    check_invariants(log)
    assert len(log) == 750 and log["performer"].nunique() == 83 and log["suite_id"].nunique() == 50
    assert (log.groupby("suite_id").size() == 15).all()
    assert (log["status"] == "submitted").all()
    assert log["accepted_at"].min() >= utc("2018-01-03T11:25") and log["submitted_at"].max() < utc("2018-01-05T07:27")
    assert (log["submitted_at"] - log["accepted_at"]).max() < pd.Timedelta(hours=12)


# --------------------------------------------------------------------------- bad files


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


MTURK_HEADER = "HITId,AssignmentId,WorkerId,AssignmentStatus,AcceptTime,SubmitTime\n"
BAD_FILES = {
    "empty": ("", "the file is empty"),
    "blank": ("\n\n  \n", "the file is empty"),
    "binary": (gzip.compress(b"HITId,AssignmentId\n" * 50), "binary data"),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
    "yaml": ("name: quickstart\nstart: 2026-12-01\n", "no column for the accept time"),
    "unknown columns": ("when,who\n2024-01-01,me\n", "no column for the accept time; expected one of AcceptTime"),
    "ragged": ("a,b\n1,2\n3,4,5,6\n", "not a valid CSV/TSV"),
    "no worker": ("HITId,AssignmentId,AcceptTime\nH,A,Mon Apr 17 07:15:21 PDT 2017\n",
                  "for the worker id; expected WorkerId"),
    "bad zone": (MTURK_HEADER + "H,A,W,Submitted,Mon Apr 17 07:15:21 PDT 2017,Mon Apr 17 07:16:21 XYZ 2017\n",
                 "row 2: SubmitTime 'Mon Apr 17 07:16:21 XYZ 2017' is not a timestamp"),
    "bad time": (MTURK_HEADER + "H,A,W,Submitted,Mon Apr 17 07:15:21 PDT 2017,\nH,B,W,Submitted,yesterday,\n",
                 "row 3: AcceptTime 'yesterday' is not a timestamp"),
    "empty accept": (MTURK_HEADER + "H,A,W,Submitted,,\n", "row 2: empty AcceptTime"),
    "bad status": (MTURK_HEADER + "H,A,W,Lost,Mon Apr 17 07:15:21 PDT 2017,\n", "row 2: AssignmentStatus 'Lost'"),
    "twice": (MTURK_HEADER + "H,A,W,,Mon Apr 17 07:15:21 PDT 2017,\nH,A,V,,Mon Apr 17 07:15:22 PDT 2017,\n",
              "assignment id 'A' appears twice (rows 2 and 3)"),
    "bad reward": ("HITId,AssignmentId,WorkerId,AcceptTime,SubmitTime,Reward\nH,A,W,Mon Apr 17 07:15:21 PDT 2017,,"
                   "ten cents\n", "row 2: Reward 'ten cents' is not a number"),
    "toloka bad time": ("INPUT:x\tASSIGNMENT:assignment_id\tASSIGNMENT:worker_id\tASSIGNMENT:status\t"
                        "ASSIGNMENT:started\n1\ta\tw\tSUBMITTED\t17.05.2024 09:00\n",
                        "row 2: ASSIGNMENT:started '17.05.2024 09:00' is not a timestamp (expected ISO 8601"),
    "toloka split": ("INPUT:x\tASSIGNMENT:assignment_id\tASSIGNMENT:worker_id\tASSIGNMENT:status\t"
                     "ASSIGNMENT:started\n1\ta\tw\tSUBMITTED\t2024-05-17T09:00\n2\ta\tv\tSUBMITTED\t2024-05-17T09:00\n",
                     "assignment a: ASSIGNMENT:worker_id differs between its rows ('w' at row 2, 'v' at row 3)"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_files_give_one_line_naming_the_file_and_the_problem(tmp_path, name):
    content, expected = BAD_FILES[name]
    path = _write(tmp_path / "x.csv", content)
    with pytest.raises(LogError) as info:
        read_log(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_missing_file_and_folder(tmp_path):
    for path, expected in ((tmp_path / "nope.csv", "no such file"), (tmp_path, "is a folder")):
        with pytest.raises(LogError, match=expected):
            read_log(path)


def test_bad_arguments(tmp_path):
    with pytest.raises(LogError, match="unknown format 'excel'"):
        read_log(DATA / "mturk_dst.csv", format="excel")
    with pytest.raises(LogError, match="Figure Eight full report without a column for the accept time; expected _st"):
        read_log(DATA / "mturk_dst.csv", format="figure-eight")
    with pytest.raises(LogError, match="columns= names a column the file does not have: accepted_at='begin'"):
        read_log(DATA / "mapped.csv", columns={**MAPPED, "accepted_at": "begin"})
    with pytest.raises(LogError, match="columns= has no log column 'started'"):
        read_log(DATA / "mapped.csv", columns={"started": "start"})


def test_a_header_only_file_reads_as_an_empty_log(tmp_path):
    log = read_log(_write(tmp_path / "x.csv", MTURK_HEADER))
    assert len(log) == 0 and check_schema(log, "assignment_log") == []


def test_windows_1252_text_is_read(tmp_path):
    text = MTURK_HEADER + "H,A,Jos\xe9,Submitted,Mon Apr 17 07:15:21 PDT 2017,Mon Apr 17 07:16:21 PDT 2017\n"
    log = read_log(_write(tmp_path / "x.csv", text.encode("cp1252")))
    assert log["performer"].tolist() == ["José"]
