"""Query results kept by everything that decides them, so a repeated query does not run again.

Read models change only when events are projected, so a query's answer is fully determined by
- its document, operation name and variables,
- who asks: the user and its roles (loaded afresh at every sign-in, so a revoked role misses),
- the read models' version: every projection's tracking position and the rebuild generation,
  read from the database at sign-in, in its one trip, so a write by any process misses too,
- for answers that depend on today's date (a burndown, an epic's health), the quarter hour of
  UTC: every time zone's offset is a whole number of quarter hours, so the date anywhere is the
  same throughout one.

Answers that depend on the current instant (time in status, flow up to now, a status draft, a
forecast, random unless seeded), on state kept outside the read models (webhooks and their
deliveries) or on the rate-limit window (``rateLimit``) are never kept. Nor are answers with
errors, nor anything but queries over HTTP. There is no expiry: an answer is served only for
exactly the key it was made for. The store is a bounded LRU in each process
(``result_cache_size``; 0 turns it off) of answers as JSON bytes: compact, and no work for the
garbage collector, unlike nested dicts.

The same key, hashed, is the answer's ``ETag`` for ``GET /graphql``: a client repeating it with
``If-None-Match`` gets ``304 Not Modified`` until something that decides the answer changed.

A request seen before (the same document, operation and variables, answered without errors) has a
plan: what its rate-limit charge is and whether it depends on today. Everything else parsing,
validation and the cost check decide is fixed by the request itself, so ``answer`` serves it from
the cache without running it through them again, as encoded JSON that no one decodes on the way out.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
from eventsourcing.application import LRUCache
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.utilities import get_operation_ast
from starlette.requests import Request
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType as StrawberryOperationType

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    OperationType,
    SelectionSetNode,
    get_named_type,
    print_schema,
)
from storyline_graphql.context import Context
from storyline_graphql.cost import Costing
from storyline_graphql.endpoint import EncodedResult
from storyline_graphql.webhooks import webhook_uuid
from storyline_service.queries import Reads
from storyline_service.read_versions import Versions, read_versions

# Fields whose answer moves with the clock, or comes from outside the read models: never kept.
UNCACHEABLE_FIELDS: Final = frozenset(
    {
        ("Query", "rateLimit"),  # the token's window, after this very operation
        ("Board", "flow"),  # up to now unless `to` is given
        ("Board", "forecast"),  # random unless seeded, and dated from today
        ("Board", "statusDraft"),  # up to now
        ("Board", "webhooks"),  # kept outside the event log
        ("Story", "timeInStatus"),  # the current column counts up to now
        ("Story", "cycleTimeHours"),
        ("Story", "leadTimeHours"),
        ("Story", "blockedHours"),  # a blocked story's clock runs
    }
)
UNCACHEABLE_TYPES: Final = frozenset({"Webhook", "WebhookDelivery", "WebhookDeliveryConnection", "RateLimit"})
# Fields whose answer moves with today's date in the board's time zone: a burndown runs through
# today, and forecasts (behind an epic's health and a budget's figures) start from it.
DATED_FIELDS: Final = frozenset(
    {
        ("Sprint", "burndown"),
        ("Board", "budget"),
        ("Epic", "progress"),
        ("Epic", "health"),
        ("Epic", "healthReason"),
        ("Epic", "healthOverridden"),
    }
)
QUARTER_HOUR: Final = 15 * 60


class Uncacheable(Exception):
    pass


def dependence_on_today(
    schema: GraphQLSchema,
    document_fragments: Mapping[str, FragmentDefinitionNode],
    selections: SelectionSetNode,
    parent: GraphQLNamedType,
    variables: VariableValues,
) -> bool:
    """Whether the answer depends on today's date; raises ``Uncacheable`` if it may not be kept."""
    walker = Costing(schema, document_fragments, None, 0)

    def walk(selection_set: SelectionSetNode, parent_type: GraphQLNamedType) -> Iterator[FieldNode]:
        for field, field_parent in walker.fields(selection_set, parent_type):
            pair = (field_parent.name, field.name.value)
            if pair in UNCACHEABLE_FIELDS or field_parent.name in UNCACHEABLE_TYPES:
                raise Uncacheable
            definition = field_parent.fields.get(field.name.value)
            if definition is None:
                continue  # __typename and introspection
            if pair == ("Query", "node"):
                node_id = get_argument_values(definition, field, variables).get("id")
                if not isinstance(node_id, str) or webhook_uuid(node_id) is not None:
                    raise Uncacheable
            if pair in DATED_FIELDS:
                yield field
            named = get_named_type(definition.type)
            if named.name in UNCACHEABLE_TYPES:
                raise Uncacheable
            if field.selection_set is not None:
                yield from walk(field.selection_set, named)

    dated = list(walk(selections, parent))  # all of it: a later field may be uncacheable
    return bool(dated)


@dataclass(frozen=True)
class Plan:
    """What a request seen before needs beside its key: all the rest its first run found out."""

    units: int  # its rate-limit charge
    dated: bool  # whether the answer depends on today


PlanKey = tuple[str, str | None, str]  # document, operation name, variables as JSON


