"""The operations in frontend-contract/operations, each as the document a client sends.

A client sends one operation together with the fragments it uses, from any
file. The text is cut verbatim from the .graphql files, comments aside.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from graphql.language import Visitor

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    NamedTypeNode,
    OperationDefinitionNode,
    Source,
    TypeInfo,
    TypeInfoVisitor,
    parse,
    visit,
)

ROOT = Path(__file__).parents[2]
CONTRACT = ROOT / "frontend-contract"
OPERATIONS = CONTRACT / "operations"


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        if node.name.value not in self.names:
            self.names.append(node.name.value)


def spreads(node: OperationDefinitionNode | FragmentDefinitionNode) -> list[str]:
    visitor = _Spreads()
    visit(node, visitor)
    return visitor.names


def text_of(node: OperationDefinitionNode | FragmentDefinitionNode) -> str:
    assert node.loc is not None
    return node.loc.source.body[node.loc.start : node.loc.end]


def parsed_files() -> dict[str, DocumentNode]:
    return {
        path.name: parse(Source(path.read_text(), path.name)) for path in sorted(OPERATIONS.glob("*.graphql"))
    }


@cache
def definitions() -> tuple[dict[str, OperationDefinitionNode], dict[str, FragmentDefinitionNode]]:
    """Every operation and fragment by name; names are unique across the folder."""
    operations: dict[str, OperationDefinitionNode] = {}
    fragments: dict[str, FragmentDefinitionNode] = {}
    for file, document in parsed_files().items():
        for node in document.definitions:
            name = getattr(node, "name", None)
            assert name is not None, f"{file}: every operation needs a name"
            assert name.value not in operations | fragments, f"{file}: {name.value} is defined twice"
            if isinstance(node, OperationDefinitionNode):
                operations[name.value] = node
            elif isinstance(node, FragmentDefinitionNode):
                fragments[name.value] = node
            else:
                raise AssertionError(f"{file}: {name.value} is neither an operation nor a fragment")
    return operations, fragments


def fragments_used(name: str) -> list[str]:
    """The fragments an operation needs, directly or through other fragments, in order of first use."""
    operations, fragments = definitions()
    needed: list[str] = []
    todo = spreads(operations[name])
    while todo:
        fragment = todo.pop(0)
        if fragment not in needed:
            needed.append(fragment)
            todo += spreads(fragments[fragment])
    return needed


@cache
def documents() -> dict[str, str]:
    """Operation name -> the operation and its fragments, ready to send."""
    operations, fragments = definitions()
    return {
        name: "\n\n".join([text_of(node), *(text_of(fragments[f]) for f in fragments_used(name))]) + "\n"
        for name, node in operations.items()
    }


class _Missing(Visitor):
    """Collects the fields and types a document names that a schema does not have."""

    def __init__(self, schema: GraphQLSchema) -> None:
        super().__init__()
        self.schema = schema
        self.type_info = TypeInfo(schema)
        self.names: list[str] = []

    def note(self, name: str) -> None:
        if name not in self.names:
            self.names.append(name)

    def enter_field(self, node: FieldNode, *_: object) -> None:
        parent = self.type_info.get_parent_type()
        if parent is not None and self.type_info.get_field_def() is None:
            self.note(f"{parent.name}.{node.name.value}")

    def enter_named_type(self, node: NamedTypeNode, *_: object) -> None:
        if node.name.value not in self.schema.type_map:
            self.note(node.name.value)


def missing_from(schema: GraphQLSchema, operation: str) -> list[str]:
    """What an operation uses that ``schema`` lacks, like `Sprint.burndown` or `ForecastInput`."""
    missing = _Missing(schema)
    visit(parse(documents()[operation]), TypeInfoVisitor(missing.type_info, missing))
    return missing.names
