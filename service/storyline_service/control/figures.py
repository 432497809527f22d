"""The figures of project control, every one from the events: budget burn, epic progress and health,
and the stakeholder status draft. Figures are plain JSON values (money as exact decimal strings), so
that a published update keeps them exactly as they stood."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select

from storyline_domain.board import CostBasis, StatusCategory
from storyline_domain.epic import Health
from storyline_service import analytics
from storyline_service.control.money import money_text, round_money
from storyline_service.control.readmodels import (
    BudgetRow,
    EpicHealthRow,
    MilestoneSlipRow,
)
from storyline_service.readmodels import (
    ColumnRow,
    EpicRow,
    SprintHistoryRow,
    SprintRow,
    StoryRow,
    table_of,
)

# The forecasts behind health and budget draw the same simulations every time they are asked.
FORECAST_SEED = 19
# Open risks scored this high put the board at risk.
SEVERE_SCORE = 15
# An overrun of the budget beyond this share of it puts the board off track (below it: at risk).
OVERRUN_OFF_TRACK = Decimal("0.10")
ORDER = [Health.ON_TRACK, Health.AT_RISK, Health.OFF_TRACK]
DONE = StatusCategory.DONE.value


def points(value: float | None) -> Decimal:
    return Decimal(str(value or 0))


# ----- budget -----


def _sprint_costs(
    conn: Connection, board_key: str, basis: str, rate: Decimal, currency: str
) -> list[dict[str, Any]]:
    """Each started sprint's planned and actual cost. Books close with the sprint: an active sprint has
    cost nothing yet."""
    history, sprints = table_of(SprintHistoryRow), table_of(SprintRow)
    rows = conn.execute(
        select(history, sprints.c.name)
        .join(sprints, sprints.c.id == history.c.sprint_id)
        .where(history.c.board_key == board_key, history.c.started_at.is_not(None))
        .order_by(history.c.started_at, history.c.sprint_id)
    ).all()
    costs = []
    for row in rows:
        closed = row.completed_at is not None
        if basis == CostBasis.PER_POINT:
            planned = rate * sum((points(p) for p in (row.commitment or {}).values()), Decimal(0))
            actual = rate * sum((points(p) for p in (row.completed or {}).values()), Decimal(0))
        else:
            planned, actual = rate, rate
        costs.append(
            {
                "sprint_id": row.sprint_id,
                "sprint_name": row.name,
                "planned": round_money(planned, currency),
                "actual": round_money(actual if closed else Decimal(0), currency),
            }
        )
    return costs


def budget_figures(engine: Engine, board_key: str, today: date | None = None) -> dict[str, Any] | None:
    """The budget against its burn; None until one is set."""
    budgets = table_of(BudgetRow)
    with engine.connect() as conn:
        budget = conn.execute(select(budgets).where(budgets.c.board_key == board_key)).first()
        if budget is None:
            return None
        by_sprint = _sprint_costs(conn, board_key, budget.basis, budget.rate, budget.currency)
    spent = sum((sprint["actual"] for sprint in by_sprint), Decimal(0))
    forecast = board_forecast(engine, board_key, today)
    if budget.basis == CostBasis.PER_POINT:
        to_come = budget.rate * Decimal(str(forecast.remaining_points))
    else:
        to_come = budget.rate * (forecast.sprints_p50 or 0)
    at_completion = spent + round_money(to_come, budget.currency)
    return {
        "currency": budget.currency,
        "amount": money_text(budget.amount),
        "basis": budget.basis,
        "rate": money_text(budget.rate),
        "spent_to_date": money_text(round_money(spent, budget.currency)),
        "forecast_at_completion": money_text(round_money(at_completion, budget.currency)),
        "variance": money_text(round_money(budget.amount - at_completion, budget.currency)),
        "by_sprint": [
            {**sprint, "planned": money_text(sprint["planned"]), "actual": money_text(sprint["actual"])}
            for sprint in by_sprint
        ],
    }


# ----- milestones -----


def board_forecast(engine: Engine, board_key: str, today: date | None = None) -> analytics.Forecast:
    """The board's forecast, by the same Monte Carlo as ``Board.forecast``."""
    return analytics.forecast(engine, board_key, seed=FORECAST_SEED, today=today)


