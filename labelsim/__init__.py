"""labelsim: discrete-event simulation and forecasting of batch data labeling.

Quick use::

    import labelsim
    scenario = labelsim.load_scenario("scenarios/quickstart.yaml")
    result = labelsim.simulate(scenario, seed=1)
    result.batches            # one row per batch: status, labeled items, ETA, spend
    fc = labelsim.forecast(scenario, replications=200, jobs=2)
    fc.eta                    # P10 / P50 / P90 ETA per batch

The names below are imported on first use (PEP 562), so that worker processes
running replications import only the model, not pandas or matplotlib.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from .calibration import Calibration, calibrate
    from .engine import replicate, simulate
    from .forecasting import Comparison, Forecast, compare, forecast
    from .io import load_scenario
    from .logs import read_log
    from .planning import Plan, Sweep, plan, sweep
    from .results import SCHEMAS, SimulationResult
    from .scenario import LabelsimError, Scenario, ScenarioError

_EXPORTS: dict[str, str] = {
    "SCHEMAS": "results",
    "Calibration": "calibration",
    "calibrate": "calibration",
    "Comparison": "forecasting",
    "Forecast": "forecasting",
    "LabelsimError": "scenario",
    "Plan": "planning",
    "Scenario": "scenario",
    "ScenarioError": "scenario",
    "SimulationResult": "results",
    "Sweep": "planning",
    "compare": "forecasting",
    "forecast": "forecasting",
    "load_scenario": "io",
    "plan": "planning",
    "read_log": "logs",
    "replicate": "engine",
    "simulate": "engine",
    "sweep": "planning",
}

__all__ = [
    "SCHEMAS",
    "Calibration",
    "Comparison",
    "Forecast",
    "LabelsimError",
    "Plan",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "Sweep",
    "__version__",
    "calibrate",
    "compare",
    "forecast",
    "load_scenario",
    "plan",
    "read_log",
    "replicate",
    "simulate",
    "sweep",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'labelsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
