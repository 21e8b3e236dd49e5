"""Probability distributions used in scenarios (layer 0).

Each distribution is a small frozen pydantic model selected by its ``dist`` key::

    seconds_per_task: {dist: lognormal, median: 12, sigma: 0.8}

and offers ``sample(rng, size) -> numpy array`` and the analytic ``mean``.
Time distributions are in **seconds**; count distributions (``geometric``)
return integers ≥ 1.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
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


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @property
    def mean(self) -> float:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


class Exponential(_Dist):
    """Exponential with the given ``mean`` (> 0)."""

    dist: Literal["exponential"]
    mean_: float = Field(alias="mean", gt=0)

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean_, size)


class LogNormal(_Dist):
    """Log-normal with the given ``median`` (> 0) and log-scale ``sigma`` (≥ 0)."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(ge=0)

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.lognormal(math.log(self.median), self.sigma, size)


class Gamma(_Dist):
    """Gamma with the given ``mean`` (> 0) and coefficient of variation ``cv`` (> 0)."""

    dist: Literal["gamma"]
    mean_: float = Field(alias="mean", gt=0)
    cv: float = Field(gt=0)

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean_ / shape, size)


class Constant(_Dist):
    """Always ``value`` (≥ 0)."""

    dist: Literal["constant"]
    value: float = Field(ge=0)

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value, dtype=float)


class Uniform(_Dist):
    """Uniform on [``low``, ``high``] (0 ≤ low ≤ high)."""

    dist: Literal["uniform"]
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must not be below low ({self.low})")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)


class Empirical(_Dist):
    """Resamples the observed ``values`` (each ≥ 0) with equal weights."""

    dist: Literal["empirical"]
    values: tuple[float, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _non_negative(self) -> Empirical:
        if min(self.values) < 0 or not all(math.isfinite(v) for v in self.values):
            raise ValueError("values must be finite and not negative")
        return self

    @property
    def mean(self) -> float:
        return math.fsum(self.values) / len(self.values)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.choice(np.asarray(self.values, dtype=float), size)


class Geometric(_Dist):
    """Counts 1, 2, 3, … with the given ``mean`` (≥ 1); P(k) = p(1−p)^(k−1), p = 1/mean."""

    dist: Literal["geometric"]
    mean_: float = Field(alias="mean", ge=1)

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.geometric(1.0 / self.mean_, size)


#: A distribution of non-negative real values (seconds, speed factors…).
Distribution = Annotated[
    Exponential | LogNormal | Gamma | Constant | Uniform | Empirical,
    Field(discriminator="dist"),
]

#: A distribution of counts ≥ 1 (suites per session…).
CountDistribution = Annotated[
    Geometric | Constant | Empirical | Uniform,
    Field(discriminator="dist"),
]
