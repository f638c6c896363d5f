"""The message on a member's channel: its committed snapshot at that version, not only its id.

Subscribers never re-read the database after an event; they render the snapshot.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import UTC

from bson import json_util
from bson.json_util import JSONMode, JSONOptions

from db.codec import entry_from_doc, entry_to_doc, member_from_doc, member_to_doc
from db.commit import Committed
from loyalty.model import ChangeKind, LedgerEntry, Member

# A message no event can be: tells subscribers to re-read the member (after a bus reconnect
# or when their queue overflowed).
RESYNC = "\x00resync"

_JSON = JSONOptions(json_mode=JSONMode.RELAXED, tz_aware=True, tzinfo=UTC)


@dataclass(frozen=True)
class MemberEvent:
    member_id: str
    version: int
    changes: tuple[ChangeKind, ...]
    member: Member  # the state at `version`
    entry: LedgerEntry | None  # the entry behind the change, when there is one
    store_id: str | None = None
    coalesced: bool = False  # True for a catch-up that stands for several versions
    published_at: float | None = None  # Unix time of the publish, for the delivery-lag metric


def encode(done: Committed) -> str:
    return json_util.dumps(
        {
            "memberId": done.member.id,
            "version": done.member.version,
            "changes": [k.value for k in done.changes],
            "member": member_to_doc(done.member),
            "entry": entry_to_doc(done.entries[0]) if done.entries else None,
            "storeId": done.store_id,
            "publishedAt": time.time(),
        },
        json_options=_JSON,
    )


def decode(message: str) -> MemberEvent:
    data = json_util.loads(message, json_options=_JSON)
    return MemberEvent(
        member_id=data["memberId"],
        version=data["version"],
        changes=tuple(ChangeKind(k) for k in data["changes"]),
        member=member_from_doc(data["member"]),
        entry=entry_from_doc(data["entry"]) if data.get("entry") else None,
        store_id=data.get("storeId"),
        published_at=data.get("publishedAt"),
    )


# Every subscriber of a channel in this process receives the same message text: it is decoded
# once, and the one event object lets the render of it be shared (api/shared_render.py).
decode_shared = functools.lru_cache(maxsize=512)(decode)


def catch_up(member: Member, since_version: int) -> MemberEvent:
    """The current state standing for every change after `since_version`."""
    return MemberEvent(
        member_id=member.id,
        version=member.version,
        changes=tuple(member.changes_since(since_version)),
        member=member,
        entry=None,
        coalesced=True,
    )


def merged_into(survivor: Member) -> MemberEvent:
    """What a subscriber of a merged member gets once: the survivor it now follows."""
    return MemberEvent(
        member_id=survivor.id,
        version=survivor.version,
        changes=(ChangeKind.MERGED,),
        member=survivor,
        entry=None,
        coalesced=True,
    )
