"""A new user's first minutes: a fresh clone, `make run`, the demo board in GraphQL, GraphiQL and /board.

It clones the repository at HEAD, so it tests committed code only, and installs
for real into the clone's own .venv (pip's cache keeps that quick). It is skipped
outside a git checkout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine

from storyline_entrypoints.web import GRAPHIQL_QUERY
from storyline_service.analytics import sprint_report_and_burndown
from tests.contract.documents import ROOT
from tests.graphql.conftest import free_port

pytestmark = pytest.mark.timeout(1500)

INSTALL_SECONDS = 900  # the first `make run` installs every dependency
START_SECONDS = 60
TOKEN_LINE = re.compile(r"^sl_[0-9a-f]{8}_[\w-]+$")
# A parent `make test` must not hand its variables (VENV, ...) to the clone's make, nor the
# developer's STORYLINE_* settings to the new user's server.
LEAKY = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV")


@dataclass
class Run:
    """`make run` in the clone, its stdout collected as it comes."""

    process: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)

    def read(self) -> None:
        assert self.process.stdout
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> None:
        """Ctrl-C, as a user would: the signal goes to make and the server alike."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                pytest.fail(f"the server did not stop on SIGINT:\n{self.output}")


def make_run(clone: Path, timeout: float) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYLINE_") and k not in LEAKY}
    port = free_port()
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=clone,
        env={**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        stdout=subprocess.PIPE,
        stderr=(clone / f"make-run-{port}.log").open("w"),  # pip and uvicorn
        text=True,
        start_new_session=True,  # its own process group, for the SIGINT
    )
    run = Run(process, f"http://127.0.0.1:{port}")
    threading.Thread(target=run.read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (clone / f"make-run-{port}.log").read_text()
            pytest.fail(f"`make run` exited with {process.returncode}:\n{run.output}\n{log}")
        try:
            if httpx.get(f"{run.url}/healthz", timeout=1).status_code == 200:
                return run
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    run.stop()
    pytest.fail(f"/healthz did not answer within {timeout} s:\n{run.output}")


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None or shutil.which("make") is None:
        pytest.skip("needs git and make")
    inside = subprocess.run(["git", "rev-parse", "--verify", "HEAD"], cwd=ROOT, capture_output=True)
    if inside.returncode != 0:
        pytest.skip(f"{ROOT} is not a git checkout with a commit: nothing to clone")
    target = tmp_path_factory.mktemp("fresh") / "storyline"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, capture_output=True)
    return target


@pytest.fixture(scope="module")
def first(clone: Path) -> Iterator[Run]:
    run = make_run(clone, INSTALL_SECONDS)
    yield run
    run.stop()


def graphql(url: str, token: str, query: str) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


def printed_token(run: Run) -> str | None:
    return next((line for line in run.lines if TOKEN_LINE.match(line)), None)


def event_count(clone: Path) -> int:
    with sqlite3.connect(clone / "var" / "storyline.db") as db:
        return int(db.execute("select count(*) from stored_events").fetchone()[0])


