"""Runs projections over the event log: each batch in one transaction with its tracking position."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Notification
from sqlalchemy import Connection, Engine, insert, select

from storyline_service.application import Storyline
from storyline_service.projections.audit import AuditLog
from storyline_service.projections.base import Projection
from storyline_service.projections.current import CurrentState
from storyline_service.projections.history import History
from storyline_service.readmodels import ProjectionTracking

log = logging.getLogger(__name__)

PROJECTIONS: tuple[type[Projection], ...] = (CurrentState, History, AuditLog)


class ReadModelsBehind(Exception):
    """The change was recorded, but the read models did not catch up in time."""


def apply_batch(projection: Projection, conn: Connection, events: list[tuple[int, Any]], after: int) -> None:
    projection.begin_batch(after)
    for notification_id, event in events:
        if notification_id > after and projection.handles(event):
            projection.apply(conn, event, notification_id)
    projection.end_batch(conn, events[-1][0])


class AlreadyProjected(Exception):
    pass


class Projector:
    def __init__(
        self,
        app: Storyline,
        engine: Engine,
        projections: Sequence[Projection] | None = None,
        batch_size: int = 500,
        reader: Engine | None = None,
    ) -> None:
        self.app = app
        self.engine = engine
        # Positions are read often (read-your-writes, readiness); on SQLite the write engine
        # would take the write lock for each read.
        self.reader = reader or engine
        self.projections = list(projections or [cls() for cls in PROJECTIONS])
        self.batch_size = batch_size
        self.lock = threading.Lock()
        # Wakes waiters (subscriptions, read-your-writes) when positions move.
        self.advanced = threading.Condition()

    def setup(self) -> None:
        """Creates tracking rows for projections that have none yet."""
        tracking = ProjectionTracking.__table__  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            known = set(conn.execute(select(tracking.c.name)).scalars())
            for projection in self.projections:
                if projection.name not in known:
                    conn.execute(insert(tracking).values(name=projection.name, position=0))

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def positions(self) -> dict[str, int]:
        tracking = ProjectionTracking.__table__  # type: ignore[attr-defined]
        with self.reader.connect() as conn:
            rows = conn.execute(select(tracking.c.name, tracking.c.position)).all()
        return {name: position for name, position in rows}

    def catch_up(self, timeout: float | None = None) -> bool:
        """Projects every recorded event not yet projected. False if another thread held the lock too long."""
        if not self.lock.acquire(timeout=-1 if timeout is None else timeout):
            return False
        try:
            while self._step():
                pass
        finally:
            self.lock.release()
        with self.advanced:
            self.advanced.notify_all()
        return True

    def _step(self) -> bool:
        """Projects one batch into every projection, in one transaction. True if there may be more."""
        with self.reader.connect() as conn:
            positions = {p.name: p.position(conn) for p in self.projections}
        events = self.read(min(positions.values()))
        if not events:
            return False
        last = events[-1][0]
        behind = [p for p in self.projections if positions[p.name] < last]
        try:
            with self.engine.begin() as conn:
                # Claim the batch first: a concurrent projector waits here, then finds it taken.
                for projection in behind:
                    if not projection.advance(conn, positions[projection.name], last):
                        raise AlreadyProjected
                for projection in behind:
                    apply_batch(projection, conn, events, after=positions[projection.name])
        except AlreadyProjected:
            # Another process projected this batch first; ours was rolled back.
            log.info("batch after %s was projected elsewhere", min(positions.values()))
        except BaseException:
            for projection in behind:
                projection.forget()  # it remembers rows that were rolled back
            raise
        return len(events) == self.batch_size

    def decode(self, notifications: Sequence[Notification]) -> list[tuple[int, Any]]:
        return [(n.id, self.app.mapper.to_domain_event(n)) for n in notifications]

    def read(self, after: int, limit: int | None = None) -> list[tuple[int, Any]]:
        """Decoded events after a position, one batch."""
        notifications = self.app.recorder.select_notifications(
            start=after + 1, limit=limit or self.batch_size
        )
        return self.decode(notifications)

    def wait_for(self, position: int, timeout: float) -> None:
        """Read-your-writes: returns once every projection has processed ``position``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                self.catch_up(timeout=max(remaining, 0))
            except Exception as error:
                # The command is recorded whatever happens here; say so rather than fail it.
                log.exception("projecting after event %s failed", position)
                raise ReadModelsBehind(
                    f"the change was recorded (event {position}), but the read models could not be updated"
                ) from error
            if min(self.positions().values()) >= position:
                return
            if remaining <= 0:
                raise ReadModelsBehind(
                    f"the change was recorded (event {position}), but the read models have not caught up "
                    f"within {timeout:g} s; it will show shortly"
                )
            with self.advanced:
                self.advanced.wait(timeout=min(remaining, 0.05))
