"""Every mutation and root query, for each role on a board: allowed, FORBIDDEN, or as if there were no board.

The principals: no role anywhere, each role on the board, the ADMIN of another
board, and the bootstrap admin (a superuser). A refused mutation records nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from storyline_service.webhooks.management import store_of
from tests.graphql.conftest import (
    INPUT_TYPES,
    Server,
    create_board,
    create_story,
    mutate,
    new_board_key,
)

ROLES = ["VIEWER", "MEMBER", "MANAGER", "ADMIN"]
# Principal -> its role on the board under test ("outsider" is ADMIN of another board only).
PRINCIPALS: dict[str, str | None] = {
    "nobody": None,
    "outsider": None,
    "vera": "VIEWER",
    "mia": "MEMBER",
    "max": "MANAGER",
    "ada": "ADMIN",
    "admin": "SUPERUSER",
}
SPRINT_DATES = {"startDate": "2026-01-05", "endDate": "2026-01-16"}
RENAMED_COLUMNS = [
    {"key": "TODO", "name": "Ready", "category": "TODO"},
    {"key": "IN_PROGRESS", "name": "Doing", "category": "IN_PROGRESS"},
    {"key": "DONE", "name": "Shipped", "category": "DONE"},
]


@dataclass
class Board:
    """A fresh board of alice's; the objects on it are made as a case needs them."""

    server: Server
    key: str = ""

    def __post_init__(self) -> None:
        self.key = create_board(self.server)

    def run(self, mutation: str, input: dict[str, Any], selection: str) -> Any:
        payload = mutate(self.server, mutation, input, selection)
        assert payload["errors"] == [], payload
        return payload

    def story(self) -> str:
        return create_story(self.server, self.key)

    def blocked_story(self) -> str:
        story = self.story()
        self.run("blockStory", {"storyKey": story, "reason": "waiting"}, "story { key }")
        return story

    def epic(self) -> str:
        return str(
            self.run("createEpic", {"boardKey": self.key, "title": "E"}, "epic { key }")["epic"]["key"]
        )

    def sprint(self, *, story: str | None = None, active: bool = False) -> str:
        input = {"boardKey": self.key, "name": "S", **SPRINT_DATES}
        sprint = str(self.run("createSprint", input, "sprint { id }")["sprint"]["id"])
        if story:
            self.run("addStoryToSprint", {"sprintId": sprint, "storyKey": story}, "sprint { id }")
        if active:
            self.run("startSprint", {"sprintId": sprint}, "sprint { id }")
        return sprint

    def risk(self) -> str:
        input = {"boardKey": self.key, "title": "Vendor late", "probability": 2, "impact": 3}
        return str(self.run("createRisk", input, "risk { key }")["risk"]["key"])

    def sprint_with_story(self) -> dict[str, str]:
        story = self.story()
        return {"sprintId": self.sprint(story=story), "storyKey": story}

    def grant(self, user: str, role: str) -> str:
        self.run("grantRole", {"boardKey": self.key, "user": user, "role": role}, "board { key }")
        return user


@dataclass(frozen=True)
class Case:
    mutation: str
    needs: str | None  # the least role that may run it; None: anyone signed in
    input: Callable[[Board], dict[str, Any]]
    name: str = ""

    @property
    def id(self) -> str:
        return self.name or self.mutation


def _story_case(mutation: str, **fields: Any) -> Case:
    return Case(mutation, "MEMBER", lambda b: {"storyKey": b.story(), **fields})


