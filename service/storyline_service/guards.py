"""Checks on what reaches the application outside the domain: who calls, with which
idempotency key and business time, and who may create boards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from storyline_domain.errors import ForbiddenError, ValidationError
from storyline_domain.limits import DEFAULT_LIMITS, Limits
from storyline_domain.text import check_text

# How far ahead of the server clock a client's occurredAt may be.
CLOCK_SKEW = timedelta(minutes=5)

BoardCreators = Literal["anyone", "admins"]
BACKFILL_NEEDS_IMPORT = (
    "backfilling occurredAt needs the IMPORT permission: ADMIN on the board, or an admin token"
)


@dataclass(frozen=True)
class Policy:
    limits: Limits = DEFAULT_LIMITS
    max_client_mutation_id_length: int = 200
    board_creators: BoardCreators = "anyone"
    max_boards_per_user: int = 50

    def check_idempotency_key(self, key: str | None) -> None:
        if key is None:
            return
        check_text(key, "clientMutationId")
        if not 1 <= len(key) <= self.max_client_mutation_id_length:
            raise ValidationError(
                f"clientMutationId must be 1 to {self.max_client_mutation_id_length} characters",
                field="clientMutationId",
            )

    def business_time(self, occurred_at: datetime | None, now: datetime) -> datetime:
        """``occurred_at`` in UTC (``now`` when absent): it has an offset, is not in the
        future and lies within the accepted dates."""
        if occurred_at is None:
            return now
        if occurred_at.tzinfo is None:
            raise ValidationError("occurredAt needs a time-zone offset", field="occurredAt")
        try:
            utc = occurred_at.astimezone(UTC)
        except OverflowError:  # only at year 1 or 9999, far outside the accepted dates
            raise ValidationError(
                f"occurredAt must lie between {self.limits.earliest_date} and {self.limits.latest_date}",
                field="occurredAt",
            ) from None
        if utc > now + CLOCK_SKEW:
            raise ValidationError("occurredAt cannot be in the future", field="occurredAt")
        self.limits.check_date(utc, "occurredAt")
        return utc

    def check_board_creator(self, superuser: bool, backfilled: bool) -> None:
        if self.board_creators == "admins" and not superuser:
            raise ForbiddenError("only admins may create boards here (STORYLINE_BOARD_CREATORS=admins)")
        if backfilled and not superuser:
            # A new board has no ADMIN yet who could hold the permission.
            raise ForbiddenError(BACKFILL_NEEDS_IMPORT, field="occurredAt")
