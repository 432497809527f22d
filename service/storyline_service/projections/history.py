"""History in business time: story versions, status, blocked, estimate and sprint-membership intervals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from storyline_domain.board import Board, StatusCategory
from storyline_domain.calendar import WorkingCalendar
from storyline_domain.sprint import Sprint, SprintState
from storyline_domain.story import Story
from storyline_service.projections.base import Projection, RowBuffer, collect_handlers, on
from storyline_service.projections.changes import STORY_CHANGES, story_changes
from storyline_service.readmodels import (
    BlockedIntervalRow,
    BoardCalendarRow,
    BoardVersionRow,
    EstimateIntervalRow,
    SprintHistoryRow,
    SprintMembershipRow,
    StatusIntervalRow,
    StoryVersionRow,
    table_of,
)

VERSIONED = ("title", "points", "column", "assignee", "sprint_id", "epic_key", "rank", "blocked", "archived")


def versioned_fields(fields: dict[str, Any]) -> dict[str, Any]:
    if "blocked_reason" in fields:
        fields = {**fields, "blocked": fields["blocked_reason"] is not None}
    return {name: value for name, value in fields.items() if name in VERSIONED}


@collect_handlers
class History(Projection):
    name = "history"
    tables = [
        table_of(m)
        for m in (
            StoryVersionRow,
            BoardVersionRow,
            StatusIntervalRow,
            BlockedIntervalRow,
            EstimateIntervalRow,
            SprintMembershipRow,
            SprintHistoryRow,
            BoardCalendarRow,
        )
    ]

    # Interval tables, the column that stays null while an interval is open, and their key.
    INTERVALS: dict[str, tuple[str, str | tuple[str, ...]]] = {
        "status_intervals": ("left_at", "story_key"),
        "estimate_intervals": ("valid_to", "story_key"),
        "blocked_intervals": ("unblocked_at", "story_key"),
        "story_versions": ("valid_to", "story_id"),
        "sprint_memberships": ("left_at", ("sprint_id", "story_key")),
    }

    def forget(self) -> None:
        super().forget()
        # The fields of each story's open version, and each board's column categories.
        self.open_versions: dict[str, dict[str, Any]] = {}
        self.categories: dict[str, dict[str, str]] = {}

    def remembers(self) -> int:
        return len(self.open_versions)

    def begin_batch(self, after: int) -> None:
        super().begin_batch(after)
        self.intervals = {
            name: RowBuffer(self.t[name], key, open_column=column)
            for name, (column, key) in self.INTERVALS.items()
        }

    def flush(self, conn: Connection) -> None:
        for buffer in self.intervals.values():
            buffer.flush(conn)

    def end_batch(self, conn: Connection, last: int) -> None:
        self.flush(conn)
        super().end_batch(conn, last)

    # ----- boards -----

    @on(Board.Created)
    def board_created(self, conn: Connection, event: Board.Created, position: int) -> None:
        conn.execute(
            insert(self.t["board_versions"]).values(
                board_id=str(event.originator_id),
                board_key=event.key,
                valid_from=event.occurred_at,
                columns=event.columns,
            )
        )
        self.categories[event.key] = {c["key"]: c["category"] for c in event.columns}
        conn.execute(
            insert(self.t["board_calendars"]).values(
                board_id=str(event.originator_id),
                board_key=event.key,
                valid_from=event.occurred_at,
                calendar=WorkingCalendar().fields(),
            )
        )

    def _next_board_version(self, conn: Connection, table: str, event: Any, **values: Any) -> str:
        """Closes the board's open row of ``table`` (a history of its versions) at the event and
        opens the next with ``values``; returns the board's key."""
        versions = self.t[table]
        board_id = str(event.originator_id)
        key: str = conn.execute(
            select(versions.c.board_key).where(versions.c.board_id == board_id).limit(1)
        ).scalar_one()
        conn.execute(
            update(versions)
            .where(versions.c.board_key == key, versions.c.valid_to.is_(None))
            .values(valid_to=event.occurred_at)
        )
        conn.execute(
            insert(versions).values(board_id=board_id, board_key=key, valid_from=event.occurred_at, **values)
        )
        return key

    @on(Board.CalendarConfigured)
    def calendar_configured(self, conn: Connection, event: Board.CalendarConfigured, position: int) -> None:
        self._next_board_version(conn, "board_calendars", event, calendar=event.calendar)

    @on(Board.ColumnsConfigured)
    def columns_configured(self, conn: Connection, event: Board.ColumnsConfigured, position: int) -> None:
        key = self._next_board_version(conn, "board_versions", event, columns=event.columns)
        before = {c["key"]: c["category"] for c in event.previous}
        self.categories[key] = {c["key"]: c["category"] for c in event.columns}
        for column, category in self.categories[key].items():
            if before.get(column, category) != category:
                self._recategorize(conn, key, column, event.occurred_at)

    def _recategorize(self, conn: Connection, board_key: str, column: str, at: Any) -> None:
        """Stories sitting in a column whose category changed re-enter it under the new category,
        so that a column turned DONE counts its stories as done from then on."""
        self.flush(conn)  # the query below must see this batch's intervals
        intervals = self.t["status_intervals"]
        still_in = (
            (intervals.c.board_key == board_key)
            & (intervals.c.column == column)
            & intervals.c.left_at.is_(None)
        )
        keys = list(conn.execute(select(intervals.c.story_key).where(still_in)).scalars())
        conn.execute(update(intervals).where(still_in).values(left_at=at))
        for story_key in keys:
            self._enter_column(conn, story_key, board_key, column, at)

    def _category(self, conn: Connection, board_key: str, column: str) -> str:
        if board_key not in self.categories:
            versions = self.t["board_versions"]
            columns = conn.execute(
                select(versions.c.columns).where(
                    versions.c.board_key == board_key, versions.c.valid_to.is_(None)
                )
            ).scalar_one()
            self.categories[board_key] = {c["key"]: c["category"] for c in columns}
        # A story can land in a column removed at the same moment (a concurrent move and
        # reconfiguration); count it as not started rather than stop every projection.
        return self.categories[board_key].get(column, StatusCategory.TODO)

    # ----- stories -----

    @on(Story.Created)
    def story_created(self, conn: Connection, event: Story.Created, position: int) -> None:
        fields: dict[str, Any] = {
            "story_id": str(event.originator_id),
            "story_key": event.key,
            "board_key": event.board_key,
            "version": event.originator_version,
            "valid_from": event.occurred_at,
            "title": event.title,
            "points": event.points,
            "column": event.column,
            "assignee": event.assignee,
            "sprint_id": None,
            "epic_key": event.epic_key,
            "rank": event.rank,
            "blocked": False,
            "archived": False,
        }
        self._new_version(fields)
        self._enter_column(conn, event.key, event.board_key, event.column, event.occurred_at)
        self._open(
            "estimate_intervals",
            dict(story_key=event.key, points=event.points, valid_from=event.occurred_at, actor=event.actor),
        )

    def _current_version(self, conn: Connection, story_id: str) -> dict[str, Any]:
        remembered = self.open_versions.get(story_id)
        if remembered is not None:
            return remembered
        versions = self.t["story_versions"]
        columns = [c for c in versions.c if c.name not in ("id", "valid_to")]
        row = conn.execute(
            select(*columns).where(versions.c.story_id == story_id, versions.c.valid_to.is_(None))
        ).one()
        return dict(row._mapping)

    def _new_version(self, fields: dict[str, Any]) -> None:
        self._open("story_versions", fields)
        self.open_versions[fields["story_id"]] = fields

    def _enter_column(self, conn: Connection, key: str, board_key: str, column: str, at: Any) -> None:
        category = self._category(conn, board_key, column)
        self._open(
            "status_intervals",
            dict(story_key=key, board_key=board_key, column=column, category=category, entered_at=at),
        )

    def _open(self, table: str, row: dict[str, Any]) -> None:
        self.intervals[table].add(row)

    def _close(self, table: str, key: Any, at: Any, **values: Any) -> None:
        """Closes the open interval of a key, whether opened in this batch or before it."""
        column, _ = self.INTERVALS[table]
        self.intervals[table].update(key, **{column: at}, **values)

    @on(*STORY_CHANGES)
    def story_changed(self, conn: Connection, event: Any, position: int) -> None:
        story_id = str(event.originator_id)
        previous = self._current_version(conn, story_id)
        key, at = previous["story_key"], event.occurred_at
        self._close("story_versions", story_id, at)
        fields = previous.copy()
        fields.pop("valid_to", None)
        fields.update(versioned_fields(story_changes(event)))
        fields.update(version=event.originator_version, valid_from=at)
        self._new_version(fields)

        match event:
            case Story.Moved():
                self._close("status_intervals", key, at)
                self._enter_column(conn, key, previous["board_key"], event.to_column, at)
            case Story.Archived():
                self._close("status_intervals", key, at)
            case Story.Estimated():
                self._close("estimate_intervals", key, at)
                self._open(
                    "estimate_intervals",
                    dict(story_key=key, points=event.points, valid_from=at, actor=event.actor),
                )
            case Story.Blocked():
                self._open("blocked_intervals", dict(story_key=key, reason=event.reason, blocked_at=at))
            case Story.Unblocked():
                self._close("blocked_intervals", key, at)

    # ----- sprints -----

    def _sprint(self, conn: Connection, event: Any, **values: Any) -> None:
        history = self.t["sprint_history"]
        conn.execute(update(history).where(history.c.sprint_id == str(event.originator_id)).values(**values))

    @on(Sprint.Created)
    def sprint_created(self, conn: Connection, event: Sprint.Created, position: int) -> None:
        conn.execute(
            insert(self.t["sprint_history"]).values(
                sprint_id=str(event.originator_id),
                board_key=event.board_key,
                state=SprintState.PLANNED,
                start_date=event.start_date,
                end_date=event.end_date,
            )
        )

    @on(Sprint.Updated)
    def sprint_updated(self, conn: Connection, event: Sprint.Updated, position: int) -> None:
        dates = {f: after for f, (_, after) in event.changes.items() if f in ("start_date", "end_date")}
        if dates:
            self._sprint(conn, event, **dates)

    @on(Sprint.StoryAdded)
    def story_added(self, conn: Connection, event: Sprint.StoryAdded, position: int) -> None:
        self._open(
            "sprint_memberships",
            dict(
                sprint_id=str(event.originator_id),
                story_key=event.story_key,
                joined_at=event.occurred_at,
                joined_by=event.actor,
                joined_points=event.points,
                carried_from=str(event.carried_from) if event.carried_from else None,
            ),
        )

    def _leave(self, event: Any, story_key: str, points: float | None, reason: str) -> None:
        self._close(
            "sprint_memberships",
            (str(event.originator_id), story_key),
            event.occurred_at,
            left_by=event.actor,
            left_points=points,
            left_reason=reason,
        )

    @on(Sprint.StoryRemoved)
    def story_removed(self, conn: Connection, event: Sprint.StoryRemoved, position: int) -> None:
        self._leave(event, event.story_key, event.points, "removed")

    @on(Sprint.Started)
    def sprint_started(self, conn: Connection, event: Sprint.Started, position: int) -> None:
        self._sprint(
            conn, event, state=SprintState.ACTIVE, started_at=event.occurred_at, commitment=event.commitment
        )

    @on(Sprint.Completed)
    def sprint_completed(self, conn: Connection, event: Sprint.Completed, position: int) -> None:
        self._sprint(
            conn,
            event,
            state=SprintState.CLOSED,
            completed_at=event.occurred_at,
            completed=event.completed,
            carried_over=event.carried_over,
        )
        for key, points in event.carried_over.items():
            self._leave(event, key, points, "carried_over")
