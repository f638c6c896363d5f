"""The identity use cases: link and unlink identifiers, merge two accounts of one person.

Like the other commands: check the input, find the member, check access, run the rule inside
one transaction. The rules are in loyalty/identity.py and loyalty/merge.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from db import guests, ids
from db.commit import Committed, fingerprint
from db.guests import GuestProfile
from db.reads import identifier_key
from db.tx_reads import TxReads
from loyalty import activities, adjustments, identity, merge
from loyalty import guests as guest_rules
from loyalty.changes import Outcome, Related
from loyalty.errors import DomainError, ErrorCode
from loyalty.guests import GUEST_KINDS, GuestActivity
from loyalty.model import IdentifierKind, LedgerEntry, Member
from loyalty.program import ActivityKind, Channel
from resolvers.commands import check_at
from resolvers.points_commands import PointsCommands, parse_attributes


class IdentityCommands(PointsCommands):
    async def enroll(self, **given: Any) -> Committed:  # type: ignore[override]
        """Enrolment, then the history of any guest cookie or device it names joins it."""
        done = await super().enroll(**given)
        return await self._join_guests(done, [identifier for identifier in given["identifiers"]])

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

        done = await self._commit(member_id, decide, None, field)
        return await self._join_guests(done, [(kind, clean)])

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
        text = adjustments.check_reason(reason)
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
        text = adjustments.check_reason(reason)
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

    async def record_guest_activity(
        self,
        *,
        kind: IdentifierKind,
        value: str,
        activity: ActivityKind,
        channel: Channel,
        store_id: str | None,
        attributes: str | None,
        occurred_at: datetime | None,
        idempotency_key: str,
        request: dict[str, Any],
    ) -> tuple[Committed | None, GuestProfile | None]:
        """Activity of a cookie or device: on its member when one owns it, else on a guest
        profile that joins the member who later enrols with or links the identifier."""
        field = ("input", "identifier", "value")
        if kind not in GUEST_KINDS:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                "guest activity is recorded against a WEB_COOKIE or DEVICE_TOKEN",
                ("input", "identifier", "kind"),
            )
        clean = identity.normalise(kind, value, self._s.program.default_phone_region, field)
        store_id = self._store(store_id)
        owner = await self._s.reads.member_id_by_identifier(kind, clean)
        if owner is not None:
            done = await self.record_activity(
                owner,
                kind=activity,
                channel=channel,
                store_id=store_id,
                attributes=attributes,
                occurred_at=occurred_at,
                idempotency_key=idempotency_key,
                request=request,
            )
            return done, None
        self._authorise("recordGuestActivity", None, store_id)
        values = parse_attributes(attributes)
        survey = activities.check_attributes(activity, values, store_id)
        at = check_at(occurred_at, self._now, "occurredAt")
        key = identifier_key(kind, clean)
        scoped = fingerprint({"caller": self._viewer.subject, "key": idempotency_key})
        recorded = GuestActivity(activity, at, channel, store_id, survey)
        profile = await guests.record(self._s.reads.collections, key, kind, recorded, scoped)
        # Enrolled or linked meanwhile: the history joins that member now, not never.
        owner = await self._s.reads.member_id_by_identifier(kind, clean)
        if owner is not None:
            member = await self._s.reads.member(owner)
            assert member is not None
            joined = await self._join_guests(Committed(member, (), (), None, None), [(kind, clean)])
            return joined, None
        return None, profile

    async def _join_guests(
        self, done: Committed, identifiers: list[tuple[IdentifierKind, str]]
    ) -> Committed:
        """Fold the guest profiles of these identifiers into the member, as one more change.

        Separate from the enrolment or link it follows: a fault between the two leaves the
        guest profile in place, and the next activity or link of the identifier joins it."""
        keys = [
            identifier_key(
                kind, identity.normalise(kind, value, self._s.program.default_phone_region, ())
            )
            for kind, value in identifiers
            if kind in GUEST_KINDS
        ]
        if not keys or not await guests.any_of(self._s.reads.collections, keys):
            return done
        program = self._s.program
        ctx = self._ctx()
        self._operation = "joinGuestActivity"

        async def decide(member: Member | None, tx: TxReads) -> Outcome:
            assert member is not None
            found = await tx.guest_activities(keys)
            if not found:
                return Outcome(member=member, changes=())  # joined meanwhile: nothing to do
            joined = guest_rules.join(member, found, program, ctx)
            return replace(joined, joins_guests=tuple(keys))

        after = await self._s.writer.commit(
            done.member.id, decide, None, self._viewer.subject, self._audit_note(None)
        )
        return done if after.quiet else after
