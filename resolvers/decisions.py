"""Resolvers of decisioning's reads and streams: the notification intents and store activity."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from db.notifications import decode_cursor
from loyalty.decisions.notice import NoticeStatus
from resolvers.access import allowed
from resolvers.context import Context
from resolvers.errors import forbidden
from schema.events import StoreEvent
from schema.member import Member
from schema.notifications import Notification
from subscriptions.notice_stream import new_notices
from subscriptions.store_stream import store_moments

Ctx = Info[Context, None]
MAX_NOTIFICATIONS = 100


def _check(info: Ctx, operation: str, store_id: str | None = None) -> None:
    viewer = info.context.viewer
    assert viewer is not None
    if not allowed(viewer, operation, None, store_id):
        raise forbidden()


async def notifications(
    info: Ctx,
    first: int = 50,
    after: str | None = None,
    status: NoticeStatus | None = None,
    member_id: strawberry.ID | None = None,
) -> list[Notification]:
    _check(info, "notifications")
    if not 0 <= first <= MAX_NOTIFICATIONS:
        raise GraphQLError(
            f"first must be between 0 and {MAX_NOTIFICATIONS}",
            extensions={"code": "INVALID_INPUT"},
        )
    try:
        since = decode_cursor(after) if after else None
    except ValueError as exc:
        raise GraphQLError("malformed cursor", extensions={"code": "INVALID_INPUT"}) from exc
    store = info.context.services.notifications
    assert store is not None
    rows = await store.page(first, since, member_id=member_id, status=status)
    return [Notification(state=row) for row in rows]


async def notification_created(info: Ctx) -> AsyncGenerator[Notification, None]:
    _check(info, "notificationCreated")
    stream = new_notices(info.context.services.bus)
    try:
        async for notice in stream:
            yield Notification(state=notice)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]


async def store_activity(info: Ctx, store_id: strawberry.ID) -> AsyncGenerator[StoreEvent, None]:
    _check(info, "storeActivity", store_id)
    stream = store_moments(info.context.services.bus, store_id)
    try:
        async for moment in stream:
            yield StoreEvent(
                store_id=strawberry.ID(moment.store_id),
                kind=moment.kind,
                member=Member(state=moment.member),
                at=moment.at,
            )
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
