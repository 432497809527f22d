"""Server faults reach clients as one masked line with a correlation id; the log has the detail."""

from __future__ import annotations

import time

from sqlalchemy import text

from tests.graphql.conftest import Server, create_board, create_story


def test_unexpected_errors_are_masked_and_logged(server: Server) -> None:
    board = create_board(server)
    story = create_story(server, board, "Broken")
    with server.runtime.engine.begin() as conn:  # a row no projection would write
        conn.execute(text("UPDATE stories SET type = 'WEIRD' WHERE key = :key"), {"key": story})

    response = server.client().post(
        "/graphql",
        json={"query": f'{{ story(key: "{story}") {{ key }} viewer {{ name }} }}'},
        headers={"x-request-id": "fault-42"},
    )

    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"story": None, "viewer": {"name": "alice"}}
    [error] = body["errors"]
    assert error["message"] == "Internal server error (correlation id fault-42)."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "correlationId": "fault-42"}
    assert "WEIRD" not in response.text and "Traceback" not in response.text
    log = wait_for_log(server, "fault-42")
    assert "Traceback" in log and "WEIRD" in log


def test_a_storage_failure_is_a_503(server: Server) -> None:
    board = create_board(server)
    with server.runtime.engine.begin() as conn:
        conn.execute(text("DROP TABLE epics"))
    response = server.client().post(
        "/graphql", json={"query": f'{{ board(key: "{board}") {{ epics {{ key }} }} }}'}
    )
    if server.settings.is_postgres:  # a missing table is a programming error there, not an outage
        assert response.status_code == 200
    else:
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert "epics" not in response.json()["errors"][0]["message"]


def wait_for_log(server: Server, needle: str) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        log = server.log.read_text()
        if needle in log:
            return log
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} not in the server log:\n{server.log.read_text()}")
