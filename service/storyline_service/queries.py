"""Read-side queries over the read models. Each is one indexed query, never a replay.

Lists page by keyset: a page starts strictly after the sort key of the last row
of the previous one, or, reading backward, strictly before the first row of the
next one. The ``*_pages`` functions answer many lists at once (the
stories of every column of a board, say), one query for all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    ColumnElement,
    Engine,
    Row,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped
from sqlmodel import SQLModel, col

from storyline_service.readmodels import (
    ArchivedBoardRow,
    AuditEntryRow,
    BoardRow,
    ColumnRow,
    EpicRow,
    MemberRow,
    RoleRow,
    SprintRow,
    StoryRow,
    table_of,
)

stories = table_of(StoryRow)
roles = table_of(RoleRow)
# Read on every request: built once, so each use skips building and keying the statement.
ROLES_OF = select(roles).where(roles.c.user == bindparam("user")).order_by(roles.c.board_key)
STORIES_BY_KEY = select(stories).where(
    stories.c.key.in_(bindparam("keys", expanding=True))
)  # every mutation's payload

Record = Row[Any]  # a read-model row as read for the API: its columns as attributes, read-only
Keyset = tuple[Any, ...]  # the sort key of the last row already seen
Attr = Mapped[Any]

# Sort orders of the paged lists, and each row's position in them.
STORY_ORDER: tuple[Attr, ...] = (col(StoryRow.rank), col(StoryRow.number))
SPRINT_ORDER: tuple[Attr, ...] = (col(SprintRow.start_date), col(SprintRow.id))
AUDIT_ORDER: tuple[Attr, ...] = (col(AuditEntryRow.sequence),)
BOARD_ORDER: tuple[Attr, ...] = (col(BoardRow.key),)

# Other orders of a board's stories, each ending with the story number so that ties keep one order.
# Points and priority sort through labelled expressions, selected with the rows so that a row
# carries its own sort key: no estimate sorts below every estimate, and priorities by weight.
_POINTS = func.coalesce(col(StoryRow.points), -1.0).label("points_order")
_PRIORITY = case(
    {name: weight for weight, name in enumerate(("LOWEST", "LOW", "MEDIUM", "HIGH", "HIGHEST"))},
    value=col(StoryRow.priority),
    else_=-1,
).label("priority_order")
STORY_ORDERS: dict[str, tuple[Any, ...]] = {
    "RANK": STORY_ORDER,
    "KEY": (col(StoryRow.number),),
    "CREATED_AT": (col(StoryRow.created_at), col(StoryRow.number)),
    "UPDATED_AT": (col(StoryRow.updated_at), col(StoryRow.number)),
    "POINTS": (_POINTS, col(StoryRow.number)),
    "PRIORITY": (_PRIORITY, col(StoryRow.number)),
}


@dataclass(frozen=True)
class Seek:
    """Where a page of a list starts, and which way it is read."""

    past: Keyset | None = None  # the page starts strictly past this sort key, in the reading direction
    backward: bool = False  # read toward the start of the list (`last`/`before`)
    descending: bool = False  # the list itself runs from the highest sort key down


def _name(attr: Attr) -> str:
    return str(attr.key)  # type: ignore[attr-defined]


def sort_key(row: Any, order: Sequence[Attr]) -> Keyset:
    return tuple(getattr(row, _name(attr)) for attr in order)


UNION_PARTS = 250  # partitions read by one query


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
    order: str = "RANK"  # a key of STORY_ORDERS: how the list is sorted, not which stories it holds


@dataclass(frozen=True)
class AuditCriteria:
    board_key: str | None = None
    story_key: str | None = None
    sprint_id: str | None = None
    actor: str | None = None
    event_types: tuple[str, ...] | None = None
    since: datetime | None = None  # occurred at or after
    until: datetime | None = None  # occurred before
    boards: tuple[str, ...] | None = None  # the boards the reader may see; None: every board


@dataclass(frozen=True)
class EpicTotals:
    total_points: float
    completed_points: float


def _utc(moment: datetime) -> datetime:
    # SQLite keeps times without an offset, all in UTC.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _in_category(category: str) -> ColumnElement[bool]:
    return exists().where(
        col(ColumnRow.board_key) == col(StoryRow.board_key),
        col(ColumnRow.key) == col(StoryRow.column),
        col(ColumnRow.category) == category,
    )


def _partition_filter(partition: Sequence[Attr], values: Sequence[tuple[Any, ...]]) -> ColumnElement[bool]:
    if not partition:
        return true()
    if len(partition) == 1:
        return partition[0].in_([value[0] for value in values])
    return or_(*(and_(*(a == v for a, v in zip(partition, value, strict=True))) for value in values))


def _board_filter(keys: Sequence[str] | None, archived: bool = False) -> list[ColumnElement[bool]]:
    """The boards in ``keys`` (all when None); archived ones only if ``archived``."""
    found: list[ColumnElement[bool]] = [] if keys is None else [col(BoardRow.key).in_(keys)]
    if not archived:
        found.append(col(BoardRow.key).not_in(select(col(ArchivedBoardRow.board_key))))
    return found


class Reads:
    """Answers for commands and for the API, from the read models."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ----- paging -----

    def _pages(
        self,
        model: type[SQLModel],
        partition: Sequence[Attr],
        values: Sequence[tuple[Any, ...]],
        conditions: Iterable[ColumnElement[bool]],
        order: Sequence[Any],
        limit: int,
        seek: Seek,
    ) -> dict[tuple[Any, ...], list[Record]]:
        """Up to ``limit`` rows of each partition from where ``seek`` says, in ``order``.

        Both directions are one scan: reading backward (or a descending list) flips the
        comparison and the index order, and the rows are put back in the list's order.
        Rows, not model instances: a page is read, never changed, and building
        a hundred ORM objects costs more than the query.
        """
        table = table_of(model)
        where = list(conditions)
        downward = seek.backward != seek.descending
        if seek.past is not None:
            position, past = tuple_(*order), tuple_(*seek.past)
            where.append(position < past if downward else position > past)
        scan = [attr.desc() if downward else attr for attr in order]
        computed = [attr for attr in order if attr.key not in table.c]
        # One indexed, limited scan per partition, a few hundred to a query: SQLite refuses a
        # compound SELECT of more than 500 parts.
        parts = [
            select(table, *computed)
            .where(_partition_filter(partition, [value]), *where)
            .order_by(*scan)
            .limit(limit)
            for value in values
        ]
        pages: dict[tuple[Any, ...], list[Record]] = {value: [] for value in values}
        with self.engine.connect() as conn:
            for start in range(0, len(parts), UNION_PARTS):
                chunk = parts[start : start + UNION_PARTS]
                query = chunk[0] if len(chunk) == 1 else union_all(*(p.subquery().select() for p in chunk))
                for row in conn.execute(query):
                    pages[sort_key(row, partition)].append(row)
        for rows in pages.values():
            # A union keeps no order; a backward read comes last row first.
            if len(values) > 1 or seek.backward:
                rows.sort(key=lambda row: sort_key(row, order), reverse=seek.descending)
        return pages

    def _counts(
        self,
        model: type[SQLModel],
        partition: Sequence[Attr],
        values: Sequence[tuple[Any, ...]],
        conditions: Iterable[ColumnElement[bool]],
    ) -> dict[tuple[Any, ...], int]:
        query = (
            select(*partition, func.count())
            .select_from(model)  # counts rows even when nothing else names the table
            .where(_partition_filter(partition, values), *conditions)
            .group_by(*partition)
        )
        counts = dict.fromkeys(values, 0)
        with self.engine.connect() as conn:
            for *value, count in conn.execute(query):
                counts[tuple(value)] = int(count)
        return counts

    # ----- boards -----

    def boards(
        self, limit: int, seek: Seek, keys: Sequence[str] | None = None, archived: bool = False
    ) -> list[Record]:
        """By key; only the boards in ``keys``, unless it is None; archived ones only if ``archived``."""
        page = self._pages(BoardRow, [], [()], _board_filter(keys, archived), BOARD_ORDER, limit, seek)
        return page[()]

    def board_count(self, keys: Sequence[str] | None = None, archived: bool = False) -> int:
        query = select(func.count()).select_from(BoardRow).where(*_board_filter(keys, archived))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def board_keys(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(col(BoardRow.key)).order_by(col(BoardRow.key))).scalars())

    def _rows(self, query: Any, params: dict[str, Any] | None = None) -> list[Record]:
        with self.engine.connect() as conn:
            return list(conn.execute(query, params))

    def boards_by_key(self, keys: Sequence[str]) -> dict[str, Record]:
        return {
            row.key: row for row in self._rows(select(table_of(BoardRow)).where(col(BoardRow.key).in_(keys)))
        }

    def archived_boards(self, keys: Sequence[str]) -> dict[str, Record]:
        table = table_of(ArchivedBoardRow)
        return {row.board_key: row for row in self._rows(select(table).where(table.c.board_key.in_(keys)))}

    def columns_of(self, board_keys: Sequence[str]) -> dict[str, list[Record]]:
        columns: dict[str, list[Record]] = {key: [] for key in board_keys}
        query = (
            select(table_of(ColumnRow))
            .where(col(ColumnRow.board_key).in_(board_keys))
            .order_by(col(ColumnRow.board_key), col(ColumnRow.position))
        )
        for row in self._rows(query):
            columns[row.board_key].append(row)
        return columns

    def roles_of(self, user: str) -> list[Record]:
        return self._rows(ROLES_OF, {"user": user})

    # ----- stories -----

    def stories_by_key(self, keys: Sequence[str]) -> dict[str, Record]:
        return {row.key: row for row in self._rows(STORIES_BY_KEY, {"keys": list(keys)})}

    def _story_conditions(self, criteria: StoryCriteria) -> list[ColumnElement[bool]]:
        c = criteria
        where: list[ColumnElement[bool]] = []
        if c.archived is not None:
            where.append(col(StoryRow.archived) == c.archived)
        if c.text:
            text = c.text
            where.append(
                or_(
                    col(StoryRow.title).icontains(text, autoescape=True),
                    col(StoryRow.description).icontains(text, autoescape=True),
                )
            )
        for attr, value in (
            (col(StoryRow.assignee), c.assignee),
            (col(StoryRow.type), c.type),
            (col(StoryRow.epic_key), c.epic_key),
            (col(StoryRow.sprint_id), c.sprint_id),
        ):
            if value is not None:
                where.append(attr == value)
        if c.label is not None:
            where.append(self._has_label(c.label))
        if c.category is not None:
            where.append(_in_category(c.category))
        if c.blocked is not None:
            blocked = col(StoryRow.blocked_reason).is_not(None)
            where.append(blocked if c.blocked else ~blocked)
        if c.backlog:
            open_sprint = exists().where(
                col(SprintRow.id) == col(StoryRow.sprint_id), col(SprintRow.state) != "CLOSED"
            )
            where += [~_in_category("DONE"), ~open_sprint]
        return where

    def _has_label(self, label: str) -> ColumnElement[bool]:
        labels = stories.c.labels
        if self.engine.dialect.name == "postgresql":
            return sa.cast(labels, JSONB).contains([label])
        each = func.json_each(labels).table_valued("value")
        return exists(select(literal(1)).select_from(each).where(each.c.value == label))

    def story_pages(
        self,
        partition: Sequence[str],
        values: Sequence[tuple[Any, ...]],
        criteria: StoryCriteria,
        limit: int,
        seek: Seek,
    ) -> dict[tuple[Any, ...], list[Record]]:
        """The stories of each partition (say, by ``("board_key", "column")``), in ``criteria.order``."""
        attrs = [getattr(StoryRow, name) for name in partition]
        conditions = self._story_conditions(criteria)
        order = STORY_ORDERS[criteria.order]
        return self._pages(StoryRow, attrs, values, conditions, order, limit, seek)

    def story_counts(
        self, partition: Sequence[str], values: Sequence[tuple[Any, ...]], criteria: StoryCriteria
    ) -> dict[tuple[Any, ...], int]:
        attrs = [getattr(StoryRow, name) for name in partition]
        return self._counts(StoryRow, attrs, values, self._story_conditions(criteria))

    # ----- sprints and epics -----

    def sprints_by_id(self, ids: Sequence[str]) -> dict[str, Record]:
        return {
            row.id: row for row in self._rows(select(table_of(SprintRow)).where(col(SprintRow.id).in_(ids)))
        }

    def sprint_pages(
        self,
        partition: Sequence[str],
        values: Sequence[tuple[Any, ...]],
        state: str | None,
        limit: int,
        seek: Seek,
    ) -> dict[tuple[Any, ...], list[Record]]:
        """The sprints of each partition (say, by ``("board_key",)``), by planned start."""
        attrs = [getattr(SprintRow, name) for name in partition]
        where = [] if state is None else [col(SprintRow.state) == state]
        return self._pages(SprintRow, attrs, values, where, SPRINT_ORDER, limit, seek)

    def sprint_counts(
        self, partition: Sequence[str], values: Sequence[tuple[Any, ...]], state: str | None
    ) -> dict[tuple[Any, ...], int]:
        attrs = [getattr(SprintRow, name) for name in partition]
        where = [] if state is None else [col(SprintRow.state) == state]
        return self._counts(SprintRow, attrs, values, where)

    def members_of(self, board_keys: Sequence[str]) -> dict[str, list[Record]]:
        """Each board's members, by user name."""
        members: dict[str, list[Record]] = {key: [] for key in board_keys}
        query = (
            select(table_of(MemberRow))
            .where(col(MemberRow.board_key).in_(board_keys))
            .order_by(col(MemberRow.board_key), col(MemberRow.user))
        )
        for row in self._rows(query):
            members[row.board_key].append(row)
        return members

    def epics_of(self, board_keys: Sequence[str]) -> dict[str, list[Record]]:
        epics: dict[str, list[Record]] = {key: [] for key in board_keys}
        query = (
            select(table_of(EpicRow))
            .where(col(EpicRow.board_key).in_(board_keys))
            .order_by(col(EpicRow.board_key), col(EpicRow.number))
        )
        for row in self._rows(query):
            epics[row.board_key].append(row)
        return epics

    def epics_by_key(self, keys: Sequence[str]) -> dict[str, Record]:
        return {
            row.key: row for row in self._rows(select(table_of(EpicRow)).where(col(EpicRow.key).in_(keys)))
        }

    def epic_totals(self, keys: Sequence[str]) -> dict[str, EpicTotals]:
        """Points of each epic's stories that are not archived: all, and those in a DONE column."""
        points = func.coalesce(col(StoryRow.points), 0.0)
        done = func.sum(points).filter(_in_category("DONE"))
        query = (
            select(col(StoryRow.epic_key), func.sum(points), done)
            .where(col(StoryRow.epic_key).in_(keys), col(StoryRow.archived).is_(False))
            .group_by(col(StoryRow.epic_key))
        )
        totals = dict.fromkeys(keys, EpicTotals(0.0, 0.0))
        with self.engine.connect() as conn:
            for key, total, completed in conn.execute(query):
                totals[str(key)] = EpicTotals(float(total or 0), float(completed or 0))
        return totals

    # ----- the audit log -----

    def _audit_conditions(self, criteria: AuditCriteria) -> list[ColumnElement[bool]]:
        c = criteria
        where: list[ColumnElement[bool]] = []
        for attr, value in (
            (col(AuditEntryRow.board_key), c.board_key),
            (col(AuditEntryRow.story_key), c.story_key),
            (col(AuditEntryRow.sprint_id), c.sprint_id),
            (col(AuditEntryRow.actor), c.actor),
        ):
            if value is not None:
                where.append(attr == value)
        if c.boards is not None:
            where.append(col(AuditEntryRow.board_key).in_(c.boards))
        if c.event_types is not None:
            where.append(col(AuditEntryRow.event_type).in_(c.event_types))
        if c.since is not None:
            where.append(col(AuditEntryRow.occurred_at) >= _utc(c.since))
        if c.until is not None:
            where.append(col(AuditEntryRow.occurred_at) < _utc(c.until))
        return where

    def audit_pages(
        self,
        partition: Sequence[str],
        values: Sequence[tuple[Any, ...]],
        criteria: AuditCriteria,
        limit: int,
        seek: Seek,
    ) -> dict[tuple[Any, ...], list[Record]]:
        """Audit entries of each partition (say, by ``("story_key",)``) in log order."""
        attrs = [getattr(AuditEntryRow, name) for name in partition]
        conditions = self._audit_conditions(criteria)
        return self._pages(AuditEntryRow, attrs, values, conditions, AUDIT_ORDER, limit, seek)

    def audit_counts(
        self, partition: Sequence[str], values: Sequence[tuple[Any, ...]], criteria: AuditCriteria
    ) -> dict[tuple[Any, ...], int]:
        attrs = [getattr(AuditEntryRow, name) for name in partition]
        return self._counts(AuditEntryRow, attrs, values, self._audit_conditions(criteria))

    def audit_entry(self, sequence: int) -> Record | None:
        rows = self._rows(select(table_of(AuditEntryRow)).where(col(AuditEntryRow.sequence) == sequence))
        return rows[0] if rows else None

    def last_audit_sequence(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(col(AuditEntryRow.sequence)))).scalar() or 0)

    # ----- identity and health -----

    def find_node(self, node_id: str) -> tuple[str, str] | None:
        """The type name and key (the id, for sprints) of the board, story, sprint or epic with this id."""
        query = (
            select(literal("Board"), col(BoardRow.key))
            .where(col(BoardRow.id) == node_id)
            .union_all(
                select(literal("Story"), col(StoryRow.key)).where(col(StoryRow.id) == node_id),
                select(literal("Sprint"), col(SprintRow.id)).where(col(SprintRow.id) == node_id),
                select(literal("Epic"), col(EpicRow.key)).where(col(EpicRow.id) == node_id),
            )
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (str(row[0]), str(row[1])) if row else None
