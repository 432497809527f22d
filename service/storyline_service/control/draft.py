"""The stakeholder status draft: what a manager would otherwise assemble by hand, from the history
between ``since`` and ``until``, as plain values that a published update keeps as they stood."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, Engine, select

from storyline_domain.epic import Health
from storyline_domain.risk import RiskState
from storyline_service.control.figures import (
    DONE,
    ORDER,
    OVERRUN_OFF_TRACK,
    SEVERE_SCORE,
    budget_figures,
    epic_status,
    slip_value,
)
from storyline_service.control.readmodels import MilestoneSlipRow, RiskChangeRow, RiskRow
from storyline_service.readmodels import (
    EpicRow,
    EstimateIntervalRow,
    SprintHistoryRow,
    SprintRow,
    StatusIntervalRow,
    StoryRow,
    StoryVersionRow,
    table_of,
)
from storyline_service.timetravel import story_as_of


def _completed_between(conn: Connection, board_key: str, since: datetime, until: datetime) -> list[str]:
    """Stories that entered a DONE column from another in [since, until), and stayed done until then."""
    intervals = table_of(StatusIntervalRow)
    rows = conn.execute(
        select(intervals.c.story_key, intervals.c.category, intervals.c.entered_at)
        .where(intervals.c.board_key == board_key, intervals.c.entered_at < until)
        .order_by(intervals.c.story_key, intervals.c.entered_at, intervals.c.id)
    ).all()
    by_story: dict[str, list[Any]] = {}
    for row in rows:
        by_story.setdefault(row.story_key, []).append(row)
    done = []
    for key, spans in by_story.items():
        if spans[-1].category != DONE:
            continue
        finished = None
        for previous, current in pairwise(spans):
            if current.category == DONE and previous.category != DONE:
                finished = current.entered_at
        if finished is not None and since <= finished:
            done.append(key)
    return sorted(done, key=lambda k: int(k.rsplit("-", 1)[1]))


def _scope_changes(conn: Connection, board_key: str, since: datetime, until: datetime) -> tuple[float, float]:
    """Points added (new stories, estimates raised) and removed (archived stories, estimates lowered)."""
    estimates, versions, stories = (
        table_of(EstimateIntervalRow),
        table_of(StoryVersionRow),
        table_of(StoryRow),
    )
    added = removed = 0.0
    rows = conn.execute(
        select(estimates.c.story_key, estimates.c.points, estimates.c.valid_from)
        .join(stories, stories.c.key == estimates.c.story_key)
        .where(stories.c.board_key == board_key, estimates.c.valid_from < until)
        .order_by(estimates.c.story_key, estimates.c.valid_from, estimates.c.id)
    ).all()
    previous: dict[str, float] = {}
    for row in rows:
        before, after = previous.get(row.story_key, 0.0), row.points or 0.0
        if since <= row.valid_from:
            added += max(after - before, 0.0)
            removed += max(before - after, 0.0)
        previous[row.story_key] = after
    archived = conn.execute(
        select(versions.c.story_key, versions.c.points, versions.c.valid_from)
        .where(
            versions.c.board_key == board_key,
            versions.c.archived.is_(True),
            versions.c.valid_from >= since,
            versions.c.valid_from < until,
        )
        .order_by(versions.c.valid_from)
    ).all()
    seen = set()
    for row in archived:
        if row.story_key not in seen:
            seen.add(row.story_key)
            removed += row.points or 0.0
    return added, removed


def _sprint_goals(conn: Connection, board_key: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
    history, sprints = table_of(SprintHistoryRow), table_of(SprintRow)
    rows = conn.execute(
        select(history, sprints.c.name, sprints.c.goal)
        .join(sprints, sprints.c.id == history.c.sprint_id)
        .where(
            history.c.board_key == board_key, history.c.completed_at >= since, history.c.completed_at < until
        )
        .order_by(history.c.completed_at)
    ).all()
    return [
        {
            "sprint_id": row.sprint_id,
            "sprint_name": row.name,
            "goal": row.goal,
            "met": set(row.commitment or {}) <= set(row.completed or {}),
        }
        for row in rows
    ]


def _slips(conn: Connection, board_key: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Target dates moved later (or dropped) in the period."""
    slips, epics = table_of(MilestoneSlipRow), table_of(EpicRow)
    rows = conn.execute(
        select(slips, epics.c.title)
        .join(epics, epics.c.key == slips.c.epic_key)
        .where(slips.c.board_key == board_key, slips.c.occurred_at >= since, slips.c.occurred_at < until)
        .order_by(slips.c.sequence)
    ).all()
    return [
        {"epic_key": row.epic_key, "epic_title": row.title, "slip": slip_value(row)}
        for row in rows
        if row.from_date is not None and (row.to_date is None or row.to_date > row.from_date)
    ]


