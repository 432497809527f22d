"""Small helpers shared by tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from storyline_service.application import Caller

ALICE = Caller("alice")


def at(text: str) -> datetime:
    """A UTC instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def backfill(actor: str, when: str, key: str | None = None) -> Caller:
    return Caller(actor, occurred_at=at(when), idempotency_key=key)


def importing(caller: Caller) -> Caller:
    """``caller`` with an admin token: backfilling a new board needs the IMPORT permission."""
    return replace(caller, superuser=True)
