"""Quality control against closed forms (labelsim.theory), with replications and a tolerance from the standard error.

As in tests/test_theory.py: R independent replications (seeds 0..R-1), one number per replication, accepted
when |mean − exact| < 4·SE, and 4·SE must be below 10 % of the exact value (so a 10 % error cannot pass).
Setting: an always-on team larger than any item's number of attempts can need (a performer never gets the
same suite twice), a large balance, a 1000-day time limit: nothing is lost but what the rule under test loses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import labelsim
from labelsim import theory
from labelsim.forecasting import forecast
from labelsim.units import usd_to_micro

K_SE, POWER = 4.0, 0.10
R = 8


def _check(samples: Any, exact: float, what: str) -> tuple[float, float]:
    x = np.asarray(samples, dtype=float)
    mean, se = float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x)))
    assert K_SE * se < POWER * exact, f"{what}: SE {se:.4g} too large to detect a 10% error of {exact:.4g}"
    assert abs(mean - exact) < K_SE * se, f"{what}: mean {mean:.5g} vs exact {exact:.5g} (SE {se:.3g}, R = {len(x)})"
    return mean, se


def _scenario(batch: dict[str, Any], team: dict[str, Any], size: int = 30) -> dict[str, Any]:
    return {
        "name": "qc-theory",
        "start": "2026-12-01T00:00:00Z",
        "horizon": "3650d",
        "account": {"balance": 1e6, "fee_rate": 0.3, "min_fee": 0.005},
        "projects": [{"name": "p", "batches": [{"name": "b", "reward": 0.02, "time_limit": "7d", "launch_at": 0,
                                                 **batch}]}],
        "performers": [{"name": "team", "kind": "team", "size": size,
                        "seconds_per_task": {"dist": "exponential", "mean": 60}, **team}],
    }


@pytest.mark.parametrize(("overlap", "rejection"), [(1, 0.5), (2, 0.3)])
def test_rejections_cost_overlap_over_one_minus_r_assignments_per_item(overlap: int, rejection: float):
    items = 400
    spec = labelsim.load_scenario(_scenario(
        {"items": items, "overlap": overlap, "review": {"delay": {"dist": "exponential", "mean": 600}}},
        {"acceptance_rate": 1 - rejection},
    ))
    cost = usd_to_micro(0.02) + max(usd_to_micro(0.02 * 0.3), usd_to_micro(0.005))
    per_item = []
    for seed in range(R):
        result = labelsim.simulate(spec, seed=seed)
        (final,) = result.raw.batch_final
        assert final.status == "Completed" and final.labeled_items == items
        assignments = result.assignments
        n_rejected = int((assignments["outcome"] == "rejected").sum())
        n_accepted = int((assignments["review"] == "accepted").sum())
        assert n_rejected == final.rejected and n_accepted == final.submitted == items * overlap
        # the charged cost: accepted assignments × cost, exactly; rejected ones only reserved, then released
        assert final.spent == n_accepted * cost
        ledger = result.ledger
        assert round(ledger.loc[ledger["kind"] == "charge", "amount_usd"].sum() * 1e6) == n_accepted * cost
        assert round(ledger.loc[ledger["kind"] == "release", "amount_usd"].sum() * 1e6) == n_rejected * cost
        assert result.money["spent_usd"] * 1e6 == pytest.approx(n_accepted * cost)
        per_item.append(len(assignments) / items)
    _check(per_item, theory.assignments_per_item(overlap, rejection), f"assignments per item, r={rejection}")


@pytest.mark.parametrize(("low", "high", "agreement"), [(3, 5, 0.8), (2, 6, 0.5), (1, 3, 0.7)])
def test_dynamic_overlap_mean_matches_its_closed_form(low: int, high: int, agreement: float):
    items = 300
    spec = labelsim.load_scenario(_scenario(
        {"items": items, "dynamic_overlap": {"min": low, "max": high}}, {"agreement": agreement}, size=12,
    ))
    exact = theory.dynamic_overlap_mean(low, high, agreement)
    means, at_min = [], []
    for seed in range(R):
        result = labelsim.simulate(spec, seed=seed)
        (final,) = result.raw.batch_final
        assert final.status == "Completed" and final.labeled_items == items
        per_suite = result.assignments.groupby("suite").size().to_numpy()
        assert per_suite.min() >= low and per_suite.max() <= high
        assert final.submitted == final.needed == per_suite.sum()
        means.append(per_suite.mean())
        at_min.append((per_suite == low).mean())
    if low == 1:  # one answer has nothing to disagree with
        assert np.all(np.array(means) == 1.0)
        return
    _check(means, exact, f"mean overlap {low}..{high}, a={agreement}")
    _check(at_min, agreement ** (low - 1), f"P(overlap = min) {low}..{high}, a={agreement}")


def test_the_closed_forms():
    assert theory.assignments_per_item(3, 0.0) == 3
    assert theory.assignments_per_item(2, 0.5) == 4
    assert theory.dynamic_overlap_mean(3, 5, 1.0) == 3
    assert theory.dynamic_overlap_mean(3, 5, 0.0) == 5
    assert theory.dynamic_overlap_mean(4, 4, 0.3) == 4
    # by enumeration of the rule for min=2, max=4: N=2 w.p. a; N=3 w.p. (1-a)a; N=4 w.p. (1-a)^2
    a = 0.6
    assert theory.dynamic_overlap_mean(2, 4, a) == pytest.approx(2 * a + 3 * (1 - a) * a + 4 * (1 - a) ** 2)
    with pytest.raises(ValueError):
        theory.dynamic_overlap_mean(3, 2, 0.5)


def test_forecast_reports_rejections_overlap_and_cost_per_item():
    """The eta frame's quality columns: expected rejections n·k·r/(1−r), the mean overlap, cost per item."""
    items, rejection, low, high, agreement = 300, 0.4, 2, 4, 0.6
    spec = labelsim.load_scenario(_scenario(
        {"items": items, "dynamic_overlap": {"min": low, "max": high},
         "review": {"delay": {"dist": "exponential", "mean": 600}}},
        {"acceptance_rate": 1 - rejection, "agreement": agreement}, size=40,
    ))
    result = forecast(spec, replications=R, seed=11)
    (row,) = result.eta.itertuples()
    reps = result.replications
    overlap = theory.dynamic_overlap_mean(low, high, agreement)
    _check(reps["mean_overlap"], overlap, "forecast mean overlap")
    assert row.overlap_mean == pytest.approx(reps["mean_overlap"].mean())
    # each accepted answer took Geometric(1 − r) attempts: rejections per replication = answers × r/(1 − r)
    _check(reps["rejected"] / reps["submitted"], rejection / (1 - rejection), "rejections per accepted answer")
    assert row.rejected_mean == pytest.approx(reps["rejected"].mean())
    cost = (usd_to_micro(0.02) + max(usd_to_micro(0.02 * 0.3), usd_to_micro(0.005))) / 1e6
    per_item = reps["submitted"] * cost / items  # every accepted answer is charged, nothing else
    assert np.allclose(reps["spent_usd"] / items, per_item)
    assert row.cost_per_item_p50_usd == pytest.approx(np.quantile(per_item, 0.5, method="inverted_cdf"))
