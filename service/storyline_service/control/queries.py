"""Reads of project control for the API: the risk register and the published status updates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from storyline_service.control.readmodels import RiskRow, StatusUpdateRow
from storyline_service.readmodels import table_of

risks = table_of(RiskRow)
updates = table_of(StatusUpdateRow)


def risks_of(
    engine: Engine, board_key: str, state: str | None = None, min_score: int | None = None
) -> list[Any]:
    """The board's risks by score, highest first (then by number)."""
    query = select(risks).where(risks.c.board_key == board_key)
    if state is not None:
        query = query.where(risks.c.state == state)
    if min_score is not None:
        query = query.where(risks.c.score >= min_score)
    with engine.connect() as conn:
        return list(conn.execute(query.order_by(risks.c.score.desc(), risks.c.number)))


def risk_by_key(engine: Engine, key: str) -> Any | None:
    with engine.connect() as conn:
        return conn.execute(select(risks).where(risks.c.key == key)).first()


def published_updates(engine: Engine, board_key: str) -> list[Any]:
    """The board's published status updates, newest first."""
    query = select(updates).where(updates.c.board_key == board_key).order_by(updates.c.sequence.desc())
    with engine.connect() as conn:
        return list(conn.execute(query))
