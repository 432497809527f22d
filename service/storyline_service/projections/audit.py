"""The audit log: one row per recorded event, with a one-line summary and field-level changes."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select

from storyline_domain.board import Board, board_id
from storyline_domain.epic import Epic
from storyline_domain.sprint import Sprint
from storyline_domain.story import Story
from storyline_service.projections.base import Projection, RowBuffer, collect_handlers, on
from storyline_service.projections.changes import STORY_CHANGES
from storyline_service.readmodels import AuditEntryRow, AuditNameRow, table_of


def jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float):  # most values: the cheapest test first
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def points(value: float | None) -> str:
    if value is None:
        return "no estimate"
    number = f"{value:g}"
    return f"{number} point" if value == 1 else f"{number} points"


def event_type_of(event_class: type) -> str:
    """An event's name in the audit log: Story.Moved is StoryMoved."""
    return event_class.__qualname__.replace(".", "")


@lru_cache(maxsize=1024)
def board_entity(board_key: str) -> str:
    """A board's id by its key, hashed once rather than for every story move."""
    return str(board_id(board_key))


def change(field: str, before: Any, after: Any) -> dict[str, Any]:
    return {"field": field, "from": jsonable(before), "to": jsonable(after)}


@collect_handlers
class AuditLog(Projection):
    name = "audit"
    tables = [table_of(AuditEntryRow), table_of(AuditNameRow)]

    def forget(self) -> None:
        super().forget()
        self.names: dict[str, dict[str, Any]] = {}

    def remembers(self) -> int:
        return len(self.names)

    def begin_batch(self, after: int) -> None:
        super().begin_batch(after)
        self.new_names = RowBuffer(self.t["audit_names"], "entity_id")
        self.entries = RowBuffer(self.t["audit_log"], "sequence")

    def end_batch(self, conn: Connection, last: int) -> None:
        self.new_names.flush(conn)
        self.entries.flush(conn)
        super().end_batch(conn, last)

    def _name(self, conn: Connection, entity_id: UUID | str) -> dict[str, Any]:
        key = str(entity_id)
        name = self.names.get(key)
        if name is None:
            names = self.t["audit_names"]
            name = self.names[key] = dict(
                conn.execute(select(names).where(names.c.entity_id == key)).one()._mapping
            )
        return name

    def _remember(self, entity_id: UUID, **values: Any) -> None:
        row = {"entity_id": str(entity_id), "columns": None, **values}
        self.new_names.insert(row)
        self.names[row["entity_id"]] = row

    def _rename(self, name: dict[str, Any], **values: Any) -> None:
        name.update(values)  # the cached row, which may also be the one pending insert
        self.new_names.update(name["entity_id"], **values)

    def _write(
        self,
        conn: Connection,
        event: Any,
        position: int,
        name: dict[str, Any],
        summary: str,
        changes: list[dict[str, Any]],
        sprint_id: UUID | str | None = None,
    ) -> None:
        entity_type = name["entity_type"]
        self.entries.insert(
            dict(
                sequence=position,
                occurred_at=event.occurred_at,
                recorded_at=event.timestamp,
                actor=event.actor,
                correlation_id=event.correlation_id,
                board_key=name["board_key"],
                entity_type=entity_type,
                entity_key=name["key"],
                event_type=event_type_of(type(event)),
                summary=f"{event.actor} {summary}",
                changes=changes,
                story_key=name["key"] if entity_type == "Story" else None,
                sprint_id=str(sprint_id) if sprint_id else None,
            )
        )

    def _column_name(self, conn: Connection, board_key: str, column: str) -> str:
        board = self._name(conn, board_entity(board_key))
        return str((board["columns"] or {}).get(column, column))

    def _sprint_label(self, conn: Connection, sprint_id: UUID | None) -> str:
        return str(self._name(conn, sprint_id)["label"]) if sprint_id else "the backlog"

    # ----- boards -----

    @on(Board.Created)
    def board_created(self, conn: Connection, event: Board.Created, position: int) -> None:
        self._remember(
            event.originator_id,
            entity_type="Board",
            key=event.key,
            board_key=event.key,
            label=event.name,
            columns={c["key"]: c["name"] for c in event.columns},
        )
        name = self._name(conn, event.originator_id)
        changes = [change("name", None, event.name), change("columns", None, event.columns)]
        self._write(conn, event, position, name, f"created board {event.key} ({event.name})", changes)

    @on(Board.ColumnsConfigured)
    def columns_configured(self, conn: Connection, event: Board.ColumnsConfigured, position: int) -> None:
        name = self._name(conn, event.originator_id)
        columns = {c["key"]: c["name"] for c in event.columns}
        self._rename(name, columns=columns)
        summary = f"configured the columns of {name['key']}: {', '.join(columns.values())}"
        self._write(conn, event, position, name, summary, [change("columns", event.previous, event.columns)])

    @on(Board.CalendarConfigured)
    def calendar_configured(self, conn: Connection, event: Board.CalendarConfigured, position: int) -> None:
        name = self._name(conn, event.originator_id)
        calendar = event.calendar
        days = ", ".join(day.title() for day in calendar["working_days"])
        summary = f"set the calendar of {name['key']}: {days} in {calendar['time_zone']}"
        if calendar["holidays"]:
            summary += f", {len(calendar['holidays'])} holidays"
        self._write(conn, event, position, name, summary, [change("calendar", event.previous, calendar)])

    @on(Board.RoleGranted)
    def role_granted(self, conn: Connection, event: Board.RoleGranted, position: int) -> None:
        name = self._name(conn, event.originator_id)
        summary = f"made {event.user} {event.role} of {name['key']}"
        self._write(
            conn, event, position, name, summary, [change(f"roles.{event.user}", event.previous, event.role)]
        )

    @on(Board.RoleRevoked)
    def role_revoked(self, conn: Connection, event: Board.RoleRevoked, position: int) -> None:
        name = self._name(conn, event.originator_id)
        summary = f"revoked the {event.previous} role of {event.user} on {name['key']}"
        self._write(
            conn, event, position, name, summary, [change(f"roles.{event.user}", event.previous, None)]
        )

    @on(Board.SprintActivated, Board.SprintDeactivated)
    def active_sprint_changed(self, conn: Connection, event: Any, position: int) -> None:
        name = self._name(conn, event.originator_id)
        sprint = self._sprint_label(conn, event.sprint_id)
        if isinstance(event, Board.SprintActivated):
            summary, changes = (
                f"made {sprint} the active sprint of {name['key']}",
                [change("activeSprint", None, event.sprint_id)],
            )
        else:
            summary, changes = (
                f"ended {sprint} as the active sprint of {name['key']}",
                [change("activeSprint", event.sprint_id, None)],
            )
        self._write(conn, event, position, name, summary, changes, sprint_id=event.sprint_id)

    @on(Board.Archived)
    def board_archived(self, conn: Connection, event: Board.Archived, position: int) -> None:
        name = self._name(conn, event.originator_id)
        summary = f"archived board {name['key']}"
        self._write(conn, event, position, name, summary, [change("archived", False, True)])

    # ----- stories -----

    @on(Story.Created)
    def story_created(self, conn: Connection, event: Story.Created, position: int) -> None:
        self._remember(
            event.originator_id,
            entity_type="Story",
            key=event.key,
            board_key=event.board_key,
            label=event.title,
        )
        fields = (
            "title",
            "description",
            "type",
            "priority",
            "labels",
            "points",
            "assignee",
            "column",
            "epic_key",
        )
        changes = [
            change(f, None, getattr(event, f)) for f in fields if getattr(event, f) not in (None, "", [])
        ]
        name = self._name(conn, event.originator_id)
        self._write(conn, event, position, name, f"created {event.key}: {event.title}", changes)

    @on(*STORY_CHANGES)
    def story_changed(self, conn: Connection, event: Any, position: int) -> None:
        name = self._name(conn, event.originator_id)
        key, sprint_id = name["key"], None
        match event:
            case Story.Updated():
                changes = [change(f, before, after) for f, (before, after) in event.changes.items()]
                summary = f"edited {key} ({', '.join(event.changes)})"
            case Story.Estimated():
                changes = [change("points", event.previous, event.points)]
                summary = f"estimated {key} at {points(event.points)} (was {points(event.previous)})"
            case Story.Assigned():
                changes = [change("assignee", event.previous, event.assignee)]
                summary = f"assigned {key} to {event.assignee}" if event.assignee else f"unassigned {key}"
            case Story.Moved():
                changes = [change("column", event.from_column, event.to_column)]
                board = name["board_key"]
                summary = (
                    f"moved {key} from {self._column_name(conn, board, event.from_column)}"
                    f" to {self._column_name(conn, board, event.to_column)}"
                )
            case Story.Ranked():
                changes, summary = [change("rank", event.previous, event.rank)], f"re-ranked {key}"
            case Story.Blocked():
                changes = [change("blocked", None, event.reason)]
                summary = f"blocked {key}: {event.reason}"
            case Story.Unblocked():
                changes, summary = [change("blocked", event.reason, None)], f"unblocked {key}"
            case Story.Archived():
                changes, summary = [change("archived", False, True)], f"archived {key}"
            case Story.BoardArchived():
                changes, summary = [], f"closed {key} with its archived board"
            case Story.EpicChanged():
                changes = [change("epic", event.previous, event.epic_key)]
                summary = (
                    f"put {key} in epic {event.epic_key}" if event.epic_key else f"took {key} out of its epic"
                )
            case Story.SprintChanged():
                changes = [change("sprint", event.previous, event.sprint_id)]
                sprint_id = event.sprint_id or event.previous
                summary = (
                    f"moved {key} from {self._sprint_label(conn, event.previous)}"
                    f" to {self._sprint_label(conn, event.sprint_id)}"
                )
        self._write(conn, event, position, name, summary, changes, sprint_id=sprint_id)

    # ----- epics and sprints -----

    @on(Epic.Created)
    def epic_created(self, conn: Connection, event: Epic.Created, position: int) -> None:
        self._remember(
            event.originator_id,
            entity_type="Epic",
            key=event.key,
            board_key=event.board_key,
            label=event.title,
        )
        changes = [change("title", None, event.title), change("targetDate", None, event.target_date)]
        name = self._name(conn, event.originator_id)
        self._write(conn, event, position, name, f"created epic {event.key}: {event.title}", changes)

    @on(Sprint.Created)
    def sprint_created(self, conn: Connection, event: Sprint.Created, position: int) -> None:
        self._remember(
            event.originator_id,
            entity_type="Sprint",
            key=str(event.originator_id),
            board_key=event.board_key,
            label=event.name,
        )
        changes = [change(f, None, getattr(event, f)) for f in ("name", "goal", "start_date", "end_date")]
        name = self._name(conn, event.originator_id)
        summary = f"planned {event.name} on {event.board_key} ({event.start_date} to {event.end_date})"
        self._write(conn, event, position, name, summary, changes, sprint_id=event.originator_id)

    @on(Sprint.Updated)
    def sprint_updated(self, conn: Connection, event: Sprint.Updated, position: int) -> None:
        name = self._name(conn, event.originator_id)
        label = name["label"]
        if "name" in event.changes:
            self._rename(name, label=event.changes["name"][1])
        changes = [change(f, before, after) for f, (before, after) in event.changes.items()]
        summary = f"edited sprint {label} ({', '.join(event.changes)})"
        self._write(conn, event, position, name, summary, changes, sprint_id=event.originator_id)

    @on(Sprint.StoryAdded)
    def story_added(self, conn: Connection, event: Sprint.StoryAdded, position: int) -> None:
        name = self._name(conn, event.originator_id)
        if event.carried_from:
            source = self._sprint_label(conn, event.carried_from)
            summary = f"carried {event.story_key} over from {source} to {name['label']}"
        else:
            summary = f"added {event.story_key} ({points(event.points)}) to {name['label']}"
        changes = [change("stories", None, event.story_key)]
        self._write(conn, event, position, name, summary, changes, sprint_id=event.originator_id)

    @on(Sprint.StoryRemoved)
    def story_removed(self, conn: Connection, event: Sprint.StoryRemoved, position: int) -> None:
        name = self._name(conn, event.originator_id)
        summary = f"removed {event.story_key} ({points(event.points)}) from {name['label']}"
        changes = [change("stories", event.story_key, None)]
        self._write(conn, event, position, name, summary, changes, sprint_id=event.originator_id)

    @on(Sprint.BoardArchived)
    def sprint_board_archived(self, conn: Connection, event: Sprint.BoardArchived, position: int) -> None:
        name = self._name(conn, event.originator_id)
        summary = f"closed {name['label']} with its archived board"
        self._write(conn, event, position, name, summary, [], sprint_id=event.originator_id)

    @on(Sprint.Started)
    def sprint_started(self, conn: Connection, event: Sprint.Started, position: int) -> None:
        name = self._name(conn, event.originator_id)
        committed = sum(p or 0 for p in event.commitment.values())
        summary = (
            f"started {name['label']} with {len(event.commitment)} stories, {points(committed)} committed"
        )
        changes = [change("state", "PLANNED", "ACTIVE"), change("commitment", None, event.commitment)]
        self._write(conn, event, position, name, summary, changes, sprint_id=event.originator_id)

    @on(Sprint.Completed)
    def sprint_completed(self, conn: Connection, event: Sprint.Completed, position: int) -> None:
        name = self._name(conn, event.originator_id)
        done = sum(p or 0 for p in event.completed.values())
        summary = (
            f"completed {name['label']}: {len(event.completed)} done ({points(done)}),"
            f" {len(event.carried_over)} carried over to {self._sprint_label(conn, event.carried_to)}"
        )
        changes = [
            change("state", "ACTIVE", "CLOSED"),
            change("completed", None, event.completed),
            change("carriedOver", None, event.carried_over),
        ]
        self._write(conn, event, position, name, summary, changes, sprint_id=event.originator_id)
