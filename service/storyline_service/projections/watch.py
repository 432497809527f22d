"""What the read models have reached, as one process sees it, for waiters in that process.

Every projection batch NOTIFYs on commit (PostgreSQL), whichever process ran it;
one listener per process re-reads the tracking positions and wakes its waiters:
mutations waiting to read their own writes, and live subscriptions. A poll
covers lost notifications. On SQLite only this process's own projector moves
the positions: it tells the watch itself, in its own thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from storyline_service.projections.feed import Feed, ListenFeed, PollingFeed, close_all
from storyline_service.projections.runner import Projector, ReadModelsBehind
from storyline_service.settings import Settings

log = logging.getLogger(__name__)


def projected_channel(settings: Settings) -> str | None:
    """The channel projection batches NOTIFY on; one per schema, like the event store's."""
    if not settings.is_postgres:
        return None
    return f"{settings.database_schema or 'public'}_storyline_projected"


class ProjectionWatch:
    def __init__(self, projector: Projector, settings: Settings, poll_seconds: float = 0.5) -> None:
        self.projector = projector
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.reached = 0  # the position every projection has reached, as last read
        self.changed = threading.Condition()
        self.listeners: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="storyline-projection-watch", daemon=True)

    def start(self) -> ProjectionWatch:
        if projected_channel(self.settings) is None:
            self.projector.on_advanced = self.advance
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        with self.changed:
            self.changed.notify_all()
        self.thread.join(self.poll_seconds * 4)

    def _feed(self) -> Feed:
        channel = projected_channel(self.settings)
        return ListenFeed(self.settings, channel) if channel else PollingFeed(self.stop)

    def _run(self) -> None:
        feed: Feed | None = None
        while not self.stop.is_set():
            try:
                feed = feed or self._feed()
                self.refresh()
                feed.wait(self.poll_seconds)
            except Exception:
                log.exception("watching the read models: will retry in %s s", self.poll_seconds)
                close_all(feed)
                feed = None
                self.stop.wait(self.poll_seconds)
        close_all(feed)

    def refresh(self) -> None:
        self.advance(min(self.projector.positions().values(), default=0))

    def advance(self, reached: int) -> None:
        with self.changed:
            moved, self.reached = reached != self.reached, reached
            self.changed.notify_all()
        if moved:
            for loop, future in list(self.listeners):
                loop.call_soon_threadsafe(_resolve, future)

    def wait_for(self, position: int, timeout: float) -> None:
        """Read-your-writes: returns once every projection has processed ``position``, wherever
        its projector runs; raises ReadModelsBehind after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while self.reached < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stop.is_set():
                    raise ReadModelsBehind.after(position, timeout)
                self.changed.wait(remaining)

    async def moved(self, since: int, timeout: float) -> None:
        """Returns when the read models move past ``since`` (a ``reached`` read earlier), or after
        ``timeout`` seconds (a poll)."""
        loop = asyncio.get_running_loop()
        listener = (loop, loop.create_future())
        self.listeners.add(listener)  # before the check below, so no move goes unnoticed
        try:
            if self.reached == since:
                await asyncio.wait_for(listener[1], timeout)
        except TimeoutError:
            pass
        finally:
            self.listeners.discard(listener)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
