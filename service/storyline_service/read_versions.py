"""How far the read models have come: each projection's tracking position and the rebuild generation.

Read models change only when events are projected (the position moves) or when a rebuild swaps in
freshly replayed tables. A rebuild leaves positions where they were, so it bumps the generation in the
same transaction as its swap. Together they version every answer the read models give, whichever
process wrote them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Connection, Engine, literal, select, union_all, update
from sqlmodel import Field, SQLModel

from storyline_service.readmodels import ProjectionTracking, table_of


class ReadModelGenerationRow(SQLModel, table=True):
    """Bumped by every rebuild; one row."""

    __tablename__ = "read_model_generation"
    id: int = Field(default=1, primary_key=True)
    generation: int = Field(sa_type=BigInteger)


generations = table_of(ReadModelGenerationRow)
tracking = table_of(ProjectionTracking)
GENERATION = "(rebuild generation)"  # not a projection name: those are identifiers

# One round trip for the whole version.
VERSIONS = union_all(
    select(tracking.c.name, tracking.c.position),
    select(literal(GENERATION), generations.c.generation),
)


Versions = tuple[tuple[str, int], ...]


def read_versions(connectable: Engine | Connection) -> Versions:
    """Every projection's position and the rebuild generation, sorted: equal versions, equal read models."""
    if isinstance(connectable, Engine):
        with connectable.connect() as conn:
            return read_versions(conn)
    return tuple(sorted((name, position) for name, position in connectable.execute(VERSIONS)))


def bump_generation(conn: Connection) -> None:
    """Marks the read models as replaced, in the caller's transaction."""
    bumped = conn.execute(update(generations).values(generation=generations.c.generation + 1))
    if bumped.rowcount == 0:
        conn.execute(generations.insert().values(id=1, generation=1))
