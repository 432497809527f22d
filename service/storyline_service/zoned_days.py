"""The day, in a board's time zone, of stored UTC times, worked out by the database when grouping."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Date, Integer, cast, func

from storyline_domain.calendar import WorkingCalendar


def day_in_zone(conn: Connection, moment: Any, calendar: WorkingCalendar) -> Any:
    """A grouping expression for the calendar day of ``moment``; :func:`as_day` reads its values.

    SQLite knows no time zones: outside UTC it groups by UTC quarter-hour, which lies within one
    day of any zone (every zone's offset is a whole number of quarter-hours)."""
    if conn.dialect.name == "postgresql":
        return cast(func.timezone(calendar.time_zone, moment), Date)
    if calendar.time_zone == "UTC":
        return func.date(moment)  # SQLite keeps UTC times as text
    quarter = func.printf("%02d", cast(func.strftime("%M", moment), Integer) / 15 * 15)
    return func.strftime("%Y-%m-%dT%H:", moment).concat(quarter)


def as_day(value: date | str, calendar: WorkingCalendar) -> date:
    if isinstance(value, date):
        return value
    if len(value) == len("2026-01-05"):
        return date.fromisoformat(value)
    return calendar.day_of(datetime.fromisoformat(value).replace(tzinfo=UTC))
