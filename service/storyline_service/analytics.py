"""Sprint, flow and forecast analytics: pure reads over the history tables, in business time.

Every function reads indexed history rows for the sprint, window or stories asked
about, never the event log. The definitions, with worked examples, are in
docs/metrics.md.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy import Connection, Engine, Float, case, cast, func, or_, select

from storyline_domain.board import StatusCategory
from storyline_domain.calendar import TICK, WorkingCalendar, days
from storyline_domain.errors import NotFoundError, ValidationError
from storyline_domain.sprint import SprintState
from storyline_service.burndown import BurnPoint, working_day_burndown
from storyline_service.cadence import board_cadence
from storyline_service.calendars import calendar_of
from storyline_service.readmodels import (
    BlockedIntervalRow,
    BoardVersionRow,
    ColumnRow,
    EstimateIntervalRow,
    SprintHistoryRow,
    SprintMembershipRow,
    StatusIntervalRow,
    StoryRow,
)
from storyline_service.zoned_days import as_day, day_in_zone

memberships = SprintMembershipRow.__table__  # type: ignore[attr-defined]
sprints = SprintHistoryRow.__table__  # type: ignore[attr-defined]
statuses = StatusIntervalRow.__table__  # type: ignore[attr-defined]
estimates = EstimateIntervalRow.__table__  # type: ignore[attr-defined]
blocks = BlockedIntervalRow.__table__  # type: ignore[attr-defined]
board_versions = BoardVersionRow.__table__  # type: ignore[attr-defined]
stories = StoryRow.__table__  # type: ignore[attr-defined]
columns = ColumnRow.__table__  # type: ignore[attr-defined]

DONE = StatusCategory.DONE.value
IN_PROGRESS = StatusCategory.IN_PROGRESS.value
HOUR = timedelta(hours=1)
CHUNK = 500  # story keys per IN (...) query
DEFAULT_FLOW_DAYS = 30
MAX_SIMULATIONS = 100_000
# A forecast further out than this many sprints answers with a reason: each simulated run stops
# here, so tiny velocities or huge remainders cannot keep a request busy or overflow a date.
MAX_FORECAST_SPRINTS = 1000

T = TypeVar("T")


# ----- results -----


@dataclass(frozen=True)
class ScopeChange:
    story_key: str
    points: float | None
    at: datetime
    actor: str


@dataclass(frozen=True)
class Reestimate:
    story_key: str
    from_points: float | None
    to_points: float | None
    at: datetime
    actor: str


@dataclass(frozen=True)
class SprintReport:
    committed_count: int
    committed_points: float
    completed_count: int
    completed_points: float
    committed_completed_points: float
    commitment_reliability: float | None
    added: list[ScopeChange]
    removed: list[ScopeChange]
    reestimated: list[Reestimate]
    carried_over: list[str]
    carried_over_points: dict[str, float | None]  # as at completion
    scope_change_points: float


@dataclass(frozen=True)
class SprintVelocity:
    sprint_id: str
    committed_points: float
    completed_points: float


@dataclass(frozen=True)
class Velocity:
    sprints: list[SprintVelocity]
    average_completed_points: float | None
    average_committed_points: float | None


@dataclass(frozen=True)
class Percentiles:
    p50: float
    p85: float
    p95: float
    mean: float


@dataclass(frozen=True)
class ColumnCount:
    column: str
    count: int


@dataclass(frozen=True)
class FlowDay:
    date: date
    counts: list[ColumnCount]


@dataclass(frozen=True)
class FlowMetrics:
    throughput: int
    cycle_time: Percentiles | None
    lead_time: Percentiles | None
    cumulative_flow: list[FlowDay]


@dataclass(frozen=True)
class Forecast:
    remaining_points: float
    sample_sprints: int
    sprints_p50: int | None
    sprints_p85: int | None
    sprints_p95: int | None
    date_p50: date | None
    date_p85: date | None
    date_p95: date | None
    reason: str | None  # why the percentiles are null


@dataclass(frozen=True)
class StatusDuration:
    column: str
    hours: float


@dataclass(frozen=True)
class StoryTimes:
    time_in_status: list[StatusDuration]  # workflow order
    cycle_time_hours: float | None
    lead_time_hours: float | None
    blocked_hours: float


# ----- small helpers -----


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def pts(points: float | None) -> float:
    """Null points count as 0 in sums (and still count in counts)."""
    return points or 0.0


def total(points: Iterable[float | None]) -> float:
    return sum((pts(p) for p in points), 0.0)


def hours(delta: timedelta) -> float:
    return delta / HOUR


def chunks(keys: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(keys), CHUNK):
        yield keys[start : start + CHUNK]


def percentile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks, as numpy's default does."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def percentiles(values: Iterable[float]) -> Percentiles | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return Percentiles(
        p50=percentile(ordered, 0.50),
        p85=percentile(ordered, 0.85),
        p95=percentile(ordered, 0.95),
        mean=statistics.fmean(ordered),
    )


@dataclass(frozen=True)
class Span(Generic[T]):
    """A value that held over [start, end); end None means it still holds."""

    start: datetime
    end: datetime | None
    value: T
    actor: str = ""


def value_at(spans: Sequence[Span[T]], at: datetime) -> T | None:
    """The value holding at ``at``; spans are sorted by start. The latest start wins a tie."""
    for span in reversed(spans):
        if span.start <= at:
            return span.value if span.end is None or at < span.end else None
    return None


# ----- loading history rows -----


def _grouped(
    conn: Connection,
    table: Any,
    fields: Sequence[str],
    keys: Sequence[str],
    order: str,
    make: Callable[[Any], T],
    *conditions: Any,
) -> dict[str, list[T]]:
    """Rows of ``table`` for the given story keys, as ``make(row)`` grouped by story in ``order``.

    Only ``fields`` are read: every value fetched costs time on a large window."""
    found: dict[str, list[T]] = defaultdict(list)
    selected = [table.c.story_key, *(table.c[f] for f in fields)]
    for part in chunks(keys):
        query = (
            select(*selected)
            .where(table.c.story_key.in_(part), *conditions)
            .order_by(table.c.story_key, table.c[order])
        )
        for row in conn.execute(query):
            found[row.story_key].append(make(row))
    return found


class Status(NamedTuple):
    column: str
    category: str  # the column's category while the story was in it


def _status_spans(conn: Connection, keys: Sequence[str], *conditions: Any) -> dict[str, list[Span[Status]]]:
    """Each story's columns over time (those that meet ``conditions``)."""
    return _grouped(
        conn,
        statuses,
        ("column", "category", "entered_at", "left_at"),
        keys,
        "entered_at",
        lambda r: Span(utc(r.entered_at), maybe_utc(r.left_at), Status(r.column, r.category)),
        *conditions,
    )


