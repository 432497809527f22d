"""The demo board gives a new user history to look at: closed sprints, an active one, and their changes."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from storyline_service.bootstrap import Runtime
from storyline_service.demo import load_demo
from storyline_service.projections.rebuild import verify


def test_demo_has_three_closed_sprints_an_active_one_and_their_changes(runtime: Runtime) -> None:
    summary = load_demo(runtime.app, today=date(2026, 11, 20))
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
