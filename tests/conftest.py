"""Fixtures of the API tests: one embedded Mongo-wire server per run, a real Redis, and the
API served on real sockets."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from db.embedded import EmbeddedMongo
from settings import Settings
from tests.support.client import GraphQLClient, token
from tests.support.cluster import LocalCluster, cluster_support, local_cluster
from tests.support.servers import REDIS_URL, TEST_KEYS, TEST_LIMITS, InProcessServer, in_process

# Every log line of the run is searched for tokens, keys and full identifiers at the end.
pytest_plugins = ["tests.support.log_scan"]


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), 0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def mongo_uri() -> Iterator[str]:
    with EmbeddedMongo(":memory:") as embedded:
        yield embedded.uri


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not _redis_answers():
        pytest.fail("no Redis on 127.0.0.1:6379 (.ci/run starts one; or run redis-server)")
    return REDIS_URL


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A Redis Cluster of three primaries of the tests' own, started when a test first asks."""
    missing = cluster_support()
    if missing:
        pytest.skip(f"cannot start a Redis Cluster here: {missing}")
    with local_cluster(tmp_path_factory.mktemp("redis-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def settings(redis_url: str) -> Settings:
    return Settings(
        mongodb_database=f"test_{uuid.uuid4().hex[:8]}",
        mongodb_retry_writes=False,
        redis_url=redis_url,
        log_level="WARNING",
        auth_secret=f"test-secret-{uuid.uuid4().hex}",
        encryption_keys=TEST_KEYS["ENCRYPTION_KEYS"],
        lookup_key=TEST_KEYS["LOOKUP_KEY"],
        rate_limit_per_minute=int(TEST_LIMITS["RATE_LIMIT_PER_MINUTE"]),
        # The scheduled jobs run only when a test runs them (tests/api/test_points_jobs.py).
        jobs_interval_seconds=0,
    )


@pytest.fixture(scope="session")
async def server(settings: Settings, mongo_uri: str) -> AsyncIterator[InProcessServer]:
    async with in_process(settings, mongo_uri) as running:
        yield running


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends them: reusing one the
    # server is closing at that moment fails the request with a ReadError.
    limits = httpx.Limits(max_connections=200, keepalive_expiry=2)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        yield client


@pytest.fixture(scope="session")
def admin_token(settings: Settings) -> str:
    return token(settings)


@pytest.fixture
def client(server: InProcessServer, http: httpx.AsyncClient, admin_token: str) -> GraphQLClient:
    return GraphQLClient(http, server.url, admin_token)
