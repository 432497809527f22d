"""Query cost: how many objects an operation may ask for, refused above a limit and charged to the token.

Each field that returns an object costs one per time it may resolve: a list
multiplies what is below it by its page size (``first``, or its default), so
``stories(first: 100) { edges { node { epic { key } } } }`` costs 1 + 1 + 100
+ 100. Lists without ``first`` (columns, epics, changes...) count as
``UNPAGED_LIST_SIZE``. Aliases and repeated fields each count.
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
from storyline_graphql.context import Context

UNPAGED_LIST_SIZE = 10  # a guess for lists without `first`: columns, epics, an entry's changes
OBJECTS_PER_UNIT = 100  # a query of up to this many objects spends as much of the rate limit as a command


class Costing:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues | None,
        max_page_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.max_page_size = max_page_size

    def cost(
        self, selections: SelectionSetNode, parent: GraphQLNamedType, times: int, page: int | None
    ) -> int:
        """``times``: how often the selection may resolve; ``page``: the page size of its connection."""
        total = 0
        for field, field_parent in self.fields(selections, parent):
            definition = field_parent.fields.get(field.name.value)
            if definition is None or field.selection_set is None:
                continue  # leaves and introspection cost nothing
            total += times
            resolves = times
            if isinstance(get_nullable_type(definition.type), GraphQLList):
                resolves *= UNPAGED_LIST_SIZE if page is None else page  # `edges` take the page size
            total += self.cost(
                field.selection_set,
                get_named_type(definition.type),
                resolves,
                self._page_size(definition, field),
            )
        return total

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


def query_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    max_page_size: int,
) -> int:
    root = schema.get_root_type(operation.operation)
    assert root is not None, "validation refuses operations the schema has no root type for"
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    # Variables that don't coerce fail execution later; until then, estimate with the defaults.
    known = coerced if isinstance(coerced, VariableValues) else None
    return Costing(schema, fragments, known, max_page_size).cost(operation.selection_set, root, 1, None)


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
                cost = query_cost(
                    schema, operation, fragments, execution.variables or {}, settings.max_page_size
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
                await context.spend(rate_units(schema, operation, fragments, cost))
        yield