def _estimate_spans(conn: Connection, keys: Sequence[str]) -> dict[str, list[Span[float | None]]]:
    return _grouped(
        conn,
        estimates,
        ("points", "valid_from", "valid_to", "actor"),
        keys,
        "valid_from",
        lambda r: Span(utc(r.valid_from), maybe_utc(r.valid_to), r.points, r.actor),
    )


def _current_columns(conn: Connection, board_key: str) -> list[dict[str, Any]]:
    query = select(board_versions.c.columns).where(
        board_versions.c.board_key == board_key, board_versions.c.valid_to.is_(None)
    )
    found = conn.execute(query).scalar()
    if found is None:
        raise NotFoundError(f"board {board_key} not found", field="boardKey")
    return list(found)


def _category_at(spans: Sequence[Span[Status]], at: datetime) -> str | None:
    status = value_at(spans, at)
    return status.category if status else None


# ----- sprints -----


@dataclass(frozen=True)
class Stay:
    """One stay of a story in a sprint (sprint_memberships row)."""

    story_key: str
    joined_at: datetime
    joined_by: str
    joined_points: float | None
    left_at: datetime | None
    left_by: str | None
    left_points: float | None
    left_reason: str | None

    def covers(self, at: datetime) -> bool:
        # Carried-over stories leave at completedAt but were in the sprint when it completed.
        return self.joined_at <= at and (
            self.left_at is None
            or at < self.left_at
            or (at == self.left_at and self.left_reason == "carried_over")
        )


