"""The identity use cases: link and unlink identifiers, merge two accounts of one person.

Like the other commands: check the input, find the member, check access, run the rule inside
one transaction. The rules are in loyalty/identity.py and loyalty/merge.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from db import ids
from db.commit import Committed, TxReads
from loyalty import identity, merge
from loyalty.changes import Outcome, Related
from loyalty.errors import DomainError, ErrorCode
from loyalty.model import IdentifierKind, LedgerEntry, Member
from resolvers.commands import Commands


class IdentityCommands(Commands):
    async def link_identifier(
        self, member_id: str, *, kind: IdentifierKind, value: str, verified: bool | None
    ) -> Committed:
        """Claim one more identifier for the member; one already held changes nothing (unless
        it is now verified), one held by another member gets IDENTIFIER_TAKEN."""
        member = await self._member("linkIdentifier", member_id, None)
        field = ("input", "identifier", "value")
        clean = identity.normalise(kind, value, self._s.program.default_phone_region, field)
        if identity.link_changes_nothing(member, kind, clean, verified):
            return Committed(member, (), (), None, None)
        ctx = self._ctx()

        async def decide(current: Member | None, _: TxReads) -> Outcome:
            assert current is not None
            return identity.link(current, kind, clean, verified, ctx)

        return await self._commit(member_id, decide, None, field)

    async def unlink_identifier(
        self, member_id: str, *, kind: IdentifierKind, value: str
    ) -> Committed:
        """Release an identifier: it no longer finds the member and is free for another."""
        await self._member("unlinkIdentifier", member_id, None)
        field = ("input", "identifier", "value")
        clean = identity.normalise(kind, value, self._s.program.default_phone_region, field)
        ctx = self._ctx()

        async def decide(current: Member | None, _: TxReads) -> Outcome:
            assert current is not None
            return identity.unlink(current, kind, clean, ctx)

        return await self._commit(member_id, decide, None, field)

    async def merge_members(
        self,
        survivor_id: str,
        merged_id: str,
        *,
        reason: str,
        idempotency_key: str | None,
        request: dict[str, Any],
    ) -> Committed:
        """Move everything of `merged_id` to `survivor_id` in one transaction; the merged
        member becomes a tombstone leading to the survivor."""
        for field, member_id in (("survivorId", survivor_id), ("mergedId", merged_id)):
            if (
                ids.kind_of(member_id) != ids.MEMBER
                or await self._s.reads.member(member_id) is None
            ):
                raise DomainError(ErrorCode.NOT_FOUND, "no such member", ("input", field))
        self._authorise("mergeMembers", survivor_id, None)
        text = merge.check_reason(reason)
        idem = self._idem("mergeMembers", idempotency_key, request)
        program = self._s.program
        ctx = self._ctx()

        async def decide(survivor: Member | None, tx: TxReads) -> Outcome:
            assert survivor is not None
            merged = await tx.member(merged_id)
            assert merged is not None
            if survivor.id != survivor_id:
                # The survivor named was itself merged: refuse rather than guess.
                raise DomainError(
                    ErrorCode.ALREADY_MERGED,
                    f"the survivor was itself merged into {survivor.id}: merge into that one",
                    ("input", "survivorId"),
                )
            rewards = await tx.issued_reward_ids(merged.id)
            kept, gone = merge.merge(survivor, merged, text, rewards, program, ctx)

            def tombstone(current: Member, _: list[LedgerEntry]) -> Outcome:
                # Read in this same transaction, so it is the state the merge was decided on.
                assert current.version == merged.version, "the merged member moved meanwhile"
                return gone

            return replace(
                kept,
                absorbs=merged.id,
                adopt_rewards=rewards,
                related=(Related(merged.id, tombstone),),
            )

        return await self._commit(survivor_id, decide, idem, ("input",), reason=text)
