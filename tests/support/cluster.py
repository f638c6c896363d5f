"""A real Redis Cluster for the tests: three redis-server primaries on spare ports, joined with
`redis-cli --cluster create`, each node stoppable and restartable on its own."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.support.redis_server import start_redis_server, stop_redis_server


def cluster_support() -> str | None:
    """None when redis-server and redis-cli can build a cluster here, else why not."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        return "redis-server or redis-cli is not installed"
    version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=False
    ).stdout
    # "Redis server v=7.0.15 ...": sharded pub/sub (SSUBSCRIBE) and cluster-port came with 7.0.
    try:
        major = int(version.split("v=", 1)[1].split(".", 1)[0])
    except (IndexError, ValueError):
        return f"cannot read the redis-server version from {version!r}"
    if major < 7:
        return f"redis-server {version.strip()} predates sharded pub/sub (Redis 7)"
    return None


def distinct_free_ports(count: int) -> list[int]:
    """Ports free right now and all different: each is held until every one is chosen (taken
    one after another, a released port can come back twice)."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


class ClusterNode:
    """One primary: its client port, its cluster-bus port and its own directory (nodes.conf), so
    a restarted node comes back with the same identity and slots."""

    def __init__(self, directory: Path, port: int, bus_port: int) -> None:
        self.port = port
        # Set explicitly: the default (port + 10000) may be taken or past 65535.
        self.bus_port = bus_port
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = start_redis_server(
            self.port,
            "--cluster-enabled",
            "yes",
            "--cluster-port",
            str(self.bus_port),
            "--cluster-config-file",
            "nodes.conf",
            # Quick failure detection; a dead primary without replica leaves its slots
            # unserved and the rest of the cluster keeps serving the other slots.
            "--cluster-node-timeout",
            "2000",
            "--cluster-require-full-coverage",
            "no",
            "--dir",
            str(self.directory),
        )

    def stop(self) -> None:
        stop_redis_server(self.process)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def node_id(self) -> str:
        return self.cli("cluster", "myid").strip()

    def shard_subscribers(self, channel: str) -> int:
        """Connections of this node subscribed to `channel` with SSUBSCRIBE."""
        return int(self.cli("pubsub", "shardnumsub", channel).split()[1])

    def cli(self, *args: str) -> str:
        return subprocess.run(
            ["redis-cli", "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout

    def state_ok(self) -> bool:
        try:
            return "cluster_state:ok" in self.cli("cluster", "info")
        except (subprocess.SubprocessError, OSError):
            return False


class LocalCluster:
    """Three primaries, no replicas: every slot has exactly one owner."""

    def __init__(self, directory: Path, size: int = 3) -> None:
        ports = distinct_free_ports(2 * size)
        self.nodes = [
            ClusterNode(directory / f"node{n}", ports[2 * n], ports[2 * n + 1]) for n in range(size)
        ]

    @property
    def url(self) -> str:
        """A seed URL: any one node leads the client to the others."""
        return f"redis://{self.nodes[0].address}"

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        # redis-cli makes a "cluster" of two nodes out of three addresses if two are one node.
        if len({node.node_id() for node in self.nodes}) != len(self.nodes):
            raise RuntimeError("two cluster nodes answer as one")
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(node.address for node in self.nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )
        self.wait_ok()

    def wait_ok(self, timeout: float = 30) -> None:
        """Until every node says cluster_state:ok (gossip has spread the slot map)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(node.state_ok() for node in self.nodes):
                return
            time.sleep(0.1)
        raise TimeoutError("the Redis Cluster did not reach cluster_state:ok")

    def owner(self, channel: str) -> ClusterNode:
        """The node serving the slot of `channel`, as a live node of the cluster answers it."""
        asked = next(n for n in self.nodes if n.running)
        slot = int(asked.cli("cluster", "keyslot", channel))
        for line in asked.cli("cluster", "nodes").splitlines():
            fields = line.split()
            port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
            for spec in fields[8:]:
                low, _, high = spec.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    return next(n for n in self.nodes if n.port == port)
        raise LookupError(f"no node serves slot {slot}")

    def channel_on(self, node: ClusterNode, name: Callable[[], str]) -> str:
        """A fresh channel (made by `name`) whose slot `node` serves."""
        for _ in range(200):
            channel = name()
            if self.owner(channel) is node:
                return channel
        views = [f"{n.address}:\n{n.cli('cluster', 'nodes')}" for n in self.nodes if n.running]
        raise LookupError(f"no channel for {node.address}; the nodes' views:\n" + "\n".join(views))

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@contextlib.contextmanager
def local_cluster(directory: Path) -> Iterator[LocalCluster]:
    cluster = LocalCluster(directory)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
