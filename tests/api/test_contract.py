"""The served schema contains every type, field, argument and enum value of the contract,
with the same types and defaults. It may add more; it may not lack or change anything."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    ast_from_value,
    build_schema,
    find_breaking_changes,
    print_ast,
)

from schema.build import build_schema as build_served

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "contract" / "schema.graphql"


def default_of(arg: GraphQLArgument) -> object:
    """An argument's default as a printed literal, however the schema was built.

    A nullable argument without a default and one defaulting to null mean the same: None.
    """
    if arg.default_value is not Undefined:
        printed = print_ast(ast_from_value(arg.default_value, arg.type))  # type: ignore[arg-type]
        return None if printed == "null" else printed
    default = getattr(arg, "default", None)
    if default is None:
        return None
    literal = getattr(default, "literal", Undefined)
    if literal is not Undefined:
        return print_ast(literal)
    return print_ast(ast_from_value(default.value, arg.type))  # type: ignore[arg-type]


def contract_differences(contract: GraphQLSchema, served: GraphQLSchema) -> list[str]:
    problems: list[str] = []
    for name, wanted in contract.type_map.items():
        if name.startswith("__"):
            continue
        have = served.type_map.get(name)
        if have is None:
            problems.append(f"type {name} is missing")
            continue
        if not isinstance(have, type(wanted)):
            problems.append(f"type {name} is a {type(have).__name__}, not {type(wanted).__name__}")
            continue
        if isinstance(wanted, GraphQLEnumType):
            assert isinstance(have, GraphQLEnumType)
            for value in wanted.values:
                if value not in have.values:
                    problems.append(f"enum value {name}.{value} is missing")
        if isinstance(wanted, GraphQLObjectType | GraphQLInterfaceType):
            assert isinstance(have, GraphQLObjectType | GraphQLInterfaceType)
            for interface in wanted.interfaces:
                if interface.name not in {i.name for i in have.interfaces}:
                    problems.append(f"{name} does not implement {interface.name}")
        if isinstance(wanted, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            assert isinstance(
                have, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType
            )
            for field_name, field in wanted.fields.items():
                served_field = have.fields.get(field_name)
                if served_field is None:
                    problems.append(f"field {name}.{field_name} is missing")
                    continue
                if str(served_field.type) != str(field.type):
                    problems.append(
                        f"field {name}.{field_name} is {served_field.type}, not {field.type}"
                    )
                for arg_name, arg in getattr(field, "args", {}).items():
                    served_arg = served_field.args.get(arg_name)  # type: ignore[union-attr]
                    where = f"argument {name}.{field_name}({arg_name})"
                    if served_arg is None:
                        problems.append(f"{where} is missing")
                        continue
                    if str(served_arg.type) != str(arg.type):
                        problems.append(f"{where} is {served_arg.type}, not {arg.type}")
                    if default_of(served_arg) != default_of(arg):
                        problems.append(
                            f"{where} defaults to {default_of(served_arg)!r}, "
                            f"not {default_of(arg)!r}"
                        )
                for arg_name in set(getattr(served_field, "args", {})) - set(
                    getattr(field, "args", {})
                ):
                    if str(served_field.args[arg_name].type).endswith("!"):  # type: ignore[union-attr]
                        problems.append(f"{name}.{field_name} adds required argument {arg_name}")
            if isinstance(wanted, GraphQLInputObjectType):
                for extra in set(have.fields) - set(wanted.fields):
                    if str(have.fields[extra].type).endswith("!"):
                        problems.append(f"input {name} adds required field {extra}")
    return problems


@pytest.fixture(scope="module")
def served() -> GraphQLSchema:
    return build_served()._schema


@pytest.fixture(scope="module")
def contract() -> GraphQLSchema:
    return build_schema(CONTRACT.read_text())


def test_served_schema_contains_the_whole_contract(
    contract: GraphQLSchema, served: GraphQLSchema
) -> None:
    assert contract_differences(contract, served) == []


def test_graphql_core_finds_no_breaking_change(
    contract: GraphQLSchema, served: GraphQLSchema
) -> None:
    assert [
        f"{c.type.name}: {c.description}" for c in find_breaking_changes(contract, served)
    ] == []


def test_the_comparison_notices_a_missing_field(contract: GraphQLSchema) -> None:
    """The checker itself can fail: a schema lacking one field and one enum value is caught."""
    edited = re.sub(r"\n\s*pointsToNext: Int[^\n]*", "", CONTRACT.read_text())
    edited = edited.replace("enum Role { MEMBER POS AGENT ADMIN SERVICE }", "enum Role { MEMBER }")
    edited = edited.replace("activity(first: Int = 20", "activity(first: Int = 10")
    problems = contract_differences(contract, build_schema(edited))
    assert "field TierStatus.pointsToNext is missing" in problems
    assert "enum value Role.POS is missing" in problems
    assert "argument Member.activity(first) defaults to '10', not '20'" in problems


def test_every_type_and_field_has_a_description(served: GraphQLSchema) -> None:
    """Documented for the support agent in GraphiQL: root fields carry descriptions."""
    for root in (served.query_type, served.mutation_type, served.subscription_type):
        assert root is not None
        missing = [n for n, f in root.fields.items() if not f.description]
        assert missing == [], f"{root.name} fields without a description: {missing}"


def test_every_type_field_and_enum_value_has_a_description(served: GraphQLSchema) -> None:
    """The docs explorer documents the whole graph: types, fields, input fields, enum values."""
    builtin = {"String", "Int", "Float", "Boolean", "ID"}
    missing: list[str] = []
    for name, kind in served.type_map.items():
        if name.startswith("__") or name in builtin:
            continue
        if not kind.description:
            missing.append(name)
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, field in kind.fields.items() if not field.description]
        if isinstance(kind, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in kind.values.items() if not value.description]
    assert missing == []


def test_the_description_table_names_only_what_exists(served: GraphQLSchema) -> None:
    """A table entry for a renamed or removed field would silently document nothing."""
    from schema.descriptions import ENUM_VALUES, FIELDS, TYPES

    assert [name for name in TYPES if name not in served.type_map] == []
    assert [
        f"{enum}.{value}"
        for enum, values in ENUM_VALUES.items()
        for value in values
        if value not in getattr(served.type_map.get(enum), "values", {})
    ] == []
    stale = []
    for key in FIELDS:
        type_name, field_name = key.split(".")
        kind = served.type_map.get(type_name)
        if field_name not in getattr(kind, "fields", {}):
            stale.append(key)
    assert stale == []
