"""What one request may ask for: lists without `first` count by their real bound, and many columns
are read in pieces SQLite accepts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graphql import parse
from storyline_graphql.cost import list_bounds, query_cost
from storyline_graphql.schema import build_schema
from storyline_service.settings import Settings
from tests.graphql.conftest import Server, create_board, create_story, mutate, serve

COLUMN_PAGES = '{ board(key: "X") { columns { stories(first: 5) { edges { node { key } } } } } }'


def cost(query: str, settings: Settings) -> int:
    schema = build_schema(settings)._schema
    [operation] = parse(query).definitions
    return query_cost(schema, operation, {}, {}, settings.max_page_size, list_bounds(settings))  # type: ignore[arg-type]


def test_lists_without_first_count_by_their_configured_bound() -> None:
    # board + columns + per column (stories + edges) + per story node
    assert cost(COLUMN_PAGES, Settings()) == 1 + 1 + 50 * 2 + 50 * 5
    assert cost(COLUMN_PAGES, Settings(max_columns=5000)) == 1 + 1 + 5000 * 2 + 5000 * 5
    epics = '{ board(key: "X") { epics { stories(first: 2) { edges { node { key } } } } } }'
    assert cost(epics, Settings(max_epics_per_board=7)) == 1 + 1 + 7 * 2 + 7 * 2
    # A list that no setting bounds counts as a full page.
    added = '{ sprint(id: "x") { report { added { story { key } } } } }'
    assert cost(added, Settings(max_page_size=300)) == 1 + 1 + 1 + 300


def test_5000_columns_would_be_refused_by_the_cost_limit() -> None:
    assert cost(COLUMN_PAGES, Settings(max_columns=5000)) > Settings().max_query_cost


MANY = 600  # SQLite refuses a compound SELECT of more than 500 parts


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(request, tmp_path_factory, {"STORYLINE_MAX_COLUMNS": str(MANY)})


def test_a_board_with_more_columns_than_sqlite_unites_in_one_query_is_read(server: Server) -> None:
    columns = [{"key": "TODO", "name": "To Do", "category": "TODO"}]
    columns += [{"key": f"C{n}", "name": f"Step {n}", "category": "IN_PROGRESS"} for n in range(MANY - 2)]
    columns += [{"key": "DONE", "name": "Done", "category": "DONE"}]
    board = create_board(server, columns=columns)
    story = create_story(server, board)
    pages = "columns { key stories(first: 1) { edges { node { key } } } }"
    read = server.post(f'{{ board(key: "{board}") {{ {pages} }} }}')["board"]["columns"]
    assert len(read) == MANY
    assert read[0]["stories"]["edges"] == [{"node": {"key": story}}]
    assert all(column["stories"]["edges"] == [] for column in read[1:])
    too_many = [*columns[:-1], {"key": "EXTRA", "name": "x", "category": "TODO"}, columns[-1]]
    input = {"key": "TOOMANY", "name": "x", "columns": too_many}
    refused = mutate(server, "createBoard", input, "board { key }")
    message = f"a board has at most {MANY} columns"
    assert refused["errors"] == [{"code": "VALIDATION", "field": "columns", "message": message}]
