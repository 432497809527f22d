"""Wires settings, the application, the read models and the projector together."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from storyline_service.application import Storyline
from storyline_service.auth import OidcTokens, RateLimiter, Tokens
from storyline_service.database import Engines, create_engines, create_tables, one_setup_at_a_time
from storyline_service.projections.runner import Projector
from storyline_service.projections.watch import ProjectionWatch, projected_channel
from storyline_service.queries import Reads
from storyline_service.read_versions import ReadModelGenerationRow  # noqa: F401  (created with the rest)
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
    # Set by `watch_projections`: this process's view of the read models' progress.
    watch: ProjectionWatch | None = None

    @property
    def engine(self) -> Engine:
        """For reads."""
        return self.engines.read

    @property
    def write_engine(self) -> Engine:
        """For durable writes (tokens)."""
        return self.engines.write

    def watch_projections(self) -> ProjectionWatch:
        """Starts watching the read models' progress. On PostgreSQL, mutations then wait for it
        (read-your-writes) instead of projecting inline, unless this process holds every
        projection's lease: the leaseholder projects. SQLite serves from one process, which
        projects inline."""
        self.watch = ProjectionWatch(self.projector, self.settings).start()
        if self.settings.is_postgres:
            watch, projector, timeout = self.watch, self.projector, self.settings.projection_wait_seconds
            everything = {p.name for p in projector.projections}

            def wait(position: int) -> None:
                if projector.leased >= everything:  # this process is the projector: project inline
                    projector.wait_for(position, timeout)
                else:
                    watch.wait_for(position, timeout)

            self.app.on_recorded = wait
        return self.watch

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()
        self.app.close()
        self.engines.dispose()


def bootstrap(settings: Settings | None = None, *, read_your_writes: bool = True) -> Runtime:
    settings = settings or Settings()
    engines = create_engines(settings)
    with one_setup_at_a_time(settings):
        create_tables(engines.write)
        app = Storyline(settings.eventsourcing_env(), policy=settings.policy())
        projector = Projector(
            app, engines.derived, reader=engines.read, notify_channel=projected_channel(settings)
        )
        projector.setup()
    reads = Reads(engines.read)
    if read_your_writes:
        app.on_recorded = lambda position: projector.wait_for(position, settings.projection_wait_seconds)
    admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None
    oidc = OidcTokens(settings) if settings.oidc_issuer else None
    tokens = Tokens(engines.write, admin_token, oidc, engines.read)
    limiter = RateLimiter(engines.derived, settings.rate_limit, settings.rate_window_seconds)
    return Runtime(settings, app, engines, projector, reads, tokens, limiter)
