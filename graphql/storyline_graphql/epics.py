"""Epics: large bodies of work that stories roll up into."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry

from storyline_graphql.common import BackfillInput, Connection, Node, PageArgs, Reread, UserError, run_command
from storyline_graphql.context import Info
from storyline_graphql.control.types import EpicControl
from storyline_service.queries import Reads, Record, StoryCriteria

if TYPE_CHECKING:
    from storyline_graphql.stories import Story

LazyStory = Annotated["Story", strawberry.lazy("storyline_graphql.stories")]


@strawberry.type
class Epic(EpicControl, Node):
    id: strawberry.ID
    key: str
    title: str
    target_date: date | None
    version: int = strawberry.field(description="What a change to the epic sends back as expectedVersion.")

    @classmethod
    def from_row(cls, row: Record) -> Epic:
        return cls(
            id=strawberry.ID(row.id),
            key=row.key,
            title=row.title,
            target_date=row.target_date,
            version=row.version,
        )

    @strawberry.field(description="Points of its stories that are not archived.")
    async def total_points(self, info: Info) -> float:
        totals = await info.context.loaders.epic_totals.load(self.key)
        return totals.total_points if totals else 0.0

    @strawberry.field(description="Points of its stories in a DONE column.")
    async def completed_points(self, info: Info) -> float:
        totals = await info.context.loaders.epic_totals.load(self.key)
        return totals.completed_points if totals else 0.0

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
            info, ("epic_key",), (self.key,), StoryCriteria(), PageArgs(first, after, last, before)
        )


async def load_epic(info: Info, key: str) -> Epic | None:
    row = await info.context.loaders.epic.load(key)
    return Epic.from_row(row) if row else None


@strawberry.input
class CreateEpicInput(BackfillInput):
    board_key: str
    title: str
    target_date: date | None = None


@strawberry.type
class EpicPayload:
    epic: Epic | None
    errors: list[UserError]
    client_mutation_id: str | None


@strawberry.type
class EpicMutations:
    @strawberry.mutation
    async def create_epic(self, info: Info, input: CreateEpicInput) -> EpicPayload:
        app = info.context.app
        key, errors = await run_command(
            info,
            input,
            lambda caller: app.create_epic(caller, input.board_key, input.title, input.target_date),
            reread=Reread(Reads.epics_by_key, lambda loaders: loaders.epic),
        )
        epic = await load_epic(info, key) if key else None
        return EpicPayload(epic=epic, errors=errors, client_mutation_id=input.client_mutation_id)
