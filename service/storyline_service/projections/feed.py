"""Keeps projections up to date with events written by any process.

On PostgreSQL the event store NOTIFYs on every insert, so projectors LISTEN
and wake at once; a periodic poll covers a lost notification. SQLite has no
notifications, so there the poll alone does the work.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import psycopg
from psycopg import sql

from storyline_service.projections.failures import ProjectionStopped
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
        url = settings.url
        self.conn = psycopg.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            dbname=url.database,
            user=url.username,
            password=url.password,
            autocommit=True,
            connect_timeout=settings.connect_timeout_seconds,
        )
        self.conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))

    def wait(self, timeout: float) -> None:
        for _ in self.conn.notifies(timeout=timeout, stop_after=1):
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
    """Projects until ``stop`` is set, surviving database outages."""
    feed: Feed | None = None
    while not stop.is_set():
        try:
            feed = feed or feed_for(projector, settings, stop)
            projector.catch_up()
            feed.wait(poll_seconds)
        except ProjectionStopped:
            stop.wait(poll_seconds)  # logged once when it stopped; the event is retried, never skipped
        except Exception:
            log.exception("projector: will retry in %s s", poll_seconds)
            if isinstance(feed, ListenFeed):
                feed.close()
            feed = None
            stop.wait(poll_seconds)
    if isinstance(feed, ListenFeed):
        feed.close()
