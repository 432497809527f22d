"""The HTTP side: GraphQL over HTTP, GraphiQL, health probes, and the limits that protect the server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.graphql.conftest import Server, create_board, serve

GRAPHQL_RESPONSE = "application/graphql-response+json"


def post(server: Server, body: object, **headers: str) -> httpx.Response:
    return server.client().post("/graphql", json=body, headers=headers)


def test_health_and_readiness(server: Server) -> None:
    assert server.client().get("/healthz").json() == {"status": "ok"}
    create_board(server)
    ready = server.client().get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert set(body["positions"]) == {"current", "history", "audit", "control", "members", "chain"}
    assert all(position == body["head"] for position in body["positions"].values())


def test_graphiql_for_browsers(server: Server) -> None:
    page = server.client().get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"] and "graphiql" in page.text.lower()


def test_queries_over_get_and_the_graphql_response_media_type(server: Server) -> None:
    client = server.client()
    got = client.get(
        "/graphql", params={"query": "{ viewer { name } }"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert got.status_code == 200 and got.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert got.json() == {"data": {"viewer": {"name": "alice"}}}
    # Request errors are 400 with the GraphQL response type, and never run.
    bad = post(server, {"query": "{ viewer { nme } }"}, accept=GRAPHQL_RESPONSE)
    assert bad.status_code == 400 and "data" not in bad.json()
    mutation = 'mutation { createBoard(input: {key: "GETS", name: "x"}) { board { key } } }'
    assert client.get("/graphql", params={"query": mutation}).status_code == 405
    assert client.post("/graphql", content="{}", headers={"content-type": "text/plain"}).status_code == 415
    assert post(server, {"query": "{ viewer { name } }"}, accept="text/csv").status_code == 406


def test_every_response_carries_a_correlation_id(server: Server) -> None:
    response = post(server, {"query": "{ viewer { name } }"}, **{"x-request-id": "trace-123"})
    assert response.headers["x-request-id"] == "trace-123"
    assert len(post(server, {"query": "{ viewer { name } }"}).headers["x-request-id"]) == 32


def test_request_body_limit(server: Server) -> None:
    padding = "#" * (server.settings.max_request_bytes + 1)
    response = post(server, {"query": f"{{ viewer {{ name }} }}\n{padding}"})
    assert response.status_code == 413
    assert "exceeds" in response.json()["errors"][0]["message"]


def test_query_depth_limit(server: Server) -> None:
    loop = "stories { edges { node { sprint { %s } } } }"
    deep = '{ board(key: "X") { %s } }' % (loop % (loop % (loop % "id")))
    error = post(server, {"query": deep}).json()["errors"][0]["message"]
    assert "exceeds maximum operation depth" in error
    shallow = '{ board(key: "X") { stories { edges { node { status { key } } } } } }'
    assert "errors" not in post(server, {"query": shallow}).json()


def test_alias_and_token_limits(server: Server) -> None:
    aliases = " ".join(f"a{n}: viewer {{ name }}" for n in range(51))
    assert "aliases" in post(server, {"query": f"{{ {aliases} }}"}).json()["errors"][0]["message"]
    fields = " ".join("name" for _ in range(5000))
    assert "token" in post(server, {"query": f"{{ viewer {{ {fields} }} }}"}).json()["errors"][0]["message"]


def test_field_suggestions_while_introspection_is_on(server: Server) -> None:
    message = post(server, {"query": "{ viewer { nme } }"}).json()["errors"][0]["message"]
    assert "Did you mean" in message


@pytest.fixture(scope="module", params=["sqlite"])
def private_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    yield from serve(request, tmp_path_factory, {"STORYLINE_INTROSPECTION": "false"})


def test_introspection_off_hides_the_schema(private_server: Server) -> None:
    body = post(private_server, {"query": "{ __schema { types { name } } }"}).json()
    assert "introspection" in body["errors"][0]["message"].lower()
    message = post(private_server, {"query": "{ viewer { nme } }"}).json()["errors"][0]["message"]
    assert "Cannot query field 'nme'" in message and "Did you mean" not in message
    page = private_server.client().get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    # Ordinary queries still work.
    assert private_server.post("{ viewer { name } }") == {"viewer": {"name": "alice"}}
