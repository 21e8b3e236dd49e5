"""Running scenarios (layer 4): one run, replications, and executors.

:func:`simulate` runs a scenario once.  Random numbers come from one
:class:`numpy.random.SeedSequence` per run (``seed``), split into one stream
per source, so the same scenario and seed give identical frames.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from .model import run_model
from .results import SimulationResult, build_result
from .rng import RandomStreams
from .scenario import LabelsimError, Scenario
from .units import parse_duration

__all__ = ["as_scenario", "check_seed", "parse_until", "simulate"]


def as_scenario(scenario: Scenario | Mapping[str, Any]) -> Scenario:
    """Accept a validated :class:`Scenario` or a mapping to validate."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Mapping):
        return Scenario.from_mapping(scenario)
    raise LabelsimError(
        f"scenario: expected a Scenario or a mapping, got {type(scenario).__name__}; "
        "read files with labelsim.load_scenario(path)"
    )


def check_seed(seed: object) -> int | None:
    """Validate a seed: None (fresh entropy) or a non-negative integer."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LabelsimError(f"seed: must be a non-negative integer, got {seed!r}")
    return seed


def parse_until(until: str | float | None) -> float | None:
    """``until`` as seconds (a duration such as ``3d``, or seconds), or None."""
    if until is None:
        return None
    is_number = isinstance(until, (int, float)) and not isinstance(until, bool)
    try:
        seconds = float(until) if is_number else parse_duration(until)
    except ValueError as exc:
        raise LabelsimError(f"until: {exc}") from None
    if not seconds > 0:
        raise LabelsimError(f"until: must be a positive duration, got {until!r}")
    return seconds


def simulate(
    scenario: Scenario | Mapping[str, Any],
    seed: int | None = None,
    *,
    until: str | float | None = None,
    progress: Callable[[float], None] | None = None,
) -> SimulationResult:
    """Simulate ``scenario`` once.

    Args:
        scenario: a :class:`Scenario` (see :func:`labelsim.load_scenario`) or a mapping.
        seed: root seed; None draws fresh entropy (recorded in the provenance).
        until: simulate at most this long (a duration like ``3d`` or seconds)
            instead of the scenario's horizon.
        progress: called with the simulated fraction of the horizon (0..1).

    Returns:
        The frames, warnings and provenance of the run.
    """
    spec = as_scenario(scenario)
    streams = RandomStreams(check_seed(seed))
    until_s = parse_until(until)
    started = time.perf_counter()
    raw = run_model(spec, streams, until_s=until_s, progress=progress)
    wall = time.perf_counter() - started
    return build_result(raw, spec, seed_entropy=streams.entropy, wall_time_s=wall)
