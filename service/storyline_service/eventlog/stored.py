"""The stored events as eventsourcing's recorders keep them, read and written with SQLAlchemy Core.

The chain, the export and the import need the exact stored bytes and the global
sequence, in the caller's own transaction, which the recorders' API does not offer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Integer,
    LargeBinary,
    MetaData,
    Select,
    Table,
    Text,
    Uuid,
    func,
    literal_column,
    select,
)

GENESIS = "0" * 64  # the link before the first event
PAGE = 1000  # stored events read per query when walking the log


@dataclass(frozen=True)
class StoredEvent:
    """One event as recorded: its place in the log and its encoded state."""

    sequence: int
    aggregate_id: UUID
    version: int
    topic: str
    state: bytes

    def canonical_bytes(self) -> bytes:
        """What the chain hashes: place, identity and type as one JSON line, then the state as stored."""
        header = json.dumps([self.sequence, str(self.aggregate_id), self.version, self.topic])
        return header.encode() + b"\n" + self.state


def link(previous: str, event: StoredEvent) -> str:
    """The event's link in the chain: SHA-256(previous hash ‖ canonical bytes), in hex."""
    return hashlib.sha256(bytes.fromhex(previous) + event.canonical_bytes()).hexdigest()


class EventsTable:
    """The recorder's events table on this connection's backend.

    SQLite keeps the sequence as the table's rowid and ids as hex text;
    PostgreSQL has a ``notification_id`` column and native UUIDs."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        metadata = MetaData()
        columns = [
            Column("originator_id", Text if self.sqlite else Uuid),
            Column("originator_version", Integer if self.sqlite else BigInteger),
            Column("topic", Text),
            Column("state", LargeBinary),
        ]
        if self.sqlite:
            self.table = Table("stored_events", metadata, *columns)
            self.sequence: ColumnElement[int] = literal_column("rowid", BigInteger)
            self.sequence_column = "rowid"
        else:
            self.table = Table("storyline_events", metadata, *columns, Column("notification_id", BigInteger))
            self.sequence = self.table.c.notification_id
            self.sequence_column = "notification_id"

    @classmethod
    def of(cls, conn: Connection) -> EventsTable:
        return cls(conn.dialect.name)

    def select(self) -> Select[Any]:
        t = self.table.c
        return select(self.sequence, t.originator_id, t.originator_version, t.topic, t.state).order_by(
            self.sequence
        )

    def stored_id(self, aggregate_id: UUID) -> str | UUID:
        return aggregate_id.hex if self.sqlite else aggregate_id

    def pages(self, conn: Connection, after: int, until: int | None = None) -> Iterator[list[StoredEvent]]:
        """The events after ``after`` (up to ``until``) in log order, a page at a time."""
        while True:
            query = self.select().where(self.sequence > after).limit(PAGE)
            if until is not None:
                query = query.where(self.sequence <= until)
            page = [
                StoredEvent(
                    row[0], as_uuid(row.originator_id), row.originator_version, row.topic, bytes(row.state)
                )
                for row in conn.execute(query)
            ]
            if page:
                yield page
            if len(page) < PAGE:
                return
            after = page[-1].sequence

    def between(self, conn: Connection, after: int, until: int | None = None) -> Iterator[StoredEvent]:
        for page in self.pages(conn, after, until):
            yield from page

    def head(self, conn: Connection) -> int:
        return int(conn.execute(select(func.max(self.sequence)).select_from(self.table)).scalar() or 0)


def as_uuid(value: str | UUID) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
