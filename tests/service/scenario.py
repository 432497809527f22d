"""A scripted, backfilled board history shared by the projection tests."""

from __future__ import annotations

from datetime import date

from storyline_service.application import Caller
from storyline_service.bootstrap import Runtime
from tests.helpers import backfill, importing


def script_history(runtime: Runtime) -> str:
    """Two weeks of a payments team, in business time. Returns the sprint id."""
    app = runtime.app

    def by(actor: str, when: str) -> Caller:
        return backfill(actor, f"2026-10-{when}")

    app.create_board(importing(by("alice", "01 09:00")), "PAY", "Payments", None)
    app.grant_role(by("alice", "01 09:05"), "PAY", "bob", "ADMIN")
    app.configure_columns(
        by("alice", "01 09:10"),
        "PAY",
        [
            {"key": "TODO", "name": "To Do", "category": "TODO"},
            {"key": "DOING", "name": "Doing", "category": "IN_PROGRESS", "wip_limit": 3},
            {"key": "REVIEW", "name": "Review", "category": "IN_PROGRESS"},
            {"key": "DONE", "name": "Done", "category": "DONE"},
        ],
    )
    for n, title in enumerate(["Card form", "3-D Secure", "Receipts", "Refunds"], start=1):
        app.create_story(by("alice", f"01 10:0{n}"), "PAY", title, points=float(n))
    sprint = app.create_sprint(
        by("alice", "02 09:00"), "PAY", "Sprint 1", date(2026, 10, 5), date(2026, 10, 16)
    )
    for key in ("PAY-1", "PAY-2", "PAY-3"):
        app.add_story_to_sprint(by("alice", "02 09:30"), sprint, key)
    app.start_sprint(by("alice", "05 09:00"), sprint)
    app.move_story(by("bob", "05 10:00"), "PAY-1", "DOING")
    app.estimate_story(by("bob", "06 11:00"), "PAY-2", 5)
    app.move_story(by("bob", "07 15:00"), "PAY-1", "REVIEW")
    app.block_story(by("bob", "07 16:00"), "PAY-2", "bank API down")
    app.move_story(by("bob", "08 12:00"), "PAY-1", "DONE")
    app.add_story_to_sprint(by("alice", "09 09:00"), sprint, "PAY-4")
    app.remove_story_from_sprint(by("alice", "09 09:30"), sprint, "PAY-3")
    app.assign_story(by("bob", "12 10:00"), "PAY-4", "bob")
    app.rank_story(by("bob", "12 10:30"), "PAY-4", before="PAY-1")
    app.unblock_story(by("bob", "13 10:00"), "PAY-2")
    app.move_story(by("bob", "13 11:00"), "PAY-2", "DOING")
    app.complete_sprint(by("alice", "16 17:00"), sprint)
    return sprint
