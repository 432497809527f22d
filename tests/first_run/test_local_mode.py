"""Local mode: GraphiQL's example query, and the token pre-filled only for a browser on this machine."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from graphql import parse, validate
from storyline_entrypoints.web import GRAPHIQL_QUERY, create_app
from storyline_graphql.schema import build_schema
from storyline_service.bootstrap import Runtime
from storyline_service.first_run import may_prefill_token, prepare_local_start
from storyline_service.settings import Settings

HTML = {"Accept": "text/html"}
TOKEN = "sl_0123abcd_local-session-token"


def get(app: FastAPI, path: str, host: str = "127.0.0.1") -> httpx.Response:
    """A page, without the app's lifespan: pages need no database."""

    async def fetch() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=f"http://{host}") as client:
            return await client.get(path, headers=HTML)

    return asyncio.run(fetch())


README = Path(__file__).parents[2] / "README.md"


def test_the_example_queries_are_valid_against_the_served_schema() -> None:
    schema = build_schema(Settings())._schema
    assert validate(schema, parse(GRAPHIQL_QUERY)) == []
    readme = re.findall(r"```graphql\n(.*?)```", README.read_text(), flags=re.S)
    assert len(readme) == 3
    for document in readme:
        assert validate(schema, parse(document)) == [], document
    assert '{"Authorization": "Bearer <token>"}' in GRAPHIQL_QUERY


@pytest.mark.parametrize(
    ("host", "introspection", "allowed"),
    [
        ("127.0.0.1", True, True),
        ("localhost", True, True),
        ("::1", True, True),
        ("0.0.0.0", True, False),
        ("192.168.1.20", True, False),
        ("127.0.0.1", False, False),
    ],
)
def test_a_token_is_prefilled_only_on_loopback_with_graphiql_on(
    host: str, introspection: bool, allowed: bool
) -> None:
    assert may_prefill_token(host, Settings(introspection=introspection)) is allowed


def test_graphiql_and_board_carry_the_local_token() -> None:
    app = create_app(Settings(), local_token=TOKEN)
    graphiql = get(app, "/graphql")
    assert graphiql.status_code == 200
    assert "query ActiveSprint" in graphiql.text
    assert f'\\"Authorization\\": \\"Bearer {TOKEN}\\"' in graphiql.text
    for path in ("/board/", "/board/index.html"):
        board = get(app, path)
        assert board.status_code == 200
        assert f'<meta name="storyline-local-token" content="{TOKEN}" />' in board.text
        assert board.headers["cache-control"] == "no-store"
    assert get(app, "/board/board.js").status_code == 200


def test_pages_with_the_local_token_refuse_other_host_names() -> None:
    app = create_app(Settings(), local_token=TOKEN)
    for path in ("/graphql", "/board/"):
        page = get(app, path, host="attacker.example")
        assert page.status_code == 400 and TOKEN not in page.text
        assert TOKEN in get(app, path, host="localhost").text


def test_without_a_local_token_no_page_carries_one() -> None:
    app = create_app(Settings())
    graphiql = get(app, "/graphql").text
    assert "query ActiveSprint" in graphiql
    assert "parameters.headers)" in graphiql  # stock: an empty headers editor
    assert "storyline-local-token" not in get(app, "/board/").text


def test_session_tokens_are_admin_short_lived_and_not_the_printed_token(runtime: Runtime) -> None:
    first = prepare_local_start(runtime, session=True)
    assert first.demo_loaded and first.new_admin_token and first.session_token
    principal = runtime.tokens.authenticate(first.session_token)
    assert principal is not None and principal.superuser
    row = next(row for row in runtime.tokens.list() if row.id == principal.token_id)
    assert row.expires_at is not None
    again = prepare_local_start(runtime, session=True)
    # A new session token each start; the admin token is still printed only once.
    assert not again.demo_loaded and again.new_admin_token is None
    assert again.session_token not in (None, first.session_token)
    assert prepare_local_start(runtime).session_token is None
