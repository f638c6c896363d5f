"""The right to erasure, as a change of member state: pure, like every other change."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from loyalty.changes import Outcome, advance
from loyalty.model import ChangeKind, Member, Profile


def erase(member: Member, now: datetime) -> Outcome:
    """Personal data and identifiers gone, consents withdrawn; points, ledger and tier stay with
    the member's id, which no longer leads to a person. The identifiers become free for re-use
    (the commit releases every identifier a change removes)."""
    changes = [ChangeKind.PROFILE_UPDATED]
    if member.identifiers:
        changes.append(ChangeKind.IDENTIFIER_UNLINKED)
    after = replace(member, profile=Profile(), identifiers=())
    return Outcome(
        member=advance(member, after, changes, now, active=False), changes=tuple(changes)
    )


def erase_merged(tombstone: Member, now: datetime) -> Outcome | None:
    """The same person's merged account: its snapshot kept for an unmerge holds their personal
    data too, so it is emptied with the survivor's (an unmerge then restores no person)."""
    record = tombstone.merge
    if record is None and tombstone.profile == Profile():
        return None
    blank = replace(record.before, profile=Profile(), identifiers=()) if record else None
    after = replace(
        tombstone,
        profile=Profile(),
        identifiers=(),
        merge=replace(record, before=blank) if record and blank else record,
    )
    changes = [ChangeKind.PROFILE_UPDATED]
    return Outcome(
        member=advance(tombstone, after, changes, now, active=False), changes=tuple(changes)
    )
