"""What every projection shares: its tables, its tracking row and its event handlers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from eventsourcing.domain import DomainEventProtocol
from sqlalchemy import Connection, MetaData, Table, delete, select, update

from storyline_service.readmodels import ProjectionTracking

Handler = Callable[[Any, Connection, Any, int], None]


class Tables:
    """A projection's tables by their canonical names: the live ones, or fresh copies for a rebuild."""

    def __init__(self, tables: Iterable[Table], suffix: str = "") -> None:
        self.suffix = suffix
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

    def reset(self, conn: Connection) -> None:
        for table in self.t:
            conn.execute(delete(table))


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
