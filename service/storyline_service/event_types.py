"""The event-type names an audit entry can carry, and the check that refuses any other name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storyline_domain.errors import ValidationError
from storyline_service.control import audit as control_audit  # noqa: F401  (adds its events' handlers)
from storyline_service.projections.audit import AuditLog, event_type_of

DESCRIPTIONS = {
    "BoardCreated": "A board was created with its columns.",
    "BoardCalendarConfigured": "A board's working days, holidays or time zone were changed.",
    "BoardBudgetSet": "A board's budget (amount, currency, cost basis and rate) was set or changed.",
    "BoardStatusUpdatePublished": "A stakeholder status update was published, its figures frozen.",
    "EpicTargetDateSet": "An epic's target date was set or moved, with its reason.",
    "EpicHealthOverridden": "A manager overrode an epic's derived health, with a reason.",
    "EpicHealthOverrideCleared": "An epic's health went back to the one derived from its forecast.",
    "RiskCreated": "A risk was added to a board's register.",
    "RiskUpdated": "A risk's title, description, probability, impact, owner or mitigation changed.",
    "RiskStateChanged": "A risk moved between open, mitigating, closed and occurred.",
    "RiskLinked": "A risk's linked stories or epics changed.",
    "BoardColumnsConfigured": "A board's workflow columns were changed.",
    "BoardRoleGranted": "A user was given a role on a board.",
    "BoardRoleRevoked": "A user's role on a board was taken away.",
    "BoardSprintActivated": "A sprint became the board's active sprint.",
    "BoardSprintDeactivated": "A sprint stopped being the board's active sprint.",
    "BoardArchived": "A board was archived: it left the lists, keeping its history; it takes no changes.",
    "StoryCreated": "A story was created.",
    "StoryUpdated": "A story's title, description, type, priority or labels were edited.",
    "StoryEstimated": "A story's points were set or changed.",
    "StoryAssigned": "A story was assigned or unassigned.",
    "StoryMoved": "A story moved to another column.",
    "StoryRanked": "A story's rank in the backlog order changed.",
    "StoryBlocked": "A story was blocked, with a reason.",
    "StoryUnblocked": "A story was unblocked.",
    "StoryArchived": "A story was archived.",
    "StoryEpicChanged": "A story was put in an epic or taken out of one.",
    "StorySprintChanged": "A story moved between sprints or the backlog.",
    "StoryBoardArchived": "A story's board was archived: it keeps its history and takes no more changes.",
    "EpicCreated": "An epic was created.",
    "SprintCreated": "A sprint was planned.",
    "SprintUpdated": "A sprint's name, goal or dates were edited.",
    "SprintStoryAdded": "A story was added to a sprint, or carried over into it.",
    "SprintStoryRemoved": "A story was removed from a sprint.",
    "SprintStarted": "A sprint started, recording its commitment.",
    "SprintCompleted": "A sprint was completed, recording what was done and what carried over.",
    "SprintBoardArchived": "A planned or active sprint's board was archived: it takes no more changes.",
}


@dataclass(frozen=True)
class EventType:
    name: str  # as AuditEntry.eventType gives it, e.g. StoryMoved
    entity_type: str  # Board, Story, Sprint or Epic
    description: str


def _event_types() -> dict[str, EventType]:
    found = {}
    for event_class in AuditLog.handlers:
        name = event_type_of(event_class)
        entity_type = event_class.__qualname__.split(".")[0]
        found[name] = EventType(name, entity_type, DESCRIPTIONS.get(name, f"{entity_type} changed."))
    return dict(sorted(found.items()))


EVENT_TYPES = _event_types()


def check_event_types(names: Iterable[str], field: str = "eventTypes") -> tuple[str, ...]:
    """The names, each once, in the order given; an unknown one is a VALIDATION error listing the valid."""
    given = tuple(dict.fromkeys(name.strip() for name in names))
    unknown = [name for name in given if name not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            f"unknown event type{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the event types are {', '.join(EVENT_TYPES)}",
            field=field,
        )
    return given
