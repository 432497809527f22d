"""Authentication on /graphql, tokens kept only as hashes, per-token rate limits and query cost limits."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, text

from graphql import parse
from storyline_graphql.cost import list_bounds, query_cost, rate_units
from storyline_graphql.schema import build_schema
from storyline_service.application import Caller
from storyline_service.settings import Settings
from tests.graphql.conftest import CREATE_BOARD, CREATE_STORY, Server, create_board, new_board_key, serve
from tests.service.test_auth import Issuer

GRAPHQL_RESPONSE = "application/graphql-response+json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_requests_without_a_valid_token_get_401_and_nothing_else(server: Server) -> None:
    board = create_board(server, name="Secret plans")
    tokens = server.runtime.tokens
    revoked_id, revoked = tokens.create("alice")
    tokens.revoke(revoked_id)
    _, expired = tokens.create("alice", expires_in_days=0.5 / 86400)
    time.sleep(0.6)
    head = server.head()
    query = {"query": f'{{ board(key: "{board}") {{ name }} }}'}
    mutation = {"query": CREATE_STORY, "variables": {"input": {"boardKey": board, "title": "sneaky"}}}
    refused = [
        {},
        {"Authorization": "Basic YWxpY2U6"},
        {"Authorization": "Bearer"},
        bearer("sl_no_such_token"),
    ]
    for headers in [*refused, bearer(revoked), bearer(expired)]:
        with httpx.Client(base_url=server.url, headers=headers) as anonymous:
            for response in (
                anonymous.post("/graphql", json=query),
                anonymous.post("/graphql", json=mutation, headers={"Accept": GRAPHQL_RESPONSE}),
                anonymous.get("/graphql", params=query),
                anonymous.post("/graphql", content="{", headers={"Content-Type": "application/json"}),
            ):
                assert response.status_code == 401, (headers, response.text)
                assert response.headers["www-authenticate"].startswith("Bearer")
                [error] = response.json()["errors"]
                assert error["extensions"] == {"code": "UNAUTHENTICATED"} and "data" not in response.json()
                assert "Secret plans" not in response.text
    assert server.head() == head, "an unauthenticated mutation recorded something"
    # The IDE is only a page; the queries it sends need the header like any other.
    with httpx.Client(base_url=server.url) as browser:
        assert browser.get("/graphql", headers={"Accept": "text/html"}).status_code == 200
    assert server.post(query["query"])["board"] == {"name": "Secret plans"}


def test_what_a_request_carries_is_answered_only_once_its_token_is_valid(server: Server) -> None:
    """The request is read before its token is checked; whatever is wrong with it, a caller without a
    valid token still gets the 401 alone, and with one the refusal the request deserves."""
    unknown = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}})
    json_body = {"Content-Type": "application/json"}
    requests: list[tuple[dict[str, Any], int]] = [
        ({"method": "POST", "content": b"[]", "headers": json_body}, 400),
        ({"method": "POST", "content": b"{ viewer }", "headers": {"Content-Type": "text/plain"}}, 415),
        (
            {
                "method": "POST",
                "content": b" " * (server.settings.max_request_bytes + 1),
                "headers": json_body,
            },
            413,
        ),
        ({"method": "GET", "params": {"extensions": unknown}}, 200),  # PersistedQueryNotFound
        ({"method": "GET", "params": {"query": "{ viewer { name } }", "variables": "{"}}, 400),
    ]
    for request, status in requests:
        refused = httpx.request(
            url=f"{server.url}/graphql",
            **request | {"headers": {**request.get("headers", {}), **bearer("sl_no_such_token")}},
        )
        assert refused.status_code == 401, (request, refused.text)
        assert refused.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
        answered = server.client().request(url="/graphql", **request)
        assert answered.status_code == status, (request, answered.text)
        assert answered.json()["errors"][0].get("extensions", {}).get("code") != "UNAUTHENTICATED"


def test_tokens_are_kept_only_as_hashes(server: Server) -> None:
    """Neither the database nor the server's log holds a plain token, used or refused."""
    _, token = server.runtime.tokens.create("tess")
    good = httpx.post(f"{server.url}/graphql", json={"query": "{ viewer { name } }"}, headers=bearer(token))
    assert good.json() == {"data": {"viewer": {"name": "tess"}}}
    wrong = token[:-4] + "xxxx"
    refused = httpx.post(
        f"{server.url}/graphql", json={"query": "{ viewer { name } }"}, headers=bearer(wrong)
    )
    assert refused.status_code == 401
    # The secret is everything after "sl_<id>_"; it may itself contain underscores.
    secrets = [token, wrong, token.split("_", 2)[2]]
    time.sleep(0.5)  # let the log catch up
    assert not any(secret in server.log.read_text() for secret in secrets)
    if server.settings.is_postgres:
        engine, schema = server.runtime.engine, server.settings.database_schema
        with engine.connect() as conn:
            for name in inspect(engine).get_table_names(schema=schema):
                dump = repr(conn.execute(text(f'SELECT * FROM "{schema}"."{name}"')).all())
                assert not any(secret in dump for secret in secrets), name
    else:
        for file in server.settings.sqlite_path.parent.iterdir():
            content = file.read_bytes()
            assert not any(secret.encode() in content for secret in secrets), file


