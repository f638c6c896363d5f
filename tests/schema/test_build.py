"""The assembled schema: its limits hold, and parse and validation results are reused."""

from __future__ import annotations

from argparse import Namespace

import pytest
from strawberry.extensions import ValidationCache

from api.app import load_program
from resolvers.access import Role, Viewer
from schema.build import CACHE_SIZE, MAX_ALIASES, MAX_TOKENS, build_schema
from settings import Settings

# Enough context for the fields asked here: a viewer and the program.
CONTEXT = Namespace(
    viewer=Viewer("test", Role.ADMIN),
    request_id="test",
    services=Namespace(program=load_program(Settings().program_file)),
)


def _validation_cache_info(schema: object) -> object:
    for factory in schema.extensions:  # type: ignore[attr-defined]
        extension = factory()
        if isinstance(extension, ValidationCache):
            return extension.cached_validate_document.cache_info()  # type: ignore[attr-defined]
    raise AssertionError("the schema has no ValidationCache")


async def test_a_repeated_query_is_validated_once() -> None:
    schema = build_schema(max_depth=12)
    query = "query RepeatedForTheCache { __typename }"
    before = _validation_cache_info(schema)
    for _ in range(5):
        result = await schema.execute(query, context_value=CONTEXT)
        assert result.errors is None
    after = _validation_cache_info(schema)
    # One miss for the first run, a hit for each of the four after it.
    assert after.misses - before.misses == 1  # type: ignore[attr-defined]
    assert after.hits - before.hits == 4  # type: ignore[attr-defined]
    assert after.maxsize == CACHE_SIZE  # type: ignore[attr-defined]


@pytest.mark.parametrize("max_depth, refused", [(2, False), (1, True)])
async def test_the_depth_limit_still_refuses_deep_queries(max_depth: int, refused: bool) -> None:
    schema = build_schema(max_depth=max_depth)
    result = await schema.execute("{ program { tiers { name } } }", context_value=CONTEXT)
    if not refused:
        assert result.errors is None
    depth_errors = [e for e in result.errors or [] if "exceeds maximum operation depth" in str(e)]
    assert bool(depth_errors) is refused


async def test_the_alias_limit_still_refuses_too_many_aliases() -> None:
    schema = build_schema()
    allowed = " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES))
    too_many = " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES + 1))
    ok = await schema.execute("{ " + allowed + " }", context_value=CONTEXT)
    refused = await schema.execute("{ " + too_many + " }", context_value=CONTEXT)
    assert ok.errors is None
    assert refused.errors and "aliases found" in str(refused.errors[0])


async def test_the_token_limit_refuses_a_document_too_long_to_parse() -> None:
    schema = build_schema()
    # "{", "}" and one word per field: MAX_TOKENS tokens in all, then one more field's worth
    fits = "{ " + " ".join(["__typename"] * (MAX_TOKENS - 2)) + " }"
    over = "{ " + " ".join(["__typename"] * (MAX_TOKENS - 1)) + " }"
    # (so many fields fail validation; what matters is that it got that far)
    parsed = await schema.execute(fits, context_value=CONTEXT)
    assert "tokens" not in str(parsed.errors)
    refused = await schema.execute(over, context_value=CONTEXT)
    assert refused.errors and "more than 5000 tokens" in str(refused.errors[0])
