"""The event log as JSON lines: one object per event, in log order, with its link in the chain.

``fields`` is the event's state exactly as stored (eventsourcing's JSON, where
dates, UUIDs and decimals are tagged ``{"_type_": ..., "_data_": ...}``), so a
line gives back the stored bytes and its hash can be checked by anyone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from eventsourcing.persistence import Transcoder
from sqlalchemy import Connection, Engine, select

from storyline_domain.board import key_sequence_id
from storyline_domain.placement import placement_id
from storyline_domain.risk import risk_register_id
from storyline_service.eventlog.chain import links
from storyline_service.eventlog.stored import EventsTable, StoredEvent
from storyline_service.readmodels import AuditEntryRow, table_of

audit = table_of(AuditEntryRow)


def line_of(event: StoredEvent, fields: dict[str, Any], transcoder: Transcoder, hash: str | None) -> str:
    """The export line of one event; ``fields`` is its state as JSON."""
    return json.dumps(describe(event, fields, transcoder, hash), ensure_ascii=False, separators=(",", ":"))


def describe(
    event: StoredEvent, fields: dict[str, Any], transcoder: Transcoder, hash: str | None
) -> dict[str, Any]:
    decoded = transcoder.decode(event.state)
    return {
        "sequence": event.sequence,
        "aggregateId": str(event.aggregate_id),
        "aggregateVersion": event.version,
        "eventType": event.topic,
        "classVersion": fields.get("class_version", 1),
        "occurredAt": _iso(decoded.get("occurred_at")),
        "recordedAt": _iso(decoded.get("timestamp")),
        "actor": decoded.get("actor"),
        "correlationId": decoded.get("correlation_id"),
        "fields": fields,
        "hash": hash,
    }


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def export_lines(
    engine: Engine, transcoder: Transcoder, board: str | None = None, after: int = 0
) -> Iterator[str]:
    """Export lines in log order, read a page at a time: memory stays flat however long the log."""
    with engine.connect() as conn:
        table = EventsTable.of(conn)
        for page in table.pages(conn, after):
            sequences = [event.sequence for event in page]
            chained = _hashes(conn, sequences[0], sequences[-1])
            kept = _of_board(conn, page, board) if board else page
            for event in kept:
                yield line_of(event, json.loads(event.state), transcoder, chained.get(event.sequence))


def _hashes(conn: Connection, first: int, last: int) -> dict[int, str]:
    query = select(links.c.sequence, links.c.hash).where(links.c.sequence.between(first, last))
    return {sequence: hash for sequence, hash in conn.execute(query)}


def _of_board(conn: Connection, page: list[StoredEvent], board: str) -> list[StoredEvent]:
    """The page's events on the board: those its audit log names, and its bookkeeping aggregates
    (key sequence, placement, risk register), which the audit log leaves out."""
    first, last = page[0].sequence, page[-1].sequence
    query = select(audit.c.sequence).where(audit.c.sequence.between(first, last), audit.c.board_key == board)
    named = set(conn.execute(query).scalars())
    bookkeeping = {key_sequence_id(board), placement_id(board), risk_register_id(board)}
    return [event for event in page if event.sequence in named or event.aggregate_id in bookkeeping]
