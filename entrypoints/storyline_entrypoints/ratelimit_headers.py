"""X-RateLimit-Limit, -Remaining and -Reset on every response to a request that spent from a token's
budget, refusals (429) included, so that clients can pace themselves without asking."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storyline_service.auth import Budget


def rate_limit_headers(budget: Budget) -> list[tuple[bytes, bytes]]:
    values = {
        "x-ratelimit-limit": budget.limit,
        "x-ratelimit-remaining": budget.remaining,
        "x-ratelimit-reset": int(budget.resets_at.timestamp()),  # Unix seconds, as GitHub's API
    }
    return [(name.encode(), str(value).encode()) for name, value in values.items()]


class RateLimitHeaders:
    """Adds the headers from the budget the GraphQL context left on the request's state."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_budget(message: Message) -> None:
            budget = state.get("rate_budget")
            if message["type"] == "http.response.start" and budget is not None:
                message["headers"] = [*message.get("headers", []), *rate_limit_headers(budget)]
            await send(message)

        await self.app(scope, receive, send_with_budget)
