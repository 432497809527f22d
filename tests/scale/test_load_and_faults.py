"""Load with faults on real processes: two API processes (`serve --no-projector`) and two
projector workers on one PostgreSQL database, 16 concurrent clients, the active projector
killed with SIGKILL and one API process's connections terminated mid-way."""

from __future__ import annotations

import itertools
import signal
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_fixed

from storyline_domain.story import Story
from storyline_service.receipts import CommandReceipt
from tests.conftest import POSTGRES_URL
from tests.graphql.conftest import Server, create_board
from tests.scale.conftest import Cluster, eventually

# Several processes on a shared machine: slow to start, never timed.
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(1500)]

CLIENTS = 16
MUTATIONS_PER_CLIENT = 126  # 2,016 in all: alternately a new story and a move of it
COLUMNS = ("IN_PROGRESS", "DONE")

CREATE = """mutation($input: CreateStoryInput!) {
  createStory(input: $input) { story { key version } errors { code message field } clientMutationId } }"""
MOVE = """mutation($input: MoveStoryInput!) {
  moveStory(input: $input) { story { key version } errors { code message field } clientMutationId } }"""


class TryAgain(Exception):
    """No answer: the connection failed, the database was out of reach (503), or the read models
    were behind. The same clientMutationId is sent again."""


@dataclass
class Acknowledged:
    client_mutation_id: str
    command: str  # createStory or moveStory
    input: dict[str, Any]  # as sent, with the clientMutationId
    story: str
    version: int
    attempts: int


