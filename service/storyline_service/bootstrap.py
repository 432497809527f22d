"""Wires settings, the application, the read models and the projector together."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from storyline_service.application import Storyline
from storyline_service.auth import OidcTokens, RateLimiter, Tokens
from storyline_service.database import Engines, create_engines, create_tables
from storyline_service.projections.runner import Projector
from storyline_service.queries import Reads
from storyline_service.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    app: Storyline
    engines: Engines
    projector: Projector
    reads: Reads
    tokens: Tokens
    limiter: RateLimiter

    @property
    def engine(self) -> Engine:
        """For reads."""
        return self.engines.read

    @property
    def write_engine(self) -> Engine:
        """For durable writes (tokens)."""
        return self.engines.write

    def close(self) -> None:
        self.app.close()
        self.engines.dispose()


def bootstrap(settings: Settings | None = None, *, read_your_writes: bool = True) -> Runtime:
    settings = settings or Settings()
    engines = create_engines(settings)
    create_tables(engines.write)
    reads = Reads(engines.read)
    app = Storyline(settings.eventsourcing_env(), policy=settings.policy())
    projector = Projector(app, engines.derived, reader=engines.read)
    projector.setup()
    if read_your_writes:
        app.on_recorded = lambda position: projector.wait_for(position, settings.projection_wait_seconds)
    admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None
    oidc = OidcTokens(settings) if settings.oidc_issuer else None
    tokens = Tokens(engines.write, admin_token, oidc, engines.read)
    limiter = RateLimiter(engines.derived, settings.rate_limit, settings.rate_window_seconds)
    return Runtime(settings, app, engines, projector, reads, tokens, limiter)
