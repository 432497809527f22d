"""Small helpers shared by tests."""

from __future__ import annotations

from datetime import UTC, datetime

from storyline_service.application import Caller

ALICE = Caller("alice")


def at(text: str) -> datetime:
    """A UTC instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def backfill(actor: str, when: str, key: str | None = None) -> Caller:
    return Caller(actor, occurred_at=at(when), idempotency_key=key)
