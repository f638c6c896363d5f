"""Direct delivery: a live member event written once per rendering straight to every socket.

strawberry runs one operation per subscribed socket. Left to itself, every event wakes every
socket's operation: its queue, the member stream and resolver generators, graphql-core's
per-event executor, strawberry's result hooks and the protocol handler, about 250 us per socket
even with the rendering shared. A subscriber that is up to date and waiting does not need any
of that for the next version: it needs the same bytes as every other socket that asked for the
same selection with the same visibility, inside its own envelope (its subscription id).

So a member stream with nothing queued *parks* its bus seat with a `Direct`: how to render an
event for it (`Renderer`, keyed by what makes two renderings equal) and where to write the
result (`Outlet`, the socket with this subscription's envelope). The bus hands each event for
parked seats to `fan_out`, which renders once per key and writes to each outlet. Whatever is not
the plain next version (a gap, a resync, a merge's tombstone, a rendering with errors or one that
needs I/O, a socket that is still busy with its previous message) wakes the seat's own stream,
which then does exactly what it did before direct delivery existed, and parks again when its
queue is empty.

The protocol handlers (api/outlets.py) and the executor (api/shared_render.py) set the context
variables for the operation's task (OUTLET, RENDERER, and ASLEEP when it wakes a sleeping
subscription); the member stream's resolver reads them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from subscriptions.events import RESYNC, MemberEvent, decode_shared
from subscriptions.metrics import BUS_DELIVERY_LAG, DIRECT_WRITES

if TYPE_CHECKING:
    from subscriptions.bus import Subscription


class Outlet(Protocol):
    @property
    def may_sleep(self) -> bool:
        """Whether its transport can end the subscription's operation while it waits and start
        it again when woken (see Sleep)."""
        ...

    def write(self, data_json: str) -> bool:
        """Write one result's `data` (JSON) in this subscription's envelope; False when the
        socket is gone or still busy with the previous message (its stream takes over)."""
        ...

    async def settle(self) -> None:
        """Wait until a write that the transport held back has gone out."""
        ...


class Renderer(Protocol):
    @property
    def key(self) -> Hashable:
        """Equal for subscriptions whose renderings of any event are equal."""
        ...

    def render(self, root: object) -> str | None:
        """The `data` of the event as JSON, or None when it cannot be had without waiting or
        has errors (the stream renders it the usual way)."""
        ...


@dataclass(frozen=True, slots=True)
class Direct:
    renderer: Renderer
    outlet: Outlet
    wrap: Callable[[MemberEvent], object]  # the event as the subscription's root value


class Sleeping:
    """A subscription asleep: its stream ended while parked, its seat stays on the bus with its
    direct delivery. `taken` once a stream carries on from it. One object per sleeping
    subscription, holding what the stream would need, rather than a closure per callback."""

    __slots__ = ("member_id", "seat", "taken", "uncount", "wake")

    def __init__(self, member_id: str, seat: Subscription) -> None:
        self.member_id = member_id  # the member followed (a merge's survivor, say)
        self.seat = seat
        self.taken = False
        # Set by the per-connection cap (schema/limits.py): released, it no longer counts.
        self.uncount: Callable[[], None] | None = None
        # Set by the protocol handler once the operation has ended: starts it again.
        self.wake: Callable[[], None] | None = None

    async def release(self) -> None:
        """Give the seat up: the subscription ended while asleep."""
        raise NotImplementedError

    async def recheck(self) -> None:
        """A resync while asleep: wake the seat only if it missed a version."""
        raise NotImplementedError


class Sleep(BaseException):
    """Raised by a parked member stream whose outlet may sleep. A subscription waiting for its
    next event holds strawberry's whole operation (its task, generators, executor, extension
    hooks: about 18 KiB, benchmarks/RESULTS.md); unwinding it leaves only the seat, the outlet and
    this record. A BaseException, so no `except Exception` on the way makes it an error result;
    the protocol handler (api/outlets.py) catches it and starts the operation again when the
    bus wakes the seat (`Sleeping.wake`): a gap, a tombstone, a busy socket, or a resync that
    finds it behind."""

    def __init__(self, sleeping: Sleeping) -> None:
        super().__init__()
        self.sleeping = sleeping


OUTLET: ContextVar[Outlet | None] = ContextVar("subscription_outlet", default=None)
RENDERER: ContextVar[Renderer | None] = ContextVar("subscription_renderer", default=None)
# In the task of an operation started again: the subscription it carries on.
ASLEEP: ContextVar[Sleeping | None] = ContextVar("subscription_asleep", default=None)


def current(wrap: Callable[[MemberEvent], object]) -> Direct | None:
    """The direct delivery of the operation running in this task, if its transport offers one."""
    outlet, renderer = OUTLET.get(), RENDERER.get()
    if outlet is None or renderer is None:
        return None
    return Direct(renderer, outlet, wrap)


def fan_out(message: str, seats: list[Subscription]) -> list[Subscription]:
    """Deliver one bus message to parked seats; returns the seats whose own stream must run."""
    if message == RESYNC:
        return seats
    event = decode_shared(message)
    if event.member.merged_into is not None:
        return seats  # a tombstone: the stream moves its subscriber to the survivor
    wake: list[Subscription] = []
    groups: dict[Hashable, list[tuple[Subscription, Direct]]] = {}
    for seat in seats:
        if event.version <= seat.last:
            continue  # already sent (a duplicate publish, say by the outbox relay)
        direct = seat.direct
        if direct is None or event.version != seat.last + 1:
            wake.append(seat)  # a gap: the stream resyncs from the database
            continue
        groups.setdefault(direct.renderer.key, []).append((seat, direct))
    for group in groups.values():
        first = group[0][1]
        data = first.renderer.render(first.wrap(event))
        if data is None:
            wake.extend(seat for seat, _ in group)
            continue
        written = 0
        for seat, direct in group:
            if direct.outlet.write(data):
                seat.last = event.version
                written += 1
            else:
                wake.append(seat)
        DIRECT_WRITES.inc(written)
    if groups and event.published_at is not None:
        BUS_DELIVERY_LAG.observe(max(0.0, time.time() - event.published_at))
    return wake
