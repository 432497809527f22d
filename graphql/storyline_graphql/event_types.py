"""The event types: every name an audit entry's eventType (and a webhook's filter) can carry."""

from __future__ import annotations

import strawberry

from storyline_service.event_types import EVENT_TYPES


@strawberry.type
class EventTypeInfo:
    name: str = strawberry.field(description="e.g. StoryMoved, as AuditEntry.eventType gives it")
    entity_type: str = strawberry.field(description="Board, Story, Sprint or Epic")
    description: str


@strawberry.type
class EventTypeQuery:
    @strawberry.field(description="Every eventType an AuditEntry can carry, by name.")
    def event_types(self) -> list[EventTypeInfo]:
        return [
            EventTypeInfo(name=t.name, entity_type=t.entity_type, description=t.description)
            for t in EVENT_TYPES.values()
        ]
