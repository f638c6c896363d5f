"""Phase (c) of the core benchmark (bench.py): recordPurchase through GraphQL against the
driver's own transaction on copies of the same members, and a check that every acknowledged
purchase was written once."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from bench_http import GraphQLClient
from bench_stats import LoadResult, describe_counts
from core_config import DATABASE, HOST, PURCHASE, STORE, Doc, Params, say
from core_measure import Meter, compare, measured
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession


@dataclass
class WriteFigures:
    api: LoadResult
    floor: LoadResult
    floor_retries: int
    consistency: str


async def bench_writes(
    p: Params,
    port: int,
    token: str,
    ids: list[str],
    client: AsyncMongoClient[Doc],
    meter: Meter,
    run: str,
) -> WriteFigures:
    n = p.write_clients
    k = p.write_members_per_client
    owned = [ids[i * k : (i + 1) * k] for i in range(n)]
    say(
        f"\n(c) recordPurchase, {n} concurrent clients, each on its own {k} members, "
        f"{p.write_seconds:g} s each after a {p.warmup_seconds:g} s warm-up"
    )
    db = client[DATABASE]
    start_versions = {
        d["_id"]: d["version"]
        async for d in db["members"].find({"_id": {"$in": [m for o in owned for m in o]}})
    }
    successes: dict[str, int] = dict.fromkeys(start_versions, 0)
    clients = [GraphQLClient(HOST, port, token) for _ in range(n)]
    counters = [0] * n
    user_errors: dict[str, int] = {}

    async def graphql_purchase(i: int) -> bool:
        counters[i] += 1
        member_id = owned[i][counters[i] % k]
        key = f"{run}-c{i}-{counters[i]}"
        variables = {
            "input": {
                "memberId": member_id,
                "amount": "12.50",
                "currencyCode": "EUR",
                "channel": "POS",
                "storeId": STORE,
                "orderId": f"order-{key}",
                "idempotencyKey": key,
            }
        }
        status, body = await clients[i].execute_raw(PURCHASE, variables)
        if status != 200:
            return False
        decoded = json.loads(body)
        payload = (decoded.get("data") or {}).get("recordPurchase")
        if decoded.get("errors") or payload is None:
            return False
        if payload["userErrors"]:
            code = payload["userErrors"][0]["code"]
            user_errors[code] = user_errors.get(code, 0) + 1
            return False
        successes[member_id] += 1
        return True

    # The floor works on copies of the same member documents, in collections of its own with
    # the ledger's indexes, so the service's data stays as the service wrote it.
    floor_members = db["floor_members"]
    floor_ledger = db["floor_ledger"]
    await floor_members.drop()
    await floor_ledger.drop()
    await floor_ledger.create_indexes(
        [
            IndexModel([("memberId", ASCENDING), ("seq", DESCENDING)], name="member_seq"),
            IndexModel([("memberId", ASCENDING), ("orderId", ASCENDING)], name="member_order"),
        ]
    )
    copies = [d async for d in db["members"].find({"_id": {"$in": list(start_versions)}})]
    await floor_members.insert_many(copies)
    floor_counters = [0] * n
    attempts = [0]
    commits = [0]

    async def driver_purchase(i: int) -> bool:
        floor_counters[i] += 1
        member_id = owned[i][floor_counters[i] % k]
        points = 12
        now = datetime.now(UTC)

        async def transaction(session: AsyncClientSession) -> None:
            attempts[0] += 1
            result = await floor_members.update_one(
                {"_id": member_id},
                {
                    "$inc": {
                        "version": 1,
                        "balance.available": points,
                        "balance.lifetime": points,
                        "tier.qualifyingPoints": points,
                    },
                    "$set": {"lastActivityAt": now},
                },
                session=session,
            )
            if result.matched_count != 1:
                raise RuntimeError(f"floor member {member_id} missing")
            await floor_ledger.insert_one(
                {
                    "_id": f"led_{secrets.token_hex(12)}",
                    "memberId": member_id,
                    "seq": floor_counters[i],
                    "kind": "EARN",
                    "points": points,
                    "channel": "POS",
                    "storeId": STORE,
                    "description": "Purchase",
                    "occurredAt": now,
                    "recordedAt": now,
                    "status": "AVAILABLE",
                    "actor": "bench",
                    "orderId": f"floor-{run}-{i}-{floor_counters[i]}",
                },
                session=session,
            )

        async with client.start_session() as session:
            await session.with_transaction(transaction)
        commits[0] += 1
        return True

    w = p.warmup_seconds
    try:
        api = await measured(
            "GraphQL recordPurchase", n, p.write_seconds, w, graphql_purchase, meter
        )
        if user_errors:
            say(f"  ! userErrors: {describe_counts(user_errors)}")
        floor = await measured(
            "driver txn update_one $inc + insert_one",
            n,
            p.write_seconds,
            w,
            driver_purchase,
            meter,
        )
        compare("GraphQL/driver", api, floor)
        say(
            f"  driver transactions: {attempts[0]} callback runs for {commits[0]} commits "
            f"(warm-up included): {attempts[0] - commits[0]} retried by with_transaction"
        )
    finally:
        for c in clients:
            await c.close()

    # Every acknowledged purchase raised its member's version by one and wrote one entry.
    problems: list[str] = []
    async for d in db["members"].find({"_id": {"$in": list(start_versions)}}):
        raised = d["version"] - start_versions[d["_id"]]
        if raised != successes[d["_id"]]:
            problems.append(f"{d['_id']}: version +{raised}, {successes[d['_id']]} acknowledged")
    entries = await db["ledger"].count_documents({"memberId": {"$in": list(start_versions)}})
    acknowledged = sum(successes.values())
    consistency = (
        f"{acknowledged} acknowledged purchases (warm-up included), member versions "
        + ("match" if not problems else f"DO NOT match: {problems[:3]}")
        + f", {entries} ledger entries for these members"
    )
    say(f"  check: {consistency}")
    return WriteFigures(api, floor, attempts[0] - commits[0], consistency)