def _risk_changes(conn: Connection, board_key: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Per risk changed in the period, the one change that matters most: NEW, OCCURRED, CLOSED or
    ESCALATED (its score rose)."""
    changes = table_of(RiskChangeRow)
    rows = conn.execute(
        select(changes)
        .where(changes.c.board_key == board_key, changes.c.occurred_at < until)
        .order_by(changes.c.sequence)
    ).all()
    before: dict[str, Any] = {}
    during: dict[str, list[Any]] = {}
    for row in rows:
        if row.occurred_at < since:
            before[row.risk_key] = row
        else:
            during.setdefault(row.risk_key, []).append(row)
    found = []
    for key, rows_during in during.items():
        last, start = rows_during[-1], before.get(key)
        states = {row.state for row in rows_during if row.event_type == "StateChanged"}
        if start is None:
            change = "NEW"
        elif RiskState.OCCURRED in states:
            change = "OCCURRED"
        elif last.state == RiskState.CLOSED and start.state != RiskState.CLOSED:
            change = "CLOSED"
        elif last.score > start.score:
            change = "ESCALATED"
        else:
            continue
        found.append(
            {"risk_key": key, "title": last.title, "score": last.score, "state": last.state, "change": change}
        )
    return sorted(found, key=lambda risk: (-risk["score"], risk["risk_key"]))


def _health(
    engine: Engine,
    board_key: str,
    budget: dict[str, Any] | None,
    goals: list[dict[str, Any]],
    risk_changes: list[dict[str, Any]],
    today: date | None,
) -> tuple[Health, list[str]]:
    """The worst of: each epic's health, the budget's variance, open severe risks, risks that occurred
    in the period, missed sprint goals."""
    epics, risks = table_of(EpicRow), table_of(RiskRow)
    found: list[tuple[Health, str]] = []
    with engine.connect() as conn:
        epic_keys = list(
            conn.execute(
                select(epics.c.key).where(epics.c.board_key == board_key).order_by(epics.c.number)
            ).scalars()
        )
        severe = conn.execute(
            select(risks)
            .where(
                risks.c.board_key == board_key,
                risks.c.score >= SEVERE_SCORE,
                risks.c.state.in_(["OPEN", "MITIGATING"]),
            )
            .order_by(risks.c.score.desc(), risks.c.number)
        ).all()
    for key in epic_keys:
        status = epic_status(engine, key, today)
        if status is not None and status.health != Health.ON_TRACK:
            found.append(
                (status.health, f"{status.key} {status.title} is {status.health.value}: {status.reason}")
            )
    if budget is not None:
        variance, amount = Decimal(budget["variance"]), Decimal(budget["amount"])
        if variance < 0:
            health = Health.OFF_TRACK if -variance > amount * OVERRUN_OFF_TRACK else Health.AT_RISK
            found.append(
                (
                    health,
                    f"forecast at completion {budget['forecast_at_completion']} {budget['currency']} "
                    f"exceeds the budget of {budget['amount']} by {-variance}",
                )
            )
    for risk in severe:
        found.append(
            (Health.AT_RISK, f"risk {risk.key} {risk.title} is {risk.state} with score {risk.score}")
        )
    for change in risk_changes:
        if change["change"] == "OCCURRED":
            found.append((Health.AT_RISK, f"risk {change['risk_key']} {change['title']} occurred"))
    for goal in goals:
        if not goal["met"]:
            found.append((Health.AT_RISK, f"{goal['sprint_name']} missed its goal"))
    if not found:
        return Health.ON_TRACK, ["every milestone is on track, the budget holds, no severe risk is open"]
    worst = max((health for health, _ in found), key=ORDER.index)
    return worst, [reason for _, reason in found]


def status_draft(
    engine: Engine, board_key: str, since: datetime, until: datetime, today: date | None = None
) -> dict[str, Any]:
    with engine.connect() as conn:
        completed = _completed_between(conn, board_key, since, until)
        added, removed = _scope_changes(conn, board_key, since, until)
        goals = _sprint_goals(conn, board_key, since, until)
        slips = _slips(conn, board_key, since, until)
        risks = _risk_changes(conn, board_key, since, until)
    snapshots = [s for s in (story_as_of(engine, key, until) for key in completed) if s is not None]
    budget = budget_figures(engine, board_key, today)
    health, reasons = _health(engine, board_key, budget, goals, risks, today)
    draft = {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "health": health.value,
        "health_reasons": reasons,
        "completed_stories": [asdict(s) for s in snapshots],
        "completed_points": sum(s.points or 0 for s in snapshots),
        "scope_added_points": added,
        "scope_removed_points": removed,
        "sprint_goals": goals,
        "slips": slips,
        "risks": risks,
        "budget": budget,
    }
    return {**draft, "markdown": markdown(board_key, draft)}


def _pts(value: float) -> str:
    return f"{value:g}"


def markdown(board_key: str, draft: dict[str, Any], summary: str | None = None) -> str:
    """The draft for e-mail or chat."""
    lines = [f"# {board_key} status: {draft['health'].replace('_', ' ').lower()}", ""]
    if summary:
        lines += [summary, ""]
    lines += [f"_{draft['since'][:10]} to {draft['until'][:10]}_", "", "## Health"]
    lines += [f"- {reason}" for reason in draft["health_reasons"]]
    lines += ["", f"## Delivered: {_pts(draft['completed_points'])} points"]
    lines += [
        f"- {s['key']} {s['title']} ({_pts(s['points'] or 0)} points)" for s in draft["completed_stories"]
    ]
    lines.append(
        f"- scope: +{_pts(draft['scope_added_points'])} / -{_pts(draft['scope_removed_points'])} points"
    )
    if draft["sprint_goals"]:
        lines += ["", "## Sprint goals"]
        lines += [
            f"- {g['sprint_name']}: {'met' if g['met'] else 'missed'}"
            + (f" ({g['goal']})" if g["goal"] else "")
            for g in draft["sprint_goals"]
        ]
    if draft["slips"]:
        lines += ["", "## Milestones slipped"]
        lines += [
            f"- {s['epic_key']} {s['epic_title']}: {s['slip']['from']} to {s['slip']['to'] or 'no date'}"
            f" ({s['slip']['reason']})"
            for s in draft["slips"]
        ]
    if draft["risks"]:
        lines += ["", "## Risks"]
        lines += [
            f"- {r['change']}: {r['risk_key']} {r['title']} (score {r['score']}, {r['state']})"
            for r in draft["risks"]
        ]
    budget = draft["budget"]
    if budget:
        currency = budget["currency"]
        lines += [
            "",
            "## Budget",
            f"- plan {budget['amount']} {currency}, spent {budget['spent_to_date']} {currency}",
            f"- forecast at completion {budget['forecast_at_completion']} {currency},"
            f" variance {budget['variance']} {currency}",
        ]
    return "\n".join(lines) + "\n"
