"""Working calendars: validation, working-day arithmetic in a time zone, the board's calendar event,
and a closed sprint's books."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storyline_domain import rules
from storyline_domain.board import Board
from storyline_domain.calendar import WEEKDAYS, WorkingCalendar
from storyline_domain.errors import InvalidTransitionError, ValidationError
from tests.domain.conftest import Kit, drain, event_types, recorded, refused

SYDNEY = WorkingCalendar.create(
    ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"], [date(2026, 1, 26)], "Australia/Sydney"
)


def test_the_default_calendar_is_monday_to_friday_in_utc() -> None:
    calendar = WorkingCalendar()
    assert [day.value for day in calendar.working_days] == [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
    ]
    assert (calendar.holidays, calendar.time_zone) == ((), "UTC")
    assert WorkingCalendar.from_fields(None) == calendar == WorkingCalendar.from_fields(calendar.fields())


@pytest.mark.parametrize(
    ("days", "zone", "field", "match"),
    [
        ([], "UTC", "workingDays", "at least one"),
        (["MONDAY", "MONDAY"], "UTC", "workingDays", "twice"),
        (["FUNDAY"], "UTC", "workingDays", "FUNDAY"),
        (["MONDAY"], "Mars/Olympus_Mons", "timeZone", "IANA"),
        (["MONDAY"], "/etc/passwd", "timeZone", "IANA"),
        (["MONDAY"], "", "timeZone", "IANA"),
    ],
)
def test_a_bad_calendar_is_refused(days: list[str], zone: str, field: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        WorkingCalendar.create(days, [], zone)
    assert info.value.field == field


def test_working_days_skip_weekends_and_holidays() -> None:
    # Thu 22 - Wed 28 Jan 2026: Sat 24, Sun 25 and the holiday Mon 26 are not working days.
    assert SYDNEY.working_days_between(date(2026, 1, 22), date(2026, 1, 28)) == 4
    assert SYDNEY.add_working_days(date(2026, 1, 23), 1) == date(2026, 1, 27)
    assert SYDNEY.add_working_days(date(2026, 1, 23), 0) == date(2026, 1, 23)


def test_days_are_counted_in_the_calendar_s_zone() -> None:
    # 23:30 UTC on Sunday is 10:30 on Monday in Sydney (UTC+11 in summer).
    assert SYDNEY.day_of(datetime(2026, 1, 25, 23, 30, tzinfo=UTC)) == date(2026, 1, 26)
    assert SYDNEY.end_of_day(date(2026, 1, 25)) == datetime(2026, 1, 25, 13, 0, tzinfo=UTC) - timedelta(
        microseconds=1
    )
    # The day daylight saving ends (5 Apr 2026, 03:00 -> 02:00) has 25 hours.
    assert SYDNEY.start_of_day(date(2026, 4, 6)) - SYDNEY.start_of_day(date(2026, 4, 5)) == timedelta(
        hours=25
    )


@given(
    working=st.sets(st.sampled_from(WEEKDAYS), min_size=1),
    start=st.dates(date(2020, 1, 1), date(2030, 1, 1)),
    count=st.integers(0, 60),
)
def test_adding_working_days_lands_on_a_working_day_after_exactly_that_many(
    working: set[str], start: date, count: int
) -> None:
    calendar = WorkingCalendar.create(working, [start + timedelta(days=3)])
    end = calendar.add_working_days(start, count)
    if count:
        assert calendar.is_working_day(end)
        assert calendar.working_days_between(start + timedelta(days=1), end) == count
    else:
        assert end == start


def test_configuring_the_calendar_is_an_event_and_a_repeat_records_nothing(kit: Kit) -> None:
    board = kit.board
    kit.board.configure_calendar(SYDNEY, kit.clock.stamp())
    [event] = recorded(board)
    assert isinstance(event, Board.CalendarConfigured)
    assert event.previous == WorkingCalendar().fields()
    assert WorkingCalendar.from_fields(board.calendar) == SYDNEY
    board.configure_calendar(SYDNEY, kit.clock.stamp())
    assert recorded(board) == []


def test_a_board_from_before_calendars_has_the_default_one(kit: Kit) -> None:
    board = kit.board
    del board.__dict__["working_calendar"]  # as a snapshot taken before calendars existed
    assert board.calendar == WorkingCalendar().fields()
    board.configure_calendar(SYDNEY, kit.clock.stamp())
    events = recorded(board)
    assert event_types(events) == [Board.CalendarConfigured]
    assert WorkingCalendar.from_fields(board.calendar) == SYDNEY


def test_a_closed_sprint_refuses_anything_dated_before_its_completion(kit: Kit) -> None:
    story = kit.story(points=5)
    sprint = kit.sprint("Sprint 7")
    rules.add_story_to_sprint(story, sprint, None, kit.clock.stamp())
    rules.start_sprint(kit.board, sprint, [story], kit.clock.stamp())
    rules.complete_sprint(kit.board, sprint, [story], None, kit.clock.stamp())
    drain(kit.board, sprint, story)
    completed = sprint.completed_at
    with refused(InvalidTransitionError, code="INVALID_TRANSITION", field="occurredAt", match="Sprint 7"):
        sprint.check_books_open(completed - timedelta(seconds=1))
    sprint.check_books_open(completed)
    sprint.check_books_open(completed + timedelta(days=1))
