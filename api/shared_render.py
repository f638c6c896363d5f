"""Render once, send to many: one execution and one JSON encoding per event and distinct
subscription, shared by every socket subscribed to it.

strawberry runs a subscription per socket: for each event graphql-core executes the selection
set with the event as root value (~100 us for a member), and the protocol handler JSON-encodes
the message for that socket. Below both protocol handlers, two memos remove that per-socket work:

- `SharedRenderExecutor` (the schema's graphql-core executor): the per-event execution of a
  subscription is memoised on the event object, keyed by the operation (the parsed document
  is cached, so one query text is one object), the values of the variables used inside the
  selection (not those of the root field, such as sinceVersion) and the viewer's visibility.
  Events are shared objects: the bus decodes a message once per process and the resolver
  wraps each decoded event once (resolvers/subscriptions.py).
- `encode_message`: the `data` of a shared result is JSON-encoded once; each socket's message
  is its own envelope (its subscription id, `next` or `data`) around those same bytes.

A catch-up (sinceVersion, resync) is one client's own event and is rendered for it alone.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from graphql import OperationDefinitionNode, OperationType, VariableNode, visit
from graphql.language import FieldNode, FragmentDefinitionNode, Visitor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.access import Viewer, masks_personal_data
from subscriptions.direct import RENDERER

_MEMO_ATTRIBUTE = "_shared_renders"
_INNER_VARIABLES: OrderedDict[int, tuple[OperationDefinitionNode, tuple[str, ...]]] = OrderedDict()
_ENCODED: OrderedDict[int, tuple[object, str]] = OrderedDict()
_CACHE_SIZE = 1024


def visibility(viewer: Viewer | None) -> object:
    """What decides which parts of a member a viewer sees: whether personal data is masked for
    it (an agent's push is never the admin's rendering), and the role, so that a later rule by
    role cannot leak one viewer's rendering to another. A MEMBER sees only its own member and
    POS/KIOSK scope is checked when subscribing, so nothing per viewer is rendered below that."""
    if viewer is None:
        return None
    return (viewer.role, masks_personal_data(viewer))


class _Variables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.names.add(node.name.value)


def _inner_variables(
    operation: OperationDefinitionNode, fragments: Mapping[str, Any]
) -> tuple[str, ...]:
    """Variables used inside the root field's selection (and fragments), not in its arguments."""
    cached = _INNER_VARIABLES.get(id(operation))
    if cached is not None and cached[0] is operation:
        return cached[1]
    collector = _Variables()
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode) and selection.selection_set is not None:
            visit(selection.selection_set, collector)
        elif not isinstance(selection, FieldNode):
            visit(selection, collector)
    for fragment in fragments.values():
        if isinstance(fragment, FragmentDefinitionNode):
            visit(fragment, collector)
    names = tuple(sorted(collector.names))
    _INNER_VARIABLES[id(operation)] = (operation, names)
    if len(_INNER_VARIABLES) > _CACHE_SIZE:
        _INNER_VARIABLES.popitem(last=False)
    return names


class SharedRenderExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.operation.operation == OperationType.SUBSCRIPTION:
            # Found once per subscription, in the task of its operation: the stream's resolver
            # finds it there for direct delivery (subscriptions/direct.py).
            RENDERER.set(_renderer_for(self))

    def build_per_event_executor(self, payload: Any) -> Any:
        """graphql-core's copy for one event, with a memo of collected subfields of its own.
        graphql-core 3.3.2 shares the subscription's memo with every event's copy, and each
        event adds entries keyed by lists it built itself, which never match again: the memo
        of a subscription, or of a renderer shared by a process's subscribers, grew by an entry
        per object field per event for as long as it lived."""
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor

    def build_response(self, data: dict[str, Any] | None) -> Any:
        result = super().build_response(data)
        if self.operation.operation != OperationType.SUBSCRIPTION:
            # A query or mutation is done here. graphql-core's executor holds helpers bound to
            # itself, a reference cycle that kept the request's context, request and response
            # alive until the collector ran; without it they go when the request does.
            # (A subscription's executor lives on and its per-event copies use the helpers.)
            del self.async_helpers
        return result

    def share_key(self) -> tuple[object, ...]:
        """What makes two executions of this operation on one event equal."""
        names = _inner_variables(self.operation, self.fragment_definitions)
        values = self.variable_values.coerced
        inner = json.dumps([values.get(n) for n in names], default=str) if names else ""
        viewer = getattr(self.context_value, "viewer", None)
        return (id(self.operation), inner, visibility(viewer))

    def shared_execution(self, key: tuple[object, ...], serially: bool | None = None) -> Any:
        """This event's execution for `key`: the result, or the task computing it."""
        memo: dict[tuple[object, ...], tuple[object, Any]] = vars(self.root_value).setdefault(
            _MEMO_ATTRIBUTE, {}
        )
        hit = memo.get(key)
        if hit is not None:
            return hit[1]
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            # One task renders; every sharer awaits it shielded, so a subscriber that leaves
            # mid-render does not cancel it for the others.
            result = asyncio.ensure_future(result)
        memo[key] = (self.operation, result)
        return result

    def execute_operation(self, serially: bool | None = None) -> Any:
        payload = self.root_value
        if self.operation.operation != OperationType.SUBSCRIPTION or not hasattr(
            payload, "__dict__"
        ):
            return super().execute_operation(serially)
        return _share(self.shared_execution(self.share_key(), serially))


class ExecutorRenderer:
    """Renders an event for direct delivery through a subscription's executor, so the result
    is the one its operation would have sent (and shares the same memo).

    Subscriptions with equal keys render equally, so they share one renderer and the executor
    of the first of them: a sleeping subscription keeps its renderer, and an executor of its
    own would be about 3.5 KiB of it (benchmarks/RESULTS.md)."""

    __slots__ = ("__weakref__", "_executor", "key")

    def __init__(self, executor: SharedRenderExecutor, key: tuple[object, ...]) -> None:
        self._executor = executor  # holds the operation, so id(operation) in the key stays its own
        self.key = key

    def render(self, root: object) -> str | None:
        per_event = self._executor.build_per_event_executor(root)
        assert isinstance(per_event, SharedRenderExecutor)
        result = per_event.shared_execution(self.key, False)
        if isinstance(result, asyncio.Future):
            # A selection that waits on I/O: its subscribers' own operations await the task.
            if not result.done() or result.cancelled() or result.exception() is not None:
                return None
            result = result.result()
        if result.errors or not isinstance(result.data, dict):
            return None
        return _encoded(result.data)


_RENDERERS: weakref.WeakValueDictionary[tuple[object, ...], ExecutorRenderer] = (
    weakref.WeakValueDictionary()
)


def _renderer_for(executor: SharedRenderExecutor) -> ExecutorRenderer:
    key = executor.share_key()
    found = _RENDERERS.get(key)
    if found is None:
        found = _RENDERERS[key] = ExecutorRenderer(executor, key)
    return found


def _share(result: Any) -> Any:
    if isinstance(result, asyncio.Future):
        if result.done():  # the usual case for all but the first sharer: no await at all
            return result.result()
        return asyncio.shield(result)
    return result


def _encoded(data: object) -> str:
    hit = _ENCODED.get(id(data))
    if hit is not None and hit[0] is data:
        _ENCODED.move_to_end(id(data))
        return hit[1]
    text = json.dumps(data, separators=(",", ":"))
    _ENCODED[id(data)] = (data, text)
    if len(_ENCODED) > _CACHE_SIZE:
        _ENCODED.popitem(last=False)
    return text


def data_prefix(envelope: Mapping[str, object]) -> str:
    """The start of a result message up to its `data`; the message is this + data + `}}`."""
    head = json.dumps(dict(envelope), separators=(",", ":"))
    return f'{head[:-1]},"payload":{{"data":'


def encode_message(message: Mapping[str, object]) -> str:
    """The wire text of a protocol message; a result's `data` is encoded once for all sockets."""
    payload = message.get("payload")
    if (
        message.get("type") in ("next", "data")
        and isinstance(payload, Mapping)
        and payload.keys() == {"data"}
        and isinstance(payload["data"], dict)
    ):
        envelope = {k: v for k, v in message.items() if k != "payload"}
        return f"{data_prefix(envelope)}{_encoded(payload['data'])}}}}}"
    return json.dumps(message, separators=(",", ":"))
