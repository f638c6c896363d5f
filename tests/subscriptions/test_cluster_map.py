"""The slot map of a Redis Cluster: read from a real cluster, and the URLs of its nodes."""

from __future__ import annotations

import uuid

from redis import asyncio as aioredis

from subscriptions.channels import member_channel, store_channel
from subscriptions.cluster_map import channel_slot, node_url, slot_map_from_shards
from tests.support.cluster import LocalCluster


async def test_the_map_read_from_the_cluster_names_the_owner_the_cluster_names(
    redis_cluster: LocalCluster,
) -> None:
    client = aioredis.Redis.from_url(redis_cluster.url)
    try:
        slot_map = slot_map_from_shards(await client.cluster("SHARDS"))
    finally:
        await client.aclose()
    assert slot_map.primaries == {node.address for node in redis_cluster.nodes}
    assert all(slot_map.owners)  # every slot is served
    for channel in [member_channel(uuid.uuid4().hex) for _ in range(5)] + [store_channel("s-1")]:
        owner = redis_cluster.owner(channel)
        assert channel_slot(channel) == int(owner.cli("cluster", "keyslot", channel))
        assert slot_map.owner(channel) == owner.address


def _resp2_node(
    port: int, ip: bytes, endpoint: bytes, role: bytes, health: bytes = b"online"
) -> list[object]:
    node = {b"id": b"0" * 40, b"port": port, b"ip": ip, b"endpoint": endpoint, b"role": role}
    return [item for pair in {**node, b"health": health}.items() for item in pair]


def test_a_resp2_reply_maps_each_slot_to_its_online_primary() -> None:
    # CLUSTER SHARDS as Redis 7 sends it over RESP2, before any client-side parsing; the second
    # shard lists a failed primary beside the online one that took over.
    raw = [
        [
            b"slots",
            [0, 99, 200, 16383],
            b"nodes",
            [
                _resp2_node(7001, b"10.0.0.1", b"10.0.0.1", b"master"),
                _resp2_node(7002, b"10.0.0.2", b"?", b"replica"),
            ],
        ],
        [
            b"slots",
            [100, 199],
            b"nodes",
            [
                _resp2_node(7004, b"10.0.0.4", b"10.0.0.4", b"master", b"fail"),
                _resp2_node(7003, b"::1", b"?", b"master"),
            ],
        ],
    ]
    slot_map = slot_map_from_shards(raw)
    assert slot_map.primaries == {"10.0.0.1:7001", "[::1]:7003"}
    assert slot_map.owners[0] == slot_map.owners[99] == slot_map.owners[16383] == "10.0.0.1:7001"
    assert slot_map.owners[100] == slot_map.owners[199] == "[::1]:7003"


def test_a_node_url_keeps_the_scheme_credentials_and_options_of_the_seed() -> None:
    seed = "rediss://bus:secret@cluster.example:6380/0?ssl_cert_reqs=required"
    assert node_url(seed, "10.0.0.5:7001") == (
        "rediss://bus:secret@10.0.0.5:7001?ssl_cert_reqs=required"
    )
    assert node_url("redis://127.0.0.1:7000", "[::1]:7002") == "redis://[::1]:7002"
