"""Read-side queries over the read models. Each is one indexed query, never a replay.

Lists page by keyset: a page starts strictly after the sort key of the last row
of the previous one. The ``*_pages`` functions answer many lists at once (the
stories of every column of a board, say), one query for all of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Engine, and_, exists, false, func, literal, or_, select, true, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from storyline_service.readmodels import (
    AuditEntryRow,
    BoardRow,
    ColumnRow,
    EpicRow,
    ProjectionTracking,
    RoleRow,
    SprintRow,
    StoryRow,
)

stories = StoryRow.__table__  # type: ignore[attr-defined]

M = TypeVar("M")
Keyset = tuple[Any, ...]  # the sort key of the last row already seen
Attr = InstrumentedAttribute[Any]

# Sort orders of the paged lists, and each row's position in them.
STORY_ORDER: tuple[Attr, ...] = (StoryRow.rank, StoryRow.number)  # type: ignore[assignment]
SPRINT_ORDER: tuple[Attr, ...] = (SprintRow.start_date, SprintRow.id)  # type: ignore[assignment]
AUDIT_ORDER: tuple[Attr, ...] = (AuditEntryRow.sequence,)  # type: ignore[assignment]
BOARD_ORDER: tuple[Attr, ...] = (BoardRow.key,)  # type: ignore[assignment]


def sort_key(row: Any, order: Sequence[Attr]) -> Keyset:
    return tuple(getattr(row, attr.key) for attr in order)


@dataclass(frozen=True)
class StoryCriteria:
    """Which stories a list holds; None means any."""

    text: str | None = None  # in title or description, case-insensitive
    assignee: str | None = None
    label: str | None = None
    type: str | None = None
    epic_key: str | None = None
    sprint_id: str | None = None
    category: str | None = None
    blocked: bool | None = None
    archived: bool | None = False
    backlog: bool = False  # not done, and not in a planned or active sprint


@dataclass(frozen=True)
class AuditCriteria:
    board_key: str | None = None
    story_key: str | None = None
    sprint_id: str | None = None
    actor: str | None = None
    event_types: tuple[str, ...] | None = None
    since: datetime | None = None  # occurred at or after
    until: datetime | None = None  # occurred before


@dataclass(frozen=True)
class EpicTotals:
    total_points: float
    completed_points: float


def _utc(moment: datetime) -> datetime:
    # SQLite keeps times without an offset, all in UTC.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _in_category(category: str) -> ColumnElement[bool]:
    return exists().where(
        ColumnRow.board_key == StoryRow.board_key,
        ColumnRow.key == StoryRow.column,
        ColumnRow.category == category,
    )


def _partition_filter(partition: Sequence[Attr], values: Sequence[tuple[Any, ...]]) -> ColumnElement[bool]:
    if len(partition) == 1:
        return partition[0].in_([value[0] for value in values])
    return or_(*(and_(*(a == v for a, v in zip(partition, value, strict=True))) for value in values))


class Reads:
    """Answers for commands and for the API, from the read models."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # ----- for commands -----

    def stories_in_column(self, board_key: str, column: str) -> int:
        with self.engine.connect() as conn:
            query = select(func.count()).where(
                stories.c.board_key == board_key, stories.c.column == column, stories.c.archived.is_(False)
            )
            return int(conn.execute(query).scalar_one())

    def occupied_columns(self, board_key: str) -> set[str]:
        with self.engine.connect() as conn:
            query = (
                select(stories.c.column)
                .where(stories.c.board_key == board_key, stories.c.archived.is_(False))
                .distinct()
            )
            return set(conn.execute(query).scalars())

    def neighbour_rank(self, board_key: str, rank: str, exclude: str, *, above: bool) -> str | None:
        ordered = stories.c.rank.desc() if above else stories.c.rank.asc()
        beyond = stories.c.rank < rank if above else stories.c.rank > rank
        query = (
            select(stories.c.rank)
            .where(
                stories.c.board_key == board_key,
                stories.c.archived.is_(False),
                stories.c.key != exclude,
                beyond,
            )
            .order_by(ordered)
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    # ----- paging -----

    def _pages(
        self,
        model: type[M],
        partition: Sequence[Attr],
        values: Sequence[tuple[Any, ...]],
        conditions: Iterable[ColumnElement[bool]],
        order: Sequence[Attr],
        limit: int,
        after: Keyset | None,
    ) -> dict[tuple[Any, ...], list[M]]:
        """Up to ``limit`` rows after ``after`` of each partition, in ``order``."""
        where = [_partition_filter(partition, values), *conditions]
        if after is not None:
            where.append(tuple_(*order) > tuple_(*after))
        if len(values) == 1:
            query: Any = select(model).where(*where).order_by(*order).limit(limit)
        else:
            # One query for every partition: number each partition's rows, keep the first few.
            number = func.row_number().over(partition_by=partition, order_by=order).label("_n")
            inner = select(model, number).where(*where).subquery()
            query = select(aliased(model, inner)).where(inner.c._n <= limit).order_by(inner.c._n)
        pages: dict[tuple[Any, ...], list[M]] = {value: [] for value in values}
        with self._session() as session:
            for row in session.scalars(query):
                pages[tuple(getattr(row, attr.key) for attr in partition)].append(row)
        return pages

    def _counts(
        self,
        partition: Sequence[Attr],
        values: Sequence[tuple[Any, ...]],
        conditions: Iterable[ColumnElement[bool]],
    ) -> dict[tuple[Any, ...], int]:
        query = (
            select(*partition, func.count())
            .where(_partition_filter(partition, values), *conditions)
            .group_by(*partition)
        )
        counts = dict.fromkeys(values, 0)
        with self.engine.connect() as conn:
            for *value, count in conn.execute(query):
                counts[tuple(value)] = int(count)
        return counts

    # ----- boards -----

    def boards(self, limit: int, after: Keyset | None) -> list[BoardRow]:
        page = self._pages(BoardRow, [], [()], [], BOARD_ORDER, limit, after)
        return page[()]

    def board_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(BoardRow)).scalar_one())

    def boards_by_key(self, keys: Sequence[str]) -> dict[str, BoardRow]:
        with self._session() as session:
            rows = session.scalars(select(BoardRow).where(BoardRow.key.in_(keys)))  # type: ignore[attr-defined]
            return {row.key: row for row in rows}

    def columns_of(self, board_keys: Sequence[str]) -> dict[str, list[ColumnRow]]:
        columns: dict[str, list[ColumnRow]] = {key: [] for key in board_keys}
        query = (
            select(ColumnRow)
            .where(ColumnRow.board_key.in_(board_keys))  # type: ignore[attr-defined]
            .order_by(ColumnRow.board_key, ColumnRow.position)
        )
        with self._session() as session:
            for row in session.scalars(query):
                columns[row.board_key].append(row)
        return columns

    def roles_of(self, user: str) -> list[RoleRow]:
        query = select(RoleRow).where(RoleRow.user == user).order_by(RoleRow.board_key)
        with self._session() as session:
            return list(session.scalars(query))

    # ----- stories -----

    def stories_by_key(self, keys: Sequence[str]) -> dict[str, StoryRow]:
        with self._session() as session:
            rows = session.scalars(select(StoryRow).where(StoryRow.key.in_(keys)))  # type: ignore[attr-defined]
            return {row.key: row for row in rows}

    def _story_conditions(self, criteria: StoryCriteria) -> list[ColumnElement[bool]]:
        c = criteria
        where: list[ColumnElement[bool]] = []
        if c.archived is not None:
            where.append(StoryRow.archived == c.archived)  # type: ignore[arg-type]
        if c.text:
            text = c.text
            where.append(
                or_(
                    StoryRow.title.icontains(text, autoescape=True),  # type: ignore[attr-defined]
                    StoryRow.description.icontains(text, autoescape=True),  # type: ignore[attr-defined]
                )
            )
        for attr, value in (
            (StoryRow.assignee, c.assignee),
            (StoryRow.type, c.type),
            (StoryRow.epic_key, c.epic_key),
            (StoryRow.sprint_id, c.sprint_id),
        ):
            if value is not None:
                where.append(attr == value)  # type: ignore[arg-type]
        if c.label is not None:
            where.append(self._has_label(c.label))
        if c.category is not None:
            where.append(_in_category(c.category))
        if c.blocked is not None:
            blocked = StoryRow.blocked_reason.is_not(None)  # type: ignore[union-attr]
            where.append(blocked if c.blocked else ~blocked)
        if c.backlog:
            open_sprint = exists().where(SprintRow.id == StoryRow.sprint_id, SprintRow.state != "CLOSED")
            where += [~_in_category("DONE"), ~open_sprint]
        return where

    def _has_label(self, label: str) -> ColumnElement[bool]:
        labels = stories.c.labels
        if self.engine.dialect.name == "postgresql":
            return func.jsonb_exists(func.cast(labels, literal_column_type("jsonb")), label)  # type: ignore[no-any-return]
        each = func.json_each(labels).table_valued("value")
        return exists(select(literal(1)).select_from(each).where(each.c.value == label))

    def story_pages(
        self,
        partition: Sequence[str],
        values: Sequence[tuple[Any, ...]],
        criteria: StoryCriteria,
        limit: int,
        after: Keyset | None,
    ) -> dict[tuple[Any, ...], list[StoryRow]]:
        """The stories of each partition (say, by ``("board_key", "column")``), by rank."""
        attrs = [getattr(StoryRow, name) for name in partition]
        conditions = self._story_conditions(criteria)
        return self._pages(StoryRow, attrs, values, conditions, STORY_ORDER, limit, after)

    def story_counts(
        self, partition: Sequence[str], values: Sequence[tuple[Any, ...]], criteria: StoryCriteria
    ) -> dict[tuple[Any, ...], int]:
        attrs = [getattr(StoryRow, name) for name in partition]
        return self._counts(attrs, values, self._story_conditions(criteria))

    # ----- sprints and epics -----

    def sprints_by_id(self, ids: Sequence[str]) -> dict[str, SprintRow]:
        with self._session() as session:
            rows = session.scalars(select(SprintRow).where(SprintRow.id.in_(ids)))  # type: ignore[attr-defined]
            return {row.id: row for row in rows}

    def sprint_pages(
        self, board_keys: Sequence[str], state: str | None, limit: int, after: Keyset | None
    ) -> dict[str, list[SprintRow]]:
        """Each board's sprints by planned start date."""
        where = [] if state is None else [SprintRow.state == state]
        pages = self._pages(
            SprintRow, [SprintRow.board_key], [(k,) for k in board_keys], where, SPRINT_ORDER, limit, after  # type: ignore[list-item]
        )
        return {key[0]: rows for key, rows in pages.items()}

    def sprint_counts(self, board_keys: Sequence[str], state: str | None) -> dict[str, int]:
        where = [] if state is None else [SprintRow.state == state]
        counts = self._counts([SprintRow.board_key], [(k,) for k in board_keys], where)  # type: ignore[list-item]
        return {key[0]: count for key, count in counts.items()}

    def epics_of(self, board_keys: Sequence[str]) -> dict[str, list[EpicRow]]:
        epics: dict[str, list[EpicRow]] = {key: [] for key in board_keys}
        query = (
            select(EpicRow)
            .where(EpicRow.board_key.in_(board_keys))  # type: ignore[attr-defined]
            .order_by(EpicRow.board_key, EpicRow.number)
        )
        with self._session() as session:
            for row in session.scalars(query):
                epics[row.board_key].append(row)
        return epics

    def epics_by_key(self, keys: Sequence[str]) -> dict[str, EpicRow]:
        with self._session() as session:
            rows = session.scalars(select(EpicRow).where(EpicRow.key.in_(keys)))  # type: ignore[attr-defined]
            return {row.key: row for row in rows}

    def epic_totals(self, keys: Sequence[str]) -> dict[str, EpicTotals]:
        """Points of each epic's stories that are not archived: all, and those in a DONE column."""
        points = func.coalesce(StoryRow.points, 0.0)
        done = func.sum(points).filter(_in_category("DONE"))
        query = (
            select(StoryRow.epic_key, func.sum(points), done)
            .where(StoryRow.epic_key.in_(keys), StoryRow.archived.is_(False))  # type: ignore[union-attr,attr-defined]
            .group_by(StoryRow.epic_key)
        )
        totals = dict.fromkeys(keys, EpicTotals(0.0, 0.0))
        with self.engine.connect() as conn:
            for key, total, completed in conn.execute(query):
                totals[key] = EpicTotals(float(total or 0), float(completed or 0))
        return totals

    # ----- the audit log -----

    def _audit_conditions(self, criteria: AuditCriteria) -> list[ColumnElement[bool]]:
        c = criteria
        where: list[ColumnElement[bool]] = []
        for attr, value in (
            (AuditEntryRow.board_key, c.board_key),
            (AuditEntryRow.story_key, c.story_key),
            (AuditEntryRow.sprint_id, c.sprint_id),
            (AuditEntryRow.actor, c.actor),
        ):
            if value is not None:
                where.append(attr == value)  # type: ignore[arg-type]
        if c.event_types is not None:
            where.append(AuditEntryRow.event_type.in_(c.event_types))  # type: ignore[attr-defined]
        if c.since is not None:
            where.append(AuditEntryRow.occurred_at >= _utc(c.since))  # type: ignore[arg-type]
        if c.until is not None:
            where.append(AuditEntryRow.occurred_at < _utc(c.until))  # type: ignore[arg-type]
        return where

    def audit_pages(
        self,
        partition: Sequence[str],
        values: Sequence[tuple[Any, ...]],
        criteria: AuditCriteria,
        limit: int,
        after: Keyset | None,
    ) -> dict[tuple[Any, ...], list[AuditEntryRow]]:
        """Audit entries of each partition (say, by ``("story_key",)``) in log order."""
        attrs = [getattr(AuditEntryRow, name) for name in partition]
        conditions = self._audit_conditions(criteria)
        return self._pages(AuditEntryRow, attrs, values, conditions, AUDIT_ORDER, limit, after)

    def audit_counts(
        self, partition: Sequence[str], values: Sequence[tuple[Any, ...]], criteria: AuditCriteria
    ) -> dict[tuple[Any, ...], int]:
        attrs = [getattr(AuditEntryRow, name) for name in partition]
        return self._counts(attrs, values, self._audit_conditions(criteria))

    def audit_entry(self, sequence: int) -> AuditEntryRow | None:
        with self._session() as session:
            return session.get(AuditEntryRow, sequence)

    def last_audit_sequence(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(AuditEntryRow.sequence))).scalar() or 0)

    # ----- identity and health -----

    def find_node(self, node_id: str) -> tuple[str, str] | None:
        """The type name and key (the id, for sprints) of the board, story, sprint or epic with this id."""
        query = (
            select(literal("Board"), BoardRow.key)
            .where(BoardRow.id == node_id)
            .union_all(
                select(literal("Story"), StoryRow.key).where(StoryRow.id == node_id),
                select(literal("Sprint"), SprintRow.id).where(SprintRow.id == node_id),
                select(literal("Epic"), EpicRow.key).where(EpicRow.id == node_id),
            )
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (str(row[0]), str(row[1])) if row else None

    def projection_positions(self) -> dict[str, int]:
        """Raises if the database cannot be reached."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(ProjectionTracking.name, ProjectionTracking.position)).all()
        return {str(name): int(position) for name, position in rows}


_ = (true, false)
