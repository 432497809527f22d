"""How each story event changes a story's fields: shared by the current and history projections."""

from __future__ import annotations

from typing import Any

from storyline_domain.story import Story


def story_created_fields(event: Story.Created) -> dict[str, Any]:
    return {
        "key": event.key,
        "board_key": event.board_key,
        "title": event.title,
        "description": event.description,
        "type": event.type,
        "priority": event.priority,
        "labels": event.labels,
        "points": event.points,
        "assignee": event.assignee,
        "column": event.column,
        "epic_key": event.epic_key,
        "rank": event.rank,
        "sprint_id": None,
        "blocked_reason": None,
        "archived": False,
    }


def story_changes(event: Any) -> dict[str, Any]:
    """The fields a story event sets, by their read-model names."""
    match event:
        case Story.Updated():
            return {field: after for field, (_, after) in event.changes.items()}
        case Story.Estimated():
            return {"points": event.points}
        case Story.Assigned():
            return {"assignee": event.assignee}
        case Story.Moved():
            return {"column": event.to_column}
        case Story.Ranked():
            return {"rank": event.rank}
        case Story.Blocked():
            return {"blocked_reason": event.reason}
        case Story.Unblocked():
            return {"blocked_reason": None}
        case Story.Archived():
            return {"archived": True}
        case Story.EpicChanged():
            return {"epic_key": event.epic_key}
        case Story.SprintChanged():
            return {"sprint_id": str(event.sprint_id) if event.sprint_id else None}
        case Story.BoardArchived():
            return {}  # a new version only: the board's archive is kept with the board
    raise TypeError(f"not a story change: {type(event).__name__}")


STORY_CHANGES = (
    Story.Updated,
    Story.Estimated,
    Story.Assigned,
    Story.Moved,
    Story.Ranked,
    Story.Blocked,
    Story.Unblocked,
    Story.Archived,
    Story.EpicChanged,
    Story.SprintChanged,
    Story.BoardArchived,
)
