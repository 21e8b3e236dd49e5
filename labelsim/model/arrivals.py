"""Crowd arrival intensities: multipliers of a crowd's session rate (e.g. by the batch's age).

A crowd with an intensity draws candidate sessions at ``bound(now)`` times its base rate, where
``bound(now)`` is at least the multiplier at every later moment, and keeps a candidate arriving at
``t`` with probability ``factor(t) / bound`` (thinning, with uniforms from its own stream
``"{group}/thinning"``), so the other streams do not shift.  As the bound falls with a fading
multiplier, so do the wasted candidates: a crowd whose interest faded to 1 % costs no more than one
at full interest.
"""

from __future__ import annotations

from ..scenario import CrowdGroup, Decay, Scenario

__all__ = ["AgeDecay"]


class AgeDecay:
    """A crowd's rate multiplier by the batch's age (:class:`~labelsim.scenario.Decay`) as an ``ArrivalIntensity``.

    ``factor(now) = decay.multiplier(now − origin)``: ``origin`` (seconds from the start, ≤ 0 for a batch
    launched before it) is the first batch launch — minus the largest ``state.age`` of the batches, else
    the earliest ``launch_at``, else 0.  Before the origin the factor is 1.
    """

    def __init__(self, decay: Decay, origin_s: float) -> None:
        self.decay, self.origin_s = decay, origin_s
        self.burst = decay.burst

    @classmethod
    def of(cls, spec: CrowdGroup, scenario: Scenario) -> AgeDecay | None:
        """The intensity of ``spec``'s ``decay`` in ``scenario`` (None without a decay)."""
        if spec.decay is None:
            return None
        ages = [b.state.age for _, b in scenario.batches() if b.state is not None and b.state.age is not None]
        launches = [scenario.offset_s(b.launch_at) for _, b in scenario.batches() if b.launch_at is not None]
        origin = -max(ages) if ages else (min(launches) if launches else 0.0)
        return cls(spec.decay, origin)

    def factor(self, now: float) -> float:
        """The multiplier at ``now`` (seconds from the start)."""
        return self.decay.multiplier(now - self.origin_s)

    def bound(self, now: float) -> float:
        """An upper bound of ``factor`` over ``[now, ∞)``: both parts only fall after launch (a slow start
        only rises, to at most 1)."""
        age = now - self.origin_s
        if age < 0:
            return max(1.0, self.burst)
        if self.burst >= 1.0:
            return self.factor(now)
        fade = self.decay.fade_scale
        return (1.0 + age / fade) ** (-self.decay.fade_exponent) if fade is not None else 1.0
