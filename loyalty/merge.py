"""Merging two accounts of one person: everything the merged member holds moves to the
survivor, and the merged member becomes a tombstone that leads to it.

What moves: open points lots with their own expiry (pending ones keep their release time),
the balance (a debt too), qualifying points month by month (the tier is recomputed and never
lowered), identifiers with their verified flag, issued rewards (moved in the database),
challenge progress and activity-cap counters (one person, one cap), consents (the more
restrictive answer wins), and the profile fields the survivor lacks. Each side gets MERGE
entries so its ledger still sums to its balance; the merged member's own history stays with it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from loyalty.changes import ENTRY_SLOTS, Context, Outcome, advance, entry_seq
from loyalty.decisions.state import Engagement
from loyalty.errors import DomainError, ErrorCode
from loyalty.identity import contact_fields
from loyalty.model import (
    ChallengeState,
    ChangeKind,
    Consents,
    Identifier,
    LedgerEntry,
    LedgerEntryKind,
    Member,
    MergeRecord,
    Profile,
    TierState,
)
from loyalty.points import Book
from loyalty.program import ProgramDef
from loyalty.tiers import qualifying_at, rank, tier_for, upgrade


def check_pair(survivor: Member, merged: Member) -> None:
    """The refusals, in the order a client can act on them."""
    if survivor.id == merged.id:
        raise DomainError(
            ErrorCode.INVALID_INPUT, "a member cannot be merged into itself", ("input", "mergedId")
        )
    if merged.merged_into is not None:
        where = "this member" if merged.merged_into == survivor.id else merged.merged_into
        raise DomainError(
            ErrorCode.ALREADY_MERGED, f"already merged into {where}", ("input", "mergedId")
        )
    if survivor.merged_into is not None:
        raise DomainError(
            ErrorCode.ALREADY_MERGED,
            f"the survivor was itself merged into {survivor.merged_into}: merge into that one",
            ("input", "survivorId"),
        )


def merge(
    survivor: Member,
    merged: Member,
    reason: str,
    moved_rewards: tuple[str, ...],
    program: ProgramDef,
    ctx: Context,
) -> tuple[Outcome, Outcome]:
    """The survivor's outcome and the merged member's (its tombstone), to commit together."""
    check_pair(survivor, merged)
    now = ctx.now
    note = f"Merged {merged.id} into {survivor.id}"

    book = Book(survivor, program, now)
    book.absorb(list(merged.lots), merged.balance.available, note)
    book.lifetime += merged.balance.lifetime
    tier = _tier(survivor.tier, merged.tier, now, program)
    identifiers = _identifiers(survivor.identifiers, merged.identifiers)
    after = replace(
        book.apply(survivor),
        identifiers=identifiers,
        profile=contact_fields(_profile(survivor.profile, merged.profile), identifiers),
        tier=tier,
        last_activity_at=_latest(survivor.last_activity_at, merged.last_activity_at),
        referred_by=survivor.referred_by or merged.referred_by,
        counters=_summed(survivor.counters, merged.counters),
        challenges=_challenges(survivor.challenges, merged.challenges),
        referral_paid=survivor.referral_paid or merged.referral_paid,
        birthday_year=max(survivor.birthday_year or 0, merged.birthday_year or 0) or None,
        dormant_at=_latest(survivor.dormant_at, merged.dormant_at),
        # Their entries stay on them: a return of an order bought there is looked up there.
        merged_from=(*survivor.merged_from, *merged.merged_from, merged.id),
        engagement=_engagement(survivor.engagement, merged.engagement),
        guest_activity=tuple(
            sorted(_summed(dict(survivor.guest_activity), dict(merged.guest_activity)).items())
        ),
    )
    changes = [ChangeKind.MERGED]
    if tier.tier_id != survivor.tier.tier_id:
        changes.append(ChangeKind.TIER_CHANGED)
    moved_ids = [i for i in merged.identifiers if i not in survivor.identifiers]
    kept = Outcome(
        member=advance(survivor, after, changes, now, active=False),
        changes=tuple(changes),
        entries=tuple(book.entries),
        details=(
            ("mergedId", merged.id),
            ("availableMoved", merged.balance.available),
            ("pendingMoved", merged.balance.pending),
            ("lotsMoved", len(merged.lots)),
            ("identifiersMoved", ",".join(sorted({i.kind.value for i in moved_ids}))),
            ("rewardsMoved", len(moved_rewards)),
            ("tier", f"{survivor.tier.tier_id}->{tier.tier_id}"),
        ),
    )

    out = Book(merged, program, now)
    out.hand_over(note)
    record = MergeRecord(
        survivor.id,
        now,
        ctx.actor,
        reason,
        merged,
        moved_rewards,
        survivor_version=survivor.version + 1,
        survivor_tier=survivor.tier.tier_id,
    )
    tombstone = replace(
        out.apply(merged),
        identifiers=(),
        # Personal data lives on the survivor now; only the record below keeps a copy, for an
        # unmerge (and an erasure of the survivor empties it too).
        profile=Profile(),
        counters={},
        challenges={},
        merged_into=survivor.id,
        merge=record,
    )
    gone = Outcome(
        member=advance(merged, tombstone, [ChangeKind.MERGED], now, active=False),
        changes=(ChangeKind.MERGED,),
        entries=tuple(out.entries),
    )
    return kept, gone


def _tier(kept: TierState, other: TierState, now: datetime, program: ProgramDef) -> TierState:
    """Qualifying points of both, month by month; the higher tier of the two, then any
    upgrade the sum reaches. Never lower than the survivor held."""
    months: dict[str, int] = dict(kept.months)
    for month, points in other.months:
        months[month] = months.get(month, 0) + points
    summed = replace(kept, months=tuple(sorted(months.items())))
    summed = replace(summed, qualifying_points=qualifying_at(summed, now, program))
    if rank(other.tier_id, program) > rank(kept.tier_id, program):
        summed = replace(
            summed,
            tier_id=other.tier_id,
            since=now,
            below_since=other.below_since,
            review_at=other.review_at,
        )
    return upgrade(summed, now, program)


def _identifiers(
    kept: tuple[Identifier, ...], other: tuple[Identifier, ...]
) -> tuple[Identifier, ...]:
    held = {(i.kind, i.value) for i in kept}
    return (*kept, *(i for i in other if (i.kind, i.value) not in held))


def _profile(kept: Profile, other: Profile) -> Profile:
    """The survivor's fields, completed from the other's; consents: both must have said yes."""
    return replace(
        kept,
        first_name=kept.first_name or other.first_name,
        last_name=kept.last_name or other.last_name,
        birthday=kept.birthday or other.birthday,
        preferred_channel=kept.preferred_channel or other.preferred_channel,
        preferred_store_id=kept.preferred_store_id or other.preferred_store_id,
        consents=Consents(
            email=kept.consents.email and other.consents.email,
            sms=kept.consents.sms and other.consents.sms,
            push=kept.consents.push and other.consents.push,
            personalization=kept.consents.personalization and other.consents.personalization,
        ),
        answers=kept.answers or other.answers,
    )


def _summed(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in {*a, *b}}


def _challenges(
    kept: dict[str, ChallengeState], other: dict[str, ChallengeState]
) -> dict[str, ChallengeState]:
    """Progress of the same period adds up (stores seen are one set); a completion stays."""
    out = dict(kept)
    for key, theirs in other.items():
        mine = out.get(key)
        if mine is None or mine.period != theirs.period:
            if mine is None or theirs.period > mine.period:
                out[key] = theirs
            continue
        seen = tuple(dict.fromkeys((*mine.seen, *theirs.seen)))
        progress = len(seen) if seen else mine.progress + theirs.progress
        out[key] = ChallengeState(mine.period, progress, seen, mine.completed or theirs.completed)
    return out


def _engagement(kept: Engagement, other: Engagement) -> Engagement:
    """One person's decision data: purchases and spend add up, message caps count both
    accounts' sends, cooldowns and closed storylines last as long as the longer one."""
    purchases = kept.purchases + other.purchases
    gaps = [
        (e.mean_gap_days, e.purchases)
        for e in (kept, other)
        if e.mean_gap_days is not None and e.purchases
    ]
    mean_gap = sum(g * n for g, n in gaps) / sum(n for _, n in gaps) if gaps else None
    upgraded = max(
        (e for e in (kept, other) if e.upgraded_at is not None),
        key=lambda e: e.upgraded_at,  # type: ignore[arg-type, return-value]
        default=kept,
    )
    return replace(
        kept,
        purchases=purchases,
        spend=kept.spend + other.spend,
        last_purchase_at=_latest(kept.last_purchase_at, other.last_purchase_at),
        mean_gap_days=mean_gap,
        upgraded_to=upgraded.upgraded_to,
        upgraded_at=upgraded.upgraded_at,
        counts=_summed(kept.counts, other.counts),
        cooldowns=_later(kept.cooldowns, other.cooldowns),
        closed=_later(kept.closed, other.closed),
        celebrated={**other.celebrated, **kept.celebrated},
        journeys=_later(kept.journeys, other.journeys),
    )


