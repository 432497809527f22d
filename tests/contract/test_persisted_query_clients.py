"""Apollo Client's and urql's Automatic Persisted Queries, unchanged, against a live server.

Each client first sends only a hash, is told PersistedQueryNotFound, resends the
query with its hash, and from then on sends the hash alone; Apollo by POST and
(with useGETForHashedQueries) by GET, urql by GET for queries and POST for mutations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.contract.live import ADMIN_TOKEN, DemoServer
from tests.contract.test_clients import node
from tests.graphql.conftest import new_board_key

pytestmark = pytest.mark.browser

QUERY = "query OPERATION($key: String!) { board(key: $key) { key name columns { name } } }"
MUTATION = """mutation OPERATION($key: String!, $name: String!) {
  createBoard(input: {key: $key, name: $name}) { board { key name } errors { code } }
}"""
MISS = [{"message": "PersistedQueryNotFound", "code": "PERSISTED_QUERY_NOT_FOUND"}]


def board(demo: DemoServer, key: str) -> Any:
    """The board as the query answers it when sent in full, without a hash."""
    body = {"query": QUERY.replace("OPERATION", "Board"), "variables": {"key": key}}
    return demo.client().http.post("/graphql", json=body).json()["data"]["board"]


def without_typename(value: Any) -> Any:
    """Apollo's cache adds `__typename` to every selection."""
    if isinstance(value, list):
        return [without_typename(item) for item in value]
    if isinstance(value, dict):
        return {k: without_typename(v) for k, v in value.items() if k != "__typename"}
    return value


def assert_persisted_round(requests: list[dict[str, Any]], hash_method: str) -> None:
    """A miss on the hash alone, then the query with that hash, answered."""
    miss, resent = requests
    assert (miss["method"], miss["hasQuery"], miss["status"]) == (hash_method, False, 200)
    assert miss["errors"] == MISS
    assert resent["hasQuery"] and resent["errors"] == []
    assert resent["sha256Hash"] == miss["sha256Hash"] == resent["querySha256"]


def test_apollo_and_urql_persisted_queries_work_unchanged(
    demo: DemoServer, node_clients: Path, tmp_path: Path
) -> None:
    keys = [new_board_key() for _ in range(3)]
    config = {"baseUrl": demo.url, "token": ADMIN_TOKEN, "query": QUERY, "mutation": MUTATION, "keys": keys}
    (tmp_path / "config.json").write_text(json.dumps(config))

    done = node(node_clients, "apq.mjs", str(tmp_path / "config.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])

    expected = board(demo, "PAY")
    clients = (
        ("apolloPost", "ApolloPost", "POST", keys[0]),
        ("apolloGet", "ApolloGet", "GET", keys[1]),
        ("urql", "Urql", "GET", keys[2]),
    )
    for client, name, hash_method, key in clients:
        run = result[client]
        requests = run["requests"]
        assert len(requests) == 5, (client, requests)
        assert_persisted_round(requests[:2], hash_method)
        # The second run of the query: its hash alone, answered from the stored document.
        again = requests[2]
        assert (again["method"], again["hasQuery"], again["errors"]) == (hash_method, False, [])
        assert again["sha256Hash"] == requests[0]["sha256Hash"]
        assert_persisted_round(requests[3:], "POST")  # mutations never go by GET
        assert [without_typename(data["board"]) for data in run["runs"]] == [expected, expected]
        created = without_typename(run["mutated"]["createBoard"])
        assert created == {"board": {"key": key, "name": name}, "errors": []}
        assert board(demo, key)["key"] == key  # the mutation really ran on the server
