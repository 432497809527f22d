"""A board's working calendar: which days count as working days, and in which time zone days are counted."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storyline_domain.errors import ValidationError

MAX_HOLIDAYS = 1000
TICK = timedelta(microseconds=1)


class Weekday(StrEnum):
    """In date.weekday() order: MONDAY is 0."""

    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


WEEKDAYS = list(Weekday)
MONDAY_TO_FRIDAY = WEEKDAYS[:5]


def time_zone(name: str) -> tzinfo:
    """The IANA zone of that name; a name zoneinfo does not know is refused."""
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        message = f"{name!r} is not an IANA time zone, like Europe/Berlin"
        raise ValidationError(message, field="timeZone") from None


@dataclass(frozen=True)
class WorkingCalendar:
    working_days: tuple[Weekday, ...] = tuple(MONDAY_TO_FRIDAY)
    holidays: tuple[date, ...] = ()
    time_zone: str = "UTC"

    @classmethod
    def create(
        cls, working_days: Iterable[str], holidays: Iterable[date] = (), zone: str = "UTC"
    ) -> WorkingCalendar:
        """A validated calendar: at least one working weekday, each once; holidays sorted, each once."""
        try:
            days = [Weekday(day) for day in working_days]
        except ValueError as error:
            raise ValidationError(str(error), field="workingDays") from None
        if not days:
            raise ValidationError("a calendar needs at least one working weekday", field="workingDays")
        if len(set(days)) != len(days):
            raise ValidationError("a weekday appears twice", field="workingDays")
        unique_holidays = sorted(set(holidays))
        if len(unique_holidays) > MAX_HOLIDAYS:
            raise ValidationError(f"a calendar holds up to {MAX_HOLIDAYS} holidays", field="holidays")
        time_zone(zone)
        return cls(tuple(sorted(days, key=WEEKDAYS.index)), tuple(unique_holidays), zone)

    @classmethod
    def from_fields(cls, fields: dict[str, Any] | None) -> WorkingCalendar:
        """From the primitive form kept in events and read models; None is the default calendar."""
        if not fields:
            return cls()
        return cls(
            tuple(Weekday(day) for day in fields["working_days"]),
            tuple(date.fromisoformat(day) for day in fields["holidays"]),
            fields["time_zone"],
        )

    def fields(self) -> dict[str, Any]:
        return {
            "working_days": [day.value for day in self.working_days],
            "holidays": [day.isoformat() for day in self.holidays],
            "time_zone": self.time_zone,
        }

    @cached_property
    def zone(self) -> tzinfo:
        return time_zone(self.time_zone)

    @cached_property
    def _weekday_numbers(self) -> frozenset[int]:
        return frozenset(WEEKDAYS.index(day) for day in self.working_days)

    @cached_property
    def _holiday_set(self) -> frozenset[date]:
        return frozenset(self.holidays)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self._weekday_numbers and day not in self._holiday_set

    def working_days_between(self, first: date, last: date) -> int:
        """Working days from ``first`` to ``last``, both included."""
        return sum(1 for day in days(first, last) if self.is_working_day(day))

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself when count is 0)."""
        day = start
        while count > 0:
            day += timedelta(days=1)
            count -= self.is_working_day(day)
        return day

    def day_of(self, moment: datetime) -> date:
        """The calendar day, in this calendar's zone, of an instant."""
        return moment.astimezone(self.zone).date()

    def start_of_day(self, day: date) -> datetime:
        """The first instant of a day in this calendar's zone, in UTC."""
        return datetime.combine(day, time(), self.zone).astimezone(UTC)

    def end_of_day(self, day: date) -> datetime:
        """The last instant of a day in this zone: a state 'at end of day' includes every event of the day."""
        return self.start_of_day(day + timedelta(days=1)) - TICK


def days(first: date, last: date) -> Iterator[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)
