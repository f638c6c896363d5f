"""recordActionOutcome: check the input, find the member, check access, apply the rule in one
transaction (loyalty/decisions/outcomes.py), like every other write."""

from __future__ import annotations

from typing import Any

from db.commit import Committed
from db.tx_reads import TxReads
from loyalty.changes import Outcome
from loyalty.decisions import outcomes
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import Member
from loyalty.program import Channel
from resolvers.commands import Commands


class DecisionCommands(Commands):
    async def record_action_outcome(
        self,
        member_id: str,
        *,
        action_id: str,
        outcome: outcomes.ActionOutcome,
        channel: Channel,
        idempotency_key: str | None,
        request: dict[str, Any],
    ) -> Committed:
        member = await self._member("recordActionOutcome", member_id, None)
        owner, key = outcomes.parse_action_id(action_id)
        if owner not in (member_id, member.id):
            raise DomainError(
                ErrorCode.INVALID_INPUT, "the action is another member's", ("input", "actionId")
            )
        idem = self._idem("recordActionOutcome", idempotency_key, request)
        program = self._s.program
        now = self._now

        async def decide(current: Member | None, _: TxReads) -> Outcome:
            assert current is not None
            return outcomes.record_outcome(current, key, outcome, channel, program, now)

        return await self._commit(member_id, decide, idem, ("input",))