# ----- rate limits -----

WINDOW_SECONDS = 2


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def limited(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that lets each token spend 5 units per 2-second window."""
    env = {"STORYLINE_RATE_LIMIT": "5", "STORYLINE_RATE_WINDOW_SECONDS": str(WINDOW_SECONDS)}
    yield from serve(request, tmp_path_factory, env)


def test_the_rate_limit_triggers_then_recovers(limited: Server) -> None:
    board = new_board_key()
    limited.runtime.app.create_board(Caller("alice"), board, "Limited")  # in-process: no token, no limit
    client = limited.client("alice")
    time.sleep(WINDOW_SECONDS - time.time() % WINDOW_SECONDS)  # at the start of a window
    for _ in range(2):
        assert client.post("/graphql", json={"query": "{ viewer { name } }"}).status_code == 200
    # A mutation spends one unit per command it runs: 3, then 4 and 5, then 6 is refused.
    variables = {"input": {"boardKey": board, "title": "within the limit"}}
    once = client.post("/graphql", json={"query": CREATE_STORY, "variables": variables})
    assert once.status_code == 200 and once.json()["data"]["createStory"]["errors"] == []
    twice = CREATE_STORY.replace("createStory(", "a: createStory(", 1)
    twice = twice.replace("\n}", "\n  b: createStory(input: $input) { errors { code } }\n}", 1)
    both = client.post("/graphql", json={"query": twice, "variables": variables})
    assert both.status_code == 200 and both.json()["data"]["b"]["errors"] == []
    head = limited.head()
    variables = {"input": {"boardKey": board, "title": "one too many"}}
    refused = client.post("/graphql", json={"query": CREATE_STORY, "variables": variables})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    [error] = refused.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED" and "rate limit" in error["message"]
    assert limited.head() == head
    # Aliases do not get around it: each request spends its cost before it runs.
    aliased = client.post("/graphql", json={"query": "{ a: viewer { name } b: viewer { name } }"})
    assert aliased.status_code == 429 and "data" not in aliased.json()
    # The limit is per token.
    assert limited.post("{ viewer { name } }", user="bob") == {"viewer": {"name": "bob"}}
    time.sleep(WINDOW_SECONDS - time.time() % WINDOW_SECONDS)
    recovered = client.post("/graphql", json={"query": CREATE_STORY, "variables": variables})
    assert recovered.status_code == 200 and recovered.json()["data"]["createStory"]["errors"] == []


# ----- query cost -----


def cost_and_units_of(query: str, variables: dict[str, object] | None = None) -> tuple[int, int]:
    schema = build_schema(Settings())._schema
    document = parse(query)
    operation, *fragments = document.definitions
    named = {fragment.name.value: fragment for fragment in fragments}  # type: ignore[attr-defined]
    bounds = list_bounds(Settings())
    cost = query_cost(schema, operation, named, variables or {}, 500, bounds)  # type: ignore[arg-type]
    return cost, rate_units(schema, operation, named, cost)  # type: ignore[arg-type]


def cost_of(query: str, variables: dict[str, object] | None = None) -> int:
    return cost_and_units_of(query, variables)[0]


def test_rate_units_are_one_per_command_or_per_hundred_objects() -> None:
    assert cost_and_units_of("{ viewer { name } }")[1] == 1
    assert cost_and_units_of('{ board(key: "X") { backlog(first: 250) { edges { node { key } } } } }')[1] == 3
    move = 'moveStory(input: {storyKey: "X-1", toColumn: "DONE"}) { story { key } errors { code } }'
    assert cost_and_units_of(f"mutation {{ {move} }}")[1] == 1
    assert cost_and_units_of(f"mutation {{ a: {move} b: {move} __typename }}")[1] == 2
    assert cost_and_units_of(f"mutation {{ ...M c: {move} }} fragment M on Mutation {{ {move} }}")[1] == 2


def test_query_cost_counts_objects_times_page_sizes() -> None:
    assert cost_of("{ viewer { name } }") == 1
    assert cost_of("{ __typename }") == 0
    # board 1 + stories 1 + edges 1 + 20 nodes + their 20 epics (columns, unpaged, count 10)
    page = '{ board(key: "X") { stories(first: 20) { edges { node { epic { key } } } } columns { key } } }'
    assert cost_of(page) == 1 + 1 + 1 + 20 + 20 + 1
    # Defaults, variables, aliases and fragments all count.
    assert cost_of('{ board(key: "X") { backlog { edges { node { key } } } } }') == 1 + 1 + 1 + 50
    by_variable = 'query($n: Int) { a: board(key: "X") { ...F } b: board(key: "Y") { ...F } } '
    by_variable += "fragment F on Board { backlog(first: $n) { edges { node { key } } } }"
    assert cost_of(by_variable, {"n": 3}) == 2 * (1 + 1 + 1 + 3)


def test_costly_queries_are_refused_before_they_run(server: Server) -> None:
    nested = "{ boards(first: 500) { edges { node { stories(first: 500) { edges { node { key } } } } } } }"
    for accept, status in (("application/json", 200), (GRAPHQL_RESPONSE, 400)):
        response = server.client().post("/graphql", json={"query": nested}, headers={"Accept": accept})
        assert response.status_code == status
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "QUERY_TOO_COSTLY" and "data" not in response.json()
        assert f"limit of {server.settings.max_query_cost}" in error["message"]
    assert "errors" not in server.request(nested.replace("500", "20"))


# ----- OpenID Connect -----


@pytest.fixture(scope="module", params=["sqlite"])
def oidc_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Issuer]]:
    issuer = Issuer(tmp_path_factory.mktemp("issuer"))
    env = {
        "STORYLINE_OIDC_ISSUER": issuer.ISSUER,
        "STORYLINE_OIDC_AUDIENCE": issuer.AUDIENCE,
        "STORYLINE_OIDC_JWKS": str(issuer.jwks),
        "STORYLINE_OIDC_USER_CLAIM": "email",
    }
    for server in serve(request, tmp_path_factory, env):
        yield server, issuer


def test_oidc_access_tokens_are_accepted_when_configured(oidc_server: tuple[Server, Issuer]) -> None:
    server, issuer = oidc_server
    token = issuer.token(email="olivia@example.test")
    with httpx.Client(base_url=server.url, headers=bearer(token)) as olivia:
        create = {"query": CREATE_BOARD, "variables": {"input": {"key": new_board_key(), "name": "Hers"}}}
        assert olivia.post("/graphql", json=create).json()["data"]["createBoard"]["errors"] == []
        viewer = olivia.post("/graphql", json={"query": "{ viewer { name roles { role } } }"}).json()
    assert viewer == {"data": {"viewer": {"name": "olivia@example.test", "roles": [{"role": "ADMIN"}]}}}
    expired = issuer.token(email="olivia@example.test", exp=int(time.time()) - 10)
    refused = httpx.post(
        f"{server.url}/graphql", json={"query": "{ viewer { name } }"}, headers=bearer(expired)
    )
    assert refused.status_code == 401
    # API tokens keep working alongside.
    assert server.post("{ viewer { name } }") == {"viewer": {"name": "alice"}}
