"""Current state: boards, columns, roles, stories, sprints and epics as they are now."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select

from storyline_domain.board import Board, Role
from storyline_domain.epic import Epic
from storyline_domain.sprint import Sprint, SprintState
from storyline_domain.story import Story
from storyline_service.projections.base import Projection, RowBuffer, collect_handlers, on
from storyline_service.projections.changes import STORY_CHANGES, story_changes, story_created_fields
from storyline_service.projections.invariants import broken_invariants
from storyline_service.readmodels import (
    ArchivedBoardRow,
    BoardRow,
    ColumnRow,
    EpicRow,
    RoleRow,
    SprintRow,
    StoryRow,
    table_of,
)


@collect_handlers
class CurrentState(Projection):
    name = "current"
    tables = [
        table_of(m) for m in (BoardRow, ColumnRow, RoleRow, StoryRow, SprintRow, EpicRow, ArchivedBoardRow)
    ]

    def broken_invariants(self, conn: Connection) -> list[str]:
        return broken_invariants(conn, self.t)

    def begin_batch(self, after: int) -> None:
        super().begin_batch(after)
        self.boards = RowBuffer(self.t["boards"], "id")
        self.stories = RowBuffer(self.t["stories"], "id")
        self.sprints = RowBuffer(self.t["sprints"], "id")
        self.epics = RowBuffer(self.t["epics"], "id")

    def end_batch(self, conn: Connection, last: int) -> None:
        for buffer in (self.boards, self.stories, self.sprints, self.epics):
            buffer.flush(conn)
        super().end_batch(conn, last)

    # ----- boards -----

    def _board_key(self, conn: Connection, event: Any) -> str:
        board_id = str(event.originator_id)
        pending = self.boards.pending(board_id)
        if pending is not None:
            return str(pending["key"])
        boards = self.t["boards"]
        return str(conn.execute(select(boards.c.key).where(boards.c.id == board_id)).scalar_one())

    def _touch_board(self, event: Any, **values: Any) -> None:
        self.boards.update(
            str(event.originator_id), version=event.originator_version, updated_at=event.occurred_at, **values
        )

    def _insert_columns(self, conn: Connection, board_key: str, columns: list[Any]) -> None:
        conn.execute(
            insert(self.t["board_columns"]),
            [{"board_key": board_key, "position": i, **column} for i, column in enumerate(columns)],
        )

    @on(Board.Created)
    def board_created(self, conn: Connection, event: Board.Created, position: int) -> None:
        self.boards.insert(
            {
                "key": event.key,
                "id": str(event.originator_id),
                "name": event.name,
                "active_sprint_id": None,
                "version": event.originator_version,
                "created_at": event.occurred_at,
                "updated_at": event.occurred_at,
            }
        )
        self._insert_columns(conn, event.key, event.columns)
        conn.execute(
            insert(self.t["board_roles"]).values(board_key=event.key, user=event.actor, role=Role.ADMIN)
        )

    @on(Board.ColumnsConfigured)
    def columns_configured(self, conn: Connection, event: Board.ColumnsConfigured, position: int) -> None:
        key = self._board_key(conn, event)
        columns = self.t["board_columns"]
        conn.execute(delete(columns).where(columns.c.board_key == key))
        self._insert_columns(conn, key, event.columns)
        self._touch_board(event)

    @on(Board.RoleGranted)
    def role_granted(self, conn: Connection, event: Board.RoleGranted, position: int) -> None:
        key = self._board_key(conn, event)
        roles = self.t["board_roles"]
        conn.execute(delete(roles).where(roles.c.board_key == key, roles.c.user == event.user))
        conn.execute(insert(roles).values(board_key=key, user=event.user, role=event.role))
        self._touch_board(event)

    @on(Board.RoleRevoked)
    def role_revoked(self, conn: Connection, event: Board.RoleRevoked, position: int) -> None:
        roles = self.t["board_roles"]
        conn.execute(
            delete(roles).where(roles.c.board_key == self._board_key(conn, event), roles.c.user == event.user)
        )
        self._touch_board(event)

    @on(Board.CalendarConfigured)
    def calendar_configured(self, conn: Connection, event: Board.CalendarConfigured, position: int) -> None:
        self._touch_board(event)  # the calendar itself is history: board_calendars

    @on(Board.SprintActivated)
    def sprint_activated(self, conn: Connection, event: Board.SprintActivated, position: int) -> None:
        self._touch_board(event, active_sprint_id=str(event.sprint_id))

    @on(Board.SprintDeactivated)
    def sprint_deactivated(self, conn: Connection, event: Board.SprintDeactivated, position: int) -> None:
        self._touch_board(event, active_sprint_id=None)

    @on(Board.Archived)
    def board_archived(self, conn: Connection, event: Board.Archived, position: int) -> None:
        key = self._board_key(conn, event)
        conn.execute(insert(self.t["archived_boards"]).values(board_key=key, archived_at=event.occurred_at))
        self._touch_board(event)

    # ----- stories -----

    @on(Story.Created)
    def story_created(self, conn: Connection, event: Story.Created, position: int) -> None:
        self.stories.insert(
            {
                "id": str(event.originator_id),
                "number": int(event.key.rsplit("-", 1)[1]),
                "version": event.originator_version,
                "created_at": event.occurred_at,
                "updated_at": event.occurred_at,
                **story_created_fields(event),
            }
        )

    @on(*STORY_CHANGES)
    def story_changed(self, conn: Connection, event: Any, position: int) -> None:
        self.stories.update(
            str(event.originator_id),
            version=event.originator_version,
            updated_at=event.occurred_at,
            **story_changes(event),
        )

    # ----- epics and sprints -----

    @on(Epic.Created)
    def epic_created(self, conn: Connection, event: Epic.Created, position: int) -> None:
        self.epics.insert(
            {
                "key": event.key,
                "id": str(event.originator_id),
                "board_key": event.board_key,
                "number": int(event.key.rsplit("-E", 1)[1]),
                "title": event.title,
                "target_date": event.target_date,
                "version": event.originator_version,
            }
        )

    @on(Epic.TargetDateSet)
    def epic_target_date_set(self, conn: Connection, event: Epic.TargetDateSet, position: int) -> None:
        self.epics.update(
            str(event.originator_id), target_date=event.target_date, version=event.originator_version
        )

    @on(Epic.HealthOverridden, Epic.HealthOverrideCleared)
    def epic_health_overridden(self, conn: Connection, event: Any, position: int) -> None:
        self.epics.update(str(event.originator_id), version=event.originator_version)

    @on(Sprint.Created)
    def sprint_created(self, conn: Connection, event: Sprint.Created, position: int) -> None:
        self.sprints.insert(
            {
                "id": str(event.originator_id),
                "board_key": event.board_key,
                "name": event.name,
                "goal": event.goal,
                "state": SprintState.PLANNED,
                "start_date": event.start_date,
                "end_date": event.end_date,
                "started_at": None,
                "completed_at": None,
                "version": event.originator_version,
                "created_at": event.occurred_at,
            }
        )

    def _touch_sprint(self, event: Any, **values: Any) -> None:
        self.sprints.update(str(event.originator_id), version=event.originator_version, **values)

    @on(Sprint.Updated)
    def sprint_updated(self, conn: Connection, event: Sprint.Updated, position: int) -> None:
        self._touch_sprint(event, **{field: after for field, (_, after) in event.changes.items()})

    @on(Sprint.StoryAdded, Sprint.StoryRemoved, Sprint.BoardArchived)
    def sprint_changed(self, conn: Connection, event: Any, position: int) -> None:
        self._touch_sprint(event)

    @on(Sprint.Started)
    def sprint_started(self, conn: Connection, event: Sprint.Started, position: int) -> None:
        self._touch_sprint(event, state=SprintState.ACTIVE, started_at=event.occurred_at)

    @on(Sprint.Completed)
    def sprint_completed(self, conn: Connection, event: Sprint.Completed, position: int) -> None:
        self._touch_sprint(event, state=SprintState.CLOSED, completed_at=event.occurred_at)
