"""The scenario schema: what a user writes in a scenario file.

A scenario describes an account, projects with batches (their labeling queue,
overlap, price, launch time, uploads), groups of performers, and timed events
(launch, pause, resume, top-up, archive…).  Every model is a frozen pydantic
model that forbids unknown keys, so a typo is an error naming the key.

Times: ``start`` is a timestamp; every other moment (``launch_at``, an event's
``at``…) is either an offset from the start (``0h``, ``2d``) or a timestamp.
Durations are in the units of :mod:`labelsim.units` and stored in seconds;
money is in USD.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..calendar import ACTIVITY_PRESETS, WEEKDAYS
from ..distributions import CountDistribution, Distribution, Geometric
from ..units import parse_timestamp
from .errors import ScenarioError, scenario_error
from .fields import (
    BatchRef,
    Count,
    Duration,
    LabelingQueue,
    Moment,
    Money,
    Name,
    Number,
    PositiveDuration,
    Rate,
    Status,
    Title,
    _Model,
    _moment_text,
    _text,
    check_year,
)
from .limits import (
    MAX_HORIZON_S,
    MAX_ITEMS,
    MAX_PARAMETER_DRAWS,
    MAX_POPULATION,
    MAX_SESSIONS_PER_HOUR,
    MAX_SUITES_PER_SESSION,
    MAX_TEAM_SIZE,
    check_run_size,
)
from .overrides import DRAWS_KEY, apply_overrides, apply_values, override_for
from .quality import Control, DynamicOverlap, Review

#: The platform's smallest reward per assignment (USD): ``account.min_reward``'s default.
MIN_REWARD_USD = 0.005
#: An assignment's time limit: at least 30 seconds, at most 7 days.
MIN_TIME_LIMIT_S, MAX_TIME_LIMIT_S = 30.0, 7 * 86400.0


# --------------------------------------------------------------------------- account & policy


class TopUp(_Model):
    """Money added to the account at a moment."""

    at: Moment
    amount: Money = Field(gt=0, description="USD")


class Account(_Model):
    """The requester's account.

    ``balance`` is the money on the account at the start (USD), of which
    ``reserved`` is already held by assignments in flight (default: the cost of
    the in-flight assignments given in batch ``state``).  The cost of one
    assignment is ``reward + max(reward × fee_rate, min_fee)``.

    ``min_reward`` is the platform's smallest reward per assignment (USD, default
    0.005; every batch's ``reward`` must reach it; 0 turns the check off).
    ``low_funds`` (USD, default: none) records a ``low_funds`` warning each time the
    available balance (balance − reserved) drops below it.
    """

    balance: Money = Field(description="USD at the start (at most 1e9)")
    reserved: Money | None = Field(default=None, description="USD already reserved")
    fee_rate: Number = Field(default=0.30, ge=0, le=1)
    min_fee: Money = Field(default=0.005, description="USD per assignment")
    top_ups: tuple[TopUp, ...] = ()
    min_reward: Money = Field(default=MIN_REWARD_USD, description="USD per assignment, at least")
    low_funds: Money | None = Field(default=None, description="USD: warn below this available balance")

    @model_validator(mode="after")
    def _reserved_within_balance(self) -> Account:
        if self.reserved is not None and self.reserved > self.balance + 1e-9:
            raise ValueError(f"reserved ({self.reserved}) exceeds balance ({self.balance})")
        return self


class Policy(_Model):
    """Platform behaviours that the documentation leaves open (labelsim's choices).

    - ``queue``: ``strict`` — a batch is Queued while a batch with a higher
      labeling queue is Processing, Stopping or Loading; ``work_conserving`` —
      every launched batch is Processing and the queue only orders what a
      performer is offered, so idle performers take lower-queue work.
    - ``same_queue``: ``smallest_first`` — among batches of one queue, the batch
      with the fewest remaining items is offered first; ``parallel`` — round robin.
    - ``money``: ``reserve_on_assign`` — a batch is No money when the available
      balance cannot cover its next assignment; ``require_full_cost`` — also, a
      batch cannot start (enter Processing) unless the available balance covers
      all its remaining assignments.
    - ``resume_on_top_up``: No money batches resume after a top-up (otherwise
      they wait for a ``resume`` event).
    - ``upload_request_time``: what each upload request (at most 10,000 items)
      takes on top of its items' time at the batch's ``upload_rate`` (default 5s;
      uploads without a rate are instant whatever it is).
    """

    queue: Literal["strict", "work_conserving"] = "strict"
    same_queue: Literal["smallest_first", "parallel"] = "smallest_first"
    money: Literal["reserve_on_assign", "require_full_cost"] = "reserve_on_assign"
    resume_on_top_up: bool = True
    upload_request_time: Duration = Field(
        default=5.0, le=3600.0, description="time per upload request (at most 10,000 items), on top of items / rate"
    )


# --------------------------------------------------------------------------- batches


class Stream(_Model):
    """Items uploaded over time as a Poisson stream of ``rate`` items per unit time.

    Streamed items are grouped into suites of ``tasks_per_suite`` in arrival
    order; the last incomplete suite is closed when the stream ends.  The stream
    runs from ``start`` until ``until`` or until ``items`` items have arrived
    (whichever comes first; at the horizon if neither is given).
    """

    rate: Rate
    start: Moment = 0.0
    until: Moment | None = None
    items: Count | None = Field(default=None, ge=1, le=MAX_ITEMS)


class InFlight(_Model):
    """One assignment reserved at the scenario start (``state.in_flight`` as a list).

    ``performer`` (optional) is who holds it: a name from the log, mapped onto a
    person of the first crowd group, so they are never offered the same suite
    again; ``held`` is how long it has been reserved at the start (seconds); it
    either ends submitted after the rest of its work time (drawn conditional on
    having lasted ``held``) or expires at ``time_limit − held`` and its suite
    returns to the pool.  ``suite`` (optional) is an index into ``state.suites``
    (the partially done suite it belongs to); absent = an untouched open suite.

    ``worked`` (optional, ≤ ``held``) is how long it has actually been worked on, for
    a performer who accepted several at once and does them in turn (an MTurk worker's
    queue of accepted HITs): the work time is then drawn given it lasted ``worked``,
    and that performer's reservations which carry ``worked`` are done one after the
    other, in list order, each expiring at its own ``time_limit − held`` (unnamed ones
    are not chained).  Absent: ``worked = held`` and the reservation runs on its own.
    """

    performer: Name | None = None
    held: Duration = 0.0
    suite: Count | None = Field(default=None, ge=0)
    worked: Duration | None = None


class PartialSuite(_Model):
    """A suite with part of its overlap submitted (or only reserved) at the start: by whom (names from the log).

    An empty ``submitted_by`` lists a suite that only has in-flight assignments (``in_flight[i].suite``).
    """

    submitted_by: tuple[Name, ...] = ()

    @model_validator(mode="after")
    def _distinct(self) -> PartialSuite:
        if len(set(self.submitted_by)) != len(self.submitted_by):
            raise ValueError("submitted_by: a performer labels a suite at most once")
        return self


class BatchState(_Model):
    """A batch already under way at the scenario start (for forecasting live situations).

    ``status`` is the platform status now; ``labeled_items`` items already have
    their full overlap; ``submitted`` (optional) counts all submitted
    assignments, including partial overlap of unfinished suites.

    ``in_flight`` is either a count (shorthand: each ends submitted at a uniform
    time within the time limit) or a list of :class:`InFlight` reservations with
    who holds them and for how long (seconds).  ``age`` is how long ago the batch
    was launched (seconds; drives a crowd's ``decay``).  ``suites`` lists partially
    done suites with who submitted them ("never the same suite twice" then binds
    on real history); ``done`` is the number of assignments each named performer
    already did in this batch (per-performer ``limits.per_batch`` carry over).
    """

    status: Status
    labeled_items: Count = Field(default=0, ge=0)
    submitted: Count | None = Field(default=None, ge=0)
    in_flight: Annotated[
        Annotated[Count, Tag("count")] | Annotated[tuple[InFlight, ...], Tag("list")],
        Discriminator(lambda v: "list" if isinstance(v, (list, tuple)) else "count"),
    ] = 0
    age: Duration | None = None
    suites: tuple[PartialSuite, ...] = ()
    done: dict[Name, Count] = Field(default_factory=dict)

    @field_validator("in_flight")
    @classmethod
    def _count(cls, value: int | tuple[InFlight, ...]) -> int | tuple[InFlight, ...]:
        if isinstance(value, int) and value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("done")
    @classmethod
    def _done(cls, value: dict[str, int]) -> dict[str, int]:
        for name, n in value.items():
            if n < 0:
                raise ValueError(f"{name}: must not be negative")
        return value

    @property
    def n_in_flight(self) -> int:
        """How many assignments are reserved at the start."""
        return self.in_flight if isinstance(self.in_flight, int) else len(self.in_flight)

    @property
    def reservations(self) -> tuple[InFlight, ...]:
        """The in-flight assignments as :class:`InFlight` (unknown performer, held 0 for the count shorthand)."""
        if isinstance(self.in_flight, int):
            return tuple(InFlight() for _ in range(self.in_flight))
        return self.in_flight

    @property
    def partial_submitted(self) -> int:
        """Assignments submitted on the listed partially done ``suites``."""
        return sum(len(s.submitted_by) for s in self.suites)


class Batch(_Model):
    """A batch (pool) of items in a project.

    ``reward`` is paid per submitted assignment (one task suite, USD), or
    ``price_per_item`` per item of the suite (one of the two; the assignment then
    pays ``price_per_item × tasks in its suite``); ``overlap`` distinct performers
    label each item (``dynamic_overlap``: between min and max, see
    :class:`~labelsim.scenario.quality.DynamicOverlap`); ``time_limit`` is the
    assignment time limit; ``launch_at`` absent means never launched (New)
    unless a ``launch`` event or ``state`` says otherwise; ``review`` holds
    submitted work for the requester's verdict
    (:class:`~labelsim.scenario.quality.Review`).
    """

    name: Name
    items: Count = Field(ge=0, le=MAX_ITEMS, description="items uploaded before launch (at most 10 million)")
    labeling_queue: LabelingQueue = 5
    overlap: Count = Field(default=1, ge=1, le=30000)
    tasks_per_suite: Count = Field(default=1, ge=1, le=10000)
    price_per_item: Money | None = Field(default=None, description="USD per item (instead of reward)")
    reward: Money | None = Field(default=None, validate_default=True, description="USD per assignment")
    time_limit: PositiveDuration
    launch_at: Moment | None = None
    upload_rate: Rate | None = None
    stream: Stream | None = None
    state: BatchState | None = None
    review: Review | None = None
    dynamic_overlap: DynamicOverlap | None = None

    @model_validator(mode="before")
    @classmethod
    def _overlap_from_dynamic(cls, data: Any) -> Any:
        """``dynamic_overlap`` without ``overlap``: the overlap starts at ``dynamic_overlap.min``."""
        if isinstance(data, Mapping) and "overlap" not in data:
            dynamic = data.get("dynamic_overlap")
            if isinstance(dynamic, Mapping) and "min" in dynamic:
                return {**data, "overlap": dynamic["min"]}
        return data

    @field_validator("reward")
    @classmethod
    def _reward_or_price(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None and info.data.get("price_per_item") is None:
            raise PydanticCustomError("missing", "required key is missing (or give price_per_item)")
        return value

    @property
    def suite_reward(self) -> float:
        """The reward of one assignment of a full suite (USD): ``reward``, or ``price_per_item × tasks_per_suite``."""
        if self.reward is not None:
            return self.reward
        return (self.price_per_item or 0.0) * self.tasks_per_suite

    @model_validator(mode="after")
    def _price_and_overlap(self) -> Batch:
        if self.reward is not None and self.price_per_item is not None:
            raise ValueError("give either reward (USD per assignment) or price_per_item (USD per item), not both")
        dynamic = self.dynamic_overlap
        if dynamic is not None and self.overlap != dynamic.min:
            raise ValueError(f"overlap ({self.overlap}) must equal dynamic_overlap.min ({dynamic.min}) or be left out")
        return self

    @model_validator(mode="after")
    def _state_consistent(self) -> Batch:
        state = self.state
        if state is None:
            return self
        if state.labeled_items > self.items:
            raise ValueError(
                f"state.labeled_items ({state.labeled_items}) exceeds items ({self.items})"
            )
        if state.status != "New" and self.launch_at is not None:
            raise ValueError(
                f"launch_at is set but state.status is {state.status!r}: the batch was "
                "already launched; remove launch_at"
            )
        n_in_flight = state.n_in_flight
        if state.status == "Completed" and (state.labeled_items != self.items or n_in_flight):
            raise ValueError("state.status Completed needs labeled_items == items and no in_flight")
        if state.status == "Loading" and self.upload_rate is None:
            raise ValueError("state.status Loading needs an upload_rate")
        if state.labeled_items % self.tasks_per_suite and state.labeled_items != self.items:
            raise ValueError(
                f"state.labeled_items ({state.labeled_items}) must be a multiple of tasks_per_suite "
                f"({self.tasks_per_suite}): suites are labeled whole"
            )
        if state.status in ("New", "Loading") and (
            state.labeled_items or state.submitted or n_in_flight or state.suites or state.age is not None
        ):
            raise ValueError(
                f"state.status {state.status} cannot have labeled, submitted or in-flight work "
                "(its items are not all uploaded yet) nor an age"
            )
        done = -(-state.labeled_items // self.tasks_per_suite) * self.overlap  # labeled suites, full overlap
        open_suites = -(-(self.items - state.labeled_items) // self.tasks_per_suite)
        partial = state.partial_submitted
        if len(state.suites) > open_suites:
            raise ValueError(f"state.suites lists {len(state.suites)} suites but only {open_suites} are unlabeled")
        for i, suite in enumerate(state.suites):
            if len(suite.submitted_by) >= self.overlap:
                raise ValueError(
                    f"state.suites[{i}].submitted_by: {len(suite.submitted_by)} performers but a partially done "
                    f"suite has fewer than overlap ({self.overlap})"
                )
        if state.submitted is not None:
            listed, partial = partial, state.submitted - done
            if partial < listed:
                raise ValueError(
                    f"state.submitted ({state.submitted}) is less than the {done} assignments that labeled_items "
                    f"implies plus the {listed} listed in state.suites"
                )
            if partial < 0:
                raise ValueError(
                    f"state.submitted ({state.submitted}) is less than the "
                    f"{done} assignments that labeled_items implies"
                )
            if partial > open_suites * (self.overlap - 1):
                raise ValueError(
                    f"state.submitted ({state.submitted}) is more than the unlabeled suites can hold "
                    f"({done} + {open_suites} × {self.overlap - 1} partial)"
                )
        if n_in_flight > open_suites * self.overlap - partial:
            raise ValueError(
                f"state.in_flight ({n_in_flight}) is more than the {open_suites * self.overlap - partial} "
                "assignments still open"
            )
        self._reservations_consistent(state)
        return self

    def _reservations_consistent(self, state: BatchState) -> None:
        holders: dict[int, set[str]] = {}
        for i, item in enumerate(state.reservations):
            where = f"state.in_flight[{i}]"
            if item.held >= self.time_limit:
                raise ValueError(
                    f"{where}.held ({item.held:g} s) is not below the time limit ({self.time_limit:g} s): "
                    "it would have expired already"
                )
            if item.worked is not None and item.worked > item.held:
                raise ValueError(f"{where}.worked ({item.worked:g} s) is more than held ({item.held:g} s): "
                                 "work starts after the reservation")
            if item.suite is None:
                continue
            if item.suite >= len(state.suites):
                raise ValueError(f"{where}.suite ({item.suite}) is not an index of state.suites "
                                 f"({len(state.suites)} listed)")
            names = holders.setdefault(item.suite, set(state.suites[item.suite].submitted_by))
            if item.performer is not None and item.performer in names:
                raise ValueError(f"{where}.performer {item.performer!r} already has suite {item.suite}")
            if item.performer is not None:
                names.add(item.performer)
            taken = len(state.suites[item.suite].submitted_by) + sum(
                1 for r in state.reservations if r.suite == item.suite
            )
            if taken > self.overlap:
                raise ValueError(f"{where}: suite {item.suite} has more submitted and in-flight assignments "
                                 f"than the overlap ({self.overlap})")

    @field_validator("time_limit")
    @classmethod
    def _time_limit_on_the_platform(cls, value: float) -> float:
        if not MIN_TIME_LIMIT_S <= value <= MAX_TIME_LIMIT_S:
            raise ValueError(f"{value:g}s is outside the platform's range for an assignment's time limit: 30s to 7d")
        return value


class Project(_Model):
    """A project: Active (batches can be launched) or Archive (preview only)."""

    name: Name
    status: Literal["active", "archive"] = "active"
    batches: tuple[Batch, ...] = Field(min_length=1)
    control: Control | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


# --------------------------------------------------------------------------- performers


def _activity(value: object) -> object:
    if isinstance(value, str):
        key = value.strip().lower()
        if key not in ACTIVITY_PRESETS:
            raise ValueError(
                f"unknown activity preset {value!r}; one of: {', '.join(ACTIVITY_PRESETS)}"
            )
        hourly, weekly = ACTIVITY_PRESETS[key]
        return {"hourly": hourly, "weekly": weekly}
    return value


class Activity(_Model):
    """Relative activity by local hour of day (24 weights) and day of week (7, Mon..Sun)."""

    hourly: tuple[Number, ...] = Field(default=(1.0,) * 24, min_length=24, max_length=24)
    weekly: tuple[Number, ...] = Field(default=(1.0,) * 7, min_length=7, max_length=7)

    @model_validator(mode="after")
    def _weights(self) -> Activity:
        weights = self.hourly + self.weekly
        if any(not 0 <= w <= 1e6 for w in weights):
            raise ValueError("weights must be between 0 and 1e6")
        if sum(self.hourly) <= 0 or sum(self.weekly) <= 0:
            raise ValueError("at least one hourly and one weekly weight must be positive")
        return self


class Limits(_Model):
    """Per-performer limits (the platform's "earnings caps" / task limits).

    ``per_batch``: at most this many suites (assignments, whatever their outcome
    except skipped) per performer in one batch; ``per_day``: at most this many per
    performer per local calendar day, over all batches.  Absent = no limit.
    """

    per_batch: Count | None = Field(default=None, ge=1)
    per_day: Count | None = Field(default=None, ge=1)


class PerformerGroupBase(_Model):
    """What every performer group has: a name, per-task work times, speeds, skips and abandons.

    Per suite a performer skips it with ``skip_rate`` (returned at once,
    SKIPPED), abandons it with ``abandon_rate`` (held until the time limit and
    EXPIRED), or works the sum of its tasks' ``seconds_per_task`` (seconds)
    times the person's ``speed`` factor (1.0 when absent), EXPIRING if that
    exceeds the time limit.

    Quality (see :mod:`~labelsim.scenario.quality`): ``acceptance_rate`` is the chance a
    reviewed submission is accepted (1.0); ``agreement`` the chance an answer agrees with
    the others under dynamic overlap (1.0); ``control_accuracy`` a distribution of
    per-person accuracies on control tasks (drawn once per person, clipped to 0..1; absent:
    always right); ``limits`` caps the suites a person takes.
    """

    name: Name
    seconds_per_task: Distribution
    speed: Distribution | None = None
    skip_rate: Number = Field(default=0.0, ge=0, lt=1)
    abandon_rate: Number = Field(default=0.0, ge=0, lt=1)
    limits: Limits | None = None
    acceptance_rate: Number = Field(default=1.0, ge=0, le=1)
    agreement: Number = Field(default=1.0, ge=0, le=1)
    control_accuracy: Distribution | None = None

    @model_validator(mode="after")
    def _rates(self) -> PerformerGroupBase:
        if self.skip_rate + self.abandon_rate >= 1:
            raise ValueError("skip_rate + abandon_rate must be below 1")
        return self


class Decay(_Model):
    """Crowd arrivals that change with the batch's age: a launch burst that fades, interest that fades.

    The session rate is multiplied by ``burst_part(age) · fade_part(age)``:

    - ``burst_part = 1 + (burst − 1) · 2^(−age / half_life)``: ``burst`` times the
      rate at launch, halfway back to the rate without it after ``half_life``
      (seconds).  ``burst`` below 1 is a slow start.  Default: no burst.
    - ``fade_part = (1 + age / fade_scale)^(−fade_exponent)``: interest that keeps
      falling as the batch ages and sinks in the performers' task lists, with no
      floor (exponent 1 halves the rate at ``age = fade_scale``, quarters it at
      three times that; 0.5 halves it at three times ``fade_scale``).  Default:
      no fade.

    ``age`` is the time since the first batch launch (the largest ``state.age``
    of the batches, else the earliest ``launch_at``, else the scenario start);
    before it the multiplier is 1.  ``sessions_per_hour`` is the rate the
    multiplier applies to: without a fade, the rate long after launch; with one,
    the rate at launch apart from the burst.
    """

    burst: float = Field(default=1.0, gt=0, le=1000)
    half_life: PositiveDuration | None = None
    fade_exponent: float = Field(default=0.0, ge=0, le=3)
    fade_scale: PositiveDuration | None = None

    @model_validator(mode="after")
    def _complete(self) -> Decay:
        if self.burst != 1.0 and self.half_life is None:
            raise ValueError("a burst needs its half_life (e.g. half_life: 2h)")
        if self.fade_exponent > 0 and self.fade_scale is None:
            raise ValueError("a fade needs its fade_scale (e.g. fade_scale: 6h)")
        if self.burst == 1.0 and self.fade_exponent == 0:
            raise ValueError("give a burst (burst, half_life) or a fade (fade_exponent, fade_scale), or drop decay")
        return self

    def multiplier(self, age_s: float) -> float:
        """The intensity multiplier at ``age_s`` seconds after launch (1 before launch)."""
        if age_s < 0:
            return 1.0
        factor = 1.0
        if self.burst != 1.0 and self.half_life is not None:
            factor = 1.0 + (self.burst - 1.0) * 2.0 ** (-age_s / self.half_life)
        if self.fade_exponent > 0 and self.fade_scale is not None:
            factor *= (1.0 + age_s / self.fade_scale) ** (-self.fade_exponent)
        return factor


class CrowdGroup(PerformerGroupBase):
    """Crowd performers: sessions arrive, take suites one after another, and leave.

    Sessions arrive as a Poisson process with ``sessions_per_hour`` on average
    over the week, shaped by ``activity`` in local time.  Each session belongs
    to one of ``population`` people; the most active 10 % hold ``top10_share``
    of the sessions (a Zipf-like law); ``top10_share_of_work`` instead sets the
    share of the assignments they do and replaces ``top10_share``.  ``decay``
    (optional) makes the rate depend on the batch's age (a launch burst, a fade;
    see :class:`Decay`).  ``open_work_exponent`` β (default 0: off) makes it
    depend on how much work is left: sessions come at ``(open / needed)^β`` times
    the rate, ``open`` the assignments the Processing batches could hand out now
    and ``needed`` all they need — a batch with little left sinks in the task
    lists (platforms sort by tasks available), which gives the long tail real
    batches show (β = 1: the last 10 % of the work brings a tenth of the
    sessions).  A session takes up to
    ``suites_per_session`` suites; one that finds nothing it may take leaves
    at once.  Per suite: with ``skip_rate`` it is returned at once (SKIPPED),
    with ``abandon_rate`` it is held until the time limit and EXPIRED (and the
    session ends); otherwise it takes the sum of its tasks' ``seconds_per_task``
    times the person's ``speed`` factor, and EXPIRES if that exceeds the limit.
    """

    kind: Literal["crowd"]
    sessions_per_hour: Number = Field(gt=0, le=MAX_SESSIONS_PER_HOUR)
    activity: Annotated[Activity, BeforeValidator(_activity)] = Activity()
    population: Count = Field(default=1000, ge=1, le=MAX_POPULATION)
    top10_share: Number = Field(default=0.5, ge=0.1, lt=1)
    top10_share_of_work: Number | None = Field(default=None, ge=0.1, lt=1)
    suites_per_session: CountDistribution = Geometric(dist="geometric", mean=5)
    decay: Decay | None = None
    open_work_exponent: float = Field(default=0.0, ge=0, le=2)

    @model_validator(mode="after")
    def _one_skew(self) -> CrowdGroup:
        if self.top10_share_of_work is not None and self.top10_share != 0.5:  # 0.5: the default
            raise ValueError("give top10_share (of sessions) or top10_share_of_work, not both")
        return self

    @model_serializer(mode="wrap")
    def _dump_one_skew(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict[str, Any]:
        """Dump only the skew in use: ``top10_share_of_work`` replaces ``top10_share``."""
        data: dict[str, Any] = handler(self)
        if self.top10_share_of_work is not None:
            data.pop("top10_share", None)
        return data

    @field_validator("suites_per_session")
    @classmethod
    def _session_length(cls, value: Any) -> Any:
        if value.upper > MAX_SUITES_PER_SESSION:
            raise ValueError(
                f"suites per session may reach {value.upper:g}, above the limit of {MAX_SUITES_PER_SESSION:,}"
            )
        return value


class Shift(_Model):
    """A working shift in local time; ``end`` at or before ``start`` runs past midnight."""

    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = WEEKDAYS  # type: ignore[assignment]
    start: _dt.time
    end: _dt.time

    @field_validator("days", mode="before")
    @classmethod
    def _lower_days(cls, value: object) -> object:
        if isinstance(value, (list, tuple)):
            return [d.strip().lower()[:3] if isinstance(d, str) else d for d in value]
        return value

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: object) -> object:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(f"{value!r} is not a time of day: write it as quoted 'HH:MM', e.g. '09:00'")
        if isinstance(value, str) and value.strip() in ("24:00", "24:00:00"):
            return _dt.time(0, 0)
        if isinstance(value, str) and not re.fullmatch(r"\s*\d{1,2}:\d{2}(:\d{2})?\s*", value):
            raise ValueError(f"{_text(value)} is not a time of day: write 'HH:MM', e.g. '09:00'")
        return value.strip() if isinstance(value, str) else value


class TeamGroup(PerformerGroupBase):
    """In-house performers: ``size`` fixed people who wait for work while on shift.

    ``shifts`` absent means always on.  A member finishes the suite in hand
    when the shift ends.  Speeds, skips and abandons work as for the crowd.
    """

    kind: Literal["team"]
    size: Count = Field(ge=1, le=MAX_TEAM_SIZE)
    shifts: tuple[Shift, ...] | None = None


PerformerGroup = Annotated[CrowdGroup | TeamGroup, Field(discriminator="kind")]


# --------------------------------------------------------------------------- events

#: Event actions that name one batch.
BATCH_ACTIONS: tuple[str, ...] = (
    "launch", "pause", "stop", "resume", "cancel", "archive", "unarchive", "fail",
)
#: Event actions that name one project.
PROJECT_ACTIONS: tuple[str, ...] = ("archive_project", "unarchive_project")


class SetQueue(_Model):
    """Change a batch's labeling queue."""

    batch: BatchRef
    queue: LabelingQueue


class AddItems(_Model):
    """Upload more items into a batch (at the batch's ``upload_rate`` if it has one)."""

    batch: BatchRef
    items: Count = Field(ge=1, le=MAX_ITEMS)


class Event(_Model):
    """Something the requester does at a moment; exactly one action per event.

    ``{at: 3h, pause: week-49}`` (``stop`` is the same as ``pause``), ``resume``,
    ``launch``, ``cancel``, ``archive``, ``unarchive``, ``fail`` (puts the batch
    in Error), ``archive_project``, ``unarchive_project``,
    ``{set_queue: {batch: b, queue: 1}}``, ``{add_items: {batch: b, items: 500}}``,
    ``{top_up: 150.0}`` (USD).  A batch is named ``batch`` or ``project/batch``.
    """

    at: Moment
    launch: BatchRef | None = None
    pause: BatchRef | None = None
    stop: BatchRef | None = None
    resume: BatchRef | None = None
    cancel: BatchRef | None = None
    archive: BatchRef | None = None
    unarchive: BatchRef | None = None
    fail: BatchRef | None = None
    archive_project: Name | None = None
    unarchive_project: Name | None = None
    set_queue: SetQueue | None = None
    add_items: AddItems | None = None
    top_up: Money | None = Field(default=None, gt=0, description="USD")
    reason: str | None = Field(default=None, description="a note for the reader (e.g. why a batch fails)")

    @model_validator(mode="after")
    def _one_action(self) -> Event:
        actions = [name for name in _ACTION_FIELDS if getattr(self, name) is not None]
        if len(actions) != 1:
            found = ", ".join(actions) if actions else "none"
            raise ValueError(
                f"an event needs exactly one action ({', '.join(_ACTION_FIELDS)}); found {found}"
            )
        return self

    @property
    def action(self) -> str:
        """The action's name; ``stop`` is reported as ``pause``."""
        name = next(name for name in _ACTION_FIELDS if getattr(self, name) is not None)
        return "pause" if name == "stop" else name

    @property
    def target(self) -> str | None:
        """The batch or project the event names (None for ``top_up``)."""
        value = getattr(self, next(n for n in _ACTION_FIELDS if getattr(self, n) is not None))
        if isinstance(value, (SetQueue, AddItems)):
            return value.batch
        return value if isinstance(value, str) else None


_ACTION_FIELDS: tuple[str, ...] = (
    *BATCH_ACTIONS, *PROJECT_ACTIONS, "set_queue", "add_items", "top_up",
)


# --------------------------------------------------------------------------- scenario


class Scenario(_Model):
    """A complete scenario: account, projects and batches, performers, events.

    ``start`` is when the simulation begins; outputs are timestamps in
    ``timezone`` (an IANA name, also the zone of activity profiles and shifts).
    The simulation runs at most ``horizon``; it stops earlier once nothing can
    change any more.  ``progress_every`` is the sampling step of the progress
    frame (default: horizon / 500, at least one second).

    ``parameter_draws`` (optional, at most 1000) carries parameter uncertainty with
    the file: a list of mappings of ``--set``-style dotted keys to values, e.g.
    ``[{performers.crowd.sessions_per_hour: 41.2, performers.crowd.decay.burst: 2.1},
    {performers.crowd.sessions_per_hour: 55.0, ...}]``.  Replication ``r`` of a
    forecast (and of ``compare``, ``plan``, ``sweep``) runs the scenario with draw
    ``r mod K`` applied, so the spread of the ETAs carries what the parameters'
    uncertainty adds to simulation noise; a single :func:`labelsim.simulate` run uses
    the base values.  Keys are written as for ``--set`` (list items by name or index,
    ``batches.NAME`` for a batch in any project); a value may be a mapping
    (``performers.crowd.decay: {burst: 2, half_life: 1h}``) or null (removes an
    optional key).  Every draw is applied and validated when the scenario is: a bad
    one is refused naming ``parameter_draws[i].KEY``.  A ``--set KEY=VALUE`` fixes
    KEY: draw entries at, under or above it are dropped.
    """

    name: Title = "untitled"
    description: str = ""
    timezone: str = "UTC"
    start: _dt.datetime
    horizon: PositiveDuration = Field(default=30 * 86400.0, description="at most 3650d (10 years)")
    progress_every: PositiveDuration | None = None
    account: Account
    policy: Policy = Policy()
    projects: tuple[Project, ...] = Field(min_length=1)
    performers: tuple[PerformerGroup, ...] = ()
    events: tuple[Event, ...] = ()
    parameter_draws: tuple[dict[str, Any], ...] = Field(
        default=(), max_length=MAX_PARAMETER_DRAWS,
        description="parameter sets (dotted --set keys -> values); replication r uses draw r mod K",
    )
    #: The scenario with each draw applied (no draws of their own), built once at validation.
    _draw_scenarios: tuple[Scenario, ...] = PrivateAttr(default=())

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown time zone {_text(value)} (use an IANA name such as Europe/Berlin)") from None
        return value

    @field_validator("horizon")
    @classmethod
    def _horizon(cls, value: float) -> float:
        if value > MAX_HORIZON_S:
            raise ValueError(f"{value / 86400:g}d is longer than the limit of {MAX_HORIZON_S / 86400:g}d (10 years)")
        return value

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: object, info: Any) -> object:
        zone_name = info.data.get("timezone")
        stamp = parse_timestamp(value, ZoneInfo(zone_name) if zone_name else _dt.timezone.utc)
        return check_year(stamp)

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        _check_unique([p.name for p in self.projects], "projects", "project")
        for project in self.projects:
            _check_unique([b.name for b in project.batches], f"projects[{project.name}].batches", "batch")
        _check_unique([g.name for g in self.performers], "performers", "performer group")
        for index, event in enumerate(self.events):
            where = f"events[{index}].{_event_field(event)}"
            if event.action in PROJECT_ACTIONS:
                if event.target not in {p.name for p in self.projects}:
                    raise ValueError(
                        f"{where}: no project named {event.target!r} "
                        f"(projects: {', '.join(p.name for p in self.projects)})"
                    )
            elif event.target is not None:
                self.find_batch(event.target, where=where)
        for where, moment in self._moments():
            seconds = self.offset_s(moment)
            if seconds < 0:
                raise ValueError(f"{where}: {moment} is before the scenario start {self.start.isoformat()}")
        for project, batch in self.batches():
            stream = batch.stream
            if stream is not None and stream.until is not None:
                begin, end = self.offset_s(stream.start), self.offset_s(stream.until)
                if end <= begin:
                    raise ValueError(
                        f"projects[{project.name}].batches[{batch.name}].stream.until: the stream ends "
                        f"({_moment_text(stream.until)}) at or before its start ({_moment_text(stream.start)})"
                    )
        check_run_size(self)
        return self

    @field_validator(DRAWS_KEY, mode="before")
    @classmethod
    def _draws_list(cls, value: object) -> object:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"must be a list of mappings of --set keys to values, got {type(value).__name__}")
        if len(value) > MAX_PARAMETER_DRAWS:
            raise ValueError(f"{len(value):,} draws is more than the limit of {MAX_PARAMETER_DRAWS:,}")
        return value

    @model_validator(mode="after")
    def _apply_draws(self) -> Scenario:
        if not self.parameter_draws:
            return self
        base = self.to_mapping()
        base.pop(DRAWS_KEY, None)
        self._draw_scenarios = tuple(self._draw_variant(base, i, draw) for i, draw in enumerate(self.parameter_draws))
        return self

    def _draw_variant(self, base: Mapping[str, Any], index: int, draw: Mapping[str, Any]) -> Scenario:
        """The scenario with one draw applied; unchanged parts are shared with ``self`` (small pickles)."""
        where = f"{DRAWS_KEY}[{index}]"
        for key in draw:
            if not key.strip() or key.strip().split(".")[0] == DRAWS_KEY:
                raise ValueError(f"{where}.{key}: not a scenario key (write a --set key such as "
                                 "performers.crowd.sessions_per_hour)" if key.strip() else
                                 f"{where}: an empty key (write a --set key such as performers.crowd.skip_rate)")
        try:
            data = apply_values(base, draw)
        except ScenarioError as exc:
            raise ValueError(f"{where}.{exc.field.removeprefix('--set ')}: {exc.problem}") from None
        try:
            variant = Scenario.model_validate(data)
        except ValidationError as exc:
            error = scenario_error(exc, data, None)
            culprit = override_for(error.field, [f"{key}=" for key in draw])
            if culprit is not None:
                raise ValueError(f"{where}.{culprit[:-1]}: {error.problem}") from None
            raise ValueError(f"{where}: {error.field}: {error.problem}") from None
        changed = {name: getattr(variant, name) for name in type(self).model_fields
                   if name != DRAWS_KEY and getattr(variant, name) != getattr(self, name)}
        shared = self.model_copy(update={**changed, DRAWS_KEY: ()})
        shared._draw_scenarios = ()
        return shared

    @property
    def draw_scenarios(self) -> tuple[Scenario, ...]:
        """The scenario with each of ``parameter_draws`` applied, in order (empty without draws)."""
        return self._draw_scenarios

    def for_replication(self, replication: int) -> Scenario:
        """What replication ``replication`` runs: draw ``replication mod K`` applied, or the scenario itself."""
        draws = self._draw_scenarios
        return draws[replication % len(draws)] if draws else self

    def lint(self, until_s: float | None = None) -> list[str]:
        """Warnings for what is legal but suspicious (see :func:`labelsim.scenario.limits.lint`)."""
        from .limits import lint

        return lint(self, until_s)

    # ---------------------------------------------------------------- helpers

    @property
    def tz(self) -> ZoneInfo:
        """The scenario's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def start_local(self) -> _dt.datetime:
        """The start in the scenario's time zone."""
        return self.start.astimezone(self.tz)

    def offset_s(self, moment: float | _dt.datetime) -> float:
        """Seconds from the start to ``moment`` (an offset or a timestamp)."""
        if isinstance(moment, _dt.datetime):
            stamp = moment if moment.tzinfo else moment.replace(tzinfo=self.tz)
            # in UTC: datetimes sharing a tzinfo object subtract on wall-clock time (wrong across DST)
            utc = _dt.timezone.utc
            return (stamp.astimezone(utc) - self.start.astimezone(utc)).total_seconds()
        return float(moment)

    def batches(self) -> list[tuple[Project, Batch]]:
        """All ``(project, batch)`` pairs in file order."""
        return [(p, b) for p in self.projects for b in p.batches]

    def find_batch(self, ref: str, *, where: str = "batch") -> tuple[Project, Batch]:
        """The batch named ``ref`` (``batch`` or ``project/batch``).

        Raises:
            ValueError: if no batch or more than one batch has that name.
        """
        project_name, _, batch_name = ref.rpartition("/")
        matches = [
            (p, b)
            for p, b in self.batches()
            if b.name == batch_name and (not project_name or p.name == project_name)
        ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            known = ", ".join(b.name for _, b in self.batches())
            hint = difflib.get_close_matches(batch_name, [b.name for _, b in self.batches()], 1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ValueError(f"{where}: no batch named {ref!r}{suggestion} (batches: {known})")
        names = ", ".join(f"{p.name}/{b.name}" for p, b in matches)
        raise ValueError(f"{where}: batch name {ref!r} is ambiguous; write one of {names}")

    def _moments(self) -> list[tuple[str, float | _dt.datetime]]:
        found: list[tuple[str, float | _dt.datetime]] = []
        for i, top_up in enumerate(self.account.top_ups):
            found.append((f"account.top_ups[{i}].at", top_up.at))
        for project, batch in self.batches():
            where = f"projects[{project.name}].batches[{batch.name}]"
            if batch.launch_at is not None:
                found.append((f"{where}.launch_at", batch.launch_at))
            if batch.stream is not None:
                found.append((f"{where}.stream.start", batch.stream.start))
                if batch.stream.until is not None:
                    found.append((f"{where}.stream.until", batch.stream.until))
        for i, event in enumerate(self.events):
            found.append((f"events[{i}].at", event.at))
        return found

    @model_validator(mode="after")
    def _minimum_reward(self) -> Scenario:
        """Every batch's reward per assignment reaches ``account.min_reward``."""
        minimum = self.account.min_reward
        for project, batch in self.batches():
            if batch.reward is not None and batch.reward < minimum - 1e-12:
                raise ValueError(
                    f"projects[{project.name}].batches[{batch.name}].reward: {batch.reward:g} USD is below the "
                    f"platform's minimum reward of {minimum:g} USD per assignment (account.min_reward)"
                )
            if batch.price_per_item is not None and batch.price_per_item * batch.tasks_per_suite < minimum - 1e-12:
                raise ValueError(
                    f"projects[{project.name}].batches[{batch.name}].price_per_item: {batch.price_per_item:g} USD × "
                    f"{batch.tasks_per_suite} tasks per suite is below the platform's minimum reward of {minimum:g} "
                    "USD per assignment (account.min_reward)"
                )
        return self

    # ---------------------------------------------------------------- construction

    def to_mapping(self) -> dict[str, Any]:
        """The scenario as plain data that validates back to an equal scenario."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def with_overrides(self, overrides: Sequence[str]) -> Scenario:
        """A copy with ``KEY=VALUE`` overrides applied (see :func:`apply_overrides`)."""
        return Scenario.from_mapping(self.to_mapping(), overrides=overrides) if overrides else self

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        *,
        source: str | None = None,
        overrides: Sequence[str] = (),
    ) -> Scenario:
        """Validate a mapping (e.g. parsed YAML), after applying ``--set`` overrides.

        Raises:
            ScenarioError: naming the first invalid field and the problem.
        """
        if not isinstance(data, Mapping):
            raise ScenarioError("", f"a scenario must be a mapping of keys, got {type(data).__name__}", source=source)
        data = apply_overrides(data, overrides) if overrides else data
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            error = scenario_error(exc, data, source)
            culprit = override_for(error.field, overrides)
            if culprit is None:
                raise error from None
            raise ScenarioError(error.field, f"{error.problem} (from --set {culprit})", source=source) from None


def _event_field(event: Event) -> str:
    return next(n for n in _ACTION_FIELDS if getattr(event, n) is not None)


def _check_unique(names: Sequence[str], where: str, what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{where}: duplicate {what} name {name!r}")
        seen.add(name)


