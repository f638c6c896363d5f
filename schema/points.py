"""A member's points: the balance, what expires soon, and the ledger page by page."""

from __future__ import annotations

import base64
from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from loyalty import model
from loyalty.money import points_value
from loyalty.points import expiring_soon
from loyalty.rewards import is_reversible
from resolvers.context import Context
from schema.enums import Channel, LedgerEntryKind, LedgerEntryStatus
from schema.shared import Money, Node, PageInfo, program_of

MAX_PAGE = 100


@strawberry.type(description="A block of points that expires at one time.")
class ExpiringPoints:
    points: int
    expires_at: datetime


@strawberry.type(description="The member's points: spendable, pending and ever earned.")
class PointsBalance:
    state: strawberry.Private[model.Balance]
    member: strawberry.Private[model.Member | None] = None

    @strawberry.field(description="Points spendable now.")
    def available(self) -> int:
        return self.state.available

    @strawberry.field(description="Earned, not yet spendable (inside the return window).")
    def pending(self) -> int:
        return self.state.pending

    @strawberry.field(description="All points ever earned.")
    def lifetime(self) -> int:
        return self.state.lifetime

    @strawberry.field(description="What `available` is worth at the program's point value.")
    def value(self, info: Info[Context, None]) -> Money:
        program = program_of(info)
        return Money(
            amount=str(points_value(self.state.available, program)),
            currency_code=program.currency,
        )

    @strawberry.field(
        description="Points due to expire within the program's notice window, soonest first "
        "(lots expiring at the same moment together). Empty while the program has no expiry."
    )
    def expiring_soon(self, info: Info[Context, None]) -> list[ExpiringPoints]:
        if self.member is None:
            return []
        due = expiring_soon(self.member, info.context.now, program_of(info))
        return [ExpiringPoints(points=points, expires_at=at) for at, points in due]


@strawberry.type(description="One movement of points. A member's entries sum to its balance.")
class LedgerEntry(Node):
    state: strawberry.Private[model.LedgerEntry]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.state.id)

    @strawberry.field
    def kind(self) -> LedgerEntryKind:
        return self.state.kind

    @strawberry.field(description="Signed: earning positive, spending negative.")
    def points(self) -> int:
        return self.state.points

    @strawberry.field(description="available + pending right after this entry.")
    def balance_after(self) -> int:
        return self.state.balance_after

    @strawberry.field
    def channel(self) -> Channel | None:
        return self.state.channel

    @strawberry.field
    def store_id(self) -> strawberry.ID | None:
        return strawberry.ID(self.state.store_id) if self.state.store_id else None

    @strawberry.field
    def description(self) -> str:
        return self.state.description

    @strawberry.field(description="Who and why, for adjustments.")
    def reason(self) -> str | None:
        return self.state.reason

    @strawberry.field
    def occurred_at(self) -> datetime:
        return self.state.occurred_at

    @strawberry.field
    def status(self) -> LedgerEntryStatus:
        return self.state.status

    @strawberry.field(description="When a PENDING entry becomes AVAILABLE.")
    def available_at(self) -> datetime | None:
        return self.state.available_at

    @strawberry.field(description="False once reversed, or for kinds that cannot be reversed.")
    def reversible(self) -> bool:
        return is_reversible(self.state)

    @strawberry.field(description="Who made the change: the token's subject (agent, till, job).")
    def actor(self) -> str:
        return self.state.actor

    @strawberry.field(description="For a REVERSAL: the id of the entry it takes back.")
    def reverses(self) -> strawberry.ID | None:
        return strawberry.ID(self.state.reverses) if self.state.reverses else None

    @strawberry.field(description="For a purchase: the money returned so far (decimal string).")
    def returned_amount(self) -> str | None:
        return self.state.returned_amount


@strawberry.type
class LedgerEntryEdge:
    cursor: str
    node: LedgerEntry


@strawberry.type(description="A page of the member's activity, newest first.")
class LedgerEntryConnection:
    edges: list[LedgerEntryEdge]
    page_info: PageInfo


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind != "seq":
            raise ValueError(kind)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphQLError("malformed cursor", extensions={"code": "INVALID_INPUT"}) from exc
