"""The scenario (layer 1): what a user writes in a scenario file, validated.

The package has one module per job:

- :mod:`.fields` — field types (durations, moments, rates, queues, statuses, names, counts);
- :mod:`.schema` — the frozen pydantic models (account, policy, projects and batches,
  performer groups sharing :class:`PerformerGroupBase`, events, the scenario);
- :mod:`.errors` — :class:`LabelsimError`, :class:`ScenarioError` and the translation of
  pydantic's errors into one line naming the field;
- :mod:`.overrides` — ``--set KEY=VALUE`` overrides applied before validation.
- :mod:`.limits` — the documented upper limits, the run-size check, and
  :func:`~.limits.lint` (warnings for what is legal but suspicious, :meth:`Scenario.lint`);
- :mod:`.yamlload` — the hardened YAML reader (duplicate keys, depth, alias bombs, no sexagesimals).

Use :meth:`Scenario.from_mapping` (or :func:`labelsim.load_scenario`) to validate
user input: it raises :class:`ScenarioError` with one message naming the field and
the problem.
"""

from .errors import LabelsimError, ScenarioError
from .fields import STATUSES
from .overrides import apply_overrides
from .schema import (
    BATCH_ACTIONS,
    PROJECT_ACTIONS,
    Account,
    Activity,
    AddItems,
    Batch,
    BatchState,
    CrowdGroup,
    Decay,
    Event,
    InFlight,
    Limits,
    PartialSuite,
    PerformerGroup,
    PerformerGroupBase,
    Policy,
    Project,
    Scenario,
    SetQueue,
    Shift,
    Stream,
    TeamGroup,
    TopUp,
)

__all__ = [
    "BATCH_ACTIONS",
    "PROJECT_ACTIONS",
    "STATUSES",
    "Account",
    "Activity",
    "AddItems",
    "Batch",
    "BatchState",
    "CrowdGroup",
    "Decay",
    "Event",
    "InFlight",
    "LabelsimError",
    "Limits",
    "PartialSuite",
    "PerformerGroup",
    "PerformerGroupBase",
    "Policy",
    "Project",
    "Scenario",
    "ScenarioError",
    "SetQueue",
    "Shift",
    "Stream",
    "TeamGroup",
    "TopUp",
    "apply_overrides",
]
