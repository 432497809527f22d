"""Clients no one here wrote, against a live server: graphql-http's audit, graphql-ws, Chromium on /board.

They need Node, npm and Chromium (tests/contract/conftest.py); without them
they are skipped, unless STORYLINE_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from graphql import GraphQLObjectType
from tests.contract.documents import documents
from tests.contract.live import ADMIN_TOKEN, BOARD, DemoServer
from tests.contract.pages import run_page
from tests.contract.scenario import served_schema

pytestmark = pytest.mark.browser


def node(clients: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", *args], cwd=clients, capture_output=True, text=True, timeout=timeout)


def test_graphql_http_audit_passes_every_check(demo: DemoServer, node_clients: Path) -> None:
    done = node(node_clients, "audit.mjs", f"{demo.url}/graphql", ADMIN_TOKEN)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not ok: 0" in done.stdout


def test_graphql_ws_client_receives_a_live_event(demo: DemoServer, node_clients: Path) -> None:
    command = ["node", "subscribe.mjs", demo.ws_url, ADMIN_TOKEN, BOARD]
    pipe = subprocess.PIPE
    with subprocess.Popen(
        command, cwd=node_clients, text=True, stdin=pipe, stdout=pipe, stderr=pipe
    ) as process:
        assert process.stdin and process.stdout
        process.stdin.write(documents()["BoardEvents"])
        process.stdin.close()
        connected = process.stdout.readline()  # the script gives up after 20 s, closing stdout
        assert connected.strip() == "connected", process.stderr and process.stderr.read()
        time.sleep(0.5)  # the subscription notes the end of the log when it starts
        bob = demo.client(demo.token("bob"))
        story = bob.data("Backlog", {"boardKey": BOARD, "first": 1})["board"]["backlog"]["edges"][0]["node"]
        assignee = "bob" if story["assignee"] == "carol" else "carol"  # a change, whoever has it now
        bob.data("AssignStory", {"input": {"storyKey": story["key"], "assignee": assignee}})
        out = process.stdout.read()  # until the script exits: after the first event, or 20 s
        err = process.stderr.read() if process.stderr else ""
    assert process.returncode == 0, out + err
    event = json.loads(out.splitlines()[-1])["data"]["boardEvents"]
    assert (event["eventType"], event["entityKey"]) == ("StoryAssigned", story["key"])
    assert event["actor"] == "bob"


def moves_since(demo: DemoServer, since: datetime) -> list[tuple[str, str, str]]:
    """(story, to column, actor) of every move on the board since ``since``, in order."""
    audit_filter = {"boardKey": BOARD, "eventTypes": ["StoryMoved"], "from": since.isoformat()}
    log = demo.client().data("AuditTrail", {"filter": audit_filter, "first": 100})["auditLog"]
    entries = [edge["node"] for edge in log["edges"]]
    return [(e["entityKey"], e["changes"][0]["to"], e["actor"]) for e in entries]


def test_the_board_page_in_headless_chromium(
    demo: DemoServer, node_clients: Path, chromium: str, artifacts: Path, tmp_path: Path
) -> None:
    """Drag and click moves are recorded; another client's move shows live; a stale move is a conflict."""
    started = datetime.now(UTC)
    result = run_page("board.mjs", demo, node_clients, chromium, artifacts, tmp_path, "board")

    assert result["columns"] == ["TODO", "IN_PROGRESS", "REVIEW", "DONE"] and result["backlog"] > 0
    dragged, clicked, live, conflict = (result[k] for k in ("dragged", "clicked", "live", "conflict"))
    # Recorded as the page and the second client made them; the page's stale move recorded nothing.
    assert moves_since(demo, started) == [
        (dragged["key"], dragged["to"], "admin"),
        (clicked["key"], clicked["to"], "admin"),
        (live["key"], live["to"], "bob"),
        (conflict["key"], conflict["to"], "bob"),
    ]
    assert "changed by someone else" in conflict["message"]
    sprint = served_schema(demo.client()).get_type("Sprint")
    assert isinstance(sprint, GraphQLObjectType)
    if "burndown" in sprint.fields:
        assert result["burndown"].get("points", 0) >= 1, result["burndown"]
    else:
        assert "not available" in result["burndown"]["pending"]
    assert (artifacts / "board.png").stat().st_size > 10_000
