"""SQLAlchemy engines for the read models, tokens and rate limits, in the same database as the events."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event, insert, inspect, select
from sqlmodel import Field, SQLModel

from storyline_service import auth, readmodels  # noqa: F401  (registers the tables)
from storyline_service.settings import Settings
from storyline_service.webhooks import store  # noqa: F401  (registers the tables)

# PostgreSQL's own keepalive probes, every 2 s after 5 s idle, 3 unanswered ones ending the session.
# A process whose host vanished (power, network) never closes its socket; by default PostgreSQL
# would keep its session, and the advisory locks it holds (projections, webhooks), for two hours.
SERVER_KEEPALIVES = ("-ctcp_keepalives_idle=5", "-ctcp_keepalives_interval=2", "-ctcp_keepalives_count=3")


@dataclass(frozen=True)
class Engines:
    """Where each kind of data is read and written.

    ``derived`` writes what the event log can always give back: the read models
    with their tracking positions, and rate-limit counts. Its commits skip the
    wait for the disk (SQLite ``synchronous=NORMAL`` in WAL mode, PostgreSQL
    ``synchronous_commit=off``): a power cut may undo the last of them, never
    half of one, and projections then redo those batches from the log. Tokens
    and everything else go through ``write``, whose commits are durable.
    """

    read: Engine
    write: Engine
    derived: Engine

    def dispose(self) -> None:
        for engine in {self.read, self.write, self.derived}:
            engine.dispose()


def create_engines(settings: Settings) -> Engines:
    """SQLite write transactions begin IMMEDIATE, so that a projection batch waits
    for the write lock up front instead of failing half-way on a busy database."""
    if settings.is_postgres:
        options = [
            f"-clock_timeout={settings.lock_timeout_seconds}s",
            f"-cstatement_timeout={settings.statement_timeout_seconds}s",
            *SERVER_KEEPALIVES,
        ]
        if settings.database_schema:
            options.append(f"-csearch_path={settings.database_schema}")
        connect_args: dict[str, Any] = {
            "connect_timeout": settings.connect_timeout_seconds,
            "options": " ".join(options),
        }
        engine = create_engine(
            settings.sqlalchemy_url(),
            connect_args=connect_args,
            pool_pre_ping=True,
            pool_size=settings.pool_size,
            max_overflow=settings.pool_size,
            # A database that stopped answering gives a 503 (Retry-After) soon, not a hung request.
            pool_timeout=settings.connect_timeout_seconds,
        )
        derived = engine.execution_options()  # the same pool, with its own begin hook

        @event.listens_for(derived, "begin")
        def commit_without_waiting(conn: Any) -> None:
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")

        return Engines(engine, engine, derived)
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"timeout": settings.lock_timeout_seconds, "check_same_thread": False}
    reader = create_engine(settings.sqlalchemy_url(), connect_args=connect_args)
    return Engines(
        reader, _sqlite_writer(settings, connect_args), _sqlite_writer(settings, connect_args, "NORMAL")
    )


def connect(settings: Settings, purpose: str) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit PostgreSQL connection outside the pools, for LISTEN and advisory locks."""
    url = settings.url
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        dbname=url.database,
        user=url.username,
        password=url.password,
        autocommit=True,
        # pg_stat_activity then shows which process holds which lock.
        application_name=f"storyline {purpose} pid={os.getpid()}",
        connect_timeout=settings.connect_timeout_seconds,
        options=" ".join(SERVER_KEEPALIVES),
        # A database that vanished without closing its socket is noticed within about 10 s.
        keepalives=1,
        keepalives_idle=5,
        keepalives_interval=2,
        keepalives_count=3,
    )


def advisory_key(settings: Settings, what: str) -> int:
    """A stable 64-bit advisory-lock key per database schema (advisory locks are database-wide)."""
    name = f"storyline/{settings.database_schema or 'public'}/{what}"
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def one_setup_at_a_time(settings: Settings) -> Iterator[None]:
    """Serialises creating tables, types and functions across processes starting together.

    API replicas and projector workers on one PostgreSQL database start at once; PostgreSQL's
    CREATE ... IF NOT EXISTS and CREATE OR REPLACE FUNCTION fail when two sessions race
    ("tuple concurrently updated"), which would stop a replica at start-up."""
    if not settings.is_postgres:
        yield  # one process per SQLite file
        return
    with connect(settings, "setup") as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (advisory_key(settings, "setup"),))
        yield  # closing the session releases the lock, also when setting up failed


def _sqlite_writer(settings: Settings, connect_args: dict[str, Any], synchronous: str = "FULL") -> Engine:
    writer = create_engine(settings.sqlalchemy_url(), connect_args=connect_args)

    @event.listens_for(writer, "connect")
    def manual_transactions(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA synchronous = {synchronous}")

    @event.listens_for(writer, "begin")
    def begin_immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return writer


class SchemaVersionRow(SQLModel, table=True):
    """The version of Storyline's tables that this database was written with."""

    __tablename__ = "storyline_schema"
    id: int = Field(default=1, primary_key=True)
    version: int


SCHEMA_VERSION = 1
schema_versions = SchemaVersionRow.__table__  # type: ignore[attr-defined]


class DatabaseTooNew(Exception):
    pass


def create_tables(engine: Engine) -> None:
    """Creates missing tables and indexes; refuses a database written by a newer Storyline."""
    SQLModel.metadata.create_all(engine)
    with engine.begin() as conn:
        # create_all adds no index to a table that exists: a database from before an index was added.
        existing = {
            table: {index["name"] for index in indexes}
            for (_, table), indexes in inspect(conn).get_multi_indexes().items()
        }
        for table in SQLModel.metadata.sorted_tables:
            for index in table.indexes:
                if index.name not in existing.get(table.name, {index.name}):
                    index.create(conn)
    with engine.begin() as conn:
        found = conn.execute(select(schema_versions.c.version)).scalar()
        if found is None:
            conn.execute(insert(schema_versions).values(id=1, version=SCHEMA_VERSION))
        elif found > SCHEMA_VERSION:
            raise DatabaseTooNew(
                f"this database was written by a newer Storyline (schema {found}, this one knows "
                f"up to {SCHEMA_VERSION}); upgrade Storyline, or point STORYLINE_DATABASE_URL elsewhere"
            )
