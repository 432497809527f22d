"""Boards' working calendars: which days count, and in which time zone days are counted."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry

from storyline_domain.calendar import Weekday
from storyline_domain.calendar import WorkingCalendar as Calendar
from storyline_graphql.common import VersionedInput
from storyline_graphql.context import Info
from storyline_service import calendars

if TYPE_CHECKING:
    from storyline_graphql.boards import BoardPayload

LazyBoardPayload = Annotated["BoardPayload", strawberry.lazy("storyline_graphql.boards")]

strawberry.enum(Weekday)


@strawberry.type(
    description="The days a board's team works, and the time zone its days are counted in: burndown "
    "and flow days, 'end of day', and the working days of the ideal line and of forecast dates. "
    "See docs/metrics.md."
)
class WorkingCalendar:
    working_days: list[Weekday] = strawberry.field(description="Default MONDAY..FRIDAY.")
    holidays: list[date] = strawberry.field(description="Days off, in date order.")
    time_zone: str = strawberry.field(description="IANA name; default UTC.")

    @classmethod
    def from_calendar(cls, calendar: Calendar) -> WorkingCalendar:
        return cls(
            working_days=list(calendar.working_days),
            holidays=list(calendar.holidays),
            time_zone=calendar.time_zone,
        )


def read_calendar(info: Info, board_key: str) -> Calendar:
    with info.context.reads.engine.connect() as conn:
        return calendars.calendar_of(conn, board_key)


@strawberry.type
class BoardCalendar:
    """Board inherits this, so ``calendar`` appears on it."""

    if TYPE_CHECKING:
        key: str

    @strawberry.field(
        description="The board's working calendar now (closed sprints keep the one they closed with)."
    )
    async def calendar(self, info: Info) -> WorkingCalendar:
        return WorkingCalendar.from_calendar(await asyncio.to_thread(read_calendar, info, self.key))


@strawberry.input
class ConfigureCalendarInput(VersionedInput):
    board_key: str
    working_days: list[Weekday]
    holidays: list[date] | None = strawberry.field(
        default=None, description="Replaces all holidays; none when absent."
    )
    time_zone: str | None = strawberry.field(default=None, description="An IANA name; UTC when absent.")


@strawberry.type
class CalendarMutations:
    @strawberry.mutation(
        description="Sets the board's working calendar; MANAGER or ADMIN. Recorded as an event."
    )
    async def configure_calendar(self, info: Info, input: ConfigureCalendarInput) -> LazyBoardPayload:
        from storyline_graphql.boards import board_payload

        return await board_payload(
            info,
            input,
            lambda caller: calendars.configure_calendar(
                info.context.app,
                caller,
                input.board_key,
                [day.value for day in input.working_days],
                input.holidays,
                input.time_zone,
                input.expected_version,
            ),
        )
