"""notificationCreated: notification intents as they commit, for email/SMS/push senders."""

from __future__ import annotations

from collections.abc import AsyncIterator

from db.notifications import StoredNotice
from subscriptions.bus import EventBus
from subscriptions.channels import notifications_channel
from subscriptions.events import RESYNC
from subscriptions.notices import decode


async def new_notices(bus: EventBus) -> AsyncIterator[StoredNotice]:
    async with bus.subscribe(notifications_channel()) as subscription:
        async for message in subscription:
            if message.message == RESYNC:
                continue  # the collection is the record: a sender that fell behind pages it
            for notice in decode(message.message):
                yield notice
