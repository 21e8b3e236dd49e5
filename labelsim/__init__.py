"""labelsim: discrete-event simulation and forecasting of batch data labeling.

Quick use::

    import labelsim
    scenario = labelsim.load_scenario("scenarios/quickstart.yaml")
    result = labelsim.simulate(scenario, seed=1)
    result.batches            # one row per batch: status, labeled items, ETA, spend
"""

from ._version import __version__
from .engine import replicate, simulate
from .forecast import Comparison, Forecast, compare, forecast
from .io import load_scenario
from .results import SCHEMAS, SimulationResult
from .scenario import LabelsimError, Scenario, ScenarioError

__all__ = [
    "SCHEMAS",
    "Comparison",
    "Forecast",
    "LabelsimError",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "__version__",
    "compare",
    "forecast",
    "load_scenario",
    "replicate",
    "simulate",
]
