"""SQLAlchemy engines for the read models, in the same database as the events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, select
from sqlmodel import Field, SQLModel

from storyline_service import auth, readmodels  # noqa: F401  (registers the tables)
from storyline_service.settings import Settings


def create_engines(settings: Settings) -> tuple[Engine, Engine]:
    """A read engine and a write engine (the same one on PostgreSQL).

    SQLite write transactions begin IMMEDIATE, so that a projection batch waits
    for the write lock up front instead of failing half-way on a busy database.
    """
    if settings.is_postgres:
        connect_args: dict[str, Any] = {"connect_timeout": settings.connect_timeout_seconds}
        if settings.database_schema:
            connect_args["options"] = f"-csearch_path={settings.database_schema}"
        engine = create_engine(
            settings.sqlalchemy_url(),
            connect_args=connect_args,
            pool_pre_ping=True,
            pool_size=settings.pool_size,
            max_overflow=settings.pool_size,
        )
        return engine, engine
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"timeout": settings.lock_timeout_seconds, "check_same_thread": False}
    reader = create_engine(settings.sqlalchemy_url(), connect_args=connect_args)
    writer = create_engine(settings.sqlalchemy_url(), connect_args=connect_args)

    @event.listens_for(writer, "connect")
    def manual_transactions(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(writer, "begin")
    def begin_immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return reader, writer


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
    """Creates missing tables; refuses a database written by a newer Storyline."""
    SQLModel.metadata.create_all(engine)
    with engine.begin() as conn:
        found = conn.execute(select(schema_versions.c.version)).scalar()
        if found is None:
            conn.execute(insert(schema_versions).values(id=1, version=SCHEMA_VERSION))
        elif found > SCHEMA_VERSION:
            raise DatabaseTooNew(
                f"this database was written by a newer Storyline (schema {found}, this one knows "
                f"up to {SCHEMA_VERSION}); upgrade Storyline, or point STORYLINE_DATABASE_URL elsewhere"
            )
