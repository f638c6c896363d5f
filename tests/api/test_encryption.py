"""Personal data at rest: no plaintext name, email, phone, birthday or identifier in any
collection, lookups still by one indexed read, and keys that rotate."""

from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet

from db.crypto import PersonalDataCipher, UndecryptableData
from resolvers.access import Role
from settings import Settings
from tests.support.client import GraphQLClient, token
from tests.support.operations import purchase
from tests.support.servers import InProcessServer

ENROLL = """
mutation($i: EnrollMemberInput!) {
  enrollMember(input: $i) { member { id } userErrors { code message } } }"""


async def test_the_raw_collections_hold_no_personal_value(
    client: GraphQLClient, server: InProcessServer, settings: Settings
) -> None:
    tag = uuid.uuid4().hex[:10]
    email = f"plain.{tag}@example.com"
    phone = f"+3162{int(tag, 16) % 10**7:07d}"
    card = f"{int(tag, 16) % 10**12:012d}"
    first, last, birthday = f"Wilhelmina{tag}", f"Vandersloot{tag}", "1987-06-05"
    result = await client.data(
        ENROLL,
        {
            "i": {
                "identifiers": [
                    {"kind": "EMAIL", "value": email},
                    {"kind": "PHONE", "value": phone},
                    {"kind": "LOYALTY_CARD", "value": card},
                ],
                "channel": "APP",
                "firstName": first,
                "lastName": last,
                "birthday": birthday,
                "idempotencyKey": f"enrol-{tag}",
            }
        },
    )
    assert result["enrollMember"]["userErrors"] == []
    member_id = result["enrollMember"]["member"]["id"]
    await purchase(client, member_id, "12.00")
    await client.data(
        "mutation($i: AdjustPointsInput!) { adjustPoints(input: $i) { userErrors { code } } }",
        {"i": {"memberId": member_id, "points": 5, "reason": "goodwill", "idempotencyKey": tag}},
    )
    c = server.services.reads.collections
    dump = ""
    for collection in (c.members, c.identifiers, c.ledger, c.idempotency, c.audit):
        dump += "".join([repr(d) async for d in collection.find({})])
    assert member_id in dump  # the dump is real
    for secret in (email, phone, phone.lstrip("+"), card, first, last, birthday):
        assert secret not in dump, secret
    # Still one indexed read by identifier, and the API shows the values as they were.
    read = await client.data(
        "query($v: String!) { memberByIdentifier(kind: PHONE, value: $v) "
        "{ id profile { firstName email phone birthday } identifiers { value } } }",
        {"v": phone},
    )
    found = read["memberByIdentifier"]
    assert found["id"] == member_id
    assert found["profile"] == {
        "firstName": first,
        "email": email,
        "phone": phone,
        "birthday": birthday,
    }
    assert {i["value"] for i in found["identifiers"]} == {email, phone, card}
    agent = client.as_(token(settings, Role.AGENT))
    candidates = await agent.data(
        "query($id: ID!) { duplicateCandidates(memberId: $id) { reasons } }", {"id": member_id}
    )
    assert candidates["duplicateCandidates"] == []


def test_keys_rotate_old_ones_still_decrypt_and_values_are_authenticated() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = PersonalDataCipher.of([old], "lookup")
    stored = before.encrypt("jo@example.com")
    assert stored is not None and "jo@" not in stored
    rotated = PersonalDataCipher.of([new, old], "lookup")
    assert rotated.decrypt(stored) == "jo@example.com"
    again = rotated.encrypt("jo@example.com")
    assert again is not None and PersonalDataCipher.of([new], "lookup").decrypt(again)
    with pytest.raises(UndecryptableData):
        PersonalDataCipher.of([new], "lookup").decrypt(stored)  # the old key dropped too early
    tampered = stored[:-6] + ("A" if stored[-6] != "A" else "B") + stored[-5:]
    with pytest.raises(UndecryptableData):
        rotated.decrypt(tampered)
    # Equal values meet under the lookup key, and nowhere else.
    assert rotated.lookup("EMAIL:jo@example.com") == before.lookup("EMAIL:jo@example.com")
    assert rotated.lookup("EMAIL:jo@example.com") != PersonalDataCipher.of([old], "another").lookup(
        "EMAIL:jo@example.com"
    )
    # A value written before encryption was enabled is read as it is.
    assert rotated.decrypt("jo@example.com") == "jo@example.com"
