"""What every projection shares: its tables, its tracking row and its event handlers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any, ClassVar, NamedTuple

from eventsourcing.domain import DomainEventProtocol
from sqlalchemy import Connection, Dialect, MetaData, Table, and_, bindparam, insert, update

from storyline_service.readmodels import UTCDateTime

Handler = Callable[[Any, Connection, Any, int], None]
REMEMBERED = 20_000  # rows a projection remembers across batches, per kind, before it starts afresh


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
    """Turns events into rows. Subclasses register handlers per event class.

    Projections may remember rows across batches (names, open versions) to spare
    a query per event. What they remember is valid only while their batches follow
    one another: ``through`` is the position their memory reflects, and a batch
    that starts anywhere else (another process projected in between, or a batch
    failed) starts from a clean memory.
    """

    name: ClassVar[str]
    tables: ClassVar[list[Table]]
    handlers: ClassVar[dict[type, Handler]]
    # False for what the log cannot give back as it was (the hash chain): never replaced by a rebuild.
    rebuildable: ClassVar[bool] = True

    def __init__(self, tables: Tables | None = None) -> None:
        self.t = tables or Tables(self.tables)
        self.through: int | None = None
        self.forget()

    def apply(self, conn: Connection, event: DomainEventProtocol[Any], position: int) -> None:
        self.handlers[type(event)](self, conn, event, position)

    def broken_invariants(self, conn: Connection) -> list[str]:
        """Rules the projection's rows must keep whatever the log says; subclasses check theirs."""
        return []

    def forget(self) -> None:
        """Drops everything remembered across batches; subclasses extend it."""
        self.through = None

    def remembers(self) -> int:
        """How many rows the projection remembers; subclasses that remember rows count them."""
        return 0

    def receive(self, events: Sequence[tuple[int, Any]]) -> None:
        """Called with the whole batch (as read, possibly from before ``after``) before ``begin_batch``."""

    def begin_batch(self, after: int) -> None:
        """Called before a batch of the events after ``after``."""
        follows_on = after == self.through
        self.through = None  # until this batch is written
        if not follows_on or self.remembers() > REMEMBERED:
            self.forget()

    def end_batch(self, conn: Connection, last: int) -> None:
        """Called after a batch, in its transaction; subclasses flush buffered rows first."""
        self.through = last


class RowBuffer:
    """A batch's inserts and updates to one table, written in bulk at the end of the batch.

    Within a batch many events touch the same row (a story is created, moved,
    estimated, moved again); merging them turns many statements into one.
    Updates address rows by ``key`` (a column or a tuple of columns). With
    ``open_column`` the table holds intervals: updates address only the row of
    that key whose ``open_column`` is still null, whether it is pending in this
    batch or already written. Updates are written before inserts, so they only
    ever touch rows written before this flush.
    """

    def __init__(self, table: Table, key: str | tuple[str, ...], open_column: str | None = None) -> None:
        self.table = table
        self.key_columns = (key,) if isinstance(key, str) else key
        self.open_column = open_column
        self.new: dict[Any, dict[str, Any]] = {}  # rows inserted by key
        self.added: list[dict[str, Any]] = []  # rows whose id the database assigns
        self.open: dict[Any, dict[str, Any]] = {}  # pending rows of open intervals, by key
        self.changed: dict[Any, dict[str, Any]] = {}  # updates to rows written before
        # A row's key: its one key column's value, or a tuple of them.
        self.key_of: Callable[[dict[str, Any]], Any] = itemgetter(*self.key_columns)

    def insert(self, row: dict[str, Any]) -> None:
        self.new[self.key_of(row)] = row

    def add(self, row: dict[str, Any]) -> None:
        """Inserts a row whose id the database assigns; with ``open_column``, opens its key's interval."""
        self.added.append(row)
        if self.open_column is not None and row.get(self.open_column) is None:
            self.open[self.key_of(row)] = row

    def update(self, key: Any, **values: Any) -> None:
        target = self.new.get(key)
        if target is None and self.open_column is not None:
            target = self.open.get(key)
            if target is not None and values.get(self.open_column) is not None:
                del self.open[key]  # closed: the next update of this key is for a later interval
        if target is not None:
            target.update(values)
        else:
            self.changed.setdefault(key, {}).update(values)

    def pending(self, key: Any) -> dict[str, Any] | None:
        """The row as inserted in this batch, if it was."""
        return self.new.get(key)

    def flush(self, conn: Connection) -> None:
        keys = [f"k_{column}" for column in self.key_columns]
        changes = (
            {
                **dict(zip(keys, key if len(keys) > 1 else (key,), strict=True)),
                **{f"v_{column}": value for column, value in values.items()},
            }
            for key, values in self.changed.items()
        )
        for rows in _by_columns(changes):
            columns = tuple(name.removeprefix("v_") for name in rows[0] if name.startswith("v_"))
            execute_many(conn, _update(self.table, self.key_columns, self.open_column, columns), rows)
        for rows in _by_columns([*self.new.values(), *self.added]):
            execute_many(conn, _insert(self.table), rows)
        self.new.clear()
        self.added.clear()
        self.open.clear()
        self.changed.clear()


