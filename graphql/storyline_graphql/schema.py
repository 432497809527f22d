"""The schema: each feature's queries, mutations and subscriptions merged, with Storyline's limits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from graphql import GraphQLError
from storyline_graphql.analytics import ANALYTICS_TYPES
from storyline_graphql.audit import AuditQuery, AuditSubscription, audit_sequence, load_audit_entry
from storyline_graphql.boards import BoardMutations, BoardQuery, load_board
from storyline_graphql.bulk import BulkMutations
from storyline_graphql.calendars import CalendarMutations
from storyline_graphql.changes import ChangeSubscription
from storyline_graphql.common import Node
from storyline_graphql.context import Context, Info
from storyline_graphql.control.mutations import ControlMutations
from storyline_graphql.control.types import ControlQuery, load_control_node
from storyline_graphql.cost import QueryCost
from storyline_graphql.epics import EpicMutations, load_epic
from storyline_graphql.event_types import EventTypeQuery
from storyline_graphql.ratelimit import RateLimitQuery
from storyline_graphql.result_cache import CachedResults, ResultCache
from storyline_graphql.scalars import SCALARS
from storyline_graphql.sprints import SprintMutations, SprintQuery, load_sprint
from storyline_graphql.stored_text import RefuseNulInLookups
from storyline_graphql.stories import StoryMutations, StoryQuery, load_story
from storyline_graphql.webhooks import WebhookMutations, load_webhook, webhook_uuid
from storyline_service.settings import Settings

log = logging.getLogger("storyline.graphql")

# Generous for real clients (GraphiQL's introspection query is under 1,000 tokens), tight for abuse.
MAX_ALIASES = 50
MAX_TOKENS = 5_000
CACHE_SIZE = 512


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="Any board, story, sprint, epic, risk, status update, audit entry or webhook by its id."
    )
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        sequence = audit_sequence(id)
        if sequence is not None:
            return await load_audit_entry(info, sequence)
        webhook_id = webhook_uuid(id)
        if webhook_id is not None:
            return await load_webhook(info, webhook_id)
        found = await asyncio.to_thread(info.context.reads.find_node, id)
        if found is None:
            return await load_control_node(info, id)
        kind, key = found
        loaders = {"Board": load_board, "Story": load_story, "Sprint": load_sprint, "Epic": load_epic}
        node: Node | None = await loaders[kind](info, key)
        return node


Query = merge_types(
    "Query",
    (
        NodeQuery,
        BoardQuery,
        StoryQuery,
        SprintQuery,
        AuditQuery,
        *ANALYTICS_TYPES,
        ControlQuery,
        EventTypeQuery,
        RateLimitQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        BoardMutations,
        StoryMutations,
        BulkMutations,
        EpicMutations,
        SprintMutations,
        CalendarMutations,
        ControlMutations,
        WebhookMutations,
    ),
)
Subscription = merge_types("Subscription", (AuditSubscription, ChangeSubscription))


def is_unexpected(error: GraphQLError) -> bool:
    """Errors raised on purpose are GraphQLErrors; anything else is a fault to hide."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def correlation_id(execution_context: ExecutionContext | None) -> str:
    context = execution_context.context if execution_context else None
    return context.correlation_id if isinstance(context, Context) else "-"


class MaskFaults(MaskErrors):
    """Unexpected exceptions reach clients as one line with the correlation id, nothing more."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        cid = correlation_id(self.execution_context)
        return GraphQLError(
            f"Internal server error (correlation id {cid}).",
            nodes=error.nodes,
            path=error.path,
            # Kept for the transport (a storage outage is a 503); clients never see it.
            original_error=error.original_error,
            extensions={"code": "INTERNAL_SERVER_ERROR", "correlationId": cid},
        )


class StorylineSchema(strawberry.Schema):
    results: ResultCache | None = None  # set by `build_schema`

    async def execute(  # type: ignore[override]
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        # A request answered before is served from the result cache without running it again.
        if self.results is not None:
            kept = await self.results.answer(
                query, variable_values, context_value, operation_name, allowed_operation_types
            )
            if kept is not None:
                return kept
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )

    def units_at_sign_in(self, query: str | None, operation_name: str | None, variables: Any) -> int:
        """The rate-limit units to charge at sign-in for this request (see ``ResultCache.units``)."""
        if self.results is None or not (variables is None or isinstance(variables, dict)):
            return 1
        return self.results.units(query, operation_name, variables)

    async def stream(  # type: ignore[override]
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> Any:
        # A WebSocket carries subscriptions only. Queries and mutations go over HTTP, where every
        # request is authenticated afresh; a socket's sign-in would outlive a revoked token.
        return await super().stream(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            operation_extensions,
            allowed_operation_types or (OperationType.SUBSCRIPTION,),
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client mistakes are the client's to read; faults go to the log in full.
        for error in errors:
            if is_unexpected(error):
                log.error(
                    "unexpected error in %s (correlation id %s): %s",
                    ".".join(map(str, error.path or [])) or "the operation",
                    correlation_id(execution_context),
                    error.message,
                    exc_info=error.original_error,
                )


def build_schema(settings: Settings) -> StorylineSchema:
    # Factories: each request gets fresh extensions; the parse and validation caches live at module level.
    # The limits' validation rules are classes made once here: the validation cache is keyed on the
    # rules, so a limiter built per request (a new rule class each time) would never hit it.
    limits = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
    ]
    results = ResultCache(settings.result_cache_size)
    extensions: list[Any] = [
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(limits),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        RefuseNulInLookups,
        QueryCost,  # before the cache: an answer from it is charged like any other
        lambda: CachedResults(results),
        MaskFaults,
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    schema = StorylineSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALARS, disable_field_suggestions=not settings.introspection),
    )
    results.serve(schema._schema)
    if settings.result_cache_size > 0:
        schema.results = results
    return schema
