"""Read models: SQLModel tables that projections keep up to date from the event log."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Dialect, Index, String, Table, TypeDecorator
from sqlmodel import Field, SQLModel

# Ranks compare byte by byte everywhere; PostgreSQL's default collation would not.
RankType = String(64).with_variant(String(64, collation="C"), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend; SQLite alone would hand back naive ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; give a time-zone offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def table_of(model: Any) -> Table:
    """A read model's table, for Core statements."""
    return model.__table__  # type: ignore[no-any-return]


def utc_datetime(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


def json_field(**kwargs: Any) -> Any:
    return Field(sa_column=Column(JSON, **kwargs))


class ProjectionTracking(SQLModel, table=True):
    """Each projection's position in the event log, written with its row changes."""

    __tablename__ = "projection_tracking"
    name: str = Field(primary_key=True)
    position: int = Field(sa_type=BigInteger)


# ----- current state -----


class BoardRow(SQLModel, table=True):
    __tablename__ = "boards"
    key: str = Field(primary_key=True)
    id: str = Field(index=True, unique=True)
    name: str
    version: int
    active_sprint_id: str | None = None
    created_at: datetime = utc_datetime()
    updated_at: datetime = utc_datetime()


class ArchivedBoardRow(SQLModel, table=True):
    """Boards archived: they leave the lists (a table of its own, so that databases
    recorded before archiving existed gain it as they start)."""

    __tablename__ = "archived_boards"
    board_key: str = Field(primary_key=True)
    archived_at: datetime = utc_datetime()


class ColumnRow(SQLModel, table=True):
    __tablename__ = "board_columns"
    board_key: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    position: int
    name: str
    category: str
    wip_limit: int | None = None


class RoleRow(SQLModel, table=True):
    __tablename__ = "board_roles"
    board_key: str = Field(primary_key=True)
    user: str = Field(primary_key=True, index=True)
    role: str


class MemberRow(SQLModel, table=True):
    """Who has a role on a board, and since when: the time their current role was granted."""

    __tablename__ = "board_members"
    board_id: str = Field(primary_key=True)
    user: str = Field(primary_key=True)
    board_key: str = Field(index=True)
    role: str
    granted_at: datetime = utc_datetime()


class StoryRow(SQLModel, table=True):
    __tablename__ = "stories"
    __table_args__ = (
        Index("ix_stories_board_rank", "board_key", "archived", "rank", "number"),
        Index("ix_stories_column_rank", "board_key", "column", "archived", "rank", "number"),
        Index("ix_stories_sprint_rank", "sprint_id", "rank", "number"),
        Index("ix_stories_epic", "epic_key"),
    )
    key: str = Field(primary_key=True)
    id: str = Field(index=True, unique=True)
    board_key: str
    number: int
    title: str
    description: str
    type: str
    priority: str
    labels: list[str] = json_field()
    points: float | None = None
    assignee: str | None = None
    column: str
    epic_key: str | None = None
    sprint_id: str | None = None
    rank: str = Field(sa_type=RankType)
    blocked_reason: str | None = None
    archived: bool = False
    version: int
    created_at: datetime = utc_datetime()
    updated_at: datetime = utc_datetime()


class SprintRow(SQLModel, table=True):
    __tablename__ = "sprints"
    __table_args__ = (Index("ix_sprints_board_state", "board_key", "state", "start_date"),)
    id: str = Field(primary_key=True)
    board_key: str
    name: str
    goal: str | None = None
    state: str
    start_date: date
    end_date: date
    started_at: datetime | None = utc_datetime(default=None)
    completed_at: datetime | None = utc_datetime(default=None)
    version: int
    created_at: datetime = utc_datetime()


class EpicRow(SQLModel, table=True):
    __tablename__ = "epics"
    key: str = Field(primary_key=True)
    id: str = Field(index=True, unique=True)
    board_key: str = Field(index=True)
    number: int
    title: str
    target_date: date | None = None
    version: int


# ----- history (business time: occurred_at) -----


class StoryVersionRow(SQLModel, table=True):
    """A story as it stood over [valid_from, valid_to): board as-of is one indexed query."""

    __tablename__ = "story_versions"
    __table_args__ = (
        Index("ix_story_versions_board_time", "board_key", "valid_from", "valid_to"),
        Index("ix_story_versions_story_time", "story_key", "valid_from"),
        Index("ix_story_versions_current", "story_id", "valid_to"),
        Index("ix_story_versions_sprint_time", "sprint_id", "valid_from"),
    )
    id: int | None = Field(default=None, primary_key=True)
    story_id: str
    story_key: str
    board_key: str
    version: int
    valid_from: datetime = utc_datetime()
    valid_to: datetime | None = utc_datetime(default=None)
    title: str
    points: float | None = None
    column: str
    assignee: str | None = None
    sprint_id: str | None = None
    epic_key: str | None = None
    rank: str = Field(sa_type=RankType)
    blocked: bool
    archived: bool


class BoardVersionRow(SQLModel, table=True):
    __tablename__ = "board_versions"
    __table_args__ = (
        Index("ix_board_versions_time", "board_key", "valid_from"),
        Index("ix_board_versions_id", "board_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    board_id: str
    board_key: str
    valid_from: datetime = utc_datetime()
    valid_to: datetime | None = utc_datetime(default=None)
    columns: list[dict[str, Any]] = json_field()


class BoardCalendarRow(SQLModel, table=True):
    """A board's working calendar over business time (WorkingCalendar.fields() in ``calendar``)."""

    __tablename__ = "board_calendars"
    __table_args__ = (Index("ix_board_calendars_time", "board_key", "valid_from"),)
    id: int | None = Field(default=None, primary_key=True)
    board_id: str = Field(index=True)
    board_key: str
    valid_from: datetime = utc_datetime()
    valid_to: datetime | None = utc_datetime(default=None)
    calendar: dict[str, Any] = json_field()


class StatusIntervalRow(SQLModel, table=True):
    """Time a story spent in one column: the basis of time in status, cycle and lead time."""

    __tablename__ = "status_intervals"
    __table_args__ = (
        Index("ix_status_intervals_story", "story_key", "entered_at"),
        # Sprint reports read only the DONE spans: their cost stays independent of moves.
        Index("ix_status_intervals_story_category", "story_key", "category", "entered_at"),
        Index("ix_status_intervals_board_time", "board_key", "entered_at"),
        Index("ix_status_intervals_board_left", "board_key", "left_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    story_key: str
    board_key: str
    column: str
    category: str
    entered_at: datetime = utc_datetime()
    left_at: datetime | None = utc_datetime(default=None)


class BlockedIntervalRow(SQLModel, table=True):
    __tablename__ = "blocked_intervals"
    id: int | None = Field(default=None, primary_key=True)
    story_key: str = Field(index=True)
    reason: str
    blocked_at: datetime = utc_datetime()
    unblocked_at: datetime | None = utc_datetime(default=None)


class EstimateIntervalRow(SQLModel, table=True):
    __tablename__ = "estimate_intervals"
    __table_args__ = (Index("ix_estimate_intervals_story", "story_key", "valid_from"),)
    id: int | None = Field(default=None, primary_key=True)
    story_key: str
    points: float | None = None
    valid_from: datetime = utc_datetime()
    valid_to: datetime | None = utc_datetime(default=None)
    actor: str


class SprintMembershipRow(SQLModel, table=True):
    """A story's stay in a sprint, with the points it had when it joined and left."""

    __tablename__ = "sprint_memberships"
    __table_args__ = (Index("ix_sprint_memberships_sprint", "sprint_id", "joined_at"),)
    id: int | None = Field(default=None, primary_key=True)
    sprint_id: str
    story_key: str
    joined_at: datetime = utc_datetime()
    joined_by: str
    joined_points: float | None = None
    carried_from: str | None = None
    left_at: datetime | None = utc_datetime(default=None)
    left_by: str | None = None
    left_points: float | None = None
    left_reason: str | None = None  # removed, carried_over


class SprintHistoryRow(SQLModel, table=True):
    """A sprint's lifecycle and the commitment recorded at its start."""

    __tablename__ = "sprint_history"
    sprint_id: str = Field(primary_key=True)
    board_key: str = Field(index=True)
    state: str
    start_date: date
    end_date: date
    started_at: datetime | None = utc_datetime(default=None)
    completed_at: datetime | None = utc_datetime(default=None)
    commitment: dict[str, float | None] = json_field(nullable=True)
    completed: dict[str, float | None] = json_field(nullable=True)
    carried_over: dict[str, float | None] = json_field(nullable=True)


# ----- audit -----


class AuditEntryRow(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_board", "board_key", "sequence"),
        Index("ix_audit_story", "story_key", "sequence"),
        Index("ix_audit_sprint", "sprint_id", "sequence"),
        Index("ix_audit_actor", "actor", "sequence"),
        Index("ix_audit_occurred", "occurred_at"),
    )
    sequence: int = Field(primary_key=True, sa_type=BigInteger)
    occurred_at: datetime = utc_datetime()
    recorded_at: datetime = utc_datetime()
    actor: str
    correlation_id: str
    board_key: str
    entity_type: str
    entity_key: str
    event_type: str
    summary: str
    changes: list[dict[str, Any]] = json_field()
    story_key: str | None = None
    sprint_id: str | None = None


class AuditNameRow(SQLModel, table=True):
    """What the audit projection needs to name things: keys, boards, sprint and column names."""

    __tablename__ = "audit_names"
    entity_id: str = Field(primary_key=True)
    entity_type: str
    key: str
    board_key: str
    label: str
    columns: dict[str, str] | None = json_field(nullable=True)
