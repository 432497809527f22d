"""Boards' working calendars: the command that changes one, and reading one as of an instant."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, select

from storyline_domain.base import Stamp, StorylineAggregate
from storyline_domain.board import Role
from storyline_domain.calendar import WorkingCalendar
from storyline_service.application import Caller, Storyline
from storyline_service.readmodels import BoardCalendarRow, table_of

calendars = table_of(BoardCalendarRow)


def configure_calendar(
    app: Storyline,
    caller: Caller,
    board_key: str,
    working_days: list[str],
    holidays: list[date] | None = None,
    time_zone: str | None = None,
    expected_version: int | None = None,
) -> str:
    """Sets the board's working weekdays, holidays and time zone (MANAGER or ADMIN)."""

    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        board = app._board(board_key, caller, Role.MANAGER, expected_version)
        calendar = WorkingCalendar.create(working_days, holidays or (), time_zone or "UTC")
        board.configure_calendar(calendar, stamp)
        return board.key, [board]

    args = dict(board_key=board_key, working_days=working_days, holidays=holidays, time_zone=time_zone)
    return app._execute("configureCalendar", caller, args, run)


def calendar_of(conn: Connection, board_key: str, at: datetime | None = None) -> WorkingCalendar:
    """The board's calendar now, or as it was at ``at``; the default one if none was ever recorded."""
    query = select(calendars.c.calendar).where(calendars.c.board_key == board_key)
    if at is None:
        query = query.where(calendars.c.valid_to.is_(None))
    else:
        query = query.where(calendars.c.valid_from <= at).order_by(calendars.c.valid_from.desc())
    return WorkingCalendar.from_fields(conn.execute(query.limit(1)).scalar())
