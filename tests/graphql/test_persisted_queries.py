"""Automatic Persisted Queries over HTTP: a miss, a stored document run by its hash, a hash that does not
match, GET, and the bounded store. Apollo Client and urql themselves are run in tests/contract."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from strawberry.http import GraphQLRequestData

from storyline_graphql.endpoint import HTTPError
from storyline_graphql.persisted_queries import PersistedQueries
from tests.graphql.conftest import Server, new_board_key, serve

STORE_SIZE = 2
VIEWER = "query Viewer { viewer { name } }"
NOT_FOUND = {
    "errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]
}


@pytest.fixture(scope="module", params=["sqlite"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # The store lives in the server process and does not touch the database: one backend is enough.
    yield from serve(request, tmp_path_factory, {"STORYLINE_PERSISTED_QUERIES_SIZE": str(STORE_SIZE)})


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def persisted(sha: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


def by_hash(server: Server, query: str, method: str = "POST", **headers: str) -> httpx.Response:
    """A request carrying only the hash of ``query``, as the clients send it first."""
    extensions = persisted(sha256(query))
    if method == "GET":  # urql: the extensions as urlencoded JSON
        params = {"extensions": json.dumps(extensions)}
        return server.client().get("/graphql", params=params, headers=headers)
    return server.client().post("/graphql", json={"extensions": extensions}, headers=headers)


def with_document(server: Server, query: str, sha: str | None = None, method: str = "POST") -> httpx.Response:
    extensions = persisted(sha or sha256(query))
    if method == "GET":
        params = {"query": query, "extensions": json.dumps(extensions)}
        return server.client().get("/graphql", params=params)
    return server.client().post("/graphql", json={"query": query, "extensions": extensions})


def unique(query: str) -> str:
    """The same operation as a document no earlier test stored."""
    return f"{query} # {new_board_key()}"


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
def test_a_hash_the_server_does_not_know_answers_persisted_query_not_found(
    server: Server, method: str, accept: str
) -> None:
    response = by_hash(server, unique(VIEWER), method, accept=accept)
    # 200 with the error, which both Apollo Client and urql read to resend the query.
    assert response.status_code == 200
    assert response.json() == NOT_FOUND
    assert response.headers["cache-control"] == "no-store"  # the same URL answers once stored


@pytest.mark.parametrize("stored_by", ["POST", "GET"])
def test_a_document_sent_with_its_hash_then_runs_from_the_hash_alone(server: Server, stored_by: str) -> None:
    query = unique(VIEWER)
    first = with_document(server, query, method=stored_by)
    assert first.json() == {"data": {"viewer": {"name": "alice"}}}
    for method in ("POST", "GET"):
        again = by_hash(server, query, method)
        assert again.status_code == 200
        assert again.json() == {"data": {"viewer": {"name": "alice"}}}
    # Variables and the operation name travel with the hash as usual.
    board_key = new_board_key()
    server.post(
        'mutation($key: String!) { createBoard(input: {key: $key, name: "APQ"}) { board { key } } }',
        {"key": board_key},
    )
    named = unique("query Board($key: String!) { board(key: $key) { name } }")
    with_document(server, named)
    extensions = json.dumps(persisted(sha256(named)))
    params = {"extensions": extensions, "variables": json.dumps({"key": board_key}), "operationName": "Board"}
    assert server.client().get("/graphql", params=params).json() == {"data": {"board": {"name": "APQ"}}}


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_hash_that_is_not_the_query_s_is_refused_and_nothing_is_stored(server: Server, method: str) -> None:
    query, other = unique(VIEWER), unique(VIEWER)
    refused = with_document(server, query, sha=sha256(other), method=method)
    assert refused.status_code == 400
    (error,) = refused.json()["errors"]
    assert error["extensions"] == {"code": "PERSISTED_QUERY_HASH_MISMATCH"}
    assert "data" not in refused.json()  # the query did not run either
    # Neither the hash sent nor the query's own hash leads to the document.
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(other)}}
    assert server.client().post("/graphql", json={"extensions": extensions}).json() == NOT_FOUND
    assert by_hash(server, query).json() == NOT_FOUND


@pytest.mark.parametrize(
    "extension",
    [
        {"version": 2, "sha256Hash": sha256(VIEWER)},
        {"version": 1, "sha256Hash": "not-a-hash"},
        {"version": 1, "sha256Hash": sha256(VIEWER).upper()},
        {"version": 1},
        "v1",
    ],
)
def test_a_malformed_persisted_query_extension_is_a_bad_request(server: Server, extension: object) -> None:
    for body in (
        {"extensions": {"persistedQuery": extension}},
        {"query": VIEWER, "extensions": {"persistedQuery": extension}},
    ):
        response = server.client().post("/graphql", json=body)
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


def test_a_stored_mutation_still_runs_only_by_post(server: Server) -> None:
    board_key = new_board_key()
    mutation = unique(
        f'mutation {{ createBoard(input: {{key: "{board_key}", name: "Once"}}) '
        "{ board { key } errors { code field } } }"
    )
    created = with_document(server, mutation).json()["data"]["createBoard"]
    assert created == {"board": {"key": board_key}, "errors": []}
    head = server.head()
    refused = by_hash(server, mutation, "GET")
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"
    assert server.head() == head  # nothing was recorded
    # By POST the hash runs it again, as if sent in full: the key is taken now.
    again = by_hash(server, mutation).json()["data"]["createBoard"]
    assert again == {"board": None, "errors": [{"code": "VALIDATION", "field": "key"}]}


def test_the_store_keeps_the_most_recently_used_documents(server: Server) -> None:
    first, second, third = (unique(VIEWER) for _ in range(3))
    with_document(server, first)
    with_document(server, second)
    assert "data" in by_hash(server, first).json()  # `first` is now the most recently used
    with_document(server, third)  # the store holds STORE_SIZE (2): `second` goes
    assert by_hash(server, second).json() == NOT_FOUND
    assert "data" in by_hash(server, first).json()
    assert "data" in by_hash(server, third).json()


def test_with_the_store_off_clients_are_told_apq_is_not_supported() -> None:
    off = PersistedQueries(0)
    hash_only = GraphQLRequestData(
        query=None, variables=None, operation_name=None, extensions=persisted(sha256(VIEWER))
    )
    with pytest.raises(HTTPError) as refused:
        off.resolve(hash_only)
    assert refused.value.body() == {
        "errors": [
            {"message": "PersistedQueryNotSupported", "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"}}
        ]
    }
    # A request that carries its document is served as if it had no hash.
    full = GraphQLRequestData(
        query=VIEWER, variables=None, operation_name=None, extensions=persisted("0" * 64)
    )
    assert off.resolve(full) is full
