"""Status rules: a batch's displayed status is derived from its flags and counters, never assigned.

:meth:`StatusRules.derive` is the platform's table (``DOMAIN.md``) as code.  The
core recomputes every batch's status in labeling-queue order whenever something
that can change a status happens, so a batch's ``blocked`` check sees the
statuses of the higher queues already updated.

Two of labelsim's choices live here (README, "Modelling choices"):

- *Loading* shows while an upload request is under way and the batch has no loaded
  work left (nothing open, nothing in flight); a batch that still has loaded suites
  keeps its status (Processing, Queued…) and its suites keep being worked while more
  items load.
- Under the strict policy a higher queue holds lower ones back while it is Processing
  or Loading, and while it drains the assignments already reserved after a pause
  (Stopping), a cancel or a fail (Canceled / Error with work in flight): the three
  stop new work the same way.
"""

from __future__ import annotations

from ..vocabulary import (
    ARCHIVE,
    BLOCKING,
    CANCELED,
    COMPLETED,
    ERROR,
    LOADING,
    NEW,
    NO_MONEY,
    PROCESSING,
    QUEUED,
    STOPPED,
    STOPPING,
)
from .account import Account
from .entities import BatchRun

__all__ = ["DRAINING", "StatusRules"]

#: Statuses that, like Stopping, still hold lower queues back (strict policy) while the batch's
#: reserved assignments are in flight: cancel and fail drain the same way a pause does.
DRAINING: frozenset[str] = frozenset({CANCELED, ERROR})


class StatusRules:
    """Derives statuses.

    Args:
        by_queue: all batches in labeling-queue order (shared with the core; re-sorted in place).
        account: the money, for the No money check on entering Processing.
        strict: the ``strict`` queue policy (a batch waits Queued behind higher queues).
    """

    __slots__ = ("account", "by_queue", "strict")

    def __init__(self, by_queue: list[BatchRun], account: Account, *, strict: bool) -> None:
        self.by_queue = by_queue
        self.account = account
        self.strict = strict

    def derive(self, b: BatchRun) -> str:
        """The status ``b`` shows now (batches of higher queues already derived).

        Side effect: a batch about to enter Processing that cannot pay is flagged ``no_money``.
        """
        if b.archived:
            return ARCHIVE
        if not b.launched:
            return NEW
        if b.canceled:
            return CANCELED
        if b.error:
            return ERROR
        if not b.loading and not b.streaming and b.submitted == b.needed and not b.in_flight:
            return COMPLETED
        if b.paused:
            return STOPPING if b.in_flight else STOPPED
        if b.loading and not b.streaming and b.submitted == b.needed and not b.in_flight:
            return LOADING  # items are loading and nothing loaded is left to work on
        if self.strict and self.blocked(b):
            return QUEUED
        if not b.no_money and b.status is not PROCESSING and not self.can_start(b):
            b.no_money = True
        return NO_MONEY if b.no_money else PROCESSING

    def blocked(self, b: BatchRun) -> bool:
        """True if a batch of a higher labeling queue is Processing or Loading, or still drains reserved
        work after a pause, cancel or fail (Stopping, or Canceled / Error with assignments in flight)."""
        queue = b.queue
        for other in self.by_queue:
            if other.queue >= queue:
                return False
            if other.status in BLOCKING or (other.in_flight and other.status in DRAINING):
                return True
        return False

    def can_start(self, b: BatchRun) -> bool:
        """Money check when ``b`` would enter Processing."""
        return self.account.can_start(b.cost, b.open_slots, b.needed - b.submitted - b.in_flight)
