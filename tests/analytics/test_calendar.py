"""A Sydney team's sprint, worked out by hand: burndown and flow days in Australia/Sydney, the ideal
line on working days only (a weekend and a holiday inside the sprint), forecast dates in working days.

Board SYD: Monday to Friday, Monday 26 January 2026 a holiday, Australia/Sydney (UTC+11 in January).
Sprint "Summer", planned Thu 22 - Wed 28 Jan: working days Thu 22, Fri 23, Tue 27, Wed 28 (n = 4).
    A (4 pts) and B (4 pts) committed at the start, Thu 22 09:00 Sydney (Wed 21 22:00 UTC).
    A goes TODO -> DONE on Mon 26 10:30 Sydney, which is Sun 25 23:30 UTC.
    B goes TODO -> IN_PROGRESS on Tue 27 09:00 Sydney (Mon 26 22:00 UTC), DONE at 12:00 (01:00 UTC).
    Completed Wed 28 17:00 Sydney (06:00 UTC).
"""

from __future__ import annotations

from datetime import date

from storyline_service.analytics import burndown, cycle_time_hours, flow, forecast
from storyline_service.bootstrap import Runtime
from storyline_service.calendars import configure_calendar
from tests.helpers import at, backfill, importing

WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]


def summer_sprint(runtime: Runtime) -> str:
    app = runtime.app
    app.create_board(importing(backfill("alice", "2026-01-01 00:00")), "SYD", "Sydney")
    configure_calendar(
        app, backfill("alice", "2026-01-01 00:05"), "SYD", WEEKDAYS, [date(2026, 1, 26)], "Australia/Sydney"
    )
    a = app.create_story(backfill("alice", "2026-01-20 00:00"), "SYD", "A", points=4)
    b = app.create_story(backfill("alice", "2026-01-20 00:00"), "SYD", "B", points=4)
    sprint = app.create_sprint(
        backfill("alice", "2026-01-20 01:00"), "SYD", "Summer", date(2026, 1, 22), date(2026, 1, 28)
    )
    for key in (a, b):
        app.add_story_to_sprint(backfill("alice", "2026-01-20 02:00"), sprint, key)
    app.start_sprint(backfill("alice", "2026-01-21 22:00"), sprint)
    app.move_story(backfill("alice", "2026-01-25 23:30"), a, "DONE")
    app.move_story(backfill("alice", "2026-01-26 22:00"), b, "IN_PROGRESS")
    app.move_story(backfill("alice", "2026-01-27 01:00"), b, "DONE")
    app.complete_sprint(backfill("alice", "2026-01-28 06:00"), sprint)
    return sprint


def test_burndown_counts_sydney_days_and_burns_only_on_working_days(runtime: Runtime) -> None:
    sprint = summer_sprint(runtime)
    points = burndown(runtime.engine, sprint)
    assert [(p.date.day, p.working_day, p.completed_points, p.ideal_remaining_points) for p in points] == [
        (22, True, 0, 6),  # d = 1 of n = 4: 8 * 3/4
        (23, True, 0, 4),
        (24, False, 0, 4),  # Saturday: the ideal line stays flat
        (25, False, 0, 4),  # Sunday: A's move at 23:30 UTC is already Monday in Sydney
        (26, False, 4, 4),  # the holiday: A done, the ideal line still flat
        (27, True, 8, 2),
        (28, True, 8, 0),  # measured at completion, 17:00 Sydney
    ]
    assert {p.scope_points for p in points} == {8}

    # A new calendar (UTC, every day a working day) leaves the closed sprint's burndown as it closed.
    every_day = [*WEEKDAYS, "SATURDAY", "SUNDAY"]
    configure_calendar(runtime.app, backfill("alice", "2026-02-01 00:00"), "SYD", every_day)
    assert burndown(runtime.engine, sprint) == points


def test_flow_days_are_sydney_days_and_cycle_time_stays_elapsed_hours(runtime: Runtime) -> None:
    summer_sprint(runtime)
    # Thu 22 00:00 to Thu 29 00:00 Sydney.
    metrics = flow(runtime.engine, "SYD", at("2026-01-21 13:00"), at("2026-01-28 13:00"))
    counts = [
        (day.date.day, *(count.count for count in day.counts)) for day in metrics.cumulative_flow
    ]  # TODO, IN_PROGRESS, DONE
    assert counts == [
        (22, 2, 0, 0),
        (23, 2, 0, 0),
        (24, 2, 0, 0),
        (25, 2, 0, 0),
        (26, 1, 0, 1),
        (27, 0, 0, 2),
        (28, 0, 0, 2),
    ]
    assert metrics.throughput == 2
    # 22:00 to 01:00 UTC: three hours, whatever the calendar says about the days they fall on.
    assert cycle_time_hours(runtime.engine, "SYD-2") == 3


def test_forecast_dates_count_the_board_s_sprint_length_in_working_days(runtime: Runtime) -> None:
    summer_sprint(runtime)
    # The one closed sprint completed 8 points and was planned 4 working days long. No sprint is
    # active, so dates continue after today, Thu 29 Jan.
    today = date(2026, 1, 29)
    one = forecast(runtime.engine, "SYD", remaining_points=8, seed=1, today=today)
    assert (one.sprints_p50, one.sprints_p95) == (1, 1)
    assert one.date_p50 == date(2026, 2, 4)  # Fri 30, Mon 2, Tue 3, Wed 4
    two = forecast(runtime.engine, "SYD", remaining_points=16, seed=1, today=today)
    assert (two.sprints_p95, two.date_p95) == (2, date(2026, 2, 10))  # 8 working days: ... Mon 9, Tue 10
