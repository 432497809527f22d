"""Physical baselines: bare single-row commits, and the library's raw read-and-decode rate."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.measure import concurrently, rate
from storyline_service.application import Storyline


def sqlite_synchronous(app: Storyline) -> int:
    """The ``synchronous`` setting of the application's own SQLite connections (eventsourcing sets none)."""
    with app.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
        cursor.execute("PRAGMA synchronous")
        return int(cursor.fetchone()[0])


def sqlite_commits(path: Path, synchronous: int, seconds: float) -> float:
    """Single-row INSERT + COMMIT per second, WAL, with the given ``synchronous`` level."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_commit (id INTEGER PRIMARY KEY, body BLOB)")
        body = b"x" * 300  # about one event's size

        def commit(i: int) -> None:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO bench_commit (body) VALUES (?)", (body,))
            conn.execute("COMMIT")

        rate(commit, 0.2)  # warm-up: file growth and page cache
        return rate(commit, seconds)
    finally:
        conn.close()


def postgres_commits(url: str, schema: str, clients: int, seconds: float) -> float:
    """Single-row autocommit INSERTs per second over ``clients`` connections, one thread each."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.bench_commit (id bigserial PRIMARY KEY, body bytea)"
        )
    body = b"x" * 300

    def client(index: int, stop: threading.Event) -> int:
        commits = 0
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.is_set():
                conn.execute(f"INSERT INTO {schema}.bench_commit (body) VALUES (%s)", (body,))
                commits += 1
        return commits

    commits, elapsed = concurrently(clients, seconds, client)
    return commits / elapsed


def read_and_decode(app: Storyline, batch: int = 500) -> tuple[int, float]:
    """Reads the whole log in batches and decodes every event: (events, seconds)."""
    start = time.perf_counter()
    position, count = 0, 0
    while notifications := app.recorder.select_notifications(start=position + 1, limit=batch):
        for notification in notifications:
            app.mapper.to_domain_event(notification)
        count += len(notifications)
        position = notifications[-1].id
    return count, time.perf_counter() - start


class Counter(Aggregate):
    """The smallest aggregate worth moving: one event that changes one attribute."""

    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


class Counters(Application[UUID]):
    name = "Counters"


def library_commands(env: dict[str, str], seconds: float, aggregates: int = 50) -> float:
    """The eventsourcing library alone on the same storage: get an aggregate, trigger one event,
    save it; per second. What a command costs before any rule, projection or API."""
    app = Counters(env)
    try:
        counters = [Counter() for _ in range(aggregates)]
        app.save(*counters)
        ids = [counter.id for counter in counters]

        def command(index: int) -> None:
            counter: Any = app.repository.get(ids[index % aggregates])
            counter.increment()
            app.save(counter)

        return rate(command, seconds)
    finally:
        app.close()
