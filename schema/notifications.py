"""Notification intents for email, SMS and push senders (SERVICE and ADMIN)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db.notifications import StoredNotice, encode_cursor
from schema.enums import Channel, Journey, NotificationStatus


@strawberry.type(
    description="What a journey wants sent: to whom, on which channel, not before when."
)
class Notification:
    state: strawberry.Private[StoredNotice]

    @strawberry.field(description="Unique and stable: a sender may use it to send once.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.state.id)

    @strawberry.field
    def member_id(self) -> strawberry.ID:
        return strawberry.ID(self.state.member_id)

    @strawberry.field
    def journey(self) -> Journey:
        return self.state.notice.journey

    @strawberry.field(description="Null when the member consented to no message channel.")
    def channel(self) -> Channel | None:
        return self.state.notice.channel

    @strawberry.field
    def title(self) -> str:
        return self.state.notice.title

    @strawberry.field
    def message(self) -> str:
        return self.state.notice.message

    @strawberry.field(description="The catalogue reward it is about, by its slug.")
    def reward_id(self) -> str | None:
        return self.state.notice.reward_id

    @strawberry.field
    def status(self) -> NotificationStatus:
        return self.state.notice.status

    @strawberry.field(description="Why it was suppressed (no consent, a cap).")
    def reason(self) -> str | None:
        return self.state.notice.reason

    @strawberry.field
    def created_at(self) -> datetime:
        return self.state.notice.created_at

    @strawberry.field(description="Send at or after this time (the end of quiet hours).")
    def not_before(self) -> datetime:
        return self.state.notice.not_before

    @strawberry.field(description="Pass as `after` to read the ones created later.")
    def cursor(self) -> str:
        return encode_cursor(self.state.notice.created_at, self.state.id)
