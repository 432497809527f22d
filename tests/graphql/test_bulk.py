"""Bulk mutations, createStory into a sprint and archived boards, through the real HTTP server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.graphql.conftest import Server, create_board, create_story, mutate

WRITERS = 16
CREATE_STORIES = """
mutation($input: CreateStoriesInput!) {
  createStories(input: $input) {
    stories { key rank title sprint { id } }
    sprint { id stories { totalCount } }
    errors { code message field }
    clientMutationId
  }
}"""
SPRINT = {"name": "S", "startDate": "2030-01-07", "endDate": "2030-01-18"}


def post(server: Server, query: str, variables: dict[str, Any], user: str = "alice") -> Any:
    with httpx.Client(base_url=server.url, headers=server.auth(user), timeout=120) as client:
        body = client.post("/graphql", json={"query": query, "variables": variables}).json()
    assert "errors" not in body, body
    return body["data"]


def outcome(server: Server, name: str, input: dict[str, Any]) -> str:
    """Runs one mutation: the code of its first error, or OK."""
    input_type = name[0].upper() + name[1:] + "Input"
    query = f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ errors {{ code }} }} }}"
    errors = post(server, query, {"input": input})[name]["errors"]
    return str(errors[0]["code"]) if errors else "OK"


def new_sprint(server: Server, board: str) -> str:
    return str(mutate(server, "createSprint", {"boardKey": board, **SPRINT}, "sprint { id }")["sprint"]["id"])


def test_sixteen_clients_creating_stories_in_bulk_get_distinct_keys_and_ranks(server: Server) -> None:
    board = create_board(server)
    server.token()  # made once, before the threads share it

    def create(writer: int) -> Any:
        stories = [{"title": f"writer {writer} story {n}"} for n in range(4)]
        input = {"boardKey": board, "stories": stories, "clientMutationId": f"bulk-{board}-{writer}"}
        return post(server, CREATE_STORIES, {"input": input})["createStories"]

    with ThreadPoolExecutor(WRITERS) as pool:
        payloads = list(pool.map(create, range(WRITERS)))
    assert all(p["errors"] == [] for p in payloads), payloads
    stories = [story for p in payloads for story in p["stories"]]
    keys, ranks = [s["key"] for s in stories], [s["rank"] for s in stories]
    assert sorted(int(key.split("-")[1]) for key in keys) == list(range(1, WRITERS * 4 + 1))
    assert len(set(ranks)) == WRITERS * 4
    for payload in payloads:  # each call's stories are consecutive, in the order given
        batch = payload["stories"]
        assert [s["title"].split()[-1] for s in batch] == ["0", "1", "2", "3"]
        assert [s["rank"] for s in batch] == sorted(s["rank"] for s in batch)
    listed = server.post(
        "query($b: String!) { board(key: $b) { stories(first: 100) { edges { node { key rank } } } } }",
        {"b": board},
    )["board"]["stories"]["edges"]
    assert [edge["node"]["rank"] for edge in listed] == sorted(ranks)


def test_create_stories_into_a_sprint_and_a_refusal_item_by_item(server: Server) -> None:
    board = create_board(server)
    sprint = new_sprint(server, board)
    stories = [{"title": "Cards", "points": 3}, {"title": "Refunds", "type": "BUG"}]
    input = {"boardKey": board, "stories": stories, "sprintId": sprint, "clientMutationId": "c-1"}
    created = server.post(CREATE_STORIES, {"input": input})["createStories"]
    assert created["errors"] == [] and created["clientMutationId"] == "c-1"
    assert [s["key"] for s in created["stories"]] == [f"{board}-1", f"{board}-2"]
    assert {s["sprint"]["id"] for s in created["stories"]} == {sprint}
    assert created["sprint"] == {"id": sprint, "stories": {"totalCount": 2}}
    head = server.head()
    assert server.post(CREATE_STORIES, {"input": input})["createStories"] == created  # replayed
    bad = [{"title": "Fine"}, {"title": ""}, {"title": "Fine", "epicKey": "NO-E1"}]
    refused = server.post(CREATE_STORIES, {"input": {"boardKey": board, "stories": bad}})["createStories"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("VALIDATION", "stories.1.title"),
        ("NOT_FOUND", "stories.2.epicKey"),
    ]
    assert refused["stories"] == [] and refused["sprint"] is None
    assert server.head() == head


def test_create_story_into_a_sprint_and_add_stories_to_one(server: Server) -> None:
    board = create_board(server)
    sprint = new_sprint(server, board)
    payload = mutate(
        server,
        "createStory",
        {"boardKey": board, "title": "T", "sprintId": sprint},
        "story { key sprint { id } }",
    )
    assert payload["errors"] == [] and payload["story"]["sprint"] == {"id": sprint}
    keys = [create_story(server, board, f"s{n}") for n in range(3)]
    added = mutate(
        server,
        "addStoriesToSprint",
        {"sprintId": sprint, "storyKeys": keys},
        "sprint { id stories { totalCount } } stories { key sprint { id } }",
    )
    assert added["errors"] == [] and added["sprint"]["stories"]["totalCount"] == 4
    assert [(s["key"], s["sprint"]["id"]) for s in added["stories"]] == [(key, sprint) for key in keys]


BOARDS = (
    "query($all: Boolean!) { boards(includeArchived: $all, first: 500) { edges { node { key archived } } } }"
)


def test_an_archived_board_leaves_the_list_keeps_its_history_and_refuses_changes(server: Server) -> None:
    board = create_board(server)
    key = create_story(server, board)
    sprint = new_sprint(server, board)
    payload = mutate(server, "archiveBoard", {"boardKey": board}, "board { key archived }")
    assert payload == {"board": {"key": board, "archived": True}, "errors": [], "clientMutationId": None}

    listed = {
        e["node"]["key"]: e["node"]["archived"]
        for e in server.post(BOARDS, {"all": False})["boards"]["edges"]
    }
    assert board not in listed
    listed = {
        e["node"]["key"]: e["node"]["archived"] for e in server.post(BOARDS, {"all": True})["boards"]["edges"]
    }
    assert listed[board] is True
    history = server.post(
        "query($b: String!) { board(key: $b) { archived "
        "history(last: 3) { edges { node { eventType } } } } }",
        {"b": board},
    )["board"]
    assert history["archived"] is True
    assert [e["node"]["eventType"] for e in history["history"]["edges"]] == [
        "BoardArchived",
        "StoryBoardArchived",
        "SprintBoardArchived",
    ]

    head = server.head()
    for name, input, selection, field in [
        ("moveStory", {"storyKey": key, "toColumn": "DONE"}, "story { key }", "storyKey"),
        ("createStory", {"boardKey": board, "title": "More"}, "story { key }", "boardKey"),
        ("addStoryToSprint", {"sprintId": sprint, "storyKey": key}, "sprint { id }", "sprintId"),
        ("updateSprint", {"sprintId": sprint, "goal": "Later"}, "sprint { id }", "sprintId"),
        ("createSprint", {"boardKey": board, **SPRINT}, "sprint { id }", "boardKey"),
        ("archiveBoard", {"boardKey": board}, "board { key }", "boardKey"),
    ]:
        refused = mutate(server, name, input, selection)
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_TRANSITION", field)], name
    assert server.head() == head


def test_archive_racing_story_commands_leaves_no_story_change_after_it(server: Server) -> None:
    board = create_board(server)
    keys = [create_story(server, board, f"s{n}") for n in range(6)]
    server.token()

    def edit(key: str) -> list[str]:
        codes = []
        for n in range(6):
            if n % 2:
                name, input = "updateStory", {"storyKey": key, "title": f"{key} v{n}"}
            else:
                name, input = (
                    "moveStory",
                    {"storyKey": key, "toColumn": "IN_PROGRESS" if n % 4 == 0 else "TODO"},
                )
            codes.append(outcome(server, name, input))
        return codes

    with ThreadPoolExecutor(len(keys) + 1) as pool:
        edits = [pool.submit(edit, key) for key in keys]
        archived = pool.submit(outcome, server, "archiveBoard", {"boardKey": board})
        outcomes = [code for future in edits for code in future.result()]
    assert archived.result() == "OK" and set(outcomes) <= {"OK", "INVALID_TRANSITION", "CONFLICT"}
    entries = server.post(
        "query($b: String!) { board(key: $b) { history(first: 500) { edges { node { eventType } } } } }",
        {"b": board},
    )["board"]["history"]["edges"]
    types = [e["node"]["eventType"] for e in entries]
    after = types[types.index("BoardArchived") + 1 :]
    assert after == ["StoryBoardArchived"] * len(keys)


def test_archive_racing_sprint_commands_leaves_no_sprint_change_after_it(server: Server) -> None:
    board = create_board(server)
    sprints = [new_sprint(server, board) for _ in range(3)]
    server.token()

    def plan_and_edit(writer: int) -> list[str]:
        codes = []
        for n in range(6):
            if n % 2:
                name, input = "createSprint", {"boardKey": board, **SPRINT, "name": f"w{writer} s{n}"}
            else:
                name, input = "updateSprint", {"sprintId": sprints[writer], "goal": f"goal {n}"}
            codes.append(outcome(server, name, input))
        return codes

    with ThreadPoolExecutor(len(sprints) + 1) as pool:
        writers = [pool.submit(plan_and_edit, writer) for writer in range(len(sprints))]
        archived = pool.submit(outcome, server, "archiveBoard", {"boardKey": board})
        outcomes = [code for future in writers for code in future.result()]
    assert archived.result() == "OK" and set(outcomes) <= {"OK", "INVALID_TRANSITION", "CONFLICT"}
    entries = server.post(
        "query($b: String!) { board(key: $b) { history(first: 500) { edges { node { eventType } } } } }",
        {"b": board},
    )["board"]["history"]["edges"]
    types = [e["node"]["eventType"] for e in entries]
    after = types[types.index("BoardArchived") + 1 :]
    # Every sprint planned before the archive, and none after it, was closed with the board.
    assert after == ["SprintBoardArchived"] * types.count("SprintCreated")


def test_a_bulk_payload_costs_what_its_item_bound_allows() -> None:
    from tests.graphql.test_auth import cost_of

    query = """mutation { createStories(input: {boardKey: "PAY", stories: [{title: "T"}]}) {
      stories { key epic { key } } errors { code } sprint { id } } }"""
    # The mutation, its stories, an epic for each of up to STORYLINE_MAX_BULK_ITEMS (100)
    # stories (not a page of 500), the errors and the sprint.
    assert cost_of(query) == 1 + 1 + 100 + 1 + 1
