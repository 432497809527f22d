"""Time travel: a story or a whole board exactly as the events say it stood at an instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, or_, select

from storyline_service.readmodels import BoardVersionRow, StoryVersionRow

versions = StoryVersionRow.__table__  # type: ignore[attr-defined]
board_versions = BoardVersionRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StorySnapshot:
    key: str
    title: str
    points: float | None
    status: str  # column key
    assignee: str | None
    sprint_id: str | None
    blocked: bool
    version: int
    rank: str


@dataclass(frozen=True)
class SnapshotColumn:
    key: str
    name: str
    category: str
    stories: list[StorySnapshot]


@dataclass(frozen=True)
class BoardSnapshot:
    at: datetime
    columns: list[SnapshotColumn]


def _valid_at(at: datetime) -> Any:
    return (versions.c.valid_from <= at) & or_(versions.c.valid_to.is_(None), versions.c.valid_to > at)


def _snapshot(row: Any) -> StorySnapshot:
    return StorySnapshot(
        key=row.story_key,
        title=row.title,
        points=row.points,
        status=row.column,
        assignee=row.assignee,
        sprint_id=row.sprint_id,
        blocked=row.blocked,
        version=row.version,
        rank=row.rank,
    )


def story_as_of(engine: Engine, story_key: str, at: datetime) -> StorySnapshot | None:
    """The story at ``at``; None if it did not exist yet."""
    query = (
        select(versions)
        .where(versions.c.story_key == story_key, _valid_at(at))
        .order_by(versions.c.version.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return _snapshot(row) if row else None


def board_as_of(engine: Engine, board_key: str, at: datetime) -> BoardSnapshot | None:
    """The board's columns at ``at``, each with its stories by the rank they had then.

    Archived stories had left the board; None if the board did not exist yet.
    """
    columns_query = (
        select(board_versions.c.columns)
        .where(board_versions.c.board_key == board_key, board_versions.c.valid_from <= at)
        .order_by(board_versions.c.valid_from.desc(), board_versions.c.id.desc())
        .limit(1)
    )
    stories_query = (
        select(versions)
        .where(versions.c.board_key == board_key, _valid_at(at), versions.c.archived.is_(False))
        .order_by(versions.c.rank, versions.c.story_key)
    )
    with engine.connect() as conn:
        columns = conn.execute(columns_query).scalar()
        if columns is None:
            return None
        rows = conn.execute(stories_query).all()
    by_column: dict[str, list[StorySnapshot]] = {column["key"]: [] for column in columns}
    for row in rows:
        by_column.setdefault(row.column, []).append(_snapshot(row))
    return BoardSnapshot(
        at=at,
        columns=[SnapshotColumn(c["key"], c["name"], c["category"], by_column[c["key"]]) for c in columns],
    )
