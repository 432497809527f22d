"""The demo board gives a new user history to look at: closed sprints, an active one, and their changes."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from storyline_service.bootstrap import Runtime
from storyline_service.demo import load_demo
from storyline_service.projections.rebuild import verify


def test_demo_has_three_closed_sprints_an_active_one_and_their_changes(runtime: Runtime) -> None:
    summary = load_demo(runtime.app, runtime.engine, today=date(2026, 11, 20))
    assert summary.board == "PAY"
    with runtime.engine.connect() as conn:
        states = conn.execute(text("select state from sprints order by start_date")).scalars().all()
        types = set(conn.execute(text("select event_type from audit_log")).scalars())
        carried = conn.execute(text("select count(*) from sprint_memberships where carried_from is not null"))
        late = conn.execute(text("select count(*) from sprint_history where date(started_at) > start_date"))
        carried_count, late_count = carried.scalar(), late.scalar()
    assert states == ["CLOSED", "CLOSED", "CLOSED", "ACTIVE"]
    assert {
        "SprintStoryAdded",
        "SprintStoryRemoved",
        "StoryEstimated",
        "StoryBlocked",
        "StoryUnblocked",
    } <= types
    assert carried_count == 3 and late_count == 1
    for projection in runtime.projector.projections:
        assert verify(runtime.projector, projection) == []


def test_demo_tells_one_coherent_story(runtime: Runtime) -> None:
    """Only unfinished stories leave a sprint, back to the backlog; one story is blocked now, and the
    story the README moves is the carried-over one still in the active sprint."""
    today = date(2026, 11, 20)
    load_demo(runtime.app, runtime.engine, today=today)
    with runtime.engine.connect() as conn:
        removed = conn.execute(
            text(
                "select m.story_key, s.column, s.sprint_id from sprint_memberships m "
                "join stories s on s.key = m.story_key where m.left_reason = 'removed'"
            )
        ).all()
        blocked_now = text("select key, sprint_id from stories where blocked_reason is not null")
        blocked = conn.execute(blocked_now).all()
        active = conn.execute(text("select id from sprints where state = 'ACTIVE'")).scalar_one()
        sprint_days = conn.execute(text("select start_date, end_date from sprints")).all()
    assert removed == [("PAY-10", "TODO", None)]  # back in the backlog, not done
    assert blocked == [("PAY-17", active)]
    for start, end in sprint_days:  # two working weeks, Monday to Friday
        assert (date.fromisoformat(str(start)).weekday(), date.fromisoformat(str(end)).weekday()) == (0, 4)
