"""The platform's words, spelled once (layer 0): statuses, transitions, outcomes, ledger kinds.

Every labelsim module that names a batch status, an assignment outcome or a
ledger row kind imports it from here, so a word cannot drift between the
model, the frames, the reports and the plots.
"""

from __future__ import annotations

__all__ = [
    "ABANDONED",
    "ACTIVE",
    "ALLOWED_TRANSITIONS",
    "ARCHIVE",
    "BLOCKING",
    "CANCELED",
    "CHARGE",
    "COMPLETED",
    "ERROR",
    "EXPIRED",
    "IN_FLIGHT",
    "LAUNCHED",
    "LEDGER_KINDS",
    "LOADING",
    "NEW",
    "NOT_EXPECTED",
    "NO_MONEY",
    "OPENING",
    "OUTCOME_NAMES",
    "OUTCOME_WORDS",
    "PROCESSING",
    "QUEUED",
    "REJECTED",
    "RELEASE",
    "RESERVE",
    "SKIPPED",
    "STATUSES",
    "STOPPED",
    "STOPPING",
    "SUBMITTED",
    "TOP_UP",
]

# ---------------------------------------------------------------------------- batch statuses

NEW, LOADING, QUEUED, PROCESSING = "New", "Loading", "Queued", "Processing"
COMPLETED, ERROR, CANCELED, NO_MONEY = "Completed", "Error", "Canceled", "No money"
ARCHIVE, STOPPING, STOPPED = "Archive", "Stopping", "Stopped"

#: The eleven statuses in the platform's order (its documentation's table).
STATUSES: tuple[str, ...] = (
    NEW, LOADING, QUEUED, PROCESSING, COMPLETED, ERROR, CANCELED, NO_MONEY, ARCHIVE, STOPPING, STOPPED,
)
#: Statuses that hold lower labeling queues back under the strict queue policy.
BLOCKING: frozenset[str] = frozenset({PROCESSING, STOPPING, LOADING})
#: Statuses in which a batch may still change without a requester's action.
ACTIVE: frozenset[str] = frozenset({LOADING, QUEUED, PROCESSING, STOPPING})
#: Statuses of a launched batch that is neither finished nor ended by the requester.
LAUNCHED: tuple[str, ...] = (LOADING, QUEUED, PROCESSING, NO_MONEY, STOPPING, STOPPED)
#: Final statuses of a batch nobody expects to finish (no ETA; left out of a project's ETA).
NOT_EXPECTED: tuple[str, ...] = (NEW, CANCELED, ERROR)

#: Status -> statuses it may change to (DOMAIN.md's table plus labelsim's choices:
#: pause works from every launched status; a higher-queue launch or a queue
#: change can send a Processing batch back to Queued; a running batch whose loaded
#: work is all done while more items still load shows Loading; Archive returns to
#: any status on unarchive).
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({LOADING, QUEUED, PROCESSING, NO_MONEY, COMPLETED, ARCHIVE}),
    LOADING: frozenset({QUEUED, PROCESSING, NO_MONEY, STOPPING, STOPPED, COMPLETED, CANCELED, ERROR, ARCHIVE}),
    QUEUED: frozenset({PROCESSING, LOADING, NO_MONEY, STOPPING, STOPPED, COMPLETED, CANCELED, ERROR, ARCHIVE}),
    PROCESSING: frozenset({COMPLETED, STOPPING, STOPPED, NO_MONEY, QUEUED, LOADING, CANCELED, ERROR}),
    NO_MONEY: frozenset(  # Completed: only when work in flight at the start finishes the batch
        {PROCESSING, QUEUED, LOADING, STOPPING, STOPPED, COMPLETED, CANCELED, ERROR, ARCHIVE}
    ),
    STOPPING: frozenset({STOPPED, COMPLETED, *LAUNCHED, CANCELED, ERROR, ARCHIVE} - {STOPPING}),
    # Completed: a paused batch whose last answers are accepted at review (quality control)
    STOPPED: frozenset({*LAUNCHED, COMPLETED, CANCELED, ERROR, ARCHIVE} - {STOPPED}),
    COMPLETED: frozenset({ARCHIVE}),
    ERROR: frozenset({ARCHIVE}),
    CANCELED: frozenset({ARCHIVE}),
    ARCHIVE: frozenset(set(STATUSES) - {ARCHIVE}),
}

# ---------------------------------------------------------------------------- assignment outcomes

#: Outcome codes of assignment records (small ints: they are stored in a float array).
#: ``REJECTED``: submitted, then rejected at review (quality control): not paid, the suite returns to the pool.
SUBMITTED, EXPIRED, SKIPPED, ABANDONED, IN_FLIGHT, REJECTED = 0, 1, 2, 3, 4, 5
#: Outcome code -> the word in the assignments frame (an abandoned suite EXPIRES).
OUTCOME_NAMES: dict[int, str] = {
    SUBMITTED: "submitted",
    EXPIRED: "expired",
    SKIPPED: "skipped",
    ABANDONED: "expired",
    IN_FLIGHT: "in_flight",
    REJECTED: "rejected",
}
#: The distinct outcome words, in code order (the assignments frame's categories).
OUTCOME_WORDS: tuple[str, ...] = tuple(dict.fromkeys(OUTCOME_NAMES[k] for k in sorted(OUTCOME_NAMES)))

# ---------------------------------------------------------------------------- ledger

OPENING, TOP_UP, RESERVE, RELEASE, CHARGE = "opening", "top_up", "reserve", "release", "charge"
#: Kinds of money movement in the ledger frame, by code (the code is the index).
LEDGER_KINDS: tuple[str, ...] = (OPENING, TOP_UP, RESERVE, RELEASE, CHARGE)
