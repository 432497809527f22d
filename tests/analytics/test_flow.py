"""Story times, flow metrics and forecasts on the scripted PAY board (see scenario.py), both backends."""

from __future__ import annotations

from datetime import date

import pytest

from storyline_domain.errors import ValidationError
from storyline_service.analytics import (
    ColumnCount,
    Percentiles,
    StatusDuration,
    blocked_hours,
    cycle_time_hours,
    flow,
    forecast,
    lead_time_hours,
    story_times,
    time_in_status,
)
from storyline_service.bootstrap import Runtime
from tests.analytics.scenario import COLUMNS, build_pay
from tests.helpers import ALICE, at, backfill, importing

NOW = at("2026-02-04 12:00")


def test_story_times(runtime: Runtime) -> None:
    build_pay(runtime)
    times = story_times(runtime.engine, ["PAY-1", "PAY-2", "PAY-3", "PAY-5", "PAY-6", "PAY-9"], NOW)
    # PAY-1: created 1 Jan 09:00, DOING 6 Jan 10:00, REVIEW 15:00, back to DOING 7 Jan 09:00,
    # DONE 11:00. TODO 5d 1h = 121 h; DOING 5 h + 2 h; REVIEW 18 h; DONE 7 Jan 11:00 -> 4 Feb 12:00
    # = 28 d 1 h = 673 h. Cycle 6 Jan 10:00 -> 7 Jan 11:00 = 25 h; lead 6 d 2 h = 146 h.
    pay1 = times["PAY-1"]
    assert pay1.time_in_status == [
        StatusDuration("TODO", 121),
        StatusDuration("DOING", 7),
        StatusDuration("REVIEW", 18),
        StatusDuration("DONE", 673),  # the column was renamed "Shipped" later: same key, same story
    ]
    assert (pay1.cycle_time_hours, pay1.lead_time_hours, pay1.blocked_hours) == (25, 146, 0)
    # PAY-2, re-opened: DOING 9 Jan 09:00, DONE 12:00, DOING 15:00, DONE again 13 Jan 10:00.
    # Cycle runs from the first DOING to the last DONE: 4 d 1 h = 97 h; lead 12 d 1 h = 289 h.
    pay2 = times["PAY-2"]
    assert (pay2.cycle_time_hours, pay2.lead_time_hours) == (97, 289)
    # DOING 3 h + (9 Jan 15:00 -> 13 Jan 10:00) 91 h; DONE 3 h + (13 Jan 10:00 -> 4 Feb 12:00) 530 h.
    assert pay2.time_in_status == [
        StatusDuration("TODO", 192),
        StatusDuration("DOING", 94),
        StatusDuration("DONE", 533),
    ]
    assert (times["PAY-3"].cycle_time_hours, times["PAY-3"].lead_time_hours) == (6, 175)
    # PAY-5 was blocked 14 Jan 11:00 -> 15 Jan 11:00.
    assert times["PAY-5"].blocked_hours == 24
    # PAY-6 went from TODO straight to DONE: no cycle time, lead 11 d 1 h.
    assert (times["PAY-6"].cycle_time_hours, times["PAY-6"].lead_time_hours) == (None, 265)
    # PAY-9 is not done: it has time in TODO (1 Feb 09:00 -> now) but no cycle or lead time.
    assert times["PAY-9"].time_in_status == [StatusDuration("TODO", 75)]
    assert (times["PAY-9"].cycle_time_hours, times["PAY-9"].lead_time_hours) == (None, None)

    assert time_in_status(runtime.engine, "PAY-1", NOW) == pay1.time_in_status
    assert cycle_time_hours(runtime.engine, "PAY-1") == 25
    assert lead_time_hours(runtime.engine, "PAY-1") == 146
    assert blocked_hours(runtime.engine, "PAY-5") == 24
    assert time_in_status(runtime.engine, "PAY-99", NOW) == []


