"""Projector workers beside API processes on one PostgreSQL database."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.conftest import POSTGRES_URL
from tests.contract.conftest import node_clients  # noqa: F401  (a fixture)
from tests.contract.documents import documents
from tests.graphql.conftest import ADMIN_TOKEN, create_board, create_story, mutate
from tests.scale.conftest import Cluster, eventually

# Several processes on a shared machine: slow to start, never timed.
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(1500)]

STORIES = "query($key: String!) { board(key: $key) { stories(first: 100) { edges { node { key title } } } } }"


def story_titles(server: object, board: str) -> list[str]:
    data = server.post(STORIES, {"key": board})  # type: ignore[attr-defined]
    return [edge["node"]["title"] for edge in data["board"]["stories"]["edges"]]


def test_one_projector_holds_each_projection_and_another_takes_over_after_kill_9(cluster: Cluster) -> None:
    api, _ = cluster.serve("api")
    first = cluster.projector("projector-1")
    second = cluster.projector("projector-2")
    names = {p.name for p in cluster.runtime.projector.projections}

    def one_holder_each() -> bool:
        holders = cluster.lock_holders()
        return all(len(pids) == 1 for pids in holders.values())

    eventually(one_holder_each, "every projection locked by one projector")
    active = next(iter(cluster.lock_holders()["current"]))
    assert active in (first.pid, second.pid)
    board = create_board(api)
    for n in range(10):
        create_story(api, board, f"before {n}")  # each returns once the worker has projected it

    standby = second if active == first.pid else first
    (first if active == first.pid else second).send_signal(signal.SIGKILL)
    eventually(
        lambda: cluster.lock_holders() == {name: {standby.pid} for name in names}, "the standby takes over"
    )
    for n in range(10):
        create_story(api, board, f"after {n}")
    eventually(cluster.projected, "the read models reach the head of the log")
    assert sorted(story_titles(api, board)) == sorted(
        [f"before {n}" for n in range(10)] + [f"after {n}" for n in range(10)]
    )
    verified = cluster.cli("projections", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_mutation_on_one_api_process_is_read_back_through_the_other(cluster: Cluster) -> None:
    """Read-your-writes across processes: when a mutation returns on A, the projector (elsewhere)
    has projected it, so B shows it too."""
    a, b = cluster.two_apis_and_a_projector()
    board = create_board(a)
    for n in range(20):
        create_story(a if n % 2 else b, board, f"story {n}")
        assert f"story {n}" in story_titles(b if n % 2 else a, board)


def test_without_a_projector_a_mutation_says_the_read_models_are_behind(cluster: Cluster) -> None:
    cluster.env["STORYLINE_PROJECTION_WAIT_SECONDS"] = "0.5"
    api, _ = cluster.serve("api")
    body = api.request(
        'mutation { createBoard(input: {key: "LONE", name: "Lone"}) { board { key } } }', user="admin"
    )
    assert body["errors"][0]["extensions"]["code"] == "READ_MODELS_BEHIND"
    cluster.projector("projector")
    eventually(cluster.projected, "the worker projects the recorded change")
    assert api.post('{ board(key: "LONE") { name } }', user="admin")["board"] == {"name": "Lone"}


def test_a_graphql_ws_subscription_on_one_process_receives_writes_through_another(
    cluster: Cluster,
    node_clients: Path,  # noqa: F811
) -> None:
    a, b = cluster.two_apis_and_a_projector()
    board = create_board(a)
    story = create_story(a, board, "Watched")
    command = ["node", "subscribe.mjs", b.ws_url, ADMIN_TOKEN, board]
    pipe = subprocess.PIPE
    with subprocess.Popen(
        command, cwd=node_clients, text=True, stdin=pipe, stdout=pipe, stderr=pipe
    ) as process:
        assert process.stdin and process.stdout
        process.stdin.write(documents()["BoardEvents"])
        process.stdin.close()
        assert process.stdout.readline().strip() == "connected", process.stderr and process.stderr.read()
        time.sleep(0.5)  # the subscription notes the end of the log when it starts
        assigned = mutate(a, "assignStory", {"storyKey": story, "assignee": "alice"}, "story { key }")
        assert assigned["errors"] == []  # alice created the board: a member
        out = process.stdout.read()  # until the client exits: after its first event, or 20 s
        err = process.stderr.read() if process.stderr else ""
    assert process.returncode == 0, out + err
    event = json.loads(out.splitlines()[-1])["data"]["boardEvents"]
    assert (event["eventType"], event["entityKey"], event["actor"]) == ("StoryAssigned", story, "alice")


def test_sigterm_closes_subscriptions_and_releases_the_projectors_lock(cluster: Cluster) -> None:
    api, server_process = cluster.serve("api", "--workers", "1")  # serves and projects
    board = create_board(api)
    eventually(lambda: cluster.lock_holders()["current"] == {server_process.pid}, "the server projects")
    protocols = [Subprotocol("graphql-transport-ws")]
    with connect(api.ws_url, subprotocols=protocols) as ws:
        ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {ADMIN_TOKEN}"}})
        )
        assert json.loads(ws.recv(10))["type"] == "connection_ack"
        query = "subscription($key: String!) { boardEvents(boardKey: $key) { id } }"
        ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"key": board}}}
            )
        )
        server_process.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012  # service restart: reconnect
    server_process.wait(timeout=30)  # uvicorn ends by re-raising SIGTERM, after a clean shutdown:
    assert "Application shutdown complete" in api.log.read_text()
    assert cluster.lock_holders()["current"] == set()
    worker = cluster.projector("projector")
    eventually(lambda: cluster.lock_holders()["current"] == {worker.pid}, "a worker takes the released lock")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    assert cluster.lock_holders() == {name: set() for name in cluster.lock_holders()}


def test_serve_with_workers_runs_several_api_processes_on_one_port(cluster: Cluster) -> None:
    api, server_process = cluster.serve("api", "--no-projector", "--workers", "2")
    cluster.projector("projector")
    cluster.wait_for_projectors()

    def api_processes() -> set[int]:
        """The processes listening for projection progress: one per API process."""
        with psycopg.connect(POSTGRES_URL) as conn:
            rows = conn.execute(
                "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE %s",
                (f"storyline listen {cluster.settings.database_schema}_storyline_projected pid=%",),
            ).fetchall()
        return {int(name.rsplit("pid=", 1)[1]) for (name,) in rows}

    eventually(lambda: len(api_processes()) == 2, "two API processes")
    for pid in api_processes():
        parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
        assert int(parent) == server_process.pid  # uvicorn's workers, behind the one port
    board = create_board(api)
    for n in range(10):
        create_story(api, board, f"story {n}")
    assert sorted(story_titles(api, board)) == sorted(f"story {n}" for n in range(10))
