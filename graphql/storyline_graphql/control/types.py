"""The types of project control, and its fields on Board and Epic (mixed into those types)."""

from __future__ import annotations

import asyncio
import weakref
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from storyline_domain.board import CostBasis
from storyline_domain.epic import Health
from storyline_domain.risk import RiskState
from storyline_graphql.analytics import StorySnapshot, twin
from storyline_graphql.audit import AuditEntry
from storyline_graphql.common import Connection, Node
from storyline_graphql.context import Info
from storyline_graphql.control.paging import slice_connection
from storyline_graphql.loaders import Loaders
from storyline_service import timetravel
from storyline_service.control import figures, queries
from storyline_service.control.draft import status_draft

if TYPE_CHECKING:
    from storyline_graphql.epics import Epic
    from storyline_graphql.stories import Story

LazyStory = Annotated["Story", strawberry.lazy("storyline_graphql.stories")]
LazyEpic = Annotated["Epic", strawberry.lazy("storyline_graphql.epics")]

for enum in (Health, RiskState, CostBasis):
    strawberry.enum(enum)


def as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@strawberry.type
class MilestoneSlip:
    from_: date | None = strawberry.field(name="from")
    to: date | None
    reason: str
    at: datetime
    actor: str

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> MilestoneSlip:
        return cls(
            from_=day(value["from"]),
            to=day(value["to"]),
            reason=value["reason"],
            at=datetime.fromisoformat(value["at"]),
            actor=value["actor"],
        )


@strawberry.type
class EpicProgress:
    total_points: float
    completed_points: float
    remaining_points: float
    forecast_date_p50: date | None = strawberry.field(
        description="From the board's velocity, by the same Monte Carlo as Board.forecast."
    )
    forecast_date_p85: date | None


@strawberry.type
class SprintCost:
    sprint_id: strawberry.ID
    sprint_name: str
    planned: Decimal
    actual: Decimal = strawberry.field(description="Nothing until the sprint is closed.")


@strawberry.type(description="Money is exact, rounded half-even to the currency's minor unit.")
class Budget:
    currency: str = strawberry.field(description="ISO 4217")
    amount: Decimal = strawberry.field(description="The plan.")
    basis: CostBasis
    rate: Decimal = strawberry.field(description="Per completed point, or per sprint of team capacity.")
    spent_to_date: Decimal = strawberry.field(description="The actual cost of the closed sprints.")
    forecast_at_completion: Decimal = strawberry.field(
        description="Spent, plus the remaining points (or the P50 of sprints they take) at the rate."
    )
    variance: Decimal = strawberry.field(description="amount - forecastAtCompletion (negative: over budget)")
    by_sprint: list[SprintCost]

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Budget:
        return cls(
            currency=value["currency"],
            amount=Decimal(value["amount"]),
            basis=CostBasis(value["basis"]),
            rate=Decimal(value["rate"]),
            spent_to_date=Decimal(value["spent_to_date"]),
            forecast_at_completion=Decimal(value["forecast_at_completion"]),
            variance=Decimal(value["variance"]),
            by_sprint=[
                SprintCost(
                    sprint_id=strawberry.ID(s["sprint_id"]),
                    sprint_name=s["sprint_name"],
                    planned=Decimal(s["planned"]),
                    actual=Decimal(s["actual"]),
                )
                for s in value["by_sprint"]
            ],
        )


@strawberry.type
class Risk(Node):
    id: strawberry.ID
    key: str
    board_key: str
    title: str
    description: str
    probability: int = strawberry.field(description="1..5")
    impact: int = strawberry.field(description="1..5")
    score: int = strawberry.field(description="probability * impact")
    owner: str | None
    mitigation: str | None
    state: RiskState
    version: int
    story_keys: strawberry.Private[list[str]]
    epic_keys: strawberry.Private[list[str]]

    @classmethod
    def from_row(cls, row: Any) -> Risk:
        return cls(
            id=strawberry.ID(row.id),
            key=row.key,
            board_key=row.board_key,
            title=row.title,
            description=row.description,
            probability=row.probability,
            impact=row.impact,
            score=row.score,
            owner=row.owner,
            mitigation=row.mitigation,
            state=RiskState(row.state),
            version=row.version,
            story_keys=list(row.story_keys),
            epic_keys=list(row.epic_keys),
        )

    @strawberry.field
    async def stories(self, info: Info) -> list[LazyStory]:
        from storyline_graphql.stories import load_story

        found = [await load_story(info, key) for key in self.story_keys]
        return [story for story in found if story is not None]

    @strawberry.field
    async def epics(self, info: Info) -> list[LazyEpic]:
        from storyline_graphql.epics import load_epic

        found = [await load_epic(info, key) for key in self.epic_keys]
        return [epic for epic in found if epic is not None]

    @strawberry.field(description="Every change of the risk, oldest first, with values before and after.")
    async def history(
        self,
        info: Info,
        first: int | None = 50,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AuditEntry]:
        rows = await asyncio.to_thread(queries.risk_history, info.context.reads.engine, self.key)
        return slice_connection(
            info, rows, "audit", lambda r: (r.sequence,), AuditEntry.from_row, first, after, last, before
        )


