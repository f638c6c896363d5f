"""/metrics as an operator scrapes it, and the one JSON log line per GraphQL request."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from api.logs import JsonFormatter, request_id_var
from telemetry.metrics import job_run, operation_label
from tests.support.client import GraphQLClient, transport_ws
from tests.support.operations import MEMBER_UPDATED, enroll, purchase
from tests.support.servers import InProcessServer


async def scrape(http: httpx.AsyncClient, server: InProcessServer) -> dict[str, float]:
    """Every sample as 'name{label="value",...}' -> value."""
    response = await http.get(f"{server.url}/metrics")
    assert response.status_code == 200
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


async def test_latency_per_operation_name_and_errors_by_code(
    server: InProcessServer, http: httpx.AsyncClient, client: GraphQLClient
) -> None:
    count = 'graphql_request_duration_seconds_count{operation="MetricsProbe",type="query"}'
    not_found = 'graphql_errors_total{code="NOT_FOUND",kind="user"}'
    unauthenticated = 'graphql_errors_total{code="UNAUTHENTICATED",kind="graphql"}'
    before = await scrape(http, server)
    await client.data("query MetricsProbe { program { name } }")
    await client.data("query MetricsProbe { program { name } }")
    missing = await purchase(client, "mbr_doesnotexist", "1.00")
    assert missing["userErrors"][0]["code"] == "NOT_FOUND"
    await client.as_(None).execute("query MetricsProbe { program { name } }")
    after = await scrape(http, server)
    assert after[count] - before.get(count, 0) == 3
    assert after[not_found] - before.get(not_found, 0) == 1
    assert after[unauthenticated] - before.get(unauthenticated, 0) == 1


async def test_open_websockets_subscriptions_db_latency_and_delivery_lag(
    server: InProcessServer, http: httpx.AsyncClient, client: GraphQLClient, admin_token: str
) -> None:
    member = await enroll(client)
    before = await scrape(http, server)
    async with transport_ws(server.ws_url, admin_token) as ws:
        await ws.subscribe(MEMBER_UPDATED, {"id": member["id"]})
        for _ in range(500):  # until the server has started the stream
            if (await scrape(http, server))["subscriptions_open{}"] > before[
                "subscriptions_open{}"
            ]:
                break
            await asyncio.sleep(0.02)
        during = await scrape(http, server)
        await purchase(client, member["id"], "12.00")
        await ws.next_data()
    await asyncio.sleep(0.2)  # the server notices the close
    after = await scrape(http, server)
    assert during["websockets_open{}"] == before["websockets_open{}"] + 1
    assert after["websockets_open{}"] == before["websockets_open{}"]
    lag = "bus_delivery_lag_seconds_count{}"
    assert after[lag] - before.get(lag, 0) >= 1
    find = 'db_command_duration_seconds_count{command="find"}'
    assert after[find] > before.get(find, 0)
    assert after['db_command_duration_seconds_count{command="commitTransaction"}'] > 0


def test_job_runs_are_counted_by_outcome() -> None:
    from prometheus_client import REGISTRY

    def value(outcome: str) -> float:
        labels = {"job": "test-job", "outcome": outcome}
        return REGISTRY.get_sample_value("job_runs_total", labels) or 0.0

    ok, error = value("ok"), value("error")
    with job_run("test-job"):
        pass
    with pytest.raises(ValueError), job_run("test-job"):
        raise ValueError("boom")
    assert (value("ok"), value("error")) == (ok + 1, error + 1)
    assert REGISTRY.get_sample_value("job_last_success_timestamp_seconds", {"job": "test-job"})


def test_operation_labels_stay_bounded() -> None:
    assert operation_label(None) == "anonymous"
    assert operation_label("bad name; drop table") == "other"
    names = {operation_label(f"Generated{i}") for i in range(500)}
    assert "other" in names and len(names) <= 201


async def test_one_json_log_line_per_request_with_its_id_name_and_duration(
    server: InProcessServer,
    http: httpx.AsyncClient,
    admin_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="graphql"):
        response = await http.post(
            f"{server.url}/graphql",
            json={"query": "query LoggedProbe { program { name } }"},
            headers={"authorization": f"Bearer {admin_token}", "x-request-id": "req-log-probe"},
        )
    assert response.status_code == 200
    records = [r for r in caplog.records if getattr(r, "operation", None) == "LoggedProbe"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["event"] == "graphql.request"
    assert line["request_id"] == "req-log-probe"
    assert line["operation_type"] == "query"
    assert line["duration_ms"] > 0
    assert line["error_codes"] == []


async def test_a_socket_logs_under_the_request_id_of_its_handshake(
    server: InProcessServer,
) -> None:
    """WebSockets to /graphql skip the HTTP layers (api/socket_path.py) but keep their id."""
    seen: list[tuple[str, str | None]] = []

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((record.getMessage(), request_id_var.get()))

    grab = Grab(level=logging.INFO)
    logger = logging.getLogger("api")
    logger.addHandler(grab)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        async with connect(
            server.ws_url,
            subprotocols=[Subprotocol("graphql-transport-ws")],
            additional_headers={"x-request-id": "sock-probe-1"},
        ) as ws:
            payload = {"Authorization": "Bearer not-a-token"}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
    finally:
        logger.removeHandler(grab)
        logger.setLevel(previous)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert ("auth.ws_rejected", "sock-probe-1") in seen
