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

    async def unmerge_member(
        self,
        merged_id: str,
        *,
        reason: str,
        idempotency_key: str | None,
        request: dict[str, Any],
    ) -> Committed:
        """Give a merged member back what came from it; both change in one transaction."""
        field = ("input", "mergedId")
        idem = self._idem("unmergeMember", idempotency_key, request)
        if idem is not None:
            # A retry after success finds the member no longer merged: answer as the first time.
            earlier = await self._s.writer.replay(idem)
            if earlier is not None:
                return earlier
        tombstone = (
            await self._s.reads.member(merged_id) if ids.kind_of(merged_id) == ids.MEMBER else None
        )
        if tombstone is None:
            raise DomainError(ErrorCode.NOT_FOUND, "no such member", field)
        if tombstone.merge is None:
            raise DomainError(ErrorCode.INVALID_INPUT, "this member was not merged", field)
        survivor_id = tombstone.merge.survivor_id
        self._authorise("unmergeMember", survivor_id, None)
        text = merge.check_reason(reason)
        program = self._s.program
        ctx = self._ctx()

        async def decide(survivor: Member | None, tx: TxReads) -> Outcome:
            assert survivor is not None
            current = await tx.member(merged_id)
            assert current is not None
            via = await tx.entries_via(survivor.id, merged_id)
            kept, gone = merge.unmerge(survivor, current, via, program, ctx)
            record = current.merge
            assert record is not None
            back = replace(gone, absorbs=survivor.id, adopt_rewards=record.moved_rewards)

            def restore(state: Member, _: list[LedgerEntry]) -> Outcome:
                assert state.version == current.version, "the merged member moved meanwhile"
                return back

            return replace(kept, related=(Related(merged_id, restore),))

        return await self._commit(survivor_id, decide, idem, field, reason=text)

    async def restored(self, done: Committed, merged_id: str) -> Member:
        """The restored member of an unmerge: as committed, or (for a replay) as it is now."""
        for other in done.related:
            if other.member.id == merged_id:
                return other.member
        current = await self._s.reads.member(merged_id)
        assert current is not None
        return current
