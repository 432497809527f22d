"""Query cost: how many objects an operation may ask for, refused above a limit and charged to the token.

Each field that returns an object costs one per time it may resolve: a list
multiplies what is below it by its page size (``first``, or its default), so
``stories(first: 100) { edges { node { epic { key } } } }`` costs 1 + 1 + 100
+ 100. Lists without ``first`` count by the most items they can hold: a board's
columns by ``max_columns``, a burndown by ``max_sprint_days``... (``list_bounds``);
any other such list as a full page. Aliases and repeated fields each count.

Long text counts too, one object per ``TEXT_CHARS_PER_OBJECT`` characters it may hold
(``text_bounds``): a story's description (20,000 characters) as 40 objects, so
``stories(first: 500) { edges { node { description } } }`` costs 1 + 1 + 500 + 500 * 40.
Other leaves cost nothing, unless selected again under another alias: then each copy
costs at least one. So counted, the largest response the cost limit admits is bounded
(README, "Configuration"). The rate limit charges objects only (``rate_units``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
)
from storyline_domain.board import MAX_SUMMARY
from storyline_domain.epic import MAX_REASON
from storyline_domain.risk import MAX_DESCRIPTION as MAX_RISK_DESCRIPTION
from storyline_domain.risk import MAX_NOTE as MAX_RISK_NOTE
from storyline_domain.sprint import MAX_GOAL
from storyline_domain.story import MAX_BLOCK_REASON
from storyline_domain.story import MAX_DESCRIPTION as MAX_STORY_DESCRIPTION
from storyline_graphql.analytics import MAX_FLOW_DAYS
from storyline_graphql.context import Context
from storyline_service.burndown import MAX_BURNDOWN_DAYS
from storyline_service.settings import Settings

OBJECTS_PER_UNIT = 100  # a query of up to this many objects spends as much of the rate limit as a command
TEXT_CHARS_PER_OBJECT = 500  # long text costs one object per this many characters it may hold


class Costing:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues | None,
        max_page_size: int,
        bounds: Mapping[tuple[str, str], int] | None = None,
        texts: Mapping[tuple[str, str], int] | None = None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.max_page_size = max_page_size
        self.bounds = bounds or {}
        self.texts = texts or {}

    def cost(
        self, selections: SelectionSetNode, parent: GraphQLNamedType, times: int, page: int | None
    ) -> int:
        """``times``: how often the selection may resolve; ``page``: the page size of its connection."""
        total = 0
        leaves: dict[str, str] = {}  # response key -> field name
        for field, field_parent in self.fields(selections, parent):
            definition = field_parent.fields.get(field.name.value)
            if definition is None:
                continue  # introspection costs nothing
            if field.selection_set is None:
                total += times * self._leaf_weight(field, field_parent, leaves)
                continue
            total += times
            resolves = times
            if isinstance(get_nullable_type(definition.type), GraphQLList):
                if page is None:
                    page = self.bounds.get((field_parent.name, field.name.value), self.max_page_size)
                resolves *= page  # `edges` take their connection's page size
            total += self.cost(
                field.selection_set,
                get_named_type(definition.type),
                resolves,
                self._page_size(definition, field),
            )
        return total

    def _leaf_weight(
        self, field: FieldNode, parent: GraphQLObjectType | GraphQLInterfaceType, leaves: dict[str, str]
    ) -> int:
        """Long text by its length; a short leaf nothing, unless it is a copy under another alias."""
        name = field.name.value
        key = field.alias.value if field.alias else name
        if key in leaves:
            return 0  # the same response key again: merged into one answer
        copy = name in leaves.values()
        leaves[key] = name
        chars = self.texts.get((parent.name, name), 0)
        return max(math.ceil(chars / TEXT_CHARS_PER_OBJECT), 1 if copy else 0)

    def fields(
        self, selections: SelectionSetNode, parent: GraphQLNamedType
    ) -> Iterator[tuple[FieldNode, GraphQLObjectType | GraphQLInterfaceType]]:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
                    yield selection, parent
                continue
            if isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None:
                    continue
                condition: NamedTypeNode | None = fragment.type_condition
                inner = fragment.selection_set
            else:
                assert isinstance(selection, InlineFragmentNode)
                condition, inner = selection.type_condition, selection.selection_set
            named = self.schema.get_type(condition.name.value) if condition else parent
            yield from self.fields(inner, named or parent)

    def _page_size(self, definition: GraphQLField, field: FieldNode) -> int | None:
        if "first" not in definition.args:
            return None
        try:
            args = get_argument_values(definition, field, self.variables)
            # `last` reads backward instead of `first` (which keeps its default).
            size = args.get("last") if args.get("last") is not None else args.get("first")
        except GraphQLError:
            size = None  # execution reports the bad argument; estimate the worst
        return self.max_page_size if size is None else max(0, min(int(size), self.max_page_size))


def list_bounds(settings: Settings) -> dict[tuple[str, str], int]:
    """The most items each list without `first` can hold, by (type, field)."""
    columns = settings.max_columns
    return {
        ("Board", "columns"): columns,
        ("BoardSnapshot", "columns"): columns,
        ("FlowDay", "counts"): columns,
        ("Story", "timeInStatus"): columns,
        ("Board", "epics"): settings.max_epics_per_board,
        ("Sprint", "burndown"): MAX_BURNDOWN_DAYS,
        ("FlowMetrics", "cumulativeFlow"): MAX_FLOW_DAYS + 1,
        ("AuditEntry", "changes"): CHANGED_FIELDS,
        **{(payload, "errors"): 1 for payload in PAYLOADS},  # a command breaks one rule
        # ... but a bulk command answers one error per failing item, and one story per item.
        ("CreateStoriesPayload", "errors"): settings.max_bulk_items,
        ("CreateStoriesPayload", "stories"): settings.max_bulk_items,
    }


def text_bounds(settings: Settings) -> dict[tuple[str, str], int]:
    """The most characters each long text field can hold, by (type, field)."""
    labels = settings.max_labels_per_story * settings.max_label_length
    # One event's changes hold at most a story's texts, or every column: the audit entry's
    # `changes` count as CHANGED_FIELDS, so each change's share of that.
    changed = max(MAX_STORY_DESCRIPTION + labels + 1000, settings.max_columns * 150) // CHANGED_FIELDS
    return {
        ("Story", "description"): MAX_STORY_DESCRIPTION,
        ("Story", "labels"): labels,
        ("Story", "blockedReason"): MAX_BLOCK_REASON,
        ("Risk", "description"): MAX_RISK_DESCRIPTION,
        ("Risk", "owner"): MAX_RISK_NOTE,
        ("Risk", "mitigation"): MAX_RISK_NOTE,
        ("Sprint", "goal"): MAX_GOAL,
        ("Epic", "healthReason"): MAX_REASON,
        ("StatusUpdate", "summary"): MAX_SUMMARY,
        # The summary again; its other lines repeat the figures, counted as objects.
        ("StatusUpdate", "markdown"): MAX_SUMMARY,
        ("AuditEntry", "summary"): max(settings.max_columns * 64, MAX_REASON),  # all columns, or a reason
        ("FieldChange", "from"): changed,
        ("FieldChange", "to"): changed,
    }


# The most fields one event changes (a story's creation), and the payloads of mutations.
CHANGED_FIELDS = 16
PAYLOADS = ("BoardPayload", "StoryPayload", "EpicPayload", "SprintPayload")


def query_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    max_page_size: int,
    bounds: Mapping[tuple[str, str], int] | None = None,
    texts: Mapping[tuple[str, str], int] | None = None,
) -> int:
    root = schema.get_root_type(operation.operation)
    assert root is not None, "validation refuses operations the schema has no root type for"
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    # Variables that don't coerce fail execution later; until then, estimate with the defaults.
    known = coerced if isinstance(coerced, VariableValues) else None
    costing = Costing(schema, fragments, known, max_page_size, bounds, texts)
    return costing.cost(operation.selection_set, root, 1, None)


def rate_units(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    cost: int,
) -> int:
    """What an operation spends of its token's rate limit: a mutation one unit per command it runs
    (each root field, aliases included), any other operation one unit per 100 objects."""
    if operation.operation is OperationType.MUTATION and schema.mutation_type is not None:
        roots = Costing(schema, fragments, None, 0).fields(operation.selection_set, schema.mutation_type)
        return max(1, sum(1 for field, _ in roots if not field.name.value.startswith("__")))
    return max(1, math.ceil(cost / OBJECTS_PER_UNIT))


class QueryCost(SchemaExtension):
    """Refuses operations above ``max_query_cost`` before they run, and charges the rest to the token."""

    async def on_execute(self) -> Any:  # an async generator, as strawberry expects
        execution = self.execution_context
        context = execution.context
        document = execution.graphql_document
        if isinstance(context, Context) and document is not None:
            operation = get_operation_ast(document, execution.operation_name)
            if operation is not None:
                fragments = {
                    d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
                }
                settings = context.runtime.settings
                schema = execution.schema._schema
                variables = execution.variables or {}
                page, bounds = settings.max_page_size, list_bounds(settings)
                cost = query_cost(
                    schema, operation, fragments, variables, page, bounds, text_bounds(settings)
                )
                if cost > settings.max_query_cost:
                    raise GraphQLError(
                        f"This operation may ask for {cost} objects, more than the limit of "
                        f"{settings.max_query_cost}; ask for smaller pages (`first`) or fewer nested lists.",
                        extensions={
                            "code": "QUERY_TOO_COSTLY",
                            "cost": cost,
                            "limit": settings.max_query_cost,
                        },
                    )
                objects = query_cost(schema, operation, fragments, variables, page, bounds)
                await context.spend(rate_units(schema, operation, fragments, objects))
        yield
