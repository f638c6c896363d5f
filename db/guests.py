"""Guest profiles: activity of a web cookie or app device that no member owns yet.

One document per identifier (`_id` is the identifier's key, as in `identifiers`), updated
atomically in place: no transaction needed. The newest activities are kept (bounded), with the
idempotency keys that recorded them, so a retried request records once.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from db.client import Collections, Doc
from loyalty.guests import MAX_GUEST_ACTIVITIES, GuestActivity
from loyalty.model import IdentifierKind
from loyalty.program import ActivityKind, Channel


@dataclass(frozen=True)
class GuestProfile:
    kind: IdentifierKind
    activities: int
    first_seen_at: datetime
    last_seen_at: datetime


def _activity_doc(a: GuestActivity) -> Doc:
    return {
        "kind": a.kind.value,
        "at": a.at,
        "channel": a.channel.value,
        "storeId": a.store_id,
        "survey": a.survey,
    }


def _activity(d: Doc) -> GuestActivity:
    return GuestActivity(
        kind=ActivityKind(d["kind"]),
        at=d["at"],
        channel=Channel(d["channel"]),
        store_id=d.get("storeId"),
        survey=d.get("survey"),
    )


def _profile(d: Doc) -> GuestProfile:
    return GuestProfile(
        kind=IdentifierKind(d["kind"]),
        activities=len(d.get("activities") or ()),
        first_seen_at=d["firstSeenAt"],
        last_seen_at=d["lastSeenAt"],
    )


async def record(
    c: Collections, key: str, kind: IdentifierKind, activity: GuestActivity, idem: str
) -> GuestProfile:
    """Add an activity to the guest (created on first sight); a repeated key adds nothing."""
    added = {"$each": [_activity_doc(activity)], "$slice": -MAX_GUEST_ACTIVITIES}
    # A used key makes the upsert collide on _id: the activity is there already.
    with contextlib.suppress(DuplicateKeyError):
        # update_one, not find_one_and_update: the latter scans the collection on some
        # Mongo-wire servers, and guests (one per anonymous cookie) are many.
        await c.guests.update_one(
            {"_id": key, "keys": {"$ne": idem}},
            {
                "$setOnInsert": {"kind": kind.value, "firstSeenAt": activity.at},
                "$max": {"lastSeenAt": activity.at},
                "$push": {
                    "activities": added,
                    "keys": {"$each": [idem], "$slice": -MAX_GUEST_ACTIVITIES},
                },
            },
            upsert=True,
        )
    doc = await c.guests.find_one({"_id": key})
    assert doc is not None
    return _profile(doc)


async def profile(c: Collections, key: str) -> GuestProfile | None:
    doc = await c.guests.find_one({"_id": key})
    return _profile(doc) if doc else None


async def take(c: Collections, session: AsyncClientSession, keys: list[str]) -> list[GuestActivity]:
    """The activities of these guests, read inside a transaction that will delete them."""
    docs = c.guests.find({"_id": {"$in": keys}}, session=session)
    return [_activity(a) async for d in docs for a in d.get("activities") or ()]


async def any_of(c: Collections, keys: list[str]) -> bool:
    """Whether any of these identifiers has a guest profile (one indexed read)."""
    return await c.guests.find_one({"_id": {"$in": keys}}, {"_id": 1}) is not None
