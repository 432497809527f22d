"""Refuses a query whose text arguments hold NUL, which no stored text can contain.

PostgreSQL refuses NUL in any text parameter, so such a lookup would fail inside the database
instead of simply finding nothing. Mutations are left alone: their commands refuse NUL with a
UserError that names the input field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from graphql import GraphQLError, StringValueNode, Visitor, visit

NUL = "\x00"


class _NulLiteral(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        if NUL in node.value:
            self.found = True
            return self.BREAK
        return None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class RefuseNulInLookups(SchemaExtension):
    async def on_execute(self) -> Any:  # an async generator, as strawberry expects
        execution = self.execution_context
        if execution.operation_type is not OperationType.MUTATION:
            literal = _NulLiteral()
            if execution.graphql_document is not None:
                visit(execution.graphql_document, literal)
            if literal.found or any(NUL in text for text in _strings(execution.variables or {})):
                raise GraphQLError(
                    "text arguments cannot contain NUL (U+0000)", extensions={"code": "VALIDATION"}
                )
        yield