CASES = {
    case.id: case
    for case in [
        Case("createBoard", None, lambda b: {"key": new_board_key(), "name": "Mine"}),
        Case("configureColumns", "MANAGER", lambda b: {"boardKey": b.key, "columns": RENAMED_COLUMNS}),
        Case(
            "configureCalendar",
            "MANAGER",
            lambda b: {"boardKey": b.key, "workingDays": ["MONDAY", "TUESDAY"], "timeZone": "Europe/Berlin"},
        ),
        Case("grantRole", "ADMIN", lambda b: {"boardKey": b.key, "user": "zed", "role": "MEMBER"}),
        Case("revokeRole", "ADMIN", lambda b: {"boardKey": b.key, "user": b.grant("zed", "VIEWER")}),
        Case("createStory", "MEMBER", lambda b: {"boardKey": b.key, "title": "New"}),
        # occurredAt backfill is the IMPORT permission: ADMIN only.
        Case(
            "createStory",
            "ADMIN",
            lambda b: {"boardKey": b.key, "title": "Imported", "occurredAt": datetime.now(UTC).isoformat()},
            name="createStory with occurredAt",
        ),
        _story_case("updateStory", title="Renamed"),
        _story_case("estimateStory", points=3),
        _story_case("assignStory", assignee="alice"),
        _story_case("moveStory", toColumn="DONE"),
        # The second story moves above the first.
        Case("rankStory", "MEMBER", lambda b: {"before": b.story(), "storyKey": b.story()}),
        _story_case("blockStory", reason="waiting"),
        Case("unblockStory", "MEMBER", lambda b: {"storyKey": b.blocked_story()}),
        _story_case("archiveStory"),
        Case("setStoryEpic", "MEMBER", lambda b: {"storyKey": b.story(), "epicKey": b.epic()}),
        Case("createEpic", "MANAGER", lambda b: {"boardKey": b.key, "title": "Epic"}),
        Case("createSprint", "MANAGER", lambda b: {"boardKey": b.key, "name": "Next", **SPRINT_DATES}),
        Case("updateSprint", "MANAGER", lambda b: {"sprintId": b.sprint(), "name": "Renamed"}),
        Case("addStoryToSprint", "MEMBER", lambda b: {"sprintId": b.sprint(), "storyKey": b.story()}),
        Case("removeStoryFromSprint", "MEMBER", lambda b: b.sprint_with_story()),
        Case(
            "createStories",
            "MEMBER",
            lambda b: {
                "boardKey": b.key,
                "stories": [{"title": "A"}, {"title": "B"}],
                "sprintId": b.sprint(),
            },
        ),
        Case("addStoriesToSprint", "MEMBER", lambda b: {"sprintId": b.sprint(), "storyKeys": [b.story()]}),
        Case("archiveBoard", "ADMIN", lambda b: {"boardKey": b.key}),
        Case("startSprint", "MANAGER", lambda b: {"sprintId": b.sprint()}),
        Case("completeSprint", "MANAGER", lambda b: {"sprintId": b.sprint(active=True)}),
        # Project control: MANAGER and above.
        Case(
            "setEpicTargetDate",
            "MANAGER",
            lambda b: {"epicKey": b.epic(), "targetDate": "2026-12-01", "reason": "planned"},
        ),
        Case(
            "setEpicHealth", "MANAGER", lambda b: {"epicKey": b.epic(), "health": "AT_RISK", "reason": "PSP"}
        ),
        Case(
            "setBudget",
            "MANAGER",
            lambda b: {
                "boardKey": b.key,
                "currency": "EUR",
                "amount": "1000.00",
                "basis": "PER_POINT",
                "rate": "10.00",
            },
        ),
        Case(
            "createRisk",
            "MANAGER",
            lambda b: {"boardKey": b.key, "title": "R", "probability": 2, "impact": 3},
        ),
        Case("updateRisk", "MANAGER", lambda b: {"riskKey": b.risk(), "impact": 4}),
        Case("setRiskState", "MANAGER", lambda b: {"riskKey": b.risk(), "state": "MITIGATING"}),
        Case("linkRisk", "MANAGER", lambda b: {"riskKey": b.risk(), "storyKeys": [b.story()]}),
        Case(
            "publishStatusUpdate",
            "MANAGER",
            lambda b: {"boardKey": b.key, "health": "ON_TRACK", "summary": "ok"},
        ),
    ]
}


def payload_field(mutation: str) -> str:
    if mutation in (
        "createBoard",
        "configureColumns",
        "configureCalendar",
        "grantRole",
        "revokeRole",
        "setBudget",
        "archiveBoard",
    ):
        return "board"
    if mutation == "createStories":
        return "sprint"
    if mutation in ("createEpic", "setEpicTargetDate", "setEpicHealth"):
        return "epic"
    if "Risk" in mutation:
        return "risk"
    if mutation == "publishStatusUpdate":
        return "statusUpdate"
    return "sprint" if "Sprint" in INPUT_TYPES[mutation] else "story"


