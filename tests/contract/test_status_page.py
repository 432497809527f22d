"""The manager's status panel on /board, in headless Chromium: it shows the draft and publishes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.contract.live import ADMIN_TOKEN, BOARD, DemoServer
from tests.contract.test_clients import node

pytestmark = pytest.mark.browser


def published(demo: DemoServer) -> list[dict[str, Any]]:
    data = demo.client().data("StatusUpdates", {"boardKey": BOARD})
    return [edge["node"] for edge in data["board"]["statusUpdates"]["edges"]]


def test_the_status_panel_shows_the_draft_and_publishes_it(
    demo: DemoServer, node_clients: Path, chromium: str, artifacts: Path, tmp_path: Path
) -> None:
    draft = demo.client().data("StatusDraft", {"boardKey": BOARD})["board"]["statusDraft"]
    before = published(demo)
    config = {"baseUrl": demo.url, "token": ADMIN_TOKEN, "chromium": chromium, "artifacts": str(artifacts)}
    (tmp_path / "config.json").write_text(json.dumps(config))

    done = node(node_clients, "status.mjs", str(tmp_path / "config.json"), timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])

    assert result["problems"] == []
    # The page shows the server's draft: its health, reasons and markdown.
    assert result["draft"]["health"] == draft["health"]
    assert result["draft"]["reasons"] == draft["healthReasons"]
    assert result["draft"]["markdown"].splitlines()[:3] == draft["markdown"].splitlines()[:3]
    assert result["publishedBefore"] == len(before) == 1
    # Publishing recorded one update, by the page's user, with what the page sent, newest first.
    after = published(demo)
    assert [u["summary"] for u in after] == ["Published from the board page", before[0]["summary"]]
    assert (after[0]["health"], after[0]["actor"]) == ("OFF_TRACK", "admin")
    assert after[0]["figures"]["completedStories"] == draft["completedStories"]
    assert result["published"].startswith(
        f"{after[0]['publishedAt'][:10]} OFF_TRACK · Published from the board page"
    )
    assert result["count"] == "2"
    assert (artifacts / "status.png").stat().st_size > 10_000
