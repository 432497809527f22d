"""The managers' commands. Each runs through the application's one command path, so it records
actor, times and correlation id, honours idempotency keys and refuses stale versions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import Engine

from storyline_domain.base import Stamp, StorylineAggregate
from storyline_domain.board import Budget, CostBasis, Role
from storyline_domain.epic import Epic, Health, epic_id
from storyline_domain.errors import NotFoundError, ValidationError
from storyline_domain.risk import Risk, RiskRegister, RiskState, risk_id, risk_register_id
from storyline_domain.story import Story, story_id
from storyline_service.application import Caller, Storyline, check_version, retry_lost_race
from storyline_service.control.draft import markdown, status_draft
from storyline_service.control.money import minor_unit, parse_money
from storyline_service.control.queries import draft_since

Command = Callable[[Caller], str]


def _epic(app: Storyline, key: str, caller: Caller, expected_version: int | None) -> Epic:
    epic = app._get(Epic, epic_id(key), f"epic {key}", field="epicKey")
    app._board(epic.board_key, caller, Role.MANAGER)
    check_version(epic, expected_version)
    return epic


def _risk(app: Storyline, key: str, caller: Caller, expected_version: int | None) -> Risk:
    risk = app._get(Risk, risk_id(key), f"risk {key}", field="riskKey")
    app._board(risk.board_key, caller, Role.MANAGER)
    check_version(risk, expected_version)
    return risk


def set_epic_target_date(
    app: Storyline,
    caller: Caller,
    epic_key: str,
    target_date: date | None,
    reason: str,
    expected_version: int | None = None,
) -> str:
    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        epic = _epic(app, epic_key, caller, expected_version)
        epic.set_target_date(target_date, reason, stamp)
        return epic.key, [epic]

    args = dict(epic_key=epic_key, target_date=target_date, reason=reason)
    return app._execute("setEpicTargetDate", caller, args, run)


def set_epic_health(
    app: Storyline,
    caller: Caller,
    epic_key: str,
    health: str | None,
    reason: str | None,
    expected_version: int | None = None,
) -> str:
    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        epic = _epic(app, epic_key, caller, expected_version)
        epic.set_health(None if health is None else Health(health), reason, stamp)
        return epic.key, [epic]

    return app._execute("setEpicHealth", caller, dict(epic_key=epic_key, health=health, reason=reason), run)


def set_budget(
    app: Storyline,
    caller: Caller,
    board_key: str,
    currency: str,
    amount: object,
    basis: str,
    rate: object,
    reason: str | None = None,
    expected_version: int | None = None,
) -> str:
    """Amounts arrive as decimal strings (or Decimals): a float or a malformed amount is refused."""
    budget: Budget = {
        "currency": currency,
        "amount": parse_money(amount, "amount"),
        "basis": CostBasis(basis).value,
        "rate": parse_money(rate, "rate"),
    }
    digits = minor_unit(currency)

    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        board = app._board(board_key, caller, Role.MANAGER, expected_version)
        board.set_budget(budget, digits, reason, stamp)
        return board.key, [board]

    args = dict(board_key=board_key, **{k: str(v) for k, v in budget.items()}, reason=reason)
    return app._execute("setBudget", caller, args, run)


@retry_lost_race
def create_risk(app: Storyline, caller: Caller, board_key: str, fields: dict[str, Any]) -> str:
    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        app._board(board_key, caller, Role.MANAGER)
        try:
            register = app._get(RiskRegister, risk_register_id(board_key), board_key)
        except NotFoundError:
            register = RiskRegister.create(board_key, stamp)
        risk = Risk.create(board_key, register.issue_key(stamp), fields, stamp)
        return risk.key, [register, risk]

    return app._execute("createRisk", caller, dict(board_key=board_key, **fields), run)


def update_risk(
    app: Storyline, caller: Caller, risk_key: str, fields: dict[str, Any], expected_version: int | None = None
) -> str:
    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        risk = _risk(app, risk_key, caller, expected_version)
        risk.update(fields, stamp)
        return risk.key, [risk]

    return app._execute("updateRisk", caller, dict(risk_key=risk_key, **fields), run)


def set_risk_state(
    app: Storyline,
    caller: Caller,
    risk_key: str,
    state: str,
    note: str | None = None,
    expected_version: int | None = None,
) -> str:
    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        risk = _risk(app, risk_key, caller, expected_version)
        risk.set_state(RiskState(state), note, stamp)
        return risk.key, [risk]

    return app._execute("setRiskState", caller, dict(risk_key=risk_key, state=state, note=note), run)


def link_risk(
    app: Storyline,
    caller: Caller,
    risk_key: str,
    story_keys: list[str] | None,
    epic_keys: list[str] | None,
    expected_version: int | None = None,
) -> str:
    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        risk = _risk(app, risk_key, caller, expected_version)
        for index, key in enumerate(story_keys or []):
            story = app._get(Story, story_id(key), f"story {key}", field=f"storyKeys.{index}")
            if story.board_key != risk.board_key:
                raise ValidationError(f"{key} is on another board", field=f"storyKeys.{index}")
        for key in epic_keys or []:
            app._epic_of_board(key, risk.board_key)
        risk.link(story_keys, epic_keys, stamp)
        return risk.key, [risk]

    args = dict(risk_key=risk_key, story_keys=story_keys, epic_keys=epic_keys)
    return app._execute("linkRisk", caller, args, run)


def publish_status_update(
    app: Storyline,
    engine: Engine,
    caller: Caller,
    board_key: str,
    health: str,
    summary: str,
    since: datetime | None = None,
) -> str:
    """Records the draft as it stands now, with the manager's health and summary: frozen for good."""

    if since is not None and since.tzinfo is None:
        raise ValidationError("since needs a time-zone offset", field="since")

    def run(stamp: Stamp) -> tuple[str, list[StorylineAggregate]]:
        board = app._board(board_key, caller, Role.MANAGER)
        start = since or board.last_update_until or draft_since(engine, board_key)
        until = stamp.occurred_at
        if start > until:
            raise ValidationError("since is after now", field="since")
        figures = status_draft(engine, board_key, start, until, until.date())
        figures["markdown"] = markdown(board_key, {**figures, "health": Health(health).value}, summary)
        update_id = uuid4()
        board.publish_status_update(
            update_id, Health(health).value, summary, start, until, figures, figures["markdown"], stamp
        )
        return str(update_id), [board]

    args = dict(board_key=board_key, health=health, summary=summary, since=since)
    return app._execute("publishStatusUpdate", caller, args, run)
