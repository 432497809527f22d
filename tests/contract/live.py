"""A real Storyline server on a fresh database with the demo board PAY, and a client that speaks the contract.

The demo is loaded as of yesterday, so every step of its history lies in the
past whatever the time of day: the same code always serves the same board.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.demo import load_demo
from storyline_service.settings import Settings
from tests.contract.documents import documents
from tests.graphql.conftest import start_server

ADMIN_TOKEN = "contract-tests-admin-token"
BOARD = "PAY"
TIMEOUT = 10


WEDNESDAY = 2


def demo_day() -> date:
    """The demo's "today": the last Wednesday before today. The demo lays its sprints out by the
    weekday of its day (they run Monday to Friday), so a fixed weekday gives the same history, and
    the same examples, on whatever day the tests run."""
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    return yesterday - timedelta(days=(yesterday.weekday() - WEDNESDAY) % 7)


class Client:
    """Sends the contract's operations by name, with a token, as any frontend would."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def send(self, operation: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole response body of one operation."""
        body = {"query": documents()[operation], "operationName": operation, "variables": variables or {}}
        response = self.http.post("/graphql", json=body)
        assert response.status_code in (200, 400), f"{operation}: HTTP {response.status_code} {response.text}"
        result: dict[str, Any] = response.json()
        return result

    def data(self, operation: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data of an operation that must not fail at the GraphQL level."""
        body = self.send(operation, variables)
        assert "errors" not in body, f"{operation}: {body['errors']}"
        data: dict[str, Any] = body["data"]
        return data

    def first_event(self, variables: dict[str, Any], then: Callable[[], object]) -> dict[str, Any]:
        """Subscribes to BoardEvents, calls ``then()``, and returns the first `next` payload."""
        ws_url = self.url.replace("http://", "ws://") + "/graphql"
        with connect(ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}
            ws.send(json.dumps(init))
            assert json.loads(ws.recv(TIMEOUT))["type"] == "connection_ack"
            query = documents()["BoardEvents"]
            payload = {"query": query, "operationName": "BoardEvents", "variables": variables}
            ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            time.sleep(0.5)  # the subscription notes the end of the log when it starts
            then()
            while True:
                message = json.loads(ws.recv(TIMEOUT))
                if message["type"] != "ping":
                    break
            assert message["type"] == "next", message
            event: dict[str, Any] = message["payload"]
            return event

    def close(self) -> None:
        self.http.close()


@dataclass
class DemoServer:
    url: str
    runtime: Runtime
    log: Path
    clients: list[Client] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    def token(self, user: str) -> str:
        """A new API token for ``user`` (the demo makes alice ADMIN, dave MANAGER, bob and carol MEMBERs)."""
        return self.runtime.tokens.create(user)[1]

    def client(self, token: str = ADMIN_TOKEN) -> Client:
        client = Client(self.url, token)
        self.clients.append(client)
        return client


@contextmanager
def demo_server(folder: Path, env: dict[str, str] | None = None) -> Iterator[DemoServer]:
    """Loads the demo into a new SQLite database, then serves it with ADMIN_TOKEN as the admin token
    (and ``env``: more STORYLINE_* settings for the server)."""
    url = f"sqlite:///{folder}/storyline.db"
    runtime = bootstrap(Settings(database_url=url))
    load_demo(runtime.app, runtime.engine, today=demo_day())
    server_env = {"STORYLINE_DATABASE_URL": url, "STORYLINE_ADMIN_TOKEN": ADMIN_TOKEN, **(env or {})}
    process: subprocess.Popen[bytes]
    process, base_url = start_server(runtime.settings, server_env, folder / "server.log")
    server = DemoServer(base_url, runtime, folder / "server.log")
    try:
        yield server
    finally:
        for client in server.clients:
            client.close()
        process.terminate()
        process.wait(timeout=10)
        runtime.close()
