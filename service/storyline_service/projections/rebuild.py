"""Rebuild and verify: replay the whole log into fresh tables, then swap them in or compare."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from sqlalchemy import Connection, Integer, Table, delete, insert, inspect, select, update

from storyline_service.projections.base import Projection, Tables
from storyline_service.projections.runner import Projector, apply_batch, handled_topics, tracking
from storyline_service.read_versions import bump_generation

Progress = Callable[[int], None]  # called with the number of events just replayed
REPLAY_BATCH = 5000  # events per transaction when replaying: fewer commits, bounded memory


def meaningful_columns(table: Table) -> list[Any]:
    """All columns but integer surrogate keys, which differ between replays."""
    return [
        c for c in table.columns if not (c.primary_key and c.name == "id" and isinstance(c.type, Integer))
    ]


@contextmanager
def fresh_copy(projector: Projector, projection: Projection, suffix: str) -> Iterator[Projection]:
    """A projection of the same kind writing to empty copies of its tables, dropped afterwards."""
    tables = Tables(type(projection).tables, suffix=suffix)
    with projector.engine.begin() as conn:
        for table in tables:
            table.drop(conn, checkfirst=True)
            table.create(conn)
    try:
        yield type(projection)(tables)
    finally:
        with projector.engine.begin() as conn:
            for table in tables:
                table.drop(conn, checkfirst=True)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pauses the cyclic garbage collector: a replay makes many short-lived objects without cycles,
    and the collector walked them over and over (about a sixth of a replay's time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def replay(
    projector: Projector, fresh: list[Projection], until: int, progress: Progress | None = None
) -> int:
    """Replays events up to ``until`` into fresh projections: the log is read once, a batch at a time."""
    position, topics = 0, handled_topics(fresh)
    with collector_paused():
        while position < until:
            # Only events the projections handle: placements and key sequences are not even read.
            events = projector.read(position, REPLAY_BATCH, stop=until, topics=topics)
            if not events:
                break
            with projector.engine.begin() as conn:
                for projection in fresh:
                    apply_batch(projection, conn, events, after=position)
            if progress:
                progress(events[-1][0] - position)  # the events skipped count as replayed
            position = events[-1][0]
    return position


def rebuild(projector: Projector, projections: list[Projection], progress: Progress | None = None) -> int:
    """Rebuilds projections while the live tables stay readable; returns their new position.

    The swap copies the fresh rows over in one transaction, so readers see the
    old rows until it commits and the new ones after. Projections that are not
    rebuildable (the hash chain) are left as they are.
    """
    projections = [p for p in projections if p.rebuildable]
    names = [p.name for p in projections]
    with ExitStack() as stack:
        fresh = [stack.enter_context(fresh_copy(projector, p, "__rebuild")) for p in projections]
        position = replay(projector, fresh, projector.head(), progress)
        with projector.lock, projector.engine.begin() as conn:
            # Hold the tracking rows so that no other projector writes while we swap.
            conn.execute(select(tracking.c.position).where(tracking.c.name.in_(names)).with_for_update())
            while events := projector.read(position):
                for projection in fresh:
                    apply_batch(projection, conn, events, after=position)
                position = events[-1][0]
            for live_projection, fresh_projection in zip(projections, fresh, strict=True):
                for name, live in live_projection.t.by_name.items():
                    conn.execute(delete(live))
                    copy(conn, fresh_projection.t[name], live)
            conn.execute(update(tracking).where(tracking.c.name.in_(names)).values(position=position))
            projector.known = None
            bump_generation(conn)  # same positions, new rows: cached answers must not match them
    return position


def copy(conn: Connection, source: Table, target: Table) -> None:
    """Copies every row of ``source`` into ``target``, which has the same columns.

    When the stored columns are in the same order, it is ``INSERT INTO target SELECT * FROM
    source``: SQLite then copies rows and index entries in bulk into the emptied table instead of
    inserting them one by one. Older databases may hold columns in another order: named then."""
    columns = [c.name for c in target.columns]
    stored = inspect(conn)
    if [c["name"] for c in stored.get_columns(target.name)] == [
        c["name"] for c in stored.get_columns(source.name)
    ]:
        table = conn.dialect.identifier_preparer.format_table
        conn.exec_driver_sql(f"INSERT INTO {table(target)} SELECT * FROM {table(source)}")
    else:
        conn.execute(insert(target).from_select(columns, select(*[source.c[c] for c in columns])))


def verify(projector: Projector, projection: Projection) -> list[str]:
    """Differences between the live read model and a fresh replay of the log, and the rules its
    rows break (WIP limits, shared ranks, stories in missing columns); empty when all is well."""
    projector.catch_up()
    with projector.lock, fresh_copy(projector, projection, "__verify") as fresh:
        replay(projector, [fresh], projector.positions().get(projection.name, 0))
        differences = []
        with projector.engine.connect() as conn:
            for name, live in projection.t.by_name.items():
                differences += compare(conn, name, live, fresh.t[name])
            differences += projection.broken_invariants(conn)
    return differences


def compare(conn: Connection, name: str, live: Table, fresh: Table) -> list[str]:
    def rows(table: Table) -> Counter[str]:
        # repr() makes rows with JSON values comparable; a Counter keeps duplicates apart.
        return Counter(repr(tuple(row)) for row in conn.execute(select(*meaningful_columns(table))).all())

    live_rows, fresh_rows = rows(live), rows(fresh)
    missing = sorted((fresh_rows - live_rows).elements())
    extra = sorted((live_rows - fresh_rows).elements())
    return [f"{name}: missing {row}" for row in missing] + [f"{name}: unexpected {row}" for row in extra]
