"""A realistic demo board: three closed sprints and an active one, backfilled in business time.

It has scope added and removed mid-sprint, re-estimates, a blocked story and
carry-over, so every report shows something meaningful at once. The same day
always gives the same history.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from sqlalchemy import Engine

from storyline_domain.sprint import Sprint
from storyline_service.application import Caller, Storyline
from storyline_service.control.demo import plan_controls, record_controls

BOARD = "PAY"
TEAM = ("alice", "bob", "carol", "dave")
SPRINT_DAYS = 14
TITLES = [
    "Card payment form",
    "3-D Secure challenge",
    "Email receipts",
    "Refund to card",
    "Partial refunds",
    "Apple Pay button",
    "Google Pay button",
    "Saved cards",
    "Delete a saved card",
    "Currency display",
    "Payment retry on timeout",
    "Webhook signature check",
    "Dispute notifications",
    "Payout schedule",
    "Invoice PDF",
    "VAT on invoices",
    "Fraud score threshold",
    "Block risky countries",
    "Checkout analytics",
    "Failed payment email",
    "Subscription renewal",
    "Proration on upgrade",
    "Coupon codes",
    "Gift cards",
    "Bank transfer option",
    "SEPA direct debit",
    "Payment audit export",
    "Rate limit the API",
    "Accessible checkout",
    "Load test checkout",
]
POINTS = [1.0, 2.0, 3.0, 3.0, 5.0, 5.0, 8.0, None]


@dataclass(frozen=True)
class DemoSummary:
    board: str
    stories: int
    sprints: int
    events: int


def load_demo(app: Storyline, reads: Engine, today: date | None = None, seed: int = 7) -> DemoSummary:
    """Loads the demo board, drafting its status update from the read models ``reads``.

    Refuses if the board exists already."""
    today = today or datetime.now(UTC).date()
    rng = random.Random(seed)
    # Sprints run Monday to Friday of the next week; the active one started 3 to 9 days ago.
    some_days_ago = today - timedelta(days=3)
    active_start = some_days_ago - timedelta(days=some_days_ago.weekday())
    first_start = active_start - timedelta(days=3 * SPRINT_DAYS)

    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=UTC)

    def by(actor: str, when: datetime) -> Caller:
        # The demo is an import: backfilled history, recorded with the importer's rights.
        return Caller(actor, occurred_at=min(when, datetime.now(UTC)), superuser=True)

    setup = first_start - timedelta(days=4)
    app.create_board(by("alice", at(setup, 9)), BOARD, "Payments")
    for user, role in (("bob", "MEMBER"), ("carol", "MEMBER"), ("dave", "MANAGER")):
        app.grant_role(by("alice", at(setup, 9, 5)), BOARD, user, role)
    app.configure_columns(
        by("alice", at(setup, 9, 10)),
        BOARD,
        [
            {"key": "TODO", "name": "To Do", "category": "TODO"},
            {"key": "IN_PROGRESS", "name": "In Progress", "category": "IN_PROGRESS", "wip_limit": 5},
            {"key": "REVIEW", "name": "Review", "category": "IN_PROGRESS"},
            {"key": "DONE", "name": "Done", "category": "DONE"},
        ],
    )
    checkout = app.create_epic(by("alice", at(setup, 10)), BOARD, "Checkout", today + timedelta(days=30))
    invoicing = app.create_epic(by("alice", at(setup, 10, 5)), BOARD, "Invoicing", today + timedelta(days=60))
    risks = plan_controls(app, BOARD, setup, by)
    backlog = []
    for n, title in enumerate(TITLES):
        key = app.create_story(
            by("alice", at(setup, 11, n)),
            BOARD,
            title,
            type="BUG" if n % 7 == 3 else "STORY",
            priority=("MEDIUM", "HIGH", "LOW")[n % 3],
            labels=[("web", "api", "ops")[n % 3]],
            points=POINTS[n % len(POINTS)],
            epic_key=(checkout, invoicing, None)[n % 3],
        )
        backlog.append(key)

    sprint = app.create_sprint(
        by("dave", at(first_start - timedelta(days=1), 14)),
        BOARD,
        "Sprint 1",
        first_start,
        first_start + timedelta(days=SPRINT_DAYS - 3),
        goal=GOALS[0],
    )
    for number in range(4):
        start = first_start + timedelta(days=number * SPRINT_DAYS)
        end = start + timedelta(days=SPRINT_DAYS - 3)  # two working weeks, Monday to Friday
        members = _members(app, sprint)
        for key in [backlog.pop(0) for _ in range(6 - len(members))]:
            app.add_story_to_sprint(by("dave", at(start - timedelta(days=1), 15)), sprint, key)
            members.append(key)
        late = timedelta(days=1 if number == 1 else 0)  # Sprint 2 started a day late
        app.start_sprint(by("dave", at(start + late, 9, 30)), sprint)

        plan: list[Step] = []
        last_day = min(end, today)
        # Sprint 2 drops its second-to-last story unfinished, back to To Do in the backlog, on day 8.
        dropped = members[-2] if number == 1 else None
        dropped_at = at(start + timedelta(days=7), 12)
        # The active sprint's story carried over from Sprint 3 is stuck: blocked since yesterday.
        stuck = members[0] if number == 3 else None
        for index, key in enumerate(members):
            # In closed sprints the last story is left unfinished and carries over.
            finish = key not in (dropped, stuck) and (number == 3 or index < len(members) - 1)
            until = start + timedelta(days=6) if key == dropped else last_day
            plan += _story_plan(app, rng, key, start + late + timedelta(days=index // 2), until, finish, at)
        if stuck is not None:
            yesterday = at(today - timedelta(days=1), 15)
            plan.append(
                Step(yesterday, "carol", app.block_story, (stuck, "waiting for the payment provider"))
            )
        if dropped is not None:
            extra = backlog.pop(0)
            plan += [
                Step(at(start + timedelta(days=3), 11), "alice", app.add_story_to_sprint, (sprint, extra)),
                Step(at(start + timedelta(days=4), 10), "bob", app.move_story, (extra, "IN_PROGRESS")),
                Step(at(start + timedelta(days=8), 16), "bob", app.move_story, (extra, "DONE")),
                Step(dropped_at, "dave", app.remove_story_from_sprint, (sprint, dropped)),
                Step(dropped_at + timedelta(minutes=1), "dave", app.move_story, (dropped, "TODO")),
            ]
        for step in sorted(plan):
            if step.when <= datetime.now(UTC):
                step.command(by(step.actor, step.when), *step.args)
        if number < 3:
            upcoming = end + timedelta(days=3)
            following = app.create_sprint(
                by("dave", at(end, 15)),
                BOARD,
                f"Sprint {number + 2}",
                upcoming,
                upcoming + timedelta(days=SPRINT_DAYS - 3),
                goal=GOALS[number + 1],
            )
            app.complete_sprint(by("dave", at(end, 17)), sprint, carry_over_to=following)
            sprint = following
    record_controls(app, reads, BOARD, checkout, risks, setup, today, by)
    return DemoSummary(BOARD, len(TITLES), 4, app.recorder.max_notification_id() or 0)


GOALS = ("Take card payments", "Refunds and receipts", "Wallets", "Invoices")


@dataclass(frozen=True, order=True)
class Step:
    """One command at one business time."""

    when: datetime
    actor: str = field(compare=False)
    command: Callable[..., object] = field(compare=False)
    args: tuple[object, ...] = field(compare=False)


def _members(app: Storyline, sprint_id: str) -> list[str]:
    sprint: Sprint = app.repository.get(UUID(sprint_id))
    return list(sprint.members)


def _story_plan(
    app: Storyline,
    rng: random.Random,
    key: str,
    start: date,
    last_day: date,
    finish: bool,
    at: Callable[..., datetime],
) -> list[Step]:
    """A story's way across the board during one sprint."""
    worker = rng.choice(TEAM[1:])
    begin = start + timedelta(days=rng.randint(0, 1))
    review = begin + timedelta(days=rng.randint(1, 2))
    done = review + timedelta(days=rng.randint(0, 2))
    steps = [
        Step(at(begin, 9), worker, app.assign_story, (key, worker)),
        Step(at(begin, 10), worker, app.move_story, (key, "IN_PROGRESS")),
        Step(at(review, 13), worker, app.move_story, (key, "REVIEW")),
    ]
    if rng.random() < 0.25:
        steps.append(
            Step(
                at(begin + timedelta(days=1), 11),
                worker,
                app.estimate_story,
                (key, rng.choice([3.0, 5.0, 8.0])),
            )
        )
    # Blocked for a while and unblocked before the last day: only the demo's stuck story stays blocked.
    if rng.random() < 0.2 and review < last_day:
        steps.append(Step(at(begin, 15), worker, app.block_story, (key, "waiting for the payment provider")))
        steps.append(Step(at(review, 9), worker, app.unblock_story, (key,)))
    if finish:
        steps.append(Step(at(done, 16), worker, app.move_story, (key, "DONE")))
    return [step for step in steps if step.when.date() <= last_day]
