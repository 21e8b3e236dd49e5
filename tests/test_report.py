"""Reports: one self-contained HTML page and a Markdown file with the same content; the CLI writes them."""

from __future__ import annotations

import base64
import re
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from conftest import SCENARIOS
from plot_scenarios import berlin_scenario
from typer.testing import CliRunner

import labelsim
from labelsim.cli import app
from labelsim.forecasting import forecast
from labelsim.report import build_report, platform_formula_eta, render_plan_report, resolve_deadline

BERLIN = "Europe/Berlin"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def fc():
    return forecast(berlin_scenario(), 8, seed=4, keep_runs=True)


@pytest.fixture(scope="module")
def report(fc):
    return build_report(fc, deadline="2h")


def test_html_is_one_self_contained_page(report):
    page = report.html
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)  # nothing fetched from a network
    assert "<link" not in page and "@import" not in page and "url(" not in page
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(images) == len(report.figures) == 5
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG
    assert "@media print" in page


def test_markdown_has_the_same_tables_and_links_the_figures(report):
    rows_html = re.findall(r"<tr>(.*?)</tr>", report.html)
    for row in rows_html:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        if cells:
            text = " | ".join(re.sub(r"<[^>]+>", "", c) for c in cells).replace("&#x27;", "'")
            assert f"| {text} |" in report.markdown
    for name in report.figures:
        assert f"]({name})" in report.markdown


def test_times_are_labelled_with_their_zone(report, fc):
    headers = re.findall(r"<th[^>]*>(.*?)(?:<span|</th>)", report.html)
    timed = [h for h in headers if "ETA" in h or "P10" in h or "Platform" in h]
    assert timed and all(f"({BERLIN})" in h for h in timed)
    p50 = fc.eta.set_index("batch").loc["a", "eta_p50"]
    assert f"{p50:%Y-%m-%d %H:%M}" in report.html  # local wall time, not UTC
    assert f"{p50.tz_convert('UTC'):%Y-%m-%d %H:%M}" not in report.html


def test_batch_table_sort_keys_are_chronological(report, fc):
    table = re.search(r'<table id="batches".*?</table>', report.html, re.S).group(0)
    assert re.search(r'<th data-sort="text" data-col="1"', table)
    assert re.search(r'<th data-sort="number" data-col="5"', table)
    keys = [float(k) for k in re.findall(r'<td data-key="([^"]+)"><span class="t">\d{4}-', table)]
    expected = [fc.eta.set_index("batch").loc[b, "eta_p50"].timestamp() for b in ("a", "b")]
    assert keys == pytest.approx(expected)


def test_risks_and_platform_formula(report, fc):
    due = pd.Timestamp(fc.scenario.start).tz_convert(BERLIN) + pd.Timedelta("2h")
    late_b = float((~(fc.replications.query("batch == 'b'")["completed_at"] <= due)).mean())
    assert "P(miss deadline)" in report.markdown
    row = next(line for line in report.markdown.splitlines() if line.startswith("| p | b | ") and "USD" in line)
    assert row.rstrip(" |").endswith(f"{100 * late_b:.0f}%")
    assert "| n/a |" in report.markdown  # a fresh start has no platform ETA
    assert "Provenance" in report.markdown and "| Seed | 4 |" in report.markdown


def test_platform_formula():
    now = pd.Timestamp("2026-12-01 09:00", tz=BERLIN)
    assert platform_formula_eta(now, 3600.0, 100, 300) == now + pd.Timedelta("3h")
    assert platform_formula_eta(now, 3600.0, 0, 300) is None
    assert platform_formula_eta(now, None, 10, 300) is None


def test_optional_money_columns_appear_when_present(fc):
    eta = fc.eta.assign(cost_to_finish_p50_usd=[1.5, 2.5], shortfall_p50_usd=[0.0, 2.0], p_shortfall=[0.0, 0.75])
    with_money = SimpleNamespace(**{**fc.__dict__, "eta": eta})
    text = build_report(with_money, figures=False).markdown
    assert "Cost to finish P50" in text and "Shortfall P50" in text and "P(shortfall)" in text
    assert "| 2.50 USD | 2.00 USD | 75% |" in text


def test_deadline_forms():
    spec = labelsim.load_scenario(berlin_scenario())
    start = pd.Timestamp("2026-12-01 09:00", tz=BERLIN)
    assert resolve_deadline(spec, "36h") == start + pd.Timedelta("36h")
    assert resolve_deadline(spec, "2026-12-02T18:00") == pd.Timestamp("2026-12-02 18:00", tz=BERLIN)
    assert str(resolve_deadline(spec, "2026-12-02T17:00Z").tz) == BERLIN
    with pytest.raises(labelsim.LabelsimError, match="--deadline: cannot read"):
        resolve_deadline(spec, "soon")
    with pytest.raises(labelsim.LabelsimError, match="before the scenario start"):
        resolve_deadline(spec, "2026-11-30T09:00")


