"""The points economy's write use cases: activities, adjustments, reversals and returns.

Same shape as resolvers/commands.py (check input, find the member, check access, run the rule
in one transaction); the rules are in loyalty/activities, adjustments and returns.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from db import ids
from db.commit import Committed
from db.tx_reads import TxReads
from loyalty import activities, adjustments, returns
from loyalty.changes import Outcome
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import LedgerEntry, LedgerEntryKind, Member
from loyalty.money import parse_amount
from loyalty.program import ActivityKind, Channel
from resolvers.access import Role
from resolvers.commands import MAX_ORDER_ID, Commands, check_at, check_text, invalid

MAX_ATTRIBUTES = 4096  # characters of an activity's attributes JSON


def parse_attributes(text: str | None) -> dict[str, str]:
    """An activity's attributes: a JSON object of scalar values, kept as text."""
    if text is None or not text.strip():
        return {}
    where = ("input", "attributes")
    if len(text) > MAX_ATTRIBUTES:
        raise invalid(f"at most {MAX_ATTRIBUTES} characters", "attributes")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError:
        raise DomainError(ErrorCode.INVALID_INPUT, "attributes must be a JSON object", where)
    if not isinstance(raw, dict) or not all(
        isinstance(v, str | int | float | bool) for v in raw.values()
    ):
        raise DomainError(
            ErrorCode.INVALID_INPUT, "attributes must be a JSON object of plain values", where
        )
    return {str(k)[:100]: str(v)[:500] for k, v in raw.items()}


class PointsCommands(Commands):
    async def record_activity(
        self,
        member_id: str,
        *,
        kind: ActivityKind,
        channel: Channel,
        store_id: str | None,
        attributes: str | None,
        occurred_at: datetime | None,
        idempotency_key: str,
        request: dict[str, Any],
    ) -> Committed:
        store_id = self._store(store_id)
        await self._member("recordActivity", member_id, store_id)
        program = self._s.program
        values = parse_attributes(attributes)
        when = check_at(occurred_at, self._now, "occurredAt")
        idem = self._idem("recordActivity", idempotency_key, request)
        ctx = self._ctx(channel, store_id)

        async def decide(member: Member | None, _: TxReads) -> Outcome:
            assert member is not None
            return activities.record_activity(member, kind, values, program, ctx, when)

        return await self._commit(member_id, decide, idem, ("input",))

    async def adjust_points(
        self,
        member_id: str,
        *,
        points: int,
        reason: str,
        idempotency_key: str,
        request: dict[str, Any],
    ) -> Committed:
        await self._member("adjustPoints", member_id, None)
        adjustments.check_reason(reason)
        program = self._s.program
        if self._viewer.role is Role.AGENT:
            adjustments.check_agent_limit(points, program.agent_adjustment_limit)
        idem = self._idem("adjustPoints", idempotency_key, request)
        ctx = self._ctx()

        async def decide(member: Member | None, _: TxReads) -> Outcome:
            assert member is not None
            return adjustments.adjust(member, points, reason, program, ctx)

        return await self._commit(member_id, decide, idem, ("input",))

    async def reverse_entry(
        self, entry_id: str, *, reason: str, idempotency_key: str, request: dict[str, Any]
    ) -> Committed:
        field = ("input", "entryId")
        found = (
            (await self._s.reads.entries([entry_id])).get(entry_id)
            if ids.kind_of(entry_id) == ids.ENTRY
            else None
        )
        if found is None:
            raise DomainError(ErrorCode.NOT_FOUND, "no such entry", field)
        await self._member("reverseEntry", found.member_id, None, "entryId")
        text = adjustments.check_reason(reason)
        program = self._s.program
        idem = self._idem("reverseEntry", idempotency_key, request)
        ctx = self._ctx()

        async def decide(member: Member | None, tx: TxReads) -> Outcome:
            assert member is not None
            entry = await tx.entry(entry_id)  # as of this transaction: reversed meanwhile?
            assert entry is not None
            dependents = await _dependents(tx, entry)
            return returns.reverse_entry(member, entry, dependents, text, program, ctx)

        return await self._commit(found.member_id, decide, idem, field)

    async def record_return(
        self,
        member_id: str,
        *,
        order_id: str,
        returned_amount: str,
        reason: str | None,
        store_id: str | None,
        idempotency_key: str,
        request: dict[str, Any],
    ) -> Committed:
        store_id = self._store(store_id)
        await self._member("recordReturn", member_id, store_id)
        program = self._s.program
        value = parse_amount(returned_amount, program, ("input", "returnedAmount"))
        order = check_text(order_id, MAX_ORDER_ID, "orderId")
        text = adjustments.check_reason(reason) if reason else None
        idem = self._idem("recordReturn", idempotency_key, request)
        ctx = self._ctx(None, store_id)

        async def decide(member: Member | None, tx: TxReads) -> Outcome:
            assert member is not None
            found: list[LedgerEntry] = []
            # The order may have been bought on an account merged into this one since.
            for owner in (member.id, *reversed(member.merged_from)):
                found = await tx.entries_for_order(owner, order)
                if found:
                    break
            earn = next((e for e in found if e.kind is LedgerEntryKind.EARN), None)
            if earn is None:
                raise DomainError(
                    ErrorCode.NOT_FOUND, "no purchase with this order id", ("input", "orderId")
                )
            dependents = [e for e in found if e.id != earn.id]
            return returns.record_return(member, earn, value, dependents, text, program, ctx)

        return await self._commit(member_id, decide, idem, ("input",))


async def _dependents(tx: TxReads, entry: LedgerEntry) -> list[LedgerEntry]:
    """The other entries of the entry's order: bonuses that depended on the purchase."""
    if entry.order_id is None:
        return []
    return [
        e for e in await tx.entries_for_order(entry.member_id, entry.order_id) if e.id != entry.id
    ]
