"""Webhooks over the API, delivered by a real server process to a real HTTP receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from storyline_service.bootstrap import bootstrap
from storyline_service.settings import Settings
from tests.conftest import make_settings
from tests.graphql import conftest
from tests.graphql.conftest import ADMIN_TOKEN, Server, create_board, create_story, serve, start_server
from tests.helpers import ALICE
from tests.receiver import BIG, Receiver, receiver

FAST = {
    "STORYLINE_WEBHOOK_ALLOW_PRIVATE": "true",
    "STORYLINE_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
    "STORYLINE_WEBHOOK_RETRY_MAX_SECONDS": "0.2",
    "STORYLINE_WEBHOOK_TIMEOUT_SECONDS": "1",
}

CREATE = """
mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) {
    webhook { id boardKey url eventTypes active createdAt }
    secret
    errors { code message field }
    clientMutationId
  }
}"""

DELIVERIES = """
query($id: ID!) {
  node(id: $id) {
    ... on Webhook {
      active deactivatedReason
      deliveries(first: 50) {
        totalCount
        edges { node { id sequence eventType status attempts lastResponseCode lastError nextAttemptAt } }
      }
    }
  }
}"""


EVENT_TYPES = "{ eventTypes { name entityType description } }"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hook_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(request, tmp_path_factory, FAST)


@pytest.fixture(scope="module")
def found(hook_server: Server) -> Iterator[Receiver]:
    """A receiver per server, so that what one backend's tests received never shows in the other's."""
    with receiver() as running:
        yield running


def create_webhook(server: Server, board: str, url: str, event_types: list[str] | None = None) -> Any:
    payload = server.post(CREATE, {"input": {"boardKey": board, "url": url, "eventTypes": event_types}})
    assert payload["createWebhook"]["errors"] == [], payload
    return payload["createWebhook"]


def deliveries(server: Server, webhook_id: str) -> list[dict[str, Any]]:
    webhook = server.post(DELIVERIES, {"id": webhook_id})["node"]
    return [edge["node"] for edge in webhook["deliveries"]["edges"]]


def wait_for_deliveries(
    found: Receiver, server: Server, webhook_id: str, condition: Callable[[Any], bool], what: str
) -> list[dict[str, Any]]:
    """The webhook's deliveries that meet ``condition``, once there are any."""
    return found.wait_for(lambda: [d for d in deliveries(server, webhook_id) if condition(d)], what)


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute the HMAC of the raw body and compare in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def test_deliveries_are_signed_and_carry_the_audit_entry(hook_server: Server, found: Receiver) -> None:
    board = create_board(hook_server)
    url = found.url("/ok?t=signed")
    created = create_webhook(hook_server, board, url, ["StoryCreated"])
    assert created["secret"].startswith("whsec_")
    assert created["webhook"]["eventTypes"] == ["StoryCreated"] and created["webhook"]["active"]
    story = create_story(hook_server, board, "Signed")

    [request] = found.wait_for(lambda: found.received("/ok?t=signed"), "the delivery")
    assert verify(created["secret"], request.body, request.headers["x-storyline-signature"])
    assert not verify(created["secret"], request.body + b" ", request.headers["x-storyline-signature"])
    assert request.headers["x-storyline-event"] == "StoryCreated"
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.body)
    assert body["object"] == {"type": "Story", "key": story}
    assert body["deliveryId"] == request.delivery
    entry = body["entry"]
    assert (entry["eventType"], entry["entityKey"], entry["boardKey"], entry["actor"]) == (
        "StoryCreated",
        story,
        board,
        "alice",
    )
    assert {"field": "title", "from": None, "to": "Signed"} in entry["changes"]
    assert entry["summary"] == f"alice created {story}: Signed"
    # The entry is the audit log's, under the same id.
    audit = hook_server.post("query($id: ID!) { node(id: $id) { ... on AuditEntry { sequence } } }", entry)
    assert audit["node"]["sequence"] == entry["sequence"]

    [delivery] = wait_for_deliveries(
        found,
        hook_server,
        created["webhook"]["id"],
        lambda d: d["status"] == "DELIVERED",
        "the delivery recorded",
    )
    assert (delivery["id"], delivery["sequence"]) == (request.delivery, entry["sequence"])
    assert (delivery["attempts"], delivery["lastResponseCode"], delivery["nextAttemptAt"]) == (1, 200, None)


