"""The served schema, read back by introspection, offers the whole draft contract.

PENDING lists the parts of the draft that are not served yet, exactly: the test fails both when something
else is missing and when a listed part is in fact served (then delete its line).
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
PENDING: set[str] = set()


def fields_of(schema_type: GraphQLNamedType) -> dict[str, object]:
    if isinstance(schema_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
        return dict(schema_type.fields)
    return {}


def required_types(contract: GraphQLSchema) -> set[str]:
    """The contract's types reachable from its roots."""
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
    served = build_client_schema(server.post(get_introspection_query()))
    assert sorted(set(contract_problems(served)) - PENDING) == []
    assert sorted(PENDING - set(contract_problems(served))) == [], "served now: delete from PENDING"
    # The roots are the contract's own.
    assert served.query_type and served.mutation_type and served.subscription_type
    assert (served.query_type.name, served.mutation_type.name, served.subscription_type.name) == (
        "Query",
        "Mutation",
        "Subscription",
    )


def contract_problems(served: GraphQLSchema) -> list[str]:
    contract = build_schema(CONTRACT.read_text())
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

    return problems
