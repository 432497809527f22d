"""The hash chain: a projection that links every recorded event to the one before it.

It is written by the projector, in the same transaction as its tracking
position, so each event is linked exactly once, in log order, whichever process
recorded it. It is never rebuilt: a link, once written, is the evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Connection, Engine, String, Table, insert, select
from sqlmodel import Field, SQLModel

from storyline_service.eventlog.stored import GENESIS, EventsTable, StoredEvent, as_uuid, link
from storyline_service.projections.base import Projection
from storyline_service.readmodels import table_of


class ChainLinkRow(SQLModel, table=True):
    __tablename__ = "chain_links"
    sequence: int = Field(primary_key=True, sa_type=BigInteger)
    hash: str = Field(sa_type=String(64))


links = table_of(ChainLinkRow)


@dataclass(frozen=True)
class Head:
    """The last link: whoever keeps it can later prove the log up to it unchanged."""

    sequence: int
    hash: str


class Chain(Projection):
    name = "chain"
    tables = [links]
    handlers = {}
    rebuildable = False

    def forget(self) -> None:
        super().forget()
        self.head: str | None = None  # the last link written, while batches follow one another

    def receive(self, events: Sequence[tuple[int, Any]]) -> None:
        # The projector's batches carry the notifications as stored: no need to read them again.
        self.notifications = getattr(events, "notifications", None)

    def begin_batch(self, after: int) -> None:
        super().begin_batch(after)
        self.after = after

    def end_batch(self, conn: Connection, last: int) -> None:
        table = self.t["chain_links"]
        previous = self.head if self.head is not None else last_link(conn, table, self.after).hash
        rows = []
        for event in self.stored(conn, last):
            previous = link(previous, event)
            rows.append({"sequence": event.sequence, "hash": previous})
        if rows:
            conn.execute(insert(table), rows)
        super().end_batch(conn, last)
        self.head = previous

    def stored(self, conn: Connection, last: int) -> Iterable[StoredEvent]:
        """The stored events after the chain's position up to ``last``."""
        if self.notifications is None:
            return EventsTable.of(conn).between(conn, self.after, last)
        return [
            StoredEvent(n.id, as_uuid(n.originator_id), n.originator_version, n.topic, bytes(n.state))
            for n in self.notifications
            if self.after < n.id <= last
        ]


def last_link(conn: Connection, table: Table = links, at_most: int | None = None) -> Head:
    """The link at the highest sequence up to ``at_most`` (the genesis when there is none)."""
    query = select(table.c.sequence, table.c.hash).order_by(table.c.sequence.desc()).limit(1)
    if at_most is not None:
        query = query.where(table.c.sequence <= at_most)
    row = conn.execute(query).first()
    return Head(0, GENESIS) if row is None else Head(row.sequence, row.hash)


def log_head(engine: Engine) -> Head:
    with engine.connect() as conn:
        return last_link(conn)


def hashes(engine: Engine, sequences: Sequence[int]) -> dict[int, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(links.c.sequence, links.c.hash).where(links.c.sequence.in_(sequences)))
        return {sequence: hash for sequence, hash in rows}
