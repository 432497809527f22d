"""The base aggregate: every event carries who, when and why it was recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from eventsourcing.domain import Aggregate

from storyline_domain.errors import ValidationError

A = TypeVar("A", bound="StorylineAggregate")


@dataclass(frozen=True)
class Stamp:
    """Metadata of one command, copied onto every event it records."""

    actor: str
    occurred_at: datetime  # business time: when it happened
    recorded_at: datetime  # system time: when it was written down
    correlation_id: str
    idempotency_key: str | None = None
    backfilled: bool = False  # occurred_at was given by the caller, not read off the clock

    def fields(self, after: datetime | None = None) -> dict[str, Any]:
        # A live command's clock may lag the last change by a few microseconds when
        # writers race; business time still never runs backwards.
        occurred_at = self.occurred_at if after is None else max(self.occurred_at, after)
        return {
            "timestamp": self.recorded_at,
            "actor": self.actor,
            "occurred_at": occurred_at,
            "correlation_id": self.correlation_id,
            "idempotency_key": self.idempotency_key,
        }


class StorylineAggregate(Aggregate):
    """Aggregate whose events carry a :class:`Stamp` and keep business time in order."""

    last_occurred_at: datetime

    class Event(Aggregate.Event):
        actor: str
        occurred_at: datetime
        correlation_id: str
        idempotency_key: str | None

        def mutate(self, aggregate: Any) -> Any:
            aggregate = super().mutate(aggregate)
            aggregate.last_occurred_at = self.occurred_at
            return aggregate

    class Created(Event, Aggregate.Created):
        pass

    def _record(self, event_class: type[Event], stamp: Stamp, **fields: Any) -> None:
        check_occurred_at(self, stamp)
        self.trigger_event(event_class, **stamp.fields(after=self.last_occurred_at), **fields)


def check_occurred_at(aggregate: StorylineAggregate | None, stamp: Stamp) -> None:
    """History is append-only in business time too: no backfilled event before the last one."""
    if aggregate is not None and stamp.backfilled and stamp.occurred_at < aggregate.last_occurred_at:
        raise ValidationError(
            f"occurredAt {stamp.occurred_at.isoformat()} is earlier than the last "
            f"recorded change ({aggregate.last_occurred_at.isoformat()})",
            field="occurredAt",
        )
