"""API tokens and rate limits. Only a token's hash is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from storyline_service.readmodels import utc_datetime

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


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


tokens = ApiTokenRow.__table__  # type: ignore[attr-defined]
windows = RateWindowRow.__table__  # type: ignore[attr-defined]


class Tokens:
    def __init__(self, engine: Engine, admin_token: str | None = None) -> None:
        self.engine = engine
        self.admin_hash = hash_token(admin_token) if admin_token else None

    def create(
        self, user: str, expires_in_days: float | None = None, *, superuser: bool = False
    ) -> tuple[str, str]:
        """A new token for ``user``: returns its public id and the token, shown only this once."""
        if not user.strip():
            raise ValueError("a token needs a user name")
        token_id = secrets.token_hex(4)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        now = datetime.now(UTC)
        expires_at = now + timedelta(days=expires_in_days) if expires_in_days else None
        with self.engine.begin() as conn:
            conn.execute(
                insert(tokens).values(
                    id=token_id,
                    user=user.strip(),
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
        with self.engine.connect() as conn:
            rows = conn.execute(select(tokens).order_by(tokens.c.user, tokens.c.created_at)).all()
        return [ApiTokenRow.model_validate(dict(row._mapping)) for row in rows]

    def authenticate(self, token: str | None) -> Principal | None:
        if not token:
            return None
        digest = hash_token(token)
        if self.admin_hash and hmac.compare_digest(digest, self.admin_hash):
            return Principal(ADMIN, "admin-token", superuser=True)
        with self.engine.connect() as conn:
            row = conn.execute(select(tokens).where(tokens.c.token_hash == digest)).first()
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and row.expires_at <= datetime.now(UTC):
            return None
        return Principal(row.user, row.id, superuser=row.superuser)


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded; retry in {retry_after} s")
        self.retry_after = retry_after


class RateLimiter:
    """A fixed window, counted in the database so every process shares it."""

    def __init__(self, engine: Engine, limit: int, window_seconds: int = 60) -> None:
        self.engine = engine
        self.limit = limit
        self.window_seconds = window_seconds

    def spend(self, principal: str, units: int = 1) -> None:
        now = datetime.now(UTC).timestamp()
        window = int(now // self.window_seconds)
        upsert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        statement = (
            upsert(windows)
            .values(principal=principal, window=window, used=units)
            .on_conflict_do_update(
                index_elements=[windows.c.principal, windows.c.window], set_={"used": windows.c.used + units}
            )
            .returning(windows.c.used)
        )
        with self.engine.begin() as conn:
            used = conn.execute(statement).scalar_one()
            if used == units:  # first use of this window: forget the old ones
                conn.execute(
                    delete(windows).where(windows.c.principal == principal, windows.c.window < window)
                )
        if used > self.limit:
            raise RateLimited(retry_after=max(1, round((window + 1) * self.window_seconds - now)))
