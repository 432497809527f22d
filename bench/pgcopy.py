"""Puts a log generated on SQLite into PostgreSQL: the same events, and the same read-model rows.

The application writes about 160 events a second on PostgreSQL here and the
projections about 400, too slow to build a large log inside the time budget.
So the events go in through the PostgreSQL recorder's own ``insert_events``
(the bytes the application produced, in the same order), and the read-model
rows the projections wrote on SQLite are copied over table by table. The
snapshots are left behind: reads never use them.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Integer, delete, insert, select, text, update

from storyline_service.bootstrap import Runtime
from storyline_service.readmodels import ProjectionTracking

tracking = ProjectionTracking.__table__  # type: ignore[attr-defined]


def copy_log(source: Runtime, target: Runtime, batch: int = 2000) -> int:
    """Appends every event of ``source``'s log to ``target``'s, in order; returns how many."""
    position, count = 0, 0
    while notifications := source.app.recorder.select_notifications(start=position + 1, limit=batch):
        stored = [
            StoredEvent(
                originator_id=UUID(str(n.originator_id)),
                originator_version=n.originator_version,
                topic=n.topic,
                state=n.state,
            )
            for n in notifications
        ]
        target.app.recorder.insert_events(stored)
        position, count = notifications[-1].id, count + len(notifications)
    return count


def copy_read_models(source: Runtime, target: Runtime, chunk: int = 5000) -> int:
    """Replaces ``target``'s read models with ``source``'s rows and tracking positions; returns rows."""
    rows = 0
    tables = [table for projection in source.projector.projections for table in projection.t]
    with source.engine.connect() as src, target.write_engine.begin() as dst:
        for table in tables:
            dst.execute(delete(table))
            result = src.execute(select(table)).mappings()
            while batch := result.fetchmany(chunk):
                dst.execute(insert(table), [dict(row) for row in batch])
                rows += len(batch)
            id_column = table.c.get("id")
            if target.settings.is_postgres and id_column is not None and isinstance(id_column.type, Integer):
                # Explicit ids leave the serial sequence behind; later inserts must not collide.
                dst.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE(MAX(id), 1)) FROM {table.name}"
                    )
                )
        for name, position in src.execute(select(tracking.c.name, tracking.c.position)).all():
            dst.execute(update(tracking).where(tracking.c.name == name).values(position=position))
    if target.settings.is_postgres:
        # Fresh statistics, as autovacuum would gather after a load like this.
        with target.write_engine.begin() as dst:
            for table in tables:
                dst.execute(text(f"ANALYZE {table.name}"))
    return rows
