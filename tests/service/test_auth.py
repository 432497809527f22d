"""API tokens are stored hashed, can expire and be revoked; rate limits trigger and recover."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from sqlalchemy import text

from storyline_domain.board import Role
from storyline_service.application import Caller
from storyline_service.auth import Access, OidcTokens, Principal, RateLimited, RateLimiter, sign_in
from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.queries import AuditCriteria, Seek
from storyline_service.read_versions import read_versions
from storyline_service.settings import Settings


def test_tokens_are_hashed_at_rest(runtime: Runtime, tmp_path: Path) -> None:
    token_id, token = runtime.tokens.create("bob")
    principal = runtime.tokens.authenticate(token)
    assert principal is not None and (principal.user, principal.token_id) == ("bob", token_id)
    with runtime.engine.connect() as conn:
        stored = " ".join(
            str(value) for row in conn.execute(text("select * from api_tokens")) for value in row
        )
    assert token_id in stored and token not in stored and token.split("_", 2)[2] not in stored
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
    _, expired_at_once = runtime.tokens.create("dave", expires_in_days=0)
    assert runtime.tokens.authenticate(expired_at_once) is None


def test_signing_in_checks_the_token_loads_roles_charges_and_reads_the_version_at_once(
    runtime: Runtime,
) -> None:
    runtime.app.create_board(Caller("alice"), "PAY", "Payments")
    runtime.app.grant_role(Caller("alice"), "PAY", "vic", "VIEWER")
    limiter = RateLimiter(runtime.engines.derived, limit=5, window_seconds=3600)
    token_id, token = runtime.tokens.create("vic")

    signed_in = sign_in(runtime.tokens, limiter, token, 2, versions=True)
    assert signed_in is not None
    assert signed_in.principal == Principal("vic", token_id)
    assert signed_in.access.roles == {"PAY": Role.VIEWER}
    assert signed_in.budget is not None and signed_in.budget.used == 2
    assert signed_in.versions == read_versions(runtime.engine)
    assert sign_in(runtime.tokens, limiter, token).versions is None  # type: ignore[union-attr]
    # The count is the database's, shared with every other limiter on it; past the limit the
    # refused sign-in still counts.
    assert limiter.spend(token_id, 2).used == 4
    with pytest.raises(RateLimited):
        sign_in(runtime.tokens, limiter, token, 2)
    assert used(runtime, token_id) == 6

    _, admin = runtime.tokens.create("root", superuser=True)
    assert sign_in(runtime.tokens, limiter, admin, 1).access == Access(superuser=True)  # type: ignore[union-attr]
    # A token that is not valid is refused, at once after its revocation, and charged nothing.
    revoked_id, revoked = runtime.tokens.create("vic")
    assert sign_in(runtime.tokens, limiter, revoked, 1) is not None
    runtime.tokens.revoke(revoked_id)
    expired_id, expired = runtime.tokens.create("vic", expires_in_days=0)
    for refused in (revoked, expired, "sl_nope_nope"):
        assert sign_in(runtime.tokens, limiter, refused, 1, versions=True) is None
    assert used(runtime, revoked_id) == 1 and used(runtime, expired_id) == 0


def used(runtime: Runtime, principal: str) -> int:
    """The units a principal has spent, as the database counts them."""
    with runtime.engine.connect() as conn:
        query = text("select coalesce(sum(used), 0) from rate_windows where principal = :p")
        return int(conn.execute(query, {"p": principal}).scalar_one())


def test_the_admin_token_is_a_superuser(settings: Settings) -> None:
    runtime = bootstrap(settings.model_copy(update={"admin_token": SecretStr("let-me-in")}))
    try:
        principal = runtime.tokens.authenticate("let-me-in")
        assert principal is not None and principal.user == "admin" and principal.superuser
        assert runtime.tokens.authenticate("let-me-out") is None
    finally:
        runtime.close()


def test_rate_limit_triggers_then_recovers(runtime: Runtime) -> None:
    """The limiter counts in the database, so every process sharing it shares the limit."""
    limiter = RateLimiter(runtime.engines.derived, limit=5, window_seconds=1)
    elsewhere = RateLimiter(runtime.engines.derived, limit=5, window_seconds=1)  # another process's
    time.sleep(1.0 - time.time() % 1.0)  # start at the beginning of a window
    limiter.spend("t1", 3)
    elsewhere.spend("t1", 2)
    with pytest.raises(RateLimited) as refused:
        limiter.spend("t1")
    assert refused.value.retry_after >= 1
    limiter.spend("t2", 5)  # the limit is per token
    time.sleep(1.1)
    limiter.spend("t1", 5)
    with pytest.raises(RateLimited):
        elsewhere.spend("t1")


def test_tokens_are_written_durably_and_only_derived_data_skips_the_wait_for_the_disk(
    runtime: Runtime,
) -> None:
    """A revoked token must stay revoked after a power cut; read models and rate-limit counts
    can be redone from the log, so their commits do not wait for the disk."""
    postgres = runtime.settings.is_postgres
    setting = "SHOW synchronous_commit" if postgres else "PRAGMA synchronous"
    durable, relaxed = ("on", "off") if postgres else (2, 1)  # SQLite: FULL, NORMAL
    with runtime.engines.write.begin() as conn:
        assert conn.exec_driver_sql(setting).scalar() == durable
    with runtime.engines.derived.begin() as conn:
        assert conn.exec_driver_sql(setting).scalar() == relaxed
    assert runtime.tokens.engine is runtime.engines.write
    assert runtime.limiter.engine is runtime.projector.engine is runtime.engines.derived


def test_access_is_the_boards_a_principal_has_a_role_on(runtime: Runtime) -> None:
    runtime.app.create_board(Caller("alice"), "PAY", "Payments")
    runtime.app.create_board(Caller("bob"), "OPS", "Operations")
    runtime.app.grant_role(Caller("alice"), "PAY", "vic", "VIEWER")
    vic = Access.load(runtime.reads, Principal("vic", "t1"))
    assert vic.roles == {"PAY": Role.VIEWER} and vic.boards == ("PAY",)
    assert vic.can_read("PAY") and not vic.can_read("OPS")
    admin = Access.load(runtime.reads, Principal("admin", "admin-token", superuser=True))
    assert admin.can_read("OPS") and admin.boards is None
    # The read filters the API applies for them.
    reads = runtime.reads
    assert [row.key for row in reads.boards(10, Seek(), vic.boards)] == ["PAY"]
    assert (reads.board_count(vic.boards), reads.board_count(admin.boards)) == (1, 2)
    entries = reads.audit_pages((), [()], AuditCriteria(boards=vic.boards), 100, Seek())[()]
    assert entries and {entry.board_key for entry in entries} == {"PAY"}
    assert reads.audit_pages((), [()], AuditCriteria(boards=()), 100, Seek())[()] == []


class Issuer:
    """A stand-in OpenID Connect provider: a signing key, its JWKS file, and tokens signed with it."""

    ISSUER, AUDIENCE = "https://id.example.test", "storyline"

    def __init__(self, folder: Path) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key())) | {"kid": "k1"}
        self.jwks = folder / "jwks.json"
        self.jwks.write_text(json.dumps({"keys": [jwk]}))

    def settings(self, **overrides: Any) -> Settings:
        fields = {"oidc_issuer": self.ISSUER, "oidc_audience": self.AUDIENCE, "oidc_jwks": str(self.jwks)}
        return Settings(**(fields | overrides))

    def token(self, key: Any = None, **claims: Any) -> str:
        defaults = {"iss": self.ISSUER, "aud": self.AUDIENCE, "sub": "u-123", "exp": int(time.time()) + 60}
        return jwt.encode(defaults | claims, key or self.key, algorithm="RS256", headers={"kid": "k1"})


def test_oidc_tokens_map_a_claim_to_the_user(tmp_path: Path) -> None:
    issuer = Issuer(tmp_path)
    oidc = OidcTokens(issuer.settings(oidc_user_claim="preferred_username"))
    principal = oidc.authenticate(issuer.token(preferred_username="olivia"))
    assert principal == Principal("olivia", "oidc:olivia")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for refused in (
        issuer.token(),  # no preferred_username
        issuer.token(preferred_username="olivia", aud="someone-else"),
        issuer.token(preferred_username="olivia", iss="https://evil.example.test"),
        issuer.token(preferred_username="olivia", exp=int(time.time()) - 10),
        issuer.token(stranger, preferred_username="olivia"),  # signed by another key
        issuer.token(preferred_username="admin"),  # the bootstrap administrator's name is reserved
        "not.a.jwt",
    ):
        assert oidc.authenticate(refused) is None
