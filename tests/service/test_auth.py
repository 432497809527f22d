"""API tokens are stored hashed, can expire and be revoked; rate limits trigger and recover."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from storyline_service.application import Caller
from storyline_service.auth import RateLimited, RateLimiter
from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.settings import Settings


def test_tokens_are_hashed_at_rest(runtime: Runtime, tmp_path: Path) -> None:
    token_id, token = runtime.tokens.create("bob")
    principal = runtime.tokens.authenticate(token)
    assert principal is not None and (principal.user, principal.token_id) == ("bob", token_id)
    with runtime.engine.connect() as conn:
        stored = " ".join(
            str(value) for row in conn.execute(text("select * from api_tokens")) for value in row
        )
    assert token_id in stored and token not in stored and token.split("_")[-1] not in stored
    if not runtime.settings.is_postgres:
        for file in runtime.settings.sqlite_path.parent.iterdir():
            assert token.encode() not in file.read_bytes()


def test_unknown_revoked_and_expired_tokens_are_refused(runtime: Runtime) -> None:
    assert runtime.tokens.authenticate(None) is None
    assert runtime.tokens.authenticate("sl_nope_nope") is None
    token_id, token = runtime.tokens.create("bob")
    assert runtime.tokens.revoke(token_id)
    assert runtime.tokens.authenticate(token) is None
    assert not runtime.tokens.revoke(token_id)
    _, short_lived = runtime.tokens.create("carol", expires_in_days=0.2 / 86400)
    time.sleep(0.3)
    assert runtime.tokens.authenticate(short_lived) is None


def test_the_admin_token_is_a_superuser(settings: Settings) -> None:
    runtime = bootstrap(settings.model_copy(update={"admin_token": SecretStr("let-me-in")}))
    try:
        principal = runtime.tokens.authenticate("let-me-in")
        assert principal is not None and principal.user == "admin" and principal.superuser
        assert runtime.tokens.authenticate("let-me-out") is None
    finally:
        runtime.close()


def test_rate_limit_triggers_then_recovers(runtime: Runtime) -> None:
    limiter = RateLimiter(runtime.write_engine, limit=5, window_seconds=1)
    runtime.app.admit = lambda caller: limiter.spend(caller.token_id or caller.actor)
    runtime.app.create_board(Caller("alice", token_id="t1"), "PAY", "Payments")
    time.sleep(1.0 - time.time() % 1.0)  # start at the beginning of a window
    for n in range(5):
        runtime.app.create_story(Caller("alice", token_id="t1"), "PAY", f"story {n}")
    head = runtime.projector.head()
    with pytest.raises(RateLimited) as refused:
        runtime.app.create_story(Caller("alice", token_id="t1"), "PAY", "one too many")
    assert refused.value.retry_after >= 1 and runtime.projector.head() == head
    assert runtime.app.create_story(Caller("alice", token_id="t2"), "PAY", "another token") == "PAY-6"
    time.sleep(1.1)
    assert runtime.app.create_story(Caller("alice", token_id="t1"), "PAY", "after the window") == "PAY-7"
