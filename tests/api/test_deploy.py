"""The deployment files: linted and checked here, since no container engine runs on this machine.

The Dockerfile goes through hadolint; docker-compose.yml is validated against the Compose
specification's JSON schema and checked for what the deployment promises; deploy/nginx.conf is run
by a real nginx (where installed) in front of two real `app.py serve` processes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from settings import Settings
from tests.support.client import GraphQLClient, transport_ws
from tests.support.operations import MEMBER_UPDATED, enroll, purchase
from tests.support.servers import ROOT, ServerProcess, free_port

BIN = Path(sys.executable).parent


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), "--failure-threshold", "info", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_slim_non_root_with_a_healthcheck_and_no_embedded_database() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert final_stage.split()[0].endswith("-slim-bookworm")
    user = re.search(r"^USER (\S+)$", final_stage, re.M)
    assert user is not None and user.group(1).split(":")[0] not in ("0", "root")
    assert "HEALTHCHECK" in final_stage and "/healthz" in final_stage
    assert "--no-dev" in dockerfile  # the dev group holds the embedded database
    assert "secantus" not in dockerfile.lower()
    # Every package the service imports is copied into the image.
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {
        "tests",
        "benchmarks",
        "tools",
    }
    copied = set(re.findall(r"^COPY (\w+) \./\1$", final_stage, re.M))
    assert packages <= copied, packages - copied


def test_compose_is_valid_against_the_compose_specification() -> None:
    result = subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            "docker-compose.yml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_a_replica_set_redis_two_replicas_and_a_websocket_proxy() -> None:
    services = compose()["services"]
    mongos = [s for s in services.values() if "--replSet" in (s.get("command") or [])]
    assert len(mongos) == 3
    assert "redis" in services
    apis = [s for name, s in services.items() if name.startswith("api")]
    assert len(apis) == 2
    known = {name.upper() for name in Settings.model_fields}
    for api in apis:
        assert api["build"] == "."
        env = api["environment"]
        assert set(env) <= known, set(env) - known
        assert "replicaSet=rs0" in env["MONGODB_URI"] and env["REDIS_URL"].startswith("redis://")
        assert "${AUTH_SECRET:?" in env["AUTH_SECRET"]  # no default secret ships
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server api1:8000" in nginx and "server api2:8000" in nginx
    assert "proxy_set_header Upgrade $http_upgrade" in nginx
    assert any("deploy/nginx.conf" in v for v in services["proxy"]["volumes"])


def test_every_setting_is_in_the_readme_environment_table() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"| `{name.upper()}`" in readme or f"`{name.upper()}`," in readme, name


@pytest.fixture
def proxied_replicas(
    settings: Settings, mongo_uri: str, redis_url: str, tmp_path: Path
) -> Iterator[str]:
    """deploy/nginx.conf, with the replicas' addresses made local, in front of two processes."""
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        pytest.skip("nginx is not installed (.ci/run installs nginx-light)")
    env = {
        "MONGODB_URI": mongo_uri,
        "MONGODB_RETRY_WRITES": "false",
        "MONGODB_DATABASE": settings.mongodb_database,
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        "AUTH_SECRET": settings.auth_secret.get_secret_value(),
    }
    replicas = [ServerProcess(env, tmp_path / f"api{i}.log") for i in (1, 2)]
    for replica in replicas:
        replica.start()
    port = free_port()
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    for i, replica in enumerate(replicas, 1):
        site = site.replace(f"api{i}:8000", f"127.0.0.1:{replica.port}")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"""daemon off; worker_processes 1; pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 256; }}
http {{ access_log off; client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path};
include {tmp_path}/site.conf; }}
"""
    )
    proxy = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert proxy.poll() is None, proxy.stderr.read() if proxy.stderr else ""
                assert time.monotonic() < deadline, "nginx did not answer"
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proxy.terminate()
        proxy.wait(10)
        for replica in replicas:
            assert replica.stop() == 0


@pytest.mark.processes
async def test_nginx_passes_http_and_websockets_to_the_replicas(
    proxied_replicas: str, http: httpx.AsyncClient, admin_token: str
) -> None:
    client = GraphQLClient(http, f"http://{proxied_replicas}", admin_token)
    member = await enroll(client)
    async with transport_ws(f"ws://{proxied_replicas}/graphql", admin_token) as ws:
        await ws.subscribe(MEMBER_UPDATED, {"id": member["id"], "since": member["version"]})
        for _ in range(4):  # round robin: the writes land on both replicas
            await purchase(client, member["id"], "10.00")
        versions = [(await ws.next_data())["memberUpdated"]["version"]]
        while versions[-1] < 5:
            versions.append((await ws.next_data())["memberUpdated"]["version"])
    assert versions == sorted(set(versions)) and versions[-1] == 5
    assert (await http.get(f"http://{proxied_replicas}/metrics")).status_code == 404
