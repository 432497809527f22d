"""Sprints: time boxes of committed stories, planned, started and completed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry

from storyline_graphql.analytics import SprintAnalytics
from storyline_graphql.common import (
    BackfillInput,
    Connection,
    Node,
    PageArgs,
    Reread,
    UserError,
    VersionedInput,
    load_connection,
    page_request,
    run_command,
)
from storyline_graphql.context import Info
from storyline_graphql.enums import SprintState
from storyline_service.application import Caller
from storyline_service.queries import SPRINT_ORDER, Keyset, Reads, Record, Seek, StoryCriteria

if TYPE_CHECKING:
    from storyline_graphql.stories import Story

LazyStory = Annotated["Story", strawberry.lazy("storyline_graphql.stories")]
MAX_SPRINT_STORIES = 10_000  # far beyond any sprint a team could finish


@strawberry.type
class Sprint(SprintAnalytics, Node):
    id: strawberry.ID
    name: str
    goal: str | None
    state: SprintState
    start_date: date = strawberry.field(description="Planned.")
    end_date: date = strawberry.field(description="Planned.")
    started_at: datetime | None
    completed_at: datetime | None
    version: int
    board_key: str

    @classmethod
    def from_row(cls, row: Record) -> Sprint:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            goal=row.goal,
            state=SprintState(row.state),
            start_date=row.start_date,
            end_date=row.end_date,
            started_at=row.started_at,
            completed_at=row.completed_at,
            version=row.version,
            board_key=row.board_key,
        )

    @strawberry.field(description="By rank.")
    async def stories(
        self,
        info: Info,
        first: int | None = 100,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[LazyStory]:
        from storyline_graphql.stories import story_connection

        return await story_connection(
            info, ("sprint_id",), (self.id,), StoryCriteria(), PageArgs(first, after, last, before)
        )


async def load_sprint(info: Info, sprint_id: str) -> Sprint | None:
    row = await info.context.loaders.sprint.load(sprint_id)
    return Sprint.from_row(row) if row else None


def _sprint_keyset(values: list[Any]) -> Keyset:
    start, sprint_id = values
    return date.fromisoformat(start), str(sprint_id)


async def sprint_connection(
    info: Info, board_key: str, state: str | None, args: PageArgs
) -> Connection[Sprint]:
    loaders = info.context.loaders
    return await load_connection(
        loaders.sprint_pages,
        loaders.sprint_counts,
        partition=("board_key",),
        value=(board_key,),
        criteria=state,
        page=page_request(info, args, "sprint", SPRINT_ORDER, _sprint_keyset),
        kind="sprint",
        order=SPRINT_ORDER,
        node=Sprint.from_row,
    )


@strawberry.type
class SprintQuery:
    @strawberry.field
    async def sprint(self, info: Info, id: strawberry.ID) -> Sprint | None:
        return await load_sprint(info, id)


# ----- mutations -----


@strawberry.input
class CreateSprintInput(BackfillInput):
    board_key: str
    name: str
    goal: str | None = None
    start_date: date
    end_date: date


@strawberry.input(description="Fields left out or null stay as they are; dates change only while PLANNED.")
class UpdateSprintInput(VersionedInput):
    sprint_id: strawberry.ID
    name: str | None = None
    goal: str | None = strawberry.field(default=None, description="An empty goal clears it.")
    start_date: date | None = None
    end_date: date | None = None

    def changes(self) -> dict[str, Any]:
        given = {
            "name": self.name,
            "goal": self.goal,
            "start_date": self.start_date,
            "end_date": self.end_date,
        }
        return {field: value for field, value in given.items() if value is not None}


@strawberry.input
class SprintStoryInput(BackfillInput):
    sprint_id: strawberry.ID
    story_key: str


@strawberry.input
class SprintRefInput(VersionedInput):
    sprint_id: strawberry.ID


@strawberry.input
class CompleteSprintInput(VersionedInput):
    sprint_id: strawberry.ID
    carry_over_to: strawberry.ID | None = strawberry.field(
        default=None, description="A PLANNED sprint; default: back to the backlog."
    )


@strawberry.type
class SprintPayload:
    sprint: Sprint | None
    errors: list[UserError]
    client_mutation_id: str | None
    story_keys: strawberry.Private[list[str]]

    @strawberry.field(
        description="The stories the change touched, as they are after it, so that their next "
        "`expectedVersion` is at hand: the story added or removed; on start and completion every story the "
        "sprint held (committed on start; done and carried over on completion). Empty on failure."
    )
    async def stories(self, info: Info) -> list[LazyStory]:
        from storyline_graphql.stories import Story

        rows = await info.context.loaders.story.load_many(self.story_keys)
        return [Story.from_row(row) for row in rows if row is not None]


SPRINT: Reread[Record] = Reread(Reads.sprints_by_id, lambda loaders: loaders.sprint)


async def sprint_payload(
    info: Info, input: BackfillInput, command: Callable[[Caller], str], touched: Sequence[str] = ()
) -> SprintPayload:
    """``touched``: the keys of the stories the command may change."""
    sprint_id, errors = await run_command(info, input, command, reread=SPRINT)
    sprint = await load_sprint(info, sprint_id) if sprint_id else None
    return SprintPayload(
        sprint=sprint,
        errors=errors,
        client_mutation_id=input.client_mutation_id,
        story_keys=list(touched) if sprint_id else [],
    )


def stories_in_sprint(reads: Reads, sprint_id: str) -> list[str]:
    """Every story the sprint holds now, archived ones included (none for an id that is not a sprint's)."""
    try:
        UUID(sprint_id)
    except ValueError:
        return []  # not a sprint's id, and maybe not storable text: the command answers NOT_FOUND
    criteria = StoryCriteria(archived=None)
    pages = reads.story_pages(("sprint_id",), [(sprint_id,)], criteria, MAX_SPRINT_STORIES, Seek())
    return [row.key for row in pages[(sprint_id,)]]


@strawberry.type
class SprintMutations:
    @strawberry.mutation
    async def create_sprint(self, info: Info, input: CreateSprintInput) -> SprintPayload:
        app = info.context.app
        return await sprint_payload(
            info,
            input,
            lambda caller: app.create_sprint(
                caller, input.board_key, input.name, input.start_date, input.end_date, input.goal
            ),
        )

    @strawberry.mutation(description="Name, goal, dates; dates only while PLANNED.")
    async def update_sprint(self, info: Info, input: UpdateSprintInput) -> SprintPayload:
        app, changes = info.context.app, input.changes()
        return await sprint_payload(
            info,
            input,
            lambda caller: app.update_sprint(caller, input.sprint_id, changes, input.expected_version),
        )

    @strawberry.mutation
    async def add_story_to_sprint(self, info: Info, input: SprintStoryInput) -> SprintPayload:
        app = info.context.app
        return await sprint_payload(
            info,
            input,
            lambda caller: app.add_story_to_sprint(caller, input.sprint_id, input.story_key),
            [input.story_key],
        )

    @strawberry.mutation
    async def remove_story_from_sprint(self, info: Info, input: SprintStoryInput) -> SprintPayload:
        app = info.context.app
        return await sprint_payload(
            info,
            input,
            lambda caller: app.remove_story_from_sprint(caller, input.sprint_id, input.story_key),
            [input.story_key],
        )

    @strawberry.mutation
    async def start_sprint(self, info: Info, input: SprintRefInput) -> SprintPayload:
        app = info.context.app
        held = await asyncio.to_thread(stories_in_sprint, info.context.reads, input.sprint_id)
        return await sprint_payload(
            info,
            input,
            lambda caller: app.start_sprint(caller, input.sprint_id, input.expected_version),
            held,
        )

    @strawberry.mutation
    async def complete_sprint(self, info: Info, input: CompleteSprintInput) -> SprintPayload:
        app = info.context.app
        # Read before: completion moves the unfinished stories out of the sprint.
        held = await asyncio.to_thread(stories_in_sprint, info.context.reads, input.sprint_id)
        return await sprint_payload(
            info,
            input,
            lambda caller: app.complete_sprint(
                caller, input.sprint_id, input.carry_over_to, input.expected_version
            ),
            held,
        )
