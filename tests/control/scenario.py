"""A scripted two-sprint history of a payments team under project control, in business time.

Every figure the tests expect is computed by hand from this script (see the test docstrings).
"""

from __future__ import annotations

from datetime import date

from storyline_service.application import Caller
from storyline_service.bootstrap import Runtime
from storyline_service.control import commands as control
from tests.helpers import backfill, importing

BOARD = "CTL"
EPIC = "CTL-E1"


def by(when: str) -> Caller:
    return backfill("alice", f"2026-10-{when}")


def sprint_one(runtime: Runtime) -> str:
    """Up to the end of sprint 1 (October 16): 8 of 10 committed points done, its goal missed."""
    app = runtime.app
    app.create_board(importing(by("01 09:00")), BOARD, "Control", None)
    app.create_epic(by("01 09:10"), BOARD, "Checkout", date(2026, 11, 6))
    for n, points in enumerate([3, 5, 2, 8, 5, 3], start=1):
        epic = EPIC if n <= 5 else None
        app.create_story(by(f"01 10:0{n}"), BOARD, f"Story {n}", points=float(points), epic_key=epic)
    control.set_budget(app, by("01 11:00"), BOARD, "EUR", "10000.00", "PER_POINT", "250.00", "approved")
    control.create_risk(
        app, by("02 09:00"), BOARD, {"title": "Bank API unstable", "probability": 3, "impact": 4}
    )
    control.create_risk(
        app, by("02 09:01"), BOARD, {"title": "Key developer away", "probability": 2, "impact": 3}
    )
    control.create_risk(app, by("02 09:02"), BOARD, {"title": "PCI audit", "probability": 4, "impact": 4})
    # Moving a milestone earlier needs no reason.
    control.set_epic_target_date(app, by("03 09:00"), EPIC, date(2026, 11, 4), "")
    sprint = app.create_sprint(
        by("02 10:00"), BOARD, "Sprint 1", date(2026, 10, 5), date(2026, 10, 16), "Cards"
    )
    for key in ("CTL-1", "CTL-2", "CTL-3"):
        app.add_story_to_sprint(by("02 10:30"), sprint, key)
    app.start_sprint(by("05 09:00"), sprint)
    app.move_story(by("07 10:00"), "CTL-1", "DONE")
    app.move_story(by("09 10:00"), "CTL-2", "DONE")
    control.set_risk_state(app, by("12 09:00"), "CTL-R1", "MITIGATING", "retry queue")
    app.complete_sprint(by("16 17:00"), sprint)
    return sprint


def sprint_two(runtime: Runtime) -> str:
    """Sprint 2 (October 19 to 30): all 10 committed points done; the milestone slips, risks move."""
    app = runtime.app
    sprint = app.create_sprint(
        by("17 10:00"), BOARD, "Sprint 2", date(2026, 10, 19), date(2026, 10, 30), "3DS"
    )
    for key in ("CTL-3", "CTL-4"):
        app.add_story_to_sprint(by("17 10:30"), sprint, key)
    app.start_sprint(by("19 09:00"), sprint)
    app.move_story(by("21 10:00"), "CTL-3", "DONE")
    control.set_epic_target_date(app, by("22 09:00"), EPIC, date(2026, 11, 27), "PSP contract signed late")
    control.update_risk(app, by("23 09:00"), "CTL-R2", {"impact": 5})
    control.set_risk_state(app, by("26 09:00"), "CTL-R3", "OCCURRED", "audit found gaps")
    app.estimate_story(by("27 09:00"), "CTL-5", 8)
    app.move_story(by("28 10:00"), "CTL-4", "DONE")
    app.complete_sprint(by("30 17:00"), sprint)
    return sprint
