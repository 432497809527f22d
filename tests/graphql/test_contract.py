"""The served schema, read back by introspection, offers the whole draft contract.

Fields listed in NOT_YET are not served yet and left out, with the types only they use.
"""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_client_schema,
    build_schema,
    get_introspection_query,
    get_named_type,
)
from tests.graphql.conftest import Server

CONTRACT = Path(__file__).parents[2] / "frontend-contract" / "draft" / "storyline.graphql"
NOT_YET: dict[str, set[str]] = {}  # type name -> field names


def fields_of(schema_type: GraphQLNamedType) -> dict[str, object]:
    if isinstance(schema_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
        return {
            name: field
            for name, field in schema_type.fields.items()
            if name not in NOT_YET.get(schema_type.name, set())
        }
    return {}


def required_types(contract: GraphQLSchema) -> set[str]:
    """The contract's types reachable from its roots without the fields not served yet."""
    roots = [t for t in (contract.query_type, contract.mutation_type, contract.subscription_type) if t]
    seen: set[str] = set()
    todo: list[GraphQLNamedType] = list(roots)
    while todo:
        current = todo.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        if isinstance(current, GraphQLObjectType):
            todo += current.interfaces
        if isinstance(current, GraphQLInterfaceType):
            todo += contract.get_implementations(current).objects
        if isinstance(current, GraphQLUnionType):
            todo += current.types
        for field in fields_of(current).values():
            todo.append(get_named_type(field.type))  # type: ignore[attr-defined]
            todo += [get_named_type(arg.type) for arg in getattr(field, "args", {}).values()]
    return seen


def test_served_schema_contains_the_contract(server: Server) -> None:
    contract = build_schema(CONTRACT.read_text())
    response = server.post(get_introspection_query())
    served = build_client_schema(response)
    problems: list[str] = []

    for name in sorted(required_types(contract)):
        wanted, have = contract.type_map[name], served.type_map.get(name)
        if have is None:
            problems.append(f"type {name} is missing")
            continue
        if type(have) is not type(wanted):
            problems.append(f"{name} is a {type(have).__name__}, not a {type(wanted).__name__}")
            continue
        if isinstance(wanted, GraphQLEnumType):
            assert isinstance(have, GraphQLEnumType)
            problems += [f"{name}.{value} is missing" for value in set(wanted.values) - set(have.values)]
        if isinstance(wanted, GraphQLObjectType):
            assert isinstance(have, GraphQLObjectType)
            missing = {i.name for i in wanted.interfaces} - {i.name for i in have.interfaces}
            problems += [f"{name} does not implement {interface}" for interface in missing]
        have_fields = fields_of(have)
        for field_name, field in fields_of(wanted).items():
            served_field = have_fields.get(field_name)
            where = f"{name}.{field_name}"
            if served_field is None:
                problems.append(f"{where} is missing")
                continue
            if str(served_field.type) != str(field.type):  # type: ignore[attr-defined]
                problems.append(f"{where} is {served_field.type}, not {field.type}")  # type: ignore[attr-defined]
            if (
                isinstance(wanted, GraphQLInputObjectType)
                and field.default_value != served_field.default_value
            ):  # type: ignore[attr-defined]
                problems.append(f"{where} defaults to {served_field.default_value}")  # type: ignore[attr-defined]
            served_args = getattr(served_field, "args", {})
            for arg_name, arg in getattr(field, "args", {}).items():
                served_arg = served_args.get(arg_name)
                if served_arg is None:
                    problems.append(f"{where}({arg_name}) is missing")
                elif str(served_arg.type) != str(arg.type) or served_arg.default_value != arg.default_value:
                    problems.append(f"{where}({arg_name}) is {served_arg.type} = {served_arg.default_value}")
            for arg_name, arg in served_args.items():
                if (
                    arg_name not in getattr(field, "args", {})
                    and str(arg.type).endswith("!")
                    and arg.default_value is None
                ):
                    problems.append(f"{where}({arg_name}) is required but not in the contract")

    assert problems == []
    # The roots are the contract's own.
    assert served.query_type and served.mutation_type and served.subscription_type
    assert (served.query_type.name, served.mutation_type.name, served.subscription_type.name) == (
        "Query",
        "Mutation",
        "Subscription",
    )
