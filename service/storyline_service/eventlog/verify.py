"""Walks the hash chain against the stored events: proves the log unchanged, or names where it changed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select

from storyline_service.eventlog.chain import Head, last_link, links
from storyline_service.eventlog.stored import GENESIS, PAGE, EventsTable, link


@dataclass(frozen=True)
class Verdict:
    head: Head  # the last link that verified
    broken_at: int | None  # the first sequence that does not verify, if any
    unlinked: int  # events recorded after the chain's head, not linked yet

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _links(conn: Connection, until: int) -> Iterator[Head]:
    after = 0
    while True:
        query = (
            select(links.c.sequence, links.c.hash)
            .where(links.c.sequence > after, links.c.sequence <= until)
            .order_by(links.c.sequence)
            .limit(PAGE)
        )
        page = [Head(sequence, hash) for sequence, hash in conn.execute(query)]
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].sequence


def verify_chain(engine: Engine) -> Verdict:
    """Recomputes every link up to the chain's head from the stored bytes and compares.

    An edited event fails at its own sequence; a deleted one at its link's; an
    inserted one where it has no link. Only the head bounds the walk, so events
    recorded meanwhile cannot look like gaps.
    """
    with engine.connect() as conn:
        top = last_link(conn)
        table = EventsTable.of(conn)
        events = table.between(conn, 0, top.sequence)
        previous, verified = GENESIS, Head(0, GENESIS)
        for stored in _links(conn, top.sequence):
            event = next(events, None)
            if event is None or event.sequence > stored.sequence:
                return Verdict(verified, stored.sequence, 0)  # the linked event is gone
            if event.sequence < stored.sequence or link(previous, event) != stored.hash:
                return Verdict(verified, event.sequence, 0)
            previous, verified = stored.hash, stored
        extra = next(events, None)
        if extra is not None:
            return Verdict(verified, extra.sequence, 0)  # an event inside the chain with no link
        unlinked = sum(1 for _ in table.between(conn, top.sequence))
    return Verdict(verified, None, unlinked)