@dataclass(frozen=True)
class SprintHistory:
    """A sprint with the history rows of the stories that were ever in it."""

    row: Any
    stays: dict[str, list[Stay]]
    status: dict[str, list[Span[Status]]]  # only the spans in DONE columns: moves elsewhere change nothing
    points: dict[str, list[Span[float | None]]]

    @property
    def started_at(self) -> datetime | None:
        return maybe_utc(self.row.started_at)

    @property
    def completed_at(self) -> datetime | None:
        return maybe_utc(self.row.completed_at)

    @property
    def commitment(self) -> dict[str, float | None]:
        return dict(self.row.commitment or {})

    def while_active(self, at: datetime) -> bool:
        """A change at the very instant of the start belongs to planning."""
        started, completed = self.started_at, self.completed_at
        return started is not None and started < at and (completed is None or at <= completed)

    def in_sprint(self, key: str, at: datetime) -> bool:
        return any(stay.covers(at) for stay in self.stays[key])

    def state_at(self, at: datetime) -> tuple[dict[str, float | None], dict[str, float | None]]:
        """(members, done members) at ``at``, each story key with its points then."""
        members = {k: value_at(self.points[k], at) for k in self.stays if self.in_sprint(k, at)}
        done = {k: p for k, p in members.items() if _category_at(self.status[k], at) == DONE}
        return members, done

    def completion_state(self, now: datetime) -> tuple[dict[str, float | None], dict[str, float | None]]:
        """(members, done members) at completion, as recorded then, or at ``now`` while active."""
        if self.row.state == SprintState.CLOSED:
            completed = dict(self.row.completed or {})
            return {**completed, **(self.row.carried_over or {})}, completed
        if self.row.state == SprintState.ACTIVE:
            return self.state_at(now)
        return {}, {}


def load_sprint(conn: Connection, sprint_id: str) -> SprintHistory:
    row = conn.execute(select(sprints).where(sprints.c.sprint_id == sprint_id)).first()
    if row is None:
        raise NotFoundError("sprint not found", field="sprintId")
    stays: dict[str, list[Stay]] = defaultdict(list)
    query = select(memberships).where(memberships.c.sprint_id == sprint_id).order_by(memberships.c.joined_at)
    for m in conn.execute(query):
        stays[m.story_key].append(
            Stay(
                m.story_key,
                utc(m.joined_at),
                m.joined_by,
                m.joined_points,
                maybe_utc(m.left_at),
                m.left_by,
                m.left_points,
                m.left_reason,
            )
        )
    keys = sorted(stays)
    # Intervals do not overlap, so "in a DONE span at t" is "the span holding at t is DONE";
    # reading only those keeps the cost independent of how often stories moved.
    done = _status_spans(conn, keys, statuses.c.category == DONE)
    return SprintHistory(row, dict(stays), done, _estimate_spans(conn, keys))


