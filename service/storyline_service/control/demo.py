"""The demo board's project control: a budget, three risks in different states, a milestone that
slipped once and one published status update."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine

from storyline_service.application import Caller, Storyline
from storyline_service.control import commands

By = Callable[[str, datetime], Caller]


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def plan_controls(app: Storyline, board: str, setup: date, by: By) -> list[str]:
    """At the kick-off: the budget and the risks; returns the risks' keys."""
    approved = "approved at kick-off"
    commands.set_budget(
        app, by("dave", at(setup, 12)), board, "EUR", "120000.00", "PER_SPRINT", "18000.00", approved
    )
    provider = {"title": "Payment provider changes its API", "probability": 4, "impact": 4, "owner": "dave"}
    audit = {"title": "PCI audit findings", "probability": 3, "impact": 5, "owner": "alice"}
    leaving = {"title": "Key developer leaves", "probability": 2, "impact": 3}
    return [
        commands.create_risk(app, by("dave", at(setup, 13)), board, fields)
        for fields in (provider, audit, leaving)
    ]


def record_controls(
    app: Storyline, reads: Engine, board: str, epic: str, risks: list[str], setup: date, today: date, by: By
) -> None:
    """Since the kick-off: a risk mitigated, one occurred, a milestone slipped once, an update published."""
    mitigating = by("dave", at(setup + timedelta(days=10), 9))
    commands.set_risk_state(app, mitigating, risks[0], "MITIGATING", "an adapter layer")
    commands.set_risk_state(
        app, by("dave", at(today - timedelta(days=12), 9)), risks[1], "OCCURRED", "two findings"
    )
    commands.set_epic_target_date(
        app,
        by("dave", at(today - timedelta(days=10), 10)),
        epic,
        today + timedelta(days=44),
        "the payment provider delayed its sandbox",
    )
    commands.publish_status_update(
        app,
        reads,
        by("dave", at(today - timedelta(days=4), 17)),
        board,
        "AT_RISK",
        "Wallets are live; checkout slipped two weeks with the provider's sandbox.",
    )
