"""The audit log: every recorded event as people read it, queried, paged and pushed live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import replace
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from graphql import GraphQLError
from storyline_domain.errors import ValidationError
from storyline_graphql.common import (
    Connection,
    Node,
    PageArgs,
    load_connection,
    page_request,
    validation_error,
)
from storyline_graphql.context import Info
from storyline_service.event_types import check_event_types
from storyline_service.eventlog import chain
from storyline_service.queries import AUDIT_ORDER, AuditCriteria, Record, Seek

ID_PREFIX = "audit-"
# How often a subscription looks for new entries without being woken; they may come from any process.
POLL_SECONDS = 0.5


@strawberry.type
class FieldChange:
    field: str
    from_: JSON | None = strawberry.field(name="from")
    to: JSON | None


@strawberry.type(description="One recorded domain event, as people read it.")
class AuditEntry(Node):
    id: strawberry.ID
    sequence: int = strawberry.field(description="Position in the whole event log.")
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    board_key: str
    entity_type: str = strawberry.field(description="Board, Story, Sprint or Epic.")
    entity_key: str = strawberry.field(description="PAY-12, a sprint id, ...")
    event_type: str = strawberry.field(description="e.g. StoryMoved")
    summary: str = strawberry.field(description='e.g. "alice moved PAY-12 from Doing to Done"')
    changes: list[FieldChange]

    @strawberry.field(description="This event's link in the log's hash chain (hex).")
    async def hash(self, info: Info) -> str:
        found = await info.context.loaders.chain_hashes.load(self.sequence)
        if found is None:  # only while the chain is behind the audit log
            raise GraphQLError(
                "this event is not linked yet; ask again shortly", extensions={"code": "NOT_READY"}
            )
        return found

    @classmethod
    def from_row(cls, row: Record) -> AuditEntry:
        return cls(
            id=strawberry.ID(f"{ID_PREFIX}{row.sequence}"),
            sequence=row.sequence,
            occurred_at=row.occurred_at,
            recorded_at=row.recorded_at,
            actor=row.actor,
            board_key=row.board_key,
            entity_type=row.entity_type,
            entity_key=row.entity_key,
            event_type=row.event_type,
            summary=row.summary,
            changes=[FieldChange(field=c["field"], from_=c["from"], to=c["to"]) for c in row.changes],
        )


def board_not_found(board_key: str) -> GraphQLError:
    # The same answer whether the board is missing or the viewer has no role on it.
    return GraphQLError(f"board {board_key} not found", extensions={"code": "NOT_FOUND"})


async def load_audit_entry(info: Info, sequence: int) -> AuditEntry | None:
    row = await asyncio.to_thread(info.context.reads.audit_entry, sequence)
    return AuditEntry.from_row(row) if row and info.context.access.can_read(row.board_key) else None


def audit_sequence(node_id: str) -> int | None:
    """The sequence an audit entry's id names, if it names one."""
    number = node_id.removeprefix(ID_PREFIX)
    return int(number) if node_id.startswith(ID_PREFIX) and number.isdigit() else None


@strawberry.input
class AuditFilter:
    board_key: str | None = None
    story_key: str | None = None
    sprint_id: strawberry.ID | None = None
    actor: str | None = None
    event_types: list[str] | None = None
    from_: datetime | None = strawberry.field(
        default=None, name="from", description="Occurred at or after this time."
    )
    to: datetime | None = strawberry.field(default=None, description="Occurred before this time.")

    def criteria(self) -> AuditCriteria:
        try:
            event_types = None if self.event_types is None else check_event_types(self.event_types)
        except ValidationError as error:
            raise validation_error(error.message) from None
        return AuditCriteria(
            board_key=self.board_key,
            story_key=self.story_key,
            sprint_id=self.sprint_id,
            actor=self.actor,
            event_types=event_types,
            since=self.from_,
            until=self.to,
        )


async def audit_connection(
    info: Info,
    partition: tuple[str, ...],
    value: tuple[Any, ...],
    criteria: AuditCriteria,
    args: PageArgs,
) -> Connection[AuditEntry]:
    """Audit entries in log order, oldest first."""
    loaders = info.context.loaders
    return await load_connection(
        loaders.audit_pages,
        loaders.audit_counts,
        partition=partition,
        value=value,
        criteria=criteria,
        page=page_request(info, args, "audit", AUDIT_ORDER),
        kind="audit",
        order=AUDIT_ORDER,
        node=AuditEntry.from_row,
    )


@strawberry.type(description="The tip of the tamper-evident chain: whoever keeps it can later prove the log.")
class LogHead:
    sequence: int
    hash: str = strawberry.field(description="hex")


@strawberry.type
class AuditQuery:
    @strawberry.field(description="The tip of the event log's hash chain.")
    async def log_head(self, info: Info) -> LogHead:
        head = await asyncio.to_thread(chain.log_head, info.context.reads.engine)
        return LogHead(sequence=head.sequence, hash=head.hash)

    @strawberry.field(description="Recorded events in log order, oldest first.")
    async def audit_log(
        self,
        info: Info,
        filter: AuditFilter | None = None,
        first: int | None = 50,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AuditEntry]:
        criteria = filter.criteria() if filter else AuditCriteria()
        visible = replace(criteria, boards=info.context.access.boards)
        return await audit_connection(info, (), (), visible, PageArgs(first, after, last, before))


@strawberry.type
class AuditSubscription:
    @strawberry.subscription(description="Every event on the board, as recorded; needs a role on it.")
    async def board_events(self, info: Info, board_key: str) -> AsyncGenerator[AuditEntry, None]:
        context = info.context
        reads = context.reads
        if await context.loaders.board.load(board_key) is None:
            raise board_not_found(board_key)
        last = await asyncio.to_thread(reads.last_audit_sequence)
        async for row in board_entries(info, AuditCriteria(board_key=board_key), last):
            yield AuditEntry.from_row(row)


async def board_entries(info: Info, criteria: AuditCriteria, last: int) -> AsyncGenerator[Record, None]:
    """The entries of ``criteria.board_key`` after sequence ``last``, in log order, without end: those
    already recorded first, then each as it is projected, by any process."""
    context = info.context
    board_key = criteria.board_key
    assert board_key is not None, "a live feed is of one board"
    # The shared table has entries projected by any process: read it whenever the read models
    # move (woken through PostgreSQL NOTIFY), and at least every POLL_SECONDS.
    watch = context.runtime.watch
    while True:
        seen = watch.reached if watch else 0
        pages = await asyncio.to_thread(
            context.reads.audit_pages, ("board_key",), [(board_key,)], criteria, 100, Seek((last,))
        )
        entries = pages[(board_key,)]
        if entries:
            # A token or role revoked while subscribed ends the subscription before anything more is sent.
            access = await context.recheck()
            if not access.can_read(board_key):
                raise board_not_found(board_key)
            # What is loaded for these entries is loaded anew: as it is now, not as it was before.
            context.start_reads(access)
        for row in entries:
            last = row.sequence
            yield row
        if not entries:
            await (watch.moved(seen, POLL_SECONDS) if watch else asyncio.sleep(POLL_SECONDS))
