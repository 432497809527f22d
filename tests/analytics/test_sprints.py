"""Sprint report, burndown and velocity on the scripted PAY board (see scenario.py), both backends."""

from __future__ import annotations

from datetime import date

import pytest

from storyline_service.analytics import (
    Reestimate,
    ScopeChange,
    burndown,
    sprint_report,
    velocity,
)
from storyline_service.bootstrap import Runtime
from storyline_service.burndown import BurnPoint
from tests.analytics.scenario import build_pay
from tests.helpers import ALICE, at


def burn(day: str, scope: float, done: float, ideal: float, working: bool = True) -> BurnPoint:
    return BurnPoint(
        date.fromisoformat(f"2026-{day}"), scope, done, scope - done, pytest.approx(ideal), working
    )  # type: ignore[arg-type]


def test_sprint_1_started_late_completed_late_with_every_kind_of_scope_change(runtime: Runtime) -> None:
    pay = build_pay(runtime)
    report = sprint_report(runtime.engine, pay.s1)
    # Committed at the start (6 Jan 09:00): PAY-1 3 + PAY-2 5 + PAY-3 null (0) + PAY-4 2.
    assert (report.committed_count, report.committed_points) == (4, 10.0)
    # At completion: PAY-1 (DONE, re-estimated to 5), PAY-3 (DONE, null) and PAY-6 (DONE, 1)
    # are done; PAY-2 was re-opened and PAY-4 never started.
    assert (report.completed_count, report.completed_points) == (3, 6.0)
    # Committed and completed: PAY-1 with its committed 3 points, PAY-3 with 0.
    assert report.committed_completed_points == 3.0
    assert report.commitment_reliability == pytest.approx(0.3)
    assert report.added == [
        ScopeChange("PAY-6", 1.0, at("2026-01-07 13:00"), "bob"),
        ScopeChange("PAY-4", 2.0, at("2026-01-08 09:00"), "bob"),  # re-added
    ]
    assert report.removed == [ScopeChange("PAY-4", 2.0, at("2026-01-07 14:00"), "bob")]
    assert report.reestimated == [Reestimate("PAY-1", 3.0, 5.0, at("2026-01-07 12:00"), "alice")]
    assert report.carried_over == ["PAY-2", "PAY-4"]
    # +1 (PAY-6) +2 (PAY-4 back) -2 (PAY-4 out) +2 (PAY-1 3 -> 5); 10 + 3 = 13, the scope at completion.
    assert report.scope_change_points == 3.0

    # Planned 5 days (5-9 Jan), committed 10: ideal 8, 6, 4, 2, 0, then 0 while it overruns.
    assert burndown(runtime.engine, pay.s1) == [
        burn("01-05", 10, 0, 8),  # before the late start: the planned stories
        burn("01-06", 10, 0, 6),  # PAY-1 in REVIEW
        burn("01-07", 11, 5, 4),  # PAY-1 done at 5; PAY-6 in (+1), PAY-4 out (-2)
        burn("01-08", 13, 5, 2),  # PAY-4 back (+2); PAY-3 done with no points
        burn("01-09", 13, 5, 0),  # PAY-2 done at 12:00 but re-opened at 15:00
        burn("01-10", 13, 5, 0, working=False),  # Saturday
        burn("01-11", 13, 5, 0, working=False),
        burn("01-12", 13, 6, 0),  # measured at completion (17:00): PAY-6 done
    ]


def test_sprint_2_completed_early_carries_over_again(runtime: Runtime) -> None:
    pay = build_pay(runtime)
    report = sprint_report(runtime.engine, pay.s2)
    # Carried in PAY-2 5 and PAY-4 2, planned PAY-5 8.
    assert (report.committed_count, report.committed_points) == (3, 15.0)
    assert (report.completed_count, report.completed_points) == (1, 5.0)  # PAY-2, done again
    assert report.committed_completed_points == 5.0
    assert report.commitment_reliability == pytest.approx(5 / 15)
    assert (report.added, report.removed, report.reestimated) == ([], [], [])
    assert report.carried_over == ["PAY-4", "PAY-5"]  # PAY-4 for the second time
    assert report.scope_change_points == 0.0
    # Planned 13-16 Jan (n = 4), committed 15: ideal 11.25, 7.5, 3.75; it stops at completion on the 15th.
    assert burndown(runtime.engine, pay.s2) == [
        burn("01-13", 15, 5, 11.25),
        burn("01-14", 15, 5, 7.5),
        burn("01-15", 15, 5, 3.75),
    ]


