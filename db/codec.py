"""Documents <-> domain dataclasses. Field names in MongoDB are camelCase like the graph's."""

from __future__ import annotations

import functools
import json
import struct
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import Binary

from db import crypto
from db.engagement_codec import engagement_from_doc, engagement_to_doc
from loyalty.duplicates import match_keys
from loyalty.model import (
    Balance,
    ChallengeState,
    Consents,
    Identifier,
    IdentifierKind,
    IssuedReward,
    IssuedRewardStatus,
    LedgerEntry,
    LedgerEntryKind,
    LedgerEntryStatus,
    Member,
    MergeRecord,
    PointsLot,
    Profile,
    TierState,
)
from loyalty.program import Channel

Doc = dict[str, Any]

# A points lot packed as seq, points, earned, expires, available (times in ms since the epoch,
# NONE for none): 36 bytes instead of a 5-element BSON array, so a member holding 500 lots
# stays an 18 KiB field that the server and the event bus move as one opaque value.
_LOT = struct.Struct("<qiqqq")
_NONE = -(2**63)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


# Integer arithmetic: timestamp() * 1000 is a float and rounds some times down by a millisecond.
def _ms(at: datetime | None) -> int:
    return _NONE if at is None else (at - _EPOCH) // _ONE_MS


def _at(ms: int) -> datetime | None:
    return None if ms == _NONE else _EPOCH + timedelta(milliseconds=ms)


def pack_lots(lots: tuple[PointsLot, ...]) -> Binary:
    return Binary(_pack(lots))


def unpack_lots(value: bytes | None) -> tuple[PointsLot, ...]:
    if not value:
        return ()
    raw = bytes(value)
    found = _DECODED.get(raw)
    if found is None:
        found = _unpack(raw)
        _remember(raw, found)
    else:
        _DECODED.move_to_end(raw)
    return found


# Decoding 500 lots is ~1 ms of Python, and a member's lots are read far more often than they
# change: a write reads them twice (the checks, then the transaction), screens re-read them.
# The last CACHED packings are kept both ways (lots are immutable); packing primes decoding
# when its times are whole milliseconds (they always are in the service), so the first read
# after a write does not decode either.
CACHED = 256
_DECODED: OrderedDict[bytes, tuple[PointsLot, ...]] = OrderedDict()


def _remember(raw: bytes, lots: tuple[PointsLot, ...]) -> None:
    _DECODED[raw] = lots
    if len(_DECODED) > CACHED:
        _DECODED.popitem(last=False)


def _whole_ms(at: datetime | None) -> bool:
    return at is None or at.microsecond % 1000 == 0


@functools.lru_cache(maxsize=CACHED)
def _pack(lots: tuple[PointsLot, ...]) -> bytes:
    raw = b"".join(
        _LOT.pack(
            lot.seq, lot.points, _ms(lot.earned_at), _ms(lot.expires_at), _ms(lot.available_at)
        )
        for lot in lots
    )
    if all(
        _whole_ms(lot.earned_at) and _whole_ms(lot.expires_at) and _whole_ms(lot.available_at)
        for lot in lots
    ):
        _remember(raw, lots)
    return raw


def _unpack(raw: bytes) -> tuple[PointsLot, ...]:
    lots = []
    for seq, points, earned, expires, available in _LOT.iter_unpack(raw):
        earned_at = _at(earned)
        assert earned_at is not None
        lots.append(PointsLot(seq, points, earned_at, _at(expires), _at(available)))
    return tuple(lots)


def _channel(value: str | None) -> Channel | None:
    return Channel(value) if value else None


def hashed_match_key(stored: str) -> str:
    """A duplicate match key as stored: its reason, then the keyed hash of the value."""
    reason = stored.partition(":")[0]
    return f"{reason}:{crypto.cipher().lookup(stored)}"


def _seal_personal(m: Member) -> str | None:
    """Every personal value of a member in one encrypted token: one encryption per write and one
    decryption per read, instead of one per field."""
    p = m.profile
    personal = {
        "firstName": p.first_name,
        "lastName": p.last_name,
        "email": p.email,
        "phone": p.phone,
        "birthday": p.birthday,
        "answers": [[k, v] for k, v in p.answers],
        "identifiers": [i.value for i in m.identifiers],
    }
    return crypto.cipher().encrypt(json.dumps(personal, separators=(",", ":")))


