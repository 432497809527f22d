"""API tokens and rate limits. Only a token's hash is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Select,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from storyline_domain.board import Role, clean_text
from storyline_domain.errors import ValidationError
from storyline_service.queries import ROLES_OF, Reads, roles
from storyline_service.read_versions import GENERATION, Versions, generations, read_versions, tracking
from storyline_service.readmodels import utc_datetime
from storyline_service.settings import Settings

log = logging.getLogger("storyline.auth")

TOKEN_PREFIX = "sl_"
ADMIN = "admin"


class ApiTokenRow(SQLModel, table=True):
    __tablename__ = "api_tokens"
    id: str = Field(primary_key=True)  # public id, safe to show and log
    user: str = Field(index=True)
    token_hash: str = Field(index=True, unique=True)
    created_at: datetime = utc_datetime()
    expires_at: datetime | None = utc_datetime(default=None)
    revoked_at: datetime | None = utc_datetime(default=None)
    superuser: bool = False  # ADMIN on every board, like the bootstrap admin token


class RateWindowRow(SQLModel, table=True):
    """Units spent per principal per window, shared by every API process."""

    __tablename__ = "rate_windows"
    principal: str = Field(primary_key=True)
    window: int = Field(primary_key=True)  # windows since the epoch
    used: int


@dataclass(frozen=True)
class Principal:
    """Who a request acts as."""

    user: str
    token_id: str
    superuser: bool = False


@dataclass(frozen=True)
class Access:
    """The boards a principal may see, and its role on each: a board without one does not exist for it."""

    superuser: bool = False
    roles: Mapping[str, Role] = field(default_factory=dict)

    @classmethod
    def load(cls, reads: Reads, principal: Principal) -> Access:
        if principal.superuser:
            return cls(superuser=True)
        return cls(roles={row.board_key: Role(row.role) for row in reads.roles_of(principal.user)})

    @classmethod
    def read(cls, conn: Connection, principal: Principal) -> Access:
        """``load``, on the caller's connection."""
        if principal.superuser:
            return cls(superuser=True)
        return cls(
            roles={row.board_key: Role(row.role) for row in conn.execute(ROLES_OF, {"user": principal.user})}
        )

    def can_read(self, board_key: str) -> bool:
        return self.superuser or board_key in self.roles

    @property
    def boards(self) -> tuple[str, ...] | None:
        """The boards it may see; None means every board."""
        return None if self.superuser else tuple(sorted(self.roles))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


tokens = ApiTokenRow.__table__  # type: ignore[attr-defined]
windows = RateWindowRow.__table__  # type: ignore[attr-defined]
# A stored token signs in while it is neither revoked nor expired (at ``now``); read on every request.
VALID_TOKEN_BY_HASH = select(tokens.c.id, tokens.c.user, tokens.c.superuser).where(
    tokens.c.token_hash == bindparam("digest"),
    tokens.c.revoked_at.is_(None),
    or_(tokens.c.expires_at.is_(None), tokens.c.expires_at > bindparam("now")),
)


