"""What a core benchmark run (bench.py) sets up: an ADMIN token, members enrolled through
the API, and the API processes it owns, stopped in reverse order whatever happens.
bench_read_http.py sets up its run with the same three."""

from __future__ import annotations

import asyncio
import json
import random

from bench_http import GraphQLClient
from bench_procs import EmbeddedMongoProcess, ServiceConfig, ServiceProcess, import_service
from bench_stats import describe_counts
from core_config import ENROLL, FIRST_NAMES, HOST, LAST_NAMES, STORE, Doc, say


def admin_token(secret: str) -> str:
    """An ADMIN token signed with this run's AUTH_SECRET (the service refuses to serve a
    database given by MONGODB_URI with the development secret)."""
    auth = import_service("api.auth")
    access = import_service("resolvers.access")
    settings = import_service("settings").Settings(auth_secret=secret)
    token: str = auth.issue(
        settings.auth_secret.get_secret_value(),
        settings.auth_issuer,
        audience=settings.auth_audience,
        subject="bench",
        role=access.Role.ADMIN,
    )
    return token


async def seed_members(port: int, token: str, count: int, clients: int, run: str) -> list[str]:
    ids: list[str | None] = [None] * count
    next_index = 0
    problems: list[str] = []

    async def worker(worker_id: int) -> None:
        nonlocal next_index
        rng = random.Random(worker_id)
        gql = GraphQLClient(HOST, port, token)
        try:
            while next_index < count and not problems:
                i = next_index
                next_index += 1
                data: Doc = {
                    "identifiers": [{"kind": "EMAIL", "value": f"bench-{run}-{i}@example.com"}],
                    "firstName": rng.choice(FIRST_NAMES),
                    "lastName": rng.choice(LAST_NAMES),
                    "channel": "POS",
                    "storeId": STORE,
                    "consents": {"email": True, "push": rng.random() < 0.5},
                }
                if i % 3 == 0:
                    data["birthday"] = f"19{70 + i % 30}-0{1 + i % 9}-1{i % 10}"
                answer = await gql.execute(ENROLL, {"input": data})
                payload = answer["data"]["enrollMember"]
                if payload["userErrors"] or payload["member"] is None:
                    problems.append(json.dumps(payload["userErrors"]))
                    return
                ids[i] = payload["member"]["id"]
        finally:
            await gql.close()

    await asyncio.gather(*(worker(w) for w in range(clients)))
    if problems:
        raise RuntimeError(f"enrollMember returned userErrors: {problems[0]}")
    return [i for i in ids if i is not None]


class Owned:
    """Processes started by this run, stopped in reverse order whatever happens."""

    def __init__(self) -> None:
        self.services: list[ServiceProcess] = []
        self.mongo: EmbeddedMongoProcess | None = None

    def stop_all(self) -> None:
        while self.services:
            service = self.services.pop()
            service.stop()
        if self.mongo is not None:
            self.mongo.stop()
            self.mongo = None


def start_service(owned: Owned, config: ServiceConfig) -> ServiceProcess:
    service = ServiceProcess(config)
    owned.services.append(service)
    seconds = service.start()
    say(
        f"\nAPI server [{config.label}] pid {service.pid} on 127.0.0.1:{service.port}, "
        f"bus {'Redis ' + config.redis_url if config.redis_url else 'in-memory'}, "
        f"ready after {seconds:.1f} s"
    )
    return service


def stop_service(owned: Owned, service: ServiceProcess) -> None:
    code = service.stop()
    owned.services.remove(service)
    problems = service.log_problems()
    say(
        f"API server [{service.config.label}] stopped (exit {code}); logged problems: "
        f"{describe_counts(problems)}; log {service.log_path}"
    )
