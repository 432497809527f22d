"""Stories: the cards on a board, their lists, and the commands that change them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from graphql import GraphQLError
from storyline_graphql.analytics import StoryAnalytics
from storyline_graphql.audit import AuditEntry, audit_connection
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
from storyline_graphql.enums import Priority, StatusCategory, StoryType
from storyline_service.application import Caller
from storyline_service.queries import STORY_ORDERS, AuditCriteria, Reads, Record, StoryCriteria

if TYPE_CHECKING:
    from storyline_graphql.boards import Board, Column
    from storyline_graphql.epics import Epic
    from storyline_graphql.sprints import Sprint

LazyBoard = Annotated["Board", strawberry.lazy("storyline_graphql.boards")]
LazyColumn = Annotated["Column", strawberry.lazy("storyline_graphql.boards")]
LazyEpic = Annotated["Epic", strawberry.lazy("storyline_graphql.epics")]
LazySprint = Annotated["Sprint", strawberry.lazy("storyline_graphql.sprints")]


@strawberry.type
class Story(StoryAnalytics, Node):
    id: strawberry.ID
    key: str
    title: str
    description: str
    type: StoryType
    priority: Priority
    labels: list[str]
    points: float | None
    assignee: str | None
    rank: str = strawberry.field(description="Lexicographic rank key.")
    blocked: bool
    blocked_reason: str | None
    archived: bool = strawberry.field(
        description="Archived stories leave boards, backlog and sprints but keep their history."
    )
    created_at: datetime
    updated_at: datetime
    version: int
    board_key: strawberry.Private[str]
    column: strawberry.Private[str]
    epic_key: strawberry.Private[str | None]
    sprint_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: Record) -> Story:
        return cls(
            id=strawberry.ID(row.id),
            key=row.key,
            title=row.title,
            description=row.description,
            type=StoryType(row.type),
            priority=Priority(row.priority),
            labels=row.labels,
            points=row.points,
            assignee=row.assignee,
            rank=row.rank,
            blocked=row.blocked_reason is not None,
            blocked_reason=row.blocked_reason,
            archived=row.archived,
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
            board_key=row.board_key,
            column=row.column,
            epic_key=row.epic_key,
            sprint_id=row.sprint_id,
        )

    @strawberry.field
    async def board(self, info: Info) -> LazyBoard:
        from storyline_graphql.boards import load_board

        board = await load_board(info, self.board_key)
        if board is None:
            raise GraphQLError(f"the board of {self.key} is missing from the read models")
        return board

    @strawberry.field(description="The column the story is in.")
    async def status(self, info: Info) -> LazyColumn:
        from storyline_graphql.boards import Column

        for row in await info.context.loaders.columns.load(self.board_key):
            if row.key == self.column:
                return Column.from_row(row)
        raise GraphQLError(f"column {self.column} of {self.key} is missing from the read models")

    @strawberry.field
    async def epic(self, info: Info) -> LazyEpic | None:
        from storyline_graphql.epics import load_epic

        return await load_epic(info, self.epic_key) if self.epic_key else None

    @strawberry.field
    async def sprint(self, info: Info) -> LazySprint | None:
        from storyline_graphql.sprints import load_sprint

        return await load_sprint(info, self.sprint_id) if self.sprint_id else None

    @strawberry.field(description="Everything recorded on the story, in log order.")
    async def history(
        self,
        info: Info,
        first: int | None = 50,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AuditEntry]:
        return await audit_connection(
            info, ("story_key",), (self.key,), AuditCriteria(), PageArgs(first, after, last, before)
        )


async def load_story(info: Info, key: str) -> Story | None:
    row = await info.context.loaders.story.load(key)
    return Story.from_row(row) if row else None


async def story_connection(
    info: Info,
    partition: tuple[str, ...],
    value: tuple[Any, ...],
    criteria: StoryCriteria,
    args: PageArgs,
    order_by: StoryOrder | None = None,
) -> Connection[Story]:
    """Stories by rank, or as ``order_by`` says: those whose ``partition`` columns equal ``value``
    and match ``criteria``."""
    loaders = info.context.loaders
    field, direction = (order_by.field, order_by.direction) if order_by else (StoryOrderField.RANK, None)
    descending = direction is OrderDirection.DESC
    order = STORY_ORDERS[field.value]
    # A cursor belongs to one order: one of another order is refused, not misread.
    kind = (
        "story"
        if (field, descending) == (StoryOrderField.RANK, False)
        else f"story:{field.value}:{direction}"
    )
    return await load_connection(
        loaders.story_pages,
        loaders.story_counts,
        partition=partition,
        value=value,
        criteria=replace(criteria, order=field.value),
        page=page_request(info, args, kind, order, STORY_KEYSETS[field], descending=descending),
        kind=kind,
        order=order,
        node=Story.from_row,
    )


@strawberry.enum
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum
class StoryOrderField(Enum):
    RANK = "RANK"
    KEY = strawberry.enum_value("KEY", description="By story number: PAY-2 before PAY-10.")
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    POINTS = strawberry.enum_value("POINTS", description="Unestimated stories sort below every estimate.")
    PRIORITY = strawberry.enum_value("PRIORITY", description="LOWEST to HIGHEST.")


@strawberry.input(description="Ties are broken by story number, in the same direction.")
class StoryOrder:
    field: StoryOrderField
    direction: OrderDirection | None = OrderDirection.ASC


def _at(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


# How each order's cursor is read back into its sort key.
STORY_KEYSETS: dict[StoryOrderField, Callable[[list[Any]], tuple[Any, ...]]] = {
    StoryOrderField.RANK: lambda key: (str(key[0]), int(key[1])),
    StoryOrderField.KEY: lambda key: (int(key[0]),),
    StoryOrderField.CREATED_AT: lambda key: (_at(key[0]), int(key[1])),
    StoryOrderField.UPDATED_AT: lambda key: (_at(key[0]), int(key[1])),
    StoryOrderField.POINTS: lambda key: (float(key[0]), int(key[1])),
    StoryOrderField.PRIORITY: lambda key: (int(key[0]), int(key[1])),
}


@strawberry.input
class StoryFilter:
    text: str | None = strawberry.field(
        default=None, description="In title or description, case-insensitive."
    )
    assignee: str | None = None
    label: str | None = None
    type: StoryType | None = None
    epic_key: str | None = None
    sprint_id: strawberry.ID | None = None
    category: StatusCategory | None = None
    blocked: bool | None = None
    archived: bool | None = strawberry.field(default=False, description="Null for both.")

    def criteria(self) -> StoryCriteria:
        return StoryCriteria(
            text=self.text,
            assignee=self.assignee,
            label=self.label,
            type=self.type.value if self.type else None,
            epic_key=self.epic_key,
            sprint_id=self.sprint_id,
            category=self.category.value if self.category else None,
            blocked=self.blocked,
            archived=self.archived,
        )


@strawberry.type
class StoryQuery:
    @strawberry.field(description='e.g. "PAY-12"')
    async def story(self, info: Info, key: str) -> Story | None:
        return await load_story(info, key)


# ----- mutations -----


@strawberry.input
class CreateStoryInput(BackfillInput):
    board_key: str
    title: str
    description: str | None = None
    type: StoryType | None = StoryType.STORY
    priority: Priority | None = Priority.MEDIUM
    labels: list[str] | None = None
    points: float | None = None
    assignee: str | None = None
    epic_key: str | None = None
    sprint_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Also adds the new story to this PLANNED or ACTIVE sprint of the board, in one change.",
    )


@strawberry.input(description="Fields left out or null stay as they are.")
class UpdateStoryInput(VersionedInput):
    story_key: str
    title: str | None = None
    description: str | None = None
    type: StoryType | None = None
    priority: Priority | None = None
    labels: list[str] | None = None

    def changes(self) -> dict[str, Any]:
        given = {
            "title": self.title,
            "description": self.description,
            "type": self.type.value if self.type else None,
            "priority": self.priority.value if self.priority else None,
            "labels": self.labels,
        }
        return {field: value for field, value in given.items() if value is not None}


@strawberry.input
class EstimateStoryInput(VersionedInput):
    story_key: str
    points: float | None = strawberry.field(default=None, description="Null clears the estimate.")


@strawberry.input
class AssignStoryInput(VersionedInput):
    story_key: str
    assignee: str | None = strawberry.field(default=None, description="Null unassigns.")


@strawberry.input
class MoveStoryInput(VersionedInput):
    story_key: str
    to_column: str = strawberry.field(description="A column key.")
    before: str | None = strawberry.field(
        default=None, description="Optional: also rank it just above this story, in the same command."
    )
    after: str | None = strawberry.field(
        default=None, description="Optional: also rank it just below this story, in the same command."
    )


@strawberry.input
class RankStoryInput(VersionedInput):
    story_key: str
    before: str | None = strawberry.field(default=None, description="The story key it must rank just above.")
    after: str | None = strawberry.field(default=None, description="The story key it must rank just below.")


@strawberry.input
class BlockStoryInput(VersionedInput):
    story_key: str
    reason: str


@strawberry.input
class StoryRefInput(VersionedInput):
    story_key: str


@strawberry.input
class SetStoryEpicInput(VersionedInput):
    story_key: str
    epic_key: str | None = strawberry.field(default=None, description="Null detaches.")


@strawberry.type
class StoryPayload:
    story: Story | None
    errors: list[UserError]
    client_mutation_id: str | None


STORY: Reread[Record] = Reread(Reads.stories_by_key, lambda loaders: loaders.story)


async def story_payload(info: Info, input: BackfillInput, command: Callable[[Caller], str]) -> StoryPayload:
    key, errors = await run_command(info, input, command, reread=STORY)
    story = await load_story(info, key) if key else None
    return StoryPayload(story=story, errors=errors, client_mutation_id=input.client_mutation_id)


@strawberry.type
class StoryMutations:
    @strawberry.mutation
    async def create_story(self, info: Info, input: CreateStoryInput) -> StoryPayload:
        def command(caller: Caller) -> str:
            return info.context.app.create_story(
                caller,
                input.board_key,
                input.title,
                description=input.description,
                type=(input.type or StoryType.STORY).value,
                priority=(input.priority or Priority.MEDIUM).value,
                labels=input.labels,
                points=input.points,
                assignee=input.assignee,
                epic_key=input.epic_key,
                sprint_id=input.sprint_id,
            )

        return await story_payload(info, input, command)

    @strawberry.mutation
    async def update_story(self, info: Info, input: UpdateStoryInput) -> StoryPayload:
        app, changes = info.context.app, input.changes()
        return await story_payload(
            info,
            input,
            lambda caller: app.update_story(caller, input.story_key, changes, input.expected_version),
        )

    @strawberry.mutation
    async def estimate_story(self, info: Info, input: EstimateStoryInput) -> StoryPayload:
        app = info.context.app
        return await story_payload(
            info,
            input,
            lambda caller: app.estimate_story(caller, input.story_key, input.points, input.expected_version),
        )

    @strawberry.mutation
    async def assign_story(self, info: Info, input: AssignStoryInput) -> StoryPayload:
        app = info.context.app
        return await story_payload(
            info,
            input,
            lambda caller: app.assign_story(caller, input.story_key, input.assignee, input.expected_version),
        )

    @strawberry.mutation
    async def move_story(self, info: Info, input: MoveStoryInput) -> StoryPayload:
        app = info.context.app
        return await story_payload(
            info,
            input,
            lambda caller: app.move_story(
                caller, input.story_key, input.to_column, input.expected_version, input.before, input.after
            ),
        )

    @strawberry.mutation
    async def rank_story(self, info: Info, input: RankStoryInput) -> StoryPayload:
        app = info.context.app
        return await story_payload(
            info,
            input,
            lambda caller: app.rank_story(
                caller, input.story_key, input.before, input.after, input.expected_version
            ),
        )

    @strawberry.mutation
    async def block_story(self, info: Info, input: BlockStoryInput) -> StoryPayload:
        app = info.context.app
        return await story_payload(
            info,
            input,
            lambda caller: app.block_story(caller, input.story_key, input.reason, input.expected_version),
        )

    @strawberry.mutation
    async def unblock_story(self, info: Info, input: StoryRefInput) -> StoryPayload:
        app = info.context.app
        return await story_payload(
            info, input, lambda caller: app.unblock_story(caller, input.story_key, input.expected_version)
        )

    @strawberry.mutation
    async def archive_story(self, info: Info, input: StoryRefInput) -> StoryPayload:
        app = info.context.app
        return await story_payload(
            info, input, lambda caller: app.archive_story(caller, input.story_key, input.expected_version)
        )

    @strawberry.mutation
    async def set_story_epic(self, info: Info, input: SetStoryEpicInput) -> StoryPayload:
        app = info.context.app
        return await story_payload(
            info,
            input,
            lambda caller: app.set_story_epic(
                caller, input.story_key, input.epic_key, input.expected_version
            ),
        )