def _report(sprint: SprintHistory, now: datetime) -> SprintReport:
    commitment = sprint.commitment
    _, done = sprint.completion_state(now)
    all_stays = [stay for stays in sprint.stays.values() for stay in stays]
    added = [
        ScopeChange(s.story_key, s.joined_points, s.joined_at, s.joined_by)
        for s in all_stays
        if sprint.while_active(s.joined_at)
    ]
    removed = [
        ScopeChange(s.story_key, s.left_points, s.left_at, s.left_by or "")
        for s in all_stays
        if s.left_at is not None and s.left_reason == "removed" and sprint.while_active(s.left_at)
    ]
    reestimated = [
        Reestimate(key, before.value, after.value, after.start, after.actor)
        for key, spans in sprint.points.items()
        for before, after in pairwise(spans)
        if sprint.while_active(after.start) and sprint.in_sprint(key, after.start)
    ]
    committed_points = total(commitment.values())
    committed_completed = total(commitment[k] for k in done if k in commitment)
    scope_change = (
        total(c.points for c in added)
        - total(c.points for c in removed)
        + sum(pts(r.to_points) - pts(r.from_points) for r in reestimated)
    )
    by_time: Callable[[Any], tuple[datetime, str]] = lambda c: (c.at, c.story_key)  # noqa: E731
    return SprintReport(
        committed_count=len(commitment),
        committed_points=committed_points,
        completed_count=len(done),
        completed_points=total(done.values()),
        committed_completed_points=committed_completed,
        commitment_reliability=committed_completed / committed_points if committed_points else None,
        added=sorted(added, key=by_time),
        removed=sorted(removed, key=by_time),
        reestimated=sorted(reestimated, key=by_time),
        carried_over=list(sprint.row.carried_over or {}),
        carried_over_points=dict(sprint.row.carried_over or {}),
        scope_change_points=scope_change,
    )


def sprint_report(engine: Engine, sprint_id: str, now: datetime | None = None) -> SprintReport:
    """The sprint's retrospective; an active sprint's 'completed' is measured at ``now``."""
    with engine.connect() as conn:
        sprint = load_sprint(conn, sprint_id)
    return _report(sprint, now or datetime.now(UTC))


def _burndown(conn: Connection, sprint: SprintHistory, now: datetime | date) -> list[BurnPoint]:
    """A closed sprint burns down in the calendar it closed with; an open one in the current one."""
    row, completed_at = sprint.row, sprint.completed_at
    if row.state == SprintState.PLANNED:
        return []
    calendar = calendar_of(conn, row.board_key, completed_at)
    today = calendar.day_of(now) if isinstance(now, datetime) else now

    def measure(at: datetime) -> tuple[float, float]:
        scope, done = sprint.completion_state(at) if at == completed_at else sprint.state_at(at)
        return total(scope.values()), total(done.values())

    committed = total(sprint.commitment.values())
    start, end = row.start_date, row.end_date
    return working_day_burndown(start, end, committed, completed_at, calendar, today, measure)


def burndown(engine: Engine, sprint_id: str, today: date | None = None) -> list[BurnPoint]:
    """One point per day of the board's time zone from the planned start through completion (or today)."""
    with engine.connect() as conn:
        return _burndown(conn, load_sprint(conn, sprint_id), today or datetime.now(UTC))


def sprint_report_and_burndown(
    engine: Engine, sprint_id: str, now: datetime | None = None
) -> tuple[SprintReport, list[BurnPoint]]:
    """Both from one read of the sprint's history, for callers that show them together."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        sprint = load_sprint(conn, sprint_id)
        return _report(sprint, now), _burndown(conn, sprint, now)


# ----- velocity and forecast -----


def _closed_sprints(conn: Connection, board_key: str, last_sprints: int) -> list[Any]:
    """The board's last ``last_sprints`` closed sprints, oldest first."""
    if last_sprints < 1:
        raise ValidationError("lastSprints must be at least 1", field="lastSprints")
    query = (
        select(sprints)
        .where(sprints.c.board_key == board_key, sprints.c.state == SprintState.CLOSED.value)
        .order_by(sprints.c.completed_at.desc(), sprints.c.sprint_id.desc())
        .limit(last_sprints)
    )
    return list(reversed(conn.execute(query).all()))


def _sprint_velocity(row: Any) -> SprintVelocity:
    return SprintVelocity(
        sprint_id=row.sprint_id,
        committed_points=total((row.commitment or {}).values()),
        completed_points=total((row.completed or {}).values()),
    )


def velocity(engine: Engine, board_key: str, last_sprints: int = 6) -> Velocity:
    with engine.connect() as conn:
        rows = _closed_sprints(conn, board_key, last_sprints)
    sampled = [_sprint_velocity(row) for row in rows]
    return Velocity(
        sprints=sampled,
        average_completed_points=statistics.fmean(s.completed_points for s in sampled) if sampled else None,
        average_committed_points=statistics.fmean(s.committed_points for s in sampled) if sampled else None,
    )


