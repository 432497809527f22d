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

import hashlib
import logging
import os
from collections.abc import Iterable

import psycopg

from storyline_service.settings import Settings

log = logging.getLogger(__name__)


def lock_key(settings: Settings, projection: str) -> int:
    """A stable 64-bit key per database schema and projection (advisory locks are database-wide)."""
    name = f"storyline/{settings.database_schema or 'public'}/projection/{projection}"
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def connect(settings: Settings, purpose: str) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit PostgreSQL connection outside the pools, for LISTEN and advisory locks."""
    url = settings.url
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        dbname=url.database,
        user=url.username,
        password=url.password,
        autocommit=True,
        # pg_stat_activity then shows which process holds which lock.
        application_name=f"storyline {purpose} pid={os.getpid()}",
        connect_timeout=settings.connect_timeout_seconds,
        # A peer that vanished without closing its socket is noticed within about 10 s.
        keepalives=1,
        keepalives_idle=5,
        keepalives_interval=2,
        keepalives_count=3,
    )


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
