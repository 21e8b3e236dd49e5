"""One task of a replication experiment (layer 4): run replications, return compact rows.

This module is what executor workers (joblib/loky processes, dask workers)
import: it needs only the model, not pandas or matplotlib, so workers start fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .model import RawRun, run_model
from .rng import RandomStreams
from .scenario import Scenario
from .vocabulary import NO_MONEY

__all__ = ["REPLICATION_FIELDS", "replication_rows", "run_chunk"]

#: Fields of one compact per-batch row of a replication (what workers send back).
REPLICATION_FIELDS: tuple[str, ...] = (
    "replication", "batch_index", "labeling_queue", "status", "items", "labeled_items", "submitted",
    "expired", "skipped", "rejected", "mean_overlap", "in_flight", "spent_micro", "launched_s", "started_s",
    "completed_s",
    "no_money", "end_s",
    # money to finish: assignments the batch needs in all, the cost of one (micro-USD), the account's
    # available balance (balance - reserved) at the end of the run
    "needed", "cost_micro", "available_micro",
)


def replication_rows(raw: RawRun, replication: int) -> list[tuple[Any, ...]]:
    """Compact per-batch rows of one run (fields :data:`REPLICATION_FIELDS`)."""
    no_money = {idx for _, idx, status in raw.status_log if status == NO_MONEY}
    return [
        (
            replication, idx, final.labeling_queue, final.status, final.items, final.labeled_items,
            final.submitted, final.expired, final.skipped, final.rejected,
            final.needed / final.suites if final.suites else float("nan"), final.in_flight, final.spent,
            final.launched_at, final.started_at, final.completed_at, idx in no_money, raw.end_s,
            *_money_to_finish(raw, idx, final),
        )
        for idx, final in enumerate(raw.batch_final)
    ]


def _money_to_finish(raw: RawRun, idx: int, final: Any) -> tuple[int, int, int]:
    """``(needed, cost_micro, available_micro)`` of batch ``idx`` (``final``: a mapping or a record object)."""
    needed = final["needed"] if isinstance(final, dict) else final.needed
    reward, fee = raw.costs[idx]
    return needed, reward + fee, raw.final_balance - raw.final_reserved


def run_chunk(
    scenario: Scenario,
    entropy: int,
    replications: Sequence[int],
    until_s: float | None = None,
    keep_runs: bool = False,
) -> tuple[list[tuple[Any, ...]], list[RawRun]]:
    """Run the given replications (each with streams keyed by its number); a task for any executor.

    Replication ``r`` runs ``scenario.for_replication(r)``: with ``parameter_draws``, draw ``r mod K``
    applied (the variants travel with the pickled scenario, built once at validation).

    Returns the compact per-batch rows and, only if ``keep_runs``, every run's full records.
    """
    rows: list[tuple[Any, ...]] = []
    runs: list[RawRun] = []
    for replication in replications:
        raw = run_model(scenario.for_replication(replication), RandomStreams(entropy, (replication,)), until_s=until_s)
        rows.extend(replication_rows(raw, replication))
        if keep_runs:
            runs.append(raw)
    return rows, runs
