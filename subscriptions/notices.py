"""Notification intents on the bus: published after the commit that wrote them, for senders
listening on `notificationCreated`. A missed message is not lost: the `notifications`
collection holds every intent and `Query.notifications` pages through it with a cursor."""

from __future__ import annotations

from bson import json_util
from bson.json_util import JSONMode, JSONOptions

from db.commit import Committed
from db.notifications import StoredNotice, notice_from_doc, notice_to_doc
from subscriptions.bus import EventBus
from subscriptions.channels import notifications_channel

_JSON = JSONOptions(json_mode=JSONMode.RELAXED, tz_aware=True)


def encode(done: Committed) -> str:
    return json_util.dumps(
        [notice_to_doc(done.member.id, n) for n in done.notices], json_options=_JSON
    )


def decode(message: str) -> list[StoredNotice]:
    return [notice_from_doc(d) for d in json_util.loads(message, json_options=_JSON)]


class NoticePublisher:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def __call__(self, done: Committed) -> None:
        await self._bus.publish_all([notifications_channel()], encode(done))
