"""The socket end of direct delivery (subscriptions/direct.py): one subscription on one socket.

The protocol handlers below give every subscription's operation task an outlet: its WebSocket
and the envelope its results travel in (`next` with its id, or the legacy protocol's `data`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import sys
from collections.abc import Container, Coroutine, Iterator, Mapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketState
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage

from api.shared_render import data_prefix
from resolvers.context import Context
from subscriptions.direct import ASLEEP, OUTLET, Sleep, Sleeping


class SocketOutlet:
    __slots__ = ("_pending", "_prefix", "_websocket", "closed", "may_sleep", "sleeping")

    def __init__(
        self, websocket: WebSocket, envelope: Mapping[str, object], *, may_sleep: bool = False
    ) -> None:
        self._websocket = websocket
        self._prefix = data_prefix(envelope)
        self._pending: asyncio.Task[None] | None = None
        self.closed = False  # the client completed the subscription
        self.may_sleep = may_sleep
        self.sleeping: Sleeping | None = None  # while its operation is ended, asleep

    def write(self, data_json: str) -> bool:
        if self.closed or self._pending is not None:
            return False
        if self._websocket.application_state != WebSocketState.CONNECTED:
            return False
        sending = self._websocket.send_text(f"{self._prefix}{data_json}}}}}")
        # Run the send without a task of its own: with room in the transport's buffer it
        # completes at once, as in the bare floor's loop.
        try:
            waiting = sending.send(None)
        except StopIteration:
            return True
        except Exception:
            return False  # the socket is closing; its operation ends with it
        # The transport is above its high-water mark (a slow reader): the message goes out when
        # it drains, in the background, and later events wake the stream, which waits for this
        # write and then coalesces into its bounded queue instead of buffering here.
        self._pending = asyncio.ensure_future(self._finish(sending, waiting))
        return True

    async def _finish(self, sending: Coroutine[Any, Any, None], waiting: Any) -> None:
        try:
            while True:
                try:
                    if waiting is None:
                        await asyncio.sleep(0)
                    else:
                        await asyncio.wait((waiting,))
                except asyncio.CancelledError:
                    sending.close()
                    raise
                try:
                    waiting = sending.send(None)
                except StopIteration:
                    return
        except Exception:  # the socket went away; its operation ends with it
            pass
        finally:
            self._pending = None

    async def settle(self) -> None:
        pending = self._pending
        if pending is not None:
            await asyncio.wait((pending,))


def _share_query_text(payload: object) -> None:
    """Every screen sends the same few subscription documents, and each operation keeps its
    text all day: one shared copy per text instead of one per subscription."""
    if isinstance(payload, dict) and isinstance(payload.get("query"), str):
        payload["query"] = sys.intern(payload["query"])


def _direct_socket(view: object, adapter: object) -> WebSocket | None:
    """The Starlette socket under strawberry's adapter, when direct delivery is on."""
    websocket = getattr(adapter, "ws", None)
    if getattr(view, "direct_delivery", False) and isinstance(websocket, WebSocket):
        return websocket
    return None


