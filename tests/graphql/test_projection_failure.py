"""An event the projections cannot handle stops them visibly, never silently: status, /readyz and the
log name it, reads keep being served and writes are refused with a typed error."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from storyline_domain.base import Stamp
from storyline_domain.story import Story
from tests.graphql.conftest import CREATE_STORY, Server, create_board, create_story, serve

STORYLINE = str(Path(sys.executable).parent / "storyline")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(request, tmp_path_factory, {})  # its own server: this module stops its projections


def record_unprojectable_event(server: Server, board: str) -> int:
    """Written straight into the store: a story whose key has no number, which the domain never issues."""
    now = datetime.now(UTC)
    stamp = Stamp("alice", now, now, "faulty")
    faulty = Story._create(
        Story.Created,
        id=uuid4(),
        key="NONUMBER",
        board_key=board,
        title="faulty",
        description="",
        type="STORY",
        priority="MEDIUM",
        labels=[],
        points=None,
        assignee=None,
        column="TODO",
        epic_key=None,
        rank="a0",
        **stamp.fields(),
    )
    server.runtime.app.save(faulty)
    return server.head()


def readiness_when_stopped(server: Server) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        response = httpx.get(f"{server.url}/readyz", timeout=10)
        if response.json().get("status") == "stopped":
            assert response.status_code == 503
            return dict(response.json())
        time.sleep(0.2)
    pytest.fail("the server never reported its projections stopped")


def test_an_event_that_cannot_be_projected_is_named_and_writes_are_refused(server: Server) -> None:
    board = create_board(server)
    story = create_story(server, board, "before the fault")
    position = record_unprojectable_event(server, board)

    ready = readiness_when_stopped(server)
    assert ready["failure"]["position"] == position
    assert ready["failure"]["event_type"] == "Story.Created"
    assert ready["failure"]["error"].startswith("IndexError")
    assert f"event {position} (Story.Created)" in ready["reason"]

    # Reads are served from what was projected before the faulty event.
    assert server.post(f'{{ story(key: "{story}") {{ title }} }}')["story"]["title"] == "before the fault"

    # Writes are refused with a typed error naming the event, and record nothing.
    body = server.request(CREATE_STORY, {"input": {"boardKey": board, "title": "after"}})
    [error] = body["errors"]
    assert error["extensions"]["code"] == "READ_MODELS_STOPPED"
    assert error["extensions"]["failure"]["position"] == position
    assert f"event {position} (Story.Created)" in error["message"]
    assert server.head() == position

    # The log names it once, with the error.
    log = server.log.read_text()
    assert f"projecting stopped: event {position} (Story.Created) cannot be projected: IndexError" in log

    # So does `storyline projections status`, from another process.
    env = {"STORYLINE_DATABASE_URL": server.settings.database_url}
    if server.settings.database_schema:
        env["STORYLINE_DATABASE_SCHEMA"] = server.settings.database_schema
    status = subprocess.run(
        [STORYLINE, "projections", "status"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert status.returncode == 1, status.stdout + status.stderr
    assert f"stopped: event {position} (Story.Created) cannot be projected: IndexError" in status.stdout
    assert "Traceback" not in status.stdout + status.stderr