def epic_forecast(
    engine: Engine, board_key: str, epic_key: str, today: date | None = None
) -> analytics.Forecast:
    """An epic's forecast, by the same Monte Carlo as ``Board.forecast``, over its unfinished points."""
    return analytics.forecast(engine, board_key, epic_key=epic_key, seed=FORECAST_SEED, today=today)


@dataclass(frozen=True)
class EpicStatus:
    key: str
    title: str
    target_date: date | None
    total_points: float
    completed_points: float
    remaining_points: float
    forecast_p50: date | None
    forecast_p85: date | None
    health: Health
    reason: str
    overridden: bool


def derived_health(
    target: date | None, remaining: float, p50: date | None, p85: date | None, why_no_forecast: str | None
) -> tuple[Health, str]:
    """ON_TRACK when P85 <= target, AT_RISK when P50 <= target < P85, OFF_TRACK when target < P50."""
    if target is None:
        return Health.ON_TRACK, "no target date"
    if remaining <= 0:
        return Health.ON_TRACK, "every story is done"
    if p50 is None or p85 is None:
        return Health.ON_TRACK, f"no forecast yet: {why_no_forecast}"
    if p85 <= target:
        return Health.ON_TRACK, f"85% likely done by {p85}, target {target}"
    if p50 <= target:
        return Health.AT_RISK, f"50% likely done by {p50} but only 85% likely by {p85}, target {target}"
    return Health.OFF_TRACK, f"50% likely done only by {p50}, after the target {target}"


def epic_status(engine: Engine, epic_key: str, today: date | None = None) -> EpicStatus | None:
    epics, overrides, stories, columns = (
        table_of(EpicRow),
        table_of(EpicHealthRow),
        table_of(StoryRow),
        table_of(ColumnRow),
    )
    with engine.connect() as conn:
        epic = conn.execute(select(epics).where(epics.c.key == epic_key)).first()
        if epic is None:
            return None
        override = conn.execute(select(overrides).where(overrides.c.epic_key == epic_key)).first()
        rows = conn.execute(
            select(stories.c.points, columns.c.category)
            .join(columns, (columns.c.board_key == stories.c.board_key) & (columns.c.key == stories.c.column))
            .where(stories.c.epic_key == epic_key, stories.c.archived.is_(False))
        ).all()
    total = sum(row.points or 0 for row in rows)
    completed = sum(row.points or 0 for row in rows if row.category == DONE)
    forecast = epic_forecast(engine, epic.board_key, epic_key, today)
    health, reason = derived_health(
        epic.target_date, total - completed, forecast.date_p50, forecast.date_p85, forecast.reason
    )
    if override is not None:
        health, reason = Health(override.health), override.reason
    return EpicStatus(
        key=epic.key,
        title=epic.title,
        target_date=epic.target_date,
        total_points=total,
        completed_points=completed,
        remaining_points=total - completed,
        forecast_p50=forecast.date_p50,
        forecast_p85=forecast.date_p85,
        health=health,
        reason=reason,
        overridden=override is not None,
    )


def slips_of(engine: Engine, epic_key: str) -> list[Any]:
    """Every change of the epic's target date, oldest first."""
    slips = table_of(MilestoneSlipRow)
    with engine.connect() as conn:
        return list(
            conn.execute(select(slips).where(slips.c.epic_key == epic_key).order_by(slips.c.sequence))
        )


def slip_value(row: Any) -> dict[str, Any]:
    return {
        "from": row.from_date.isoformat() if row.from_date else None,
        "to": row.to_date.isoformat() if row.to_date else None,
        "reason": row.reason,
        "at": row.occurred_at.isoformat(),
        "actor": row.actor,
    }
