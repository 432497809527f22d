"""Cross-origin access for board pages on other origins: only the origins an operator lists.

Requests carry a bearer token, never cookies, so no response allows credentials.
A request from an origin that is not listed gets no CORS header at all, and its
preflight is refused, so the browser never sends the request itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

ALLOWED_METHODS = ("GET", "POST", "OPTIONS")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Accept", "X-Request-ID", "If-None-Match")
# What a page may read of a response: its correlation id, its rate-limit budget, when to retry,
# the answer's entity tag (to send back as If-None-Match).
EXPOSED_HEADERS = (
    "X-Request-ID",
    "ETag",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
)
PREFLIGHT_MAX_AGE_SECONDS = 600


class ListedOrigins:
    """Starlette's CORS handling for the listed origins; for any other origin, none."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self.origins = frozenset(origin.rstrip("/") for origin in origins)
        self.cors = CORSMiddleware(
            app,
            allow_origins=sorted(self.origins),
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            allow_credentials=False,
            max_age=PREFLIGHT_MAX_AGE_SECONDS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
        elif origin in self.origins:
            await self.cors(scope, receive, send)
        elif scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await PlainTextResponse("Origin not allowed", status_code=403)(scope, receive, send)
        else:
            await self.app(scope, receive, send)
