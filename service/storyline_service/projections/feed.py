"""Keeps projections up to date with events written by any process.

On PostgreSQL the event store NOTIFYs on every insert, so projectors LISTEN
and wake at once; a periodic poll covers a lost notification. SQLite has no
notifications, so there the poll alone does the work.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from psycopg import sql

from storyline_service.database import connect
from storyline_service.projections.failures import ProjectionStopped
from storyline_service.projections.leases import ProjectionLeases
from storyline_service.projections.runner import Projector
from storyline_service.settings import Settings

log = logging.getLogger(__name__)


class Feed(Protocol):
    def wait(self, timeout: float) -> None:
        """Returns when new events may have been recorded, or after ``timeout`` seconds."""


class PollingFeed:
    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def wait(self, timeout: float) -> None:
        self.stop.wait(timeout)


class ListenFeed:
    def __init__(self, settings: Settings, channel: str) -> None:
        self.conn = connect(settings, f"listen {channel}")
        self.conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))

    def wait(self, timeout: float) -> None:
        for _ in self.conn.notifies(timeout=timeout, stop_after=1):
            pass
        # Several batches may have been announced meanwhile: one wake-up covers them all.
        for _ in self.conn.notifies(timeout=0):
            pass

    def close(self) -> None:
        self.conn.close()


def feed_for(projector: Projector, settings: Settings, stop: threading.Event) -> Feed:
    channel = getattr(projector.app.recorder, "channel_name", None)
    if settings.is_postgres and channel:
        return ListenFeed(settings, channel)
    return PollingFeed(stop)


def run_projector(
    projector: Projector, settings: Settings, stop: threading.Event, poll_seconds: float = 1.0
) -> None:
    """Projects until ``stop`` is set, surviving database outages.

    Only the projections whose lease this process holds are run; a worker without
    any keeps trying to take them, every ``poll_seconds``, until their holder is gone."""
    feed: Feed | None = None
    leases: ProjectionLeases | None = None
    names = [p.name for p in projector.projections]
    while not stop.is_set():
        try:
            leases = leases or ProjectionLeases(settings)
            held = leases.acquire(names)
            projector.leased = frozenset(held)
            feed = feed or feed_for(projector, settings, stop)
            if held:
                projector.catch_up(only=held)
            feed.wait(poll_seconds)
        except ProjectionStopped:
            stop.wait(poll_seconds)  # logged once when it stopped; the event is retried, never skipped
        except Exception:
            log.exception("projector: will retry in %s s", poll_seconds)
            projector.leased = frozenset()
            close_all(feed, leases)
            feed, leases = None, None
            stop.wait(poll_seconds)
    # Ending the lock session releases the leases at once: another worker takes over.
    projector.leased = frozenset()
    close_all(feed, leases)


def close_all(*resources: object) -> None:
    for resource in resources:
        if isinstance(resource, ListenFeed | ProjectionLeases):
            resource.close()
