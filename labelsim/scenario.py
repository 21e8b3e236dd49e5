"""The scenario schema (layer 1): what a user writes in a scenario file.

A scenario describes an account, projects with batches (their labeling queue,
overlap, price, launch time, uploads), groups of performers, and timed events
(launch, pause, resume, top-up, archive…).  Every model is a frozen pydantic
model that forbids unknown keys, so a typo is an error naming the key.

Times: ``start`` is a timestamp; every other moment (``launch_at``, an event's
``at``…) is either an offset from the start (``0h``, ``2d``) or a timestamp.
Durations are in the units of :mod:`labelsim.units` and stored in seconds;
money is in USD.

Use :meth:`Scenario.from_mapping` (or :func:`labelsim.load_scenario`) to
validate user input: it raises :class:`ScenarioError` with one message naming
the field and the problem.
"""

from __future__ import annotations

import copy
import datetime as _dt
import difflib
import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from .calendar import ACTIVITY_PRESETS, WEEKDAYS
from .distributions import CountDistribution, Distribution, Geometric
from .units import parse_duration, parse_rate, parse_timestamp

__all__ = [
    "STATUSES",
    "Account",
    "Batch",
    "BatchState",
    "CrowdGroup",
    "Event",
    "LabelsimError",
    "Policy",
    "Project",
    "Scenario",
    "ScenarioError",
    "Shift",
    "Stream",
    "TeamGroup",
    "TopUp",
    "apply_overrides",
]

#: The eleven batch statuses, spelled as the platform shows them.
STATUSES: tuple[str, ...] = (
    "New",
    "Loading",
    "Queued",
    "Processing",
    "Completed",
    "Error",
    "Canceled",
    "No money",
    "Archive",
    "Stopping",
    "Stopped",
)

_QUEUE_WORDS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}


class LabelsimError(ValueError):
    """An error the user can fix (bad input); the CLI turns it into exit code 2."""


class ScenarioError(LabelsimError):
    """A scenario (file, mapping or override) is invalid.

    Attributes:
        field: where the problem is, e.g. ``projects[search].batches[week-49].overlap``.
        problem: what is wrong with it.
    """

    def __init__(self, field: str, problem: str, *, source: str | None = None) -> None:
        self.field, self.problem, self.source = field, problem, source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field}: {problem}" if field else f"{where}{problem}")


# --------------------------------------------------------------------------- field types


def _positive_duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be positive")
    return seconds


def _moment(value: object) -> float | _dt.datetime:
    """An offset from the start (seconds) or a timestamp (a datetime, naive = scenario zone)."""
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str) and len(value.strip()) >= 10 and value.strip()[:4].isdigit() and value.strip()[4] == "-":
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return _dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"bad timestamp {value!r}: use ISO 8601, e.g. 2026-12-01T15:00:00Z") from None
    return parse_duration(value)


def _queue(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"labeling queue must be 1..5 or ONE..FIVE, got {value!r}")
    if isinstance(value, str):
        word = value.strip().upper()
        if word in _QUEUE_WORDS:
            return _QUEUE_WORDS[word]
        if word.isdigit():
            return int(word)
        raise ValueError(f"labeling queue {value!r} is not 1..5 or ONE..FIVE")
    return value


def _status(value: object) -> object:
    if isinstance(value, str):
        key = value.strip().lower().replace("_", " ")
        for status in STATUSES:
            if status.lower() == key:
                return status
        raise ValueError(f"unknown status {value!r}; one of: {', '.join(STATUSES)}")
    return value


def _rate(value: object) -> float:
    return parse_rate(value)


def _seconds_text(seconds: float) -> str:
    text = repr(seconds)
    return f"{seconds:f}s" if "e" in text else f"{text}s"  # durations take no exponent


def _moment_text(moment: float | _dt.datetime) -> str:
    return moment.isoformat() if isinstance(moment, _dt.datetime) else _seconds_text(moment)


