"""Read models of project control. Money is stored as its exact decimal text on every backend."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Dialect, Index, String, TypeDecorator
from sqlmodel import Field, SQLModel

from storyline_service.readmodels import json_field, utc_datetime


class DecimalText(TypeDecorator[Decimal]):
    """SQLite would keep a NUMERIC as a float; text keeps every digit, on PostgreSQL too."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else format(value, "f")

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def money_field(**kwargs: Any) -> Any:
    return Field(sa_type=DecimalText, **kwargs)


class BudgetRow(SQLModel, table=True):
    __tablename__ = "budgets"
    board_key: str = Field(primary_key=True)
    currency: str
    amount: Decimal = money_field()
    basis: str
    rate: Decimal = money_field()
    reason: str | None = None
    set_at: datetime = utc_datetime()
    set_by: str


class MilestoneSlipRow(SQLModel, table=True):
    """One change of an epic's target date."""

    __tablename__ = "milestone_slips"
    __table_args__ = (Index("ix_milestone_slips_board", "board_key", "sequence"),)
    sequence: int = Field(primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False})
    epic_key: str = Field(index=True)
    board_key: str
    from_date: date | None = None
    to_date: date | None = None
    reason: str
    occurred_at: datetime = utc_datetime()
    actor: str


class EpicHealthRow(SQLModel, table=True):
    """An epic's health as a manager overrode it."""

    __tablename__ = "epic_health_overrides"
    epic_key: str = Field(primary_key=True)
    health: str
    reason: str
    occurred_at: datetime = utc_datetime()
    actor: str


class RiskRow(SQLModel, table=True):
    __tablename__ = "risks"
    __table_args__ = (Index("ix_risks_board_score", "board_key", "score", "number"),)
    key: str = Field(primary_key=True)
    id: str = Field(index=True, unique=True)
    board_key: str
    number: int
    title: str
    description: str
    probability: int
    impact: int
    score: int
    owner: str | None = None
    mitigation: str | None = None
    state: str
    story_keys: list[str] = json_field()
    epic_keys: list[str] = json_field()
    version: int
    created_at: datetime = utc_datetime()


class RiskChangeRow(SQLModel, table=True):
    """A risk's score and state after each of its events: what a status update reports on."""

    __tablename__ = "risk_changes"
    __table_args__ = (Index("ix_risk_changes_board_time", "board_key", "occurred_at"),)
    sequence: int = Field(primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False})
    risk_key: str
    board_key: str
    event_type: str
    title: str
    score: int
    state: str
    occurred_at: datetime = utc_datetime()


class StatusUpdateRow(SQLModel, table=True):
    """A published status update, with its figures exactly as the event froze them."""

    __tablename__ = "status_updates"
    __table_args__ = (Index("ix_status_updates_board", "board_key", "sequence"),)
    id: str = Field(primary_key=True)
    sequence: int
    board_key: str
    published_at: datetime = utc_datetime()
    actor: str
    health: str
    summary: str
    since: datetime = utc_datetime()
    until: datetime = utc_datetime()
    figures: dict[str, Any] = json_field()
    markdown: str
