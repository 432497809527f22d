"""Loads an exported event log back: checked whole first, then written in one transaction.

Into an empty database the events keep their sequences, so the log, its chain
and every projection come back exactly. ``append`` adds a file's events to a
log that has some already, as long as none of its aggregates exists there.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from eventsourcing.persistence import Transcoder
from eventsourcing.utils import resolve_topic
from sqlalchemy import Connection, Engine, select, text

from storyline_service.eventlog.export import describe
from storyline_service.eventlog.stored import GENESIS, EventsTable, StoredEvent, as_uuid, link

BATCH = 1000  # events per insert statement
Progress = Callable[[int], None]  # called with the number of lines just handled


class ImportRefused(Exception):
    """Nothing was written; the message says why."""


class MalformedLine(ImportRefused):
    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"line {number}: {reason}")
        self.number = number


def open_lines(path: Path) -> IO[str]:
    """A text file, or a gzip-compressed one when its name ends in .gz."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def encode_state(fields: dict[str, Any]) -> bytes:
    """The stored bytes of an event's fields: the same JSON form eventsourcing's transcoder writes."""
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def parse_line(number: int, line: str, transcoder: Transcoder) -> tuple[StoredEvent, str | None]:
    """One export line as the stored event it describes, and the hash it claims."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise MalformedLine(number, f"not JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(data, dict):
        raise MalformedLine(number, "not a JSON object")
    expected = {
        "sequence": int,
        "aggregateId": str,
        "aggregateVersion": int,
        "eventType": str,
        "fields": dict,
    }
    for key, kind in expected.items():
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            raise MalformedLine(number, f"{key} is missing or not a {kind.__name__}")
    claimed = data.get("hash")
    if claimed is not None and not isinstance(claimed, str):
        raise MalformedLine(number, "hash is not a string")
    try:
        aggregate_id = UUID(data["aggregateId"])
    except ValueError:
        raise MalformedLine(number, "aggregateId is not a UUID") from None
    try:
        resolve_topic(data["eventType"])
    except Exception:  # resolve_topic raises several kinds for names it cannot import
        raise MalformedLine(number, f"unknown eventType {data['eventType']!r}") from None
    event = StoredEvent(
        data["sequence"],
        aggregate_id,
        data["aggregateVersion"],
        data["eventType"],
        encode_state(data["fields"]),
    )
    try:
        described = describe(event, data["fields"], transcoder, claimed)
    except Exception as error:  # the transcoder's errors for fields it cannot decode
        raise MalformedLine(number, f"fields do not decode: {error}") from None
    for key, value in described.items():
        if data.get(key) != value:
            raise MalformedLine(number, f"{key} is {data.get(key)!r}, but the event's fields say {value!r}")
    return event, claimed


@dataclass
class Checked:
    """What the first pass found in a file that parsed throughout."""

    events: int = 0
    first_sequence: int = 0
    last_sequence: int = 0
    aggregates: set[UUID] = field(default_factory=set)
    broken_at: int | None = None  # the first sequence whose hash does not verify


def read_file(path: Path, transcoder: Transcoder) -> Iterator[tuple[int, StoredEvent, str | None]]:
    with open_lines(path) as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                yield number, *parse_line(number, line, transcoder)


def check_file(path: Path, transcoder: Transcoder, progress: Progress | None = None) -> Checked:
    """Parses every line and checks order, versions and the chain, without writing anything."""
    checked = Checked()
    versions: dict[UUID, int] = {}
    previous_hash = GENESIS
    for number, event, claimed in read_file(path, transcoder):
        if event.sequence <= checked.last_sequence:
            raise MalformedLine(number, f"sequence {event.sequence} does not follow {checked.last_sequence}")
        expected_version = versions.get(event.aggregate_id, 0) + 1
        if event.version != expected_version:
            raise MalformedLine(
                number,
                f"aggregateVersion {event.version} of {event.aggregate_id}, expected {expected_version}",
            )
        versions[event.aggregate_id] = event.version
        computed = link(previous_hash, event)
        if claimed != computed and checked.broken_at is None:
            checked.broken_at = event.sequence
        previous_hash = claimed or computed
        checked.events += 1
        checked.first_sequence = checked.first_sequence or event.sequence
        checked.last_sequence = event.sequence
        if progress:
            progress(1)
    checked.aggregates = set(versions)
    return checked


@dataclass(frozen=True)
class Imported:
    events: int
    aggregates: int
    renumbered: bool  # appended after the existing log rather than at the file's own sequences


def import_events(
    engine: Engine,
    path: Path,
    transcoder: Transcoder,
    *,
    append: bool = False,
    verify: bool = True,
    progress: Progress | None = None,
) -> Imported:
    checked = check_file(path, transcoder, progress)
    if verify and checked.broken_at is not None:
        raise ImportRefused(
            f"the file's hash chain does not verify at sequence {checked.broken_at}: it was changed "
            "after export, or is a partial export (--board, --after); --no-verify imports it anyway"
        )
    with engine.begin() as conn:
        table = EventsTable.of(conn)
        if not table.sqlite:
            # The recorder's own lock: sequences become visible in order, as for any write.
            conn.execute(text(f"LOCK TABLE {table.table.name} IN EXCLUSIVE MODE"))
        head = table.head(conn)
        if head and not append:
            raise ImportRefused(f"the database already holds {head} events; --append adds to them")
        _refuse_clashes(conn, table, checked.aggregates)
        renumbered = checked.first_sequence <= head
        _write(conn, table, path, transcoder, keep_sequences=not renumbered)
    return Imported(checked.events, len(checked.aggregates), renumbered)


def _refuse_clashes(conn: Connection, table: EventsTable, aggregates: set[UUID]) -> None:
    ids = list(aggregates)
    for start in range(0, len(ids), BATCH):
        chunk = [table.stored_id(i) for i in ids[start : start + BATCH]]
        query = select(table.table.c.originator_id).where(table.table.c.originator_id.in_(chunk)).limit(1)
        clash = conn.execute(query).scalar()
        if clash is not None:
            raise ImportRefused(f"aggregate {as_uuid(clash)} exists already: nothing was imported")


def _write(
    conn: Connection, table: EventsTable, path: Path, transcoder: Transcoder, keep_sequences: bool
) -> None:
    columns = ["originator_id", "originator_version", "topic", "state"]
    if keep_sequences:
        columns.insert(0, table.sequence_column)
    values = ", ".join(f":{column}" for column in columns)
    statement = text(f"INSERT INTO {table.table.name} ({', '.join(columns)}) VALUES ({values})")
    batch: list[dict[str, Any]] = []
    for _, event, _claimed in read_file(path, transcoder):
        row = {
            "originator_id": table.stored_id(event.aggregate_id),
            "originator_version": event.version,
            "topic": event.topic,
            "state": event.state,
        }
        batch.append({table.sequence_column: event.sequence, **row} if keep_sequences else row)
        if len(batch) == BATCH:
            conn.execute(statement, batch)
            batch.clear()
    if batch:
        conn.execute(statement, batch)
    if keep_sequences and not table.sqlite:
        name = table.table.name
        serial = f"pg_get_serial_sequence('{name}', 'notification_id')"
        conn.execute(text(f"SELECT setval({serial}, (SELECT max(notification_id) FROM {name}))"))
