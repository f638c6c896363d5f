"""The write path's edges: a retry is recognised inside the transaction (no look-up before it),
so a retry the current state would refuse still gets the first answer; a write starts from the
member its checks read, and runs again on a fresh read when anything wrote the member since."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from db.commit import Committed, Decide, IdempotencyKey, Writer
from db.tx_reads import TxReads
from loyalty.changes import Outcome, advance
from loyalty.model import ChangeKind, Member
from tests.support.client import GraphQLClient
from tests.support.operations import ENROLL, REDEEM, enroll, purchase, unique_email
from tests.support.servers import InProcessServer

MEMBER_STATE = """
query($id: ID!) {
  member(id: $id) {
    version balance { available }
    activity(first: 100) { edges { node { kind points } } }
  }
}"""


def _redemption(member_id: str, key: str) -> dict[str, object]:
    return {
        "memberId": member_id,
        "rewardId": "rwd_free-coffee",
        "channel": "POS",
        "storeId": "store-001",
        "idempotencyKey": key,
    }


async def test_a_retried_redemption_the_spent_balance_would_refuse_gets_the_first_answer(
    client: GraphQLClient,
) -> None:
    member = await enroll(client)
    await purchase(client, member["id"], "150.00")  # 150 points: exactly one coffee
    key = uuid.uuid4().hex
    first = (await client.data(REDEEM, {"input": _redemption(member["id"], key)}))["redeemReward"]
    assert first["userErrors"] == []
    again = (await client.data(REDEEM, {"input": _redemption(member["id"], key)}))["redeemReward"]
    assert again == first  # not INSUFFICIENT_POINTS: the balance it spent is its own
    fresh = (await client.data(REDEEM, {"input": _redemption(member["id"], uuid.uuid4().hex)}))[
        "redeemReward"
    ]
    assert [e["code"] for e in fresh["userErrors"]] == ["INSUFFICIENT_POINTS"]
    after = (await client.data(MEMBER_STATE, {"id": member["id"]}))["member"]
    assert after["version"] == 3
    assert after["balance"]["available"] == 0
    assert sorted(e["node"]["points"] for e in after["activity"]["edges"]) == [-150, 150]


async def test_a_reused_key_the_state_would_refuse_is_a_conflict_first(
    client: GraphQLClient,
) -> None:
    member = await enroll(client)
    await purchase(client, member["id"], "150.00")
    key = uuid.uuid4().hex
    payload = _redemption(member["id"], key)
    await client.data(REDEEM, {"input": payload})
    other = {**payload, "channel": "APP", "storeId": None}
    answer = (await client.data(REDEEM, {"input": other}))["redeemReward"]
    assert [e["code"] for e in answer["userErrors"]] == ["IDEMPOTENCY_CONFLICT"]


async def test_a_retried_enrolment_whose_identifier_is_now_claimed_gets_the_first_member(
    client: GraphQLClient,
) -> None:
    email = f"retry-{uuid.uuid4().hex[:8]}@example.com"
    payload = {
        "identifiers": [{"kind": "EMAIL", "value": email}],
        "channel": "WEB",
        "idempotencyKey": uuid.uuid4().hex,
    }
    first = (await client.data(ENROLL, {"input": payload}))["enrollMember"]
    again = (await client.data(ENROLL, {"input": payload}))["enrollMember"]
    assert first["userErrors"] == [] and again == first  # not IDENTIFIER_TAKEN
    unkeyed = {k: v for k, v in payload.items() if k != "idempotencyKey"}
    taken = (await client.data(ENROLL, {"input": unkeyed}))["enrollMember"]
    assert [e["code"] for e in taken["userErrors"]] == ["IDENTIFIER_TAKEN"]


def _renamed(starts: list[Member], name: str) -> Decide:
    """A profile change that records the member it was decided on."""

    async def decide(member: Member | None, _: TxReads) -> Outcome:
        assert member is not None
        starts.append(member)
        after = replace(member, profile=replace(member.profile, first_name=name))
        changes = [ChangeKind.PROFILE_UPDATED]
        return Outcome(advance(member, after, changes, datetime.now(UTC)), tuple(changes))

    return decide


async def _quiet_mark(member: Member | None, _: TxReads) -> Outcome:
    """Bookkeeping without a new version, the kind of write a version filter cannot see."""
    assert member is not None
    counters = {**member.counters, "TEST:quiet": 1}
    return Outcome(replace(member, counters=counters), ())


async def test_a_write_starts_from_the_member_its_checks_read(
    server: InProcessServer, client: GraphQLClient
) -> None:
    member = await enroll(client)
    s = server.services
    seen = await s.reads.seen_member(member["id"])
    assert seen is not None and seen.writes == 1
    starts: list[Member] = []
    done = await s.writer.commit(member["id"], _renamed(starts, "Ada"), None, "test", seen=seen)
    assert starts == [seen.member] and starts[0] is seen.member  # decided once, no second read
    assert done.member.version == member["version"] + 1
    again = await s.reads.seen_member(member["id"])
    assert again is not None and again.writes == 2
    assert again.member.profile.first_name == "Ada"


async def test_a_quiet_write_after_the_read_is_kept_by_a_write_that_started_from_it(
    server: InProcessServer, client: GraphQLClient
) -> None:
    member = await enroll(client)
    s = server.services
    seen = await s.reads.seen_member(member["id"])
    assert seen is not None
    quiet = await s.writer.commit(member["id"], _quiet_mark, None, "test")
    assert quiet.quiet and quiet.member.version == member["version"]  # same version
    starts: list[Member] = []
    done = await s.writer.commit(member["id"], _renamed(starts, "Bea"), None, "test", seen=seen)
    assert [m.counters.get("TEST:quiet") for m in starts] == [None, 1]  # ran again, fresh
    assert done.member.version == member["version"] + 1
    stored = await s.reads.member(member["id"])
    assert stored is not None
    assert stored.counters.get("TEST:quiet") == 1 and stored.profile.first_name == "Bea"


async def test_a_write_addressed_through_a_merge_done_after_the_read_lands_on_the_survivor(
    server: InProcessServer, client: GraphQLClient
) -> None:
    survivor, merged = await enroll(client), await enroll(client)
    s = server.services
    seen = await s.reads.seen_member(merged["id"])  # read while still a member of its own
    assert seen is not None and seen.member.id == merged["id"]
    merge = """
    mutation($input: MergeMembersInput!) { mergeMembers(input: $input) { userErrors { code } } }"""
    payload = {"survivorId": survivor["id"], "mergedId": merged["id"], "reason": "same person"}
    assert (await client.data(merge, {"input": payload}))["mergeMembers"]["userErrors"] == []
    starts: list[Member] = []
    done = await s.writer.commit(merged["id"], _renamed(starts, "Cai"), None, "test", seen=seen)
    assert [m.id for m in starts] == [merged["id"], survivor["id"]]  # the tombstone moved on
    assert done.member.id == survivor["id"]
    tombstone = await s.reads.member(merged["id"])
    assert tombstone is not None and tombstone.merged_into == survivor["id"]
    assert tombstone.profile.first_name != "Cai"


async def test_a_write_whose_member_moved_after_the_read_runs_again_on_the_new_version(
    server: InProcessServer, client: GraphQLClient
) -> None:
    member = await enroll(client)
    s = server.services
    seen = await s.reads.seen_member(member["id"])
    assert seen is not None
    await purchase(client, member["id"], "10.00")  # version + 1, its event staged meanwhile
    starts: list[Member] = []
    done = await s.writer.commit(member["id"], _renamed(starts, "Eve"), None, "test", seen=seen)
    assert [m.version for m in starts] == [member["version"], member["version"] + 1]
    assert done.member.version == member["version"] + 2
    assert done.member.balance.available == 10


async def test_a_server_without_bulk_write_gets_the_same_writes_one_command_each(
    server: InProcessServer, client: GraphQLClient
) -> None:
    member = await enroll(client)
    s = server.services
    published: list[Committed] = []

    async def publish(done: Committed, staged: object) -> None:
        published.append(done)

    writer = Writer(server.app.state.mongo, s.reads.collections, publish, one_command=False)
    seen = await s.reads.seen_member(member["id"])
    await writer.commit(member["id"], _quiet_mark, None, "test")  # the read is now stale
    key = IdempotencyKey("test", "tester", uuid.uuid4().hex, "same request")
    starts: list[Member] = []
    first = await writer.commit(member["id"], _renamed(starts, "Flo"), key, "test", seen=seen)
    again = await writer.commit(member["id"], _renamed(starts, "Flo"), key, "test")
    assert len(starts) == 3  # the stale start, its rerun, and the retry refused by its key
    assert again.replayed and again.member.version == first.member.version
    assert again.member.profile == first.member.profile  # the stored answer (times to the ms)
    assert published == [first]
    stored = await s.reads.member(member["id"])
    assert stored is not None and stored.version == member["version"] + 1
    assert stored.profile.first_name == "Flo" and stored.counters.get("TEST:quiet") == 1


VERSION = "query Version($id: ID!) { member(id: $id) { version } }"
LINK = """
mutation Link($input: LinkIdentifierInput!) {
  linkIdentifier(input: $input) { member { version } userErrors { code } }
}"""


async def test_concurrent_links_of_one_value_to_one_member_all_succeed(
    client: GraphQLClient,
) -> None:
    """A link whose member moved on must run again before it claims the identifier: else it
    finds the value claimed by the link that won, for this same member.

    A link whose check reads the member after another one committed finds the value already
    linked and changes nothing, answering the version it read; so the versions answered are
    the consecutive versions the links made, some of them more than once."""
    member = await enroll(client)
    body = {"memberId": member["id"], "identifier": {"kind": "EMAIL", "value": unique_email()}}
    answers = await asyncio.gather(*(client.data(LINK, {"input": body}) for _ in range(4)))
    assert [a["linkIdentifier"]["userErrors"] for a in answers] == [[]] * 4
    made = sorted({a["linkIdentifier"]["member"]["version"] for a in answers})
    assert made == [member["version"] + n for n in range(1, len(made) + 1)]
    now = await client.data(VERSION, {"id": member["id"]})
    assert now["member"]["version"] == made[-1]
