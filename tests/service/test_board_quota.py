"""``max_boards_per_user``: one user creates at most that many boards, even racing themselves."""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storyline_domain.board import board_id
from storyline_domain.errors import ValidationError
from storyline_service.application import Caller
from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.readmodels import BoardRow, table_of
from tests.conftest import make_settings
from tests.helpers import ALICE
from tests.service.test_boundary import WRITERS, concurrently

LIMIT = 3
boards = table_of(BoardRow)


@pytest.fixture
def runtime(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Runtime]:
    rt = bootstrap(make_settings(backend, tmp_path, request, max_boards_per_user=LIMIT))
    yield rt
    rt.close()


def board_key(n: int) -> str:
    return "B" + string.ascii_uppercase[n]


def board_count(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(boards)).scalar_one())


def test_sixteen_concurrent_creators_by_one_user_create_exactly_the_limit(runtime: Runtime) -> None:
    app = runtime.app
    keys = [board_key(n) for n in range(WRITERS)]
    outcomes = concurrently([lambda key=key: app.create_board(ALICE, key, f"Board {key}") for key in keys])
    created = [key for key, outcome in zip(keys, outcomes, strict=True) if outcome == key]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    assert len(created) == LIMIT and len(refused) == WRITERS - LIMIT, outcomes
    assert {error.message for error in refused} == {f"a user may create at most {LIMIT} boards"}
    assert {error.field for error in refused} == {None}
    # The refused boards were not recorded, not even in part.
    for key in set(keys) - set(created):
        assert board_id(key) not in app.repository
    assert board_count(runtime) == LIMIT


def test_the_limit_is_per_user_and_admin_tokens_are_not_counted(runtime: Runtime) -> None:
    app = runtime.app
    for n in range(LIMIT):
        app.create_board(ALICE, board_key(n), "Alice's")
    with pytest.raises(ValidationError, match="at most 3 boards"):
        app.create_board(ALICE, "ALICE", "One more")
    assert board_id("ALICE") not in app.repository
    assert app.create_board(Caller("bob"), "BOB", "Bob's") == "BOB"
    # The bootstrap admin and importers' backfills set up boards for everyone.
    admin = Caller("admin", superuser=True)
    assert [app.create_board(admin, f"ADM{letter}", "Admin's") for letter in "ABCD"] == [
        "ADMA",
        "ADMB",
        "ADMC",
        "ADMD",
    ]


def test_a_key_taken_by_a_concurrent_creator_is_still_refused_as_taken(runtime: Runtime) -> None:
    app = runtime.app
    outcomes = concurrently(
        [
            lambda: app.create_board(ALICE, "SAME", "Same"),
            lambda: app.create_board(Caller("bob"), "SAME", "Same"),
        ]
    )
    assert outcomes.count("SAME") == 1, outcomes
    [refusal] = [outcome for outcome in outcomes if outcome != "SAME"]
    assert isinstance(refusal, ValidationError), outcomes
    assert refusal.field == "key" and "taken" in refusal.message
