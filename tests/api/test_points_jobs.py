"""The scheduled jobs against a real database and bus: pending release and expiry pushed on
memberUpdated, a birthday bonus, one runner at a time under the lease, the in-service loop,
and a run interrupted halfway then run again having one effect.

The API here runs a program with a 7-day return window, 6-month validity and a year's notice,
on a database of its own, so moving the jobs' clock forward touches no other test's members."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from db.jobs import Clock, JobRunner, running, wall_clock
from resolvers.context import utc_now
from settings import Settings
from subscriptions.channels import member_channel
from tests.support.client import GraphQLClient, token, transport_ws
from tests.support.operations import enroll
from tests.support.points import ACTIVITY_LOG, MEMBER, WATCH, buy
from tests.support.servers import TEST_KEYS, InProcessServer, in_process

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def program_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = (ROOT / "config" / "program.toml").read_text(encoding="utf-8")
    text = text.replace("return_window_days = 0", "return_window_days = 7")
    text = text.replace("notice_days = 30", "notice_days = 365")
    text = text.replace("validity_months = 12", "validity_months = 6")
    path = tmp_path_factory.mktemp("program") / "program.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def job_settings(settings: Settings, program_file: Path) -> Settings:
    return settings.model_copy(
        update={
            "mongodb_database": f"jobs_{uuid.uuid4().hex[:8]}",
            "program_file": program_file,
            "jobs_interval_seconds": 0,
        }
    )


@pytest.fixture(scope="module")
async def job_server(job_settings: Settings, mongo_uri: str) -> AsyncIterator[InProcessServer]:
    async with in_process(job_settings, mongo_uri) as running_server:
        yield running_server


@pytest.fixture
def api(
    job_server: InProcessServer, http: httpx.AsyncClient, job_settings: Settings
) -> GraphQLClient:
    return GraphQLClient(http, job_server.url, token(job_settings))


def runner(
    server: InProcessServer, owner: str | None = None, clock: Clock = wall_clock
) -> JobRunner:
    jobs: JobRunner = server.app.state.jobs
    return jobs if owner is None else jobs.as_owner(owner, clock)


async def test_pending_points_are_released_and_pushed(
    api: GraphQLClient, job_server: InProcessServer, job_settings: Settings
) -> None:
    member = await enroll(api)
    bought = await buy(api, member["id"], "80.00")
    assert bought["entry"]["status"] == "PENDING"
    assert bought["member"]["balance"]["pending"] == 80
    assert bought["member"]["balance"]["available"] == 0
    async with transport_ws(job_server.ws_url, token(job_settings)) as ws:
        await ws.subscribe(WATCH, {"id": member["id"]})
        await asyncio.sleep(0.2)
        report = await runner(job_server).run_once(utc_now() + timedelta(days=7, minutes=1))
        assert report.ran and report.members >= 1
        update = (await ws.next_data())["memberUpdated"]
    assert update["changes"] == ["POINTS_RELEASED"]
    assert update["member"]["balance"] == {"available": 80, "pending": 0, "lifetime": 80}
    log = await api.data(ACTIVITY_LOG, {"id": member["id"]})
    assert log["member"]["activity"]["edges"][0]["node"]["status"] == "AVAILABLE"


async def test_lots_expire_oldest_first_with_notice_and_push(
    api: GraphQLClient, job_server: InProcessServer, job_settings: Settings
) -> None:
    member = await enroll(api)
    await buy(api, member["id"], "50.00")
    jobs = runner(job_server)
    await jobs.run_once(utc_now() + timedelta(days=8))
    state = await api.data(MEMBER, {"id": member["id"]})
    soon = state["member"]["balance"]["expiringSoon"]
    assert [s["points"] for s in soon] == [50]  # a 365-day notice window sees the 6-month lot
    expires = datetime.fromisoformat(soon[0]["expiresAt"])
    async with transport_ws(job_server.ws_url, token(job_settings)) as ws:
        await ws.subscribe(WATCH, {"id": member["id"]})
        await asyncio.sleep(0.2)
        await jobs.run_once(expires)
        update = (await ws.next_data())["memberUpdated"]
    assert update["changes"] == ["POINTS_EXPIRED"]
    assert update["entry"] == {"kind": "EXPIRY", "points": -50}
    assert update["member"]["balance"]["available"] == 0
    await jobs.run_once(expires + timedelta(days=1))
    log = await api.data(ACTIVITY_LOG, {"id": member["id"]})
    kinds = [e["node"]["kind"] for e in log["member"]["activity"]["edges"]]
    assert kinds.count("EXPIRY") == 1


async def test_birthday_bonus_by_the_job(api: GraphQLClient, job_server: InProcessServer) -> None:
    now = utc_now()
    birthday = f"1990-{now.month:02d}-01"
    member = await enroll(api, birthday=birthday)
    jobs = runner(job_server)
    await jobs.run_once(now)
    await jobs.run_once(now)
    log = await api.data(ACTIVITY_LOG, {"id": member["id"]})
    bonuses = [
        e["node"] for e in log["member"]["activity"]["edges"] if e["node"]["kind"] == "BONUS"
    ]
    assert [(b["points"], b["actor"]) for b in bonuses] == [(250, "scheduler")]


async def test_one_runner_at_a_time(job_server: InProcessServer) -> None:
    wall = [utc_now()]
    holder = runner(job_server, owner="holder", clock=lambda: wall[0])
    other = runner(job_server, owner="other", clock=lambda: wall[0])
    assert await holder.lease.acquire()
    assert (await other.run_once(utc_now())).ran is False
    await holder.lease.release()
    assert (await other.run_once(utc_now())).ran is True
    # a holder that died leaves the lease to expire on the wall clock; then another takes over
    assert await holder.lease.acquire()
    wall[0] += timedelta(seconds=30)
    assert (await other.run_once(utc_now())).ran is False
    wall[0] += timedelta(seconds=31)
    assert (await other.run_once(utc_now())).ran is True


async def test_the_lease_runs_on_the_wall_clock_whatever_time_the_jobs_run_as(
    api: GraphQLClient, job_server: InProcessServer
) -> None:
    """A process killed during `jobs run --at <next year>` must not block every runner for a
    year: the lease it leaves ends a TTL after the wall-clock time it was taken."""
    member = await enroll(api)
    await buy(api, member["id"], "10.00")  # due in 7 days, so surely at the time below
    jobs = runner(job_server, owner="killed")
    seen: list[datetime] = []

    async def spy(member_id: str, now: datetime) -> bool:
        doc = await job_server.services.reads.collections.leases.find_one({"_id": "points-jobs"})
        assert doc is not None
        seen.append(doc["until"])
        return True

    jobs.run_member = spy  # type: ignore[method-assign]
    member_due = utc_now() + timedelta(days=400)
    await jobs.run_once(member_due, limit=1)
    assert seen, "no member was due"
    assert seen[0] <= utc_now() + timedelta(seconds=61)


async def test_a_run_interrupted_halfway_and_run_again_has_one_effect(
    api: GraphQLClient, job_server: InProcessServer
) -> None:
    members = [await enroll(api) for _ in range(12)]
    for m in members:
        await buy(api, m["id"], "40.00")
    when = utc_now() + timedelta(days=7, hours=1)
    jobs = runner(job_server, owner="interrupted")
    first = await jobs.run_once(when, limit=5)  # stops after five members
    assert first.members == 5
    task = asyncio.create_task(jobs.run_once(when))
    await asyncio.sleep(0.03)  # cut off somewhere in the middle, maybe inside a transaction
    task.cancel()
    # On a busy machine the run may finish before the cancel lands; either way the re-run
    # below must find nothing left to do twice.
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await jobs.run_once(when)
    for m in members:
        state = await api.data(MEMBER, {"id": m["id"]})
        assert state["member"]["balance"]["available"] == 40
        assert state["member"]["balance"]["pending"] == 0
        assert state["member"]["version"] == 3  # enrolled, bought, released: once


async def test_the_in_service_loop_runs_due_work(
    api: GraphQLClient, job_server: InProcessServer
) -> None:
    member = await enroll(api)
    await buy(api, member["id"], "30.00")
    later = utc_now() + timedelta(days=8)
    async with running(runner(job_server, owner="loop"), 0.05, lambda: later):
        for _ in range(100):
            state = await api.data(MEMBER, {"id": member["id"]})
            if state["member"]["balance"]["available"] == 30:
                break
            await asyncio.sleep(0.05)
    assert state["member"]["balance"] == {
        "available": 30,
        "pending": 0,
        "lifetime": 30,
        "expiringSoon": state["member"]["balance"]["expiringSoon"],
    }
    assert datetime.fromisoformat(
        state["member"]["balance"]["expiringSoon"][0]["expiresAt"]
    ) > datetime.now(UTC)


async def test_a_downgrade_waits_for_the_grace_period_and_is_pushed(
    api: GraphQLClient, job_server: InProcessServer, job_settings: Settings
) -> None:
    member = await enroll(api)
    await buy(api, member["id"], "600.00")  # silver at once
    jobs = runner(job_server, owner="tiers")
    now = utc_now()
    # 13 months on the purchase has left the 12-month window: the grace period starts
    first_review = datetime(now.year + 1, now.month, 1, tzinfo=UTC) + timedelta(days=32)
    await jobs.run_once(first_review)
    state = await api.data(MEMBER, {"id": member["id"]})
    assert state["member"]["tier"]["current"]["id"] == "silver"  # kept during the grace period
    async with transport_ws(job_server.ws_url, token(job_settings)) as ws:
        await ws.subscribe(
            "subscription($id: ID!) { memberUpdated(memberId: $id) { changes "
            "member { tier { previous { id } current { id } } } } }",
            {"id": member["id"]},
        )
        # Asleep means its first read is done: a change committed before that read would be in
        # its state already, and no push would follow (a fixed pause was too short under load).
        bus = job_server.services.bus
        channel = member_channel(member["id"])
        for _ in range(500):
            seats = bus._open.get(channel, set())
            if any(seat.asleep is not None and seat.asleep.wake for seat in seats):
                break
            await asyncio.sleep(0.02)
        await jobs.run_once(first_review + timedelta(days=31))
        update = (await ws.next_data())["memberUpdated"]
    assert update["changes"] == ["TIER_CHANGED"]
    assert update["member"]["tier"] == {"previous": {"id": "silver"}, "current": {"id": "member"}}


async def test_two_runners_at_once_one_works(
    api: GraphQLClient, job_server: InProcessServer
) -> None:
    members = [await enroll(api) for _ in range(4)]
    for m in members:
        await buy(api, m["id"], "20.00")
    when = utc_now() + timedelta(days=7, hours=2)
    reports = await asyncio.gather(
        runner(job_server, owner="a").run_once(when),
        runner(job_server, owner="b").run_once(when),
    )
    assert sorted(r.ran for r in reports) == [False, True]
    for m in members:
        state = await api.data(MEMBER, {"id": m["id"]})
        assert state["member"]["version"] == 3
        assert state["member"]["balance"]["available"] == 20


@pytest.mark.processes
async def test_the_jobs_command_runs_once(
    api: GraphQLClient, job_settings: Settings, mongo_uri: str
) -> None:
    member = await enroll(api)
    await buy(api, member["id"], "25.00")
    at = (utc_now() + timedelta(days=7, hours=3)).isoformat()
    env = {
        **os.environ,
        "MONGODB_URI": mongo_uri,
        "MONGODB_RETRY_WRITES": "false",
        "MONGODB_DATABASE": job_settings.mongodb_database,
        "PROGRAM_FILE": str(job_settings.program_file),
        "LOG_LEVEL": "WARNING",
        **TEST_KEYS,  # the members' personal data is encrypted with the test keys
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(ROOT / "app.py"), "jobs", "run", "--at", at],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("jobs ran at"), done.stdout
    assert " 0 member(s)" not in done.stdout
    state = await api.data(MEMBER, {"id": member["id"]})
    assert state["member"]["balance"]["available"] == 25
