"""Cached query answers are never stale: after every mutation, a revoked role, a rebuild and a write by
another process the next answer is the one a fresh execution gives. GET answers carry an ETag and
revalidate with 304 until something that decides them changed; time-dependent answers are never kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from storyline_service.readmodels import StoryRow, table_of
from storyline_service.webhooks.management import store_of
from tests.graphql.conftest import (
    Server,
    create_board,
    create_story,
    mutate,
    new_board_key,
    serve,
    start_server,
)
from tests.graphql.test_authorization import CASES, WEBHOOK, WEBHOOK_MUTATIONS, Board, payload_field


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(request, tmp_path_factory, {})


# What a board page shows, and what changes with every recorded event on it.
BOARD = """query Board($key: String!) {
  board(key: $key) {
    key name version calendar { workingDays holidays }
    columns { key name category wipLimit stories(first: 20) { edges { node {
      key title points assignee rank blocked blockedReason archived version epic { key } sprint { id }
    } } } }
    backlog(first: 20) { totalCount edges { node { key } } }
    stories(filter: {archived: true}) { totalCount }
    epics { key title targetDate health healthOverridden slips { to } totalPoints completedPoints }
    sprints(first: 5) { totalCount edges { node {
      id name state stories(first: 1) { totalCount }
      report { committedPoints completedPoints scopeChangePoints added { story { key } } }
      burndown { date scopePoints completedPoints }
    } } }
    budget { currency amount rate }
    risks(first: 10) { totalCount edges { node { key impact state stories { key } } } }
    statusUpdates { totalCount }
    members { user role }
    history(last: 1) { totalCount edges { node { sequence eventType summary } } }
  }
  boards(first: 500) { totalCount }
  viewer { roles { boardKey role } }
}"""


def fresh(query: str) -> str:
    """The same operation as a document never asked before: it runs, whatever is cached."""
    return f"{query}\n# {new_board_key()}"


def get(
    server: Server, query: str, variables: dict[str, Any], user: str = "alice", **headers: str
) -> httpx.Response:
    params = {"query": query, "variables": json.dumps(variables)}
    return server.client(user).get("/graphql", params=params, headers=headers)


def cached_and_fresh(server: Server, variables: dict[str, Any], user: str = "alice") -> tuple[Any, Any]:
    return server.post(BOARD, variables, user), server.post(fresh(BOARD), variables, user)


@pytest.mark.parametrize("name", CASES)
def test_no_stale_answer_after_any_mutation(server: Server, name: str) -> None:
    case = CASES[name]
    board = Board(server)
    input = case.input(board)
    variables = {"key": board.key}
    before = server.post(BOARD, variables)
    assert server.post(BOARD, variables) == before  # kept, and served again
    etag = get(server, BOARD, variables).headers["etag"]

    payload = mutate(server, case.mutation, input, f"{payload_field(case.mutation)} {{ __typename }}")
    assert payload["errors"] == []

    after, truth = cached_and_fresh(server, variables)
    assert after == truth
    assert after != before, "the board view shows every change (its history at least)"
    revalidated = get(server, BOARD, variables, **{"If-None-Match": etag})
    assert revalidated.status_code == 200 and revalidated.json()["data"] == truth


WEBHOOKS = "query($key: String!) { board(key: $key) { key webhooks { id url active } } }"


@pytest.mark.parametrize("name", WEBHOOK_MUTATIONS)
def test_no_stale_webhooks_after_any_webhook_mutation(server: Server, name: str) -> None:
    """Webhooks live outside the event log, where no position tells their changes: never kept."""
    board = Board(server)
    input: dict[str, Any] = {"boardKey": board.key, **WEBHOOK}
    if name != "createWebhook":
        created = mutate(server, "createWebhook", input, "webhook { id }")["webhook"]["id"]
        input = {"webhookId": created}
        store_of(server.runtime).set_active(created.removeprefix("webhook-"), False, "failed")
    before = server.post(WEBHOOKS, {"key": board.key})
    assert server.post(WEBHOOKS, {"key": board.key}) == before
    assert "etag" not in get(server, WEBHOOKS, {"key": board.key}).headers

    assert mutate(server, name, input, "webhook { id }")["errors"] == []

    after = server.post(WEBHOOKS, {"key": board.key})
    assert after == server.post(fresh(WEBHOOKS), {"key": board.key}) and after != before


def test_a_webhook_by_its_node_id_is_never_kept(server: Server) -> None:
    board = Board(server)
    input = {"boardKey": board.key, **WEBHOOK}
    webhook = mutate(server, "createWebhook", input, "webhook { id }")["webhook"]["id"]
    query = "query($id: ID!) { node(id: $id) { id } }"
    first = get(server, query, {"id": webhook})
    assert first.json()["data"]["node"] == {"id": webhook} and "etag" not in first.headers
    mutate(server, "deleteWebhook", {"webhookId": webhook}, "webhook { id }")
    assert server.post(query, {"id": webhook})["node"] is None
    # Any other node is kept.
    board_id = server.post("query($key: String!) { board(key: $key) { id } }", {"key": board.key})["board"][
        "id"
    ]
    assert "etag" in get(server, query, {"id": board_id}).headers


def test_a_revoked_role_is_not_served_from_the_cache(server: Server) -> None:
    board = Board(server)
    board.grant("bob", "VIEWER")
    variables = {"key": board.key}
    seen = server.post(BOARD, variables, user="bob")
    assert seen["board"]["key"] == board.key
    assert server.post(BOARD, variables, user="bob") == seen
    etag = get(server, BOARD, variables, user="bob").headers["etag"]

    board.run("revokeRole", {"boardKey": board.key, "user": "bob"}, "board { key }")

    after = server.post(BOARD, variables, user="bob")
    assert after["board"] is None
    assert board.key not in {role["boardKey"] for role in after["viewer"]["roles"]}
    revalidated = get(server, BOARD, variables, user="bob", **{"If-None-Match": etag})
    assert revalidated.status_code == 200 and revalidated.json()["data"]["board"] is None


def test_callers_with_other_roles_get_their_own_answers(server: Server) -> None:
    board = Board(server)
    story = board.story()
    variables = {"key": board.key}
    assert server.post(BOARD, variables)["board"]["key"] == board.key
    assert server.post(BOARD, variables, user="carol")["board"] is None  # no role: no board
    board.grant("carol", "VIEWER")
    seen = server.post(BOARD, variables, user="carol")["board"]
    assert story in json.dumps(seen)


def test_no_stale_answer_after_a_rebuild(server: Server) -> None:
    """A rebuild leaves the positions where they were, yet replaces the rows: cached answers go."""
    board = Board(server)
    story = board.story()
    query = "query($key: String!) { story(key: $key) { title } }"
    stories = table_of(StoryRow)
    with server.runtime.engines.write.begin() as conn:  # a read model gone wrong
        conn.execute(update(stories).where(stories.c.key == story).values(title="damaged"))
    assert server.post(query, {"key": story})["story"]["title"] == "damaged"
    assert server.post(query, {"key": story})["story"]["title"] == "damaged"  # and kept

    env = {**os.environ, **database_env(server)}
    storyline = str(Path(sys.executable).parent / "storyline")
    done = subprocess.run(
        [storyline, "projections", "rebuild", "current"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr

    assert server.post(query, {"key": story})["story"]["title"] == "A story"


def database_env(server: Server) -> dict[str, str]:
    env = {"STORYLINE_DATABASE_URL": server.settings.database_url}
    if server.settings.database_schema:
        env["STORYLINE_DATABASE_SCHEMA"] = server.settings.database_schema
    return env


@pytest.fixture(scope="module", params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def postgres_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """SQLite is served by one process; several share a PostgreSQL database."""
    yield from serve(request, tmp_path_factory, {})


def test_no_stale_answer_when_another_server_process_writes(postgres_server: Server, tmp_path: Path) -> None:
    server = postgres_server
    env = {
        **database_env(server),
        "STORYLINE_ADMIN_TOKEN": "test-admin-token",
        "STORYLINE_RATE_LIMIT": "1000000",
    }
    process, url = start_server(server.settings, env, tmp_path / "other.log")
    try:
        other = Server(url, server.settings, server.runtime, tmp_path / "other.log", tokens=server.tokens)
        board = create_board(other)
        variables = {"key": board}
        before = server.post(BOARD, variables)
        assert server.post(BOARD, variables) == before
        for _ in range(3):
            story = create_story(other, board, "From the other process")
            after, truth = cached_and_fresh(server, variables)
            assert after == truth and story in json.dumps(after)
            mutate(other, "moveStory", {"storyKey": story, "toColumn": "DONE"}, "story { key }")
            after, truth = cached_and_fresh(server, variables)
            assert after == truth
    finally:
        for client in other.clients.values():
            client.close()
        process.terminate()
        process.wait(timeout=10)


# ----- HTTP -----


def test_get_answers_revalidate_with_an_etag(server: Server) -> None:
    board = Board(server)
    story = board.story()
    variables = {"key": board.key}
    first = get(server, BOARD, variables)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    assert "Authorization" in first.headers["vary"]

    again = get(server, BOARD, variables, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert etag.startswith('W/"')
    for listed in (f'"other", {etag}', etag.removeprefix("W/")):  # compared weakly
        assert get(server, BOARD, variables, **{"If-None-Match": listed}).status_code == 304

    board.run("updateStory", {"storyKey": story, "title": "Renamed"}, "story { key }")
    changed = get(server, BOARD, variables, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert "Renamed" in changed.text

    # Another caller never matches alice's tag.
    board.grant("vera", "VIEWER")
    theirs = get(server, BOARD, variables, user="vera", **{"If-None-Match": changed.headers["etag"]})
    assert theirs.status_code == 200 and theirs.headers["etag"] != changed.headers["etag"]


def test_a_kept_answer_is_the_executed_answer_byte_for_byte(server: Server) -> None:
    board = Board(server)
    board.story()
    variables = {"key": board.key}
    body = {"query": BOARD, "variables": variables}
    executed, kept = (server.client().post("/graphql", json=body) for _ in range(2))
    assert executed.status_code == kept.status_code == 200
    assert kept.content == executed.content
    assert kept.headers["content-type"] == executed.headers["content-type"]

    query, accept = fresh(BOARD), {"Accept": "application/graphql-response+json"}
    executed, kept = (get(server, query, variables, **accept) for _ in range(2))
    assert executed.status_code == kept.status_code == 200
    assert (kept.content, kept.headers["etag"]) == (executed.content, executed.headers["etag"])
    assert kept.headers["content-type"] == executed.headers["content-type"]


def test_post_answers_carry_no_etag(server: Server) -> None:
    response = server.client().post("/graphql", json={"query": "{ viewer { name } }"})
    assert response.status_code == 200 and "etag" not in response.headers


@pytest.mark.parametrize(
    "query",
    [
        "{ rateLimit { remaining cost } }",
        "query($key: String!) { story(key: $key) { timeInStatus { column hours } } }",
        "query($key: String!) { story(key: $key) { blockedHours } }",
        "query($key: String!) { story(key: $key) { board { flow { throughput } } } }",
        "query($key: String!) { story(key: $key) { board { statusDraft { since until } } } }",
    ],
    ids=["rateLimit", "timeInStatus", "blockedHours", "flow", "statusDraft"],
)
def test_time_dependent_answers_are_never_kept(server: Server, query: str) -> None:
    board = Board(server)
    story = board.blocked_story()
    variables = {"key": story} if "$key" in query else {}
    first = get(server, query, variables)
    assert first.status_code == 200, first.text
    assert "errors" not in first.json(), first.text
    assert "etag" not in first.headers
    if "rateLimit" in query:
        second = get(server, query, variables).json()["data"]["rateLimit"]
        assert second["remaining"] < first.json()["data"]["rateLimit"]["remaining"]
    if "timeInStatus" in query:
        second = get(server, query, variables).json()["data"]
        assert second != first.json()["data"], "the current column's hours run on"


def test_a_burndown_is_kept(server: Server) -> None:
    """It depends on today only: kept, under the quarter hour of UTC."""
    board = Board(server)
    sprint = board.sprint(story=board.story(), active=True)
    query = (
        "query($id: ID!) { sprint(id: $id) { burndown { date remainingPoints } report { committedCount } } }"
    )
    first = get(server, query, {"id": sprint})
    assert first.status_code == 200 and "errors" not in first.json()
    again = get(server, query, {"id": sprint}, **{"If-None-Match": first.headers["etag"]})
    assert again.status_code in (200, 304)  # 200 only when a quarter hour turned in between
