"""Every connection pages both ways: `first`/`after` forward, `last`/`before` backward, with pageInfo right
at both ends, and Board.stories in every order of StoryOrder, ties broken by story number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.graphql.conftest import Server, create_board, create_story, mutate

PAGE = "edges { cursor node { %s } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
ARGS = "first: $first, after: $after, last: $last, before: $before"
VARS = "$first: Int, $after: String, $last: Int, $before: String"

# Points with ties and gaps (None: unestimated), and priorities with ties.
POINTS = [3.0, None, 1.0, 3.0, 5.0, None, 3.0]
PRIORITIES = ["HIGH", "LOW", "HIGH", "HIGHEST", "MEDIUM", "HIGH", "LOWEST"]
PRIORITY_WEIGHT = {name: n for n, name in enumerate(["LOWEST", "LOW", "MEDIUM", "HIGH", "HIGHEST"])}


@dataclass(frozen=True)
class Fixture:
    board: str
    stories: list[str]  # in creation order, so by rank and number
    sprint: str
    epic: str


@pytest.fixture(scope="module")
def data(server: Server) -> Fixture:
    board = create_board(server)
    for _ in range(3):  # more boards of alice's to page through
        create_board(server)
    epic = mutate(server, "createEpic", {"boardKey": board, "title": "Epic"}, "epic { key }")["epic"]["key"]
    sprint_input = {"boardKey": board, "name": "S", "startDate": "2026-01-05", "endDate": "2026-01-16"}
    sprint = mutate(server, "createSprint", sprint_input, "sprint { id }")["sprint"]["id"]
    for start in ("2026-01-19", "2026-02-02", "2026-02-16"):
        dates = {"boardKey": board, "name": start, "startDate": start, "endDate": start}
        mutate(server, "createSprint", dates, "sprint { id }")
    stories = [
        create_story(server, board, f"Story {n}", points=points, priority=priority, epicKey=epic)
        for n, (points, priority) in enumerate(zip(POINTS, PRIORITIES, strict=True))
    ]
    for story in stories[:4]:
        mutate(server, "addStoryToSprint", {"sprintId": sprint, "storyKey": story}, "sprint { id }")
    for points in (8.0, POINTS[0]):  # a first story with a history long enough to page
        mutate(server, "estimateStory", {"storyKey": stories[0], "points": points}, "story { key }")
    return Fixture(board, stories, sprint, epic)


def connection_at(data: dict[str, Any], path: list[str]) -> dict[str, Any]:
    for step in path:
        data = data[step][0] if isinstance(data[step], list) else data[step]
    return data


def walk(
    server: Server, query: str, variables: dict[str, Any], path: list[str], size: int, *, backward: bool
):
    """Follows the cursors from one end to the other; returns every page's node ids, in list order."""
    pages: list[list[Any]] = []
    cursor = None
    while True:
        page_vars = {"last": size, "before": cursor} if backward else {"first": size, "after": cursor}
        connection = connection_at(server.post(query, {**variables, **page_vars}), path)
        ids = [edge["node"]["id"] for edge in connection["edges"]]
        info = connection["pageInfo"]
        assert len(ids) <= size
        if ids:
            assert info["startCursor"] == connection["edges"][0]["cursor"]
            assert info["endCursor"] == connection["edges"][-1]["cursor"]
        # The side we came from has more exactly when we came from a cursor.
        came_from, going_to = (
            ("hasNextPage", "hasPreviousPage") if backward else ("hasPreviousPage", "hasNextPage")
        )
        assert info[came_from] is (cursor is not None), (info, cursor)
        pages.insert(0, ids) if backward else pages.append(ids)
        if not info[going_to]:
            assert ids or cursor is None
            return pages
        assert len(ids) == size
        cursor = info["startCursor"] if backward else info["endCursor"]


def check_both_ways(server: Server, query: str, variables: dict[str, Any], path: list[str]) -> list[Any]:
    """Every page size reads the same list forward and backward; returns that list."""
    # Pages of 100: lists nested in columns or epics cost by their bound times the page size.
    whole = connection_at(server.post(query, {**variables, "first": 100}), path)
    assert not whole["pageInfo"]["hasNextPage"], "the whole list in one page"
    expected = [edge["node"]["id"] for edge in whole["edges"]]
    assert len(expected) >= 3, "a list long enough to page"
    for size in (1, 2, 3, len(expected), len(expected) + 1):
        for backward in (False, True):
            pages = walk(server, query, variables, path, size, backward=backward)
            assert [id for page in pages for id in page] == expected, (size, backward)
            # Pages are full except the one at the far end of the reading.
            assert all(len(page) == size for page in (pages[1:] if backward else pages[:-1]))
    return expected


