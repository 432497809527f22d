"""The PAY board's scripted history, backfilled from 1 January 2026 (a Thursday).

Every expected number in these tests is worked out by hand from this script.

Stories, all created 1 Jan 09:00 by alice:
    PAY-1 Card form 3 pts    PAY-2 Refunds 5 pts    PAY-3 Receipts no points
    PAY-4 Invoices 2 pts     PAY-5 Webhooks 8 pts   PAY-6 Audit export 1 pt
Workflow: TODO (TODO), DOING and REVIEW (IN_PROGRESS), DONE (DONE).

Sprint 1, planned Mon 5 - Fri 9 Jan: started late (Tue 6 09:00), completed after
its planned end (Mon 12 17:00). PAY-1 goes back from REVIEW to DOING, is done,
then re-estimated 3 -> 5. PAY-6 is added; PAY-4 is removed and re-added.
PAY-2 is done and re-opened. PAY-6 goes straight from TODO to DONE.
PAY-2 and PAY-4 carry over to Sprint 2.

Sprint 2, planned Tue 13 - Fri 16 Jan: completed early (Thu 15 17:00). PAY-5 is
blocked for 24 hours; the DONE column is renamed "Shipped". PAY-4 and PAY-5
carry over to Sprint 3, so PAY-4 is carried over twice.

Sprint 3, planned Mon 19 - Fri 30 Jan: both carried stories done, completed Fri 23.
Sprint 4, planned Mon 26 - Fri 30 Jan: empty, started and completed on plan.
Sprint 5, planned Mon 2 - Fri 6 Feb: active; PAY-7 done on Tue 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from storyline_service.application import Caller
from storyline_service.bootstrap import Runtime
from tests.helpers import backfill, importing

COLUMNS = [
    {"key": "TODO", "name": "To Do", "category": "TODO"},
    {"key": "DOING", "name": "Doing", "category": "IN_PROGRESS"},
    {"key": "REVIEW", "name": "Review", "category": "IN_PROGRESS"},
    {"key": "DONE", "name": "Done", "category": "DONE"},
]


@dataclass(frozen=True)
class Pay:
    s1: str
    s2: str
    s3: str
    s4: str
    s5: str
    epic: str


def build_pay(runtime: Runtime) -> Pay:
    app = runtime.app

    def a(when: str) -> Caller:
        return backfill("alice", f"2026-{when}")

    def b(when: str) -> Caller:
        return backfill("bob", f"2026-{when}")

    app.create_board(importing(a("01-01 08:00")), "PAY", "Payments", COLUMNS)
    app.grant_role(a("01-01 08:30"), "PAY", "bob", "ADMIN")
    for title, points in [
        ("Card form", 3),
        ("Refunds", 5),
        ("Receipts", None),
        ("Invoices", 2),
        ("Webhooks", 8),
        ("Audit export", 1),
    ]:
        app.create_story(a("01-01 09:00"), "PAY", title, points=points)

    s1 = app.create_sprint(a("01-02 09:00"), "PAY", "Sprint 1", date(2026, 1, 5), date(2026, 1, 9))
    s2 = app.create_sprint(a("01-02 09:00"), "PAY", "Sprint 2", date(2026, 1, 13), date(2026, 1, 16))
    steps: list[tuple[str, Caller, tuple[object, ...]]] = [
        *[("add_story_to_sprint", a("01-02 10:00"), (s1, f"PAY-{n}")) for n in (1, 2, 3, 4)],
        ("start_sprint", a("01-06 09:00"), (s1,)),
        ("move_story", a("01-06 10:00"), ("PAY-1", "DOING")),
        ("move_story", a("01-06 15:00"), ("PAY-1", "REVIEW")),
        ("move_story", a("01-07 09:00"), ("PAY-1", "DOING")),  # backwards
        ("move_story", a("01-07 11:00"), ("PAY-1", "DONE")),
        ("estimate_story", a("01-07 12:00"), ("PAY-1", 5)),  # re-estimate of a done story
        ("add_story_to_sprint", b("01-07 13:00"), (s1, "PAY-6")),
        ("remove_story_from_sprint", b("01-07 14:00"), (s1, "PAY-4")),
        ("add_story_to_sprint", b("01-08 09:00"), (s1, "PAY-4")),
        ("move_story", a("01-08 10:00"), ("PAY-3", "DOING")),
        ("move_story", a("01-08 16:00"), ("PAY-3", "DONE")),
        ("move_story", a("01-09 09:00"), ("PAY-2", "DOING")),
        ("move_story", a("01-09 12:00"), ("PAY-2", "DONE")),
        ("move_story", a("01-09 15:00"), ("PAY-2", "DOING")),  # re-opened
        ("move_story", a("01-12 10:00"), ("PAY-6", "DONE")),
        ("complete_sprint", a("01-12 17:00"), (s1, s2)),
        ("add_story_to_sprint", a("01-12 18:00"), (s2, "PAY-5")),
        ("start_sprint", a("01-13 09:00"), (s2,)),
        ("move_story", a("01-13 10:00"), ("PAY-2", "DONE")),
        ("move_story", a("01-14 10:00"), ("PAY-5", "DOING")),
        ("block_story", a("01-14 11:00"), ("PAY-5", "waiting for the bank")),
    ]
    for method, caller, args in steps:
        getattr(app, method)(caller, *args)

    renamed = [dict(c, name="Shipped") if c["key"] == "DONE" else c for c in COLUMNS]
    app.configure_columns(a("01-14 12:00"), "PAY", renamed)
    s3 = app.create_sprint(a("01-14 13:00"), "PAY", "Sprint 3", date(2026, 1, 19), date(2026, 1, 30))
    for method, caller, args in [
        ("unblock_story", a("01-15 11:00"), ("PAY-5",)),
        ("complete_sprint", a("01-15 17:00"), (s2, s3)),
        ("start_sprint", a("01-19 09:00"), (s3,)),
        ("move_story", a("01-20 10:00"), ("PAY-4", "DONE")),
        ("move_story", a("01-21 10:00"), ("PAY-5", "DONE")),
        ("complete_sprint", a("01-23 17:00"), (s3,)),
    ]:
        getattr(app, method)(caller, *args)

    s4 = app.create_sprint(a("01-24 09:00"), "PAY", "Sprint 4", date(2026, 1, 26), date(2026, 1, 30))
    app.start_sprint(a("01-26 09:00"), s4)
    app.complete_sprint(a("01-30 17:00"), s4)

    epic = app.create_epic(a("02-01 08:00"), "PAY", "Checkout")
    for title, points, epic_key in [("Wallets", 3, epic), ("Vouchers", None, epic), ("Fraud", 4, epic)]:
        app.create_story(a("02-01 09:00"), "PAY", title, points=points, epic_key=epic_key)
    app.create_story(a("02-01 09:00"), "PAY", "Dark mode", points=6)
    s5 = app.create_sprint(a("02-01 09:30"), "PAY", "Sprint 5", date(2026, 2, 2), date(2026, 2, 6))
    for method, caller, args in [
        ("add_story_to_sprint", a("02-01 10:00"), (s5, "PAY-7")),
        ("add_story_to_sprint", a("02-01 10:00"), (s5, "PAY-8")),
        ("start_sprint", a("02-02 09:00"), (s5,)),
        ("move_story", a("02-03 10:00"), ("PAY-7", "DONE")),
    ]:
        getattr(app, method)(caller, *args)
    return Pay(s1, s2, s3, s4, s5, epic)
