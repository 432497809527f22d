"""Every mutation refuses each kind of bad request with a UserError, and records nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.graphql.conftest import Server, create_board, create_story, mutate, new_board_key

SELECTION = {
    "createBoard": "board { key }",
    "configureColumns": "board { key }",
    "grantRole": "board { key }",
    "revokeRole": "board { key }",
    "createEpic": "epic { key }",
    "createSprint": "sprint { id }",
    "updateSprint": "sprint { id }",
    "addStoryToSprint": "sprint { id }",
    "addStoriesToSprint": "sprint { id }",
    "createStories": "sprint { id }",
    "archiveBoard": "board { key }",
    "removeStoryFromSprint": "sprint { id }",
    "startSprint": "sprint { id }",
    "completeSprint": "sprint { id }",
    "setEpicTargetDate": "epic { key }",
    "setEpicHealth": "epic { key }",
    "setBudget": "board { key }",
    "createRisk": "risk { key }",
    "updateRisk": "risk { key }",
    "setRiskState": "risk { key }",
    "linkRisk": "risk { key }",
    "publishStatusUpdate": "statusUpdate { id }",
    "configureCalendar": "board { key }",
    "createWebhook": "webhook { id }",
    "deleteWebhook": "webhook { id }",
    "activateWebhook": "webhook { id }",
}
MISSING_WEBHOOK = "webhook-7d4b0a2e-0000-4000-8000-000000000000"
PUBLIC_URL = "http://93.184.216.34/hook"  # accepted without STORYLINE_WEBHOOK_ALLOW_PRIVATE
MISSING_SPRINT = "7d4b0a2e-0000-4000-8000-000000000000"


@dataclass
class World:
    """One board in every state the error cases need. The cases change nothing, so they share it."""

    board: str
    other_board: str
    doing: str  # in DOING, which has a WIP limit of 1
    todo: str  # in the active sprint
    archived: str
    blocked: str
    other_story: str  # on the other board
    epic: str
    other_epic: str
    closed_sprint: str
    active_sprint: str
    planned_sprint: str


def create_sprint(server: Server, board: str, name: str) -> str:
    input = {"boardKey": board, "name": name, "startDate": "2026-01-05", "endDate": "2026-01-16"}
    payload = mutate(server, "createSprint", input, "sprint { id }")
    return str(payload["sprint"]["id"])


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    columns = [
        {"key": "TODO", "name": "To Do", "category": "TODO"},
        {"key": "DOING", "name": "Doing", "category": "IN_PROGRESS", "wipLimit": 1},
        {"key": "DONE", "name": "Done", "category": "DONE"},
    ]
    board = create_board(server, columns=columns)
    for user, role in (("bob", "MEMBER"), ("vic", "VIEWER")):
        mutate(server, "grantRole", {"boardKey": board, "user": user, "role": role}, "board { key }")
    other_board = create_board(server)
    other_epic = mutate(server, "createEpic", {"boardKey": other_board, "title": "Elsewhere"}, "epic { key }")
    epic = mutate(server, "createEpic", {"boardKey": board, "title": "Checkout"}, "epic { key }")
    doing, todo, archived, blocked = (create_story(server, board, title) for title in "ABCD")
    mutate(server, "moveStory", {"storyKey": doing, "toColumn": "DOING"}, "story { key }")
    mutate(server, "archiveStory", {"storyKey": archived}, "story { key }")
    mutate(server, "blockStory", {"storyKey": blocked, "reason": "waiting"}, "story { key }")
    closed = create_sprint(server, board, "Closed")
    mutate(server, "startSprint", {"sprintId": closed}, "sprint { id }")
    mutate(server, "completeSprint", {"sprintId": closed}, "sprint { id }")
    active = create_sprint(server, board, "Active")
    mutate(server, "addStoryToSprint", {"sprintId": active, "storyKey": todo}, "sprint { id }")
    mutate(server, "startSprint", {"sprintId": active}, "sprint { id }")
    return World(
        board=board,
        other_board=other_board,
        doing=doing,
        todo=todo,
        archived=archived,
        blocked=blocked,
        other_story=create_story(server, other_board),
        epic=epic["epic"]["key"],
        other_epic=other_epic["epic"]["key"],
        closed_sprint=closed,
        active_sprint=active,
        planned_sprint=create_sprint(server, board, "Planned"),
    )


Input = Callable[[World], dict[str, Any]]


@dataclass
class Case:
    mutation: str
    input: Input
    code: str
    field: str | None = None
    user: str = "alice"


def story(key: Callable[[World], str], **more: Any) -> Input:
    return lambda w: {"storyKey": key(w), **more}


def sprint(key: Callable[[World], str], **more: Any) -> Input:
    return lambda w: {"sprintId": key(w), **more}


def columns_without_done(w: World) -> dict[str, Any]:
    return {
        "boardKey": w.board,
        "columns": [
            {"key": "TODO", "name": "To Do", "category": "TODO"},
            {"key": "DOING", "name": "Doing", "category": "IN_PROGRESS"},
        ],
    }


def columns_dropping_doing(w: World) -> dict[str, Any]:
    return {
        "boardKey": w.board,
        "columns": [
            {"key": "TODO", "name": "To Do", "category": "TODO"},
            {"key": "DONE", "name": "Done", "category": "DONE"},
        ],
    }


def columns_with_zero_limit(w: World) -> dict[str, Any]:
    input = columns_dropping_doing(w)
    input["columns"].insert(1, {"key": "DOING", "name": "Doing", "category": "IN_PROGRESS", "wipLimit": 0})
    return input


def stale(input: Input) -> Input:
    return lambda w: {**input(w), "expectedVersion": 0}  # versions start at 1


def board(**more: Any) -> Input:
    return lambda w: {"boardKey": w.board, **more}


DOING, TODO, ARCHIVED, BLOCKED = (
    (lambda w: w.doing),
    (lambda w: w.todo),
    (lambda w: w.archived),
    (lambda w: w.blocked),
)
ACTIVE, PLANNED, CLOSED = (
    (lambda w: w.active_sprint),
    (lambda w: w.planned_sprint),
    (lambda w: w.closed_sprint),
)
NO_STORY = story(lambda w: f"{w.board}-999")
NO_SPRINT = sprint(lambda w: MISSING_SPRINT)
DATES = {"startDate": "2026-02-02", "endDate": "2026-02-13"}

CASES: dict[str, Case] = {
    # boards
    "createBoard lower-case key": Case(
        "createBoard", lambda w: {"key": "pay", "name": "P"}, "VALIDATION", "key"
    ),
    "createBoard taken key": Case(
        "createBoard", lambda w: {"key": w.board, "name": "P"}, "VALIDATION", "key"
    ),
    "createBoard future occurredAt": Case(
        "createBoard",
        lambda w: {"key": new_board_key(), "name": "P", "occurredAt": "2999-01-01T00:00:00Z"},
        "VALIDATION",
        "occurredAt",
    ),
    "createBoard occurredAt without offset": Case(
        "createBoard",
        lambda w: {"key": new_board_key(), "name": "P", "occurredAt": "2020-01-01T00:00:00"},
        "VALIDATION",
        "occurredAt",
    ),
    "createBoard empty name": Case(
        "createBoard", lambda w: {"key": new_board_key(), "name": " "}, "VALIDATION", "name"
    ),
    "configureColumns unknown board": Case(
        "configureColumns",
        lambda w: {**columns_without_done(w), "boardKey": "NOSUCH"},
        "NOT_FOUND",
        "boardKey",
    ),
    "configureColumns stale version": Case(
        "configureColumns", stale(columns_dropping_doing), "CONFLICT", "expectedVersion"
    ),
    "configureColumns no DONE": Case("configureColumns", columns_without_done, "VALIDATION", "columns"),
    "configureColumns drops occupied": Case(
        "configureColumns", columns_dropping_doing, "VALIDATION", "columns"
    ),
    "configureColumns zero WIP limit": Case(
        "configureColumns", columns_with_zero_limit, "VALIDATION", "columns.1.wipLimit"
    ),
    "configureColumns by a member": Case("configureColumns", columns_dropping_doing, "FORBIDDEN", user="bob"),
    "configureColumns by a stranger": Case(
        "configureColumns", columns_dropping_doing, "NOT_FOUND", user="eve"
    ),
    "grantRole unknown board": Case(
        "grantRole", lambda w: {"boardKey": "NOSUCH", "user": "x", "role": "MEMBER"}, "NOT_FOUND"
    ),
    "grantRole by a member": Case("grantRole", board(user="x", role="MEMBER"), "FORBIDDEN", user="bob"),
    "grantRole blank user": Case("grantRole", board(user=" ", role="MEMBER"), "VALIDATION", "user"),
    "revokeRole without role": Case("revokeRole", board(user="nobody"), "VALIDATION", "user"),
    "revokeRole last admin": Case("revokeRole", board(user="alice"), "VALIDATION", "user"),
    "revokeRole by a member": Case("revokeRole", board(user="vic"), "FORBIDDEN", user="bob"),
    "revokeRole unknown board": Case(
        "revokeRole", lambda w: {"boardKey": "NOSUCH", "user": "vic"}, "NOT_FOUND"
    ),
    # stories
    "createStory unknown board": Case(
        "createStory", lambda w: {"boardKey": "NOSUCH", "title": "T"}, "NOT_FOUND", "boardKey"
    ),
    "createStory blank title": Case("createStory", board(title="  "), "VALIDATION", "title"),
    "createStory negative points": Case("createStory", board(title="T", points=-1), "VALIDATION", "points"),
    "createStory by a viewer": Case("createStory", board(title="T"), "FORBIDDEN", user="vic"),
    "createStory unknown epic": Case(
        "createStory", board(title="T", epicKey="XX-E9"), "NOT_FOUND", "epicKey"
    ),
    "createStory epic of another board": Case(
        "createStory",
        lambda w: {"boardKey": w.board, "title": "T", "epicKey": w.other_epic},
        "NOT_FOUND",
        "epicKey",
    ),
    "updateStory unknown story": Case("updateStory", NO_STORY, "NOT_FOUND", "storyKey"),
    "updateStory stale version": Case(
        "updateStory", stale(story(TODO, title="New")), "CONFLICT", "expectedVersion"
    ),
    "updateStory long title": Case("updateStory", story(TODO, title="x" * 201), "VALIDATION", "title"),
    "updateStory archived": Case(
        "updateStory", story(ARCHIVED, title="New"), "INVALID_TRANSITION", "storyKey"
    ),
    "updateStory by a viewer": Case("updateStory", story(TODO, title="New"), "FORBIDDEN", user="vic"),
    "estimateStory too many points": Case("estimateStory", story(TODO, points=1001), "VALIDATION", "points"),
    "estimateStory stale version": Case("estimateStory", stale(story(TODO, points=3)), "CONFLICT"),
    "estimateStory unknown story": Case("estimateStory", NO_STORY, "NOT_FOUND", "storyKey"),
    "estimateStory archived": Case("estimateStory", story(ARCHIVED, points=3), "INVALID_TRANSITION"),
    "assignStory long name": Case("assignStory", story(TODO, assignee="x" * 101), "VALIDATION", "assignee"),
    "assignStory stale version": Case("assignStory", stale(story(TODO, assignee="bob")), "CONFLICT"),
    "assignStory unknown story": Case("assignStory", NO_STORY, "NOT_FOUND"),
    "assignStory archived": Case("assignStory", story(ARCHIVED, assignee="bob"), "INVALID_TRANSITION"),
    "moveStory into a full column": Case("moveStory", story(TODO, toColumn="DOING"), "WIP_LIMIT", "toColumn"),
    "moveStory unknown column": Case("moveStory", story(TODO, toColumn="NOPE"), "VALIDATION", "toColumn"),
    "moveStory unknown story": Case("moveStory", story(lambda w: "ZZ-1", toColumn="DONE"), "NOT_FOUND"),
    "moveStory stale version": Case("moveStory", stale(story(TODO, toColumn="DONE")), "CONFLICT"),
    "moveStory archived": Case("moveStory", story(ARCHIVED, toColumn="DONE"), "INVALID_TRANSITION"),
    "moveStory by a viewer": Case("moveStory", story(TODO, toColumn="DONE"), "FORBIDDEN", user="vic"),
    "rankStory without neighbour": Case("rankStory", story(TODO), "VALIDATION", "before"),
    "rankStory against itself": Case(
        "rankStory", lambda w: {"storyKey": w.todo, "before": w.todo}, "VALIDATION"
    ),
    "rankStory unknown neighbour": Case(
        "rankStory", lambda w: {"storyKey": w.todo, "before": f"{w.board}-999"}, "NOT_FOUND", "before"
    ),
    "rankStory neighbour on another board": Case(
        "rankStory", lambda w: {"storyKey": w.todo, "after": w.other_story}, "NOT_FOUND", "after"
    ),
    "rankStory stale version": Case(
        "rankStory", stale(lambda w: {"storyKey": w.todo, "before": w.doing}), "CONFLICT"
    ),
    "blockStory already blocked": Case("blockStory", story(BLOCKED, reason="again"), "INVALID_TRANSITION"),
    "blockStory blank reason": Case("blockStory", story(TODO, reason=" "), "VALIDATION", "reason"),
    "blockStory unknown story": Case("blockStory", story(lambda w: "ZZ-1", reason="r"), "NOT_FOUND"),
    "blockStory stale version": Case("blockStory", stale(story(TODO, reason="r")), "CONFLICT"),
    "unblockStory not blocked": Case("unblockStory", story(TODO), "INVALID_TRANSITION", "storyKey"),
    "unblockStory unknown story": Case("unblockStory", NO_STORY, "NOT_FOUND"),
    "unblockStory stale version": Case("unblockStory", stale(story(BLOCKED)), "CONFLICT"),
    "archiveStory archived": Case("archiveStory", story(ARCHIVED), "INVALID_TRANSITION"),
    "archiveStory unknown story": Case("archiveStory", NO_STORY, "NOT_FOUND"),
    "archiveStory stale version": Case("archiveStory", stale(story(TODO)), "CONFLICT"),
    # epics
    "createEpic unknown board": Case(
        "createEpic", lambda w: {"boardKey": "NOSUCH", "title": "E"}, "NOT_FOUND"
    ),
    "createEpic by a member": Case("createEpic", board(title="E"), "FORBIDDEN", user="bob"),
    "createEpic blank title": Case("createEpic", board(title=" "), "VALIDATION", "title"),
    "setStoryEpic unknown epic": Case("setStoryEpic", story(TODO, epicKey="XX-E1"), "NOT_FOUND", "epicKey"),
    "setStoryEpic epic of another board": Case(
        "setStoryEpic", lambda w: {"storyKey": w.todo, "epicKey": w.other_epic}, "NOT_FOUND", "epicKey"
    ),
    "setStoryEpic stale version": Case(
        "setStoryEpic", stale(lambda w: {"storyKey": w.todo, "epicKey": w.epic}), "CONFLICT"
    ),
    "setStoryEpic unknown story": Case("setStoryEpic", NO_STORY, "NOT_FOUND", "storyKey"),
    # sprints
    "createSprint ends before it starts": Case(
        "createSprint", board(name="S", startDate="2026-02-10", endDate="2026-02-01"), "VALIDATION", "endDate"
    ),
    "createSprint unknown board": Case(
        "createSprint", lambda w: {"boardKey": "NOSUCH", "name": "S", **DATES}, "NOT_FOUND", "boardKey"
    ),
    "createSprint by a member": Case("createSprint", board(name="S", **DATES), "FORBIDDEN", user="bob"),
    "createSprint blank name": Case("createSprint", board(name=" ", **DATES), "VALIDATION", "name"),
    "updateSprint dates while active": Case(
        "updateSprint", sprint(ACTIVE, startDate="2026-03-01"), "INVALID_TRANSITION", "startDate"
    ),
    "updateSprint closed": Case("updateSprint", sprint(CLOSED, name="Renamed"), "INVALID_TRANSITION"),
    "updateSprint stale version": Case(
        "updateSprint", stale(sprint(PLANNED, name="Renamed")), "CONFLICT", "expectedVersion"
    ),
    "updateSprint unknown sprint": Case("updateSprint", NO_SPRINT, "NOT_FOUND", "sprintId"),
    "updateSprint malformed id": Case(
        "updateSprint", sprint(lambda w: "nope", name="X"), "NOT_FOUND", "sprintId"
    ),
    "updateSprint ends before it starts": Case(
        "updateSprint", sprint(PLANNED, endDate="2025-01-01"), "VALIDATION", "endDate"
    ),
    "createStory into a closed sprint": Case(
        "createStory",
        lambda w: {"boardKey": w.board, "title": "T", "sprintId": w.closed_sprint},
        "INVALID_TRANSITION",
        "sprintId",
    ),
    "createStory into another board's sprint": Case(
        "createStory",
        lambda w: {"boardKey": w.other_board, "title": "T", "sprintId": w.planned_sprint},
        "NOT_FOUND",
        "sprintId",
    ),
    "createStories blank title": Case(
        "createStories",
        lambda w: {"boardKey": w.board, "stories": [{"title": "Fine"}, {"title": " "}]},
        "VALIDATION",
        "stories.1.title",
    ),
    "createStories no stories": Case(
        "createStories", lambda w: {"boardKey": w.board, "stories": []}, "VALIDATION", "stories"
    ),
    "createStories unknown epic": Case(
        "createStories",
        lambda w: {"boardKey": w.board, "stories": [{"title": "T", "epicKey": w.other_epic}]},
        "NOT_FOUND",
        "stories.0.epicKey",
    ),
    "createStories into a closed sprint": Case(
        "createStories",
        lambda w: {"boardKey": w.board, "stories": [{"title": "T"}], "sprintId": w.closed_sprint},
        "INVALID_TRANSITION",
        "sprintId",
    ),
    "createStories by a viewer": Case(
        "createStories", lambda w: {"boardKey": w.board, "stories": [{"title": "T"}]}, "FORBIDDEN", user="vic"
    ),
    "addStoriesToSprint archived story": Case(
        "addStoriesToSprint",
        lambda w: {"sprintId": w.planned_sprint, "storyKeys": [w.archived]},
        "INVALID_TRANSITION",
        "storyKeys.0",
    ),
    "addStoriesToSprint given twice": Case(
        "addStoriesToSprint",
        lambda w: {"sprintId": w.planned_sprint, "storyKeys": [w.blocked, w.blocked]},
        "VALIDATION",
        "storyKeys.1",
    ),
    "addStoriesToSprint closed sprint": Case(
        "addStoriesToSprint",
        lambda w: {"sprintId": w.closed_sprint, "storyKeys": [w.blocked]},
        "INVALID_TRANSITION",
        "sprintId",
    ),
    "addStoriesToSprint unknown sprint": Case(
        "addStoriesToSprint", lambda w: {"sprintId": MISSING_SPRINT, "storyKeys": [w.blocked]}, "NOT_FOUND"
    ),
    "archiveBoard by a member": Case(
        "archiveBoard", lambda w: {"boardKey": w.board}, "FORBIDDEN", user="bob"
    ),
    "archiveBoard unknown board": Case(
        "archiveBoard", lambda w: {"boardKey": "NOSUCH"}, "NOT_FOUND", "boardKey"
    ),
    "addStoryToSprint already in it": Case(
        "addStoryToSprint",
        lambda w: {"sprintId": w.active_sprint, "storyKey": w.todo},
        "VALIDATION",
        "storyKey",
    ),
    "addStoryToSprint in another open sprint": Case(
        "addStoryToSprint",
        lambda w: {"sprintId": w.planned_sprint, "storyKey": w.todo},
        "VALIDATION",
        "storyKey",
    ),
    "addStoryToSprint closed sprint": Case(
        "addStoryToSprint", lambda w: {"sprintId": w.closed_sprint, "storyKey": w.doing}, "INVALID_TRANSITION"
    ),
    "addStoryToSprint archived story": Case(
        "addStoryToSprint",
        lambda w: {"sprintId": w.planned_sprint, "storyKey": w.archived},
        "INVALID_TRANSITION",
    ),
    "addStoryToSprint story of another board": Case(
        "addStoryToSprint", lambda w: {"sprintId": w.planned_sprint, "storyKey": w.other_story}, "VALIDATION"
    ),
    "addStoryToSprint unknown story": Case(
        "addStoryToSprint",
        lambda w: {"sprintId": w.planned_sprint, "storyKey": f"{w.board}-999"},
        "NOT_FOUND",
    ),
    "addStoryToSprint unknown sprint": Case(
        "addStoryToSprint",
        lambda w: {"sprintId": MISSING_SPRINT, "storyKey": w.doing},
        "NOT_FOUND",
        "sprintId",
    ),
    "removeStoryFromSprint not in it": Case(
        "removeStoryFromSprint", lambda w: {"sprintId": w.active_sprint, "storyKey": w.doing}, "VALIDATION"
    ),
    "removeStoryFromSprint unknown sprint": Case(
        "removeStoryFromSprint", lambda w: {"sprintId": MISSING_SPRINT, "storyKey": w.todo}, "NOT_FOUND"
    ),
    "startSprint while another is active": Case(
        "startSprint", sprint(PLANNED), "INVALID_TRANSITION", "sprintId"
    ),
    "startSprint already active": Case("startSprint", sprint(ACTIVE), "INVALID_TRANSITION", "sprintId"),
    "startSprint stale version": Case("startSprint", stale(sprint(PLANNED)), "CONFLICT", "expectedVersion"),
    "startSprint unknown sprint": Case("startSprint", NO_SPRINT, "NOT_FOUND"),
    "startSprint by a member": Case("startSprint", sprint(PLANNED), "FORBIDDEN", user="bob"),
    "completeSprint planned": Case("completeSprint", sprint(PLANNED), "INVALID_TRANSITION", "sprintId"),
    "completeSprint carry over to a closed sprint": Case(
        "completeSprint",
        lambda w: {"sprintId": w.active_sprint, "carryOverTo": w.closed_sprint},
        "VALIDATION",
    ),
    "completeSprint carry over to nowhere": Case(
        "completeSprint",
        lambda w: {"sprintId": w.active_sprint, "carryOverTo": MISSING_SPRINT},
        "NOT_FOUND",
        "carryOverTo",
    ),
    "completeSprint stale version": Case("completeSprint", stale(sprint(ACTIVE)), "CONFLICT"),
    "completeSprint unknown sprint": Case("completeSprint", NO_SPRINT, "NOT_FOUND"),
    "completeSprint by a member": Case("completeSprint", sprint(ACTIVE), "FORBIDDEN", user="bob"),
    # Project control.
    "setEpicTargetDate unchanged": Case(
        "setEpicTargetDate",
        lambda w: {"epicKey": w.epic, "targetDate": None, "reason": "x"},
        "VALIDATION",
        "targetDate",
    ),
    "setEpicTargetDate unknown epic": Case(
        "setEpicTargetDate",
        lambda w: {"epicKey": f"{w.board}-E99", "targetDate": "2026-12-01", "reason": "x"},
        "NOT_FOUND",
        "epicKey",
    ),
    "setEpicTargetDate by a member": Case(
        "setEpicTargetDate",
        lambda w: {"epicKey": w.epic, "targetDate": "2026-12-01", "reason": "x"},
        "FORBIDDEN",
        user="bob",
    ),
    "setEpicHealth without a reason": Case(
        "setEpicHealth", lambda w: {"epicKey": w.epic, "health": "AT_RISK"}, "VALIDATION", "reason"
    ),
    "setEpicHealth clearing no override": Case(
        "setEpicHealth", lambda w: {"epicKey": w.epic, "health": None}, "VALIDATION", "health"
    ),
    "setBudget a float": Case(
        "setBudget",
        lambda w: {"boardKey": w.board, "currency": "EUR", "amount": 10.5, "basis": "PER_POINT", "rate": "1"},
        "VALIDATION",
        "amount",
    ),
    "setBudget unknown currency": Case(
        "setBudget",
        lambda w: {"boardKey": w.board, "currency": "QQQ", "amount": "10", "basis": "PER_POINT", "rate": "1"},
        "VALIDATION",
        "currency",
    ),
    "setBudget by a viewer": Case(
        "setBudget",
        lambda w: {"boardKey": w.board, "currency": "EUR", "amount": "10", "basis": "PER_POINT", "rate": "1"},
        "FORBIDDEN",
        user="vic",
    ),
    "createRisk probability out of range": Case(
        "createRisk",
        lambda w: {"boardKey": w.board, "title": "R", "probability": 6, "impact": 1},
        "VALIDATION",
        "probability",
    ),
    "createRisk unknown board": Case(
        "createRisk",
        lambda w: {"boardKey": "NOPE", "title": "R", "probability": 1, "impact": 1},
        "NOT_FOUND",
        "boardKey",
    ),
    "updateRisk unknown risk": Case(
        "updateRisk", lambda w: {"riskKey": f"{w.board}-R99", "impact": 2}, "NOT_FOUND", "riskKey"
    ),
    "setRiskState unknown risk": Case(
        "setRiskState", lambda w: {"riskKey": f"{w.board}-R99", "state": "CLOSED"}, "NOT_FOUND", "riskKey"
    ),
    "linkRisk unknown risk": Case(
        "linkRisk", lambda w: {"riskKey": f"{w.board}-R99", "storyKeys": [w.todo]}, "NOT_FOUND", "riskKey"
    ),
    "publishStatusUpdate blank summary": Case(
        "publishStatusUpdate",
        lambda w: {"boardKey": w.board, "health": "ON_TRACK", "summary": " "},
        "VALIDATION",
        "summary",
    ),
    "publishStatusUpdate by a member": Case(
        "publishStatusUpdate",
        lambda w: {"boardKey": w.board, "health": "ON_TRACK", "summary": "ok"},
        "FORBIDDEN",
        user="bob",
    ),
    "configureCalendar unknown time zone": Case(
        "configureCalendar",
        lambda w: {"boardKey": w.board, "workingDays": ["MONDAY"], "timeZone": "Mars/Olympus_Mons"},
        "VALIDATION",
        "timeZone",
    ),
    "configureCalendar by a member": Case(
        "configureCalendar",
        lambda w: {"boardKey": w.board, "workingDays": ["MONDAY"]},
        "FORBIDDEN",
        user="bob",
    ),
    "createWebhook private address": Case(
        "createWebhook",
        lambda w: {"boardKey": w.board, "url": "http://127.0.0.1:8000/hook"},
        "VALIDATION",
        "url",
    ),
    "createWebhook by a member": Case(
        "createWebhook", lambda w: {"boardKey": w.board, "url": PUBLIC_URL}, "FORBIDDEN", user="bob"
    ),
    "deleteWebhook unknown webhook": Case(
        "deleteWebhook", lambda w: {"webhookId": MISSING_WEBHOOK}, "NOT_FOUND", "webhookId"
    ),
    "activateWebhook unknown webhook": Case(
        "activateWebhook", lambda w: {"webhookId": MISSING_WEBHOOK}, "NOT_FOUND", "webhookId"
    ),
}


def test_every_mutation_has_error_cases() -> None:
    from tests.graphql.conftest import INPUT_TYPES

    assert {case.mutation for case in CASES.values()} == set(INPUT_TYPES)


@pytest.mark.parametrize("name", CASES)
def test_refused_with_a_user_error_and_nothing_recorded(server: Server, world: World, name: str) -> None:
    case = CASES[name]
    input = case.input(world)
    selection = SELECTION.get(case.mutation, "story { key }")
    head = server.head()
    audit = server.post("{ auditLog { totalCount } }")["auditLog"]["totalCount"]

    payload = mutate(server, case.mutation, {**input, "clientMutationId": "c-1"}, selection, case.user)

    [error] = payload["errors"]
    assert error["code"] == case.code, error
    if case.field is not None:
        assert error["field"] == case.field, error
    assert error["message"]
    assert payload[selection.split()[0]] is None
    assert payload["clientMutationId"] == "c-1"
    assert server.head() == head
    assert server.post("{ auditLog { totalCount } }")["auditLog"]["totalCount"] == audit


CREATE_WEBHOOK = """
mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) { webhook { id } secret errors { code message field } }
}"""


def test_a_private_url_is_refused_without_the_setting(server: Server) -> None:
    board = create_board(server)
    for url in (
        "http://127.0.0.1:8000/hook",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "ftp://x.org/",
    ):
        refused = server.post(CREATE_WEBHOOK, {"input": {"boardKey": board, "url": url}})["createWebhook"]
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("VALIDATION", "url")], url
        assert refused["webhook"] is None
    webhooks = server.post("query($b: String!) { board(key: $b) { webhooks { id } } }", {"b": board})
    assert webhooks == {"board": {"webhooks": []}}
