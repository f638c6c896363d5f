"""Query cost: every field costs 1, and a field taking `first` costs its selection `first`
times, so a list of lists is priced by what it can return, not by how short it looks.

Computed before execution from the document and the request's variables (a `first` given as a
variable is priced at its value). A list field whose `first` is left out is priced once: the
graph's defaults are 20 at most and its other lists (identifiers, tiers, rewards) are short.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension

MAX_COST = 10_000
DEFAULT_FIRST = 20  # the graph's connections default to 20


def _first(field: FieldNode, variables: Mapping[str, Any]) -> int | None:
    for argument in field.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return max(int(value.value), 0)
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
            return max(given, 0) if isinstance(given, int) else DEFAULT_FIRST
        return DEFAULT_FIRST
    return None


def cost(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    seen: frozenset[str] = frozenset(),
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            inner = cost(selection.selection_set, fragments, variables, seen)
            first = _first(selection, variables)
            total += 1 + (inner * first if first is not None else inner)
        elif isinstance(selection, InlineFragmentNode):
            total += cost(selection.selection_set, fragments, variables, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:  # cycles are a validation error
                total += cost(fragment.selection_set, fragments, variables, seen | {name})
        if total > MAX_COST:
            return total  # priced enough to refuse; stop walking a hostile document
    return total


class QueryCost(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            variables = context.variables or {}
            for definition in document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                if context.operation_name and (
                    definition.name is None or definition.name.value != context.operation_name
                ):
                    continue
                price = cost(definition.selection_set, fragments, variables)
                if price > MAX_COST:
                    context.result = ExecutionResult(
                        data=None,
                        errors=[
                            GraphQLError(
                                f"query cost {price} is over {MAX_COST}: ask for fewer items",
                                extensions={"code": "BAD_REQUEST"},
                            )
                        ],
                    )
                    break
        yield
