"""Query.rateLimit and the X-RateLimit-* headers tell a client its budget after each operation."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from storyline_service.application import Caller
from tests.graphql.conftest import CREATE_STORY, Server, new_board_key, serve

LIMIT = 40
RATE_LIMIT = "rateLimit { limit remaining resetAt cost }"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def limited(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # An hour's window: no test here outlasts it, so nothing refills the budget mid-test.
    env = {"STORYLINE_RATE_LIMIT": str(LIMIT), "STORYLINE_RATE_WINDOW_SECONDS": "3600"}
    yield from serve(request, tmp_path_factory, env)


def headers_of(response: httpx.Response) -> tuple[int, int, int]:
    return tuple(int(response.headers[f"x-ratelimit-{name}"]) for name in ("limit", "remaining", "reset"))  # type: ignore[return-value]


def test_the_budget_in_the_body_and_headers_of_every_response(limited: Server) -> None:
    board = new_board_key()
    limited.runtime.app.create_board(Caller("alice"), board, "Budget")  # in-process: no token, no limit
    limited.runtime.app.grant_role(Caller("alice"), board, "dana", "MEMBER")
    client = limited.client("dana")  # a token of its own: a full budget

    first = client.post("/graphql", json={"query": f"{{ {RATE_LIMIT} }}"})
    budget = first.json()["data"]["rateLimit"]
    reset = datetime.fromisoformat(budget["resetAt"])
    assert (budget["limit"], budget["remaining"], budget["cost"]) == (LIMIT, LIMIT - 1, 1)
    assert headers_of(first) == (LIMIT, LIMIT - 1, int(reset.timestamp()))
    assert reset > datetime.now(reset.tzinfo)

    # A large page costs 1 unit per 100 objects it may return: 500 stories, at least 5 units.
    stories = f'board(key: "{board}") {{ stories(last: 500) {{ edges {{ node {{ key }} }} }} }}'
    big = client.post("/graphql", json={"query": f"{{ {stories} {RATE_LIMIT} }}"})
    budget = big.json()["data"]["rateLimit"]
    spent = 1 + budget["cost"]
    assert budget["cost"] >= 5 and budget["remaining"] == LIMIT - spent
    assert headers_of(big)[1] == LIMIT - spent

    # A mutation: one unit per command; the headers say so though its payload has no rateLimit.
    twice = CREATE_STORY.replace("createStory(", "a: createStory(", 1)
    twice = twice.replace("\n}", "\n  b: createStory(input: $input) { errors { code } }\n}", 1)
    variables = {"input": {"boardKey": board, "title": "Counted"}}
    both = client.post("/graphql", json={"query": twice, "variables": variables})
    assert both.json()["data"]["b"]["errors"] == []
    assert headers_of(both)[1] == LIMIT - spent - 2

    # Spent to the end: the refusal carries the headers too, with nothing left.
    while (response := client.post("/graphql", json={"query": "{ viewer { name } }"})).status_code == 200:
        assert headers_of(response)[1] >= 0
    assert response.status_code == 429
    assert headers_of(response)[:2] == (LIMIT, 0)
    # Other tokens keep their own budgets.
    other = limited.client("alice").post("/graphql", json={"query": f"{{ {RATE_LIMIT} }}"})
    assert other.json()["data"]["rateLimit"]["remaining"] == LIMIT - 1


def test_an_answer_from_the_result_cache_costs_what_the_query_costs(limited: Server) -> None:
    board = new_board_key()
    limited.runtime.app.create_board(Caller("alice"), board, "Kept")
    limited.runtime.app.grant_role(Caller("alice"), board, "kim", "MEMBER")
    client = limited.client("kim")  # a token of its own: a full budget
    query = {
        "query": f'{{ board(key: "{board}") {{ stories(last: 500) {{ edges {{ node {{ key }} }} }} }} }}'
    }

    executed = client.post("/graphql", json=query)
    cost = LIMIT - headers_of(executed)[1]
    assert cost >= 5
    kept = client.post("/graphql", json=query)  # answered from the cache: nothing changed since
    assert kept.content == executed.content
    assert headers_of(kept)[1] == LIMIT - 2 * cost
    # By a persisted query's hash (stored by the first request, then alone): the same again.
    digest = hashlib.sha256(query["query"].encode()).hexdigest()
    apq = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    for body in ({**query, **apq}, apq):
        by_hash = client.post("/graphql", json=body)
        assert by_hash.content == executed.content
    assert headers_of(by_hash)[1] == LIMIT - 4 * cost

    # Too little left for the whole cost: refused, though the answer is kept.
    while headers_of(client.post("/graphql", json={"query": "{ viewer { name } }"}))[1] >= cost:
        pass
    refused = client.post("/graphql", json=query)
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "data" not in refused.json()
