"""Hostile strings in every string field of every mutation, on both backends (hypothesis).

Each attempt must end in one of two ways: a typed error with nothing recorded, or
recorded events that every projection accepts (the server stays ready and keeps
taking writes). Mutations and their string fields come from the served schema;
BASE_INPUTS gives each mutation a valid input to put the hostile string into.
A mutation added later without an entry in BASE_INPUTS fails
`test_every_mutation_has_a_base_input`: add one there to have it covered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphql import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLScalarType,
    get_named_type,
    get_nullable_type,
)
from storyline_graphql.schema import build_schema
from storyline_service.settings import Settings
from tests.graphql.conftest import INPUT_TYPES, Server, create_board, create_story, mutate, new_board_key

Path = tuple[str | int, ...]
SCHEMA = build_schema(Settings())._schema
MUTATIONS = SCHEMA.mutation_type.fields if SCHEMA.mutation_type else {}
COLUMNS = [
    {"key": "TODO", "name": "To Do", "category": "TODO"},
    {"key": "DOING", "name": "Doing", "category": "IN_PROGRESS"},
    {"key": "DONE", "name": "Done", "category": "DONE"},
]


@dataclass
class World:
    board: str
    story: str
    other: str  # another story on the board, to rank against
    spare: str  # archived by archiveStory's base input, so the others stay open
    spare_board: str  # archived by archiveBoard's base input, so the board above stays open
    epic: str
    sprint: str
    next_sprint: str
    risk: str
    webhook: str


BASE_INPUTS: dict[str, Callable[[World], dict[str, Any]]] = {
    "createBoard": lambda w: {"key": new_board_key(), "name": "Board", "columns": COLUMNS},
    "configureColumns": lambda w: {"boardKey": w.board, "columns": COLUMNS},
    "grantRole": lambda w: {"boardKey": w.board, "user": "carol", "role": "MEMBER"},
    "revokeRole": lambda w: {"boardKey": w.board, "user": "carol"},
    "createStory": lambda w: {
        "boardKey": w.board,
        "title": "T",
        "description": "D",
        "labels": ["l"],
        "assignee": "bob",
        "epicKey": w.epic,
    },
    "createStories": lambda w: {
        "boardKey": w.board,
        "sprintId": w.next_sprint,
        "stories": [
            {"title": "T", "description": "D", "labels": ["l"], "assignee": "bob", "epicKey": w.epic},
            {"title": "U"},
        ],
    },
    "addStoriesToSprint": lambda w: {"sprintId": w.next_sprint, "storyKeys": [w.other]},
    "archiveBoard": lambda w: {"boardKey": w.spare_board},
    "updateStory": lambda w: {"storyKey": w.story, "title": "T", "description": "D", "labels": ["l"]},
    "estimateStory": lambda w: {"storyKey": w.story, "points": 3},
    "assignStory": lambda w: {"storyKey": w.story, "assignee": "bob"},
    "moveStory": lambda w: {"storyKey": w.story, "toColumn": "DOING"},
    "rankStory": lambda w: {"storyKey": w.story, "before": w.other, "after": None},
    "blockStory": lambda w: {"storyKey": w.story, "reason": "waiting"},
    "unblockStory": lambda w: {"storyKey": w.story},
    "archiveStory": lambda w: {"storyKey": w.spare},
    "setStoryEpic": lambda w: {"storyKey": w.story, "epicKey": w.epic},
    "createEpic": lambda w: {"boardKey": w.board, "title": "E"},
    "createSprint": lambda w: {
        "boardKey": w.board,
        "name": "S",
        "goal": "G",
        "startDate": "2030-01-01",
        "endDate": "2030-01-14",
    },
    "updateSprint": lambda w: {"sprintId": w.sprint, "name": "S", "goal": "G"},
    "addStoryToSprint": lambda w: {"sprintId": w.sprint, "storyKey": w.story},
    "removeStoryFromSprint": lambda w: {"sprintId": w.sprint, "storyKey": w.story},
    "startSprint": lambda w: {"sprintId": w.sprint},
    "completeSprint": lambda w: {"sprintId": w.sprint, "carryOverTo": w.next_sprint},
    "configureCalendar": lambda w: {
        "boardKey": w.board,
        "workingDays": ["MONDAY", "TUESDAY"],
        "holidays": ["2030-01-01"],
        "timeZone": "Europe/Berlin",
    },
    "setEpicTargetDate": lambda w: {"epicKey": w.epic, "targetDate": "2030-03-01", "reason": "R"},
    "setEpicHealth": lambda w: {"epicKey": w.epic, "health": "AT_RISK", "reason": "R"},
    "setBudget": lambda w: {
        "boardKey": w.board,
        "currency": "EUR",
        "amount": "1000.00",
        "basis": "PER_POINT",
        "rate": "10.00",
        "reason": "R",
    },
    "createRisk": lambda w: {
        "boardKey": w.board,
        "title": "T",
        "description": "D",
        "probability": 2,
        "impact": 3,
        "owner": "bob",
        "mitigation": "M",
    },
    "updateRisk": lambda w: {
        "riskKey": w.risk,
        "title": "T",
        "description": "D",
        "owner": "bob",
        "mitigation": "M",
    },
    "setRiskState": lambda w: {"riskKey": w.risk, "state": "MITIGATING", "note": "N"},
    "linkRisk": lambda w: {"riskKey": w.risk, "storyKeys": [w.story], "epicKeys": [w.epic]},
    "publishStatusUpdate": lambda w: {"boardKey": w.board, "health": "ON_TRACK", "summary": "S"},
    # A public address the server accepts; the closed network never answers it, and nothing waits for it.
    "createWebhook": lambda w: {
        "boardKey": w.board,
        "url": "http://93.184.216.34/hook",
        "eventTypes": ["SprintCompleted"],
    },
    "deleteWebhook": lambda w: {"webhookId": w.webhook},
    "activateWebhook": lambda w: {"webhookId": w.webhook},
}


def string_paths(input_type: GraphQLInputType, prefix: Path = ()) -> list[Path]:
    """Where strings go in an input: fields of type String or ID, in lists and nested inputs."""
    nullable = get_nullable_type(input_type)  # type: ignore[arg-type]
    inner = get_named_type(input_type)
    if isinstance(nullable, GraphQLList):
        return string_paths(nullable.of_type, (*prefix, 0))
    if isinstance(inner, GraphQLScalarType):
        return [prefix] if inner.name in ("String", "ID") else []
    if isinstance(inner, GraphQLInputObjectType):
        return [p for name, field in inner.fields.items() for p in string_paths(field.type, (*prefix, name))]
    return []  # enums


TARGETS = [
    (name, path) for name, field in MUTATIONS.items() for path in string_paths(field.args["input"].type)
]


def put(value: Any, path: Path, hostile: str) -> Any:
    """``value`` with ``hostile`` at ``path``; lists get it in their first place."""
    if not path:
        return hostile
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(value or [None])
        items[0] = put(items[0], rest, hostile)
        return items
    return {**(value or {}), head: put((value or {}).get(head), rest, hostile)}


SPECIALS = [
    "\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9f", "\n", "\r", "\t", "\u2028", "\u202e", "\u2066",
    "\ufeff", "\ufffe", "\ud800", "\udfff", "\U0001f389", "'", '"', "\\", "%", "_", "-", " ",
]  # fmt: skip
hostile_strings = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=()), max_size=30),  # lone surrogates too
    st.text(alphabet=st.sampled_from([*SPECIALS, "A", "b", "1"]), min_size=1, max_size=12),
    st.sampled_from(["", " " * 3, "x" * 20_001, "DONE", "TODO\n", "PAY-1\x00", "a" * 201]),
)


def test_every_mutation_has_a_base_input() -> None:
    """New mutations must come with a valid base input here, or they escape the property below."""
    assert set(BASE_INPUTS) == set(MUTATIONS)
    assert {name for name, _ in TARGETS} <= set(INPUT_TYPES)


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    board = create_board(server, columns=COLUMNS)
    mutate(server, "grantRole", {"boardKey": board, "user": "bob", "role": "MEMBER"}, "board { key }")
    epic = mutate(server, "createEpic", {"boardKey": board, "title": "E"}, "epic { key }")["epic"]["key"]

    def sprint(name: str) -> str:
        input = {"boardKey": board, "name": name, "startDate": "2030-01-01", "endDate": "2030-01-14"}
        return str(mutate(server, "createSprint", input, "sprint { id }")["sprint"]["id"])

    risk_input = {"boardKey": board, "title": "R", "probability": 2, "impact": 3}
    risk = mutate(server, "createRisk", risk_input, "risk { key }")["risk"]["key"]
    webhook_input = {"boardKey": board, "url": "http://93.184.216.34/hook", "eventTypes": ["SprintCompleted"]}
    webhook = mutate(server, "createWebhook", webhook_input, "webhook { id }")["webhook"]["id"]
    return World(
        board=board,
        story=create_story(server, board),
        other=create_story(server, board),
        spare=create_story(server, board),
        spare_board=create_board(server),
        epic=epic,
        sprint=sprint("S1"),
        next_sprint=sprint("S2"),
        risk=risk,
        webhook=webhook,
    )


def post_raw(server: Server, query: str, variables: dict[str, Any]) -> httpx.Response:
    # Encoded here with ASCII escapes: a lone surrogate travels as \ud800, as any JSON client may send it.
    body = json.dumps({"query": query, "variables": variables})
    headers = {**server.auth("alice"), "Content-Type": "application/json"}
    return httpx.post(f"{server.url}/graphql", content=body, headers=headers, timeout=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(TARGETS), hostile=hostile_strings)
def test_hostile_strings_give_typed_errors_or_events_every_projection_accepts(
    server: Server, world: World, target: tuple[str, Path], hostile: str
) -> None:
    typed_error_or_projected(server, world, target, hostile)


def test_every_string_field_refuses_nul_and_escape(server: Server, world: World) -> None:
    """The property above samples fields at random; this sends every field the two characters a
    backend or a terminal cannot take, so no field is left out by chance."""
    for target in TARGETS:
        for hostile in ("a\x00b", "a\x1bb"):
            typed_error_or_projected(server, world, target, hostile)


def typed_error_or_projected(server: Server, world: World, target: tuple[str, Path], hostile: str) -> None:
    name, path = target
    input = put(BASE_INPUTS[name](world), path, hostile)
    query = (
        f"mutation($input: {INPUT_TYPES[name]}!) {{ {name}(input: $input) "
        "{ errors { code message field } } }"
    )
    head = server.head()
    response = post_raw(server, query, {"input": input})
    assert response.status_code in (200, 400), response.text
    body = response.json()
    if body.get("errors"):  # refused before the command ran: a GraphQL error, never an internal one
        codes = [error.get("extensions", {}).get("code") for error in body["errors"]]
        assert "INTERNAL_SERVER_ERROR" not in codes and "READ_MODELS_STOPPED" not in codes, body
        assert server.head() == head
        return
    errors = body["data"][name]["errors"]
    if errors:
        [error] = errors
        assert error["code"] in {"VALIDATION", "NOT_FOUND", "CONFLICT", "INVALID_TRANSITION", "FORBIDDEN"}
        assert server.head() == head, (name, path, hostile, error)
        return
    # Recorded: the command returned after the projections took its events (read-your-writes).
    ready = httpx.get(f"{server.url}/readyz", timeout=30).json()
    assert ready["status"] != "stopped", (name, path, hostile, ready)


NUL_LOOKUPS = [
    ("query($k: String!) { story(key: $k) { key } }", {"k": "A\x00B-1"}),
    ("query($k: String!) { board(key: $k) { key } }", {"k": "A\x00B"}),
    ("query($k: ID!) { sprint(id: $k) { id } }", {"k": "a\x00b"}),
    ("query($k: ID!) { node(id: $k) { id } }", {"k": "a\x00b"}),
    ("query($k: String!) { risk(key: $k) { key } }", {"k": "A\x00-R1"}),
    ("query($k: String!) { auditLog(filter: {actor: $k, storyKey: $k}) { totalCount } }", {"k": "a\x00b"}),
    ('{ board(key: "A\\u0000B") { key } }', {}),  # inline, as an escape in the document
]


@pytest.mark.parametrize(("query", "variables"), NUL_LOOKUPS)
def test_lookups_with_nul_are_refused_as_validation(
    server: Server, query: str, variables: dict[str, Any]
) -> None:
    """No stored text holds NUL, and PostgreSQL refuses it in a parameter: a typed error, not a fault."""
    body = post_raw(server, query, variables).json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["VALIDATION"], body
