"""Burndowns in working days: one point per day of the board's calendar, in its time zone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from storyline_domain.calendar import WorkingCalendar, days

# (scope points, completed points) of the sprint at an instant.
Measure = Callable[[datetime], tuple[float, float]]


@dataclass(frozen=True)
class BurnPoint:
    date: date
    scope_points: float
    completed_points: float
    remaining_points: float
    ideal_remaining_points: float
    working_day: bool


def ideal_remaining(committed: float, calendar: WorkingCalendar, start: date, end: date, day: date) -> float:
    """committed * (1 - d/n), never below 0: n = working days from start to end, d = working days
    from start to ``day``, both inclusive. The line stays flat on the days that are not working
    days; a sprint without a working day keeps it at the commitment."""
    planned = calendar.working_days_between(start, end)
    if planned == 0:
        return committed
    elapsed = calendar.working_days_between(start, day)
    return max(0.0, committed * (planned - elapsed) / planned)


# A burndown runs until its sprint completes; a sprint left active longer shows its first year.
MAX_BURNDOWN_DAYS = 366


def working_day_burndown(
    start: date,
    end: date,
    committed: float,
    completed_at: datetime | None,
    calendar: WorkingCalendar,
    today: date,
    measure: Measure,
) -> list[BurnPoint]:
    """From ``start`` through the completion day (or ``today``), days of the calendar's zone, each
    measured at its end, except the completion day, measured at ``completed_at``."""
    last = calendar.day_of(completed_at) if completed_at is not None else today
    last = min(last, start + timedelta(days=MAX_BURNDOWN_DAYS - 1))
    points = []
    for day in days(start, last):
        at = completed_at if completed_at is not None and day == last else calendar.end_of_day(day)
        scope, done = measure(at)
        points.append(
            BurnPoint(
                date=day,
                scope_points=scope,
                completed_points=done,
                remaining_points=scope - done,
                ideal_remaining_points=ideal_remaining(committed, calendar, start, end, day),
                working_day=calendar.is_working_day(day),
            )
        )
    return points
