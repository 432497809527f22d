"""GraphiQL on a machine without internet: its files come from the server, and it runs a query.

Headless Chromium can resolve no host but the server's, and the script refuses
and notes any request for another origin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.contract.live import ADMIN_TOKEN, BOARD, DemoServer
from tests.contract.test_clients import node

pytestmark = pytest.mark.browser

QUERY = f'query BoardName {{ board(key: "{BOARD}") {{ key name columns {{ name }} }} }}'


def test_graphiql_renders_and_runs_a_query_with_every_other_host_unreachable(
    demo: DemoServer, node_clients: Path, chromium: str, artifacts: Path, tmp_path: Path
) -> None:
    expected = httpx.post(
        f"{demo.url}/graphql", json={"query": QUERY}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ).json()
    assert expected["data"]["board"]["key"] == BOARD
    config = {
        "baseUrl": demo.url,
        "token": ADMIN_TOKEN,
        "query": QUERY,
        "chromium": chromium,
        "artifacts": str(artifacts),
    }
    (tmp_path / "config.json").write_text(json.dumps(config))

    done = node(node_clients, "graphiql.mjs", str(tmp_path / "config.json"), timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])

    assert result["elsewhere"] == []  # nothing was even asked of another host
    assert result["problems"] == []
    assert "BoardName" in result["editor"]
    assert result["response"] == expected  # what the server answers that query, run from the page
    assert (artifacts / "graphiql.png").stat().st_size > 10_000


def test_graphiql_page_names_only_files_the_server_serves(demo: DemoServer) -> None:
    page = httpx.get(f"{demo.url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "unpkg.com" not in page.text
    assets = [name for name in page.text.split('"') if name.startswith("/graphql/graphiql/")]
    # react, react-dom, js-cookie, and GraphiQL's and its explorer's script and style
    assert len(assets) == 7, assets
    for asset in assets:
        served = httpx.get(f"{demo.url}{asset}")
        assert served.status_code == 200, asset
        assert len(served.content) > 500
