"""boardEvents pushes each audit entry of its board as it is recorded, by this server or any other process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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
def subscribed(server: Server, board: str, user: str = "carol") -> Iterator[ClientConnection]:
    """A graphql-transport-ws connection subscribed to ``board``'s events."""
    headers = {"X-Storyline-User": user}
    protocols = [Subprotocol("graphql-transport-ws")]
    with connect(server.ws_url, subprotocols=protocols, additional_headers=headers) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
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
    with subscribed(server, board) as ws:
        wait_until_listening()
        mutate(server, "moveStory", {"storyKey": story, "toColumn": "DONE"}, "story { key }", user="alice")
        create_story(server, other, "Elsewhere")  # another board: not pushed
        mutate(server, "assignStory", {"storyKey": story, "assignee": "bob"}, "story { key }")

        moved, assigned = next_event(ws), next_event(ws)
    assert (moved["eventType"], moved["actor"], moved["entityKey"]) == ("StoryMoved", "alice", story)
    assert moved["summary"] == f"alice moved {story} from To Do to Done"
    assert moved["changes"] == [{"field": "column", "from": "TODO", "to": "DONE"}]
    assert assigned["eventType"] == "StoryAssigned" and assigned["sequence"] > moved["sequence"]


def test_events_recorded_by_another_process_are_pushed(server: Server) -> None:
    """The test process writes to the database itself; the server projects and pushes the event."""
    board = create_board(server)
    story = create_story(server, board, "Written elsewhere")
    with subscribed(server, board) as ws:
        wait_until_listening()
        server.runtime.app.block_story(Caller("alice"), story, "waiting on legal")
        event = next_event(ws)
    assert (event["eventType"], event["entityKey"]) == ("StoryBlocked", story)
    assert event["summary"] == f"alice blocked {story}: waiting on legal"


def test_subscribing_to_an_unknown_board_is_an_error(server: Server) -> None:
    protocols = [Subprotocol("graphql-transport-ws")]
    with connect(server.ws_url, subprotocols=protocols) as ws:
        ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(ws.recv(TIMEOUT))["type"] == "connection_ack"
        payload = {"query": BOARD_EVENTS, "variables": {"key": "NOSUCH"}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        message = json.loads(ws.recv(TIMEOUT))
    assert message["type"] in ("error", "next"), message
    assert "board NOSUCH not found" in json.dumps(message)


def wait_until_listening() -> None:
    """The subscription notes the end of the log when it starts; give it a moment to do so."""
    time.sleep(0.3)
