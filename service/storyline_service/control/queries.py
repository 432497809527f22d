"""Reads of project control for the API: the risk register and the published status updates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from storyline_service.control.readmodels import RiskRow, StatusUpdateRow
from storyline_service.readmodels import AuditEntryRow, BoardRow, table_of

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


def risk_history(engine: Engine, key: str) -> list[Any]:
    """The audit entries of one risk, in log order."""
    audit = table_of(AuditEntryRow)
    query = (
        select(audit)
        .where(audit.c.entity_type == "Risk", audit.c.entity_key == key)
        .order_by(audit.c.sequence)
    )
    with engine.connect() as conn:
        return list(conn.execute(query))


def draft_since(engine: Engine, board_key: str) -> datetime:
    """Where the next draft starts: the end of the last published update, else the board's creation."""
    boards = table_of(BoardRow)
    with engine.connect() as conn:
        last = conn.execute(
            select(updates.c.until)
            .where(updates.c.board_key == board_key)
            .order_by(updates.c.sequence.desc())
            .limit(1)
        ).scalar()
        if last is not None:
            return last  # type: ignore[no-any-return]
        return conn.execute(select(boards.c.created_at).where(boards.c.key == board_key)).scalar_one()  # type: ignore[no-any-return]


def status_update(engine: Engine, update_id: str) -> Any | None:
    with engine.connect() as conn:
        return conn.execute(select(updates).where(updates.c.id == update_id)).first()


def risk_by_id(engine: Engine, risk_id: str) -> Any | None:
    with engine.connect() as conn:
        return conn.execute(select(risks).where(risks.c.id == risk_id)).first()
