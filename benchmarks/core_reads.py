"""Phase (a) of the core benchmark (bench.py): member reads through GraphQL over HTTP against
the driver's find_one of the same documents, where the time goes, and whether validation
results are reused."""

from __future__ import annotations

import argparse
import functools
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

from bench_http import GraphQLClient, HttpConnection
from bench_procs import import_service
from bench_stats import LoadResult
from core_config import HOST, MEMBER_ID_ONLY, MEMBER_READ, PURCHASE, TYPENAME, Doc, Params, say
from core_measure import Meter, compare, measured
from pymongo.asynchronous.collection import AsyncCollection


@dataclass
class ReadFigures:
    api: LoadResult
    floor: LoadResult
    stack: list[LoadResult] = field(default_factory=list)


async def bench_reads(
    p: Params,
    port: int,
    token: str,
    ids: list[str],
    members: AsyncCollection[Doc],
    meter: Meter,
) -> ReadFigures:
    n = p.read_clients
    say(
        f"\n(a) member read, {n} concurrent clients, {p.read_seconds:g} s each after a "
        f"{p.warmup_seconds:g} s warm-up, random member of {len(ids)} per request"
    )
    clients = [GraphQLClient(HOST, port, token) for _ in range(n)]
    plain = [HttpConnection(HOST, port) for _ in range(n)]
    rngs = [random.Random(1000 + i) for i in range(n)]

    # Sanity: the GraphQL answer and the driver's document describe the same member.
    probe = ids[0]
    answer = (await clients[0].execute(MEMBER_READ, {"id": probe}))["data"]["member"]
    document = await members.find_one({"_id": probe})
    if answer is None or document is None or answer["version"] != document["version"]:
        raise RuntimeError(f"GraphQL and the driver disagree on {probe}: {answer} / {document}")

    async def healthz(i: int) -> bool:
        status, _ = await plain[i].request("GET", "/healthz")
        return status == 200

    async def typename(i: int) -> bool:
        status, body = await clients[i].execute_raw(TYPENAME, {})
        return status == 200 and b'"errors"' not in body

    async def member_id_only(i: int) -> bool:
        member_id = rngs[i].choice(ids)
        status, body = await clients[i].execute_raw(MEMBER_ID_ONLY, {"id": member_id})
        return status == 200 and member_id.encode() in body and b'"errors"' not in body

    async def graphql_read(i: int) -> bool:
        member_id = rngs[i].choice(ids)
        status, body = await clients[i].execute_raw(MEMBER_READ, {"id": member_id})
        if status != 200:
            return False
        decoded = json.loads(body)
        member = (decoded.get("data") or {}).get("member")
        return not decoded.get("errors") and member is not None and member["id"] == member_id

    async def driver_read(i: int) -> bool:
        member_id = rngs[i].choice(ids)
        document = await members.find_one({"_id": member_id})
        return document is not None and document["_id"] == member_id

    w = p.warmup_seconds
    try:
        api = await measured(
            "GraphQL member(id) {profile balance tier}", n, p.read_seconds, w, graphql_read, meter
        )
        floor = await measured("driver find_one({_id})", n, p.read_seconds, w, driver_read, meter)
        compare("GraphQL/driver", api, floor)
        say("  where the time goes (same clients, shorter runs):")
        short = min(1.0, w)
        stack = [
            await measured(
                "GET /healthz (HTTP stack only)", n, p.stack_seconds, short, healthz, meter
            ),
            await measured(
                "GraphQL { __typename } (no data)", n, p.stack_seconds, short, typename, meter
            ),
            await measured(
                "GraphQL member(id) { id } (one read)",
                n,
                p.stack_seconds,
                short,
                member_id_only,
                meter,
            ),
        ]
    finally:
        for c in clients:
            await c.close()
        for h in plain:
            await h.close()
    say(await validation_diagnostic())
    return ReadFigures(api, floor, stack)


async def validation_diagnostic(rounds: int = 200) -> str:
    """In this process (the server is not touched): are validation results reused?

    Executes `{ __typename }` on schema.build.build_schema() and reads the hit counter of the
    schema's strawberry ValidationCache; then the same with the rule classes of
    QueryDepthLimiter and MaxAliasesLimiter created once instead of per request (patched here
    for the measurement and restored); then times graphql-core's validate() of the two
    documents the benchmark sends most. Times are this thread's CPU time, so other processes
    taking the core do not inflate them. Internal APIs: any failure prints n/a.
    """
    try:
        build = import_service("schema.build").build_schema
        graphql = import_service("graphql")
        cache_module = import_service("strawberry.extensions.validation_cache")
        limiters = [
            import_service("strawberry.extensions.query_depth_limiter"),
            import_service("strawberry.extensions.max_aliases"),
        ]
        context = argparse.Namespace(viewer=object(), request_id="bench")

        async def executions(schema: Any) -> str:
            caches = [
                e.cached_validate_document
                for e in (factory() for factory in schema.extensions)
                if isinstance(e, cache_module.ValidationCache)
            ]
            if not caches:
                return "the schema has no ValidationCache"
            before = caches[0].cache_info()
            began = time.thread_time()
            for _ in range(rounds):
                result = await schema.execute(TYPENAME, context_value=context)
                if result.errors:
                    raise RuntimeError(str(result.errors))
            each = (time.thread_time() - began) / rounds
            after = caches[0].cache_info()
            return (
                f"ValidationCache hits {after.hits - before.hits} / misses "
                f"{after.misses - before.misses} over {rounds} executions of "
                f"{{ __typename }}, {each * 1000:.2f} ms CPU each"
            )

        served = await executions(build())
        originals = [m.create_validator for m in limiters]
        try:
            for module, original in zip(limiters, originals, strict=True):
                module.create_validator = functools.cache(original)
            stable = await executions(build())
        finally:
            for module, original in zip(limiters, originals, strict=True):
                module.create_validator = original
        schema = build()
        timings = []
        for label, text in (("member read", MEMBER_READ), ("recordPurchase", PURCHASE)):
            document = graphql.parse(text)
            began = time.thread_time()
            for _ in range(rounds // 2):
                graphql.validate(schema._schema, document)
            timings.append(f"{label} {(time.thread_time() - began) / (rounds // 2) * 1000:.2f} ms")
    except Exception as exc:
        return f"  validation diagnostic: n/a ({type(exc).__name__}: {exc})"
    return (
        "  validation diagnostic (in the benchmark process, not the server):\n"
        f"    schema.build.build_schema() as served: {served}\n"
        f"    same, limiter rule classes created once (patched here only): {stable}\n"
        f"    graphql validate() alone, CPU per call: {', '.join(timings)}"
    )
