"""The managers' controls in the audit log: every change with its values before and after."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from storyline_domain.board import Board, Budget
from storyline_domain.epic import Epic
from storyline_domain.risk import Risk
from storyline_service.control.money import money_text
from storyline_service.projections.audit import AuditLog, change
from storyline_service.projections.base import Handler, on


def plain_budget(budget: Budget | None) -> dict[str, Any] | None:
    """A budget as JSON keeps it: money as exact decimal strings."""
    if budget is None:
        return None
    return {k: money_text(v) if isinstance(v, Decimal) else v for k, v in budget.items()}


@on(Board.BudgetSet)
def budget_set(log: AuditLog, conn: Connection, event: Board.BudgetSet, position: int) -> None:
    name = log._name(conn, event.originator_id)
    before = plain_budget(event.previous) or {}
    after = plain_budget(
        {"currency": event.currency, "amount": event.amount, "basis": event.basis, "rate": event.rate}
    )
    assert after is not None
    changes = [change(f"budget.{f}", before.get(f), v) for f, v in after.items() if before.get(f) != v]
    summary = (
        f"set the budget of {event.board_key} to {after['amount']} {event.currency}"
        f" at {after['rate']} {event.basis.lower().replace('_', ' ')}"
    )
    if event.reason:
        summary += f": {event.reason}"
    log._write(conn, event, position, name, summary, changes)


@on(Board.StatusUpdatePublished)
def update_published(
    log: AuditLog, conn: Connection, event: Board.StatusUpdatePublished, position: int
) -> None:
    name = log._name(conn, event.originator_id)
    summary = f"published a status update on {event.board_key} ({event.health}): {event.summary}"
    changes = [change("statusUpdate", None, str(event.update_id)), change("health", None, event.health)]
    log._write(conn, event, position, name, summary, changes)


@on(Epic.TargetDateSet)
def target_date_set(log: AuditLog, conn: Connection, event: Epic.TargetDateSet, position: int) -> None:
    name = log._name(conn, event.originator_id)
    summary = f"moved the target date of {event.epic_key} from {event.previous} to {event.target_date}"
    if event.reason:
        summary += f": {event.reason}"
    log._write(
        conn, event, position, name, summary, [change("targetDate", event.previous, event.target_date)]
    )


@on(Epic.HealthOverridden, Epic.HealthOverrideCleared)
def health_overridden(log: AuditLog, conn: Connection, event: Any, position: int) -> None:
    name = log._name(conn, event.originator_id)
    if isinstance(event, Epic.HealthOverridden):
        summary = f"overrode the health of {event.epic_key} to {event.health}: {event.reason}"
        changes = [change("healthOverride", event.previous, event.health)]
    else:
        summary = f"cleared the health override of {event.epic_key}"
        changes = [change("healthOverride", event.previous, None)]
    log._write(conn, event, position, name, summary, changes)


@on(Risk.Created)
def risk_created(log: AuditLog, conn: Connection, event: Risk.Created, position: int) -> None:
    log._remember(
        event.originator_id, entity_type="Risk", key=event.key, board_key=event.board_key, label=event.title
    )
    fields = ("title", "description", "probability", "impact", "owner", "mitigation")
    changes = [change(f, None, getattr(event, f)) for f in fields if getattr(event, f) not in (None, "")]
    changes += [change("score", None, event.probability * event.impact), change("state", None, "OPEN")]
    name = log._name(conn, event.originator_id)
    summary = f"raised risk {event.key}: {event.title} (score {event.probability * event.impact})"
    log._write(conn, event, position, name, summary, changes)


@on(Risk.Updated, Risk.StateChanged, Risk.Linked)
def risk_changed(log: AuditLog, conn: Connection, event: Any, position: int) -> None:
    name = log._name(conn, event.originator_id)
    key = name["key"]
    match event:
        case Risk.Updated():
            changes = [change(f, before, after) for f, (before, after) in event.changes.items()]
            summary = f"edited risk {key} ({', '.join(event.changes)})"
            if "title" in event.changes:
                log._rename(name, label=event.changes["title"][1])
        case Risk.StateChanged():
            changes = [change("state", event.previous, event.state)]
            summary = f"moved risk {key} from {event.previous} to {event.state}"
            if event.note:
                summary += f": {event.note}"
        case Risk.Linked():
            changes = [
                change("stories", event.previous_story_keys, event.story_keys),
                change("epics", event.previous_epic_keys, event.epic_keys),
            ]
            summary = f"linked risk {key} to {', '.join(event.story_keys + event.epic_keys) or 'nothing'}"
    log._write(conn, event, position, name, summary, changes)


HANDLERS: dict[type, Handler] = {
    event_class: handler  # type: ignore[misc]
    for handler in (
        budget_set,
        update_published,
        target_date_set,
        health_overridden,
        risk_created,
        risk_changed,
    )
    for event_class in handler._handles  # type: ignore[attr-defined]
}
AuditLog.handlers.update(HANDLERS)
