"""Storyline's scalars: times always carry an offset, dates are calendar dates, JSON is any value.

Values written inline in a document (literals) go through the same parsers as
variables, so a malformed one is a validation error either way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import strawberry
from strawberry.types.scalar import ScalarDefinition

from graphql import GraphQLError, StringValueNode, ValueNode

# Times and dates a client may send: far enough from datetime's own limits (years 1 and 9999) that
# no window, offset or day added to them overflows. Stored dates have narrower bounds (settings).
YEARS = range(1000, 9001)


def check_year(value: date, text: str) -> None:
    if value.year not in YEARS:
        raise ValueError(
            f"{text!r} lies outside the times Storyline can keep (years {YEARS[0]} to {YEARS[-1]})"
        )


def serialize_datetime(value: datetime) -> str:
    # SQLite hands back times without an offset; Storyline stores every time in UTC.
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def parse_datetime(value: Any) -> datetime:
    """Any ISO-8601 time. One without an offset is refused where it matters (occurredAt)."""
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO-8601 string with an offset, like 2024-05-01T09:30:00Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO-8601 time, like 2024-05-01T09:30:00Z") from None
    check_year(parsed, value)  # every time is kept in UTC: 0001-01-01T00:00+14:00 has none
    return parsed


def parse_date(value: Any) -> date:
    if not isinstance(value, str):
        raise ValueError("Date must be an ISO-8601 calendar date, like 2024-05-01")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO-8601 calendar date, like 2024-05-01") from None
    check_year(parsed, value)
    return parsed


def literal_parser(parse: Callable[[Any], Any]) -> Callable[..., Any]:
    """Parses an inline literal like a variable: a string node's value, anything else refused.

    Refused as a GraphQLError: validation reports any other exception as an unexpected fault."""

    def parse_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
        try:
            return parse(node.value if isinstance(node, StringValueNode) else None)
        except ValueError as error:
            raise GraphQLError(str(error), node, extensions={"code": "VALIDATION"}) from None

    return parse_literal


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
        parse_literal=literal_parser(parse_datetime),
    ),
    date: strawberry.scalar(
        name="Date",
        description="An ISO-8601 calendar date, like 2024-05-01.",
        serialize=date.isoformat,
        parse_value=parse_date,
        parse_literal=literal_parser(parse_date),
    ),
    Decimal: strawberry.scalar(
        name="Decimal",
        description='An exact decimal, as a string, like "1250.00"; never a number.',
        serialize=lambda value: format(value, "f"),
        parse_value=parse_decimal,
    ),
}
"""Passed to the schema's ``scalar_map``; JSON is strawberry's own ``strawberry.scalars.JSON``."""
