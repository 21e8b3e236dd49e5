"""Crowd arrival intensities: multipliers of a crowd's session rate (e.g. by the batch's age).

A crowd with an intensity draws sessions at ``peak()`` times its base rate and keeps one
arriving at ``now`` with probability ``factor(now) / peak()`` (thinning, with uniforms from its
own stream ``"{group}/thinning"``), so the other streams do not shift.
"""

from __future__ import annotations

from ..scenario import CrowdGroup, Scenario

__all__ = ["AgeDecay"]


class AgeDecay:
    """A crowd's launch burst that fades (:class:`~labelsim.scenario.Decay`) as an :class:`ArrivalIntensity`.

    ``factor(now) = 1 + (burst − 1)·2^(−age/half_life)`` with ``age = now − origin``: ``origin``
    (seconds from the start, ≤ 0 for a batch launched before it) is the first batch launch —
    minus the largest ``state.age`` of the batches, else the earliest ``launch_at``, else 0.
    Before the origin the factor is 1.
    """

    def __init__(self, burst: float, half_life_s: float, origin_s: float) -> None:
        self.burst, self.half_life_s, self.origin_s = burst, half_life_s, origin_s

    @classmethod
    def of(cls, spec: CrowdGroup, scenario: Scenario) -> AgeDecay | None:
        """The intensity of ``spec``'s ``decay`` in ``scenario`` (None without a decay)."""
        if spec.decay is None:
            return None
        ages = [b.state.age for _, b in scenario.batches() if b.state is not None and b.state.age is not None]
        launches = [scenario.offset_s(b.launch_at) for _, b in scenario.batches() if b.launch_at is not None]
        origin = -max(ages) if ages else (min(launches) if launches else 0.0)
        return cls(spec.decay.burst, spec.decay.half_life, origin)

    def factor(self, now: float) -> float:
        age = now - self.origin_s
        if age < 0:
            return 1.0
        return 1.0 + (self.burst - 1.0) * 2.0 ** (-age / self.half_life_s)

    def peak(self) -> float:
        if self.burst <= 1.0:
            return 1.0
        return self.factor(max(0.0, self.origin_s))
