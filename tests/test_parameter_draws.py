"""``parameter_draws``: parameter uncertainty carried by the scenario file (issue 6, part 4).

Replication ``r`` runs draw ``r mod K``; ``simulate`` uses the base values; a ``--set`` fixes its key;
a bad draw is one line naming ``parameter_draws[i].KEY``; a calibrated scenario's YAML carries its draws.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import labelsim
from labelsim.calibration import calibrate
from labelsim.cli import app
from labelsim.scenario import Scenario, ScenarioError
from labelsim.scenario.limits import MAX_PARAMETER_DRAWS

SLOW, FAST = 10.0, 1000.0  # sessions per hour of the two draws


def _base() -> dict[str, Any]:
    """One crowd batch of 60 one-task suites; a session takes one suite of about a minute."""
    return {
        "name": "draws", "start": "2026-03-02T08:00:00Z", "horizon": "30d", "account": {"balance": 1000},
        "projects": [{"name": "p", "batches": [{"name": "b", "items": 60, "reward": 0.01, "time_limit": "10m",
                                                "launch_at": "0s"}]}],
        "performers": [{"name": "crowd", "kind": "crowd", "sessions_per_hour": 100,
                        "suites_per_session": 1, "seconds_per_task": {"dist": "exponential", "mean": 60}}],
    }


def _two_draws() -> dict[str, Any]:
    data = _base()
    data["parameter_draws"] = [{"performers.crowd.sessions_per_hour": SLOW},
                               {"performers.crowd.sessions_per_hour": FAST}]
    return data


def _hours(fc: labelsim.Forecast) -> np.ndarray:
    frame = fc.replications.sort_values("replication")
    start = pd.Timestamp(fc.scenario.start)
    return ((frame["completed_at"] - start).dt.total_seconds() / 3600).to_numpy()


def test_replications_alternate_between_the_draws() -> None:
    """60 sessions at 10/h take about 6 h, at 1000/h about 4 min: the ETAs split in two, by replication parity."""
    spec = Scenario.from_mapping(_two_draws())
    assert [s.performers[0].sessions_per_hour for s in spec.draw_scenarios] == [SLOW, FAST]
    fc = labelsim.forecast(spec, 12, seed=3)
    assert fc.provenance["parameter_draws"] == 2
    hours = _hours(fc)
    slow, fast = hours[0::2], hours[1::2]
    # Erlang(60) arrivals: mean 6 h (sd 0.8 h) against 0.06 h (+ about an hour of work at most)
    assert np.all(np.abs(slow - 60 / SLOW) < 6 * math.sqrt(60) / SLOW)
    assert fast.max() < 1.5 < slow.min()


def test_same_seed_same_frames_serial_or_processes() -> None:
    spec = Scenario.from_mapping(_two_draws())
    serial = labelsim.forecast(spec, 8, seed=5, executor="serial")
    parallel = labelsim.forecast(spec, 8, seed=5, executor="processes", jobs=2, chunk_size=3)
    pd.testing.assert_frame_equal(serial.replications, parallel.replications)
    pd.testing.assert_frame_equal(serial.eta, parallel.eta)


def test_simulate_uses_the_base_values() -> None:
    with_draws = labelsim.simulate(Scenario.from_mapping(_two_draws()), seed=9)
    without = labelsim.simulate(Scenario.from_mapping(_base()), seed=9)
    pd.testing.assert_frame_equal(with_draws.assignments, without.assignments)


def test_compare_pairs_the_draws() -> None:
    """A change that cannot matter (more money than needed) gives exactly zero difference in every replication."""
    spec = Scenario.from_mapping(_two_draws())
    cmp = labelsim.compare(spec, ["account.balance=2000"], replications=6, seed=2)
    row = cmp.batches.iloc[0]
    assert row["eta_diff_mean_h"] == 0 and row["eta_diff_ci_low_h"] == 0 and row["eta_diff_ci_high_h"] == 0


def test_set_fixes_its_key_in_every_draw() -> None:
    data = _two_draws()
    data["parameter_draws"][0]["performers.crowd.seconds_per_task.mean"] = 30
    spec = Scenario.from_mapping(data, overrides=["performers.0.sessions_per_hour=50"])  # by index: same key
    assert spec.parameter_draws == ({"performers.crowd.seconds_per_task.mean": 30}, {})
    assert {s.performers[0].sessions_per_hour for s in spec.draw_scenarios} == {50}
    # a key above a draw's key fixes it too (the whole distribution replaced)
    spec = Scenario.from_mapping(data).with_overrides(["performers.crowd.seconds_per_task=20"])
    assert all("seconds_per_task" not in key for draw in spec.parameter_draws for key in draw)


@pytest.mark.parametrize(("draw", "needle"), [
    ({"performers.crowd.sessions_per_hour": -1}, "parameter_draws[1].performers.crowd.sessions_per_hour: must be >"),
    ({"performers.crowd.sesions_per_hour": 5}, "parameter_draws[1].performers.crowd.sesions_per_hour: unknown key"),
    ({"performers.nobody.skip_rate": 0.1}, "parameter_draws[1].performers.nobody.skip_rate: no item named 'nobody'"),
    ({"batches.zz.items": 3}, "parameter_draws[1].batches.zz.items: no batch named 'zz'"),
    ({"parameter_draws": []}, "parameter_draws[1].parameter_draws: not a scenario key"),
])
def test_a_bad_draw_is_one_line_naming_it(draw: dict[str, Any], needle: str) -> None:
    data = _base()
    data["parameter_draws"] = [{}, draw]
    with pytest.raises(ScenarioError) as info:
        Scenario.from_mapping(data, source="s.yaml")
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_too_many_draws_or_not_a_list() -> None:
    data = _base()
    data["parameter_draws"] = [{}] * (MAX_PARAMETER_DRAWS + 1)
    with pytest.raises(ScenarioError, match="more than the limit of 1,000"):
        Scenario.from_mapping(data)
    data["parameter_draws"] = {"performers.crowd.sessions_per_hour": 5}
    with pytest.raises(ScenarioError, match="parameter_draws: must be a list of mappings"):
        Scenario.from_mapping(data)


def test_cli_bad_draw_is_exit_2_and_one_line(tmp_path: Path) -> None:
    data = _base()
    data["parameter_draws"] = [{"performers.crowd.skip_rate": 2}]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["forecast", str(path), "-n", "2"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "parameter_draws[0].performers.crowd.skip_rate" in lines[0]


def test_calibrated_yaml_carries_the_draws(tmp_path: Path) -> None:
    """A forecast of the written file is the calibration's own forecast: same draws, same seed, same ends."""
    rng = np.random.default_rng(4)
    rows, t = [], 0.0
    for k in range(80):
        t += rng.exponential(120)
        work = rng.lognormal(math.log(40), 0.6)
        rows.append((f"w{k}", f"s{k}", t, t + work, "submitted"))
    log = pd.DataFrame(rows, columns=["performer", "suite_id", "acc", "sub", "status"])
    t0 = pd.Timestamp("2026-03-02T08:00:00Z")
    log["accepted_at"] = t0 + pd.to_timedelta(log["acc"], unit="s")
    log["submitted_at"] = t0 + pd.to_timedelta(log["sub"], unit="s")
    log = log.drop(columns=["acc", "sub"]).assign(batch="b", n_tasks=1, time_limit_s=600.0, max_assignments=1)
    cal = calibrate(log, as_of=log["accepted_at"].iloc[50], items=120, draws=6)
    assert len(cal.scenario.parameter_draws) == len(cal.draws) >= 4
    text = cal.to_yaml()
    assert "# parameter_draws:" in text
    again = Scenario.from_mapping(yaml.safe_load(text))
    assert again.parameter_draws == cal.scenario.parameter_draws
    rates = {s.performers[0].sessions_per_hour for s in again.draw_scenarios}
    assert len(rates) > 1  # the draws differ
    mine = cal.forecast(12, seed=7)
    fc = labelsim.forecast(again, 12, seed=7)
    start = pd.Timestamp(again.start)
    remaining = (fc.replications.sort_values("replication")["completed_at"] - start).dt.total_seconds()
    np.testing.assert_allclose(np.where(remaining.isna(), np.inf, remaining), mine.remaining_s)
    assert list(mine.draw) == [r % len(cal.draws) for r in range(12)]
