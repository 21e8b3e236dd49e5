"""The SimPy model of the labeling platform (layer 2).

This package is the only code in labelsim that imports simpy.  It is pure: no
file I/O, no printing, no global random state.  :func:`run_model` simulates a
validated :class:`~labelsim.scenario.Scenario` and returns a :class:`RawRun`
of plain Python records that :mod:`labelsim.results` turns into frames.
"""

from .core import LabelingModel, run_model
from .quality import QualityControl
from .records import (
    ABANDONED,
    ALLOWED_TRANSITIONS,
    BEFORE_START,
    EXPIRED,
    IN_FLIGHT,
    OUTCOME_NAMES,
    RECORD_FIELDS,
    SKIPPED,
    SUBMITTED,
    BatchFinal,
    RawRun,
)

__all__ = [
    "ABANDONED",
    "ALLOWED_TRANSITIONS",
    "BEFORE_START",
    "EXPIRED",
    "IN_FLIGHT",
    "OUTCOME_NAMES",
    "RECORD_FIELDS",
    "SKIPPED",
    "SUBMITTED",
    "BatchFinal",
    "LabelingModel",
    "QualityControl",
    "RawRun",
    "run_model",
]
