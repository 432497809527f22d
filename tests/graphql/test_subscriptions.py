"""boardEvents pushes each audit entry of its board as it is recorded, by this server or any other process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from storyline_service.application import Caller
from tests.graphql.conftest import Server, create_board, create_story, mutate

BOARD_EVENTS = """subscription($key: String!) {
  boardEvents(boardKey: $key) {
    id sequence actor boardKey entityKey eventType summary changes { field from to }
  }
}"""
TIMEOUT = 10


@contextmanager
def connected(server: Server, init: dict[str, Any] | None) -> Iterator[ClientConnection]:
    """A graphql-transport-ws connection that sent ``init`` as its connection_init payload."""
    protocols = [Subprotocol("graphql-transport-ws")]
    with connect(server.ws_url, subprotocols=protocols) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": init or {}}))
        yield ws


@contextmanager
def subscribed(server: Server, board: str, user: str = "carol") -> Iterator[ClientConnection]:
    """A connection of ``user``, subscribed to ``board``'s events."""
    with connected(server, {"Authorization": f"Bearer {server.token(user)}"}) as ws:
        assert json.loads(ws.recv(TIMEOUT))["type"] == "connection_ack"
        payload = {"query": BOARD_EVENTS, "variables": {"key": board}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        yield ws


def next_event(ws: ClientConnection) -> Any:
    message = json.loads(ws.recv(TIMEOUT))
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    return message["payload"]["data"]["boardEvents"]


def test_events_recorded_by_another_client_are_pushed(server: Server) -> None:
    board = create_board(server)
    story = create_story(server, board, "Live")
    other = create_board(server)
    mutate(server, "grantRole", {"boardKey": board, "user": "carol", "role": "VIEWER"}, "board { key }")
    with subscribed(server, board) as ws:
        wait_until_listening()
        mutate(server, "moveStory", {"storyKey": story, "toColumn": "DONE"}, "story { key }", user="alice")
        create_story(server, other, "Elsewhere")  # another board: not pushed
        mutate(server, "assignStory", {"storyKey": story, "assignee": "carol"}, "story { key }")

        moved, assigned = next_event(ws), next_event(ws)
    assert (moved["eventType"], moved["actor"], moved["entityKey"]) == ("StoryMoved", "alice", story)
    assert moved["summary"] == f"alice moved {story} from To Do to Done"
    assert moved["changes"] == [{"field": "column", "from": "TODO", "to": "DONE"}]
    assert assigned["eventType"] == "StoryAssigned" and assigned["sequence"] > moved["sequence"]


def test_events_recorded_by_another_process_are_pushed(server: Server) -> None:
    """The test process writes to the database itself; the server projects and pushes the event."""
    board = create_board(server)
    story = create_story(server, board, "Written elsewhere")
    with subscribed(server, board, user="alice") as ws:
        wait_until_listening()
        server.runtime.app.block_story(Caller("alice"), story, "waiting on legal")
        event = next_event(ws)
    assert (event["eventType"], event["entityKey"]) == ("StoryBlocked", story)
    assert event["summary"] == f"alice blocked {story}: waiting on legal"


def refusal(ws: ClientConnection) -> str:
    message = json.loads(ws.recv(TIMEOUT))
    assert message["type"] in ("error", "next"), message
    return json.dumps(message)


def test_subscribing_to_an_unknown_board_is_an_error(server: Server) -> None:
    with subscribed(server, "NOSUCH", user="alice") as ws:
        assert "board NOSUCH not found" in refusal(ws)


def test_subscribing_needs_a_role_on_the_board(server: Server) -> None:
    board = create_board(server)
    with subscribed(server, board, user="mallory") as ws:
        assert f"board {board} not found" in refusal(ws)


def test_subscribing_needs_a_token(server: Server) -> None:
    revoked_id, revoked = server.runtime.tokens.create("alice")
    server.runtime.tokens.revoke(revoked_id)
    for init in ({}, {"Authorization": "Bearer sl_no_such_token"}, {"authorization": f"Bearer {revoked}"}):
        with connected(server, init) as ws, pytest.raises(ConnectionClosed) as closed:
            ws.recv(TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401, init
    # The lower-case key is accepted too.
    with connected(server, {"authorization": f"Bearer {server.token('alice')}"}) as ws:
        assert json.loads(ws.recv(TIMEOUT))["type"] == "connection_ack"


def test_a_revoked_role_ends_the_subscription(server: Server) -> None:
    board = create_board(server)
    mutate(server, "grantRole", {"boardKey": board, "user": "carol", "role": "VIEWER"}, "board { key }")
    with subscribed(server, board) as ws:
        wait_until_listening()
        mutate(server, "revokeRole", {"boardKey": board, "user": "carol"}, "board { key }")
        create_story(server, board, "Not for carol")
        assert f"board {board} not found" in refusal(ws)


def wait_until_listening() -> None:
    """The subscription notes the end of the log when it starts; give it a moment to do so."""
    time.sleep(0.3)


def test_a_revoked_token_ends_the_subscription(server: Server) -> None:
    board = create_board(server)
    mutate(server, "grantRole", {"boardKey": board, "user": "dave", "role": "VIEWER"}, "board { key }")
    token_id, token = server.runtime.tokens.create("dave")
    with connected(server, {"Authorization": f"Bearer {token}"}) as ws:
        assert json.loads(ws.recv(TIMEOUT))["type"] == "connection_ack"
        payload = {"query": BOARD_EVENTS, "variables": {"key": board}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        wait_until_listening()
        server.runtime.tokens.revoke(token_id)
        create_story(server, board, "Not for a revoked token")
        answer = refusal(ws)
        assert "Authentication required" in answer and "Not for a revoked token" not in answer


def test_a_websocket_carries_subscriptions_only(server: Server) -> None:
    """Queries and mutations go over HTTP, where each request is authenticated afresh."""
    board = create_board(server)
    with connected(server, server.auth("alice")) as ws:
        assert json.loads(ws.recv(TIMEOUT))["type"] == "connection_ack"
        query = {"query": "query($key: String!) { board(key: $key) { name } }", "variables": {"key": board}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": query}))
        answer = refusal(ws)
        assert '"errors"' in answer or '"type": "error"' in answer
        assert '"name"' not in answer
