"""What is pushed to subscribers: a member's committed changes and a store's events."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.enums import ChangeKind
from schema.member import Member
from schema.points import LedgerEntry


@strawberry.type(description="One committed change of a member, pushed to its subscribers.")
class MemberUpdate:
    member_id: strawberry.ID
    version: int = strawberry.field(description="The member's version after this change.")
    changes: list[ChangeKind]
    member: Member = strawberry.field(description="The state at `version`.")
    entry: LedgerEntry | None = strawberry.field(
        description="The ledger entry behind this change, when there is one."
    )
    coalesced: bool = strawberry.field(
        default=False,
        description="True when this message stands for several changes (a catch-up after "
        "`sinceVersion`, a reconnect or a slow connection); `entry` is then null.",
    )


@strawberry.type(description="Something that happened at a store, for its POS and kiosk screens.")
class StoreEvent:
    store_id: strawberry.ID
    kind: ChangeKind
    member: Member
    at: datetime
