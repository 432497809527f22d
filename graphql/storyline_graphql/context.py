"""The per-request context: who is asking, the runtime, and this request's data loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

import strawberry
from starlette.requests import HTTPConnection

from storyline_graphql.loaders import Loaders
from storyline_service.application import Caller, Storyline
from storyline_service.bootstrap import Runtime
from storyline_service.queries import Reads

USER_HEADER = "X-Storyline-User"
ANONYMOUS = "anonymous"


def actor_from_request(request: HTTPConnection) -> str:
    """Who is asking. The one place to change when authentication lands."""
    return request.headers.get(USER_HEADER, "").strip() or ANONYMOUS


def correlation_id_of(request: HTTPConnection) -> str:
    """The id the request log uses for this request, or a fresh one outside the web app."""
    return str(getattr(request.state, "correlation_id", None) or uuid4().hex)


@dataclass
class Context:
    request: HTTPConnection
    runtime: Runtime
    actor: str
    correlation_id: str
    loaders: Loaders
    # graphql-transport-ws puts the connection_init payload here.
    connection_params: dict[str, Any] | None = field(default=None)

    @property
    def app(self) -> Storyline:
        return self.runtime.app

    @property
    def reads(self) -> Reads:
        return self.runtime.reads

    @property
    def max_page_size(self) -> int:
        return self.runtime.settings.max_page_size

    def caller(self, client_mutation_id: str | None, occurred_at: datetime | None) -> Caller:
        return Caller(
            self.actor,
            correlation_id=self.correlation_id,
            idempotency_key=client_mutation_id,
            occurred_at=occurred_at,
        )

    def forget_reads(self) -> None:
        """After a change, later fields in the same request must not see data loaded before it."""
        self.loaders = Loaders(self.reads)


async def get_context(request: HTTPConnection) -> Context:
    runtime: Runtime = request.app.state.runtime
    return Context(
        request=request,
        runtime=runtime,
        actor=actor_from_request(request),
        correlation_id=correlation_id_of(request),
        loaders=Loaders(runtime.reads),
    )


Info = strawberry.Info[Context, None]
