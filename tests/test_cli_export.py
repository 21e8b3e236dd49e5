"""``labelsim run --export``: the simulated assignments as the platform's export files, read back by read_log."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import labelsim
from labelsim.cli import app
from labelsim.logs import log_from_result

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = str(ROOT / "scenarios" / "quickstart.yaml")
runner = CliRunner()


@pytest.mark.parametrize(("fmt", "suffix"), [("toloka", "tsv"), ("mturk", "csv"), ("figure-eight", "csv")])
def test_run_export_writes_one_file_per_batch_that_reads_back(tmp_path, fmt, suffix):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", QUICKSTART, "--seed", "3", "--out", str(out), "--export", fmt])
    assert result.exit_code == 0, result.output
    expected = log_from_result(labelsim.simulate(labelsim.load_scenario(QUICKSTART), seed=3))
    for batch, rows in expected.groupby("batch"):
        file = out / f"export-{batch}.{suffix}"
        assert file.is_file()
        back = labelsim.read_log(file)
        shown = rows if fmt == "toloka" else rows[rows["status"].isin(["submitted", "active"])]  # as the platforms do
        assert len(back) == len(shown)
        assert back["performer"].nunique() == shown["performer"].nunique()


def test_run_export_needs_out(tmp_path):
    result = runner.invoke(app, ["run", QUICKSTART, "--export", "mturk"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "--out" in result.stderr


def test_run_export_unknown_format_is_one_line(tmp_path):
    result = runner.invoke(app, ["run", QUICKSTART, "--out", str(tmp_path / "o"), "--export", "csv"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()