def test_every_mutation_is_covered() -> None:
    """By the matrix below, or (webhooks) by test_webhook_matrix."""
    assert {case.mutation for case in CASES.values()} | set(WEBHOOK_MUTATIONS) == set(INPUT_TYPES)


def expected(principal: str, needs: str | None) -> str | None:
    """None when allowed, else the error code."""
    role = PRINCIPALS[principal]
    if needs is None or role == "SUPERUSER":
        return None
    if role is None:
        return "NOT_FOUND"  # as if the board did not exist
    return None if ROLES.index(role) >= ROLES.index(needs) else "FORBIDDEN"


@pytest.fixture(scope="module")
def outsider(server: Server) -> str:
    """``outsider`` is ADMIN of a board of its own."""
    return create_board(server, user="outsider")


def actions_of(server: Server, user: str) -> int:
    query = "query($user: String!) { auditLog(filter: {actor: $user}) { totalCount } }"
    return int(server.post(query, {"user": user}, user="admin")["auditLog"]["totalCount"])


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("name", CASES)
def test_mutation_matrix(server: Server, outsider: str, name: str, principal: str) -> None:
    case = CASES[name]
    board = Board(server)
    role = PRINCIPALS[principal]
    if role in ROLES:
        board.grant(principal, role)
    input = case.input(board)
    head, actions = server.head(), actions_of(server, principal)

    field = payload_field(case.mutation)
    payload = mutate(server, case.mutation, input, f"{field} {{ __typename }}", user=principal)

    refusal = expected(principal, case.needs)
    if refusal is None:
        assert payload["errors"] == [], payload
        assert payload[field] == {"__typename": field[0].upper() + field[1:]}
        # The actor is the authenticated user.
        assert actions_of(server, principal) > actions
    else:
        assert [error["code"] for error in payload["errors"]] == [refusal], payload
        assert payload[field] is None
        assert server.head() == head, "a refused mutation recorded something"
        assert actions_of(server, principal) == actions


# ----- root queries -----


@pytest.fixture(scope="module")
def readable(server: Server) -> dict[str, Any]:
    """A board with one of everything, and the ids of all of it."""
    board = Board(server)
    story = board.story()
    board.epic()
    sprint = board.sprint(story=story)
    for principal, role in PRINCIPALS.items():
        if role in ROLES:
            board.grant(principal, role)
    ids = server.post(
        """query($board: String!, $story: String!) {
          board(key: $board) { id history(first: 1) { edges { node { id } } } epics { id key } }
          story(key: $story) { id }
        }""",
        {"board": board.key, "story": story},
    )
    node_ids = [
        ids["board"]["id"],
        ids["story"]["id"],
        sprint,
        ids["board"]["epics"][0]["id"],
        ids["board"]["history"]["edges"][0]["node"]["id"],
    ]
    return {"board": board.key, "story": story, "sprint": sprint, "ids": node_ids}