def _later(a: dict[str, datetime], b: dict[str, datetime]) -> dict[str, datetime]:
    return {k: max(t for t in (a.get(k), b.get(k)) if t is not None) for k in {*a, *b}}


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((t for t in (a, b) if t is not None), default=None)


def unmerge(
    survivor: Member,
    tombstone: Member,
    via_entries: list[LedgerEntry],
    program: ProgramDef,
    ctx: Context,
) -> tuple[Outcome, Outcome]:
    """Undo a merge within the program's window: what came from the merged member goes back
    as it was recorded at the merge, plus what is left of points earned since by requests
    addressed to the merged member's id (`via_entries`). The survivor's outcome and the
    restored member's, to commit together."""
    record = _check_unmerge(survivor, tombstone, program, ctx)
    before, now = record.before, ctx.now
    note = f"Unmerged {tombstone.id} from {survivor.id}"

    # The merge's entries opened lots at seqs of the version it made; earnings since that
    # came through the merged member's id opened theirs.
    merge_seqs = {entry_seq(record.survivor_version, i) for i in range(ENTRY_SLOTS)}
    via_seqs = {
        e.seq
        for e in via_entries
        if e.kind in (LedgerEntryKind.EARN, LedgerEntryKind.BONUS) and e.reversed_by is None
    }
    moved_in = sum(lot.points for lot in survivor.lots if lot.seq in merge_seqs)
    owed = max(before.balance.available + before.balance.pending - moved_in, 0)
    book = Book(survivor, program, now)
    leaving, _written_off = book.give_back(merge_seqs | via_seqs, owed, note)
    via_lots = [lot for lot in leaving if lot.seq in via_seqs]
    via_points = sum(lot.points for lot in via_lots)
    book.lifetime = max(book.lifetime - before.balance.lifetime - via_points, 0)

    theirs = {(i.kind, i.value) for i in before.identifiers}
    identifiers = tuple(i for i in survivor.identifiers if (i.kind, i.value) not in theirs)
    returned = tuple(i for i in survivor.identifiers if (i.kind, i.value) in theirs)
    months = dict(survivor.tier.months)
    for month, points in before.tier.months:
        months[month] = max(months.get(month, 0) - points, 0)
    kept_tier = replace(survivor.tier, months=tuple((m, p) for m, p in sorted(months.items()) if p))
    kept_tier = replace(kept_tier, qualifying_points=qualifying_at(kept_tier, now, program))
    floor = record.survivor_tier or program.tiers[0].id
    reached = tier_for(kept_tier.qualifying_points, program).id
    tier_id = max(floor, reached, key=lambda t: rank(t, program))
    if tier_id != kept_tier.tier_id:
        kept_tier = replace(kept_tier, tier_id=tier_id, since=now, below_since=None)
    gone_from = {tombstone.id, *before.merged_from}
    kept_after = replace(
        book.apply(survivor),
        identifiers=identifiers,
        profile=contact_fields(survivor.profile, identifiers),
        tier=kept_tier,
        merged_from=tuple(m for m in survivor.merged_from if m not in gone_from),
    )
    changes = [ChangeKind.UNMERGED]
    if tier_id != survivor.tier.tier_id:
        changes.append(ChangeKind.TIER_CHANGED)
    kept = Outcome(
        member=advance(survivor, kept_after, changes, now, active=False),
        changes=tuple(changes),
        entries=tuple(book.entries),
        details=(
            ("restoredId", tombstone.id),
            ("availableReturned", before.balance.available),
            ("pendingReturned", before.balance.pending),
            ("earnedSinceReturned", via_points),
            ("identifiersReturned", ",".join(sorted({i.kind.value for i in returned}))),
        ),
    )

    # The merged member as it was, at a new version, holding its points again.
    blank = replace(
        before,
        version=tombstone.version,
        balance=replace(before.balance, available=0, pending=0),
        lots=(),
    )
    back = Book(blank, program, now)
    via_available = sum(lot.points for lot in via_lots if not lot.pending)
    back.absorb([*before.lots, *via_lots], before.balance.available + via_available, note)
    back.lifetime += via_points
    restored = replace(
        back.apply(blank),
        identifiers=returned,
        profile=contact_fields(before.profile, returned),
        change_versions=tombstone.change_versions,
        merged_into=None,
        merge=None,
    )
    gone = Outcome(
        member=advance(tombstone, restored, [ChangeKind.UNMERGED], now, active=False),
        changes=(ChangeKind.UNMERGED,),
        entries=tuple(back.entries),
    )
    return kept, gone


def _check_unmerge(
    survivor: Member, tombstone: Member, program: ProgramDef, ctx: Context
) -> MergeRecord:
    field = ("input", "mergedId")
    record = tombstone.merge
    if tombstone.merged_into is None or record is None:
        raise DomainError(ErrorCode.INVALID_INPUT, "this member was not merged", field)
    if record.survivor_id != survivor.id:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"its survivor {record.survivor_id} was merged into {survivor.id} since: "
            "unmerge that first",
            field,
        )
    window = timedelta(days=program.identity.unmerge_window_days)
    if ctx.now - record.at > window:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"merges can be undone for {program.identity.unmerge_window_days} days; "
            "this one is older",
            field,
        )
    return record
