"""storeActivity: what happens at one store, for its POS and kiosk screens.

Committed changes made at a store are already published on `store:{id}` with the member's
snapshot (subscriptions/bus.py). This turns each into the moments staff care about: a check-in
(an activity recorded there, e.g. STORE_VISIT), a purchase, a redemption, a reward used at the
till and a tier change. A RESYNC marker is skipped: a store feed is live, not a state to restore.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import Gauge

from loyalty.model import ChangeKind, Member
from subscriptions.bus import EventBus
from subscriptions.channels import store_channel
from subscriptions.events import RESYNC, MemberEvent, decode

STORE_FEEDS_OPEN = Gauge(
    "store_activity_open", "Open storeActivity streams.", multiprocess_mode="livesum"
)


@dataclass(frozen=True)
class StoreMoment:
    store_id: str
    kind: ChangeKind
    member: Member
    at: datetime


def moments(event: MemberEvent, store_id: str) -> list[StoreMoment]:
    """The moments one committed change stands for at the store, in a stable order."""
    changes = set(event.changes)
    kinds: list[ChangeKind] = []
    if ChangeKind.ACTIVITY_RECORDED in changes:
        kinds.append(ChangeKind.ACTIVITY_RECORDED)  # a check-in (its points are part of it)
    elif ChangeKind.POINTS_EARNED in changes:
        kinds.append(ChangeKind.POINTS_EARNED)  # a purchase
    kinds += [
        k
        for k in (ChangeKind.POINTS_REDEEMED, ChangeKind.REWARD_USED, ChangeKind.TIER_CHANGED)
        if k in changes
    ]
    if event.entry is not None:
        at = event.entry.occurred_at
    elif event.published_at is not None:
        at = datetime.fromtimestamp(event.published_at, UTC)
    else:
        at = event.member.last_activity_at or datetime.now(UTC)
    return [StoreMoment(store_id, kind, event.member, at) for kind in kinds]


async def store_moments(bus: EventBus, store_id: str) -> AsyncIterator[StoreMoment]:
    async with bus.subscribe(store_channel(store_id)) as subscription:
        STORE_FEEDS_OPEN.inc()
        try:
            async for message in subscription:
                if message.message == RESYNC:
                    continue
                for moment in moments(decode(message.message), store_id):
                    yield moment
        finally:
            STORE_FEEDS_OPEN.dec()