def test_plan_report_from_a_duck_typed_plan(fc):
    frontier = pd.DataFrame({
        "value": [2, 3, 4], "replications": [8, 8, 8], "p_on_time": [0.0, 0.5, 1.0],
        "p_on_time_lo": [0.0, 0.2, 0.7], "p_on_time_hi": [0.3, 0.8, 1.0],
        "eta_p50_at": pd.to_datetime(["2026-12-01 14:00", "2026-12-01 12:40", "2026-12-01 11:30"]).tz_localize(BERLIN),
        "eta_p90_at": pd.to_datetime(["2026-12-01 15:00", "2026-12-01 13:00", "2026-12-01 12:00"]).tz_localize(BERLIN),
        "cost_p50_usd": [19.5, 19.5, 19.5], "utilisation": [0.99, 0.9, 0.8],
    })
    plan = SimpleNamespace(frontier=frontier, required=4, confidence=0.9, vary="performers.team.size",
                           deadline=pd.Timestamp("2026-12-01 12:30", tz=BERLIN), scenario=fc.scenario,
                           note="Analytic makespan guess: 3.6 members.")
    alone = render_plan_report(plan)
    assert "**4**" in alone.markdown and "Analytic makespan guess" in alone.markdown
    assert f"ETA P50 ({BERLIN})" in alone.markdown
    assert "| 4 | 8 | 100% | 70% – 100% | 2026-12-01 11:30 CET |" in alone.markdown
    assert list(alone.figures) == ["fig-frontier.png"]
    both = build_report(fc, plan=plan, figures=False)
    assert "Planning frontier" in both.markdown and "Batches" in both.markdown
    assert "P(miss deadline)" in both.markdown  # the plan's deadline is the report's


# --------------------------------------------------------------------------- CLI

runner = CliRunner()


@pytest.fixture
def berlin_file(tmp_path):
    path = tmp_path / "berlin.yaml"
    path.write_text(yaml.safe_dump(berlin_scenario()), encoding="utf-8")
    return path


def test_cli_report_writes_html_markdown_and_figures(tmp_path, berlin_file):
    out = tmp_path / "rep"
    result = runner.invoke(app, ["report", str(berlin_file), "-n", "4", "--seed", "1",
                                 "--deadline", "2026-12-01T12:00", "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir() if p.name != ".labelsim-output.json")  # the output marker
    assert names == ["fig-completion.png", "fig-eta.png", "fig-money.png", "fig-progress.png", "fig-timeline.png",
                     "report.html", "report.md"]
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "| Deadline | 2026-12-01 12:00 CET (Europe/Berlin) |" in text
    assert "| Replications | 4 |" in text and "| Seed | 1 |" in text


@pytest.mark.parametrize("args, message", [
    (["--deadline", "soon"], "--deadline: cannot read 'soon'"),
    (["--deadline", "2020-01-01T00:00"], "before the scenario start"),
])
def test_cli_report_bad_deadline_is_one_line(tmp_path, args, message):
    out = tmp_path / "rep"
    result = runner.invoke(app, ["report", str(SCENARIOS / "quickstart.yaml"), "-n", "2", "--out", str(out), *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("command, extra, expected", [
    ("run", [], {"fig-timeline.png", "fig-progress.png", "fig-money.png"}),
    ("forecast", ["-n", "3"], {"fig-eta.png", "fig-completion.png", "fig-progress.png", "fig-timeline.png",
                               "fig-money.png"}),
    ("compare", ["-n", "3", "--set", "batches.b.labeling_queue=1"],
     {"fig-comparison.png", "fig-eta-base.png", "fig-eta-variant.png"}),
])
def test_cli_plots_saves_pngs(tmp_path, berlin_file, command, extra, expected):
    out = tmp_path / command
    result = runner.invoke(app, [command, str(berlin_file), "--seed", "1", *extra, "--plots",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    pngs = {p.name for p in out.glob("*.png")}
    assert pngs == expected
    assert all((out / name).read_bytes()[:8] == PNG for name in pngs)


def test_cli_plots_needs_out(tmp_path):
    result = runner.invoke(app, ["run", str(SCENARIOS / "quickstart.yaml"), "--plots"])
    assert result.exit_code == 2 and "--plots: give --out" in result.output


def test_cli_report_keeps_only_the_first_runs_for_the_fans(tmp_path, berlin_file, monkeypatch):
    import labelsim.cli as cli

    monkeypatch.setattr(cli, "FAN_RUNS", 2)
    out = tmp_path / "rep"
    result = runner.invoke(app, ["report", str(berlin_file), "-n", "5", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {"fig-progress.png", "fig-timeline.png", "fig-money.png"} <= {p.name for p in out.iterdir()}
    assert "| Replications | 5 |" in (out / "report.md").read_text(encoding="utf-8")
