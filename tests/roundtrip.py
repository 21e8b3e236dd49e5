"""Round trip: scenarios simulated by labelsim -> logs -> cut at 25/50/75 % -> calibrated -> forecast -> scored.

``diverse_scenarios(n)`` builds small, varied single-batch scenarios programmatically (crowd size and skew,
launch bursts and fades with no floor, per-batch limits, time limits, overlaps, work times, skips and abandons);
``round_trip(...)`` returns one row per (scenario, origin) with the forecast and the truth, and one row per
(scenario, origin, parameter) with the fitted value, its interval and the true value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from simlog import log_from_result

import labelsim
from labelsim.calibration import calibrate
from labelsim.scenario import Scenario

START = "2026-03-02T06:00:00Z"


def diverse_scenarios(n: int, seed: int = 2026) -> list[tuple[Scenario, dict[str, float]]]:
    """``n`` scenarios and their true crowd parameters (in the units of ``Calibration.fitted``)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        overlap = int(rng.choice([1, 1, 3, 5]))
        suites = int(rng.integers(150, 300)) if overlap > 1 else int(rng.integers(400, 900))
        limit_min = float(rng.choice([5, 10, 30]))
        median = float(rng.uniform(15, 90))
        sigma = float(rng.uniform(0.3, 0.9))
        rate = float(rng.uniform(15, 60))
        burst = float(rng.choice([1.0, 1.0, rng.uniform(3, 8)]))
        half_h = float(rng.uniform(0.5, 2.0))
        population = int(rng.choice([80, 300, 2000]))
        per_session = float(rng.uniform(2, 8))
        skip = float(rng.choice([0.0, rng.uniform(0.02, 0.1)]))
        abandon = float(rng.choice([0.0, rng.uniform(0.01, 0.05)]))
        limit = int(rng.choice([0, 0, 8])) if population <= 300 else 0
        fade = burst == 1.0 and rng.random() < 0.4  # interest that falls with no floor, on a higher launch rate
        exponent, scale_h = float(rng.uniform(0.3, 0.8)), float(rng.uniform(1.0, 4.0))
        if limit:  # people enough to finish the batch: the crowd can do at least twice the work
            limit = max(limit, math.ceil(2 * suites * overlap / population))
        crowd: dict[str, Any] = {
            "name": "crowd", "kind": "crowd", "sessions_per_hour": rate, "population": population,
            "top10_share": float(rng.uniform(0.2, 0.5)),
            "suites_per_session": {"dist": "geometric", "mean": per_session},
            "seconds_per_task": {"dist": "lognormal", "median": median, "sigma": sigma},
            "skip_rate": skip, "abandon_rate": abandon,
        }
        if burst > 1:
            crowd["decay"] = {"burst": burst, "half_life": f"{half_h}h"}
        if fade:
            crowd["sessions_per_hour"] = 2 * rate
            crowd["decay"] = {"fade_exponent": exponent, "fade_scale": f"{scale_h}h"}
        if limit:
            crowd["limits"] = {"per_batch": limit}
        data = {
            "name": f"rt-{i}", "start": START, "horizon": "30d", "account": {"balance": 1e6},
            "projects": [{"name": "p", "batches": [{
                "name": "b", "items": suites, "overlap": overlap, "reward": 0.05,
                "time_limit": f"{limit_min}m", "launch_at": "0s"}]}],
            "performers": [crowd],
        }
        truth = {"sessions_per_hour": math.nan if fade else rate, "burst": burst,
                 "fade_exponent": exponent if fade else 0.0, "half_life_h": half_h if burst > 1 else math.nan,
                 "suites_per_session": per_session, "seconds_per_task_median": median,
                 "seconds_per_task_sigma": sigma, "skip_rate": skip, "abandon_rate": abandon,
                 "limit_per_batch": float(limit) if limit else math.nan}
        out.append((Scenario.from_mapping(data), truth))
    return out


def round_trip(n: int = 30, *, replications: int = 30, draws: int = 10, at: tuple[float, ...] = (0.25, 0.5, 0.75),
               seed: int = 2026) -> tuple[pd.DataFrame, pd.DataFrame]:
    forecasts, params = [], []
    for i, (scenario, truth) in enumerate(diverse_scenarios(n, seed)):
        result = labelsim.simulate(scenario, seed=seed + i)
        assert result.batches["status"].iloc[0] == "Completed", f"scenario {i} did not complete"
        log = log_from_result(result)
        done = log[log["status"] == "submitted"].sort_values("submitted_at")
        end = done["submitted_at"].max()
        batch = scenario.projects[0].batches[0]
        for q in at:
            as_of = done["submitted_at"].iloc[max(0, math.ceil(q * len(done)) - 1)]
            cal = calibrate(log, as_of=as_of, items=batch.items, draws=draws, seed=i)
            fc = cal.forecast(replications, seed=1000 * i + int(100 * q))
            actual = (end - as_of).total_seconds()
            forecasts.append({"scenario": i, "origin": q, "actual_s": actual, "p10_s": fc.p10_s, "p50_s": fc.p50_s,
                              "p90_s": fc.p90_s})
            fitted = cal.fitted.set_index("parameter")
            for key, true in truth.items():
                if key in fitted.index:
                    row = fitted.loc[key]
                    params.append({"scenario": i, "origin": q, "parameter": key, "true": true, "value": row["value"],
                                   "low": row["low"], "high": row["high"]})
    return pd.DataFrame(forecasts), pd.DataFrame(params)


def summary(forecasts: pd.DataFrame) -> dict[str, float]:
    actual = forecasts["actual_s"].clip(lower=1.0)
    log2 = np.log2(forecasts["p50_s"].clip(lower=1.0) / actual)
    inside = (forecasts["p10_s"] <= forecasts["actual_s"]) & (forecasts["actual_s"] <= forecasts["p90_s"])
    return {"n": float(len(forecasts)), "coverage": float(inside.mean()),
            "median_abs_log2": float(np.median(np.abs(log2))), "too_early": float((log2 < 0).mean())}
