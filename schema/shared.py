"""What the object types share: the Node interface, Money, PageInfo of every connection, and
the program definition their resolvers read."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from loyalty.program import ProgramDef
from resolvers.context import Context


def program_of(info: Info[Context, None]) -> ProgramDef:
    return info.context.services.program


@strawberry.interface(description="An object with a global, opaque id (see `Query.node`).")
class Node:
    @strawberry.field
    def id(self) -> strawberry.ID:
        raise NotImplementedError


@strawberry.type(description="An amount of money.")
class Money:
    amount: str = strawberry.field(description='Decimal as a string, e.g. "12.50".')
    currency_code: str = strawberry.field(description="ISO-4217 currency code.")


@strawberry.type(description="Paging information of a connection.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