def _unfinished_points(conn: Connection, board_key: str, epic_key: str | None) -> float:
    """Points of the board's (or epic's) stories that are neither archived nor in a DONE column."""
    query = (
        select(func.coalesce(func.sum(stories.c.points), 0.0))
        .select_from(stories)
        .join(columns, (columns.c.board_key == stories.c.board_key) & (columns.c.key == stories.c.column))
        .where(stories.c.board_key == board_key, stories.c.archived.is_(False), columns.c.category != DONE)
    )
    if epic_key is not None:
        query = query.where(stories.c.epic_key == epic_key)
    return float(conn.execute(query).scalar_one())


def _nearest_rank(ordered: Sequence[int], q: float) -> int:
    """The smallest count that at least a share ``q`` of the simulations finished within."""
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def forecast(
    engine: Engine,
    board_key: str,
    remaining_points: float | None = None,
    epic_key: str | None = None,
    last_sprints: int = 6,
    simulations: int = 10_000,
    seed: int | None = None,
    today: date | None = None,
) -> Forecast:
    """How many sprints the remaining points take, by Monte Carlo over recent sprints' completed points."""
    if not 1 <= simulations <= MAX_SIMULATIONS:
        raise ValidationError(f"simulations must be 1 to {MAX_SIMULATIONS}", field="simulations")
    if remaining_points is not None and (not math.isfinite(remaining_points) or remaining_points < 0):
        raise ValidationError("remainingPoints must be 0 or more", field="remainingPoints")
    with engine.connect() as conn:
        _current_columns(conn, board_key)  # the board must exist
        rows = _closed_sprints(conn, board_key, last_sprints)
        cadence = board_cadence(conn, board_key, rows, today)
        remaining = (
            remaining_points
            if remaining_points is not None
            else _unfinished_points(conn, board_key, epic_key)
        )
    samples = [_sprint_velocity(row).completed_points for row in rows]

    def unanswered(reason: str) -> Forecast:
        return Forecast(remaining, len(rows), None, None, None, None, None, None, reason)

    if not samples:
        return unanswered(f"board {board_key} has no closed sprints to sample completed points from")
    if remaining > 0 and max(samples) <= 0:
        return unanswered(f"the last {len(samples)} closed sprints completed no points")
    rng = random.Random(seed)
    runs = []
    for _ in range(simulations):
        left, count = remaining, 0
        while left > 1e-9:
            if count == MAX_FORECAST_SPRINTS:
                return unanswered(f"at the recent pace this takes more than {MAX_FORECAST_SPRINTS} sprints")
            left -= rng.choice(samples)
            count += 1
        runs.append(count)
    runs.sort()
    p50, p85, p95 = (_nearest_rank(runs, q) for q in (0.50, 0.85, 0.95))
    return Forecast(
        remaining_points=remaining,
        sample_sprints=len(rows),
        sprints_p50=p50,
        sprints_p85=p85,
        sprints_p95=p95,
        date_p50=cadence.finish_date(p50),
        date_p85=cadence.finish_date(p85),
        date_p95=cadence.finish_date(p95),
        reason=None,
    )


# ----- stories -----


def completion(spans: Sequence[Span[Status]]) -> datetime | None:
    """When the story last entered DONE from a column that is not DONE, if it has stayed in DONE
    columns since (archived or not). A story re-opened and not yet done again has none."""
    if not spans or spans[-1].value.category != DONE:
        return None
    return max((s.end for s in spans if s.value.category != DONE and s.end is not None), default=None)


def cycle_and_lead(spans: Sequence[Span[Status]]) -> tuple[float | None, float | None]:
    """Hours from the first IN_PROGRESS entry, and from creation, to completion."""
    started = next((s.start for s in spans if s.value.category == IN_PROGRESS), None)
    return _durations(spans[0].start if spans else None, started, completion(spans))