def test_sprint_3_finishes_the_twice_carried_story(runtime: Runtime) -> None:
    pay = build_pay(runtime)
    report = sprint_report(runtime.engine, pay.s3)
    assert (report.committed_count, report.committed_points) == (2, 10.0)  # PAY-4 2 + PAY-5 8
    assert (report.completed_count, report.completed_points) == (2, 10.0)
    assert report.commitment_reliability == 1.0
    assert report.carried_over == []
    points = burndown(runtime.engine, pay.s3)
    # 19 -> 23 Jan; planned 19-30 Jan, n = 10 working days (the weekend of 24-25 Jan is not);
    # 19-23 Jan are working days d = 1 to 5: ideal 10 * (10 - d) / 10.
    assert [(p.date.day, p.completed_points, p.remaining_points) for p in points] == [
        (19, 0, 10),
        (20, 2, 8),
        (21, 10, 0),
        (22, 10, 0),
        (23, 10, 0),
    ]
    assert [p.ideal_remaining_points for p in points] == [9, 8, 7, 6, 5]


def test_empty_sprint(runtime: Runtime) -> None:
    pay = build_pay(runtime)
    report = sprint_report(runtime.engine, pay.s4)
    assert (report.committed_count, report.committed_points, report.completed_count) == (0, 0.0, 0)
    assert report.commitment_reliability is None  # nothing committed: no ratio
    assert report.scope_change_points == 0.0
    assert burndown(runtime.engine, pay.s4) == [burn(f"01-{d}", 0, 0, 0) for d in range(26, 31)]


def test_active_sprint_is_measured_now(runtime: Runtime) -> None:
    pay = build_pay(runtime)
    # PAY-7 (3) and PAY-8 (null) committed; PAY-7 done on 3 Feb.
    report = sprint_report(runtime.engine, pay.s5, now=at("2026-02-04 12:00"))
    assert (report.committed_count, report.committed_points) == (2, 3.0)
    assert (report.completed_count, report.completed_points) == (1, 3.0)
    assert report.commitment_reliability == 1.0
    assert report.carried_over == []  # nothing is carried over before completion
    # Measured an instant before PAY-7 was done, the active sprint has completed nothing.
    assert sprint_report(runtime.engine, pay.s5, now=at("2026-02-03 09:59")).completed_count == 0
    # Planned 2-6 Feb (n = 5), committed 3: ideal 2.4, 1.8, 1.2; through today.
    assert burndown(runtime.engine, pay.s5, today=date(2026, 2, 4)) == [
        burn("02-02", 3, 0, 2.4),
        burn("02-03", 3, 3, 1.8),
        burn("02-04", 3, 3, 1.2),
    ]


def test_planned_sprint_has_an_empty_report_and_no_burndown(runtime: Runtime) -> None:
    runtime.app.create_board(ALICE, "OPS", "Ops")
    sprint = runtime.app.create_sprint(ALICE, "OPS", "Next", date(2030, 1, 1), date(2030, 1, 5))
    assert burndown(runtime.engine, sprint) == []
    assert sprint_report(runtime.engine, sprint).committed_count == 0


def test_velocity_oldest_first_with_averages(runtime: Runtime) -> None:
    build_pay(runtime)
    result = velocity(runtime.engine, "PAY")
    # Closed sprints 1-4 (sprint 5 is active): committed 10, 15, 10, 0; completed 6, 5, 10, 0.
    assert [(v.committed_points, v.completed_points) for v in result.sprints] == [
        (10, 6),
        (15, 5),
        (10, 10),
        (0, 0),
    ]
    assert result.average_committed_points == pytest.approx(35 / 4)
    assert result.average_completed_points == pytest.approx(21 / 4)
    last_two = velocity(runtime.engine, "PAY", last_sprints=2)
    assert [v.completed_points for v in last_two.sprints] == [10, 0]
    assert last_two.average_completed_points == 5.0
    empty = velocity(runtime.engine, "NOPE")
    assert (empty.sprints, empty.average_completed_points) == ([], None)
