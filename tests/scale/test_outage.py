"""Losing the database: 503 with Retry-After while it is gone, then recovery by itself.

The API process reaches PostgreSQL through a TCP relay on loopback that the test cuts (closing
every connection and refusing new ones) and restores, as a network or database outage would."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import make_url

from tests.conftest import POSTGRES_URL
from tests.graphql.conftest import create_board, create_story, free_port
from tests.scale.conftest import Cluster, eventually

# Several processes on a shared machine: slow to start, never timed.
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(1500)]


class Relay:
    """Forwards a loopback port to PostgreSQL until cut."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.open: list[socket.socket] = []
        self.cut_off = False
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        # Shut both ends down before closing: a close alone leaves the other direction's thread
        # blocked in recv, which keeps that socket, and PostgreSQL's session with its advisory
        # locks, open for good. Each thread closes only the socket it reads from.
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
        source.close()

    def cut(self) -> None:
        self.cut_off = True
        with self.lock:
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.open = []

    def restore(self) -> None:
        self.cut_off = False

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def relay() -> Iterator[Relay]:
    database = make_url(POSTGRES_URL)
    relay = Relay((database.host or "127.0.0.1", database.port or 5432))
    yield relay
    relay.close()


def test_losing_the_database_gives_503_with_retry_after_and_then_recovers(
    cluster: Cluster, relay: Relay
) -> None:
    url = POSTGRES_URL.replace(POSTGRES_URL.split("//")[1].split("/")[0], f"127.0.0.1:{relay.port}")
    cluster.env["STORYLINE_DATABASE_URL"] = url
    cluster.env["STORYLINE_CONNECT_TIMEOUT_SECONDS"] = "2"
    api, _ = cluster.serve("api", "--workers", "1")  # serves and projects
    board = create_board(api)
    create_story(api, board, "Before")
    query = {"query": f'{{ board(key: "{board}") {{ stories {{ edges {{ node {{ title }} }} }} }} }}'}

    relay.cut()
    responses: list[httpx.Response] = []

    def refused() -> bool:
        responses.append(api.client().post("/graphql", json=query))
        return responses[-1].status_code == 503

    eventually(refused, "a request answered 503 while the database is gone")
    assert responses[-1].headers["Retry-After"] == "1"
    assert all(r.status_code in (200, 503) for r in responses)  # never a 500 or a wrong answer
    moved = api.client().post(
        "/graphql",
        json={
            "query": "mutation($i: CreateStoryInput!) { createStory(input: $i) { story { key } } }",
            "variables": {"i": {"boardKey": board, "title": "During"}},
        },
    )
    assert moved.status_code == 503 and moved.headers["Retry-After"] == "1"
    assert api.client().get("/readyz").status_code == 503

    relay.restore()
    eventually(lambda: api.client().post("/graphql", json=query).status_code == 200, "the API recovers")
    create_story(api, board, "After")
    titles = api.post(query["query"])["board"]["stories"]["edges"]
    assert sorted(edge["node"]["title"] for edge in titles) == ["After", "Before"]  # nothing half-recorded
    eventually(lambda: api.client().get("/readyz").status_code == 200, "ready again")