def test_the_filter_holds(hook_server: Server, found: Receiver) -> None:
    board = create_board(hook_server)
    create_webhook(hook_server, board, found.url("/ok?t=filter"), ["StoryMoved"])
    story = create_story(hook_server, board)
    moved = hook_server.post(
        'mutation($k: String!) { moveStory(input: {storyKey: $k, toColumn: "DONE"}) { errors { code } } }',
        {"k": story},
    )
    assert moved["moveStory"]["errors"] == []
    found.wait_for(lambda: found.received("/ok?t=filter"), "the move's delivery")
    # Delivery is in log order: had the earlier StoryCreated been sent, it would have arrived first.
    assert [r.headers["x-storyline-event"] for r in found.received("/ok?t=filter")] == ["StoryMoved"]


def test_a_receiver_failing_three_times_gets_the_event_once_as_a_success(
    hook_server: Server, found: Receiver
) -> None:
    board = create_board(hook_server)
    webhook = create_webhook(hook_server, board, found.url("/fail/3?t=retry"), ["StoryCreated"])["webhook"]
    create_story(hook_server, board)
    [delivery] = wait_for_deliveries(
        found, hook_server, webhook["id"], lambda d: d["status"] == "DELIVERED", "the delivery to succeed"
    )
    assert (delivery["attempts"], delivery["lastResponseCode"]) == (4, 200)
    requests = found.received("/fail/3?t=retry")
    assert [r.status for r in requests] == [500, 500, 500, 200]
    assert {r.delivery for r in requests} == {delivery["id"]}
    assert len({r.body for r in requests}) == 1  # every attempt sends the same signed body


def test_a_hanging_receiver_is_cut_off_at_the_timeout_and_retried(
    hook_server: Server, found: Receiver
) -> None:
    board = create_board(hook_server)
    webhook = create_webhook(hook_server, board, found.url("/hang/1?t=timeout"), ["StoryCreated"])["webhook"]
    create_story(hook_server, board)
    # The receiver holds the first request until released; the server gives up on it before that.
    [timed_out] = wait_for_deliveries(
        found, hook_server, webhook["id"], lambda d: d["attempts"] >= 1, "the first attempt to time out"
    )
    assert timed_out["lastError"] == "no answer within 1 s"
    assert timed_out["lastResponseCode"] is None
    found.release.set()
    [delivery] = wait_for_deliveries(
        found, hook_server, webhook["id"], lambda d: d["status"] == "DELIVERED", "the retry to succeed"
    )
    assert delivery["attempts"] >= 2 and delivery["lastResponseCode"] == 200


def test_webhooks_are_shown_to_the_boards_admins_only_and_never_their_secret(
    hook_server: Server, found: Receiver
) -> None:
    board = create_board(hook_server)
    grant = """mutation($b: String!) {
      grantRole(input: {boardKey: $b, user: "max", role: MANAGER}) { errors { code } }
    }"""
    hook_server.post(grant, {"b": board})
    created = create_webhook(hook_server, board, found.url("/ok?t=admins"))
    query = "query($b: String!, $id: ID!) { board(key: $b) { webhooks { id url } } node(id: $id) { id } }"
    variables = {"b": board, "id": created["webhook"]["id"]}
    seen = hook_server.post(query, variables)
    assert seen["board"]["webhooks"] == [{"id": created["webhook"]["id"], "url": found.url("/ok?t=admins")}]
    assert seen["node"] == {"id": created["webhook"]["id"]}
    assert hook_server.post(query, variables, user="max") == {"board": {"webhooks": []}, "node": None}
    assert created["secret"] not in json.dumps(hook_server.post(DELIVERIES, {"id": created["webhook"]["id"]}))