async def load_risk(info: Info, key: str) -> Risk | None:
    row = await asyncio.to_thread(queries.risk_by_key, info.context.reads.engine, key)
    return Risk.from_row(row) if row and info.context.access.can_read(row.board_key) else None


async def load_control_node(info: Info, node_id: str) -> Risk | StatusUpdate | None:
    """A risk or a published status update by its id, on a board the viewer may read."""
    engine = info.context.reads.engine
    risk = await asyncio.to_thread(queries.risk_by_id, engine, node_id)
    update = None if risk else await asyncio.to_thread(queries.status_update, engine, node_id)
    row = risk or update
    if row is None or not info.context.access.can_read(row.board_key):
        return None
    return Risk.from_row(row) if risk else StatusUpdate.from_row(row)


# ----- status updates -----


@strawberry.type
class SprintGoalOutcome:
    sprint_id: strawberry.ID
    sprint_name: str
    goal: str | None
    met: bool = strawberry.field(description="Every committed story done at completion.")


@strawberry.type
class EpicSlipChange:
    epic_key: str
    epic_title: str
    slip: MilestoneSlip


@strawberry.type
class RiskChange:
    risk_key: str
    title: str
    score: int
    state: RiskState
    change: str = strawberry.field(description="NEW, ESCALATED (score rose), OCCURRED, CLOSED")


@strawberry.type(description="What a manager would otherwise assemble by hand, as plain values.")
class StatusDraft:
    since: datetime
    until: datetime
    health: Health
    health_reasons: list[str]
    completed_stories: list[StorySnapshot] = strawberry.field(description="As they were at `until`.")
    completed_points: float
    scope_added_points: float
    scope_removed_points: float
    sprint_goals: list[SprintGoalOutcome]
    slips: list[EpicSlipChange]
    risks: list[RiskChange]
    budget: Budget | None
    markdown: str

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> StatusDraft:
        return cls(
            since=datetime.fromisoformat(value["since"]),
            until=datetime.fromisoformat(value["until"]),
            health=Health(value["health"]),
            health_reasons=value["health_reasons"],
            completed_stories=[
                twin(StorySnapshot, timetravel.StorySnapshot(**s)) for s in value["completed_stories"]
            ],
            completed_points=value["completed_points"],
            scope_added_points=value["scope_added_points"],
            scope_removed_points=value["scope_removed_points"],
            sprint_goals=[
                SprintGoalOutcome(
                    sprint_id=strawberry.ID(g["sprint_id"]),
                    sprint_name=g["sprint_name"],
                    goal=g["goal"],
                    met=g["met"],
                )
                for g in value["sprint_goals"]
            ],
            slips=[
                EpicSlipChange(
                    epic_key=s["epic_key"],
                    epic_title=s["epic_title"],
                    slip=MilestoneSlip.from_value(s["slip"]),
                )
                for s in value["slips"]
            ],
            risks=[
                RiskChange(
                    risk_key=r["risk_key"],
                    title=r["title"],
                    score=r["score"],
                    state=RiskState(r["state"]),
                    change=r["change"],
                )
                for r in value["risks"]
            ],
            budget=Budget.from_value(value["budget"]) if value["budget"] else None,
            markdown=value["markdown"],
        )


