"""Board.members lists who has a role, and stories are assigned only to them."""

from __future__ import annotations

from datetime import datetime

from tests.graphql.conftest import CREATE_STORY, Server, create_board, create_story, mutate

MEMBERS = "query($key: String!) { board(key: $key) { members { user role grantedAt } } }"
STORY = "story { key assignee version }"


def members(server: Server, board: str) -> list[tuple[str, str]]:
    rows = server.post(MEMBERS, {"key": board})["board"]["members"]
    for row in rows:
        assert datetime.fromisoformat(row["grantedAt"]).tzinfo is not None
    return [(row["user"], row["role"]) for row in rows]


def test_members_follow_grants_and_revokes(server: Server) -> None:
    board = create_board(server)
    assert members(server, board) == [("alice", "ADMIN")]
    mutate(server, "grantRole", {"boardKey": board, "user": "bob", "role": "MEMBER"}, "board { key }")
    mutate(server, "grantRole", {"boardKey": board, "user": "carol", "role": "VIEWER"}, "board { key }")
    assert members(server, board) == [("alice", "ADMIN"), ("bob", "MEMBER"), ("carol", "VIEWER")]

    before = server.post(MEMBERS, {"key": board})["board"]["members"][1]["grantedAt"]
    mutate(server, "grantRole", {"boardKey": board, "user": "bob", "role": "MANAGER"}, "board { key }")
    mutate(server, "revokeRole", {"boardKey": board, "user": "carol"}, "board { key }")
    bob = server.post(MEMBERS, {"key": board})["board"]["members"][1]
    assert (bob["user"], bob["role"]) == ("bob", "MANAGER")
    assert datetime.fromisoformat(bob["grantedAt"]) >= datetime.fromisoformat(before)
    assert members(server, board) == [("alice", "ADMIN"), ("bob", "MANAGER")]


def test_stories_are_assigned_only_to_members(server: Server) -> None:
    board = create_board(server)
    mutate(server, "grantRole", {"boardKey": board, "user": "bob", "role": "MEMBER"}, "board { key }")
    head = server.head()

    refused = server.post(CREATE_STORY, {"input": {"boardKey": board, "title": "T", "assignee": "mallory"}})
    assert refused["createStory"]["story"] is None
    [error] = refused["createStory"]["errors"]
    assert (error["code"], error["field"]) == ("VALIDATION", "assignee")
    assert "mallory is not a member" in error["message"]

    story = create_story(server, board, "T", assignee=" bob ")
    # The story, its key and its place on the board: the refused creation recorded nothing.
    assert server.head() == head + 3
    assigned = mutate(server, "assignStory", {"storyKey": story, "assignee": "mallory"}, STORY)
    assert assigned["story"] is None
    assert [(e["code"], e["field"]) for e in assigned["errors"]] == [("VALIDATION", "assignee")]
    assert server.head() == head + 3

    # The admin, anyone granted a role, and no one at all may be assigned.
    assert mutate(server, "assignStory", {"storyKey": story, "assignee": "alice"}, STORY)["story"][
        "assignee"
    ] == ("alice")
    mutate(server, "grantRole", {"boardKey": board, "user": "mallory", "role": "VIEWER"}, "board { key }")
    assert mutate(server, "assignStory", {"storyKey": story, "assignee": "mallory"}, STORY)["errors"] == []
    assert (
        mutate(server, "assignStory", {"storyKey": story, "assignee": None}, STORY)["story"]["assignee"]
        is None
    )
