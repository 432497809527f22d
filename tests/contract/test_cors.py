"""Board pages on other origins call the API only when their origin is listed in STORYLINE_CORS_ORIGINS.

The Chromium test serves pages from two other ports: the page whose origin is
listed reads and writes through the API; the other cannot, and its write never
reaches the server, because the browser's preflight is refused.
"""

from __future__ import annotations

import functools
import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.graphql.conftest import Server, new_board_key, serve

VIEWER = "query { viewer { name } }"


class Pages:
    """A static page served on a port of its own: an origin other than the API's."""

    def __init__(self, folder: Path) -> None:
        (folder / "index.html").write_text("<!doctype html><title>A board on another origin</title>")
        handler = functools.partial(QuietHandler, directory=str(folder))
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pages]:
    pages = Pages(tmp_path_factory.mktemp("listed"))
    yield pages
    pages.close()


@pytest.fixture(scope="module")
def unlisted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pages]:
    pages = Pages(tmp_path_factory.mktemp("unlisted"))
    yield pages
    pages.close()


@pytest.fixture(scope="module", params=["sqlite"])
def cors_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, listed: Pages
) -> Iterator[Server]:
    # A second listed origin shows the setting is a list; a trailing slash is forgiven.
    origins = f"https://board.example.com, {listed.origin}/"
    yield from serve(request, tmp_path_factory, {"STORYLINE_CORS_ORIGINS": origins})


@pytest.fixture(scope="module", params=["sqlite"])
def default_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    yield from serve(request, tmp_path_factory, {})


def preflight(server: Server, origin: str) -> httpx.Response:
    return httpx.options(
        f"{server.url}/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("access-control-")}


def test_a_listed_origin_gets_its_preflight_answered_without_credentials(
    cors_server: Server, listed: Pages
) -> None:
    response = preflight(cors_server, listed.origin)
    assert response.status_code == 200
    headers = cors_headers(response)
    assert headers["access-control-allow-origin"] == listed.origin
    assert "POST" in headers["access-control-allow-methods"]
    assert "authorization" in headers["access-control-allow-headers"].lower()
    assert "if-none-match" in headers["access-control-allow-headers"].lower()  # revalidating a GET
    assert "access-control-allow-credentials" not in headers  # bearer tokens only, never cookies

    answer = cors_server.client().post("/graphql", json={"query": VIEWER}, headers={"Origin": listed.origin})
    assert answer.json() == {"data": {"viewer": {"name": "alice"}}}
    assert answer.headers["access-control-allow-origin"] == listed.origin
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert "x-ratelimit-remaining" in exposed and "x-request-id" in exposed and "etag" in exposed


def test_an_unlisted_origin_gets_no_cors_header_and_its_preflight_is_refused(
    cors_server: Server, unlisted: Pages
) -> None:
    response = preflight(cors_server, unlisted.origin)
    assert response.status_code == 403
    assert cors_headers(response) == {}
    answer = cors_server.client().post(
        "/graphql", json={"query": VIEWER}, headers={"Origin": unlisted.origin}
    )
    assert cors_headers(answer) == {}


def test_no_origin_is_allowed_by_default(default_server: Server, listed: Pages) -> None:
    assert cors_headers(preflight(default_server, listed.origin)) == {}
    answer = default_server.client().post(
        "/graphql", json={"query": VIEWER}, headers={"Origin": listed.origin}
    )
    assert answer.status_code == 200 and cors_headers(answer) == {}


@pytest.mark.browser
def test_chromium_pages_call_the_api_only_from_a_listed_origin(
    cors_server: Server, listed: Pages, unlisted: Pages, node_clients: Path, chromium: str, tmp_path: Path
) -> None:
    board = new_board_key()
    create = (
        'mutation { createBoard(input: {key: "%s", name: "Cross-origin"}) { board { key } errors { code } } }'
    )
    for name, pages in (("listed", listed), ("unlisted", unlisted)):
        config = {
            "chromium": chromium,
            "api": f"{cors_server.url}/graphql",
            "token": cors_server.token("alice"),
            "query": create % (board if name == "listed" else board[::-1]),
            "pages": {name: f"{pages.origin}/index.html"},
        }
        (tmp_path / f"{name}.json").write_text(json.dumps(config))
    results = {}
    for name in ("listed", "unlisted"):
        done = subprocess.run(
            ["node", "cors.mjs", str(tmp_path / f"{name}.json")],
            cwd=node_clients,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        results |= json.loads(done.stdout.splitlines()[-1])

    assert results["listed"]["origin"] == listed.origin
    assert results["listed"]["status"] == 200
    assert results["listed"]["body"]["data"]["createBoard"] == {"board": {"key": board}, "errors": []}
    assert int(results["listed"]["remaining"]) > 0  # the page may read its rate-limit budget

    assert results["unlisted"]["origin"] == unlisted.origin
    assert "Failed to fetch" in results["unlisted"]["error"]
    # The browser never sent the write: the refused preflight stopped it.
    exists = "query($key: String!) { board(key: $key) { key } }"
    assert cors_server.post(exists, {"key": board[::-1]}) == {"board": None}
    assert cors_server.post(exists, {"key": board}) == {"board": {"key": board}}
