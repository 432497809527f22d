"""The board's rules through the real HTTP server: concurrent moves, move-and-rank, own-column moves."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.graphql.conftest import Server, create_board, create_story, mutate

MOVE = """
mutation($input: MoveStoryInput!) {
  moveStory(input: $input) { story { key status { key } } errors { code message field } clientMutationId }
}"""
WRITERS = 16


def columns(review_limit: int) -> list[dict[str, Any]]:
    return [
        {"key": "TODO", "name": "To Do", "category": "TODO"},
        {"key": "REVIEW", "name": "Review", "category": "IN_PROGRESS", "wipLimit": review_limit},
        {"key": "DONE", "name": "Done", "category": "DONE"},
    ]


def test_sixteen_concurrent_moves_over_http_never_exceed_a_wip_limit(server: Server) -> None:
    board = create_board(server, columns=columns(review_limit=3))
    keys = [create_story(server, board, f"story {n}") for n in range(WRITERS)]
    token = server.token()

    def move(key: str) -> Any:
        # A client of its own per writer, as sixteen people on one board would have.
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as client:
            variables = {"input": {"storyKey": key, "toColumn": "REVIEW"}}
            response = client.post("/graphql", json={"query": MOVE, "variables": variables}, timeout=60)
            body = response.json()
            assert "data" in body, body
            return body["data"]["moveStory"]

    with ThreadPoolExecutor(WRITERS) as pool:
        payloads = list(pool.map(move, keys))
    moved = [p["story"]["key"] for p in payloads if not p["errors"]]
    codes = sorted(p["errors"][0]["code"] for p in payloads if p["errors"])
    assert len(moved) == 3 and codes == ["WIP_LIMIT"] * (WRITERS - 3), payloads
    data = server.post(
        "query($key: String!) { board(key: $key) { columns { key stories { edges { node { key } } } } } }",
        {"key": board},
    )
    review = next(c for c in data["board"]["columns"] if c["key"] == "REVIEW")
    assert sorted(edge["node"]["key"] for edge in review["stories"]["edges"]) == sorted(moved)


def test_move_story_with_before_moves_and_ranks_in_one_command(server: Server) -> None:
    board = create_board(server)
    first, second = create_story(server, board, "First"), create_story(server, board, "Second")
    head = server.head()
    payload = mutate(
        server,
        "moveStory",
        {"storyKey": second, "toColumn": "IN_PROGRESS", "before": first},
        "story { key status { key } version }",
    )
    assert payload["errors"] == []
    assert payload["story"]["status"]["key"] == "IN_PROGRESS"
    assert payload["story"]["version"] == 3  # created, moved, ranked: one command, one save
    order = server.post(
        """query($key: String!) { board(key: $key) { stories(first: 10) { edges { node { key } } } } }""",
        {"key": board},
    )
    assert [edge["node"]["key"] for edge in order["board"]["stories"]["edges"]] == [second, first]
    assert server.head() > head
    recorded = server.head()
    refused = mutate(
        server,
        "moveStory",
        {"storyKey": first, "toColumn": "DONE", "before": second, "after": first},
        "story { key }",
    )
    assert refused["errors"][0]["code"] == "VALIDATION"
    assert server.head() == recorded  # the move was refused with its rank


def test_a_move_to_the_storys_own_column_is_refused_and_a_retry_replays_the_first_result(
    server: Server,
) -> None:
    board = create_board(server)
    key = create_story(server, board)
    move = {"storyKey": key, "toColumn": "DONE", "clientMutationId": f"{board}-move-1"}
    first = mutate(server, "moveStory", move, "story { key version status { key } }")
    assert first["errors"] == [] and first["story"]["status"]["key"] == "DONE"
    recorded = server.head()
    again = mutate(server, "moveStory", move, "story { key version status { key } }")
    assert again == first
    refused = mutate(server, "moveStory", {"storyKey": key, "toColumn": "DONE"}, "story { key }")
    assert refused["errors"] == [
        {"code": "INVALID_TRANSITION", "message": f"{key} is already in Done", "field": "toColumn"}
    ]
    assert server.head() == recorded
