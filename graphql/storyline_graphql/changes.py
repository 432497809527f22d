"""Live changes: each event on a board with the story, sprint or epic as it is after it, resumable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry

from graphql import GraphQLError
from storyline_domain.errors import ValidationError
from storyline_graphql.audit import AuditEntry, board_entries, board_not_found
from storyline_graphql.boards import Board, load_board
from storyline_graphql.common import validation_error
from storyline_graphql.context import Info
from storyline_graphql.epics import Epic, load_epic
from storyline_graphql.sprints import Sprint, load_sprint
from storyline_graphql.stories import Story, load_story
from storyline_service.event_types import check_event_types
from storyline_service.queries import AuditCriteria, Record, Seek


@strawberry.type(description="One change on a board: its audit entry and what it changed, as it is now.")
class BoardChange:
    sequence: int = strawberry.field(description="Position in the whole event log; resume after it.")
    entry: AuditEntry
    story: Story | None = strawberry.field(description="The story changed, if the event is a story's.")
    sprint: Sprint | None = strawberry.field(description="The sprint changed, if the event is a sprint's.")
    epic: Epic | None = strawberry.field(description="The epic changed, if the event is an epic's.")
    board: Board


async def board_change(info: Info, row: Record) -> BoardChange:
    key = row.entity_key
    board = await load_board(info, row.board_key)
    if board is None:  # only if the viewer lost sight of it, which the feed checks before each batch
        raise board_not_found(row.board_key)
    return BoardChange(
        sequence=row.sequence,
        entry=AuditEntry.from_row(row),
        story=await load_story(info, key) if row.entity_type == "Story" else None,
        sprint=await load_sprint(info, key) if row.entity_type == "Sprint" else None,
        epic=await load_epic(info, key) if row.entity_type == "Epic" else None,
        board=board,
    )


def replay_too_long(limit: int) -> GraphQLError:
    return GraphQLError(
        f"more than {limit} changes since that sequence: refetch the board, then subscribe without it",
        extensions={"code": "REPLAY_TOO_LONG", "limit": limit},
    )


@strawberry.type
class ChangeSubscription:
    @strawberry.subscription(
        description="Every change on the board with what it changed, as it is after it; needs a role on "
        "the board. afterSequence: first replays every change after that log position (a reconnecting "
        "client sends the last sequence it saw), then goes live. eventTypes filters by "
        "AuditEntry.eventType."
    )
    async def board_changes(
        self,
        info: Info,
        board_key: str,
        after_sequence: int | None = None,
        event_types: list[str] | None = None,
    ) -> AsyncGenerator[BoardChange, None]:
        context = info.context
        try:
            types = None if event_types is None else check_event_types(event_types)
        except ValidationError as error:
            raise validation_error(error.message) from None
        if after_sequence is not None and after_sequence < 0:
            raise validation_error("afterSequence must be 0 or more")
        if await context.loaders.board.load(board_key) is None:
            raise board_not_found(board_key)
        criteria = AuditCriteria(board_key=board_key, event_types=types)
        if after_sequence is None:
            last = await asyncio.to_thread(context.reads.last_audit_sequence)
        else:
            last = after_sequence
            limit = context.runtime.settings.max_replay_events
            pages = await asyncio.to_thread(
                context.reads.audit_pages, ("board_key",), [(board_key,)], criteria, limit + 1, Seek((last,))
            )
            if len(pages[(board_key,)]) > limit:
                raise replay_too_long(limit)
        async for row in board_entries(info, criteria, last):
            yield await board_change(info, row)
