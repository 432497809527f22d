"""All configuration in one place, read from STORYLINE_* environment variables."""

from __future__ import annotations

from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

from storyline_domain.limits import Limits
from storyline_service.guards import Policy


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORYLINE_", frozen=True)

    database_url: str = "sqlite:///./var/storyline.db"
    database_schema: str | None = None  # PostgreSQL only: the schema to keep tables in
    pool_size: int = 10
    lock_timeout_seconds: int = 5
    connect_timeout_seconds: int = 5
    statement_timeout_seconds: int = 30  # PostgreSQL: reads, projections, tokens and rate limits
    # Whether API processes run the projections too; `storyline serve --no-projector` turns it off
    # when `storyline projector` workers do it (PostgreSQL).
    projector: bool = True
    projection_wait_seconds: float = 10.0  # read-your-writes: longest wait for the read models
    # Aggregates kept in memory for commands; each use still reads the events recorded since
    # (eventsourcing's fast-forward), so other processes' writes are seen. 0 turns it off.
    aggregate_cache_size: int = 1000
    # Steps an import saves per transaction: fewer, larger transactions, and a bounded loss on interruption.
    import_batch_steps: int = 500
    introspection: bool = True
    max_page_size: int = 500
    max_query_depth: int = 12
    max_request_bytes: int = 1_000_000
    # Automatic Persisted Queries: documents kept by hash in each process (an LRU); 0 turns APQ off.
    persisted_queries_size: int = 1000
    # Query answers kept in each process (an LRU), keyed by what decides them, read-model positions
    # included, so never stale (storyline_graphql/result_cache.py); 0 turns the cache off.
    result_cache_size: int = 1000
    admin_token: SecretStr | None = None  # bootstrap token for the user "admin", ADMIN on every board
    # Per API token and window: an operation spends 1 unit per 100 objects it may return (at least 1),
    # and each command it runs 1 more. The board page refreshes at most once every 2 s, for at most
    # 59 units: however fast live changes come it spends at most 1,770 a minute, under a third of
    # the default (frontend-contract/README.md; tests/contract/test_board_page.py measures it).
    rate_limit: int = 6000
    rate_window_seconds: int = 60
    # Objects one operation may ask for: each list multiplies by its page size (`first`).
    max_query_cost: int = 25_000
    # Changes a resuming boardChanges subscription may replay; past it the client refetches instead.
    max_replay_events: int = 1000
    # Optional: OpenID Connect access tokens (JWTs) are accepted too once an issuer is set.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks: str | None = None  # the issuer's keys: a JWKS URL (https://...) or a JSON file
    oidc_user_claim: str = "sub"  # the claim that names the user, e.g. preferred_username or email
    oidc_algorithms: tuple[str, ...] = ("RS256", "ES256")
    # Bounds on what callers control (README, "Limits").
    max_columns: int = 50
    max_epics_per_board: int = 200
    max_labels_per_story: int = 20
    max_label_length: int = 50
    max_client_mutation_id_length: int = 200
    max_sprint_days: int = 56
    max_bulk_items: int = 100
    earliest_date: date = date(1970, 1, 1)
    latest_date: date = date(2200, 12, 31)
    # Who may create boards: anyone signed in, or only admin tokens (STORYLINE_ADMIN_TOKEN, --admin).
    board_creators: Literal["anyone", "admins"] = "anyone"
    # Boards one user may create; admin tokens (the bootstrap admin, importers' backfills) are not counted.
    max_boards_per_user: int = 50

    # Webhooks: a URL that resolves to a loopback, private, link-local, multicast or reserved address
    # is refused unless this is set (it guards the network Storyline runs in).
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = 10.0  # for each attempt to connect, send, and read the answer
    # Failed attempts are retried after about base, 2 x base, 4 x base, ... seconds (plus up to base of
    # jitter), never more than the cap apart; past max_attempts for one event, the webhook is deactivated.
    webhook_retry_base_seconds: float = 1.0
    webhook_retry_max_seconds: float = 600.0
    webhook_max_attempts: int = 20

    # Optional: an Ed25519 private key (PEM) that signs checkpoints of the event log's hash chain.
    checkpoint_key: SecretStr | None = None

    # Origins whose pages may call the API (CORS), comma-separated, e.g.
    # "https://board.example.com,http://localhost:5173". None by default.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()

    def policy(self) -> Policy:
        limits = Limits(
            max_columns=self.max_columns,
            max_epics=self.max_epics_per_board,
            max_labels=self.max_labels_per_story,
            max_label_length=self.max_label_length,
            max_sprint_days=self.max_sprint_days,
            max_bulk_items=self.max_bulk_items,
            earliest_date=self.earliest_date,
            latest_date=self.latest_date,
        )
        return Policy(
            limits, self.max_client_mutation_id_length, self.board_creators, self.max_boards_per_user
        )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(origin.strip().rstrip("/") for origin in value.split(",") if origin.strip())
        return value

    @cached_property
    def url(self) -> URL:
        return make_url(self.database_url)

    @property
    def is_postgres(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    @property
    def sqlite_path(self) -> Path:
        assert not self.is_postgres and self.url.database
        return Path(self.url.database)

    def eventsourcing_env(self) -> dict[str, str]:
        """The environment that configures eventsourcing's recorders and aggregate cache."""
        size = self.aggregate_cache_size
        cache = {"AGGREGATE_CACHE_MAXSIZE": str(size)} if size > 0 else {}
        if not self.is_postgres:
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": str(self.lock_timeout_seconds),
                **cache,
            }
        url = self.url
        return {
            **cache,
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.database or "",
            "POSTGRES_HOST": url.host or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": url.username or "",
            "POSTGRES_PASSWORD": url.password or "",
            "POSTGRES_SCHEMA": self.database_schema or "",
            "POSTGRES_POOL_SIZE": str(self.pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.pool_size),
            "POSTGRES_LOCK_TIMEOUT": str(self.lock_timeout_seconds),
            "POSTGRES_CONNECT_TIMEOUT": str(self.connect_timeout_seconds),
            "POSTGRES_PRE_PING": "y",
        }

    def sqlalchemy_url(self) -> URL:
        if self.is_postgres:
            return self.url.set(drivername="postgresql+psycopg")
        return self.url
