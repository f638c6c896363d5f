"""The message on a member's channel: its committed snapshot at that version, not only its id.

Subscribers never re-read the database after an event; they render the snapshot.

Two formats are read, so processes of this release and of earlier ones can share the bus while
a rolling deploy replaces them (BUS_EVENT_FORMAT chooses the one written):
- binary: MARK, the time of the publish (a little-endian float64 the bus stamps as it
  publishes; 0 in the outbox row), then the event as a BSON document, built and read by
  PyMongo's C codec: about half the CPU of extended JSON (benchmarks/bench_events.py);
- extended JSON text (`bson.json_util`, relaxed), publishedAt inside: earlier releases' format.
"""

from __future__ import annotations

import functools
import struct
import time
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Literal, TypeGuard

import bson
from bson import json_util
from bson.codec_options import CodecOptions
from bson.json_util import JSONMode, JSONOptions

from db.codec import entry_from_doc, entry_to_doc, member_from_doc, member_to_doc
from db.commit import Committed
from loyalty.model import ChangeKind, LedgerEntry, Member

# A message no event can be: tells subscribers to re-read the member (after a bus reconnect
# or when their queue overflowed).
RESYNC = "\x00resync"

_JSON = JSONOptions(json_mode=JSONMode.RELAXED, tz_aware=True, tzinfo=UTC)
_BSON: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True, tzinfo=UTC)

# What starts a binary message; no text message (JSON, RESYNC, a test's "hello") starts so.
MARK = b"\x01"
_STAMP = struct.Struct("<d")
_HEAD = len(MARK) + _STAMP.size

Message = str | bytes
EventFormat = Literal["binary", "json"]


def _binary(message: object) -> TypeGuard[bytes]:
    return isinstance(message, bytes) and message[:1] == MARK


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


def encode(done: Committed, form: EventFormat = "binary") -> Message:
    """The change's message, built once: the outbox row holds it, the bus publishes it."""
    doc: dict[str, Any] = {
        "memberId": done.member.id,
        "version": done.member.version,
        "changes": [k.value for k in done.changes],
        "member": member_to_doc(done.member),
        "entry": entry_to_doc(done.entries[0]) if done.entries else None,
        "storeId": done.store_id,
    }
    if form == "json":
        doc["publishedAt"] = time.time()  # the earlier format has no stamp of the publish
        return json_util.dumps(doc, json_options=_JSON)
    return MARK + _STAMP.pack(0.0) + bson.encode(doc, codec_options=_BSON)


def stamped(message: Message) -> Message:
    """The message as it is published now: a binary one carries the time of its publish (the
    delivery-lag metric), whether the writer or the outbox relay sends it."""
    if _binary(message):
        return MARK + _STAMP.pack(time.time()) + message[_HEAD:]
    return message


def from_wire(data: object) -> Message:
    """A message as Redis hands it over: binary events stay bytes, anything else is text."""
    if isinstance(data, bytes):
        return data if _binary(data) else data.decode()
    return str(data)


def _fields(message: Message) -> tuple[dict[str, Any], float | None]:
    """The message's document as stored (the member not decoded yet), and its publish time."""
    if _binary(message):
        published_at = _STAMP.unpack_from(message, len(MARK))[0] or None
        return bson.decode(memoryview(message)[_HEAD:], codec_options=_BSON), published_at
    data: dict[str, Any] = json_util.loads(message, json_options=_JSON)
    return data, data.get("publishedAt")


def version_of(message: Message) -> int:
    """The version a message carries, read without decrypting the member: for tools that only
    watch the bus, without the service's keys (the delivery benchmark)."""
    return int(_fields(message)[0]["version"])


def decode(message: Message) -> MemberEvent:
    data, published_at = _fields(message)
    return MemberEvent(
        member_id=data["memberId"],
        version=data["version"],
        changes=tuple(ChangeKind(k) for k in data["changes"]),
        member=member_from_doc(data["member"]),
        entry=entry_from_doc(data["entry"]) if data.get("entry") else None,
        store_id=data.get("storeId"),
        published_at=published_at,
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
