"""Dispatch: which suite a performer gets — labeling queue, same-queue order, pools, idle members.

Only Processing batches are offered (:attr:`Dispatcher.groups_offer`: one list per
labeling queue, highest first, rebuilt whenever a status changes).  Within a
queue, ``smallest_first`` offers the batch with the fewest remaining items first,
``parallel`` rotates (round robin).  Each batch keeps its own FIFO pool of suites
(a deque); a performer never gets a suite it already had.  Idle team members wait
in an insertion-ordered dict (longest idle first), so handing out work is O(1) in
the common case.

This is the model's inner loop: methods keep what they use in locals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..vocabulary import PROCESSING
from .account import Account
from .entities import BatchRun, Suite
from .performers import Worker

if TYPE_CHECKING:
    from .assignments import StartFn

__all__ = ["Dispatcher", "MayTake", "first_open"]

#: Hook signature: may performer ``w`` take work from batch ``b`` now (bans, per-performer limits)?
MayTake = Callable[[Worker, BatchRun], bool]


def first_open(b: BatchRun, pid: int) -> Suite | None:
    """The oldest suite of ``b`` that performer ``pid`` may take, or None."""
    for suite in b.pool:
        if suite.open and (suite.takers is None or pid not in suite.takers):
            return suite
    return None


class Dispatcher:
    """Offers Processing batches' suites to performers.

    Args:
        by_queue: the batches in labeling-queue order (shared, re-sorted in place on ``set_queue``).
        account: the money (a performer takes a suite only if its cost is available).
        parallel: the ``parallel`` same-queue policy (else ``smallest_first``).
        update: the model's status update (called when a batch runs out of money).

    Attributes:
        idle: idle team members on shift, longest idle first (a dict used as an ordered set).
        groups_offer: Processing batches grouped by labeling queue, highest queue first.
        singles: the same batches as one list when every queue has one (else None): the fast path.
        max_cost: the largest assignment cost among them (micro-USD): below it, money is checked.
        start: the assignment component's ``start(w, b, suite, outcome, delay)`` (wired by the core).
        may_take: hook for per-performer limits and bans (:data:`MayTake`); None = everyone may.
    """

    __slots__ = ("account", "by_queue", "groups_offer", "idle", "max_cost", "may_take", "parallel", "rr",
                 "singles", "start", "update")

    def __init__(
        self, by_queue: list[BatchRun], account: Account, *, parallel: bool, update: Callable[[], None],
    ) -> None:
        self.by_queue = by_queue
        self.account = account
        self.parallel = parallel
        self.update = update
        self.idle: dict[Worker, None] = {}
        self.groups_offer: list[list[BatchRun]] = []
        self.singles: list[BatchRun] | None = []
        self.max_cost = 0
        self.rr = 0
        self.start: StartFn | None = None
        self.may_take: MayTake | None = None

    def rebuild_offer(self) -> None:
        """Regroup the Processing batches after status changes."""
        groups: list[list[BatchRun]] = []
        max_cost = 0
        for b in self.by_queue:
            if b.status is PROCESSING:
                if groups and groups[-1][0].queue == b.queue:
                    groups[-1].append(b)
                else:
                    groups.append([b])
                max_cost = max(max_cost, b.cost)
        self.max_cost = max_cost
        self.groups_offer = groups
        self.singles = [group[0] for group in groups] if all(len(group) == 1 for group in groups) else None

    def same_queue_order(self, group: list[BatchRun]) -> list[BatchRun]:
        """The order in which same-queue batches are offered: round robin or smallest remaining first."""
        if self.parallel:
            self.rr += 1
            k = self.rr % len(group)
            return group[k:] + group[:k]
        return sorted(group, key=lambda b: (b.items_total - b.labeled_items, b.idx))

    def next_work(self, w: Worker) -> bool:
        """Give ``w`` the highest-priority suite it may take; False if there is none."""
        try_take = self.try_take
        singles = self.singles
        if singles is not None:  # one batch per labeling queue (the common case): no same-queue order
            for b in singles:  # noqa: SIM110  (a loop: any() over a generator is slower here)
                if b.open_slots and try_take(w, b):
                    return True
            return False
        for group in self.groups_offer:
            if len(group) == 1:
                b = group[0]
                if b.open_slots and try_take(w, b):
                    return True
            else:
                for b in self.same_queue_order(group):
                    if b.open_slots and try_take(w, b):
                        return True
        return False

    def try_take(self, w: Worker, b: BatchRun) -> bool:
        """``w`` takes the oldest suite of ``b`` it may take, if the money allows; False if none."""
        pool = b.pool
        if not pool:
            return False
        suite = pool[0]  # the pool's head is usually open: the fast path
        if not suite.open or (suite.takers is not None and w.pid in suite.takers):
            found = first_open(b, w.pid)
            if found is None:
                return False
            suite = found
        if self.may_take is not None and not self.may_take(w, b):
            return False
        account = self.account
        if account.balance - account.reserved < b.cost:
            b.no_money = True
            self.update()
            return False
        outcome, delay = w.group.decide(w, suite, b)  # type: ignore[union-attr]
        self.start(w, b, suite, outcome, delay)  # type: ignore[misc]
        if account.balance - account.reserved < self.max_cost:
            self.money_check()
        return True

    def money_check(self) -> None:
        """After money was reserved: Processing batches that cannot pay their next assignment stop."""
        account = self.account
        available = account.balance - account.reserved
        hit = False
        for group in self.groups_offer:
            for b in group:
                if b.open_slots and available < b.cost:
                    b.no_money = True
                    hit = True
        if hit:
            self.update()

    def offer(self, b: BatchRun) -> None:
        """Offer ``b``'s open suites to idle team members (longest idle first)."""
        idle = self.idle
        if not idle or not b.open_slots:
            return
        if self.try_take(next(iter(idle)), b) and (not idle or not b.open_slots):
            return  # the common case: one new suite, one idle member
        for w in list(idle):
            if b.status is not PROCESSING or not b.open_slots:
                return
            if w in idle:  # a nested status update may have put w to work already
                self.try_take(w, b)

    def new_work(self, b: BatchRun) -> None:
        """New suites arrived in ``b``: stop it if it cannot pay, else offer them to idle members."""
        if b.status is PROCESSING:
            account = self.account
            if account.balance - account.reserved < b.cost:
                b.no_money = True
                self.update()
                return
            self.offer(b)