@lru_cache(maxsize=1024)  # rebuilds and verifies make fresh tables
def _update(table: Table, keys: tuple[str, ...], open_column: str | None, columns: tuple[str, ...]) -> Any:
    """The UPDATE of ``columns`` by key, built once: building statements costs more than running them."""
    where = and_(*(table.c[column] == bindparam(f"k_{column}") for column in keys))
    if open_column is not None:
        where = where & table.c[open_column].is_(None)
    return update(table).where(where).values({column: bindparam(f"v_{column}") for column in columns})


@lru_cache(maxsize=1024)
def _insert(table: Table) -> Any:
    return insert(table)


def execute_many(conn: Connection, statement: Any, rows: list[dict[str, Any]]) -> None:
    """Runs ``statement`` once per row (all with the same keys) as a prepared driver-level executemany.

    The values go through the same type conversions as with ``conn.execute``, but
    without SQLAlchemy's per-row bookkeeping, which costs more than the driver's work.
    On PostgreSQL many rows to insert are sent with COPY: one statement rather than one per row."""
    prepared = _prepared(statement, tuple(rows[0]), conn.dialect)
    if prepared is None:
        conn.execute(statement, rows)
        return
    values = prepared.values(rows)
    if prepared.copy and len(values) > 1:
        driver = conn.connection.driver_connection  # psycopg's, in this transaction
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(prepared.copy) as copy:
            for row in values:
                copy.write_row(row)
    elif prepared.names is None:
        conn.exec_driver_sql(prepared.sql, values)
    else:
        conn.exec_driver_sql(prepared.sql, [dict(zip(prepared.names, row, strict=True)) for row in values])


class Prepared(NamedTuple):
    sql: str
    values: Callable[[list[dict[str, Any]]], list[tuple[Any, ...]]]  # rows as the driver takes them
    names: list[str] | None  # the parameters' names, for drivers that take them by name
    copy: str | None  # PostgreSQL inserts: the COPY that loads the same rows


@lru_cache(maxsize=1024)
def _prepared(statement: Any, keys: tuple[str, ...], dialect: Dialect) -> Prepared | None:
    """``statement`` compiled for rows with ``keys``, and what turns rows into its parameters;
    None when SQLAlchemy must compute values of its own (column defaults)."""
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.postfetch:
        return None
    names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
    get = itemgetter(*names)
    processors = [(i, _processor(compiled.binds[name].type, dialect)) for i, name in enumerate(names)]
    # Most conversions leave None as it is (JSON makes it 'null'): those skip the many nulls.
    keeps_none = [(i, p) for i, p in processors if p is not None and _keeps_none(p)]
    converts_none = [(i, p) for i, p in processors if p is not None and not _keeps_none(p)]

    def values(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        # Column by column: one conversion loop per column rather than per row and column.
        tuples = map(get, rows) if len(names) > 1 else ((get(row),) for row in rows)
        columns: list[Any] = list(zip(*tuples, strict=True))
        for i, processor in keeps_none:
            columns[i] = [value if value is None else processor(value) for value in columns[i]]
        for i, processor in converts_none:
            columns[i] = list(map(processor, columns[i]))
        return list(zip(*columns, strict=True))

    copy = None
    if dialect.name == "postgresql" and statement.is_insert:
        quote = dialect.identifier_preparer
        columns = ", ".join(quote.quote(statement.table.c[name].name) for name in names)
        copy = f"COPY {quote.format_table(statement.table)} ({columns}) FROM STDIN"
    escaped = None if compiled.positional else [compiled.escaped_bind_names.get(n, n) for n in names]
    return Prepared(compiled.string, values, escaped, copy)


def _processor(type_: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    if isinstance(type_, UTCDateTime):
        return _utc_datetime(dialect)
    return type_._cached_bind_processor(dialect)  # type: ignore[no-any-return]


@lru_cache(maxsize=8)
def _utc_datetime(dialect: Dialect) -> Callable[[Any], Any]:
    """The conversion of UTC datetimes, remembering recent ones: an event's time goes into several
    rows (its audit entry, the intervals and versions it closes and opens). Equal datetimes are
    the same instant, so they convert alike."""
    return lru_cache(maxsize=4096)(UTCDateTime()._cached_bind_processor(dialect))  # type: ignore[arg-type]


def _keeps_none(processor: Callable[[Any], Any]) -> bool:
    try:
        return processor(None) is None
    except Exception:
        return False


def _by_columns(rows: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows grouped by their columns, as executemany needs (rows built alike list them alike)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
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
