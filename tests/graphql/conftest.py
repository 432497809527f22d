"""A real Storyline server process per backend, and clients that talk to it over HTTP and WebSocket.

Each test module gets its own server and database (SQLite file or PostgreSQL
schema); tests inside a module keep apart by using boards of their own.
"""

from __future__ import annotations

import os
import random
import socket
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.settings import Settings
from tests.conftest import POSTGRES_URL, require_postgres

STARTUP_SECONDS = 120  # generous: a busy shared machine imports slowly


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ADMIN_TOKEN = "test-admin-token"  # the server's STORYLINE_ADMIN_TOKEN: the user "admin"


@dataclass
class Server:
    """A running `uvicorn` process serving Storyline, and a runtime on the same database."""

    url: str
    settings: Settings
    runtime: Runtime
    log: Path
    clients: dict[str, httpx.Client] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=lambda: {"admin": ADMIN_TOKEN})
    process: subprocess.Popen[bytes] | None = None

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    def token(self, user: str = "alice") -> str:
        """An API token of ``user``, made once per server."""
        if user not in self.tokens:
            self.tokens[user] = self.runtime.tokens.create(user)[1]
        return self.tokens[user]

    def auth(self, user: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def client(self, user: str = "alice") -> httpx.Client:
        if user not in self.clients:
            self.clients[user] = httpx.Client(base_url=self.url, headers=self.auth(user), timeout=30)
        return self.clients[user]

    def post(self, query: str, variables: dict[str, Any] | None = None, user: str = "alice") -> Any:
        """A GraphQL request that must not fail at the GraphQL level; returns its data."""
        body = self.request(query, variables, user)
        assert "errors" not in body, body
        return body["data"]

    def request(self, query: str, variables: dict[str, Any] | None = None, user: str = "alice") -> Any:
        response = self.client(user).post("/graphql", json={"query": query, "variables": variables or {}})
        assert response.status_code in (200, 400), response.text
        return response.json()

    def head(self) -> int:
        """The last position of the event log: it moves on every recorded change."""
        return self.runtime.projector.head()


def start_server(
    settings: Settings,
    env: dict[str, str],
    log: Path,
    serve: list[str] | None = None,
    startup_seconds: float = STARTUP_SECONDS,
) -> tuple[subprocess.Popen[bytes], str]:
    """Uvicorn serving the app, or ``storyline serve`` with the ``serve`` options when given."""
    port = free_port()
    where = ["--host", "127.0.0.1", "--port", str(port)]
    if serve is None:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "storyline_entrypoints.web:create_app",
            *where,
        ]
    else:
        command = [str(Path(sys.executable).parent / "storyline"), "serve", *serve, *where]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited at start:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the server did not start within {startup_seconds} s:\n{log.read_text()}")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(request, tmp_path_factory, {})


def serve(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, extra_env: dict[str, str]
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("server")
    schema = None
    if request.param == "postgres":
        require_postgres()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        settings = Settings(database_url=POSTGRES_URL, database_schema=schema)
        env = {"STORYLINE_DATABASE_URL": POSTGRES_URL, "STORYLINE_DATABASE_SCHEMA": schema}
    else:
        url = f"sqlite:///{folder}/storyline.db"
        settings = Settings(database_url=url)
        env = {"STORYLINE_DATABASE_URL": url}
    runtime = bootstrap(settings, read_your_writes=False)
    # Limits far above what a test module does, unless the module asks for its own.
    env |= {
        "STORYLINE_ADMIN_TOKEN": ADMIN_TOKEN,
        "STORYLINE_RATE_LIMIT": "1000000",
        "STORYLINE_MAX_BOARDS_PER_USER": "1000000",
    }
    process, base_url = start_server(settings, {**env, **extra_env}, folder / "server.log")
    server = Server(base_url, settings, runtime, folder / "server.log", process=process)
    try:
        yield server
    finally:
        for client in server.clients.values():
            client.close()
        process.terminate()
        process.wait(timeout=10)
        runtime.close()
        if schema:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def new_board_key() -> str:
    return "".join(random.choices(string.ascii_uppercase, k=8))


CREATE_BOARD = """
mutation($input: CreateBoardInput!) {
  createBoard(input: $input) { board { key version } errors { code message field } }
}"""

CREATE_STORY = """
mutation($input: CreateStoryInput!) {
  createStory(input: $input) { story { key version } errors { code message field } }
}"""


def create_board(server: Server, *, user: str = "alice", **input: Any) -> str:
    key = input.pop("key", None) or new_board_key()
    data = server.post(CREATE_BOARD, {"input": {"key": key, "name": f"Board {key}", **input}}, user)
    assert data["createBoard"]["errors"] == []
    return key


def create_story(server: Server, board: str, title: str = "A story", **input: Any) -> str:
    data = server.post(CREATE_STORY, {"input": {"boardKey": board, "title": title, **input}})
    assert data["createStory"]["errors"] == [], data
    return str(data["createStory"]["story"]["key"])


def mutate(server: Server, name: str, input: dict[str, Any], selection: str, user: str = "alice") -> Any:
    """Runs one mutation of the contract; returns its payload."""
    input_type = INPUT_TYPES[name]
    query = (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) "
        f"{{ {selection} errors {{ code message field }} clientMutationId }} }}"
    )
    return server.post(query, {"input": input}, user)[name]


INPUT_TYPES = {
    "createBoard": "CreateBoardInput",
    "configureColumns": "ConfigureColumnsInput",
    "configureCalendar": "ConfigureCalendarInput",
    "grantRole": "GrantRoleInput",
    "revokeRole": "RevokeRoleInput",
    "createStory": "CreateStoryInput",
    "createStories": "CreateStoriesInput",
    "addStoriesToSprint": "AddStoriesToSprintInput",
    "archiveBoard": "ArchiveBoardInput",
    "updateStory": "UpdateStoryInput",
    "estimateStory": "EstimateStoryInput",
    "assignStory": "AssignStoryInput",
    "moveStory": "MoveStoryInput",
    "rankStory": "RankStoryInput",
    "blockStory": "BlockStoryInput",
    "unblockStory": "StoryRefInput",
    "archiveStory": "StoryRefInput",
    "createEpic": "CreateEpicInput",
    "setStoryEpic": "SetStoryEpicInput",
    "createSprint": "CreateSprintInput",
    "updateSprint": "UpdateSprintInput",
    "addStoryToSprint": "SprintStoryInput",
    "removeStoryFromSprint": "SprintStoryInput",
    "startSprint": "SprintRefInput",
    "completeSprint": "CompleteSprintInput",
    "setEpicTargetDate": "SetEpicTargetDateInput",
    "setEpicHealth": "SetEpicHealthInput",
    "setBudget": "SetBudgetInput",
    "createRisk": "CreateRiskInput",
    "updateRisk": "UpdateRiskInput",
    "setRiskState": "SetRiskStateInput",
    "linkRisk": "LinkRiskInput",
    "publishStatusUpdate": "PublishStatusUpdateInput",
    "createWebhook": "CreateWebhookInput",
    "deleteWebhook": "WebhookRefInput",
    "activateWebhook": "WebhookRefInput",
}
