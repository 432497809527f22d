"""The per-request context: who is asking, what they may see, the runtime, and this request's data loaders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

import strawberry
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from graphql import GraphQLError
from storyline_graphql.endpoint import HTTPError
from storyline_graphql.loaders import Loaders
from storyline_service.application import Caller, Storyline
from storyline_service.auth import Access, Budget, Principal, RateLimited, SignedIn
from storyline_service.auth import sign_in as sign_in_once
from storyline_service.bootstrap import Runtime
from storyline_service.queries import Reads
from storyline_service.read_versions import Versions


def unauthenticated() -> HTTPError:
    return HTTPError(
        401,
        "Authentication required: send a valid API token as `Authorization: Bearer <token>`.",
        {"WWW-Authenticate": 'Bearer realm="storyline"'},
        code="UNAUTHENTICATED",
    )


def bearer_token(authorization: object) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value."""
    if not isinstance(authorization, str):
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def correlation_id_of(request: HTTPConnection) -> str:
    """The id the request log uses for this request, or a fresh one outside the web app."""
    return str(getattr(request.state, "correlation_id", None) or uuid4().hex)


def rate_limited(error: RateLimited) -> GraphQLError:
    return GraphQLError(str(error), extensions={"code": "RATE_LIMITED", "retryAfter": error.retry_after})


def too_many_requests(message: str, retry_after: int) -> HTTPError:
    """The 429 for a request over its token's rate limit, refused at sign-in or before it runs."""
    return HTTPError(
        429,
        message,
        {"Retry-After": str(retry_after)},
        code="RATE_LIMITED",
        extensions={"retryAfter": retry_after},
    )


@dataclass
class Context:
    request: HTTPConnection
    runtime: Runtime
    correlation_id: str
    # Set by `sign_in`: on HTTP before the request runs, on WebSocket at connection_init.
    principal: Principal | None = None
    access: Access = field(default_factory=Access)
    loaders: Loaders = field(init=False)  # each loader is made on first use (cheap when unused)
    # graphql-transport-ws puts the connection_init payload here.
    connection_params: dict[str, Any] | None = field(default=None)
    token: str | None = field(default=None, repr=False)  # kept to re-check long-lived connections
    prepaid: int = 0  # rate-limit units charged at sign-in, for the first operation
    budget: Budget | None = None  # the token's rate-limit window after the last charge
    cost: int = 0  # rate-limit units this operation was charged
    result_etag: str | None = None  # set when the answer came from, or went into, the result cache
    versions: Versions | None = None  # the read models' version, read at sign-in for the result cache

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.reads, self.access)

    @property
    def app(self) -> Storyline:
        return self.runtime.app

    @property
    def reads(self) -> Reads:
        return self.runtime.reads

    @property
    def max_page_size(self) -> int:
        return self.runtime.settings.max_page_size

    @property
    def signed_in(self) -> Principal:
        assert self.principal is not None, "no request runs before sign_in"
        return self.principal

    @property
    def actor(self) -> str:
        return self.signed_in.user

    def caller(self, client_mutation_id: str | None, occurred_at: datetime | None) -> Caller:
        principal = self.signed_in
        return Caller(
            principal.user,
            correlation_id=self.correlation_id,
            idempotency_key=client_mutation_id,
            occurred_at=occurred_at,
            superuser=principal.superuser,
        )

    async def spend(self, units: int) -> None:
        """Counts an operation's work against the token's rate limit, less what signing in already
        charged; raises a RATE_LIMITED error past the limit."""
        self.cost = max(units, self.prepaid)
        units, self.prepaid = units - self.prepaid, 0
        if units <= 0:
            return
        try:
            self.note(await asyncio.to_thread(self.runtime.limiter.spend, self.signed_in.token_id, units))
        except RateLimited as error:
            self.note(error.budget)
            raise rate_limited(error) from None

    def note(self, budget: Budget) -> None:
        """Keeps the budget for `Query.rateLimit`, and on the request for the X-RateLimit-* headers."""
        self.budget = budget
        self.request.state.rate_budget = budget

    async def recheck(self) -> Access:
        """For a long-lived connection: the token must still be valid, and the roles are reloaded."""
        signed_in = await asyncio.to_thread(_sign_in, self.runtime, self.token) if self.token else None
        if signed_in is None:
            refused = unauthenticated()
            raise GraphQLError(refused.message, extensions=refused.extensions)
        return signed_in.access

    def start_reads(self, access: Access) -> None:
        """Reads from here on see ``access`` (freshly loaded) and load everything anew: after a change,
        later fields in the same request must not see data (or roles) loaded before it."""
        self.access = access
        self.loaders = Loaders(self.reads, access)


async def get_context(request: HTTPConnection) -> Context:
    return Context(
        request=request, runtime=request.app.state.runtime, correlation_id=correlation_id_of(request)
    )


async def sign_in(context: Context, units: int = 1) -> None:
    """Authenticates the request (or WebSocket connection), loads the principal's roles and charges
    ``units`` of its rate limit, all in one trip: most operations cost just one unit, and a request
    answered before is charged its whole cost here. An HTTP request reads the read models' version
    in that trip too, for the result cache."""
    if isinstance(context.request, WebSocket):
        params = context.connection_params or {}
        authorization = params.get("Authorization", params.get("authorization"))
        versions = False
    else:
        authorization = context.request.headers.get("authorization")
        versions = context.runtime.settings.result_cache_size > 0
    token = bearer_token(authorization)
    try:
        signed_in = (
            await asyncio.to_thread(_sign_in, context.runtime, token, units, versions) if token else None
        )
    except RateLimited as error:
        context.note(error.budget)
        raise too_many_requests(str(error), error.retry_after) from None
    if signed_in is None:
        raise unauthenticated()
    context.token = token
    context.principal, context.versions = signed_in.principal, signed_in.versions
    if signed_in.budget is not None:
        context.note(signed_in.budget)
    context.prepaid = context.cost = units
    context.start_reads(signed_in.access)


def _sign_in(runtime: Runtime, token: str, units: int = 0, versions: bool = False) -> SignedIn | None:
    return sign_in_once(runtime.tokens, runtime.limiter, token, units, versions=versions)


Info = strawberry.Info[Context, None]
