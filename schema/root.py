"""The root types: every query, mutation and subscription of the contract."""

from __future__ import annotations

import strawberry

from resolvers import audit_queries, decisions, mutations, privacy, queries, subscriptions
from schema import payloads
from schema.audit import AuditRecordConnection
from schema.events import MemberUpdate, StoreEvent
from schema.identity import DuplicateCandidate
from schema.limits import SubscriptionCap
from schema.member import Member
from schema.notifications import Notification
from schema.permissions import allow, allow_write
from schema.privacy import EraseMemberPayload, ExportMemberPayload, RevealMemberPayload
from schema.program import Program, ProgramStats
from schema.shared import Node


@strawberry.type
class Query:
    node: Node | None = strawberry.field(
        extensions=allow("node"),
        resolver=queries.node,
        description="Any object by its global id; null when unknown.",
    )
    viewer: Member | None = strawberry.field(
        extensions=allow("viewer"),
        resolver=queries.viewer,
        description="The member behind a MEMBER token.",
    )
    member: Member | None = strawberry.field(
        extensions=allow("member"),
        resolver=queries.member,
        description="A member by id; null when unknown.",
    )
    member_by_identifier: Member | None = strawberry.field(
        extensions=allow("memberByIdentifier"),
        resolver=queries.member_by_identifier,
        description="The member an identifier belongs to; the value is normalised first.",
    )
    program: Program = strawberry.field(
        extensions=allow("program"),
        resolver=queries.program,
        description="The program's definition.",
    )
    audit_log: AuditRecordConnection = strawberry.field(
        extensions=allow("auditLog"),
        resolver=audit_queries.audit_log,
        description=(
            "The audit trail (ADMIN): back-office writes and every identity change, newest "
            "first; one member's with memberId. first is 1 to 100."
        ),
    )
    duplicate_candidates: list[DuplicateCandidate] = strawberry.field(
        extensions=allow("duplicateCandidates"),
        resolver=queries.duplicate_candidates,
        description=(
            "Members who may be the same person as this one (for agents deciding on a merge), "
            "most reasons first; first is 1 to 50."
        ),
    )
    program_stats: ProgramStats = strawberry.field(
        extensions=allow("programStats"),
        resolver=queries.program_stats,
        description="Program KPIs (ADMIN): members, activity, points issued, redeemed and "
        "expired in the period (default: the last 30 days), outstanding points and liability.",
    )
    notifications: list[Notification] = strawberry.field(
        extensions=allow("notifications"),
        resolver=decisions.notifications,
        description="Notification intents of the journeys in creation order (SERVICE, ADMIN), "
        "after the cursor `after`; `first` is 0 to 100. Senders keep the last cursor they "
        "handled and send each PENDING intent on its channel, not before `notBefore`.",
    )


