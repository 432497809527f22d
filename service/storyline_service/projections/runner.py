"""Runs projections over the event log: each batch in one transaction with its tracking position."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update

from storyline_service.application import Storyline
from storyline_service.control.projection import ProjectControl
from storyline_service.eventlog.chain import Chain
from storyline_service.projections.audit import AuditLog
from storyline_service.projections.base import Projection
from storyline_service.projections.current import CurrentState
from storyline_service.projections.failures import ProjectionFailure, ProjectionStopped, database_unavailable
from storyline_service.projections.history import History
from storyline_service.projections.members import Members
from storyline_service.readmodels import ProjectionTracking, table_of

log = logging.getLogger(__name__)
tracking = table_of(ProjectionTracking)

PROJECTIONS: tuple[type[Projection], ...] = (CurrentState, History, AuditLog, ProjectControl, Members, Chain)


# Built once: building the statement cost more than running it.
CLAIM = (
    update(tracking)
    .where(tracking.c.name.in_(bindparam("names", expanding=True)), tracking.c.position == bindparam("old"))
    .values(position=bindparam("new"))
)


class ReadModelsBehind(Exception):
    """The change was recorded, but the read models did not catch up in time."""

    @classmethod
    def after(cls, position: int, timeout: float) -> ReadModelsBehind:
        return cls(
            f"the change was recorded (event {position}), but the read models have not caught up "
            f"within {timeout:g} s; it will show shortly"
        )


class Batch(list[tuple[int, Any]]):
    """Decoded events in log order, with the notifications they were decoded from."""

    def __init__(self, notifications: Sequence[Notification], events: list[tuple[int, Any]]) -> None:
        super().__init__(events)
        self.notifications = notifications


def handled_topics(projections: Sequence[Projection]) -> list[str]:
    """The topics of the events ``projections`` handle: a replay need not read the others."""
    return sorted(
        {get_topic(event_class) for projection in projections for event_class in projection.handlers}
    )


def apply_batch(projection: Projection, conn: Connection, events: list[tuple[int, Any]], after: int) -> None:
    projection.receive(events)
    projection.begin_batch(after)
    handled = projection.handlers
    for notification_id, event in events:
        if notification_id > after and type(event) in handled:
            projection.apply(conn, event, notification_id)
    projection.end_batch(conn, events[-1][0])


class ReadModelsStopped(ReadModelsBehind):
    """Projecting is stopped at an event that cannot be projected; see ``Projector.failure``."""


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
        notify_channel: str | None = None,
    ) -> None:
        self.app = app
        self.engine = engine
        # Positions are read often (read-your-writes, readiness); on SQLite the write engine
        # would take the write lock for each read.
        self.reader = reader or engine
        self.projections = list(projections or [cls() for cls in PROJECTIONS])
        self.batch_size = batch_size
        # PostgreSQL: each batch NOTIFYs here on commit, so other processes' waiters wake at once.
        self.notify_channel = notify_channel
        # The projections whose lease (advisory lock) this process holds, kept by `run_projector`.
        self.leased: frozenset[str] = frozenset()
        self.lock = threading.Lock()
        # Wakes waiters (subscriptions, read-your-writes) when positions move.
        self.advanced = threading.Condition()
        # The event projecting is stopped at, while it is; its batch is retried on every pass.
        self.failure: ProjectionFailure | None = None
        # The positions this process's last batch left, to spare reading them before the next:
        # if another process moved one meanwhile, the next claim fails and they are read again.
        self.known: dict[str, int] | None = None
        # Told the position every projection has reached after each catch-up, in the projecting
        # thread: the SQLite watch, which would otherwise wake and re-read the positions per command.
        self.on_advanced: Callable[[int], None] | None = None

    def setup(self) -> None:
        """Creates tracking rows for projections that have none yet."""
        with self.engine.begin() as conn:
            known = set(conn.execute(select(tracking.c.name)).scalars())
            for projection in self.projections:
                if projection.name not in known:
                    conn.execute(insert(tracking).values(name=projection.name, position=0))

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def positions(self) -> dict[str, int]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(tracking.c.name, tracking.c.position)).all()
        return {name: position for name, position in rows}

    def catch_up(self, timeout: float | None = None, only: set[str] | None = None) -> int | None:
        """Projects every recorded event not yet projected; returns the position every projection
        has reached, or None if another thread held the lock too long.

        ``only``: the names of the projections to run (a worker's leases); all when None."""
        if not self.lock.acquire(timeout=-1 if timeout is None else timeout):
            return None
        try:
            more, reached = True, 0
            while more:
                try:
                    more, reached = self._step(only)
                except Exception as error:
                    if database_unavailable(error):
                        raise
                    more, reached = self._isolate(only)
                self.failure = None
            if self.known and self.on_advanced is not None:
                self.on_advanced(min(self.known.values()))  # under the lock: in the order reached
        finally:
            self.lock.release()
        with self.advanced:
            self.advanced.notify_all()
        return reached

    def _isolate(self, only: set[str] | None) -> tuple[bool, int]:
        """A batch failed: projects its events one at a time, so that every event before a faulty
        one is projected and the faulty one is named. Raises ProjectionStopped at it."""
        more, reached = True, 0
        for _ in range(self.batch_size):
            known = self.positions()
            position = min(known.get(p.name, 0) for p in self.projections if only is None or p.name in only)
            try:
                more, reached = self._step(only, limit=1)
            except Exception as error:
                if database_unavailable(error):
                    raise
                [(faulty, event)] = self.read(position, limit=1)
                failure = ProjectionFailure.of(faulty, event, error)
                if failure != self.failure:
                    log.error("projecting stopped: %s", failure.describe(), exc_info=error)
                self.failure = failure
                raise ProjectionStopped(failure) from error
            if not more:
                break
        return more, reached

    def probe(self) -> ProjectionFailure | None:
        """For another process (`projections status`): tries the next event of each projection
        behind the log in a transaction it rolls back, and names it if it cannot be projected."""
        known = self.positions()
        for projection in self.projections:
            position = known.get(projection.name, 0)
            pending = self.read(position, limit=1)
            if not pending:
                continue
            trial = type(projection)()  # a clean memory, so the live one stays untouched
            with self.engine.connect() as conn:
                transaction = conn.begin()
                try:
                    apply_batch(trial, conn, pending, after=position)
                except Exception as error:
                    if database_unavailable(error):
                        raise
                    return ProjectionFailure.of(pending[0][0], pending[0][1], error)
                finally:
                    transaction.rollback()
        return None

    def _step(self, only: set[str] | None = None, limit: int | None = None) -> tuple[bool, int]:
        """Projects one batch (of ``limit`` events at most) into every projection (or those named in
        ``only``), in one transaction.

        Returns whether there may be more, and the position those projections have reached."""
        known = self.known if self.known is not None else self.positions()
        self.known = None  # until this batch commits
        chosen = [p for p in self.projections if only is None or p.name in only]
        if not chosen:
            return False, 0
        positions = {p.name: known.get(p.name, 0) for p in chosen}
        reached = min(positions.values())
        events = self.read(reached, limit)
        if not events:
            self.known = known
            return False, reached
        last = events[-1][0]
        behind = [p for p in chosen if positions[p.name] < last]
        try:
            with self.engine.begin() as conn:
                # Claim the batch first: a concurrent projector waits here, then finds it taken.
                if not self._claim(conn, {p.name: positions[p.name] for p in behind}, last):
                    raise AlreadyProjected
                for projection in behind:
                    apply_batch(projection, conn, events, after=positions[projection.name])
                if self.notify_channel:
                    conn.execute(select(func.pg_notify(self.notify_channel, str(last))))
        except AlreadyProjected:
            # Another process projected this batch first; ours was rolled back.
            log.info("batch after %s was projected elsewhere", reached)
            return True, reached
        except BaseException:
            for projection in behind:
                projection.forget()  # it remembers rows that were rolled back
            raise
        self.known = {**known, **{p.name: last for p in behind}}
        return len(events) == (limit or self.batch_size), last

    @staticmethod
    def _claim(conn: Connection, positions: dict[str, int], new: int) -> bool:
        """Moves tracking positions to ``new``, unless someone else already moved one of them.

        One statement per distinct old position: usually all projections are at the same one."""
        by_position: dict[int, list[str]] = {}
        for name, old in positions.items():
            by_position.setdefault(old, []).append(name)
        for old, names in by_position.items():
            moved = conn.execute(CLAIM, {"names": names, "old": old, "new": new})
            if moved.rowcount != len(names):
                return False
        return True

    def decode(self, notifications: Sequence[Notification]) -> Batch:
        return Batch(notifications, [(n.id, self.app.mapper.to_domain_event(n)) for n in notifications])

    def read(
        self, after: int, limit: int | None = None, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Batch:
        """Decoded events after a position, one batch: up to ``stop``, of ``topics`` (all when empty)."""
        notifications = self.app.recorder.select_notifications(
            start=after + 1, limit=limit or self.batch_size, stop=stop, topics=topics
        )
        return self.decode(notifications)

    def wait_for(self, position: int, timeout: float) -> None:
        """Read-your-writes: returns once every projection has processed ``position``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                reached = self.catch_up(timeout=max(remaining, 0))
            except ProjectionStopped as stopped:
                raise ReadModelsStopped(
                    f"the change was recorded (event {position}), but the read models are stopped: "
                    f"{stopped.failure.describe()}"
                ) from stopped
            except Exception as error:
                # The command is recorded whatever happens here; say so rather than fail it.
                log.exception("projecting after event %s failed", position)
                raise ReadModelsBehind(
                    f"the change was recorded (event {position}), but the read models could not be updated"
                ) from error
            if reached is not None and reached >= position:
                return
            if remaining <= 0:
                raise ReadModelsBehind.after(position, timeout)
            with self.advanced:
                self.advanced.wait(timeout=min(remaining, 0.05))