# Stored in seconds (per second for rates); dumped back as text that validates again.
PositiveDuration = Annotated[
    float, BeforeValidator(_positive_duration), PlainSerializer(_seconds_text, when_used="json")
]
Moment = Annotated[float | _dt.datetime, BeforeValidator(_moment), PlainSerializer(_moment_text, when_used="json")]
Rate = Annotated[float, BeforeValidator(_rate), PlainSerializer(lambda r: f"{r!r}/s", when_used="json")]
LabelingQueue = Annotated[int, BeforeValidator(_queue), Field(ge=1, le=5)]
Status = Annotated[
    Literal[
        "New", "Loading", "Queued", "Processing", "Completed", "Error", "Canceled",
        "No money", "Archive", "Stopping", "Stopped",
    ],
    BeforeValidator(_status),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _not_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


#: A whole number; YAML's true/false are refused rather than read as 1/0.
Count = Annotated[int, BeforeValidator(_not_bool)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# --------------------------------------------------------------------------- account & policy


class TopUp(_Model):
    """Money added to the account at a moment."""

    at: Moment
    amount: float = Field(gt=0, description="USD")


class Account(_Model):
    """The requester's account.

    ``balance`` is the money on the account at the start (USD), of which
    ``reserved`` is already held by assignments in flight (default: the cost of
    the in-flight assignments given in batch ``state``).  The cost of one
    assignment is ``reward + max(reward × fee_rate, min_fee)``.
    """

    balance: float = Field(ge=0, description="USD at the start")
    reserved: float | None = Field(default=None, ge=0, description="USD already reserved")
    fee_rate: float = Field(default=0.30, ge=0, le=1)
    min_fee: float = Field(default=0.005, ge=0, description="USD per assignment")
    top_ups: tuple[TopUp, ...] = ()

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
    """

    queue: Literal["strict", "work_conserving"] = "strict"
    same_queue: Literal["smallest_first", "parallel"] = "smallest_first"
    money: Literal["reserve_on_assign", "require_full_cost"] = "reserve_on_assign"
    resume_on_top_up: bool = True


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
    items: Count | None = Field(default=None, ge=1)


class BatchState(_Model):
    """A batch already under way at the scenario start (for forecasting live situations).

    ``status`` is the platform status now; ``labeled_items`` items already have
    their full overlap; ``submitted`` (optional) counts all submitted
    assignments, including partial overlap of unfinished suites; ``in_flight``
    assignments are reserved now and end (submitted) within the time limit.
    """

    status: Status
    labeled_items: Count = Field(default=0, ge=0)
    submitted: Count | None = Field(default=None, ge=0)
    in_flight: Count = Field(default=0, ge=0)


class Batch(_Model):
    """A batch (pool) of items in a project.

    ``reward`` is paid per submitted assignment (one task suite, USD);
    ``overlap`` distinct performers label each item; ``time_limit`` is the
    assignment time limit; ``launch_at`` absent means never launched (New)
    unless a ``launch`` event or ``state`` says otherwise.
    """

    name: Name
    items: Count = Field(ge=0, description="items uploaded before launch")
    labeling_queue: LabelingQueue = 5
    overlap: Count = Field(default=1, ge=1, le=30000)
    tasks_per_suite: Count = Field(default=1, ge=1, le=10000)
    reward: float = Field(ge=0, description="USD per assignment")
    time_limit: PositiveDuration
    launch_at: Moment | None = None
    upload_rate: Rate | None = None
    stream: Stream | None = None
    state: BatchState | None = None

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
        if state.status == "Completed" and (state.labeled_items != self.items or state.in_flight):
            raise ValueError("state.status Completed needs labeled_items == items and no in_flight")
        if state.status == "Loading" and self.upload_rate is None:
            raise ValueError("state.status Loading needs an upload_rate")
        if state.labeled_items % self.tasks_per_suite and state.labeled_items != self.items:
            raise ValueError(
                f"state.labeled_items ({state.labeled_items}) must be a multiple of tasks_per_suite "
                f"({self.tasks_per_suite}): suites are labeled whole"
            )
        if state.status in ("New", "Loading") and (state.labeled_items or state.submitted or state.in_flight):
            raise ValueError(
                f"state.status {state.status} cannot have labeled, submitted or in-flight work "
                "(its items are not all uploaded yet)"
            )
        done = -(-state.labeled_items // self.tasks_per_suite) * self.overlap  # labeled suites, full overlap
        open_suites = -(-(self.items - state.labeled_items) // self.tasks_per_suite)
        partial = 0
        if state.submitted is not None:
            partial = state.submitted - done
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
        if state.in_flight > open_suites * self.overlap - partial:
            raise ValueError(
                f"state.in_flight ({state.in_flight}) is more than the {open_suites * self.overlap - partial} "
                "assignments still open"
            )
        return self


class Project(_Model):
    """A project: Active (batches can be launched) or Archive (preview only)."""

    name: Name
    status: Literal["active", "archive"] = "active"
    batches: tuple[Batch, ...] = Field(min_length=1)

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

    hourly: tuple[float, ...] = Field(default=(1.0,) * 24, min_length=24, max_length=24)
    weekly: tuple[float, ...] = Field(default=(1.0,) * 7, min_length=7, max_length=7)

    @model_validator(mode="after")
    def _weights(self) -> Activity:
        weights = self.hourly + self.weekly
        if any(w < 0 or not math.isfinite(w) for w in weights):
            raise ValueError("weights must be finite and not negative")
        if sum(self.hourly) <= 0 or sum(self.weekly) <= 0:
            raise ValueError("at least one hourly and one weekly weight must be positive")
        return self


class CrowdGroup(_Model):
    """Crowd performers: sessions arrive, take suites one after another, and leave.

    Sessions arrive as a Poisson process with ``sessions_per_hour`` on average
    over the week, shaped by ``activity`` in local time.  Each session belongs
    to one of ``population`` people; the most active 10 % hold ``top10_share``
    of the sessions (a Zipf-like law).  A session takes up to
    ``suites_per_session`` suites; one that finds nothing it may take leaves
    at once.  Per suite: with ``skip_rate`` it is returned at once (SKIPPED),
    with ``abandon_rate`` it is held until the time limit and EXPIRED (and the
    session ends); otherwise it takes the sum of its tasks' ``seconds_per_task``
    times the person's ``speed`` factor, and EXPIRES if that exceeds the limit.
    """

    name: Name
    kind: Literal["crowd"]
    sessions_per_hour: float = Field(gt=0)
    activity: Annotated[Activity, BeforeValidator(_activity)] = Activity()
    population: Count = Field(default=1000, ge=1)
    top10_share: float = Field(default=0.5, ge=0.1, lt=1)
    suites_per_session: CountDistribution = Geometric(dist="geometric", mean=5)
    seconds_per_task: Distribution
    speed: Distribution | None = None
    skip_rate: float = Field(default=0.0, ge=0, lt=1)
    abandon_rate: float = Field(default=0.0, ge=0, lt=1)

    @model_validator(mode="after")
    def _rates(self) -> CrowdGroup:
        if self.skip_rate + self.abandon_rate >= 1:
            raise ValueError("skip_rate + abandon_rate must be below 1")
        return self


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
        if isinstance(value, int) and not isinstance(value, bool):  # YAML reads 09:00 as 540
            return _dt.time(value // 60 % 24, value % 60)
        if isinstance(value, str) and value.strip() in ("24:00", "24:00:00"):
            return _dt.time(0, 0)
        return value


class TeamGroup(_Model):
    """In-house performers: ``size`` fixed people who wait for work while on shift.

    ``shifts`` absent means always on.  A member finishes the suite in hand
    when the shift ends.  Speeds, skips and abandons work as for the crowd.
    """

    name: Name
    kind: Literal["team"]
    size: Count = Field(ge=1, le=100000)
    shifts: tuple[Shift, ...] | None = None
    seconds_per_task: Distribution
    speed: Distribution | None = None
    skip_rate: float = Field(default=0.0, ge=0, lt=1)
    abandon_rate: float = Field(default=0.0, ge=0, lt=1)

    @model_validator(mode="after")
    def _rates(self) -> TeamGroup:
        if self.skip_rate + self.abandon_rate >= 1:
            raise ValueError("skip_rate + abandon_rate must be below 1")
        return self


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

    batch: Name
    queue: LabelingQueue


class AddItems(_Model):
    """Upload more items into a batch (at the batch's ``upload_rate`` if it has one)."""

    batch: Name
    items: Count = Field(ge=1)


class Event(_Model):
    """Something the requester does at a moment; exactly one action per event.

    ``{at: 3h, pause: week-49}`` (``stop`` is the same as ``pause``), ``resume``,
    ``launch``, ``cancel``, ``archive``, ``unarchive``, ``fail`` (puts the batch
    in Error), ``archive_project``, ``unarchive_project``,
    ``{set_queue: {batch: b, queue: 1}}``, ``{add_items: {batch: b, items: 500}}``,
    ``{top_up: 150.0}`` (USD).  A batch is named ``batch`` or ``project/batch``.
    """

    at: Moment
    launch: Name | None = None
    pause: Name | None = None
    stop: Name | None = None
    resume: Name | None = None
    cancel: Name | None = None
    archive: Name | None = None
    unarchive: Name | None = None
    fail: Name | None = None
    archive_project: Name | None = None
    unarchive_project: Name | None = None
    set_queue: SetQueue | None = None
    add_items: AddItems | None = None
    top_up: float | None = Field(default=None, gt=0, description="USD")
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
    """

    name: str = "untitled"
    description: str = ""
    timezone: str = "UTC"
    start: _dt.datetime
    horizon: PositiveDuration = 30 * 86400.0
    progress_every: PositiveDuration | None = None
    account: Account
    policy: Policy = Policy()
    projects: tuple[Project, ...] = Field(min_length=1)
    performers: tuple[PerformerGroup, ...] = ()
    events: tuple[Event, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
        return value

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: object, info: Any) -> object:
        zone_name = info.data.get("timezone")
        return parse_timestamp(value, ZoneInfo(zone_name) if zone_name else _dt.timezone.utc)

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
        return self

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
            error = _scenario_error(exc, data, source)
            culprit = _override_for(error.field, overrides)
            if culprit is None:
                raise error from None
            raise ScenarioError(error.field, f"{error.problem} (from --set {culprit})", source=source) from None


def _override_for(field: str, overrides: Sequence[str]) -> str | None:
    """The override whose key names the invalid ``field`` (its names in order), if any."""
    for text in overrides:
        names = [n for n in text.partition("=")[0].strip().split(".") if n not in ("batches", "projects", "performers")]
        position = 0
        for name in names:
            position = field.find(name, position)
            if position < 0:
                break
            position += len(name)
        else:
            if names:
                return text
    return None


def _event_field(event: Event) -> str:
    return next(n for n in _ACTION_FIELDS if getattr(event, n) is not None)


def _check_unique(names: Sequence[str], where: str, what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{where}: duplicate {what} name {name!r}")
        seen.add(name)


# --------------------------------------------------------------------------- error messages


def _scenario_error(exc: ValidationError, data: Mapping[str, Any], source: str | None) -> ScenarioError:
    errors = exc.errors(include_url=False)
    # an unknown key usually explains a "missing" one next to it (a typo): report it first
    errors = sorted(errors, key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    field = _format_loc(first["loc"], data)
    problem = _format_problem(first, data)
    if not field and ": " in problem and not problem.startswith(("a ", "an ")):
        field, problem = problem.split(": ", 1)
    if len(errors) > 1:
        problem += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return ScenarioError(field, problem, source=source)


def _format_loc(loc: tuple[Any, ...], data: Any) -> str:
    """Turn a pydantic location into ``projects[name].batches[name].field``."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            item = node[key] if isinstance(node, Sequence) and not isinstance(node, str) and key < len(node) else None
            label = item.get("name") if isinstance(item, Mapping) else None
            parts.append(f"[{label}]" if isinstance(label, str) else f"[{key}]")
            node = item
        elif isinstance(node, Mapping) and key not in node and key in (node.get("kind"), node.get("dist")):
            continue  # the tag of a discriminated union
        elif isinstance(node, Mapping) and key not in node and str(key).startswith(("function-", "tagged-union")):
            continue
        else:
            parts.append(f".{key}" if parts else str(key))
            node = node.get(key) if isinstance(node, Mapping) else None
    return "".join(parts)


def _format_problem(error: Mapping[str, Any], data: Any) -> str:
    kind = error["type"]
    message = str(error["msg"])
    value = error.get("input")
    if kind == "extra_forbidden":
        name = str(error["loc"][-1]) if error["loc"] else "?"
        allowed = _allowed_keys(error["loc"][:-1], data)
        hint = difflib.get_close_matches(name, allowed, 1) if allowed else []
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"unknown key{suggestion}"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        key = str(ctx.get("discriminator", "kind")).strip("'")
        return f"unknown {key} {ctx.get('tag')!r}; one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        ctx = error.get("ctx", {})
        return f"needs the key {ctx.get('discriminator', '').strip(chr(39))}"
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix):]
    message = _plain_message(message)
    if value is not None and not isinstance(value, (Mapping, list, tuple)):
        return f"{message} (got {value!r})"
    return message


_COMPARISONS = (
    ("Input should be greater than or equal to ", "must be ≥ "),
    ("Input should be greater than ", "must be > "),
    ("Input should be less than or equal to ", "must be ≤ "),
    ("Input should be less than ", "must be < "),
    ("Input should be ", "must be "),
)


def _plain_message(message: str) -> str:
    if message.startswith(("Tuple should have at least", "List should have at least")):
        count = message.split("at least ", 1)[1].split(" ", 1)[0]
        return f"needs at least {count} item{'s' if count != '1' else ''}"
    for old, new in _COMPARISONS:
        if message.startswith(old):
            return new + message[len(old):]
    return message[0].lower() + message[1:] if message else message


def _allowed_keys(loc: tuple[Any, ...], data: Any) -> list[str]:
    """Field names allowed at ``loc`` (for "did you mean" hints)."""
    model: Any = Scenario
    node = data
    for key in loc:
        if isinstance(key, int):
            node = node[key] if isinstance(node, Sequence) and key < len(node) else None
            continue
        if isinstance(node, Mapping) and key not in node:
            continue
        node = node.get(key) if isinstance(node, Mapping) else None
        model = _field_model(model, str(key), node)
    if isinstance(node, Mapping) and "dist" in node:
        return _distribution_keys(str(node["dist"]))
    if model is None:
        return []
    if isinstance(node, Mapping) and model in (CrowdGroup, TeamGroup):
        model = CrowdGroup if node.get("kind") == "crowd" else TeamGroup
    return [f.alias or name for name, f in model.model_fields.items()]


def _distribution_keys(name: str) -> list[str]:
    from . import distributions

    for cls in (
        distributions.Exponential, distributions.LogNormal, distributions.Gamma, distributions.Constant,
        distributions.Uniform, distributions.Empirical, distributions.Geometric,
    ):
        if cls.model_fields["dist"].annotation.__args__[0] == name:  # type: ignore[union-attr]
            return [f.alias or n for n, f in cls.model_fields.items()]
    return []


def _field_model(model: Any, key: str, node: Any) -> Any:
    if not (isinstance(model, type) and issubclass(model, BaseModel)) or key not in model.model_fields:
        return None
    candidates = {
        ("Scenario", "account"): Account, ("Scenario", "policy"): Policy,
        ("Scenario", "projects"): Project, ("Scenario", "performers"): CrowdGroup,
        ("Scenario", "events"): Event, ("Account", "top_ups"): TopUp,
        ("Project", "batches"): Batch, ("Batch", "stream"): Stream,
        ("Batch", "state"): BatchState, ("TeamGroup", "shifts"): Shift,
        ("CrowdGroup", "activity"): Activity, ("Event", "set_queue"): SetQueue,
        ("Event", "add_items"): AddItems,
    }
    found = candidates.get((model.__name__, key))
    if found is CrowdGroup and isinstance(node, list):
        return CrowdGroup
    return found


# --------------------------------------------------------------------------- overrides


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``KEY=VALUE`` overrides to a copy of a scenario mapping.

    Keys are dotted paths; list items are chosen by name (or index), and
    ``batches.NAME`` reaches a batch in any project.  Examples:
    ``batches.week-49.labeling_queue=1``, ``performers.crowd.sessions_per_hour=80``,
    ``account.balance=500``, ``policy.queue=work_conserving``.  Values are read
    as YAML (``1`` is a number, ``true`` a boolean, ``{a: 1}`` a mapping).

    Raises:
        ScenarioError: for a malformed override or a name that does not exist.
    """
    result = copy.deepcopy(dict(data))
    for text in overrides:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(f"--set {text}", "expected KEY=VALUE, e.g. account.balance=500")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            raise ScenarioError(f"--set {key}", f"value {raw!r} is not valid YAML ({exc.__class__.__name__})") from None
        _set_path(result, key.split("."), value, key)
    return result


def _set_path(root: dict[str, Any], parts: list[str], value: Any, key: str) -> None:
    if parts[0] == "batches" and len(parts) < 3:
        raise ScenarioError(f"--set {key}", "name a batch and a field, e.g. batches.week-49.labeling_queue=1")
    if parts[0] == "batches":
        parent: Any = _find_batch_mapping(root, parts[1], key)
        parts = parts[2:]
    else:
        parent = root
    for _i, part in enumerate(parts[:-1]):
        child = _child(parent, part, key, create=True)
        parent = child
    last = parts[-1]
    if isinstance(parent, list):
        index = _list_index(parent, last, key)
        parent[index] = value
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise ScenarioError(f"--set {key}", f"cannot set {last!r} inside a {type(parent).__name__}")


def _child(parent: Any, part: str, key: str, *, create: bool) -> Any:
    if isinstance(parent, dict):
        if part not in parent or parent[part] is None:
            if not create:
                raise ScenarioError(f"--set {key}", f"no key {part!r}")
            parent[part] = {}
        return parent[part]
    if isinstance(parent, list):
        return parent[_list_index(parent, part, key)]
    raise ScenarioError(f"--set {key}", f"cannot go into {part!r}: it is a {type(parent).__name__}")


def _list_index(items: list[Any], part: str, key: str) -> int:
    for index, item in enumerate(items):
        if isinstance(item, Mapping) and item.get("name") == part:
            return index
    if part.isdigit() and int(part) < len(items):
        return int(part)
    names = [str(i.get("name")) for i in items if isinstance(i, Mapping) and "name" in i]
    raise ScenarioError(f"--set {key}", f"no item named {part!r} (names: {', '.join(names) or 'none'})")


def _find_batch_mapping(root: Mapping[str, Any], ref: str, key: str) -> dict[str, Any]:
    project_name, _, batch_name = ref.rpartition("/")
    found = [
        batch
        for project in root.get("projects") or []
        if isinstance(project, Mapping) and (not project_name or project.get("name") == project_name)
        for batch in project.get("batches") or []
        if isinstance(batch, dict) and batch.get("name") == batch_name
    ]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ScenarioError(f"--set {key}", f"no batch named {ref!r}")
    raise ScenarioError(f"--set {key}", f"batch name {ref!r} is ambiguous; write project/batch")
