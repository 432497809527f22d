"""`storyline boards list` and `storyline roles grant|revoke|list`, run as an operator runs them, against
the database a live server uses: what they change, the API sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.graphql.conftest import Server, create_board, mutate

STORYLINE = Path(sys.executable).parent / "storyline"
ROLES = "{ viewer { roles { boardKey role } } }"
LAST_CHANGE = (
    "query($key: String!) { board(key: $key) { history(last: 1) { edges { node { eventType actor } } } } }"
)


def storyline(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STORYLINE_DATABASE_URL": server.settings.database_url, "COLUMNS": "200"}
    if server.settings.database_schema:
        env["STORYLINE_DATABASE_SCHEMA"] = server.settings.database_schema
    return subprocess.run([STORYLINE, *args], env=env, capture_output=True, text=True, timeout=120)


def test_an_operator_grants_lists_and_revokes_roles(server: Server) -> None:
    board = create_board(server)
    assert server.post(ROLES, user="erin") == {"viewer": {"roles": []}}

    granted = storyline(server, "roles", "grant", board, "erin", "MANAGER", "--actor", "ops")
    assert granted.returncode == 0, granted.stderr
    assert f"erin is MANAGER on {board}" in granted.stdout
    assert server.post(ROLES, user="erin") == {"viewer": {"roles": [{"boardKey": board, "role": "MANAGER"}]}}
    history = server.post(LAST_CHANGE, {"key": board})["board"]["history"]["edges"]
    assert history == [{"node": {"eventType": "BoardRoleGranted", "actor": "ops"}}]

    listed = storyline(server, "roles", "list", board)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split()[:2] for line in listed.stdout.splitlines()]
    assert rows == [["alice", "ADMIN"], ["erin", "MANAGER"]]

    boards = storyline(server, "boards", "list")
    assert boards.returncode == 0, boards.stderr
    [line] = [line for line in boards.stdout.splitlines() if line.startswith(board)]
    assert line.split()[-2:] == ["2", "members"]

    revoked = storyline(server, "roles", "revoke", board, "erin")
    assert revoked.returncode == 0, revoked.stderr
    assert server.post(ROLES, user="erin") == {"viewer": {"roles": []}}


def test_refusals_exit_with_1_and_change_nothing(server: Server) -> None:
    board = create_board(server)
    mutate(server, "grantRole", {"boardKey": board, "user": "bob", "role": "MEMBER"}, "board { key }")
    head = server.head()
    last_admin = storyline(server, "roles", "revoke", board, "alice")
    assert last_admin.returncode == 1 and "alice is the last admin" in last_admin.stdout
    unknown = storyline(server, "roles", "grant", "NOSUCH", "erin", "MEMBER")
    assert unknown.returncode == 1 and "refused" in unknown.stdout
    bad_role = storyline(server, "roles", "grant", board, "erin", "OWNER")
    assert bad_role.returncode == 2 and "OWNER" in bad_role.stderr
    assert storyline(server, "roles", "list", "NOSUCH").returncode == 1
    assert server.head() == head