def connection(declared: str, fields: list[str], node_id: str, extra: str = "") -> tuple[str, list[str]]:
    """A query of one page of the list at the end of ``fields``, and the path to it."""
    *outer, last = fields
    text = f"{last}({extra}{ARGS}) {{ {PAGE % node_id} }}"
    for field in reversed(outer):
        text = f"{field} {{ {text} }}"
    return f"query({declared}{VARS}) {{ {text} }}", [field.split("(")[0] for field in fields]


BOARD = "board(key: $board)"
CONNECTIONS = {
    "Query.boards": connection("", ["boards"], "id: key"),
    "Query.auditLog": connection(
        "$board: String!, ", ["auditLog"], "id: sequence", "filter: {boardKey: $board}, "
    ),
    "Board.backlog": connection("$board: String!, ", [BOARD, "backlog"], "id: key"),
    "Board.sprints": connection("$board: String!, ", [BOARD, "sprints"], "id"),
    "Board.stories": connection("$board: String!, ", [BOARD, "stories"], "id: key"),
    "Board.history": connection("$board: String!, ", [BOARD, "history"], "id: sequence"),
    "Column.stories": connection("$board: String!, ", [BOARD, "columns", "stories"], "id: key"),
    "Epic.stories": connection("$board: String!, ", [BOARD, "epics", "stories"], "id: key"),
    "Sprint.stories": connection("$sprint: ID!, ", ["sprint(id: $sprint)", "stories"], "id: key"),
    "Story.history": connection("$story: String!, ", ["story(key: $story)", "history"], "id: sequence"),
}


@pytest.mark.parametrize("name", sorted(CONNECTIONS))
def test_every_connection_pages_forward_and_backward(server: Server, data: Fixture, name: str) -> None:
    query, path = CONNECTIONS[name]
    variables = {"board": data.board, "sprint": data.sprint, "story": data.stories[0]}
    used = {k: v for k, v in variables.items() if f"${k}:" in query}
    listed = check_both_ways(server, query, used, path)
    if name in ("Board.stories", "Column.stories", "Epic.stories"):
        assert listed == data.stories
    if name == "Sprint.stories":
        assert listed == data.stories[:4]


ORDERED = f"""query($board: String!, $order: StoryOrder, {VARS}) {{
  board(key: $board) {{ stories(orderBy: $order, {ARGS}) {{ {PAGE % "id: key"} }} }}
}}"""


@pytest.mark.parametrize("field", ["RANK", "KEY", "CREATED_AT", "UPDATED_AT", "POINTS", "PRIORITY"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_stories_in_every_order_page_both_ways_with_ties(
    server: Server, data: Fixture, field: str, direction: str
) -> None:
    variables = {"board": data.board, "order": {"field": field, "direction": direction}}
    listed = check_both_ways(server, ORDERED, variables, ["board", "stories"])
    number = {key: n for n, key in enumerate(data.stories)}
    sort_keys = {
        "POINTS": lambda n: (-1.0 if POINTS[n] is None else POINTS[n], n),
        "PRIORITY": lambda n: (PRIORITY_WEIGHT[PRIORITIES[n]], n),
    }
    by = sort_keys.get(field, lambda n: n)  # rank, key and creation follow the story number here
    expected = sorted(data.stories, key=lambda key: by(number[key]), reverse=direction == "DESC")
    if field != "UPDATED_AT":  # the sprint and estimate changes above reorder updates
        assert listed == expected


def test_updated_at_order_follows_the_last_change(server: Server, data: Fixture) -> None:
    last_touched = data.stories[2]
    mutate(server, "updateStory", {"storyKey": last_touched, "title": "Touched"}, "story { key }")
    variables = {"board": data.board, "order": {"field": "UPDATED_AT", "direction": "DESC"}, "first": 1}
    newest = server.post(ORDERED, variables)["board"]["stories"]["edges"][0]["node"]["id"]
    assert newest == last_touched


def test_cursors_of_another_order_and_mixed_directions_are_refused(server: Server, data: Fixture) -> None:
    ranked = {"board": data.board, "first": 2}
    cursor = server.post(ORDERED, ranked)["board"]["stories"]["pageInfo"]["endCursor"]
    by_points = {"board": data.board, "order": {"field": "POINTS"}, "first": 2, "after": cursor}
    refused = server.request(ORDERED, by_points)
    assert "`after` is not a cursor of this list" in refused["errors"][0]["message"]
    mixed = server.request(ORDERED, {"board": data.board, "last": 2, "after": cursor})
    assert "`before` pages backward with `last`" in mixed["errors"][0]["message"]
    too_many = server.request(ORDERED, {"board": data.board, "last": 100_000})
    assert "`last` may be at most" in too_many["errors"][0]["message"]
