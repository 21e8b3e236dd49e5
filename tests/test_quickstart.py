"""The bundled quickstart scenario shows what the README promises."""

from __future__ import annotations

import labelsim


def _transitions(result: labelsim.SimulationResult, batch: str) -> list[str]:
    timeline = result.status_timeline
    return timeline.loc[timeline["batch"] == batch, "status"].tolist()


def test_quickstart_shows_the_platform_statuses(quickstart_path):
    """Queued -> Processing, Loading, Stopping -> Stopped -> resumed, Completed, No money + top-up."""
    scenario = labelsim.load_scenario(quickstart_path)
    for seed in (1, 2, 3):
        result = labelsim.simulate(scenario, seed=seed)
        hard = _transitions(result, "week-49-hard")
        assert hard[:2] == ["Loading", "Queued"], hard
        assert hard[2:6] == ["Processing", "Stopping", "Stopped", "Processing"], hard
        assert "Completed" in hard
        assert _transitions(result, "week-49")[:2] == ["Processing", "Completed"]
        assert "No money" in _transitions(result, "catalog-dec")
        assert result.money["top_ups_usd"] == 150.0
        assert result.money["spent_usd"] > 120.0  # the top-up was used
        assert result.warnings.empty