@strawberry.type
class StatusUpdate(Node):
    id: strawberry.ID
    board_key: str
    published_at: datetime
    actor: str
    health: Health
    summary: str
    figures: StatusDraft = strawberry.field(
        description="Exactly as they stood when published; never recomputed."
    )
    markdown: str

    @classmethod
    def from_row(cls, row: Any) -> StatusUpdate:
        return cls(
            id=strawberry.ID(row.id),
            board_key=row.board_key,
            published_at=row.published_at,
            actor=row.actor,
            health=Health(row.health),
            summary=row.summary,
            figures=StatusDraft.from_value(row.figures),
            markdown=row.markdown,
        )


# ----- the fields on Epic and Board -----

# Per request (the loaders are new after every mutation): an epic's status, asked for by several fields.
_statuses: weakref.WeakKeyDictionary[Loaders, dict[str, asyncio.Task[figures.EpicStatus | None]]] = (
    weakref.WeakKeyDictionary()
)


async def epic_status(info: Info, key: str) -> figures.EpicStatus:
    memo = _statuses.setdefault(info.context.loaders, {})
    if key not in memo:
        memo[key] = asyncio.ensure_future(
            asyncio.to_thread(figures.epic_status, info.context.reads.engine, key)
        )
    status = await memo[key]
    assert status is not None  # the epic was loaded
    return status


@strawberry.type
class EpicControl:
    if TYPE_CHECKING:
        key: str

    @strawberry.field
    async def progress(self, info: Info) -> EpicProgress:
        status = await epic_status(info, self.key)
        return EpicProgress(
            total_points=status.total_points,
            completed_points=status.completed_points,
            remaining_points=status.remaining_points,
            forecast_date_p50=status.forecast_p50,
            forecast_date_p85=status.forecast_p85,
        )

    @strawberry.field(description="Every change of targetDate, oldest first.")
    async def slips(self, info: Info) -> list[MilestoneSlip]:
        rows = await asyncio.to_thread(figures.slips_of, info.context.reads.engine, self.key)
        return [MilestoneSlip.from_value(figures.slip_value(row)) for row in rows]

    @strawberry.field(
        description="ON_TRACK when P85 <= targetDate, AT_RISK when P50 <= targetDate < P85, OFF_TRACK "
        "otherwise, unless a manager overrode it."
    )
    async def health(self, info: Info) -> Health:
        return (await epic_status(info, self.key)).health

    @strawberry.field
    async def health_reason(self, info: Info) -> str:
        return (await epic_status(info, self.key)).reason

    @strawberry.field
    async def health_overridden(self, info: Info) -> bool:
        return (await epic_status(info, self.key)).overridden


@strawberry.type
class BoardControl:
    if TYPE_CHECKING:
        key: str

    @strawberry.field(description="Null until set.")
    async def budget(self, info: Info) -> Budget | None:
        value = await asyncio.to_thread(figures.budget_figures, info.context.reads.engine, self.key)
        return Budget.from_value(value) if value else None

    @strawberry.field(description="By score, highest first.")
    async def risks(
        self,
        info: Info,
        state: RiskState | None = None,
        min_score: int | None = None,
        first: int | None = 50,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Risk]:
        engine = info.context.reads.engine
        rows = await asyncio.to_thread(
            queries.risks_of, engine, self.key, state.value if state else None, min_score
        )
        return slice_connection(
            info, rows, "risk", lambda r: (r.score, r.number), Risk.from_row, first, after, last, before
        )

    @strawberry.field(
        description="From `since` (default: the last published update, else the board's creation) to now."
    )
    async def status_draft(self, info: Info, since: datetime | None = None) -> StatusDraft:
        engine = info.context.reads.engine

        def draft() -> dict[str, Any]:
            start = queries.draft_since(engine, self.key) if since is None else as_utc(since)
            return status_draft(engine, self.key, start, datetime.now(UTC))

        return StatusDraft.from_value(await asyncio.to_thread(draft))

    @strawberry.field(description="Newest first.")
    async def status_updates(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[StatusUpdate]:
        rows = await asyncio.to_thread(queries.published_updates, info.context.reads.engine, self.key)
        return slice_connection(
            info, rows, "status", lambda r: (r.sequence,), StatusUpdate.from_row, first, after, last, before
        )


@strawberry.type
class ControlQuery:
    @strawberry.field(description='e.g. "PAY-R1"; null when there is none the viewer has a role on.')
    async def risk(self, info: Info, key: str) -> Risk | None:
        return await load_risk(info, key)
