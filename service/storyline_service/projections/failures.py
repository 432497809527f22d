"""When an event cannot be projected: which one, and why, for status, readiness and the log.

Events are never skipped: the read models would silently disagree with the log.
Projecting stops at the faulty event, retries it on every pass, and says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy.exc
from eventsourcing import persistence


@dataclass(frozen=True)
class ProjectionFailure:
    position: int  # the event's notification id in the log
    event_type: str
    error: str

    @classmethod
    def of(cls, position: int, event: Any, error: BaseException) -> ProjectionFailure:
        kind = type(event).__qualname__
        message = (str(error).strip().splitlines() or [""])[0]
        return cls(position, kind, f"{type(error).__name__}: {message}".rstrip(": "))

    def describe(self) -> str:
        return f"event {self.position} ({self.event_type}) cannot be projected: {self.error}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ProjectionStopped(Exception):
    """Projecting is stopped at one event; reads serve what was projected before it."""

    def __init__(self, failure: ProjectionFailure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


def database_unavailable(error: BaseException) -> bool:
    """Errors that mean the database cannot be reached (or is too busy), not a fault of an event."""
    return isinstance(
        error,
        sqlalchemy.exc.OperationalError
        | sqlalchemy.exc.TimeoutError
        | sqlalchemy.exc.InterfaceError
        | persistence.OperationalError
        | persistence.InterfaceError,
    )