NODE_VARIABLES = ", ".join(f"$n{i}: ID!" for i in range(5))
NODES = " ".join(f"n{i}: node(id: $n{i}) {{ id }}" for i in range(5))
ROOT_QUERIES = f"""query($board: String!, $story: String!, $sprint: ID!, {NODE_VARIABLES}) {{
  board(key: $board) {{ key stories {{ totalCount }} history {{ totalCount }} }}
  story(key: $story) {{ key board {{ key }} }}
  sprint(id: $sprint) {{ id stories {{ totalCount }} }}
  auditLog(filter: {{boardKey: $board}}) {{ totalCount }}
  everything: auditLog(first: 500) {{ edges {{ node {{ boardKey }} }} }}
  boards(first: 500, includeArchived: true) {{ edges {{ node {{ key }} }} }}
  viewer {{ name roles {{ boardKey role }} }}
  {NODES}
}}"""


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_root_query_matrix(server: Server, outsider: str, readable: dict[str, Any], principal: str) -> None:
    key = readable["board"]
    variables = {name: readable[name] for name in ("board", "story", "sprint")}
    variables |= {f"n{i}": node_id for i, node_id in enumerate(readable["ids"])}
    data = server.post(ROOT_QUERIES, variables, user=principal)

    role = PRINCIPALS[principal]
    audit_boards = {edge["node"]["boardKey"] for edge in data["everything"]["edges"]}
    board_keys = {edge["node"]["key"] for edge in data["boards"]["edges"]}
    nodes = [data[f"n{i}"] for i in range(5)]
    assert data["viewer"]["name"] == principal
    if role is None:  # as if the board did not exist
        assert data["board"] is None and data["story"] is None and data["sprint"] is None
        assert data["auditLog"]["totalCount"] == 0
        assert key not in audit_boards and key not in board_keys
        assert nodes == [None] * 5
        assert key not in {r["boardKey"] for r in data["viewer"]["roles"]}
    else:
        assert data["board"]["key"] == key and data["board"]["stories"]["totalCount"] == 1
        assert data["story"] == {"key": readable["story"], "board": {"key": key}}
        assert data["sprint"] == {"id": readable["sprint"], "stories": {"totalCount": 1}}
        assert data["auditLog"]["totalCount"] == data["board"]["history"]["totalCount"] > 0
        assert key in board_keys
        assert [node["id"] for node in nodes] == readable["ids"]
        expected_role = "ADMIN" if role == "SUPERUSER" else role
        assert {"boardKey": key, "role": expected_role} in data["viewer"]["roles"]
    if role != "SUPERUSER":
        # Nobody but the superuser sees boards without a role on them.
        visible = {r["boardKey"] for r in data["viewer"]["roles"]}
        assert board_keys == visible and audit_boards <= visible


# ----- webhooks: the board's ADMINs only -----

# A public address, so that the server accepts it without STORYLINE_WEBHOOK_ALLOW_PRIVATE; no sprint is
# completed on these boards, so nothing is ever sent to it.
WEBHOOK = {"url": "http://93.184.216.34/storyline", "eventTypes": ["SprintCompleted"]}
WEBHOOK_MUTATIONS = {
    "createWebhook": "CreateWebhookInput",
    "deleteWebhook": "WebhookRefInput",
    "activateWebhook": "WebhookRefInput",
}


def webhooks_of(server: Server, board: str) -> Any:
    query = "query($b: String!) { board(key: $b) { webhooks { id active url } } }"
    return server.post(query, {"b": board}, user="admin")["board"]["webhooks"]


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("mutation", WEBHOOK_MUTATIONS)
def test_webhook_matrix(server: Server, outsider: str, mutation: str, principal: str) -> None:
    board = Board(server)
    role = PRINCIPALS[principal]
    if role in ROLES:
        board.grant(principal, role)

    def run(mutation: str, input: dict[str, Any], user: str) -> Any:
        query = (
            f"mutation($input: {WEBHOOK_MUTATIONS[mutation]}!) {{ {mutation}(input: $input) "
            "{ webhook { id } secret errors { code message field } } }"
        )
        return server.post(query, {"input": input}, user=user)[mutation]

    input: dict[str, Any] = {"boardKey": board.key, **WEBHOOK}
    if mutation != "createWebhook":
        created = run("createWebhook", input, "alice")["webhook"]["id"]
        input = {"webhookId": created}
        # As a failing receiver would leave it, so that activating it changes something.
        store_of(server.runtime).set_active(created.removeprefix("webhook-"), False, "failed")
    before = webhooks_of(server, board.key)

    payload = run(mutation, input, principal)

    after = webhooks_of(server, board.key)
    refusal = expected(principal, "ADMIN")
    if refusal is None:
        assert payload["errors"] == [], payload
        assert payload["webhook"] is not None
        assert (payload["secret"] is not None) == (mutation == "createWebhook")
        assert after != before
    else:
        assert [error["code"] for error in payload["errors"]] == [refusal], payload
        assert (payload["webhook"], payload["secret"]) == (None, None)
        assert after == before, "a refused webhook mutation changed something"
