"""The account: balance and reservations in integer micro-USD, and the order money moves in.

An assignment's cost (reward + fee) is reserved when a performer takes the suite
(the price is locked then), charged when it is submitted, released when it
expires or is skipped.  Available = balance − reserved.  Every movement gets a
sequence number from :attr:`Account.next_seq`, so that the ledger can be rebuilt
in the exact order the model moved the money, even within one instant.

Low funds: with a threshold set (:meth:`Account.watch_low_funds`, ``account.low_funds``),
the account calls back once each time the available money drops below it; only money
reserved lowers the available balance, so the assignments component checks
:attr:`Account.low_mark` right after reserving (one comparison).  A top-up that lifts the
available money back to the threshold re-arms it; money released by expired or skipped
work does not (so the warning does not flap around the threshold).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from ..units import usd_to_micro

__all__ = ["NEVER_LOW", "Account", "assignment_cost"]

#: :attr:`Account.low_mark` when no low-funds warning is due (no threshold, or already given).
NEVER_LOW = -(1 << 62)


def assignment_cost(reward_usd: float, fee_rate: float, min_fee_usd: float) -> tuple[int, int]:
    """``(reward, fee)`` of one assignment in micro-USD: fee = max(reward × fee_rate, min_fee)."""
    return usd_to_micro(reward_usd), max(usd_to_micro(reward_usd * fee_rate), usd_to_micro(min_fee_usd))


class Account:
    """Money of one run, in micro-USD.

    Args:
        balance: opening balance (micro-USD).
        full_cost: the ``require_full_cost`` money policy: a batch starts only if the
            available money covers all its remaining assignments.

    Attributes:
        balance / reserved: now (micro-USD); ``available = balance - reserved``.
        opening_balance / opening_reserved: at the start (micro-USD).
        top_ups: ``(t_s, amount)`` of every top-up; ``top_up_seq`` their sequence numbers.
        next_seq: the next money-movement sequence number (call it; 1, 2, …).
        low_funds: the low-funds threshold (micro-USD), or None.
        low_mark: the available money below which :meth:`ran_low` is due (micro-USD;
            :data:`NEVER_LOW` while no warning is due).
    """

    __slots__ = (
        "balance", "full_cost", "low_funds", "low_mark", "next_seq", "on_low", "opening_balance", "opening_reserved",
        "reserved", "top_up_seq", "top_ups",
    )

    def __init__(self, balance: int, *, full_cost: bool = False) -> None:
        self.balance = balance
        self.reserved = 0
        self.opening_balance = balance
        self.opening_reserved = 0
        self.full_cost = full_cost
        self.next_seq = itertools.count(1).__next__
        self.top_ups: list[tuple[float, int]] = []
        self.top_up_seq: list[int] = []
        self.low_funds: int | None = None
        self.low_mark = NEVER_LOW
        self.on_low: Callable[[float, int], None] | None = None

    def watch_low_funds(self, threshold: int, on_low: Callable[[float, int], None]) -> None:
        """Call ``on_low(t_s, available)`` when the available money drops below ``threshold`` (micro-USD)."""
        self.low_funds = threshold
        self.low_mark = threshold
        self.on_low = on_low

    def check_low(self, now: float) -> None:
        """Call back if the available money is below the threshold and no warning is due yet (e.g. at the start)."""
        if self.balance - self.reserved < self.low_mark:
            self.ran_low(now)

    def ran_low(self, now: float) -> None:
        """The available money dropped below the threshold: call back once, until a top-up re-arms it."""
        self.low_mark = NEVER_LOW
        if self.on_low is not None:
            self.on_low(now, self.balance - self.reserved)

    @property
    def available(self) -> int:
        """balance − reserved (micro-USD)."""
        return self.balance - self.reserved

    def can_pay(self, cost: int) -> bool:
        """True if the available money covers one assignment of ``cost``."""
        return self.balance - self.reserved >= cost

    def can_start(self, cost: int, open_slots: int, remaining: int) -> bool:
        """Money check for a batch about to enter Processing.

        Args:
            cost: its assignment cost (micro-USD).
            open_slots: assignments it could hand out now.
            remaining: assignments it still needs, neither submitted nor in flight.
        """
        available = self.balance - self.reserved
        if open_slots and available < cost:
            return False
        if self.full_cost:
            return available >= remaining * cost
        return True

    def reserve(self, cost: int) -> None:
        """A performer took an assignment: lock its cost."""
        self.reserved += cost

    def charge(self, cost: int) -> None:
        """A reserved assignment was submitted: pay it."""
        self.reserved -= cost
        self.balance -= cost

    def release(self, cost: int) -> None:
        """A reserved assignment expired or was skipped: free its cost."""
        self.reserved -= cost

    def top_up(self, amount: int, now: float) -> None:
        """Add ``amount`` micro-USD at ``now``."""
        self.balance += amount
        self.top_ups.append((now, amount))
        self.top_up_seq.append(self.next_seq())
        if self.low_funds is not None and self.balance - self.reserved >= self.low_funds:
            self.low_mark = self.low_funds  # re-armed

    def fix_opening(self, given_usd: float | None) -> list[str]:
        """Fix the opening reservation once the in-flight work at the start was reserved.

        Args:
            given_usd: ``account.reserved`` of the scenario (USD), or None.

        Returns:
            warnings about the opening state (empty when consistent).
        """
        problems = []
        if given_usd is not None:
            given = usd_to_micro(given_usd)
            if given < self.reserved:
                problems.append(
                    f"account.reserved ({given_usd}) is below the cost of the in-flight "
                    f"assignments ({self.reserved / 1e6:.6f}); using the latter"
                )
            else:
                self.reserved = given
        if self.reserved > self.balance:
            problems.append("reserved money exceeds the balance")
        self.opening_reserved = self.reserved
        return problems