@strawberry.type
class Mutation:
    enroll_member: payloads.EnrollMemberPayload = strawberry.mutation(
        extensions=allow_write("enrollMember"),
        resolver=mutations.enroll_member,
        description="Enrol a new member with its identifiers.",
    )
    update_profile: payloads.UpdateProfilePayload = strawberry.mutation(
        extensions=allow_write("updateProfile"),
        resolver=mutations.update_profile,
        description="Change profile fields and consents.",
    )
    link_identifier: payloads.LinkIdentifierPayload = strawberry.mutation(
        extensions=allow_write("linkIdentifier"),
        resolver=mutations.link_identifier,
        description="Attach one more identifier.",
    )
    unlink_identifier: payloads.UnlinkIdentifierPayload = strawberry.mutation(
        extensions=allow_write("unlinkIdentifier"),
        resolver=mutations.unlink_identifier,
        description="Detach an identifier.",
    )
    merge_members: payloads.MergeMembersPayload = strawberry.mutation(
        extensions=allow_write("mergeMembers"),
        resolver=mutations.merge_members,
        description="Fold a duplicate account into another.",
    )
    record_guest_activity: payloads.RecordGuestActivityPayload = strawberry.mutation(
        extensions=allow_write("recordGuestActivity"),
        resolver=mutations.record_guest_activity,
        description=(
            "Record activity of a web cookie or app device: on its member, or on a guest "
            "profile whose history joins the member who later enrols with or links it."
        ),
    )
    unmerge_member: payloads.UnmergeMemberPayload = strawberry.mutation(
        extensions=allow_write("unmergeMember"),
        resolver=mutations.unmerge_member,
        description=(
            "Undo a wrong merge (AGENT, ADMIN) within the program's window: what came from the "
            "merged member goes back as recorded at the merge, plus what is left of points "
            "earned since through its id."
        ),
    )
    record_purchase: payloads.RecordPurchasePayload = strawberry.mutation(
        extensions=allow_write("recordPurchase"),
        resolver=mutations.record_purchase,
        description="Earn points for a purchase: floor(amount x earn rate x tier multiplier).",
    )
    record_activity: payloads.RecordActivityPayload = strawberry.mutation(
        extensions=allow_write("recordActivity"),
        resolver=mutations.record_activity,
        description="Record behaviour that may earn points.",
    )
    redeem_reward: payloads.RedeemRewardPayload = strawberry.mutation(
        extensions=allow_write("redeemReward"),
        resolver=mutations.redeem_reward,
        description="Spend points on a reward; issues a code to show at the till.",
    )
    use_issued_reward: payloads.UseIssuedRewardPayload = strawberry.mutation(
        extensions=allow_write("useIssuedReward"),
        resolver=mutations.use_issued_reward,
        description="Mark an issued code as used.",
    )
    reverse_entry: payloads.ReverseEntryPayload = strawberry.mutation(
        extensions=allow_write("reverseEntry"),
        resolver=mutations.reverse_entry,
        description="Take back an earning (refunds, returns).",
    )
    adjust_points: payloads.AdjustPointsPayload = strawberry.mutation(
        extensions=allow_write("adjustPoints"),
        resolver=mutations.adjust_points,
        description="Correct a balance, with a reason.",
    )
    record_return: payloads.RecordReturnPayload = strawberry.mutation(
        extensions=allow_write("recordReturn"),
        resolver=mutations.record_return,
        description="Goods came back: take back the purchase's points in proportion to the "
        "amount returned; the whole amount reverses the purchase and its dependent bonuses.",
    )
    reveal_member: RevealMemberPayload = strawberry.mutation(
        extensions=allow_write("revealMember"),
        resolver=privacy.reveal_member,
        description="Show one member's personal data unmasked to an agent, for a reason that "
        "goes on the audit trail; for this answer only.",
    )
    export_member: ExportMemberPayload = strawberry.mutation(
        extensions=allow_write("exportMember"),
        resolver=privacy.export_member,
        description="Everything held about a member, as JSON (a member for itself, or an "
        "admin); audited with its reason.",
    )
    erase_member: EraseMemberPayload = strawberry.mutation(
        extensions=allow_write("eraseMember"),
        resolver=privacy.erase_member,
        description="Erase a member's personal data and identifiers (free for re-use); points "
        "and ledger stay, anonymised. Audited with its reason.",
    )
    record_action_outcome: payloads.RecordActionOutcomePayload = strawberry.mutation(
        extensions=allow_write("recordActionOutcome"),
        resolver=mutations.record_action_outcome,
        description="What happened to a next best action.",
    )


@strawberry.type
class Subscription:
    member_updated: MemberUpdate = strawberry.subscription(  # type: ignore[assignment]
        extensions=[*allow("memberUpdated"), SubscriptionCap()],
        resolver=subscriptions.member_updated,
        description="Every change of the member, in version order. With `sinceVersion` below "
        "the current version the current state comes first as one catch-up message.",
    )
    store_activity: StoreEvent = strawberry.subscription(  # type: ignore[assignment]
        extensions=[*allow("storeActivity"), SubscriptionCap()],
        resolver=decisions.store_activity,
        description="Check-ins, purchases, redemptions, rewards used and tier changes at one "
        "store, as they commit (POS and KIOSK: their own stores only).",
    )
    notification_created: Notification = strawberry.subscription(  # type: ignore[assignment]
        extensions=[*allow("notificationCreated"), SubscriptionCap()],
        resolver=decisions.notification_created,
        description="Each notification intent as it commits (SERVICE, ADMIN); after a gap, "
        "page `notifications` from the last cursor handled.",
    )
