"""Shared fixtures: paths and small scenarios built in code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def quickstart_path() -> Path:
    return SCENARIOS / "quickstart.yaml"


@pytest.fixture
def runner() -> CliRunner:
    """typer's runner for the CLI in-process (stdout and stderr kept apart)."""
    return CliRunner()


def invoke(runner: CliRunner, *args: object) -> Any:
    """Run ``labelsim ARGS…`` in-process; arguments may be paths or numbers."""
    from labelsim.cli import app

    return runner.invoke(app, [str(a) for a in args])


def team_scenario(
    *,
    items: int = 100,
    size: int = 3,
    mean_s: float = 60.0,
    overlap: int = 1,
    tasks_per_suite: int = 1,
    balance: float = 1e6,
    horizon: str = "30d",
    **batch: Any,
) -> dict[str, Any]:
    """One batch launched at the start, worked by an always-on team with exponential task times."""
    spec = {
        "name": "b",
        "items": items,
        "overlap": overlap,
        "tasks_per_suite": tasks_per_suite,
        "reward": 0.01,
        "time_limit": "7d",
        "launch_at": "0s",
    }
    spec.update(batch)
    return {
        "name": "team",
        "start": "2026-12-01T00:00:00Z",
        "horizon": horizon,
        "account": {"balance": balance},
        "projects": [{"name": "p", "batches": [spec]}],
        "performers": [
            {"name": "team", "kind": "team", "size": size, "seconds_per_task": {"dist": "exponential", "mean": mean_s}}
        ],
    }
