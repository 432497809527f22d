"""Webhooks, their secrets, their delivery cursors and every delivery, in durable tables.

A webhook is integration configuration, like an API token, not project history:
it lives in tables of its own rather than in the event log. Its secret has a
table of its own, keyed by webhook id, that nothing but the deliverer reads: no
query and no event ever carries it. It is kept as given (a signature needs the
secret itself, not a hash of it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Engine, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from storyline_service.queries import Record
from storyline_service.readmodels import json_field, table_of, utc_datetime


class WebhookRow(SQLModel, table=True):
    __tablename__ = "webhooks"
    id: str = Field(primary_key=True)
    board_key: str = Field(index=True)
    url: str
    event_types: list[str] = json_field()  # empty: every event
    active: bool = True
    deactivated_reason: str | None = None
    created_at: datetime = utc_datetime()
    created_by: str
    # Delivery starts after this position of the event log: the head when the webhook was created.
    position: int = Field(sa_type=BigInteger)


class WebhookSecretRow(SQLModel, table=True):
    __tablename__ = "webhook_secrets"
    webhook_id: str = Field(primary_key=True)
    secret: str


class WebhookDeliveryRow(SQLModel, table=True):
    """One event for one webhook, with its attempts so far."""

    __tablename__ = "webhook_deliveries"
    webhook_id: str = Field(primary_key=True)
    sequence: int = Field(primary_key=True, sa_type=BigInteger)
    event_type: str
    status: str  # PENDING, DELIVERED, FAILED
    attempts: int = 0
    last_response_code: int | None = None
    last_error: str | None = None
    last_attempt_at: datetime | None = utc_datetime(default=None)
    next_attempt_at: datetime | None = utc_datetime(default=None)


webhooks = table_of(WebhookRow)
secrets_table = table_of(WebhookSecretRow)
deliveries = table_of(WebhookDeliveryRow)

PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"


class WebhookStore:
    """Reads on ``reader``, durable writes on ``writer`` (on SQLite only the writer takes the write lock)."""

    def __init__(self, writer: Engine, reader: Engine | None = None) -> None:
        self.writer = writer
        self.reader = reader or writer

    def _rows(self, query: Any) -> list[Record]:
        with self.reader.connect() as conn:
            return list(conn.execute(query))

    # ----- management -----

    def add(self, row: dict[str, Any], secret: str) -> None:
        with self.writer.begin() as conn:
            conn.execute(insert(webhooks).values(row))
            conn.execute(insert(secrets_table).values(webhook_id=row["id"], secret=secret))

    def remove(self, webhook_id: str) -> None:
        with self.writer.begin() as conn:
            for table, column in (
                (deliveries, deliveries.c.webhook_id),
                (secrets_table, secrets_table.c.webhook_id),
                (webhooks, webhooks.c.id),
            ):
                conn.execute(delete(table).where(column == webhook_id))

    def set_active(self, webhook_id: str, active: bool, reason: str | None = None) -> None:
        with self.writer.begin() as conn:
            conn.execute(
                update(webhooks)
                .where(webhooks.c.id == webhook_id)
                .values(active=active, deactivated_reason=reason)
            )

    def get(self, webhook_id: str) -> Record | None:
        rows = self._rows(select(webhooks).where(webhooks.c.id == webhook_id))
        return rows[0] if rows else None

    def of_boards(self, board_keys: Sequence[str]) -> dict[str, list[Record]]:
        query = select(webhooks).where(webhooks.c.board_key.in_(board_keys)).order_by(webhooks.c.created_at)
        found: dict[str, list[Record]] = {key: [] for key in board_keys}
        for row in self._rows(query):
            found[row.board_key].append(row)
        return found

    def active_ids(self) -> set[str]:
        return {row.id for row in self._rows(select(webhooks.c.id).where(webhooks.c.active))}

    def secret_of(self, webhook_id: str) -> str | None:
        query = select(secrets_table.c.secret).where(secrets_table.c.webhook_id == webhook_id)
        with self.reader.connect() as conn:
            return conn.execute(query).scalar()

    # ----- deliveries -----

    def delivery(self, webhook_id: str, sequence: int) -> Record | None:
        key = (deliveries.c.webhook_id == webhook_id, deliveries.c.sequence == sequence)
        rows = self._rows(select(deliveries).where(*key))
        return rows[0] if rows else None

    def start_delivery(self, webhook_id: str, sequence: int, event_type: str) -> Record:
        """The delivery of this event, recorded as PENDING the first time it is asked for."""
        found = self.delivery(webhook_id, sequence)
        if found is None:
            with self.writer.begin() as conn:
                row = dict(webhook_id=webhook_id, sequence=sequence, event_type=event_type, status=PENDING)
                conn.execute(insert(deliveries).values(row))
            found = self.delivery(webhook_id, sequence)
            assert found is not None
        return found

    def record_attempt(self, webhook_id: str, sequence: int, **values: Any) -> None:
        """One more attempt and what came of it; a DELIVERED one moves the webhook's position on."""
        with self.writer.begin() as conn:
            self._update_delivery(conn, webhook_id, sequence, attempts=deliveries.c.attempts + 1, **values)
            if values.get("status") == DELIVERED:
                conn.execute(
                    update(webhooks)
                    .where(webhooks.c.id == webhook_id, webhooks.c.position < sequence)
                    .values(position=sequence)
                )

    def schedule(self, webhook_id: str, sequence: int, next_attempt_at: datetime | None) -> None:
        with self.writer.begin() as conn:
            self._update_delivery(conn, webhook_id, sequence, next_attempt_at=next_attempt_at)

    def give_up(self, webhook_id: str, sequence: int, reason: str) -> None:
        """The event failed too often: its delivery FAILED, and the webhook is deactivated with a reason."""
        with self.writer.begin() as conn:
            self._update_delivery(conn, webhook_id, sequence, status=FAILED, next_attempt_at=None)
            conn.execute(
                update(webhooks)
                .where(webhooks.c.id == webhook_id)
                .values(active=False, deactivated_reason=reason)
            )

    @staticmethod
    def _update_delivery(conn: Connection, webhook_id: str, sequence: int, **values: Any) -> None:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.webhook_id == webhook_id, deliveries.c.sequence == sequence)
            .values(**values)
        )

    def reopen(self, webhook_id: str) -> None:
        """On re-activation: the deliveries that FAILED are tried again, with a fresh count."""
        with self.writer.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.webhook_id == webhook_id, deliveries.c.status == FAILED)
                .values(status=PENDING, attempts=0, next_attempt_at=None)
            )

    def delivery_page(
        self, webhook_id: str, limit: int, *, before: int | None, after: int | None, newest_first: bool
    ) -> list[Record]:
        """Up to ``limit`` of the webhook's deliveries with a sequence between ``after`` and ``before``."""
        query = select(deliveries).where(deliveries.c.webhook_id == webhook_id)
        if before is not None:
            query = query.where(deliveries.c.sequence < before)
        if after is not None:
            query = query.where(deliveries.c.sequence > after)
        order = deliveries.c.sequence.desc() if newest_first else deliveries.c.sequence.asc()
        return self._rows(query.order_by(order).limit(limit))

    def delivery_count(self, webhook_id: str) -> int:
        query = select(func.count()).select_from(deliveries).where(deliveries.c.webhook_id == webhook_id)
        with self.reader.connect() as conn:
            return int(conn.execute(query).scalar_one())
