"""Closed-form queueing results used to validate the model (layer 0).

All rates are per second and all times in seconds.

References: A. K. Erlang (1917) for the M/M/c waiting probability; A. Cobham,
"Priority assignment in waiting line problems", Oper. Res. 2(1):70-76 (1954)
and R. H. Davis, Oper. Res. 14(1):133-136 (1966) for non-preemptive priorities
with identical exponential servers; the makespan formula follows from the
memorylessness of exponential work (Gross, Shortle, Thompson & Harris,
*Fundamentals of Queueing Theory*).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "assignments_per_item",
    "dynamic_overlap_mean",
    "erlang_b",
    "erlang_c",
    "harmonic",
    "makespan_exponential",
    "makespan_exponential_cdf",
    "mmc_wait",
    "platform_formula_remaining_s",
    "priority_mmc_waits",
]


def erlang_b(servers: int, load: float) -> float:
    """Erlang B blocking probability for ``servers`` and offered ``load`` = λ/μ (erlangs)."""
    if servers < 1 or load < 0:
        raise ValueError("servers must be >= 1 and load >= 0")
    blocking = 1.0
    for k in range(1, servers + 1):  # stable recursion B(k) = a B(k-1) / (k + a B(k-1))
        blocking = load * blocking / (k + load * blocking)
    return blocking


def erlang_c(servers: int, load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue (Erlang C); needs load < servers."""
    if load >= servers:
        raise ValueError(f"unstable: load {load} >= servers {servers}")
    blocking = erlang_b(servers, load)
    rho = load / servers
    return blocking / (1.0 - rho * (1.0 - blocking))


def mmc_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean wait in queue W_q of an M/M/c queue (seconds)."""
    load = arrival_rate / service_rate
    return erlang_c(servers, load) / (servers * service_rate - arrival_rate)


def priority_mmc_waits(
    servers: int, arrival_rates: Sequence[float], service_rate: float
) -> list[float]:
    """Mean wait in queue per class of a non-preemptive priority M/M/c queue.

    Class 0 is the highest priority; all classes share one exponential service
    rate.  W_k = W_0 / ((1 - σ_{k-1})(1 - σ_k)) with σ_k the load of classes
    0..k divided by c and W_0 = C(c, λ/μ) / (c μ) (Cobham 1954; Davis 1966).
    """
    total = math.fsum(arrival_rates)
    residual = erlang_c(servers, total / service_rate) / (servers * service_rate)
    waits, sigma_before = [], 0.0
    for rate in arrival_rates:
        sigma = sigma_before + rate / (servers * service_rate)
        waits.append(residual / ((1.0 - sigma_before) * (1.0 - sigma)))
        sigma_before = sigma
    return waits


def harmonic(n: int) -> float:
    """The harmonic number H_n = 1 + 1/2 + … + 1/n."""
    return math.fsum(1.0 / k for k in range(1, n + 1))


def makespan_exponential(jobs: int, servers: int, mean: float) -> float:
    """Expected time to finish ``jobs`` exponential jobs of ``mean`` seconds on ``servers``.

    All jobs are present at time 0 and every server is always available:
    E[T] = (N - c)·m/c + m·H_c for N ≥ c (c busy servers finish at rate c/m
    until the queue is empty, then the last c jobs drain as a maximum of
    exponentials), and m·H_N for N < c.
    """
    if jobs <= 0:
        return 0.0
    if jobs < servers:
        return mean * harmonic(jobs)
    return (jobs - servers) * mean / servers + mean * harmonic(servers)


def makespan_exponential_cdf(jobs: int, servers: int, mean: float, t: float) -> float:
    """P(makespan ≤ ``t``) for ``jobs`` exponential jobs of ``mean`` seconds on ``servers`` always-on servers.

    All jobs are present at time 0.  The makespan is a sum of independent
    exponential stages: while jobs wait, ``c`` busy servers finish one at rate
    c/m (N − c + 1 stages, counting the completion that starts the drain), then
    c − 1, …, 1 busy servers finish at rates (c − 1)/m, …, 1/m.  The CDF of
    this hypoexponential sum is computed by uniformization of its Markov chain
    (exact up to a truncation error below 1e-12).
    """
    if jobs <= 0:
        return 1.0
    if t <= 0:
        return 0.0
    busy = min(servers, jobs)
    rates = np.array([busy / mean] * (jobs - busy + 1) + [k / mean for k in range(busy - 1, 0, -1)])
    top = float(rates.max())
    stay = 1.0 - rates / top
    lam_t = top * t
    # Poisson(lam_t) weights in log space; sum over k jumps of P(absorbed within k jumps)
    k_max = int(lam_t + 12.0 * math.sqrt(lam_t) + 30)
    state = np.zeros(len(rates) + 1)
    state[0] = 1.0
    total = 0.0
    log_weight = -lam_t
    for k in range(k_max + 1):
        if k:
            log_weight += math.log(lam_t) - math.log(k)
            moved = state[:-1] * (1.0 - stay)
            state[:-1] *= stay
            state[1:] += moved
        total += math.exp(log_weight) * state[-1]
    return min(1.0, total)


# --------------------------------------------------------------------------- quality control


def assignments_per_item(overlap: int, rejection: float) -> float:
    """Mean assignments per item when each submission is rejected with probability ``rejection``
    (and redone by another performer), nothing else lost: ``overlap / (1 − rejection)``.

    Each of the ``overlap`` answers an item needs takes a geometric number of attempts
    with success probability ``1 − rejection`` (mean ``1 / (1 − rejection)``).
    """
    if not 0 <= rejection < 1 or overlap < 1:
        raise ValueError("need overlap >= 1 and 0 <= rejection < 1")
    return overlap / (1.0 - rejection)


def dynamic_overlap_mean(low: int, high: int, agreement: float) -> float:
    """Mean overlap of an item under labelsim's dynamic-overlap rule (``dynamic_overlap: {min, max}``).

    Rule: answers 2..``low`` each agree with the earlier ones with probability ``agreement``
    (a); if all agree the item is done with ``low`` answers (probability a^(low−1)); otherwise
    answers are added one at a time until one agrees (probability a each) or ``high`` are
    given.  The extra answers are min(G, high − low) with G geometric on 1, 2, … (success a), and
    E[min(G, K)] = Σ_{j<K} (1 − a)^j = (1 − (1 − a)^K) / a, so

        E[overlap] = low + (1 − a^(low−1)) · (1 − (1 − a)^(high−low)) / a   (→ high as a → 0).
    """
    if not 1 <= low <= high or not 0 <= agreement <= 1:
        raise ValueError("need 1 <= low <= high and 0 <= agreement <= 1")
    k = high - low
    extra = float(k) if agreement == 0 else (1.0 - (1.0 - agreement) ** k) / agreement
    return low + (1.0 - agreement ** (low - 1)) * extra


def platform_formula_remaining_s(remaining: float, elapsed_s: float | None, completed: float) -> float:
    """The platform's own ETA formula: seconds from now until done = remaining × elapsed ÷ completed.

    ``remaining`` and ``completed`` are assignments (submitted ones count as completed), ``elapsed_s``
    the seconds since the batch started.  The formula assumes the pace so far goes on.  ``inf`` when it
    is undefined: nothing completed yet, or the elapsed time unknown (None or NaN).  A negative
    ``remaining`` or ``elapsed_s`` counts as 0.
    """
    if elapsed_s is None or not math.isfinite(elapsed_s) or not completed > 0:
        return math.inf
    return max(remaining, 0.0) * max(elapsed_s, 0.0) / completed