def _durations(
    created: datetime | None, started: datetime | None, done_at: datetime | None
) -> tuple[float | None, float | None]:
    if done_at is None or created is None:
        return None, None
    cycle = hours(done_at - started) if started is not None and started <= done_at else None
    return cycle, hours(done_at - created)


def board_of(story_key: str) -> str:
    """Story keys are the board's key and a number: PAY-12."""
    return story_key.rsplit("-", 1)[0]


def _workflow_order(columns: list[dict[str, Any]], durations: dict[str, float]) -> list[StatusDuration]:
    """The board's columns first, in order, then columns it no longer has, in first-entered order."""
    ordered = [c["key"] for c in columns if c["key"] in durations]
    ordered += [key for key in durations if key not in ordered]
    return [StatusDuration(key, durations[key]) for key in ordered]


def story_times(
    engine: Engine, story_keys: Sequence[str], now: datetime | None = None
) -> dict[str, StoryTimes]:
    """Time in status, cycle, lead and blocked time of many stories, in a few queries."""
    now = now or datetime.now(UTC)
    keys = sorted(set(story_keys))
    with engine.connect() as conn:
        status = _status_spans(conn, keys)
        blocked = _grouped(
            conn,
            blocks,
            ("blocked_at", "unblocked_at"),
            keys,
            "blocked_at",
            lambda r: Span(utc(r.blocked_at), maybe_utc(r.unblocked_at), None),
        )
        workflows = {board: _current_columns(conn, board) for board in {board_of(key) for key in status}}
    times = {}
    for key, spans in status.items():
        # An archived story's clock stops when it left the board.
        end = spans[-1].end or now
        durations: dict[str, float] = defaultdict(float)
        for span in spans:
            durations[span.value.column] += max(hours((span.end or now) - span.start), 0.0)
        cycle, lead = cycle_and_lead(spans)
        times[key] = StoryTimes(
            time_in_status=_workflow_order(workflows[board_of(key)], durations),
            cycle_time_hours=cycle,
            lead_time_hours=lead,
            blocked_hours=sum((max(hours(min(b.end or end, end) - b.start), 0.0) for b in blocked[key]), 0.0),
        )
    return times


def time_in_status(engine: Engine, story_key: str, now: datetime | None = None) -> list[StatusDuration]:
    """Hours in every column the story has been in, in workflow order; the current one up to ``now``."""
    found = story_times(engine, [story_key], now).get(story_key)
    return found.time_in_status if found else []


def cycle_time_hours(engine: Engine, story_key: str) -> float | None:
    found = story_times(engine, [story_key]).get(story_key)
    return found.cycle_time_hours if found else None


def lead_time_hours(engine: Engine, story_key: str) -> float | None:
    found = story_times(engine, [story_key]).get(story_key)
    return found.lead_time_hours if found else None


def blocked_hours(engine: Engine, story_key: str, now: datetime | None = None) -> float:
    found = story_times(engine, [story_key], now).get(story_key)
    return found.blocked_hours if found else 0.0


# ----- flow -----


def flow(
    engine: Engine, board_key: str, start: datetime | None = None, end: datetime | None = None
) -> FlowMetrics:
    """Throughput, cycle and lead time of the stories completed in [start, end), and the
    cumulative flow per day; the window defaults to the last 30 days."""
    end = utc(end) if end is not None else datetime.now(UTC)
    start = utc(start) if start is not None else end - timedelta(days=DEFAULT_FLOW_DAYS)
    if start >= end:
        raise ValidationError("'from' must be before 'to'", field="from")
    with engine.connect() as conn:
        workflow = _current_columns(conn, board_key)
        timings = _completed_in(conn, board_key, start, end)
        # Stories per column just before the window, then the day-by-day changes inside it.
        before = start - TICK
        base = conn.execute(
            select(statuses.c.column, func.count())
            .where(
                statuses.c.board_key == board_key,
                statuses.c.entered_at <= before,
                or_(statuses.c.left_at.is_(None), statuses.c.left_at > before),
            )
            .group_by(statuses.c.column)
        ).all()
        calendar = calendar_of(conn, board_key)
        changes = [
            *_changes_per_day(conn, board_key, statuses.c.entered_at, (start, end), calendar, +1),
            *_changes_per_day(conn, board_key, statuses.c.left_at, (start, end), calendar, -1),
        ]
    return FlowMetrics(
        throughput=len(timings),
        cycle_time=percentiles(c for c, _ in timings if c is not None),
        lead_time=percentiles(lead for _, lead in timings if lead is not None),
        cumulative_flow=_cumulative_flow(
            workflow, base, changes, calendar.day_of(start), calendar.day_of(end - TICK)
        ),
    )


