"""Hostile input over HTTP, on both backends: typed errors, nothing recorded, nothing revealed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.graphql.conftest import Server, create_board, create_story, mutate

STORY = "story { key title }"


def test_a_nul_in_a_title_is_refused_on_both_backends_and_the_read_models_keep_moving(server: Server) -> None:
    board = create_board(server)
    head = server.head()
    payload = mutate(server, "createStory", {"boardKey": board, "title": "a\u0000b"}, STORY)
    assert payload["errors"] == [
        {
            "code": "VALIDATION",
            "message": "title must not contain the control character U+0000",
            "field": "title",
        }
    ]
    assert server.head() == head
    # Later writes and reads still work: nothing stopped the projections.
    key = create_story(server, board, "after the refusal")
    assert server.post(f'{{ story(key: "{key}") {{ title }} }}')["story"]["title"] == "after the refusal"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "\u202eexe.gnp"),
        ("description", "a\x1bb"),
        ("labels", ["ok", "x\x00"]),
        ("assignee", "b\tob"),
    ],
)
def test_control_and_bidi_characters_are_refused_naming_the_field(
    server: Server, field: str, value: Any
) -> None:
    board = create_board(server)
    head = server.head()
    payload = mutate(server, "createStory", {"boardKey": board, "title": "T", field: value}, STORY)
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == ("VALIDATION", field)
    assert server.head() == head


def test_a_description_keeps_its_newlines_and_tabs(server: Server) -> None:
    board = create_board(server)
    text = "steps:\n\t1. pay\n\t2. get a receipt"
    key = create_story(server, board, description=text)
    assert server.post(f'{{ story(key: "{key}") {{ description }} }}')["story"]["description"] == text


def test_client_mutation_ids_are_checked_like_any_text(server: Server) -> None:
    board = create_board(server)
    head = server.head()
    for bad, match in [("k" * 201, "1 to 200 characters"), ("key\x00", "U+0000")]:
        payload = mutate(
            server, "createStory", {"boardKey": board, "title": "T", "clientMutationId": bad}, STORY
        )
        [error] = payload["errors"]
        assert (error["code"], error["field"]) == ("VALIDATION", "clientMutationId")
        assert match in error["message"]
    assert server.head() == head


INLINE = {
    "startDate: impossible day": (
        'createSprint(input: {boardKey: "%s", name: "S", startDate: "2030-02-30", endDate: "2030-03-05"})',
        "2030-02-30",
    ),
    "occurredAt: a word": (
        'createStory(input: {boardKey: "%s", title: "T", occurredAt: "yesterday"})',
        "yesterday",
    ),
    "occurredAt: a number": (
        'createStory(input: {boardKey: "%s", title: "T", occurredAt: 12345})',
        "DateTime",
    ),
    "occurredAt: an offset past year 1": (
        'createStory(input: {boardKey: "%s", title: "T", occurredAt: "0001-01-01T00:00:00+14:00"})',
        "outside the times",
    ),
}


@pytest.mark.parametrize("name", INLINE)
def test_malformed_inline_literals_are_validation_errors(server: Server, name: str) -> None:
    board = create_board(server)
    field, message = INLINE[name]
    head = server.head()
    body = server.request(f"mutation {{ {field % board} {{ errors {{ code }} }} }}")
    [error] = body["errors"]
    assert message in error["message"], error
    assert error.get("extensions", {}).get("code") != "INTERNAL_SERVER_ERROR"
    assert server.head() == head


@pytest.mark.parametrize(
    ("occurred_at", "match"),
    [
        ("0001-01-01T00:00:00+14:00", "outside the times"),  # as a variable
        ("1969-12-31T23:59:59+00:00", "between 1970-01-01 and 2200-12-31"),
    ],
)
def test_extreme_business_times_are_typed_errors(server: Server, occurred_at: str, match: str) -> None:
    board = create_board(server)
    query = (
        "mutation($input: CreateStoryInput!) { createStory(input: $input) { errors { code field message } } }"
    )
    body = server.request(
        query, {"input": {"boardKey": board, "title": "T", "occurredAt": occurred_at}}, "admin"
    )
    errors = body.get("errors") or body["data"]["createStory"]["errors"]
    assert match in errors[0]["message"], errors
    assert errors[0].get("extensions", {}).get("code") != "INTERNAL_SERVER_ERROR"


@pytest.mark.parametrize(
    "window", ['to: "0001-01-05T00:00:00Z"', 'from: "9999-12-01T00:00:00Z", to: "9999-12-31T23:59:59Z"']
)
def test_flow_windows_at_the_ends_of_time_are_validation_errors(server: Server, window: str) -> None:
    board = create_board(server)
    body = server.request(f'{{ board(key: "{board}") {{ flow({window}) {{ throughput }} }} }}')
    for error in body["errors"]:  # one for each time out of range
        assert "outside the times Storyline can keep" in error["message"], error
        assert error.get("extensions", {}).get("code") != "INTERNAL_SERVER_ERROR"


def test_extreme_sprint_dates_cannot_be_created(server: Server) -> None:
    board = create_board(server)
    create = "mutation($input: CreateSprintInput!) { createSprint(input: $input) { sprint { id } } }"
    input = {"boardKey": board, "name": "Forever", "startDate": "0001-01-01", "endDate": "9999-12-31"}
    head = server.head()
    refused = server.request(create, {"input": input})["errors"]  # no Date holds them
    assert refused and all("years 1000 to 9000" in error["message"] for error in refused)
    assert server.head() == head
    input = {"boardKey": board, "name": "Old", "startDate": "1900-01-01", "endDate": "1900-01-14"}
    [error] = mutate(server, "createSprint", input, "sprint { id }")["errors"]
    assert (error["code"], error["field"]) == ("VALIDATION", "startDate")
    input = {"boardKey": board, "name": "Long", "startDate": "2030-01-01", "endDate": "2030-03-01"}
    [error] = mutate(server, "createSprint", input, "sprint { id }")["errors"]
    assert (error["code"], error["field"], error["message"]) == (
        "VALIDATION",
        "endDate",
        "a sprint lasts at most 56 days",
    )


def test_backfilling_a_new_board_needs_an_admin_token(server: Server) -> None:
    input = {"name": "Backdated", "occurredAt": "2001-01-01T00:00:00+00:00"}
    [error] = mutate(server, "createBoard", {"key": "BACKA", **input}, "board { key }", user="mallory")[
        "errors"
    ]
    assert (error["code"], error["field"]) == ("FORBIDDEN", "occurredAt")
    assert "IMPORT permission" in error["message"]
    assert (
        mutate(server, "createBoard", {"key": "BACKB", **input}, "board { key }", user="admin")["errors"]
        == []
    )


def test_other_boards_objects_are_not_found_exactly_like_missing_ones(server: Server) -> None:
    mine, theirs = create_board(server), create_board(server, user="bob")
    story = create_story(server, mine)
    theirs_input = {"boardKey": theirs, "title": "Theirs"}
    their_story = mutate(server, "createStory", theirs_input, "story { key }", user="bob")["story"]["key"]
    their_epic = mutate(server, "createEpic", {"boardKey": theirs, "title": "E"}, "epic { key }", user="bob")
    their_epic_key = their_epic["epic"]["key"]
    missing_story, missing_epic = f"{theirs}-999", f"{theirs}-E999"

    def refusal(name: str, input: dict[str, Any], key: str) -> dict[str, Any]:
        [error] = mutate(server, name, input, "clientMutationId")["errors"]
        return {**error, "message": error["message"].replace(key, "<key>")}

    def same(name: str, field: str, seen: str, missing: str, **input: Any) -> None:
        existing = refusal(name, {**input, field: seen}, seen)
        assert existing == refusal(name, {**input, field: missing}, missing), name
        assert existing["code"] == "NOT_FOUND"

    same("rankStory", "before", their_story, missing_story, storyKey=story)
    same("setStoryEpic", "epicKey", their_epic_key, missing_epic, storyKey=story)
    same("createStory", "epicKey", their_epic_key, missing_epic, boardKey=mine, title="T")
    same("updateStory", "storyKey", their_story, missing_story, title="T")
    same("createStory", "boardKey", theirs, "NOSUCH", title="T")
    same("createEpic", "boardKey", theirs, "NOSUCH", title="T")