@dataclass
class Client:
    number: int
    servers: list[Server]
    acknowledged: list[Acknowledged] = field(default_factory=list)
    unanswered: list[tuple[str, str]] = field(default_factory=list)  # (clientMutationId, command)
    turn: itertools.count[int] = field(default_factory=itertools.count)

    def send(self, document: str, command: str, input: dict[str, Any]) -> dict[str, Any]:
        """One attempt, on the API processes in turn (as behind a load balancer)."""
        server = self.servers[next(self.turn) % len(self.servers)]
        try:
            response = server.client().post(
                "/graphql", json={"query": document, "variables": {"input": input}}
            )
        except httpx.TransportError as error:
            raise TryAgain(str(error)) from error
        if response.status_code == 503:
            assert response.headers["Retry-After"]
            raise TryAgain("503")
        body = response.json()
        if body.get("errors"):
            assert body["errors"][0]["extensions"]["code"] == "READ_MODELS_BEHIND", body
            raise TryAgain("read models behind")
        payload: dict[str, Any] = body["data"][command]
        assert payload["errors"] == [], payload
        return payload

    def mutate(self, document: str, command: str, input: dict[str, Any]) -> Acknowledged | None:
        key = f"c{self.number}-{uuid.uuid4().hex[:12]}"
        input = {**input, "clientMutationId": key}
        attempts = retry(
            retry=retry_if_exception_type(TryAgain),
            stop=stop_after_attempt(30),
            wait=wait_fixed(0.5),
            reraise=True,
        )(self.send)
        try:
            payload = attempts(document, command, input)
        except TryAgain:
            self.unanswered.append((key, command))
            return None
        assert payload["clientMutationId"] == key
        story = payload["story"]
        done = Acknowledged(
            key, command, input, story["key"], story["version"], attempts.statistics["attempt_number"]
        )
        self.acknowledged.append(done)
        return done

    def run(self, board: str, progress: threading.Semaphore) -> None:
        story: Acknowledged | None = None
        for n in range(MUTATIONS_PER_CLIENT):
            if n % 2 == 0 or story is None:
                story = self.mutate(
                    CREATE, "createStory", {"boardKey": board, "title": f"client {self.number} #{n}"}
                )
            else:
                column = COLUMNS[(n // 2) % 2]  # never TODO, where the story is: each move records a change
                move = {"storyKey": story.story, "toColumn": column, "expectedVersion": story.version}
                story = self.mutate(MOVE, "moveStory", move)
            progress.release()


def terminate_connections_of(name: str, pid: int) -> int:
    """pg_terminate_backend on every connection of one process (named by PGAPPNAME, or by
    Storyline's own application_name with its pid); returns how many."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s OR application_name LIKE %s",
            (name, f"% pid={pid}"),
        ).fetchall()
    return len(rows)


def test_load_with_a_killed_projector_and_terminated_connections(cluster: Cluster) -> None:
    servers, processes = [], []
    for name in ("api-a", "api-b"):
        server, process = cluster.serve(name, env={"PGAPPNAME": name})
        servers.append(server)
        processes.append(process)
    cluster.projector("projector-1")
    cluster.projector("projector-2")
    cluster.wait_for_projectors()
    board = create_board(servers[0])
    clients = [Client(n, servers) for n in range(CLIENTS)]
    progress = threading.Semaphore(0)
    threads = [threading.Thread(target=c.run, args=(board, progress)) for c in clients]
    for thread in threads:
        thread.start()

    total = CLIENTS * MUTATIONS_PER_CLIENT
    for _ in range(total // 3):
        progress.acquire()
    killed = next(iter(cluster.lock_holders()["current"]))
    next(p for p in cluster.processes if p.pid == killed).send_signal(signal.SIGKILL)
    for _ in range(total // 3):
        progress.acquire()
    terminated = terminate_connections_of("api-a", processes[0].pid)
    for thread in threads:
        thread.join()

    assert terminated > 0
    survivor = next(iter(cluster.lock_holders()["current"]))
    assert survivor != killed
    eventually(cluster.projected, "the surviving projector reaches the head of the log")
    acknowledged = [a for c in clients for a in c.acknowledged]
    unanswered = [u for c in clients for u in c.unanswered]
    assert len(acknowledged) >= 2000

    # Every acknowledged mutation is in the log exactly once, with the answer its client got;
    # an unanswered one is either absent or complete.
    events_by_key: dict[str, list[Any]] = defaultdict(list)
    after = 0
    while batch := cluster.runtime.projector.read(after, 1000):
        for _, event in batch:
            if event.idempotency_key:
                events_by_key[event.idempotency_key].append(event)
        after = batch[-1][0]

    def one_command(events: list[Any], command: str) -> Any:
        """The story event of one whole command: its receipt, that event, and each other aggregate
        it changed (a board's story numbers) once. Raises otherwise."""
        receipts = [e for e in events if isinstance(e, CommandReceipt.Created)]
        kind = Story.Created if command == "createStory" else Story.Moved
        changes = [e for e in events if isinstance(e, kind)]
        assert len(receipts) == 1 and len(changes) == 1, events
        assert len({e.originator_id for e in events}) == len(events), events  # no aggregate twice
        return changes[0]

    for done in acknowledged:
        change = one_command(events_by_key[done.client_mutation_id], done.command)
        assert change.originator_version == done.version, (done, change)
    for key, command in unanswered:
        if key in events_by_key:  # recorded though its answer was lost: then whole
            one_command(events_by_key[key], command)

    # The read models equal a replay, and show each story as its client was last told.
    verified = cluster.cli("projections", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    last_told = {a.story: a.version for a in acknowledged}
    with cluster.runtime.engine.connect() as conn:
        rows = conn.execute(text("SELECT key, version FROM stories WHERE board_key = :b"), {"b": board}).all()
    read = {key: version for key, version in rows}
    assert {key: read[key] for key in last_told} == last_told

    # Every retried mutation, and some others, sent again with its clientMutationId: the same answer
    # (the payload shows the story as it is now, so its version only where nothing changed it since).
    retried = [a for a in acknowledged if a.attempts > 1]
    latest = {a.story: a for a in acknowledged}
    for done in retried + [c.acknowledged[0] for c in clients] + [c.acknowledged[-1] for c in clients]:
        again = clients[0].send(CREATE if done.command == "createStory" else MOVE, done.command, done.input)
        assert again["story"]["key"] == done.story
        if latest[done.story] is done:
            assert again["story"]["version"] == done.version
    print(f"{len(acknowledged)} acknowledged, {len(unanswered)} unanswered, {len(retried)} after a retry")