def test_make_run_serves_the_demo_and_prints_a_token_once(clone: Path, first: Run) -> None:
    token = printed_token(first)
    assert token, first.output
    assert f"GraphiQL  {first.url}/graphql" in first.output and f"Board     {first.url}/board" in first.output
    assert (clone / "var" / "storyline.db").exists()
    assert httpx.post(f"{first.url}/graphql", json={"query": "{ viewer { name } }"}).status_code == 401

    # GraphiQL's own example query, with the printed token: the active sprint as analytics sees it.
    board = graphql(first.url, token, GRAPHIQL_QUERY)["board"]
    sprint = board["activeSprint"]
    engine = create_engine(f"sqlite:///{clone / 'var' / 'storyline.db'}")
    with engine.connect() as conn:
        sprint_id = conn.exec_driver_sql(
            "select id from sprints where board_key = 'PAY' and state = 'ACTIVE'"
        ).scalar_one()
    report, burndown = sprint_report_and_burndown(engine, sprint_id)
    engine.dispose()
    served = sprint["report"]
    expected = {
        "committedCount": report.committed_count,
        "committedPoints": report.committed_points,
        "completedCount": report.completed_count,
        "completedPoints": report.completed_points,
        "commitmentReliability": report.commitment_reliability,
        "scopeChangePoints": report.scope_change_points,
    }
    assert {name: served[name] for name in expected} == expected
    assert [a["story"]["key"] for a in served["added"]] == [a.story_key for a in report.added]
    assert [r["story"]["key"] for r in served["reestimated"]] == [r.story_key for r in report.reestimated]
    assert [(p["date"], p["remainingPoints"]) for p in sprint["burndown"]] == [
        (p.date.isoformat(), p.remaining_points) for p in burndown
    ]
    assert report.committed_count > 0 and len(burndown) >= 5  # the active sprint began five days ago

    # The demo's own definition: Sprint 1 committed PAY-1..PAY-6 (1, 2, 3, 3, 5, 5 points) and
    # left the last one unfinished; four sprints in all, the last one active.
    sprints = graphql(
        first.url,
        token,
        """{ board(key: "PAY") { sprints { edges { node { name state report {
             committedCount committedPoints carriedOver { key } } } } } } }""",
    )["board"]["sprints"]["edges"]
    assert [(s["node"]["name"], s["node"]["state"]) for s in sprints] == [
        ("Sprint 1", "CLOSED"),
        ("Sprint 2", "CLOSED"),
        ("Sprint 3", "CLOSED"),
        ("Sprint 4", "ACTIVE"),
    ]
    sprint_1 = sprints[0]["node"]["report"]
    assert (sprint_1["committedCount"], sprint_1["committedPoints"]) == (6, 19.0)
    assert sprint_1["carriedOver"] == [{"key": "PAY-6"}]


def test_graphiql_and_board_open_signed_in_on_this_machine(first: Run) -> None:
    html = {"Accept": "text/html"}
    graphiql = httpx.get(f"{first.url}/graphql", headers=html)
    assert graphiql.status_code == 200 and graphiql.headers["content-type"].startswith("text/html")
    assert "query ActiveSprint" in graphiql.text
    found = re.search(r'\\"Authorization\\": \\"Bearer (sl_[\w-]+)\\"', graphiql.text)
    assert found, "GraphiQL's headers are not pre-filled in local mode"
    session = found.group(1)
    assert session not in first.output  # never printed
    assert graphql(first.url, session, "{ viewer { name } }")["viewer"]["name"] == "admin"

    board = httpx.get(f"{first.url}/board", headers=html, follow_redirects=True)
    assert board.status_code == 200 and board.headers["content-type"].startswith("text/html")
    assert f'<meta name="storyline-local-token" content="{session}" />' in board.text


def test_board_in_headless_chromium(first: Run, node_clients: Path, chromium: str, artifacts: Path) -> None:
    screenshot = artifacts / "first-run-board.png"
    screenshot.unlink(missing_ok=True)
    done = subprocess.run(
        ["node", "first-run.mjs", first.url, chromium, str(screenshot)],
        cwd=node_clients,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["problems"] == []
    assert result["signInHidden"] and result["who"].startswith("admin on PAY")
    assert result["sprint"].startswith("Sprint 4") and result["cards"] > 0
    assert screenshot.stat().st_size > 10_000


def test_a_restart_loads_nothing_again_and_prints_no_token(clone: Path, first: Run) -> None:
    first.stop()
    events = event_count(clone)
    again = make_run(clone, START_SECONDS)
    try:
        assert printed_token(again) is None, again.output
        assert "storyline token create admin --admin" in again.output
        assert "Loaded the demo board" not in again.output
        assert event_count(clone) == events
        token = printed_token(first)
        assert token
        boards = graphql(again.url, token, "{ boards { edges { node { key } } } }")["boards"]["edges"]
        assert boards == [{"node": {"key": "PAY"}}]
    finally:
        again.stop()
