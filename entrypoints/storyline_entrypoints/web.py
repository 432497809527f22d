"""The web app: GraphQL at /graphql, the reference board page at /board, health probes, request logs.

Part of the composition root: it wires the service's runtime to the GraphQL
schema and serves both.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

from fastapi import FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from graphql import GraphQLError
from storyline_entrypoints.cors import ListedOrigins
from storyline_entrypoints.heap import freeze_startup_objects
from storyline_entrypoints.ratelimit_headers import RateLimitHeaders
from storyline_entrypoints.workers import start_workers
from storyline_graphql.context import Context, get_context, sign_in, too_many_requests
from storyline_graphql.endpoint import GraphQLHTTPEndpoint, HTTPError
from storyline_graphql.persisted_queries import PersistedQueries
from storyline_graphql.result_cache import result_etag
from storyline_graphql.schema import build_schema
from storyline_service.board_page import mount_board_page
from storyline_service.bootstrap import Runtime, bootstrap
from storyline_service.projections.failures import database_unavailable
from storyline_service.settings import Settings

log = logging.getLogger("storyline.web")

REQUEST_ID_HEADER = "x-request-id"

# What GraphiQL opens with: the demo board that `storyline serve --local` loads.
GRAPHIQL_QUERY = """\
# The demo board PAY: its active sprint's report and burndown. Run it with the play button.
#
# Every request needs an API token. Open "Headers" below and enter
#   {"Authorization": "Bearer <token>"}
# with the token `make run` printed on its first start (or `storyline token create admin --admin`).
# `make run` on this machine fills it in for you.
query ActiveSprint {
  board(key: "PAY") {
    name
    activeSprint {
      name
      goal
      startDate
      endDate
      report {
        committedCount
        committedPoints
        completedCount
        completedPoints
        commitmentReliability
        scopeChangePoints
        added { story { key title } points actor at }
        reestimated { story { key } from to actor at }
      }
      burndown { date scopePoints completedPoints remainingPoints idealRemainingPoints }
    }
  }
}
"""


class RequestLog:
    """Gives every request a correlation id (the client's X-Request-ID, or a new one) and logs it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        correlation_id = given[:64] if given.isprintable() and given else uuid4().hex
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        started, status = time.perf_counter(), 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append(
                    (REQUEST_ID_HEADER.encode(), correlation_id.encode())
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "%s %s %s %.1fms correlation_id=%s",
                scope.get("method", "WS"),
                scope["path"],
                status or "-",
                (time.perf_counter() - started) * 1000,
                correlation_id,
            )


def configure_logging() -> None:
    """Storyline's own log lines (requests, faults) on stderr, unless the host set up logging already."""
    storyline = logging.getLogger("storyline")
    if not storyline.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        storyline.addHandler(handler)
        storyline.setLevel(logging.INFO)


def http_error_of(error: GraphQLError) -> HTTPError | None:
    """503 while the database is out of reach, 429 over the rate limit: both tell clients to retry later."""
    if error.original_error is not None and database_unavailable(error.original_error):
        return HTTPError(503, "The database is unavailable; retry shortly.", {"Retry-After": "1"})
    extensions = error.extensions or {}
    if extensions.get("code") == "RATE_LIMITED":
        return too_many_requests(error.message, extensions["retryAfter"])
    return None


def _ready(runtime: Runtime) -> tuple[bool, dict[str, Any]]:
    """Ready when the database answers and every projection has caught up with the log."""
    try:
        positions = runtime.projector.positions()
        head = runtime.projector.head()
    except Exception as error:
        log.warning("readiness: database unreachable: %s", error)
        return False, {"status": "unavailable", "reason": "database unreachable"}
    behind = {name: head - position for name, position in positions.items() if position < head}
    body: dict[str, Any] = {"status": "ready" if not behind else "catching up", "head": head}
    body["positions"] = positions
    failure = runtime.projector.failure
    if failure is not None and behind:
        body |= {"status": "stopped", "reason": failure.describe(), "failure": failure.as_dict()}
    return not behind, body


def create_app(settings: Settings | None = None, *, local_token: str | None = None) -> FastAPI:
    """``local_token`` (local mode only) is handed to GraphiQL's headers editor and to /board."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        runtime = await asyncio.to_thread(bootstrap, settings)
        runtime.watch_projections()
        app.state.runtime = runtime
        workers = start_workers(runtime, projector=settings.projector)
        freeze_startup_objects()
        try:
            yield
        finally:
            # Uvicorn has finished the requests in flight and closed the WebSockets by now.
            await asyncio.to_thread(workers.shut_down)
            runtime.close()

    app = FastAPI(
        title="Storyline",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    schema = build_schema(settings)
    persisted = PersistedQueries(settings.persisted_queries_size)

    async def authenticate(context: Context, data: GraphQLRequestData | None) -> None:
        """Signs the request in, charging a request answered before (by its document or its
        persisted query's hash) its whole cost at once."""
        units = 1
        if data is not None:
            units = schema.units_at_sign_in(persisted.document(data), data.operation_name, data.variables)
        await sign_in(context, units)

    endpoint = GraphQLHTTPEndpoint(
        schema,
        graphiql=settings.introspection,
        context_getter=get_context,
        max_body_size=settings.max_request_bytes,
        authenticate=authenticate,
        connection_check=sign_in,
        http_error_of=http_error_of,
        graphiql_query=GRAPHIQL_QUERY,
        graphiql_headers={"Authorization": f"Bearer {local_token}"} if local_token else None,
        persisted_queries=persisted,
        etag_of=result_etag,
        # Not graphql-ws, the legacy protocol: it has no way to refuse a connection with 4401.
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )
    endpoint.mount(app, "/graphql")
    mount_board_page(app, local_token=local_token)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        runtime: Runtime = app.state.runtime
        try:
            ready, body = await asyncio.wait_for(
                asyncio.to_thread(_ready, runtime), timeout=settings.connect_timeout_seconds + 1
            )
        except TimeoutError:
            ready, body = False, {"status": "unavailable", "reason": "database did not answer in time"}
        return JSONResponse(body, status_code=200 if ready else 503)

    if local_token:
        # Pages carrying the local token answer only to loopback names, so a page from another
        # site cannot read them through a DNS name that points at 127.0.0.1.
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=["localhost", "127.0.0.1", "[::1]", "::1"])
    app.add_middleware(RateLimitHeaders)
    if settings.cors_origins:
        app.add_middleware(ListedOrigins, origins=settings.cors_origins)
    app.add_middleware(RequestLog)
    return app
