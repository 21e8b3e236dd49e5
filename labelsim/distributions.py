"""Probability distributions used in scenarios (layer 0).

Each distribution is a small frozen pydantic model selected by its ``dist`` key::

    seconds_per_task: {dist: lognormal, median: 12, sigma: 0.8}
    seconds_per_task: 30          # a bare number: constant 30 (same as {dist: constant, value: 30})

Parameters are finite and at most :data:`MAX_VALUE` (1e9; ``sigma`` ≤ 10, ``cv`` ≤ 100,
``empirical`` at most 100 000 values) so that samples stay finite.

and offers ``sample(rng, size) -> numpy array`` and the analytic ``mean``.
Time distributions are in **seconds**; count distributions (``geometric``)
return integers ≥ 1.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

__all__ = [
    "MAX_VALUE",
    "Constant",
    "CountDistribution",
    "Distribution",
    "Empirical",
    "Exponential",
    "Gamma",
    "Geometric",
    "LogNormal",
    "Uniform",
]

#: Largest parameter of any distribution (seconds, factors, counts).
MAX_VALUE = 1e9


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bools(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                values = value if isinstance(value, (list, tuple)) else [value]
                if any(isinstance(v, bool) for v in values):
                    raise ValueError(f"{key}: expected a number, got {value!r}")
        return data

    @property
    def mean(self) -> float:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @property
    def upper(self) -> float:
        """A value samples rarely exceed: the maximum when bounded, else a high quantile (about the 99.99th)."""
        return 10 * self.mean

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


class Exponential(_Dist):
    """Exponential with the given ``mean`` (> 0)."""

    dist: Literal["exponential"]
    mean_: float = Field(alias="mean", gt=0, le=MAX_VALUE)

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean_, size)


class LogNormal(_Dist):
    """Log-normal with the given ``median`` (> 0) and log-scale ``sigma`` (≥ 0)."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0, le=MAX_VALUE)
    sigma: float = Field(ge=0, le=10)

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.lognormal(math.log(self.median), self.sigma, size)


class Gamma(_Dist):
    """Gamma with the given ``mean`` (> 0) and coefficient of variation ``cv`` (> 0)."""

    dist: Literal["gamma"]
    mean_: float = Field(alias="mean", gt=0, le=MAX_VALUE)
    cv: float = Field(gt=0, le=100)

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean_ / shape, size)


class Constant(_Dist):
    """Always ``value`` (≥ 0)."""

    dist: Literal["constant"]
    value: float = Field(ge=0, le=MAX_VALUE)

    @property
    def mean(self) -> float:
        return self.value

    @property
    def upper(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value, dtype=float)


class Uniform(_Dist):
    """Uniform on [``low``, ``high``] (0 ≤ low ≤ high)."""

    dist: Literal["uniform"]
    low: float = Field(ge=0, le=MAX_VALUE)
    high: float = Field(ge=0, le=MAX_VALUE)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must not be below low ({self.low})")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def upper(self) -> float:
        return self.high

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)


class Empirical(_Dist):
    """Resamples the observed ``values`` (each ≥ 0) with equal weights."""

    dist: Literal["empirical"]
    values: tuple[float, ...] = Field(min_length=1, max_length=100_000)

    @model_validator(mode="after")
    def _non_negative(self) -> Empirical:
        if min(self.values) < 0 or max(self.values) > MAX_VALUE:
            raise ValueError(f"values must be between 0 and {MAX_VALUE:g}")
        return self

    @property
    def upper(self) -> float:
        return max(self.values)

    @property
    def mean(self) -> float:
        return math.fsum(self.values) / len(self.values)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.choice(np.asarray(self.values, dtype=float), size)


class Geometric(_Dist):
    """Counts 1, 2, 3, … with the given ``mean`` (≥ 1); P(k) = p(1−p)^(k−1), p = 1/mean."""

    dist: Literal["geometric"]
    mean_: float = Field(alias="mean", ge=1, le=MAX_VALUE)

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.geometric(1.0 / self.mean_, size)


def _bare_number(value: Any) -> Any:
    """A bare number ``30`` is the constant distribution ``{dist: constant, value: 30}``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"dist": "constant", "value": value}
    return value


#: A distribution of non-negative real values (seconds, speed factors…); a bare number is a constant.
Distribution = Annotated[
    Exponential | LogNormal | Gamma | Constant | Uniform | Empirical,
    Field(discriminator="dist"),
    BeforeValidator(_bare_number),
]

#: A distribution of counts ≥ 1 (suites per session…); a bare number is a constant.
CountDistribution = Annotated[
    Geometric | Constant | Empirical | Uniform,
    Field(discriminator="dist"),
    BeforeValidator(_bare_number),
]
