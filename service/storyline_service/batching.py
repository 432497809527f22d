"""Many commands saved in one transaction: each runs against the aggregates the commands before it
changed, still in memory, and their events are recorded together in the order they were made."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository

from storyline_domain.base import StorylineAggregate


@dataclass
class Batch:
    aggregates: dict[UUID, StorylineAggregate] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)  # in the order the commands triggered them

    def add(self, changed: Sequence[StorylineAggregate]) -> None:
        for aggregate in changed:
            self.events.extend(aggregate.collect_events())
            self.aggregates[aggregate.id] = aggregate


# The batch of the running thread or task; commands elsewhere are unaffected.
current_batch: ContextVar[Batch | None] = ContextVar("storyline_batch", default=None)


def project(aggregate: Any, events: Iterable[Any]) -> Any:
    """eventsourcing's ``project_aggregate`` without its check of each event against a runtime
    protocol (``isinstance`` with a ``Protocol`` costs more than applying the event)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class BatchingRepository(Repository[UUID]):
    """Gives a command in a batch the very aggregate an earlier command of it changed."""

    def get(self, aggregate_id: UUID, *, version: int | None = None, **kwargs: Any) -> Any:
        batch = current_batch.get()
        if batch is not None and version is None and aggregate_id in batch.aggregates:
            return batch.aggregates[aggregate_id]
        kwargs.setdefault("projector_func", project)
        return super().get(aggregate_id, version=version, **kwargs)