def test_reopened_story_has_no_cycle_time_until_done_again(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(importing(backfill("alice", "2026-01-01 08:00")), "OPS", "Ops")
    key = app.create_story(backfill("alice", "2026-01-01 09:00"), "OPS", "Patch")
    app.move_story(backfill("alice", "2026-01-01 10:00"), key, "IN_PROGRESS")
    app.move_story(backfill("alice", "2026-01-01 12:00"), key, "DONE")
    assert cycle_time_hours(runtime.engine, key) == 2
    app.move_story(backfill("alice", "2026-01-02 09:00"), key, "IN_PROGRESS")
    assert (cycle_time_hours(runtime.engine, key), lead_time_hours(runtime.engine, key)) == (None, None)
    # An archived story's clocks stop when it leaves the board.
    app.block_story(backfill("alice", "2026-01-02 10:00"), key, "vendor")
    app.archive_story(backfill("alice", "2026-01-02 13:00"), key)
    assert blocked_hours(runtime.engine, key, now=at("2026-03-01 00:00")) == 3
    assert time_in_status(runtime.engine, key, now=at("2026-03-01 00:00"))[1] == StatusDuration(
        "IN_PROGRESS", 2 + 4
    )


def test_flow_over_the_first_two_weeks(runtime: Runtime) -> None:
    build_pay(runtime)
    metrics = flow(runtime.engine, "PAY", at("2026-01-05 00:00"), at("2026-01-19 00:00"))
    # Last entered DONE in the window: PAY-1 (7 Jan), PAY-3 (8 Jan), PAY-6 (12 Jan), PAY-2 (13 Jan).
    assert metrics.throughput == 4
    # Cycle times 6, 25, 97 (PAY-6 has none). p85: rank 2 * 0.85 = 1.7 -> 25 + 0.7 * (97 - 25).
    assert metrics.cycle_time == pytest.approx(Percentiles(25, 25 + 0.7 * 72, 25 + 0.9 * 72, 128 / 3))
    # Lead times 146, 175, 265, 289. p50: rank 1.5 -> (175 + 265) / 2; p85: rank 2.55 -> 265 + 0.55 * 24.
    assert metrics.lead_time == pytest.approx(Percentiles(220, 265 + 0.55 * 24, 265 + 0.85 * 24, 875 / 4))
    assert len(metrics.cumulative_flow) == 14


def test_cumulative_flow_counts_each_column_at_end_of_day(runtime: Runtime) -> None:
    build_pay(runtime)
    metrics = flow(runtime.engine, "PAY", at("2026-01-06 00:00"), at("2026-01-09 00:00"))
    assert metrics.throughput == 2  # PAY-1 and PAY-3

    def day(todo: int, doing: int, review: int, done: int) -> list[ColumnCount]:
        return [ColumnCount(c["key"], n) for c, n in zip(COLUMNS, (todo, doing, review, done), strict=True)]

    assert [(d.date.day, d.counts) for d in metrics.cumulative_flow] == [
        (6, day(5, 0, 1, 0)),  # PAY-1 in REVIEW
        (7, day(5, 0, 0, 1)),  # PAY-1 done
        (8, day(4, 0, 0, 2)),  # PAY-3 done
    ]
    # A window ending mid-day is measured at its end: on 9 Jan at 13:00 PAY-2 sat in DONE.
    short = flow(runtime.engine, "PAY", at("2026-01-09 00:00"), at("2026-01-09 13:00"))
    assert short.cumulative_flow[0].counts == day(3, 0, 0, 3)
    # The same stories counted through the window's default 30 days end now: one row per day.
    assert len(flow(runtime.engine, "PAY").cumulative_flow) in (30, 31)
    with pytest.raises(ValidationError):
        flow(runtime.engine, "PAY", at("2026-01-09 00:00"), at("2026-01-08 00:00"))


def test_a_column_turned_done_completes_the_stories_in_it(runtime: Runtime) -> None:
    app = runtime.app
    app.create_board(importing(backfill("alice", "2026-01-01 08:00")), "OPS", "Ops")
    key = app.create_story(backfill("alice", "2026-01-01 09:00"), "OPS", "Patch")
    app.move_story(backfill("alice", "2026-01-01 10:00"), key, "IN_PROGRESS")
    columns = [
        {"key": "TODO", "name": "To Do", "category": "TODO"},
        {"key": "IN_PROGRESS", "name": "Released", "category": "DONE"},
        {"key": "DONE", "name": "Done", "category": "DONE"},
    ]
    app.configure_columns(backfill("alice", "2026-01-01 15:00"), "OPS", columns)
    # Done from the moment its column became a DONE column; it stayed in one column throughout.
    assert cycle_time_hours(runtime.engine, key) == 5
    now = at("2026-01-02 00:00")
    assert time_in_status(runtime.engine, key, now) == [
        StatusDuration("TODO", 1),
        StatusDuration("IN_PROGRESS", 14),
    ]


def test_forecast(runtime: Runtime) -> None:
    pay = build_pay(runtime)
    today = date(2026, 2, 4)
    # Unfinished now: PAY-8 (null, 0) + PAY-9 (4) + PAY-10 (6); PAY-7 is done.
    assert forecast(runtime.engine, "PAY", seed=1, today=today).remaining_points == 10
    # The epic's unfinished stories: PAY-8 and PAY-9.
    assert forecast(runtime.engine, "PAY", epic_key=pay.epic, seed=1, today=today).remaining_points == 4

    # Sampling sprints 3 and 4 (10 and 0 points): finishing 4 points takes the first 10-point draw,
    # a geometric count with P(n <= k) = 1 - 2^-k: 85% within 3 sprints (87.5%), 95% within 5 (96.9%).
    result = forecast(runtime.engine, "PAY", remaining_points=4, last_sprints=2, seed=7, today=today)
    assert result.sample_sprints == 2 and result.reason is None
    assert (result.sprints_p85, result.sprints_p95) == (3, 5)
    assert result.sprints_p50 in (1, 2)  # P(n <= 1) is exactly 50%
    # The sampled sprints were planned 10 and 5 working days long (19-30 Jan, 26-30 Jan, Monday to
    # Friday); the lower median of the two is 5. Dates continue after the active Sprint 5's end date,
    # Friday 6 Feb: 3 sprints are 15 working days, 9-13, 16-20 and 23-27 Feb.
    assert result.date_p85 == date(2026, 2, 27)
    assert result.date_p95 == date(2026, 3, 13)  # 25 working days
    assert forecast(runtime.engine, "PAY", remaining_points=4, last_sprints=2, seed=7, today=today) == result

    # With sprints 1-4 (6, 5, 10 and 0 points) 25 points take at least 3 sprints.
    wide = forecast(runtime.engine, "PAY", remaining_points=25, seed=3, simulations=2000, today=today)
    assert wide.sprints_p50 is not None and wide.sprints_p85 is not None and wide.sprints_p95 is not None
    assert 3 <= wide.sprints_p50 <= wide.sprints_p85 <= wide.sprints_p95

    nothing_left = forecast(runtime.engine, "PAY", remaining_points=0, seed=1, today=today)
    assert (nothing_left.sprints_p95, nothing_left.date_p95) == (0, date(2026, 2, 6))  # no sprint after
    stalled = forecast(runtime.engine, "PAY", remaining_points=4, last_sprints=1, today=today)
    assert stalled.sprints_p50 is None and stalled.reason and "no points" in stalled.reason

    runtime.app.create_board(ALICE, "OPS", "Ops")
    empty = forecast(runtime.engine, "OPS", remaining_points=5)
    assert (empty.sample_sprints, empty.sprints_p50, empty.date_p50) == (0, None, None)
    assert empty.reason is not None and "no closed sprints" in empty.reason