class OidcTokens:
    """Verifies OpenID Connect access tokens (signed JWTs) with the issuer's published keys."""

    def __init__(self, settings: Settings) -> None:
        if not (settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks):
            raise ValueError("OIDC needs STORYLINE_OIDC_ISSUER, _AUDIENCE and _JWKS")
        self.issuer, self.audience = settings.oidc_issuer, settings.oidc_audience
        self.user_claim = settings.oidc_user_claim
        self.algorithms = list(settings.oidc_algorithms)
        jwks = settings.oidc_jwks
        if jwks.startswith(("https://", "http://")):
            client = jwt.PyJWKClient(jwks, cache_keys=True)  # fetched on demand, and again for new key ids
            self.key_of: Callable[[str], jwt.PyJWK] = client.get_signing_key_from_jwt
        else:
            keys = jwt.PyJWKSet.from_json(Path(jwks).read_text())
            self.key_of = lambda token: keys[jwt.get_unverified_header(token).get("kid", "")]

    def authenticate(self, token: str) -> Principal | None:
        try:
            claims = jwt.decode(
                token,
                self.key_of(token),
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
        except (jwt.PyJWTError, KeyError) as error:
            log.info("refused an OIDC token: %s", error)  # never the token itself
            return None
        claimed = claims.get(self.user_claim)
        try:
            user = user_name(claimed) if isinstance(claimed, str) else None
        except ValidationError as error:
            log.info("refused an OIDC token: %s", error.message)
            return None
        if user is None or user == ADMIN:
            # "admin" is the bootstrap administrator; no identity provider may claim it.
            return None
        # Access tokens come and go; the rate limit follows the user.
        return Principal(user, f"oidc:{user}")


def user_name(user: str) -> str:
    """A token's user, by the rule for single-line text: they become the actors of events."""
    return clean_text(user, "user", max_length=100, label="a user name")


def is_jwt(token: str) -> bool:
    return token.count(".") == 2  # API tokens have no dots


class Tokens:
    def __init__(
        self,
        engine: Engine,
        admin_token: str | None = None,
        oidc: OidcTokens | None = None,
        reader: Engine | None = None,
    ) -> None:
        self.engine = engine
        # Lookups on every request use the read engine: on SQLite the write engine takes the write lock.
        self.reader = reader or engine
        self.admin_hash = hash_token(admin_token) if admin_token else None
        self.oidc = oidc

    def create(
        self, user: str, expires_in_days: float | None = None, *, superuser: bool = False
    ) -> tuple[str, str]:
        """A new token for ``user``: returns its public id and the token, shown only this once."""
        user = user_name(user)
        token_id = secrets.token_hex(4)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        now = datetime.now(UTC)
        expires_at = now + timedelta(days=expires_in_days) if expires_in_days is not None else None
        with self.engine.begin() as conn:
            conn.execute(
                insert(tokens).values(
                    id=token_id,
                    user=user,
                    token_hash=hash_token(token),
                    created_at=now,
                    expires_at=expires_at,
                    superuser=superuser,
                )
            )
        return token_id, token

    def revoke(self, token_id: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(tokens)
                .where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
        return result.rowcount == 1

    def list(self) -> list[ApiTokenRow]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(tokens).order_by(tokens.c.user, tokens.c.created_at)).all()
        return [ApiTokenRow.model_validate(dict(row._mapping)) for row in rows]

    def looked_up(self, token: str) -> bool:
        """Whether the token is one of the stored API tokens' kind (not the admin's, not OIDC's)."""
        digest = hash_token(token)
        return not (self.admin_hash and hmac.compare_digest(digest, self.admin_hash)) and not (
            self.oidc and is_jwt(token)
        )

    def authenticate(self, token: str | None, conn: Connection | None = None) -> Principal | None:
        """The token's principal, or None; looked up on ``conn`` when given."""
        if not token:
            return None
        digest = hash_token(token)
        if self.admin_hash and hmac.compare_digest(digest, self.admin_hash):
            return Principal(ADMIN, "admin-token", superuser=True)
        if self.oidc and is_jwt(token):
            return self.oidc.authenticate(token)
        valid = {"digest": digest, "now": datetime.now(UTC)}
        if conn is None:
            with self.reader.connect() as own:
                row = own.execute(VALID_TOKEN_BY_HASH, valid).first()
        else:
            row = conn.execute(VALID_TOKEN_BY_HASH, valid).first()
        return None if row is None else Principal(row.user, row.id, superuser=row.superuser)


@dataclass(frozen=True)
class Budget:
    """A token's rate-limit window, as a charge left it."""

    limit: int
    used: int
    resets_at: datetime  # the end of the window

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class RateLimited(Exception):
    def __init__(self, retry_after: int, budget: Budget) -> None:
        super().__init__(f"rate limit exceeded; retry in {retry_after} s")
        self.retry_after = retry_after
        self.budget = budget


class RateLimiter:
    """A fixed window, counted in the database so every process shares it."""

    def __init__(self, engine: Engine, limit: int, window_seconds: int = 60) -> None:
        self.engine = engine
        self.limit = limit
        self.window_seconds = window_seconds
        # Run on every request: built once, so each use skips building and keying the statement.
        upsert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(windows)
        self.charge = (
            upsert.values(
                principal=bindparam("principal"), window=bindparam("window"), used=bindparam("units")
            )
            .on_conflict_do_update(
                index_elements=[windows.c.principal, windows.c.window],
                set_={"used": windows.c.used + upsert.excluded.used},
            )
            .returning(windows.c.used)
        )
        self.forget_old = delete(windows).where(
            windows.c.principal == bindparam("principal"), windows.c.window < bindparam("window")
        )

    def spend(self, principal: str, units: int = 1) -> Budget:
        """Charges ``units``; the window as it stands after them, or RateLimited past the limit."""
        with self.engine.begin() as conn:
            budget = self.charge_on(conn, principal, units)
        return self.within(budget)

    def charge_on(self, conn: Connection, principal: str, units: int) -> Budget:
        """Charges ``units`` in the caller's transaction (on ``engine``); ``within`` tells, once it has
        committed, whether that was past the limit: a refused request still counts."""
        window = int(datetime.now(UTC).timestamp() // self.window_seconds)
        charged = {"principal": principal, "window": window, "units": units}
        used = conn.execute(self.charge, charged).scalar_one()
        if used == units:  # first use of this window: forget the old ones
            conn.execute(self.forget_old, {"principal": principal, "window": window})
        ends = (window + 1) * self.window_seconds
        return Budget(self.limit, used, datetime.fromtimestamp(ends, UTC))

    def within(self, budget: Budget) -> Budget:
        """The budget, or RateLimited if the charge went past the limit."""
        if budget.used > self.limit:
            retry_after = max(1, round(budget.resets_at.timestamp() - datetime.now(UTC).timestamp()))
            raise RateLimited(retry_after, budget)
        return budget


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    access: Access
    budget: Budget | None  # after the units charged at sign-in, if any
    versions: Versions | None  # the read models' version, if asked for


def sign_in(
    tokens: Tokens, limiter: RateLimiter, token: str, units: int = 0, *, versions: bool = False
) -> SignedIn | None:
    """The token's principal and roles, ``units`` charged to its rate limit and (``versions``) the
    read models' version: one connection, one transaction, so a request pays one trip for them all
    (on PostgreSQL one statement). None for a token that is not valid (nothing charged);
    RateLimited past the limit."""
    if units and limiter.engine.dialect.name == "postgresql" and tokens.looked_up(token):
        # One statement is its own transaction: no BEGIN and COMMIT to wait for.
        with tokens.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            signed_in = _sign_in_in_one_statement(conn, limiter, token, units, versions)
    else:
        # A charge writes: on SQLite only a write transaction may (it waits for the write lock up front).
        with (limiter.engine if units else tokens.reader).begin() as conn:
            signed_in = _sign_in_statement_by_statement(conn, tokens, limiter, token, units, versions)
    if signed_in is not None and signed_in.budget is not None:
        limiter.within(signed_in.budget)  # after the commit: a refused request still counts
    return signed_in


def _sign_in_statement_by_statement(
    conn: Connection, tokens: Tokens, limiter: RateLimiter, token: str, units: int, versions: bool
) -> SignedIn | None:
    principal = tokens.authenticate(token, conn)
    if principal is None:
        return None
    access = Access.read(conn, principal)
    budget = limiter.charge_on(conn, principal.token_id, units) if units else None
    return SignedIn(principal, access, budget, read_versions(conn) if versions else None)


def _sign_in_statements() -> tuple[Select[Any], Select[Any]]:
    """What ``sign_in`` does for a stored API token on PostgreSQL, as one statement (without and
    with the version): the valid token, its charge (only if valid), its roles, as tagged rows."""
    token = VALID_TOKEN_BY_HASH.cte("token")
    # Rate-limit counts commit without waiting for the disk, as on the `derived` engine (which sets it
    # for a whole transaction): set for this statement's own, before its charge.
    quick = select(func.set_config("synchronous_commit", "off", True).label("set")).cte("quick")
    upsert = postgresql.insert(windows).from_select(
        ["principal", "window", "used"],
        select(
            token.c.id, bindparam("window", type_=BigInteger), bindparam("units", type_=BigInteger)
        ).select_from(token.join(quick, quick.c.set == "off")),
    )
    charged = (
        upsert.on_conflict_do_update(
            index_elements=[windows.c.principal, windows.c.window],
            set_={"used": windows.c.used + upsert.excluded.used},
        )
        .returning(windows.c.used)
        .cte("charged")
    )
    text, number = null(), null().cast(BigInteger)
    rows = [
        select(
            literal("token"), token.c.id, token.c.user, case((token.c.superuser, 1), else_=0).cast(BigInteger)
        ),
        select(literal("used"), text, text, charged.c.used),
        select(literal("role"), roles.c.board_key, roles.c.role, number).join(
            token, roles.c.user == token.c.user
        ),
    ]
    versions = [
        select(literal("version"), tracking.c.name, text, tracking.c.position),
        select(literal("version"), literal(GENERATION), text, generations.c.generation),
    ]
    return union_all(*rows), union_all(*rows, *versions)  # type: ignore[return-value]


SIGN_IN, SIGN_IN_WITH_VERSIONS = _sign_in_statements()


def _sign_in_in_one_statement(
    conn: Connection, limiter: RateLimiter, token: str, units: int, versions: bool
) -> SignedIn | None:
    now = datetime.now(UTC)
    window = int(now.timestamp() // limiter.window_seconds)
    params = {"digest": hash_token(token), "now": now, "window": window, "units": units}
    found: dict[str, list[tuple[Any, ...]]] = {"token": [], "used": [], "role": [], "version": []}
    for kind, *row in conn.execute(SIGN_IN_WITH_VERSIONS if versions else SIGN_IN, params):
        found[kind].append(tuple(row))
    if not found["token"]:
        return None
    (token_id, user, superuser), ((_, _, used),) = found["token"][0], found["used"]
    if used == units:  # first use of this window: forget the old ones
        conn.execute(limiter.forget_old, {"principal": token_id, "window": window})
    principal = Principal(user, token_id, superuser=bool(superuser))
    access = (
        Access(superuser=True)
        if principal.superuser
        else Access(roles={board: Role(role) for board, role, _ in found["role"]})
    )
    budget = Budget(limiter.limit, used, datetime.fromtimestamp((window + 1) * limiter.window_seconds, UTC))
    version = tuple(sorted((name, position) for name, _, position in found["version"])) if versions else None
    return SignedIn(principal, access, budget, version)
