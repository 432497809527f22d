"""Analytics and time travel: sprint retrospectives, flow, forecasts, story times, boards as they stood.

Board, Sprint and Story inherit the mixins at the end of this module, so their
fields appear on those types. Resolvers are thin: each calls one function of
storyline_service.analytics or .timetravel (read over the history tables, off the
event loop) and maps its dataclasses onto the GraphQL types here. The
definitions, with worked examples, are in docs/metrics.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import strawberry

from graphql import GraphQLError
from storyline_domain.errors import DomainError
from storyline_graphql.common import validation_error
from storyline_graphql.context import Info
from storyline_graphql.loaders import SprintAnalysis
from storyline_service import analytics, timetravel

if TYPE_CHECKING:
    from storyline_graphql.sprints import Sprint
    from storyline_graphql.stories import Story

LazyStory = Annotated["Story", strawberry.lazy("storyline_graphql.stories")]
LazySprint = Annotated["Sprint", strawberry.lazy("storyline_graphql.sprints")]

MAX_FLOW_DAYS = 400  # a longer window reads too much history for one request
METRICS = "See docs/metrics.md."

G = TypeVar("G")


def twin(cls: type[G], result: object, **converted: Any) -> G:
    """The GraphQL type ``cls`` filled from the service result's fields of the same names.

    ``converted`` gives the fields that need converting themselves (nested results)."""
    names = [f.name for f in dataclasses.fields(cast(Any, cls)) if f.init and f.name not in converted]
    return cls(**{name: getattr(result, name) for name in names}, **converted)


@contextmanager
def client_errors() -> Iterator[None]:
    """A read refused by the service (a bad argument, say) reaches the client with its code."""
    try:
        yield
    except DomainError as error:
        extensions = {"code": error.code} | ({"field": error.field} if error.field else {})
        raise GraphQLError(error.message, extensions=extensions) from None


def aware(moment: datetime, argument: str) -> datetime:
    """History is kept in UTC: a time without an offset would be ambiguous."""
    if moment.tzinfo is None:
        raise validation_error(f"`{argument}` needs a time-zone offset, like 2026-01-05T09:00:00Z")
    return moment.astimezone(UTC)


async def stories_by_key(info: Info, keys: list[str]) -> list[Story]:
    from storyline_graphql.stories import Story

    rows = await info.context.loaders.story.load_many(keys)
    missing = [key for key, row in zip(keys, rows, strict=True) if row is None]
    if missing:
        raise GraphQLError(f"stories {', '.join(missing)} are missing from the read models")
    return [Story.from_row(row) for row in rows if row is not None]


# ----- sprints -----


@strawberry.type(description="A story that joined or left a sprint while it was ACTIVE.")
class ScopeChange:
    story_key: strawberry.Private[str]
    points: float | None = strawberry.field(description="The story's points at that moment.")
    at: datetime = strawberry.field(description="When it happened (occurredAt).")
    actor: str

    @strawberry.field
    async def story(self, info: Info) -> LazyStory:
        [story] = await stories_by_key(info, [self.story_key])
        return story


@strawberry.type(description="A change of points, while the sprint was ACTIVE, of a story in it.")
class Reestimate:
    story_key: strawberry.Private[str]
    from_points: float | None = strawberry.field(name="from", description="Points before.")
    to_points: float | None = strawberry.field(name="to", description="Points after.")
    at: datetime = strawberry.field(description="When it happened (occurredAt).")
    actor: str

    @strawberry.field
    async def story(self, info: Info) -> LazyStory:
        [story] = await stories_by_key(info, [self.story_key])
        return story


@strawberry.type(description="A story carried over from a closed sprint, with its points at completion.")
class CarriedOverStory:
    story_key: strawberry.Private[str]
    points: float | None = strawberry.field(description="The story's points when the sprint completed.")

    @strawberry.field
    async def story(self, info: Info) -> LazyStory:
        [story] = await stories_by_key(info, [self.story_key])
        return story


@strawberry.type(
    description="Retrospective of one sprint from its recorded history. 'Committed' = in the sprint "
    "when it started, with the points it had then. 'Completed' = in the sprint and in a DONE column "
    "at completion (or now, while ACTIVE), with the points it had then. Null points count as 0 in "
    f"sums and still count in counts. {METRICS}"
)
class SprintReport:
    committed_count: int = strawberry.field(description="Stories in the sprint when it started.")
    committed_points: float = strawberry.field(description="Their points when it started.")
    completed_count: int = strawberry.field(description="Stories done at completion (now while ACTIVE).")
    completed_points: float = strawberry.field(description="Their points at completion.")
    committed_completed_points: float = strawberry.field(
        description="Completed stories that were committed, with their committed points."
    )
    commitment_reliability: float | None = strawberry.field(
        description="committedCompletedPoints / committedPoints (0 to 1); null when nothing was committed."
    )
    added: list[ScopeChange] = strawberry.field(description="Joined while ACTIVE, in time order.")
    removed: list[ScopeChange] = strawberry.field(
        description="Left while ACTIVE (archiving counts), in time order."
    )
    reestimated: list[Reestimate] = strawberry.field(
        description="Points changed while ACTIVE, in time order."
    )
    scope_change_points: float = strawberry.field(
        description="sum(added points) - sum(removed points) + sum(re-estimate deltas)."
    )
    carried_over_keys: strawberry.Private[list[str]]
    carried_over_stories: list[CarriedOverStory] = strawberry.field(
        description="carriedOver, each story with its points at completion: a closed sprint's books "
        "do not change when the story is re-estimated later."
    )

    @classmethod
    def from_result(cls, report: analytics.SprintReport) -> SprintReport:
        return twin(
            cls,
            report,
            added=[twin(ScopeChange, change) for change in report.added],
            removed=[twin(ScopeChange, change) for change in report.removed],
            reestimated=[twin(Reestimate, change) for change in report.reestimated],
            carried_over_keys=report.carried_over,
            carried_over_stories=[
                CarriedOverStory(story_key=key, points=report.carried_over_points[key])
                for key in report.carried_over
            ],
        )

    @strawberry.field(description="In the sprint at completion but not in a DONE column; none while ACTIVE.")
    async def carried_over(self, info: Info) -> list[LazyStory]:
        return await stories_by_key(info, self.carried_over_keys)


@strawberry.type(
    description="One day of a burndown in the board's time zone, measured at the end of the day, or at "
    f"completedAt on the completion day. Points; null points count as 0. {METRICS}"
)
class BurnPoint:
    date: date
    scope_points: float = strawberry.field(description="Points of the stories in the sprint then.")
    completed_points: float = strawberry.field(
        description="Of those, the points of stories in a DONE column."
    )
    remaining_points: float = strawberry.field(description="scopePoints - completedPoints.")
    ideal_remaining_points: float = strawberry.field(
        description="committedPoints * (1 - d/n), never below 0: n = working days from startDate to "
        "endDate inclusive, d = working days from startDate to this date inclusive."
    )
    working_day: bool = strawberry.field(
        description="A working day of the board's calendar; the ideal line only falls on working days."
    )


# ----- velocity, flow and forecast -----


@strawberry.type(description="One closed sprint's points, as in its report.")
class SprintVelocity:
    sprint_id: strawberry.Private[str]
    committed_points: float
    completed_points: float

    @strawberry.field
    async def sprint(self, info: Info) -> LazySprint:
        from storyline_graphql.sprints import load_sprint

        sprint = await load_sprint(info, self.sprint_id)
        if sprint is None:
            raise GraphQLError(f"sprint {self.sprint_id} is missing from the read models")
        return sprint


@strawberry.type
class Velocity:
    sprints: list[SprintVelocity] = strawberry.field(description="Oldest first, CLOSED sprints only.")
    average_completed_points: float | None = strawberry.field(description="Null without closed sprints.")
    average_committed_points: float | None = strawberry.field(description="Null without closed sprints.")


@strawberry.type(
    description="Hours. Percentiles interpolate linearly between the closest ranks (numpy's default)."
)
class Percentiles:
    p50: float
    p85: float
    p95: float
    mean: float


@strawberry.type
class ColumnCount:
    column: str = strawberry.field(description="Column key.")
    count: int


@strawberry.type
class FlowDay:
    date: date = strawberry.field(description="A UTC day.")
    counts: list[ColumnCount] = strawberry.field(
        description="Stories per column at the end of the day (or of the window), in workflow order."
    )


@strawberry.type(description=f"Flow over a window [from, to) of business time (occurredAt). {METRICS}")
class FlowMetrics:
    throughput: int = strawberry.field(description="Stories whose last move into DONE falls in the window.")
    cycle_time: Percentiles | None = strawberry.field(
        description="Hours from first IN_PROGRESS entry to last DONE entry, of those stories; "
        "null when none has one."
    )
    lead_time: Percentiles | None = strawberry.field(
        description="Hours from creation to last DONE entry, of those stories; null when there are none."
    )
    cumulative_flow: list[FlowDay] = strawberry.field(description="One per UTC day in the window.")

    @classmethod
    def from_result(cls, metrics: analytics.FlowMetrics) -> FlowMetrics:
        percentiles = [
            None if value is None else twin(Percentiles, value)
            for value in (metrics.cycle_time, metrics.lead_time)
        ]
        days = [
            twin(FlowDay, day, counts=[twin(ColumnCount, count) for count in day.counts])
            for day in metrics.cumulative_flow
        ]
        return twin(cls, metrics, cycle_time=percentiles[0], lead_time=percentiles[1], cumulative_flow=days)


@strawberry.input
class ForecastInput:
    remaining_points: float | None = strawberry.field(
        default=None, description="Default: unfinished points in backlog and open sprints."
    )
    epic_key: str | None = strawberry.field(
        default=None, description="Or: the unfinished points of one epic."
    )
    last_sprints: int | None = strawberry.field(
        default=6, description="Closed sprints to sample completed points from; at least 1."
    )
    simulations: int | None = strawberry.field(default=10_000, description="1 to 100000.")
    seed: int | None = strawberry.field(default=None, description="Same seed, same answer.")


@strawberry.type(
    description="Monte Carlo forecast: sprints (and dates) needed to finish the remaining points, drawing "
    f"each sprint's completed points from the last closed sprints. {METRICS}"
)
class Forecast:
    remaining_points: float = strawberry.field(description="The points the forecast is for.")
    sample_sprints: int = strawberry.field(description="Closed sprints the forecast drew on.")
    sprints_p50: int | None = strawberry.field(description="Sprints 50% of the simulations finished within.")
    sprints_p85: int | None = strawberry.field(description="Sprints 85% of the simulations finished within.")
    sprints_p95: int | None = strawberry.field(description="Sprints 95% of the simulations finished within.")
    date_p50: date | None = strawberry.field(
        description="The end of sprintsP50 more sprints of the board's usual length (in working days), "
        "after the active sprint's endDate, or today when none is active."
    )
    date_p85: date | None
    date_p95: date | None
    reason: str | None = strawberry.field(
        description="Why the sprints and dates are null; null when they are not."
    )


# ----- stories and time travel -----


@strawberry.type(description="Hours a story spent in one column, all its stays added up.")
class StatusDuration:
    column: str = strawberry.field(description="Column key.")
    hours: float


@strawberry.type(description="A story as it stood at an instant.")
class StorySnapshot:
    key: str
    title: str
    points: float | None
    status: str = strawberry.field(description="Column key.")
    assignee: str | None
    sprint_id: strawberry.ID | None
    blocked: bool
    version: int


@strawberry.type
class SnapshotColumn:
    key: str
    name: str = strawberry.field(description="The column's name at that time.")
    stories: list[StorySnapshot] = strawberry.field(description="By rank as of that time.")


@strawberry.type(description="A board as it stood at an instant, from its recorded history.")
class BoardSnapshot:
    at: datetime
    columns: list[SnapshotColumn] = strawberry.field(
        description="The workflow at that time, in order; none before the board existed."
    )

    @classmethod
    def from_result(cls, at: datetime, snapshot: timetravel.BoardSnapshot | None) -> BoardSnapshot:
        columns = snapshot.columns if snapshot else []
        return cls(
            at=at,
            columns=[
                twin(SnapshotColumn, c, stories=[twin(StorySnapshot, s) for s in c.stories]) for c in columns
            ],
        )


# ----- the fields on Board, Sprint and Story -----

AT = "Any time with an offset; a time in the future gives the current state."


@strawberry.type
class BoardAnalytics:
    if TYPE_CHECKING:
        key: str

    @strawberry.field(description=f"The board exactly as it stood at `at`. {AT}")
    async def as_of(self, info: Info, at: datetime) -> BoardSnapshot:
        at = aware(at, "at")
        snapshot = await asyncio.to_thread(timetravel.board_as_of, info.context.reads.engine, self.key, at)
        return BoardSnapshot.from_result(at, snapshot)

    @strawberry.field(
        description=f"Committed and completed points of the last `lastSprints` closed sprints. {METRICS}"
    )
    async def velocity(self, info: Info, last_sprints: int | None = 6) -> Velocity:
        if last_sprints is None:
            raise validation_error("`lastSprints` must be a number; leave it out for the default of 6")
        with client_errors():
            result = await asyncio.to_thread(
                analytics.velocity, info.context.reads.engine, self.key, last_sprints
            )
        return twin(Velocity, result, sprints=[twin(SprintVelocity, s) for s in result.sprints])

    @strawberry.field(
        description="Throughput, cycle and lead time (hours) and cumulative flow (UTC days) over "
        f"[from, to); default the last {analytics.DEFAULT_FLOW_DAYS} days, at most {MAX_FLOW_DAYS} days. "
        f"{METRICS}"
    )
    async def flow(
        self,
        info: Info,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
    ) -> FlowMetrics:
        end = aware(to, "to") if to else datetime.now(UTC)
        start = aware(from_, "from") if from_ else end - timedelta(days=analytics.DEFAULT_FLOW_DAYS)
        if end - start > timedelta(days=MAX_FLOW_DAYS):
            raise validation_error(f"the window from `from` to `to` may be at most {MAX_FLOW_DAYS} days long")
        with client_errors():
            metrics = await asyncio.to_thread(analytics.flow, info.context.reads.engine, self.key, start, end)
        return FlowMetrics.from_result(metrics)

    @strawberry.field(
        description="How many sprints the remaining points take, by Monte Carlo simulation; "
        f"null sprints and dates, with a reason, when there is nothing to sample. {METRICS}"
    )
    async def forecast(self, info: Info, input: ForecastInput) -> Forecast:
        if input.last_sprints is None or input.simulations is None:
            raise validation_error(
                "`lastSprints` and `simulations` must be numbers; leave them out for defaults"
            )
        if input.epic_key is not None:
            if input.remaining_points is not None:
                raise validation_error("give `remainingPoints` or `epicKey`, not both")
            epic = await info.context.loaders.epic.load(input.epic_key)
            if epic is None or epic.board_key != self.key:
                raise validation_error(f"board {self.key} has no epic {input.epic_key}")
        with client_errors():
            result = await asyncio.to_thread(
                analytics.forecast,
                info.context.reads.engine,
                self.key,
                remaining_points=input.remaining_points,
                epic_key=input.epic_key,
                last_sprints=input.last_sprints,
                simulations=input.simulations,
                seed=input.seed,
            )
        return twin(Forecast, result)


@strawberry.type
class SprintAnalytics:
    if TYPE_CHECKING:
        id: strawberry.ID

    async def _analysis(self, info: Info) -> SprintAnalysis:
        # One loader for both fields: asked together, the sprint's history is read once.
        found = await info.context.loaders.sprint_analysis.load(self.id)
        if found is None:
            raise GraphQLError(f"the history of sprint {self.id} is not recorded yet; try again shortly")
        return found

    @strawberry.field(description=f"Retrospective of the sprint, in points and story counts. {METRICS}")
    async def report(self, info: Info) -> SprintReport:
        report, _ = await self._analysis(info)
        return SprintReport.from_result(report)

    @strawberry.field(
        description="One point per day of the board's time zone, from startDate through the completion "
        f"date of a CLOSED sprint, or through today for an ACTIVE one; none while PLANNED. {METRICS}"
    )
    async def burndown(self, info: Info) -> list[BurnPoint]:
        _, points = await self._analysis(info)
        return [twin(BurnPoint, point) for point in points]


@strawberry.type
class StoryAnalytics:
    if TYPE_CHECKING:
        key: str

    async def _times(self, info: Info) -> analytics.StoryTimes | None:
        # Batched: a page of stories reads the history of all of them in a few queries.
        return await info.context.loaders.story_times.load(self.key)

    @strawberry.field(
        description="Hours in every column the story has been in, in workflow order; the current column "
        f"counts up to now, an archived story's clock stops at archiving. {METRICS}"
    )
    async def time_in_status(self, info: Info) -> list[StatusDuration]:
        times = await self._times(info)
        return [twin(StatusDuration, d) for d in times.time_in_status] if times else []

    @strawberry.field(
        description="Hours from the first entry into an IN_PROGRESS column to the last entry into DONE; "
        f"null until done, or if it never was IN_PROGRESS. {METRICS}"
    )
    async def cycle_time_hours(self, info: Info) -> float | None:
        times = await self._times(info)
        return times.cycle_time_hours if times else None

    @strawberry.field(
        description=f"Hours from creation to the last entry into DONE; null until done. {METRICS}"
    )
    async def lead_time_hours(self, info: Info) -> float | None:
        times = await self._times(info)
        return times.lead_time_hours if times else None

    @strawberry.field(description=f"Hours blocked in all; a block in place counts up to now. {METRICS}")
    async def blocked_hours(self, info: Info) -> float:
        times = await self._times(info)
        return times.blocked_hours if times else 0.0

    @strawberry.field(description=f"The story as it stood at `at`; null if it did not exist yet. {AT}")
    async def as_of(self, info: Info, at: datetime) -> StorySnapshot | None:
        at = aware(at, "at")
        snapshot = await asyncio.to_thread(timetravel.story_as_of, info.context.reads.engine, self.key, at)
        return twin(StorySnapshot, snapshot) if snapshot else None


# Query, Mutation or Subscription fields of the analytics feature, merged into the schema.
ANALYTICS_TYPES: tuple[type, ...] = ()
