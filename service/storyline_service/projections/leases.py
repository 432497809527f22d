"""One active projector per projection, across processes: PostgreSQL session-level advisory locks.

Each projection's lock is held on a dedicated connection for as long as the
worker runs. When the worker dies its connection closes and PostgreSQL
releases the locks, so another worker takes them at its next attempt and
continues from the tracking positions (stored with the read models, in the
same transactions). The tracking positions' compare-and-set claim stays as a
second guard: a worker that lost its connection without noticing cannot
project a batch twice.

SQLite has no such locks: there one process is the supported deployment.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from storyline_service.database import advisory_key, connect
from storyline_service.settings import Settings

log = logging.getLogger(__name__)


def lock_key(settings: Settings, projection: str) -> int:
    return advisory_key(settings, f"projection/{projection}")


class ProjectionLeases:
    """The projections this process may project; on PostgreSQL, those whose advisory lock it holds."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.conn = connect(settings, "projector") if settings.is_postgres else None
        self.held: set[str] = set()

    def acquire(self, names: Iterable[str]) -> set[str]:
        """Tries to take every lock not held yet; returns the names held now.

        Raises when the lock connection is gone: its locks are then lost."""
        if self.conn is None:
            self.held = set(names)
            return self.held
        for name in names:
            if name in self.held:
                continue
            key = lock_key(self.settings, name)
            row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row and row[0]:
                log.info("projector: now projecting %s", name)
                self.held.add(name)
        # Proves the connection, and with it the locks, are still there.
        self.conn.execute("SELECT 1")
        return self.held

    def close(self) -> None:
        """Releases every lock (closing the session does it)."""
        self.held = set()
        if self.conn is not None:
            self.conn.close()