def test_delete_stops_deliveries(hook_server: Server, found: Receiver) -> None:
    board = create_board(hook_server)
    created = create_webhook(hook_server, board, found.url("/ok?t=deleted"), ["StoryCreated"])
    deleted = hook_server.post(
        "mutation($id: ID!) { deleteWebhook(input: {webhookId: $id}) { webhook { id } errors { code } } }",
        {"id": created["webhook"]["id"]},
    )["deleteWebhook"]
    assert deleted == {"webhook": {"id": created["webhook"]["id"]}, "errors": []}
    create_webhook(hook_server, board, found.url("/ok?t=still-there"), ["StoryCreated"])
    create_story(hook_server, board)
    found.wait_for(lambda: found.received("/ok?t=still-there"), "the other webhook's delivery")
    assert found.received("/ok?t=deleted") == []
    assert hook_server.post(DELIVERIES, {"id": created["webhook"]["id"]}) == {"node": None}


def test_deliveries_page_both_ways(hook_server: Server, found: Receiver) -> None:
    board = create_board(hook_server)
    webhook = create_webhook(hook_server, board, found.url("/ok?t=paging"), ["StoryCreated"])["webhook"]
    for n in range(5):
        create_story(hook_server, board, f"story {n}")
    found.wait_for(lambda: len(found.received("/ok?t=paging")) == 5, "five deliveries")
    page = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      node(id: $id) { ... on Webhook {
        deliveries(first: $first, after: $after, last: $last, before: $before) {
        edges { cursor node { sequence } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      } } } }"""

    def read(**args: Any) -> Any:
        return hook_server.post(page, {"id": webhook["id"], **args})["node"]["deliveries"]

    newest = read(first=3)
    sequences = [e["node"]["sequence"] for e in newest["edges"]]
    assert sequences == sorted(sequences, reverse=True)
    assert newest["pageInfo"]["hasNextPage"] and not newest["pageInfo"]["hasPreviousPage"]
    rest = read(first=3, after=newest["pageInfo"]["endCursor"])
    assert [e["node"]["sequence"] for e in rest["edges"]] == sorted(
        set(range(min(sequences))) & {e["node"]["sequence"] for e in rest["edges"]}, reverse=True
    )
    assert len(rest["edges"]) == 2 and not rest["pageInfo"]["hasNextPage"]
    back = read(last=2, before=rest["pageInfo"]["startCursor"])
    assert [e["node"]["sequence"] for e in back["edges"]] == sequences[1:]
    assert back["pageInfo"]["hasPreviousPage"] and back["pageInfo"]["hasNextPage"]


# ----- refusals -----


def test_unknown_event_types_are_refused_with_the_valid_names(hook_server: Server, found: Receiver) -> None:
    board = create_board(hook_server)
    refused = hook_server.post(
        CREATE, {"input": {"boardKey": board, "url": found.url("/ok"), "eventTypes": ["StoryMovd"]}}
    )["createWebhook"]
    [error] = refused["errors"]
    assert (error["code"], error["field"], refused["webhook"], refused["secret"]) == (
        "VALIDATION",
        "eventTypes",
        None,
        None,
    )
    names = [t["name"] for t in hook_server.post(EVENT_TYPES)["eventTypes"]]
    assert "StoryMoved" in names and all(name in error["message"] for name in names)
    assert hook_server.post("query($b: String!) { board(key: $b) { webhooks { id } } }", {"b": board}) == {
        "board": {"webhooks": []}
    }

    audit = hook_server.request('{ auditLog(filter: {eventTypes: ["StoryMovd"]}) { totalCount } }')
    [audit_error] = audit["errors"]
    assert audit_error["extensions"]["code"] == "VALIDATION"
    assert "StoryMovd" in audit_error["message"] and all(name in audit_error["message"] for name in names)


def test_event_types_name_their_entity_and_filter_the_audit_log(hook_server: Server) -> None:
    types = {t["name"]: t for t in hook_server.post(EVENT_TYPES)["eventTypes"]}
    assert types["StoryMoved"]["entityType"] == "Story"
    assert types["SprintStarted"]["entityType"] == "Sprint"
    assert all(t["description"] for t in types.values())
    board = create_board(hook_server)
    create_story(hook_server, board)
    query = """query($b: String!) {
      auditLog(filter: {boardKey: $b, eventTypes: ["StoryCreated"]}) { totalCount }
    }"""
    assert hook_server.post(query, {"b": board})["auditLog"]["totalCount"] == 1


def test_redirects_are_not_followed(hook_server: Server, found: Receiver) -> None:
    board = create_board(hook_server)
    webhook = create_webhook(hook_server, board, found.url("/redirect"), ["StoryCreated"])["webhook"]
    create_story(hook_server, board)
    [refused] = wait_for_deliveries(
        found, hook_server, webhook["id"], lambda d: d["attempts"] >= 2, "two attempts"
    )
    assert (refused["status"], refused["lastResponseCode"]) == ("PENDING", 302)
    assert found.received("/ok?t=redirected") == []


def test_an_answer_is_read_only_up_to_a_small_cap(hook_server: Server, found: Receiver) -> None:
    board = create_board(hook_server)
    webhook = create_webhook(hook_server, board, found.url("/big"), ["StoryCreated"])["webhook"]
    create_story(hook_server, board)
    [delivery] = wait_for_deliveries(
        found, hook_server, webhook["id"], lambda d: d["status"] == "DELIVERED", "the delivery"
    )
    assert (delivery["attempts"], delivery["lastResponseCode"]) == (1, 200)
    # The server hung up long before the receiver could send all of its answer.
    [sent] = found.wait_for(lambda: found.big_sent, "the receiver to stop sending")
    assert sent < BIG


# ----- a restart mid-retry loses nothing -----


def test_a_restart_mid_retry_loses_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conftest, "STARTUP_SECONDS", 90)  # two starts on a busy machine
    settings: Settings = make_settings(backend, tmp_path, request)
    env = {**FAST, "STORYLINE_DATABASE_URL": settings.database_url, "STORYLINE_ADMIN_TOKEN": ADMIN_TOKEN}
    env["STORYLINE_WEBHOOK_MAX_ATTEMPTS"] = "1000"
    if settings.database_schema:
        env["STORYLINE_DATABASE_SCHEMA"] = settings.database_schema
    local = bootstrap(settings, read_your_writes=False)
    with receiver() as found:
        found.down.set()
        process, url = start_server(settings, env, tmp_path / "first.log")
        try:
            first = Server(url, settings, local, tmp_path / "first.log")
            board = create_board(first)
            webhook = create_webhook(first, board, found.url("/down"), ["StoryCreated"])["webhook"]
            create_story(first, board, "Before the crash")
            found.wait_for(lambda: len(found.received("/down")) >= 2, "failed attempts")
            process.send_signal(signal.SIGKILL)
            process.wait()
            for client in first.clients.values():
                client.close()
            # Recorded while no server runs: the next one delivers it too.
            local.app.create_story(ALICE, board, "While down")
            failed_before = len(found.received("/down"))
            found.down.clear()
            process, url = start_server(settings, env, tmp_path / "second.log")
            second = Server(url, settings, local, tmp_path / "second.log")
            delivered = found.wait_for(
                lambda: [r for r in found.received("/down") if r.status == 200][1:],
                "both events after the restart",
            )
            successes = [r for r in found.received("/down") if r.status == 200]
            assert len(successes) == 2 and delivered
            titles = [json.loads(r.body)["entry"]["changes"][0]["to"] for r in successes]
            assert titles == ["Before the crash", "While down"]
            recorded = {d["id"]: d for d in deliveries(second, webhook["id"])}
            first_delivery = recorded[successes[0].delivery]
            assert first_delivery["status"] == "DELIVERED"
            # Attempts recorded before the crash count on (one in flight at the kill may be unrecorded).
            assert 2 <= first_delivery["attempts"] <= failed_before + 1
            for client in second.clients.values():
                client.close()
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(process.pid, signal.SIGKILL)
            local.close()