def _open_personal(d: Doc) -> dict[str, Any]:
    """The personal values of a member document. Documents written before the values were
    sealed together hold them field by field (encrypted, or plaintext before encryption)."""
    sealed = d.get("personal")
    if sealed is not None:
        opened: dict[str, Any] = json.loads(crypto.cipher().decrypt(sealed) or "{}")
        return opened
    open_ = crypto.cipher().decrypt
    p = d["profile"]
    return {
        **{k: open_(p.get(k)) for k in ("firstName", "lastName", "email", "phone", "birthday")},
        "answers": p.get("answers") or [],
        "identifiers": [open_(i.get("value")) or "" for i in d["identifiers"]],
    }


def member_to_doc(m: Member) -> Doc:
    """Personal values are encrypted (db/crypto.py); every other field stays queryable."""
    p = m.profile
    return {
        "_id": m.id,
        "version": m.version,
        "enrolledAt": m.enrolled_at,
        "enrollmentChannel": m.enrollment_channel.value,
        "personal": _seal_personal(m),
        "profile": {
            "preferredChannel": p.preferred_channel.value if p.preferred_channel else None,
            "preferredStoreId": p.preferred_store_id,
            "consents": {
                "email": p.consents.email,
                "sms": p.consents.sms,
                "push": p.consents.push,
                "personalization": p.consents.personalization,
            },
        },
        # The values are in "personal", in this order.
        "identifiers": [
            {
                "kind": i.kind.value,
                "verified": i.verified,
                "linkedAt": i.linked_at,
            }
            for i in m.identifiers
        ],
        "balance": {
            "available": m.balance.available,
            "pending": m.balance.pending,
            "lifetime": m.balance.lifetime,
        },
        # Derived, for duplicateCandidates' one indexed query; never read back. Keyed hashes:
        # they are made of emails, phones, names and birthdays.
        "matchKeys": [hashed_match_key(k.stored()) for k in match_keys(m)],
        "tier": {
            "tierId": m.tier.tier_id,
            "qualifyingPoints": m.tier.qualifying_points,
            "since": m.tier.since,
            "months": [[month, points] for month, points in m.tier.months],
            "belowSince": m.tier.below_since,
            "reviewAt": m.tier.review_at,
            "previous": m.tier.previous,
        },
        "lastActivityAt": m.last_activity_at,
        "referredBy": m.referred_by,
        "changeVersions": dict(m.change_versions),
        "lots": pack_lots(m.lots),
        "counters": dict(m.counters),
        "challenges": {
            k: {
                "period": c.period,
                "progress": c.progress,
                "seen": list(c.seen),
                "done": c.completed,
            }
            for k, c in m.challenges.items()
        },
        "referralPaid": m.referral_paid,
        "birthdayYear": m.birthday_year,
        "dormantAt": m.dormant_at,
        "mergedInto": m.merged_into,
        "mergedFrom": list(m.merged_from),
        "guestActivity": [list(pair) for pair in m.guest_activity],
        "merge": _merge_to_doc(m.merge) if m.merge else None,
        "engagement": engagement_to_doc(m.engagement),
    }


def member_from_doc(d: Doc) -> Member:
    p, c, b, t = d["profile"], d["profile"]["consents"], d["balance"], d["tier"]
    personal = _open_personal(d)
    values = personal["identifiers"]
    return Member(
        id=d["_id"],
        version=d["version"],
        enrolled_at=d["enrolledAt"],
        enrollment_channel=Channel(d["enrollmentChannel"]),
        profile=Profile(
            first_name=personal["firstName"],
            last_name=personal["lastName"],
            email=personal["email"],
            phone=personal["phone"],
            birthday=personal["birthday"],
            preferred_channel=_channel(p.get("preferredChannel")),
            preferred_store_id=p.get("preferredStoreId"),
            consents=Consents(
                email=c["email"], sms=c["sms"], push=c["push"], personalization=c["personalization"]
            ),
            answers=tuple((k, v) for k, v in personal["answers"]),
        ),
        identifiers=tuple(
            Identifier(
                kind=IdentifierKind(i["kind"]),
                value=value,
                verified=i["verified"],
                linked_at=i["linkedAt"],
            )
            for i, value in zip(d["identifiers"], values, strict=True)
        ),
        balance=Balance(available=b["available"], pending=b["pending"], lifetime=b["lifetime"]),
        tier=TierState(
            tier_id=t["tierId"],
            qualifying_points=t["qualifyingPoints"],
            since=t["since"],
            months=tuple((m, p) for m, p in t.get("months") or ()),
            below_since=t.get("belowSince"),
            review_at=t.get("reviewAt"),
            previous=t.get("previous"),
        ),
        last_activity_at=d.get("lastActivityAt"),
        referred_by=d.get("referredBy"),
        change_versions=dict(d.get("changeVersions") or {}),
        lots=unpack_lots(d.get("lots")),
        counters=dict(d.get("counters") or {}),
        challenges={
            k: ChallengeState(c["period"], c["progress"], tuple(c["seen"]), c["done"])
            for k, c in (d.get("challenges") or {}).items()
        },
        referral_paid=bool(d.get("referralPaid")),
        birthday_year=d.get("birthdayYear"),
        dormant_at=d.get("dormantAt"),
        merged_into=d.get("mergedInto"),
        merged_from=tuple(d.get("mergedFrom") or ()),
        guest_activity=tuple((k, n) for k, n in d.get("guestActivity") or ()),
        merge=_merge_from_doc(d["merge"]) if d.get("merge") else None,
        engagement=engagement_from_doc(d.get("engagement")),
    )


