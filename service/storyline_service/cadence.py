"""A board's cadence: how long its sprints last in working days, and when a number of sprints ends.

Forecasts turn "N more sprints" into a date with :func:`board_cadence` and :meth:`Cadence.finish_date`;
any forecast that counts sprints (the board's, an epic's) uses the same rule. See docs/metrics.md.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, select

from storyline_domain.calendar import WorkingCalendar
from storyline_domain.sprint import SprintState
from storyline_service.calendars import calendar_of
from storyline_service.readmodels import SprintHistoryRow, table_of

sprints = table_of(SprintHistoryRow)


@dataclass(frozen=True)
class Cadence:
    calendar: WorkingCalendar
    continues_after: date  # the active sprint's end date, or today when none is active
    sprint_length: int  # working days

    def finish_date(self, sprint_count: int) -> date | None:
        """The last working day of the ``sprint_count``-th sprint after ``continues_after``;
        None past the last date there is."""
        try:
            return self.calendar.add_working_days(self.continues_after, sprint_count * self.sprint_length)
        except OverflowError:
            return None


def sprint_length(calendar: WorkingCalendar, planned: Iterable[tuple[date, date]]) -> int:
    """The median (the lower middle one) of the sprints' planned lengths in working days, at least 1."""
    lengths = [calendar.working_days_between(start, end) for start, end in planned]
    return max(statistics.median_low(lengths), 1) if lengths else 1


def board_cadence(
    conn: Connection, board_key: str, recent_sprints: Sequence[Any], today: date | None = None
) -> Cadence:
    """The board's cadence, its length from ``recent_sprints`` (rows with start_date and end_date).

    ``today`` defaults to today in the board's time zone."""
    calendar = calendar_of(conn, board_key)
    active_end = conn.execute(
        select(sprints.c.end_date).where(
            sprints.c.board_key == board_key, sprints.c.state == SprintState.ACTIVE.value
        )
    ).scalar()
    after = active_end or today or calendar.day_of(datetime.now(UTC))
    planned = [(row.start_date, row.end_date) for row in recent_sprints]
    return Cadence(calendar, after, sprint_length(calendar, planned))
