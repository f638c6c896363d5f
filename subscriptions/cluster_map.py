"""Which node of a Redis Cluster serves a channel: the slot map, as CLUSTER SHARDS tells it.

A shard channel lives on the primary owning the hash slot of its name, like a key does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot


def channel_slot(channel: str) -> int:
    return key_slot(channel.encode())


@dataclass(frozen=True)
class SlotMap:
    """The primary ("host:port") owning each slot; "" where no node serves the slot."""

    owners: tuple[str, ...]

    def owner(self, channel: str) -> str | None:
        return self.owners[channel_slot(channel)] or None

    @property
    def primaries(self) -> frozenset[str]:
        return frozenset(owner for owner in self.owners if owner)


def address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def node_url(seed_url: str, node: str) -> str:
    """The seed URL (scheme, credentials, options) pointed at another node."""
    parts = urlsplit(seed_url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{node}" if userinfo else node
    # A cluster has only database 0: the path is dropped.
    return urlunsplit((parts.scheme, netloc, "", parts.query, ""))


def seed_address(seed_url: str) -> str:
    parts = urlsplit(seed_url)
    return address(parts.hostname or "127.0.0.1", parts.port or 6379)


def slot_map_from_shards(shards: Iterable[Any], *, tls: bool = False) -> SlotMap:
    """Parse a CLUSTER SHARDS reply (RESP2 pairs or the dicts redis-py makes of them)."""
    owners = [""] * REDIS_CLUSTER_HASH_SLOTS
    for shard in shards:
        fields = _fields(shard)
        nodes = [_fields(node) for node in fields.get("nodes", ())]
        primaries = [n for n in nodes if _text(n.get("role")) == "master"]
        if not primaries:
            continue
        # Around a failover a shard may list the failed primary beside the promoted one.
        online = [n for n in primaries if _text(n.get("health")) == "online"]
        primary = (online or primaries)[0]
        owner = _node_address(primary, tls=tls)
        bounds = [int(b) for b in fields.get("slots", ())]
        for low, high in zip(bounds[::2], bounds[1::2], strict=True):
            owners[low : high + 1] = [owner] * (high - low + 1)
    return SlotMap(tuple(owners))


def _node_address(node: Mapping[str, Any], *, tls: bool) -> str:
    # The endpoint is what the node announces to clients; "?" or empty means unknown.
    endpoint = _text(node.get("endpoint"))
    host = endpoint if endpoint not in ("", "?") else _text(node.get("ip"))
    port = node.get("tls-port") if tls and node.get("tls-port") else node.get("port")
    return address(host, int(port or 0))


def _fields(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {_text(k): v for k, v in value.items()}
    items = list(value)
    return {_text(k): v for k, v in zip(items[::2], items[1::2], strict=True)}


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)
