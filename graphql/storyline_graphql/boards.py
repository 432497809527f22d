"""Boards: their workflow columns, the people on them, and the board-level lists."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from storyline_graphql.analytics import BoardAnalytics
from storyline_graphql.audit import AuditEntry, audit_connection
from storyline_graphql.calendars import BoardCalendar
from storyline_graphql.common import (
    BackfillInput,
    Connection,
    MutationInput,
    Node,
    PageArgs,
    UserError,
    VersionedInput,
    make_connection,
    page_request,
    run_command,
)
from storyline_graphql.context import Info
from storyline_graphql.control.types import BoardControl
from storyline_graphql.enums import Role, SprintState, StatusCategory
from storyline_graphql.members import BoardMembers
from storyline_graphql.webhooks import BoardWebhooks
from storyline_service.application import Caller
from storyline_service.board_archive import archive_board
from storyline_service.queries import BOARD_ORDER, AuditCriteria, Record, StoryCriteria

if TYPE_CHECKING:
    from storyline_graphql.epics import Epic
    from storyline_graphql.sprints import Sprint
    from storyline_graphql.stories import Story, StoryFilter, StoryOrder

LazyStory = Annotated["Story", strawberry.lazy("storyline_graphql.stories")]
LazyStoryFilter = Annotated["StoryFilter", strawberry.lazy("storyline_graphql.stories")]
LazyStoryOrder = Annotated["StoryOrder", strawberry.lazy("storyline_graphql.stories")]
LazySprint = Annotated["Sprint", strawberry.lazy("storyline_graphql.sprints")]
LazyEpic = Annotated["Epic", strawberry.lazy("storyline_graphql.epics")]

Command = Callable[[Caller], str]


@strawberry.type
class Column:
    key: str
    name: str
    category: StatusCategory
    wip_limit: int | None
    board_key: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Record) -> Column:
        return cls(
            key=row.key,
            name=row.name,
            category=StatusCategory(row.category),
            wip_limit=row.wip_limit,
            board_key=row.board_key,
        )

    @strawberry.field(description="By rank: every story in the column, or only one sprint's.")
    async def stories(
        self,
        info: Info,
        sprint_id: strawberry.ID | None = None,
        first: int | None = 100,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[LazyStory]:
        from storyline_graphql.stories import story_connection

        criteria = StoryCriteria(sprint_id=sprint_id)
        partition = ("board_key", "column")
        page = PageArgs(first, after, last, before)
        return await story_connection(info, partition, (self.board_key, self.key), criteria, page)


@strawberry.type
class Board(BoardControl, BoardAnalytics, BoardCalendar, BoardWebhooks, BoardMembers, Node):
    id: strawberry.ID
    key: str
    name: str
    version: int
    active_sprint_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: Record) -> Board:
        return cls(
            id=strawberry.ID(row.id),
            key=row.key,
            name=row.name,
            version=row.version,
            active_sprint_id=row.active_sprint_id,
        )

    @strawberry.field(
        description="Archived boards are left out of `boards` unless asked for; they keep their history "
        "and every query, but their stories and sprints take no more changes."
    )
    async def archived(self, info: Info) -> bool:
        return await info.context.loaders.archived_board.load(self.key) is not None

    @strawberry.field(description="The workflow, in order.")
    async def columns(self, info: Info) -> list[Column]:
        return [Column.from_row(row) for row in await info.context.loaders.columns.load(self.key)]

    @strawberry.field(description="By rank: not done, not in a planned or active sprint.")
    async def backlog(
        self,
        info: Info,
        first: int | None = 50,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[LazyStory]:
        from storyline_graphql.stories import story_connection

        criteria = StoryCriteria(backlog=True)
        page = PageArgs(first, after, last, before)
        return await story_connection(info, ("board_key",), (self.key,), criteria, page)

    @strawberry.field(description="By planned start date.")
    async def sprints(
        self,
        info: Info,
        state: SprintState | None = None,
        first: int | None = 20,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[LazySprint]:
        from storyline_graphql.sprints import sprint_connection

        page = PageArgs(first, after, last, before)
        return await sprint_connection(info, self.key, state.value if state else None, page)

    @strawberry.field
    async def active_sprint(self, info: Info) -> LazySprint | None:
        from storyline_graphql.sprints import load_sprint

        return await load_sprint(info, self.active_sprint_id) if self.active_sprint_id else None

    @strawberry.field(description="By rank unless `orderBy` says otherwise; archived ones only when asked.")
    async def stories(
        self,
        info: Info,
        filter: LazyStoryFilter | None = None,
        order_by: LazyStoryOrder | None = None,
        first: int | None = 50,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[LazyStory]:
        from storyline_graphql.stories import story_connection

        criteria = filter.criteria() if filter else StoryCriteria()
        page = PageArgs(first, after, last, before)
        return await story_connection(info, ("board_key",), (self.key,), criteria, page, order_by)

    @strawberry.field
    async def epics(self, info: Info) -> list[LazyEpic]:
        from storyline_graphql.epics import Epic

        return [Epic.from_row(row) for row in await info.context.loaders.epics.load(self.key)]

    @strawberry.field(description="Everything recorded on the board, in log order.")
    async def history(
        self,
        info: Info,
        first: int | None = 50,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AuditEntry]:
        page = PageArgs(first, after, last, before)
        return await audit_connection(info, ("board_key",), (self.key,), AuditCriteria(), page)


async def load_board(info: Info, key: str) -> Board | None:
    row = await info.context.loaders.board.load(key)
    return Board.from_row(row) if row else None


@strawberry.type
class BoardRole:
    board_key: str
    role: Role


@strawberry.type(description="The authenticated user.")
class Viewer:
    name: str

    @strawberry.field(description="By board key; the bootstrap admin is ADMIN on every board.")
    async def roles(self, info: Info) -> list[BoardRole]:
        access = info.context.access
        if access.superuser:
            keys = await asyncio.to_thread(info.context.reads.board_keys)
            return [BoardRole(board_key=key, role=Role.ADMIN) for key in keys]
        return [BoardRole(board_key=key, role=role) for key, role in sorted(access.roles.items())]


@strawberry.type
class BoardQuery:
    @strawberry.field
    def viewer(self, info: Info) -> Viewer:
        return Viewer(name=info.context.actor)

    @strawberry.field(description="By key: the boards the viewer has a role on.")
    async def boards(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        include_archived: Annotated[
            bool, strawberry.argument(description="Archived boards too; by default they are left out.")
        ] = False,
    ) -> Connection[Board]:
        reads, visible = info.context.reads, info.context.access.boards
        page = page_request(info, PageArgs(first, after, last, before), "board", BOARD_ORDER)
        rows = await asyncio.to_thread(reads.boards, page.size + 1, page.seek, visible, include_archived)
        count = partial(asyncio.to_thread, reads.board_count, visible, include_archived)
        return make_connection(rows, page, "board", BOARD_ORDER, Board.from_row, count)

    @strawberry.field(description='e.g. "PAY"; null when there is none the viewer has a role on.')
    async def board(self, info: Info, key: str) -> Board | None:
        return await load_board(info, key)


# ----- mutations -----


@strawberry.input
class ColumnInput:
    key: str
    name: str
    category: StatusCategory
    wip_limit: int | None = None


def column_dicts(columns: list[ColumnInput]) -> list[dict[str, Any]]:
    return [
        {"key": c.key, "name": c.name, "category": c.category.value, "wip_limit": c.wip_limit}
        for c in columns
    ]


@strawberry.input
class CreateBoardInput(BackfillInput):
    key: str = strawberry.field(description="2-10 upper-case letters")
    name: str
    columns: list[ColumnInput] | None = strawberry.field(
        default=None, description="Default: To Do / In Progress / Done"
    )


@strawberry.input
class ConfigureColumnsInput(VersionedInput):
    board_key: str
    columns: list[ColumnInput]


@strawberry.input
class GrantRoleInput(MutationInput):
    board_key: str
    user: str
    role: Role


@strawberry.input
class RevokeRoleInput(MutationInput):
    board_key: str
    user: str


@strawberry.input
class ArchiveBoardInput(MutationInput):
    board_key: str


@strawberry.type
class BoardPayload:
    board: Board | None
    errors: list[UserError]
    client_mutation_id: str | None


async def board_payload(info: Info, input: MutationInput, command: Command) -> BoardPayload:
    key, errors = await run_command(info, input, command, changes_roles=True)
    board = await load_board(info, key) if key else None
    return BoardPayload(board=board, errors=errors, client_mutation_id=input.client_mutation_id)


@strawberry.type
class BoardMutations:
    @strawberry.mutation
    async def create_board(self, info: Info, input: CreateBoardInput) -> BoardPayload:
        columns = None if input.columns is None else column_dicts(input.columns)
        return await board_payload(
            info, input, lambda caller: info.context.app.create_board(caller, input.key, input.name, columns)
        )

    @strawberry.mutation
    async def configure_columns(self, info: Info, input: ConfigureColumnsInput) -> BoardPayload:
        columns = column_dicts(input.columns)
        return await board_payload(
            info,
            input,
            lambda caller: info.context.app.configure_columns(
                caller, input.board_key, columns, input.expected_version
            ),
        )

    @strawberry.mutation
    async def grant_role(self, info: Info, input: GrantRoleInput) -> BoardPayload:
        return await board_payload(
            info,
            input,
            lambda caller: info.context.app.grant_role(caller, input.board_key, input.user, input.role.value),
        )

    @strawberry.mutation
    async def revoke_role(self, info: Info, input: RevokeRoleInput) -> BoardPayload:
        return await board_payload(
            info, input, lambda caller: info.context.app.revoke_role(caller, input.board_key, input.user)
        )

    @strawberry.mutation(
        description="ADMIN only. The board leaves `boards` (unless `includeArchived`) and keeps its "
        "history; its stories and sprints take no more changes (INVALID_TRANSITION). Roles can still change."
    )
    async def archive_board(self, info: Info, input: ArchiveBoardInput) -> BoardPayload:
        return await board_payload(
            info, input, lambda caller: archive_board(info.context.app, caller, input.board_key)
        )
