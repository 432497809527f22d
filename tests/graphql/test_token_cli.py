"""`storyline token create --expires` takes only a time in the future, and `token list` says which
tokens have expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update

from storyline_service.auth import tokens
from tests.graphql.conftest import Server
from tests.graphql.test_roles_cli import storyline


def test_an_expiry_in_the_past_is_refused(server: Server) -> None:
    for days in ("-1", "0"):
        refused = storyline(server, "token", "create", "erin", "--expires", days)
        assert refused.returncode == 2 and "must expire in the future" in refused.stderr
    listed = storyline(server, "token", "list")
    assert "erin" not in listed.stdout


def test_token_list_says_a_token_has_expired(server: Server) -> None:
    created = storyline(server, "token", "create", "frank", "--expires", "1")
    assert created.returncode == 0, created.stderr
    token = created.stdout.splitlines()[-1]
    [line] = [line for line in storyline(server, "token", "list").stdout.splitlines() if "frank" in line]
    assert "expires" in line and "expired" not in line
    # A day later, as far as the token knows.
    with server.runtime.tokens.engine.begin() as conn:
        yesterday = datetime.now(UTC) - timedelta(days=1)
        conn.execute(update(tokens).where(tokens.c.user == "frank").values(expires_at=yesterday))
    headers = {"Authorization": f"Bearer {token}"}
    refused = httpx.post(f"{server.url}/graphql", json={"query": "{ viewer { name } }"}, headers=headers)
    assert refused.status_code == 401
    [line] = [line for line in storyline(server, "token", "list").stdout.splitlines() if "frank" in line]
    assert "expired" in line
