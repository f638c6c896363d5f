"""The API pointed at a Redis Cluster (REDIS_CLUSTER=true): pushes between two replicas, and the
rate limit, whose counts live on whichever node owns each key."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from api.limits import RateLimiter
from settings import Settings
from subscriptions.channels import member_channel
from tests.support.client import GraphQLClient, transport_ws
from tests.support.cluster import LocalCluster
from tests.support.operations import MEMBER_UPDATED, enroll, purchase
from tests.support.servers import in_process


async def test_a_purchase_on_one_replica_reaches_a_subscriber_on_another_through_the_cluster(
    settings: Settings,
    mongo_uri: str,
    redis_cluster: LocalCluster,
    http: httpx.AsyncClient,
    admin_token: str,
) -> None:
    clustered = settings.model_copy(update={"redis_url": redis_cluster.url, "redis_cluster": True})
    async with in_process(clustered, mongo_uri) as one, in_process(clustered, mongo_uri) as two:
        writer = GraphQLClient(http, two.url, admin_token)
        member = await enroll(writer)
        channel = member_channel(member["id"])
        owner = redis_cluster.owner(channel)
        async with transport_ws(one.ws_url, admin_token) as ws:
            await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
            deadline = time.monotonic() + 10
            while owner.shard_subscribers(channel) != 1:  # the subscription reached its node
                assert time.monotonic() < deadline, "no shard subscription on the owner"
                await asyncio.sleep(0.05)
            await purchase(writer, member["id"], "12.00")
            update = (await ws.next_data())["memberUpdated"]
    assert (update["version"], update["changes"]) == (2, ["POINTS_EARNED"])
    assert update["member"]["balance"]["available"] == 12


async def test_the_rate_limit_counts_each_subject_on_the_node_owning_its_key(
    redis_cluster: LocalCluster,
) -> None:
    # A plain client would get MOVED for the keys of two nodes in three and let those calls
    # through (the limiter fails open); twelve subjects spread over the three nodes.
    limiter = RateLimiter(redis_cluster.url, 3, namespace=uuid.uuid4().hex, cluster=True)
    now = time.time()
    try:
        waits = {
            subject: [await limiter.retry_after(subject, now) for _ in range(5)]
            for subject in (f"subject-{n}" for n in range(12))
        }
    finally:
        await limiter.close()
    for subject, answers in waits.items():
        assert answers[:3] == [None, None, None], subject
        assert all(wait is not None and 1 <= wait <= 60 for wait in answers[3:]), subject
