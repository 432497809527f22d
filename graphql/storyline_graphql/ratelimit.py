"""The caller's rate-limit budget, as `Query.rateLimit` (the X-RateLimit-* headers carry the same)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from storyline_graphql.context import Info


@strawberry.type(description="The API token's budget in the current window, after this operation.")
class RateLimit:
    limit: int = strawberry.field(description="Units a token may spend per window.")
    remaining: int
    reset_at: datetime = strawberry.field(description="When the window ends and the budget is full again.")
    cost: int = strawberry.field(description="What this operation was charged.")


@strawberry.type
class RateLimitQuery:
    @strawberry.field(description="The caller's rate-limit budget, after this operation.")
    def rate_limit(self, info: Info) -> RateLimit:
        context = info.context
        budget = context.budget
        assert budget is not None, "every operation is charged before it runs"
        return RateLimit(
            limit=budget.limit, remaining=budget.remaining, reset_at=budget.resets_at, cost=context.cost
        )
