"""The `notifications` collection: notification intents for email, SMS and push senders.

An intent is inserted in the transaction of the change that triggered it (Writer.commit), so it
exists exactly when the change does; its `_id` is `{memberId}:{key}`. Senders read it in
creation order with a cursor (`Query.notifications`) and listen for new ones
(`Subscription.notificationCreated`); the collection, not the push, is the durable record.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from loyalty.channel import Channel
from loyalty.decisions.notice import Journey, Notice, NoticeStatus

Doc = dict[str, Any]
RETENTION_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class StoredNotice:
    id: str
    member_id: str
    notice: Notice


def notice_to_doc(member_id: str, n: Notice) -> Doc:
    return {
        "_id": f"{member_id}:{n.key}",
        "memberId": member_id,
        "journey": n.journey.value,
        "channel": n.channel.value if n.channel else None,
        "title": n.title,
        "message": n.message,
        "rewardId": n.reward_id,
        "status": n.status.value,
        "reason": n.reason,
        "createdAt": n.created_at,
        "notBefore": n.not_before,
        "key": n.key,
    }


def notice_from_doc(d: Doc) -> StoredNotice:
    return StoredNotice(
        id=d["_id"],
        member_id=d["memberId"],
        notice=Notice(
            key=d["key"],
            journey=Journey(d["journey"]),
            channel=Channel(d["channel"]) if d.get("channel") else None,
            title=d["title"],
            message=d["message"],
            status=NoticeStatus(d["status"]),
            created_at=d["createdAt"],
            not_before=d["notBefore"],
            reward_id=d.get("rewardId"),
            reason=d.get("reason"),
        ),
    )


def encode_cursor(created_at: datetime, notice_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{notice_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises ValueError on a cursor this module did not make."""
    text = base64.urlsafe_b64decode(cursor.encode()).decode()
    at, _, notice_id = text.partition("|")
    if not notice_id:
        raise ValueError("malformed cursor")
    return datetime.fromisoformat(at), notice_id


class Notifications:
    def __init__(self, rows: AsyncCollection[Doc]) -> None:
        self._rows = rows

    async def ensure_indexes(self) -> None:
        await self._rows.create_indexes(
            [
                IndexModel([("createdAt", ASCENDING), ("_id", ASCENDING)], name="created"),
                IndexModel([("memberId", ASCENDING), ("createdAt", ASCENDING)], name="member"),
                IndexModel(
                    [("createdAt", ASCENDING)], name="ttl", expireAfterSeconds=RETENTION_SECONDS
                ),
            ]
        )

    async def insert(
        self, session: AsyncClientSession, member_id: str, notices: tuple[Notice, ...]
    ) -> None:
        if notices:
            await self._rows.insert_many(
                [notice_to_doc(member_id, n) for n in notices], session=session
            )

    async def page(
        self,
        first: int,
        after: tuple[datetime, str] | None,
        *,
        member_id: str | None = None,
        status: NoticeStatus | None = None,
    ) -> list[StoredNotice]:
        """In creation order, after the cursor; filters are applied to that range."""
        query: Doc = {}
        if member_id is not None:
            query["memberId"] = member_id
        if after is not None:
            # createdAt >= t, then drop the ties up to the cursor's id: no top-level $or.
            query["createdAt"] = {"$gte": after[0]}
        rows: list[StoredNotice] = []
        cursor = self._rows.find(query).sort([("createdAt", ASCENDING), ("_id", ASCENDING)])
        async for doc in cursor:
            if after is not None and doc["createdAt"] == after[0] and doc["_id"] <= after[1]:
                continue
            if status is not None and doc["status"] != status.value:
                continue
            rows.append(notice_from_doc(doc))
            if len(rows) >= first:
                break
        return rows