def _completed_in(
    conn: Connection, board_key: str, start: datetime, end: datetime
) -> list[tuple[float | None, float | None]]:
    """(cycle, lead) hours of the stories whose completion falls in [start, end).

    The same rule as :func:`completion`, aggregated by the database per story: completion is
    the last exit from a column that is not DONE, provided the story has been in DONE since.
    Only stories that entered DONE in the window can qualify.
    """
    undone = statuses.c.category != DONE
    entered_done = (
        select(statuses.c.story_key)
        .where(
            statuses.c.board_key == board_key,
            statuses.c.category == DONE,
            statuses.c.entered_at >= start,
            statuses.c.entered_at < end,
        )
        .distinct()
    )
    created = func.min(statuses.c.entered_at)
    started = func.min(case((statuses.c.category == IN_PROGRESS, statuses.c.entered_at)))
    done_at = func.max(case((undone, statuses.c.left_at)))
    # Hours are worked out by the database: thousands of timestamps decode slowly.
    query = (
        select(
            case((started <= done_at, _hours_between(conn, started, done_at))),
            _hours_between(conn, created, done_at),
        )
        .where(statuses.c.story_key.in_(entered_done))
        .group_by(statuses.c.story_key)
        .having(
            func.sum(case((undone & statuses.c.left_at.is_(None), 1), else_=0)) == 0,
            func.max(case((~undone, statuses.c.entered_at))) >= done_at,
            done_at >= start,
            done_at < end,
        )
    )
    return [(cycle, lead) for cycle, lead in conn.execute(query)]


def _hours_between(conn: Connection, earlier: Any, later: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return cast(func.extract("epoch", later - earlier), Float) / 3600
    # SQLite keeps UTC times as text; julianday() is exact to the millisecond.
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400, 3) / 3600


def _changes_per_day(
    conn: Connection,
    board_key: str,
    moment: Any,
    window: tuple[datetime, datetime],
    calendar: WorkingCalendar,
    sign: int,
) -> list[tuple[date, str, int]]:
    """(day, column, change in count) for the entries into (or exits from) columns in the window."""
    start, end = window
    day = day_in_zone(conn, moment, calendar).label("day")
    query = (
        select(day, statuses.c.column, func.count())
        .where(statuses.c.board_key == board_key, moment >= start, moment < end)
        .group_by(day, statuses.c.column)
    )
    return [(as_day(value, calendar), column, sign * count) for value, column, count in conn.execute(query)]


def _cumulative_flow(
    workflow: list[dict[str, Any]],
    base: Sequence[Any],
    changes: list[tuple[date, str, int]],
    first: date,
    last: date,
) -> list[FlowDay]:
    """Stories per column at the end of each day of the board's zone (the window's changes all fall
    before its end)."""
    counts: dict[str, int] = {c["key"]: 0 for c in workflow}
    for column, count in base:
        counts[column] = counts.get(column, 0) + count
    by_day: dict[date, list[tuple[str, int]]] = defaultdict(list)
    for day, column, change in changes:
        by_day[day].append((column, change))
    flow_days = []
    for day in days(first, last):
        for column, change in by_day[day]:
            counts[column] = counts.get(column, 0) + change
        flow_days.append(FlowDay(day, [ColumnCount(column, n) for column, n in counts.items()]))
    return flow_days
