"""A cap on the subscriptions one WebSocket connection holds at once.

Each subscription costs a queue and a bus listener; one connection may not hold more than
MAX_SUBSCRIPTIONS_PER_CONNECTION. Counted per connection context (one context serves the whole
connection), released when the subscription ends however it ends; a sleeping subscription
(subscriptions/direct.py) still counts.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import FieldExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver, SyncExtensionResolver
from strawberry.types import Info

from subscriptions.direct import ASLEEP, Sleep

MAX_SUBSCRIPTIONS_PER_CONNECTION = 50

_ATTRIBUTE = "_open_subscriptions"  # kept on the connection's context object itself


def open_subscriptions(context: object) -> int:
    count = getattr(context, _ATTRIBUTE, 0)
    return count if isinstance(count, int) else 0


def _count(context: object, delta: int) -> None:
    setattr(context, _ATTRIBUTE, max(0, open_subscriptions(context) + delta))


class SubscriptionCap(FieldExtension):
    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Info, **kwargs: Any) -> Any:
        raise NotImplementedError("subscriptions resolve asynchronously")

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any
    ) -> Any:
        context = info.context
        # A sleeping subscription woken (subscriptions/direct.py) is counted already.
        woken = ASLEEP.get() is not None
        if not woken and open_subscriptions(context) >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            raise GraphQLError(
                f"at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection",
                extensions={"code": "BAD_REQUEST"},
            )
        result = next_(source, info, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        if not woken:
            _count(context, 1)
        return _counted(result, context)


async def _counted(stream: AsyncIterator[Any], context: object) -> AsyncGenerator[Any, None]:
    asleep = False
    try:
        async for item in stream:
            yield item
    except Sleep as sleep:
        # Still open while asleep: uncounted when it is released, or when it ends once woken.
        asleep = True
        sleep.sleeping.uncount = functools.partial(_count, context, -1)
        raise
    finally:
        if not asleep:
            _count(context, -1)
        closing = getattr(stream, "aclose", None)
        if closing is not None:
            await closing()