def _merge_to_doc(r: MergeRecord) -> Doc:
    before = member_to_doc(r.before)
    before.pop("matchKeys", None)  # a snapshot must never be found as a duplicate
    return {
        "survivorId": r.survivor_id,
        "at": r.at,
        "actor": r.actor,
        "reason": r.reason,
        "before": before,
        "movedRewards": list(r.moved_rewards),
        "survivorVersion": r.survivor_version,
        "survivorTier": r.survivor_tier,
    }


def _merge_from_doc(d: Doc) -> MergeRecord:
    return MergeRecord(
        survivor_id=d["survivorId"],
        at=d["at"],
        actor=d["actor"],
        reason=d["reason"],
        before=member_from_doc(d["before"]),
        moved_rewards=tuple(d.get("movedRewards") or ()),
        survivor_version=d.get("survivorVersion", 0),
        survivor_tier=d.get("survivorTier"),
    )


def entry_to_doc(e: LedgerEntry) -> Doc:
    return {
        "_id": e.id,
        "memberId": e.member_id,
        "seq": e.seq,
        "kind": e.kind.value,
        "points": e.points,
        "balanceAfter": e.balance_after,
        "channel": e.channel.value if e.channel else None,
        "storeId": e.store_id,
        "description": e.description,
        "reason": e.reason,
        "occurredAt": e.occurred_at,
        "recordedAt": e.recorded_at,
        "status": e.status.value,
        "availableAt": e.available_at,
        "actor": e.actor,
        "orderId": e.order_id,
        "reversedBy": e.reversed_by,
        "amount": e.amount,
        "returnedAmount": e.returned_amount,
        "returnedPoints": e.returned_points,
        "reverses": e.reverses,
        "via": e.via,
    }


def entry_from_doc(d: Doc) -> LedgerEntry:
    return LedgerEntry(
        id=d["_id"],
        member_id=d["memberId"],
        seq=d["seq"],
        kind=LedgerEntryKind(d["kind"]),
        points=d["points"],
        balance_after=d["balanceAfter"],
        channel=_channel(d.get("channel")),
        store_id=d.get("storeId"),
        description=d["description"],
        reason=d.get("reason"),
        occurred_at=d["occurredAt"],
        recorded_at=d["recordedAt"],
        status=LedgerEntryStatus(d["status"]),
        available_at=d.get("availableAt"),
        actor=d["actor"],
        order_id=d.get("orderId"),
        reversed_by=d.get("reversedBy"),
        amount=d.get("amount"),
        returned_amount=d.get("returnedAmount"),
        returned_points=d.get("returnedPoints") or 0,
        reverses=d.get("reverses"),
        via=d.get("via"),
    )


def issued_to_doc(r: IssuedReward) -> Doc:
    return {
        "_id": r.id,
        "memberId": r.member_id,
        "rewardId": r.reward_id,
        "code": r.code,
        "status": r.status.value,
        "issuedAt": r.issued_at,
        "expiresAt": r.expires_at,
        "usedAt": r.used_at,
        "usedChannel": r.used_channel.value if r.used_channel else None,
        "usedStoreId": r.used_store_id,
    }


def issued_from_doc(d: Doc) -> IssuedReward:
    return IssuedReward(
        id=d["_id"],
        member_id=d["memberId"],
        reward_id=d["rewardId"],
        code=d["code"],
        status=IssuedRewardStatus(d["status"]),
        issued_at=d["issuedAt"],
        expires_at=d.get("expiresAt"),
        used_at=d.get("usedAt"),
        used_channel=_channel(d.get("usedChannel")),
        used_store_id=d.get("usedStoreId"),
    )
