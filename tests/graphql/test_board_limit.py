"""Past STORYLINE_MAX_BOARDS_PER_USER, createBoard answers a VALIDATION error as data and records nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.graphql.conftest import CREATE_BOARD, Server, serve

LIMIT = 2


@pytest.fixture(scope="module", params=["sqlite"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(request, tmp_path_factory, {"STORYLINE_MAX_BOARDS_PER_USER": str(LIMIT)})


def create(server: Server, key: str, user: str) -> dict[str, object]:
    payload: dict[str, object] = server.post(CREATE_BOARD, {"input": {"key": key, "name": key}}, user)[
        "createBoard"
    ]
    return payload


def test_a_user_past_the_limit_gets_a_validation_error_and_no_board(server: Server) -> None:
    assert [create(server, key, "carol")["errors"] for key in ("CAA", "CAB")] == [[], []]
    refused = create(server, "CAC", "carol")
    assert refused == {
        "board": None,
        "errors": [
            {"code": "VALIDATION", "message": f"a user may create at most {LIMIT} boards", "field": None}
        ],
    }
    assert server.post('{ board(key: "CAC") { key } }', user="admin") == {"board": None}
    roles = server.post("{ viewer { roles { boardKey } } }", user="carol")["viewer"]["roles"]
    assert sorted(role["boardKey"] for role in roles) == ["CAA", "CAB"]
    # Admin tokens set boards up for others and are not counted.
    assert [create(server, key, "admin")["errors"] for key in ("ADA", "ADB", "ADC")] == [[], [], []]