class ResultCache:
    """The kept answers, one LRU per database (a process normally serves one)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.by_database: weakref.WeakKeyDictionary[Reads, LRUCache[str, bytes]] = weakref.WeakKeyDictionary()
        self.plans: LRUCache[PlanKey, Plan] = LRUCache(max(size, 1))
        self.schema_digest = ""

    def serve(self, schema: GraphQLSchema) -> None:
        """Keys name the schema: ETags outlive the process, and another schema shapes answers otherwise."""
        self.schema_digest = hashlib.sha256(print_schema(schema).encode()).hexdigest()

    def store(self, reads: Reads) -> LRUCache[str, bytes]:
        store = self.by_database.get(reads)
        if store is None:
            store = self.by_database[reads] = LRUCache(self.size)
        return store

    def key(self, context: Context, request: PlanKey, dated: bool) -> tuple[Any, ...]:
        """All of the key but the read models' version."""
        access = context.access
        return (
            self.schema_digest,
            *request,
            context.actor,
            access.superuser,
            tuple(sorted((board, role.value) for board, role in access.roles.items())),
            int(time.time() // QUARTER_HOUR) if dated else None,
        )

    def units(
        self, query: str | None, operation_name: str | None, variables: Mapping[str, Any] | None
    ) -> int:
        """What signing in charges for this request: the whole cost of one seen before (it then
        makes no other trip), one unit for any other."""
        if query is None:
            return 1
        try:
            return self.plans.get(request_key(query, operation_name, variables or {})).units
        except KeyError:
            return 1

    async def answer(
        self,
        query: str | None,
        variables: Mapping[str, Any] | None,
        context: Any,
        operation_name: str | None,
        allowed: Iterable[StrawberryOperationType] | None,
    ) -> ExecutionResult | None:
        """The kept answer to a request with a plan, charged to the caller's rate limit; None when
        the request has to run (no plan, no kept answer, or no version read at sign-in)."""
        if (
            query is None
            or not isinstance(context, Context)
            or context.versions is None
            or not isinstance(context.request, Request)
            or (allowed is not None and StrawberryOperationType.QUERY not in allowed)
        ):
            return None
        request = request_key(query, operation_name, variables or {})
        try:
            plan = self.plans.get(request)
            key = digest((*self.key(context, request, plan.dated), context.versions))
            data = self.store(context.reads).get(key)
        except KeyError:
            return None
        try:
            await context.spend(plan.units)
        except GraphQLError as refused:  # past the rate limit, as the query's own charge would be
            return ExecutionResult(data=None, errors=[refused])
        context.result_etag = etag(key)
        return EncodedResult(data)


def request_key(query: str, operation_name: str | None, variables: Mapping[str, Any]) -> PlanKey:
    return query, operation_name, json.dumps(variables, sort_keys=True)


def result_etag(context: Any) -> str | None:
    """For the endpoint's ``etag_of``."""
    return context.result_etag if isinstance(context, Context) else None


def digest(key: tuple[Any, ...]) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()


def etag(key: str) -> str:
    # Weak: both JSON media types carry the same answer, byte for byte, under one tag.
    return f'W/"{key[:32]}"'


class CachedResults(SchemaExtension):
    """Answers a query from the cache, or keeps its answer; runs after the cost is charged.

    The read models' version is the one read at sign-in; without one (no sign-in by ``sign_in``) it
    is read from the start of validation on, beside the rate-limit charge. Either is read before
    the answer: a version read earlier than the answer only ever keeps an answer under an older
    key, which later requests, seeing newer versions, never look up."""

    def __init__(self, cache: ResultCache) -> None:
        super().__init__()
        self.cache = cache
        self.versions: asyncio.Task[Versions] | None = None
        self.request: PlanKey | None = None
        self.dated = False

    async def on_validate(self) -> AsyncIterator[None]:  # type: ignore[override]
        self._plan()
        context = self.execution_context.context
        if self.request is not None and context.versions is None:
            self.versions = asyncio.create_task(asyncio.to_thread(read_versions, context.reads.engine))
            self.versions.add_done_callback(lambda task: task.cancelled() or task.exception())
        yield

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        execution = self.execution_context
        key = await self._key()
        if key is None or self.request is None:
            yield
            return
        context: Context = execution.context
        store = self.cache.store(context.reads)
        plan = Plan(units=context.cost, dated=self.dated)  # QueryCost charged it: that is the cost
        try:
            data = store.get(key)
        except KeyError:
            yield
            result = execution.result
            if isinstance(result, GraphQLExecutionResult) and not result.errors and result.data is not None:
                try:
                    store.put(key, orjson.dumps(result.data))
                except TypeError:  # ints wider than 64 bits: rare enough to run again
                    return
                self.cache.plans.put(self.request, plan)
                context.result_etag = etag(key)
            return
        self.cache.plans.put(self.request, plan)
        execution.result = GraphQLExecutionResult(data=orjson.loads(data), errors=None)
        context.result_etag = etag(key)
        yield

    async def _key(self) -> str | None:
        """The key of the answer, or None when it may not be kept."""
        if self.request is None:
            return None
        context: Context = self.execution_context.context
        versions = context.versions
        if versions is None:
            if self.versions is None:
                return None
            try:
                versions = await self.versions
            except Exception:  # the database is out of reach: execution reports it, nothing is kept
                return None
        return digest((*self.cache.key(context, self.request, self.dated), versions))

    def _plan(self) -> None:
        """Sets ``request`` (None when the answer may not be kept) and ``dated``."""
        execution = self.execution_context
        context = execution.context
        document = execution.graphql_document
        if (
            self.cache.size <= 0
            or not isinstance(context, Context)
            or not isinstance(context.request, Request)  # queries over WebSocket are refused anyway
            or document is None
            or execution.query is None
        ):
            return
        operation = get_operation_ast(document, execution.operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            return
        schema = execution.schema._schema
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        variables = execution.variables or {}
        root = schema.query_type
        assert root is not None
        try:
            coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
            if not isinstance(coerced, VariableValues):
                return  # variables that do not coerce fail execution, which is never kept
            self.dated = dependence_on_today(schema, fragments, operation.selection_set, root, coerced)
        except Exception:  # Uncacheable, or a document or argument that validation or execution refuses
            return
        # The operation name as the request gave it (strawberry fills in the document's own), as
        # `answer` sees it.
        self.request = request_key(execution.query, execution._provided_operation_name, variables)
