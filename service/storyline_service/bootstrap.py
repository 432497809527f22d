"""Wires settings, the application, the read models and the projector together."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from storyline_service.application import Storyline
from storyline_service.auth import OidcTokens, RateLimiter, Tokens
from storyline_service.database import create_engines, create_tables
from storyline_service.projections.runner import Projector
from storyline_service.queries import Reads
from storyline_service.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    app: Storyline
    engine: Engine
    write_engine: Engine
    projector: Projector
    reads: Reads
    tokens: Tokens
    limiter: RateLimiter

    def close(self) -> None:
        self.app.close()
        self.engine.dispose()
        self.write_engine.dispose()


def bootstrap(settings: Settings | None = None, *, read_your_writes: bool = True) -> Runtime:
    settings = settings or Settings()
    engine, write_engine = create_engines(settings)
    create_tables(write_engine)
    reads = Reads(engine)
    app = Storyline(settings.eventsourcing_env(), reads=reads)
    projector = Projector(app, write_engine, reader=engine)
    projector.setup()
    if read_your_writes:
        app.on_recorded = lambda position: projector.wait_for(position, settings.projection_wait_seconds)
    admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None
    tokens = Tokens(write_engine, admin_token, OidcTokens(settings) if settings.oidc_issuer else None, engine)
    limiter = RateLimiter(write_engine, settings.rate_limit, settings.rate_window_seconds)
    return Runtime(settings, app, engine, write_engine, projector, reads, tokens, limiter)
