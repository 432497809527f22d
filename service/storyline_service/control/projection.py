"""Projects the managers' controls: budgets, milestone slips, health overrides, risks, status updates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, update

from storyline_domain.board import Board
from storyline_domain.epic import Epic
from storyline_domain.risk import Risk
from storyline_service.control import audit  # noqa: F401  (adds the controls to the audit log)
from storyline_service.control.readmodels import (
    BudgetRow,
    EpicHealthRow,
    MilestoneSlipRow,
    RiskChangeRow,
    RiskRow,
    StatusUpdateRow,
)
from storyline_service.projections.base import Projection, collect_handlers, on
from storyline_service.readmodels import table_of

MODELS = (BudgetRow, MilestoneSlipRow, EpicHealthRow, RiskRow, RiskChangeRow, StatusUpdateRow)


@collect_handlers
class ProjectControl(Projection):
    name = "control"
    tables = [table_of(model) for model in MODELS]

    @on(Board.BudgetSet)
    def budget_set(self, conn: Connection, event: Board.BudgetSet, position: int) -> None:
        budgets = self.t["budgets"]
        conn.execute(delete(budgets).where(budgets.c.board_key == event.board_key))
        conn.execute(
            insert(budgets).values(
                board_key=event.board_key,
                currency=event.currency,
                amount=event.amount,
                basis=event.basis,
                rate=event.rate,
                reason=event.reason,
                set_at=event.occurred_at,
                set_by=event.actor,
            )
        )

    @on(Board.StatusUpdatePublished)
    def update_published(self, conn: Connection, event: Board.StatusUpdatePublished, position: int) -> None:
        conn.execute(
            insert(self.t["status_updates"]).values(
                id=str(event.update_id),
                sequence=position,
                board_key=event.board_key,
                published_at=event.occurred_at,
                actor=event.actor,
                health=event.health,
                summary=event.summary,
                since=event.since,
                until=event.until,
                figures=event.figures,
                markdown=event.markdown,
            )
        )

    @on(Epic.TargetDateSet)
    def target_date_set(self, conn: Connection, event: Epic.TargetDateSet, position: int) -> None:
        conn.execute(
            insert(self.t["milestone_slips"]).values(
                sequence=position,
                epic_key=event.epic_key,
                board_key=event.board_key,
                from_date=event.previous,
                to_date=event.target_date,
                reason=event.reason,
                occurred_at=event.occurred_at,
                actor=event.actor,
            )
        )

    @on(Epic.HealthOverridden, Epic.HealthOverrideCleared)
    def health_overridden(self, conn: Connection, event: Any, position: int) -> None:
        overrides = self.t["epic_health_overrides"]
        conn.execute(delete(overrides).where(overrides.c.epic_key == event.epic_key))
        if isinstance(event, Epic.HealthOverridden):
            conn.execute(
                insert(overrides).values(
                    epic_key=event.epic_key,
                    health=event.health,
                    reason=event.reason,
                    occurred_at=event.occurred_at,
                    actor=event.actor,
                )
            )

    @on(Risk.Created)
    def risk_created(self, conn: Connection, event: Risk.Created, position: int) -> None:
        row = {
            "key": event.key,
            "id": str(event.originator_id),
            "board_key": event.board_key,
            "number": int(event.key.rsplit("-R", 1)[1]),
            "title": event.title,
            "description": event.description,
            "probability": event.probability,
            "impact": event.impact,
            "score": event.probability * event.impact,
            "owner": event.owner,
            "mitigation": event.mitigation,
            "state": "OPEN",
            "story_keys": [],
            "epic_keys": [],
            "version": event.originator_version,
            "created_at": event.occurred_at,
        }
        conn.execute(insert(self.t["risks"]).values(row))
        self._record_change(conn, event, position, row)

    @on(Risk.Updated, Risk.StateChanged, Risk.Linked)
    def risk_changed(self, conn: Connection, event: Any, position: int) -> None:
        risks = self.t["risks"]
        row = dict(conn.execute(risks.select().where(risks.c.id == str(event.originator_id))).one()._mapping)
        match event:
            case Risk.Updated():
                row.update({field: after for field, (_, after) in event.changes.items()})
                row["score"] = row["probability"] * row["impact"]
            case Risk.StateChanged():
                row["state"] = event.state
            case Risk.Linked():
                row.update(story_keys=event.story_keys, epic_keys=event.epic_keys)
        row["version"] = event.originator_version
        conn.execute(update(risks).where(risks.c.key == row["key"]).values(row))
        self._record_change(conn, event, position, row)

    def _record_change(self, conn: Connection, event: Any, position: int, row: dict[str, Any]) -> None:
        conn.execute(
            insert(self.t["risk_changes"]).values(
                sequence=position,
                risk_key=row["key"],
                board_key=row["board_key"],
                event_type=type(event).__name__,
                title=row["title"],
                score=row["score"],
                state=row["state"],
                occurred_at=event.occurred_at,
            )
        )
