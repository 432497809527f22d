"""Storyline's scalars: times always carry an offset, dates are calendar dates, JSON is any value."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import strawberry
from strawberry.types.scalar import ScalarDefinition


def serialize_datetime(value: datetime) -> str:
    # SQLite hands back times without an offset; Storyline stores every time in UTC.
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def parse_datetime(value: Any) -> datetime:
    """Any ISO-8601 time. One without an offset is refused where it matters (occurredAt)."""
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO-8601 string with an offset, like 2024-05-01T09:30:00Z")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO-8601 time, like 2024-05-01T09:30:00Z") from None


def parse_date(value: Any) -> date:
    if not isinstance(value, str):
        raise ValueError("Date must be an ISO-8601 calendar date, like 2024-05-01")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO-8601 calendar date, like 2024-05-01") from None


def parse_decimal(value: Any) -> Any:
    """An exact decimal from its string. Anything else (a JSON number has already lost digits) goes
    through as it came, for the command to refuse with a UserError naming the field."""
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            return value
        return parsed if parsed.is_finite() else value
    return value


SCALARS: dict[object, ScalarDefinition] = {
    datetime: strawberry.scalar(
        name="DateTime",
        description="An ISO-8601 time with an offset, like 2024-05-01T09:30:00+00:00.",
        serialize=serialize_datetime,
        parse_value=parse_datetime,
    ),
    date: strawberry.scalar(
        name="Date",
        description="An ISO-8601 calendar date, like 2024-05-01.",
        serialize=date.isoformat,
        parse_value=parse_date,
    ),
    Decimal: strawberry.scalar(
        name="Decimal",
        description='An exact decimal, as a string, like "1250.00"; never a number.',
        serialize=lambda value: format(value, "f"),
        parse_value=parse_decimal,
    ),
}
"""Passed to the schema's ``scalar_map``; JSON is strawberry's own ``strawberry.scalars.JSON``."""
