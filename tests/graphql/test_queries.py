"""Reading through the API: lists page across pages with opaque cursors, limits are refused, filters hold."""

from __future__ import annotations

from typing import Any

import pytest

from tests.graphql.conftest import Server, create_board, create_story, mutate

BOARD_STORIES = """
query($key: String!, $first: Int, $after: String, $filter: StoryFilter) {
  board(key: $key) {
    stories(filter: $filter, first: $first, after: $after) {
      totalCount
      edges { cursor node { key } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}"""


AUDIT_PAGES = """query($filter: AuditFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    edges { cursor node { key: eventType } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""
BOARDS_PAGES = """query($after: String) {
  boards(first: 1, after: $after) {
    edges { cursor node { key } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""


def keys(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["key"] for edge in connection["edges"]]


def all_pages(server: Server, query: str, variables: dict[str, Any], path: list[str]) -> list[list[str]]:
    """Follows endCursor until the last page; returns the keys of each page."""
    pages, after = [], None
    while True:
        connection = server.post(query, {**variables, "after": after})
        for step in path:
            connection = connection[step]
        pages.append(keys(connection))
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not connection["pageInfo"]["hasNextPage"]:
            return pages
        after = connection["pageInfo"]["endCursor"]
        assert after == connection["edges"][-1]["cursor"]


@pytest.fixture(scope="module")
def board(server: Server) -> tuple[str, list[str]]:
    """A board of seven stories, by rank."""
    key = create_board(server)
    stories = [create_story(server, key, f"Story {n}") for n in range(7)]
    return key, stories


def test_board_stories_page_across_pages(server: Server, board: tuple[str, list[str]]) -> None:
    key, stories = board
    pages = all_pages(server, BOARD_STORIES, {"key": key, "first": 3}, ["board", "stories"])
    assert pages == [stories[0:3], stories[3:6], stories[6:7]]
    total = server.post(BOARD_STORIES, {"key": key, "first": 3})["board"]["stories"]["totalCount"]
    assert total == 7


def test_a_page_of_zero_and_the_default_page(server: Server, board: tuple[str, list[str]]) -> None:
    key, stories = board
    empty = server.post(BOARD_STORIES, {"key": key, "first": 0})["board"]["stories"]
    assert empty["edges"] == [] and empty["pageInfo"]["hasNextPage"] is True
    assert keys(server.post(BOARD_STORIES, {"key": key})["board"]["stories"]) == stories


def test_pages_of_nested_lists_are_their_own(server: Server, board: tuple[str, list[str]]) -> None:
    key, stories = board
    mutate(server, "moveStory", {"storyKey": stories[6], "toColumn": "DONE"}, "story { key }")
    query = """query($key: String!, $after: String) { board(key: $key) { columns {
        key stories(first: 2, after: $after) { totalCount edges { node { key } } pageInfo { hasNextPage } }
    } } }"""
    columns = server.post(query, {"key": key})["board"]["columns"]
    assert [(c["key"], c["stories"]["totalCount"], keys(c["stories"])) for c in columns] == [
        ("TODO", 6, stories[:2]),
        ("IN_PROGRESS", 0, []),
        ("DONE", 1, [stories[6]]),
    ]
    column_query = """query($key: String!, $after: String) { board(key: $key) { columns {
        stories(first: 4, after: $after) {
          edges { node { key } } pageInfo { hasNextPage hasPreviousPage endCursor }
        }
    } } }"""
    todo = server.post(column_query, {"key": key})["board"]["columns"][0]["stories"]
    after = todo["pageInfo"]["endCursor"]
    rest = server.post(column_query, {"key": key, "after": after})["board"]["columns"][0]["stories"]
    assert keys(rest) == stories[4:6] and rest["pageInfo"]["hasNextPage"] is False
    mutate(server, "moveStory", {"storyKey": stories[6], "toColumn": "TODO"}, "story { key }")


@pytest.mark.parametrize(
    ("first", "message"),
    [
        (501, "`first` may be at most 500 (got 501)"),
        (-1, "`first` must not be negative"),
        (None, "`first` must be"),
    ],
)
def test_page_sizes_beyond_the_limits_are_refused(
    server: Server, board: tuple[str, list[str]], first: int | None, message: str
) -> None:
    key, _ = board
    body = server.request(BOARD_STORIES, {"key": key, "first": first})
    [error] = body["errors"]
    assert message in error["message"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert body["data"] == {"board": None}
    for query in ("{ boards(first: 1000) { totalCount } }", "{ auditLog(first: 501) { totalCount } }"):
        assert "at most 500" in server.request(query)["errors"][0]["message"]


def test_the_largest_page_is_served(server: Server, board: tuple[str, list[str]]) -> None:
    key, stories = board
    assert keys(server.post(BOARD_STORIES, {"key": key, "first": 500})["board"]["stories"]) == stories


@pytest.mark.parametrize("cursor", ["garbage", "WyJhdWRpdCIsM10="])  # the second is an audit-log cursor
def test_cursors_of_other_lists_are_refused(
    server: Server, board: tuple[str, list[str]], cursor: str
) -> None:
    key, _ = board
    body = server.request(BOARD_STORIES, {"key": key, "after": cursor})
    assert "`after` is not a cursor of this list" in body["errors"][0]["message"]


def test_story_filters(server: Server) -> None:
    key = create_board(server)
    mutate(server, "grantRole", {"boardKey": key, "user": "bob", "role": "MEMBER"}, "board { key }")
    epic = mutate(server, "createEpic", {"boardKey": key, "title": "Cards"}, "epic { key }")["epic"]["key"]
    bug = create_story(server, key, "Crash on refund", type="BUG", labels=["urgent"], assignee="bob")
    card = create_story(server, key, "Pay by card", description="Refunds too", epicKey=epic)
    done = create_story(server, key, "Receipts", labels=["urgent_x"])
    mutate(server, "moveStory", {"storyKey": done, "toColumn": "DONE"}, "story { key }")
    mutate(server, "blockStory", {"storyKey": card, "reason": "bank"}, "story { key }")
    gone = create_story(server, key, "Old")
    mutate(server, "archiveStory", {"storyKey": gone}, "story { key }")
    sprint = {"boardKey": key, "name": "S", "startDate": "2026-01-05", "endDate": "2026-01-16"}
    sprint_id = mutate(server, "createSprint", sprint, "sprint { id }")["sprint"]["id"]
    mutate(server, "addStoryToSprint", {"sprintId": sprint_id, "storyKey": bug}, "sprint { id }")

    def matching(**filter: Any) -> list[str]:
        return keys(server.post(BOARD_STORIES, {"key": key, "filter": filter})["board"]["stories"])

    assert matching() == [bug, card, done]
    assert matching(text="REFUND") == [bug, card]  # title or description, any case
    assert matching(text="%") == []  # no wildcards
    assert matching(assignee="bob") == [bug]
    assert matching(label="urgent") == [bug]  # whole labels only
    assert matching(type="BUG") == [bug]
    assert matching(epicKey=epic) == [card]
    assert matching(sprintId=sprint_id) == [bug]
    assert matching(category="DONE") == [done]
    assert matching(category="TODO", blocked=False) == [bug]
    assert matching(blocked=True) == [card]
    assert matching(archived=True) == [gone]
    assert matching(archived=None) == [bug, card, done, gone]
    backlog = server.post(
        f'{{ board(key: "{key}") {{ backlog {{ totalCount edges {{ node {{ key }} }} }} }} }}'
    )
    assert keys(backlog["board"]["backlog"]) == [card]  # not done, not in an open sprint, not archived


def test_audit_log_filters_and_pages(server: Server) -> None:
    key = create_board(server)
    story = create_story(server, key, "Audited")
    mutate(server, "assignStory", {"storyKey": story, "assignee": "alice"}, "story { key }")
    mutate(server, "moveStory", {"storyKey": story, "toColumn": "DONE"}, "story { key }")
    query = """query($filter: AuditFilter, $first: Int, $after: String) {
      auditLog(filter: $filter, first: $first, after: $after) {
        totalCount edges { node { id sequence actor boardKey entityType entityKey eventType summary
          changes { field from to } } }
        pageInfo { hasNextPage hasPreviousPage endCursor }
      } }"""
    entries = server.post(query, {"filter": {"boardKey": key}})["auditLog"]
    types = [e["node"]["eventType"] for e in entries["edges"]]
    assert types == ["BoardCreated", "StoryCreated", "StoryAssigned", "StoryMoved"]
    sequences = [e["node"]["sequence"] for e in entries["edges"]]
    assert sequences == sorted(sequences)
    moved = entries["edges"][-1]["node"]
    assert moved["summary"] == f"alice moved {story} from To Do to Done"
    assert moved["changes"] == [{"field": "column", "from": "TODO", "to": "DONE"}]
    assert (moved["entityType"], moved["entityKey"], moved["actor"]) == ("Story", story, "alice")

    def sequence_of(filter: dict[str, Any]) -> list[str]:
        data = server.post(query, {"filter": {"boardKey": key, **filter}})["auditLog"]
        return [e["node"]["eventType"] for e in data["edges"]]

    assert sequence_of({"storyKey": story, "eventTypes": ["StoryMoved", "StoryAssigned"]}) == [
        "StoryAssigned",
        "StoryMoved",
    ]
    assert sequence_of({"actor": "bob"}) == []
    assert sequence_of({"from": "2999-01-01T00:00:00Z"}) == []
    assert sequence_of({"to": "2000-01-01T00:00:00+02:00"}) == []
    assert len(sequence_of({"from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"})) == 4

    pages = all_pages(server, AUDIT_PAGES, {"filter": {"boardKey": key}, "first": 3}, ["auditLog"])
    assert pages == [types[:3], types[3:]]


def test_node_fetches_every_kind_of_object(server: Server) -> None:
    key = create_board(server)
    story = create_story(server, key)
    epic = mutate(server, "createEpic", {"boardKey": key, "title": "E"}, "epic { id }")["epic"]["id"]
    sprint = {"boardKey": key, "name": "S", "startDate": "2026-01-05", "endDate": "2026-01-16"}
    sprint_id = mutate(server, "createSprint", sprint, "sprint { id }")["sprint"]["id"]
    ids = server.post(
        f"""{{ board(key: "{key}") {{ id history(first: 1) {{ edges {{ node {{ id }} }} }} }}
             story(key: "{story}") {{ id }} }}"""
    )
    query = """query($id: ID!) { node(id: $id) { __typename id
        ... on Board { key } ... on Story { key } ... on Epic { key } ... on Sprint { name }
        ... on AuditEntry { eventType } } }"""
    expected = {
        ids["board"]["id"]: ("Board", {"key": key}),
        ids["story"]["id"]: ("Story", {"key": story}),
        epic: ("Epic", {"key": f"{key}-E1"}),
        sprint_id: ("Sprint", {"name": "S"}),
        ids["board"]["history"]["edges"][0]["node"]["id"]: ("AuditEntry", {"eventType": "BoardCreated"}),
    }
    for node_id, (typename, fields) in expected.items():
        node = server.post(query, {"id": node_id})["node"]
        assert node == {"__typename": typename, "id": node_id, **fields}
    for unknown in ("nope", "audit-0", "00000000-0000-4000-8000-000000000000"):
        assert server.post(query, {"id": unknown})["node"] is None


def test_viewer_and_boards(server: Server) -> None:
    key = create_board(server)
    viewer = "{ viewer { name roles { boardKey role } } }"
    assert server.post(viewer, user="dora") == {"viewer": {"name": "dora", "roles": []}}
    assert {"boardKey": key, "role": "ADMIN"} in server.post(viewer)["viewer"]["roles"]
    boards = all_pages(
        server,
        BOARDS_PAGES,
        {},
        ["boards"],
    )
    assert [key] in boards
    assert server.post('{ board(key: "NOSUCH") { key } story(key: "NO-1") { key } }') == {
        "board": None,
        "story": None,
    }


def test_sprints_page_by_planned_start(server: Server) -> None:
    key = create_board(server)
    starts = ["2026-03-02", "2026-01-05", "2026-02-02"]
    ids = {
        start: mutate(
            server,
            "createSprint",
            {"boardKey": key, "name": start, "startDate": start, "endDate": start},
            "sprint { id }",
        )["sprint"]["id"]
        for start in starts
    }
    query = """query($key: String!, $after: String) { board(key: $key) {
        sprints(first: 2, after: $after) {
          totalCount edges { cursor node { key: name } } pageInfo { hasNextPage hasPreviousPage endCursor }
        } } }"""
    pages = all_pages(server, query, {"key": key}, ["board", "sprints"])
    assert pages == [["2026-01-05", "2026-02-02"], ["2026-03-02"]]
    mutate(server, "startSprint", {"sprintId": ids["2026-01-05"]}, "sprint { id }")
    active = server.post(
        """query($key: String!) { board(key: $key) {
          sprints(state: ACTIVE) { totalCount edges { node { id } } }
        } }""",
        {"key": key},
    )["board"]["sprints"]
    assert active == {"totalCount": 1, "edges": [{"node": {"id": ids["2026-01-05"]}}]}
