"""What every projection shares: its tables, its tracking row and its event handlers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from eventsourcing.domain import DomainEventProtocol
from sqlalchemy import Connection, MetaData, Table, bindparam, insert, select, update

from storyline_service.readmodels import ProjectionTracking

Handler = Callable[[Any, Connection, Any, int], None]


class Tables:
    """A projection's tables by their canonical names: the live ones, or fresh copies for a rebuild."""

    def __init__(self, tables: Iterable[Table], suffix: str = "") -> None:
        if suffix:
            metadata = MetaData()
            copies = []
            for table in tables:
                copy = table.to_metadata(metadata, name=table.name + suffix)
                for index in copy.indexes:
                    index.name = f"{index.name}{suffix}"  # type: ignore[assignment]
                copies.append(copy)
            tables = copies
        self.by_name = {table.name.removesuffix(suffix): table for table in tables}

    def __getitem__(self, name: str) -> Table:
        return self.by_name[name]

    def __iter__(self) -> Any:
        return iter(self.by_name.values())


class Projection:
    """Turns events into rows. Subclasses register handlers per event class."""

    name: ClassVar[str]
    tables: ClassVar[list[Table]]
    handlers: ClassVar[dict[type, Handler]]

    def __init__(self, tables: Tables | None = None) -> None:
        self.t = tables or Tables(self.tables)

    def handles(self, event: DomainEventProtocol[Any]) -> bool:
        return type(event) in self.handlers

    def apply(self, conn: Connection, event: DomainEventProtocol[Any], position: int) -> None:
        self.handlers[type(event)](self, conn, event, position)

    def begin_batch(self) -> None:
        """Called before a batch; projections may drop per-batch caches here."""

    def end_batch(self, conn: Connection) -> None:
        """Called after a batch, in its transaction; projections flush buffered rows here."""

    def position(self, conn: Connection) -> int:
        table = ProjectionTracking.__table__  # type: ignore[attr-defined]
        found = conn.execute(select(table.c.position).where(table.c.name == self.name)).scalar()
        return int(found or 0)

    def advance(self, conn: Connection, old: int, new: int) -> bool:
        """Moves the tracking position, unless someone else already moved it."""
        table = ProjectionTracking.__table__  # type: ignore[attr-defined]
        result = conn.execute(
            update(table).where(table.c.name == self.name, table.c.position == old).values(position=new)
        )
        return result.rowcount == 1


class RowBuffer:
    """A batch's inserts and updates to one table, written in bulk at the end of the batch.

    Within a batch many events touch the same row (a story is created, moved,
    estimated, moved again); merging them turns many statements into one.
    Updates address rows by ``key``; with ``open_column`` they address only the
    row of that key whose ``open_column`` is still null (an open interval).
    Updates are written before inserts, so they only ever touch rows written
    before this flush.
    """

    def __init__(self, table: Table, key: str, open_column: str | None = None) -> None:
        self.table = table
        self.key = key
        self.open_column = open_column
        self.new: dict[Any, dict[str, Any]] = {}
        self.added: list[dict[str, Any]] = []
        self.changed: dict[Any, dict[str, Any]] = {}

    def insert(self, row: dict[str, Any]) -> None:
        self.new[row[self.key]] = row

    def add(self, row: dict[str, Any]) -> dict[str, Any]:
        """Inserts a row whose id the database assigns; returns it for later changes in this batch."""
        self.added.append(row)
        return row

    def update(self, key: Any, **values: Any) -> None:
        target = self.new.get(key)
        if target is not None:
            target.update(values)
        else:
            self.changed.setdefault(key, {}).update(values)

    def pending(self, key: Any) -> dict[str, Any] | None:
        """The row as inserted in this batch, if it was."""
        return self.new.get(key)

    def flush(self, conn: Connection) -> None:
        changes = (
            {"_key": key, **{f"v_{c}": v for c, v in values.items()}} for key, values in self.changed.items()
        )
        for rows in _by_columns(changes):
            columns = [name.removeprefix("v_") for name in rows[0] if name != "_key"]
            where = self.table.c[self.key] == bindparam("_key")
            if self.open_column is not None:
                where = where & self.table.c[self.open_column].is_(None)
            statement = (
                update(self.table)
                .where(where)
                .values({column: bindparam(f"v_{column}") for column in columns})
            )
            conn.execute(statement, rows)
        for rows in _by_columns([*self.new.values(), *self.added]):
            conn.execute(insert(self.table), rows)
        self.new.clear()
        self.added.clear()
        self.changed.clear()


def _by_columns(rows: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows grouped by their set of columns, as executemany needs."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.values())


def on(*event_classes: type) -> Callable[[Handler], Handler]:
    """Marks a method as the handler of the given event classes."""

    def mark(method: Handler) -> Handler:
        method._handles = event_classes  # type: ignore[attr-defined]
        return method

    return mark


def collect_handlers(cls: type[Projection]) -> type[Projection]:
    """Class decorator: builds ``handlers`` from the methods marked with :func:`on`."""
    cls.handlers = {
        event_class: method
        for method in vars(cls).values()
        for event_class in getattr(method, "_handles", ())
    }
    return cls