class _Outlets:
    """The outlets of one connection's subscriptions by id, to close them when completed.

    A plain dict, not a weak one (about 0.7 KiB less per connection): the outlets of operations
    that ended on their own are dropped when the next one opens."""

    def __init__(self) -> None:
        self._by_id: dict[str, SocketOutlet] = {}

    @contextlib.contextmanager
    def opening(
        self,
        websocket: WebSocket,
        envelope: dict[str, object],
        live: Container[str],
        *,
        may_sleep: bool = False,
    ) -> Iterator[None]:
        """The outlet is the operation task's: the task copies the context when created.
        `live`: the ids of the connection's running operations."""
        for ended in [i for i in self._by_id if i not in live]:
            del self._by_id[ended]
        outlet = SocketOutlet(websocket, envelope, may_sleep=may_sleep)
        self._by_id[str(envelope["id"])] = outlet
        token = OUTLET.set(outlet)
        try:
            yield
        finally:
            OUTLET.reset(token)

    def get(self, operation_id: str) -> SocketOutlet | None:
        return self._by_id.get(operation_id)

    def close(self, operation_id: str) -> SocketOutlet | None:
        outlet = self._by_id.pop(operation_id, None)
        if outlet is not None:
            outlet.closed = True
        return outlet


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with an outlet per subscription, whose subscriptions may sleep."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outlets = _Outlets()
        self._done: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        # the finished timeout task would otherwise stay referenced for the connection's life
        if self.connection_init_received:
            self.connection_init_timeout_task = None

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        _share_query_text(message.get("payload"))
        websocket = _direct_socket(self.view, self.websocket)
        if websocket is None or message["id"] in self.operations:
            await super().handle_subscribe(message)
            return
        envelope: dict[str, object] = {"id": message["id"], "type": "next"}
        with self._outlets.opening(websocket, envelope, self.operations, may_sleep=True):
            await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """strawberry's, but a subscription that falls asleep (subscriptions/direct.py) ends
        its task without `complete`: it stays registered under its id, asleep on its outlet."""
        woken = ASLEEP.get()
        try:
            await super().run_operation(operation)
        except Sleep as sleep:
            await self._asleep(operation, sleep.sleeping)
        finally:
            if woken is not None and not woken.taken:
                await woken.release()  # it ended before its stream carried on from the seat

    async def _asleep(self, operation: Operation[Context, None], sleeping: Sleeping) -> None:
        outlet = self._outlets.get(operation.id)
        if outlet is None or outlet.closed or self.operations.get(operation.id) is not operation:
            await sleeping.release()  # completed on the way here
            return
        outlet.sleeping = sleeping
        # Its ended task keeps its coroutine and context; the connection's one finished task
        # stands in for it (strawberry cancels and awaits an operation's task when it ends).
        operation.task = self._finished()
        # The operation task's context (request id, outlet): the woken task runs in a copy.
        context = contextvars.copy_context()
        wake = functools.partial(self._wake, operation, outlet, sleeping, context)
        if sleeping.seat.direct is None:  # woken on the way here
            wake()
        else:
            sleeping.wake = wake

    def _wake(
        self,
        operation: Operation[Context, None],
        outlet: SocketOutlet,
        sleeping: Sleeping,
        context: contextvars.Context,
    ) -> None:
        """From the bus: start the operation again, carrying on from the sleeping seat."""
        if outlet.sleeping is not sleeping:
            return
        outlet.sleeping = None
        context.run(ASLEEP.set, sleeping)
        task = asyncio.get_running_loop().create_task(
            self.run_operation(operation), context=context
        )
        task.add_done_callback(self._task_done)
        operation.task = task

    def _finished(self) -> asyncio.Task[None]:
        if self._done is None:
            self._done = asyncio.get_running_loop().create_task(asyncio.sleep(0))
        return self._done

    async def cleanup_operation(self, operation_id: str) -> None:
        outlet = self._outlets.close(operation_id)
        await super().cleanup_operation(operation_id)
        if outlet is not None and outlet.sleeping is not None:
            sleeping, outlet.sleeping = outlet.sleeping, None
            await sleeping.release()


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol with an outlet per subscription."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outlets = _Outlets()

    async def handle_start(self, message: StartMessage) -> None:
        _share_query_text(message.get("payload"))
        websocket = _direct_socket(self.view, self.websocket)
        if websocket is None:
            await super().handle_start(message)
            return
        if message["id"] in self.tasks:
            # the protocol replaces an operation started under the same id: end it first, so
            # ending it does not close the new one's outlet
            await self.cleanup_operation(message["id"])
        envelope: dict[str, object] = {"type": "data", "id": message["id"]}
        with self._outlets.opening(websocket, envelope, self.tasks):
            await super().handle_start(message)

    async def cleanup_operation(self, operation_id: str) -> None:
        self._outlets.close(operation_id)
        await super().cleanup_operation(operation_id)
