"""Descriptions for the types, fields and enum values declared without one, for GraphiQL.

A description written beside its field (`strawberry.field(description=...)`) always wins; this
table only fills what is missing, and the wording follows the contract's comments. Mutation
inputs and payloads, and the fields every payload or input shares, are described by rule.
`tests/api/test_contract.py` fails on any type or field left without a description.
"""

from __future__ import annotations

import re

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)

TYPES = {
    "Query": "Reads of the graph. Every field needs a bearer token except introspection.",
    "Mutation": "Writes. Each takes one `input` and returns a payload with `userErrors`; a "
    "retried request with the same `idempotencyKey` has the effect of one.",
    "Subscription": "Pushes over WebSocket (graphql-transport-ws or graphql-ws on /graphql), "
    "the token in the connection_init payload.",
    "LedgerEntryEdge": "One ledger entry in a page of `Member.activity`.",
}

FIELDS = {
    "Notification.memberId": "The member to contact.",
    "Notification.journey": "The journey that produced the intent.",
    "Notification.title": "A short title for the message.",
    "Notification.message": "The message text, in plain words.",
    "Notification.status": "PENDING for a sender to send; SUPPRESSED when caps or consent forbid.",
    "Notification.createdAt": "When the triggering change committed.",
    "Program.challenges": "The challenges members can take on, with their goals and bonuses.",
    "PointsPolicy.expiry": "How points expire: never, by lot after the validity, or on inactivity.",
    "PointsPolicy.negativeBalance": "What a reversal of spent points does: a debt or a write-off.",
    "ActivityRule.kind": "The activity this rule is for.",
    "Challenge.id": "The challenge's id, as in the program file.",
    "Challenge.name": "What the member sees.",
    "Challenge.goal": "How much progress completes it.",
    "Challenge.rewardPoints": "The bonus paid once on completion (per period).",
    "Challenge.period": "Whether progress restarts every month or counts for ever.",
    "Node.id": "Global, opaque id; `Query.node` resolves it.",
    "Member.id": "Global, opaque member id.",
    "Member.enrolledAt": "When the member enrolled.",
    "Member.enrollmentChannel": "The channel the member enrolled through.",
    "Member.profile": "Personal details, preferences and consents.",
    "Member.identifiers": "Every identifier that resolves to this member.",
    "Member.balance": "Points: available, pending, lifetime and their value.",
    "Member.tier": "The tier held and the progress towards the next one.",
    "Member.challenges": "Progress in the program's challenges.",
    "Member.lastActivityAt": "When the member last earned, spent or was active; null if never.",
    "Profile.firstName": "Given name.",
    "Profile.lastName": "Family name.",
    "Profile.email": "Email address, lower-cased.",
    "Profile.preferredChannel": "Where the member prefers to be contacted.",
    "Profile.preferredStoreId": "The member's usual store.",
    "Profile.consents": "What the member agreed to.",
    "Consents.email": "May be emailed.",
    "Consents.sms": "May be texted.",
    "Consents.push": "May get app push notifications.",
    "Consents.personalization": "May have offers chosen from their behaviour.",
    "Identifier.kind": "What kind of identifier this is.",
    "Identifier.verified": "Whether the member proved they own it.",
    "Identifier.linkedAt": "When it was linked to the member.",
    "ExpiringPoints.points": "Points in this block.",
    "ExpiringPoints.expiresAt": "When they expire.",
    "TierStatus.current": "The tier held now.",
    "Tier.id": "Stable tier id.",
    "Tier.name": "Display name, e.g. Gold.",
    "Tier.benefits": "What the tier gives, in plain words.",
    "ChallengeProgress.challengeId": "The challenge.",
    "ChallengeProgress.name": "Display name of the challenge.",
    "ChallengeProgress.progress": "Steps done.",
    "ChallengeProgress.goal": "Steps needed.",
    "ChallengeProgress.completed": "Whether the goal was reached.",
    "ChallengeProgress.rewardPoints": "Points awarded on completion.",
    "LedgerEntryConnection.edges": "The entries of this page, newest first.",
    "LedgerEntryConnection.pageInfo": "Whether there is a next page, and its cursor.",
    "LedgerEntryEdge.cursor": "Pass as `after` to continue after this entry.",
    "LedgerEntryEdge.node": "The ledger entry.",
    "PageInfo.hasNextPage": "True when more entries follow.",
    "PageInfo.endCursor": "Cursor of the last entry of this page; null on an empty page.",
    "NextBestAction.kind": "What to do.",
    "NextBestAction.title": "Short title to show.",
    "NextBestAction.message": "The message to show or send.",
    "NextBestAction.reward": "The reward the action is about, when there is one.",
    "DecisionContext.channel": "The surface asking.",
    "DecisionContext.storeId": "The store the surface is in, when it is in one.",
    "Reward.id": "Global reward id.",
    "Reward.name": "Display name.",
    "Reward.description": "Longer text for the member, when there is one.",
    "IssuedReward.id": "Global id of this issued reward.",
    "IssuedReward.reward": "The catalogue reward it was redeemed for.",
    "IssuedReward.status": "Active, redeemed at a till, expired or cancelled.",
    "IssuedReward.issuedAt": "When the member redeemed points for it.",
    "IssuedReward.expiresAt": "When it stops being usable; null if never.",
    "IssuedReward.usedAt": "When it was used; null while unused.",
    "LedgerEntry.id": "Global ledger entry id.",
    "LedgerEntry.kind": "Earn, bonus, redeem, reversal, adjustment, expiry or merge.",
    "LedgerEntry.channel": "Where it happened, when known.",
    "LedgerEntry.storeId": "The store it happened at, when at one.",
    "LedgerEntry.description": "What the entry is for, in plain words.",
    "LedgerEntry.occurredAt": "When it happened.",
    "LedgerEntry.status": "Pending (not yet spendable) or available.",
    "Program.name": "The program's name.",
    "Program.tiers": "The tiers, lowest first.",
    "Program.rewards": "The reward catalogue.",
    "UserError.code": "Stable code clients switch on.",
    "UserError.message": "Explanation for people; not for parsing.",
    "IdentifierInput.kind": "What kind of identifier.",
    "IdentifierInput.value": "The value as typed; it is normalised (emails lower-cased, phones "
    "to E.164).",
    "ConsentsInput.email": "May be emailed; left out keeps the current value.",
    "ConsentsInput.sms": "May be texted; left out keeps the current value.",
    "ConsentsInput.push": "May get push notifications; left out keeps the current value.",
    "ConsentsInput.personalization": "May get personalised offers; left out keeps the current "
    "value.",
    "EnrollMemberInput.channel": "Where the member enrols.",
    "EnrollMemberInput.consents": "Initial consents; all false when left out.",
    "UpdateProfileInput.birthday": "YYYY-MM-DD.",
    "UpdateProfileInput.preferredChannel": "Where the member prefers to be contacted.",
    "UpdateProfileInput.preferredStoreId": "The member's usual store.",
    "UpdateProfileInput.consents": "Consents to change; fields left out keep their value.",
    "LinkIdentifierInput.identifier": "The identifier to link.",
    "LinkIdentifierInput.verified": "Whether the member proved they own it.",
    "UnlinkIdentifierInput.identifier": "The identifier to unlink.",
    "MergeMembersInput.survivorId": "The member that remains and receives the points.",
    "MergeMembersInput.reason": "Why, for the audit trail.",
    "RecordPurchaseInput.currencyCode": "ISO-4217; must be the program's currency.",
    "RecordPurchaseInput.lines": "The basket's lines, when known.",
    "PurchaseLineInput.sku": "The product.",
    "PurchaseLineInput.quantity": "How many.",
    "PurchaseLineInput.unitPrice": "Price of one, a decimal string.",
    "PurchaseLineInput.category": "Product category, when known.",
    "RecordActivityInput.kind": "What the member did.",
    "RedeemRewardInput.rewardId": "The catalogue reward to redeem points for.",
    "UseIssuedRewardInput.issuedRewardId": "The issued reward being used.",
    "ReverseEntryInput.entryId": "The ledger entry to reverse (a refund or a return).",
    "ReverseEntryInput.reason": "Why, for the audit trail.",
    "AdjustPointsInput.points": "Signed points to add or remove.",
    "AdjustPointsInput.reason": "Who and why, for the audit trail.",
    "RecordActionOutcomeInput.actionId": "The `NextBestAction.id` acted on.",
    "RecordActionOutcomeInput.outcome": "What happened to the action.",
    "MemberUpdate.memberId": "The member that changed.",
    "MemberUpdate.changes": "The kinds of change in this version (several for a catch-up).",
    "StoreEvent.storeId": "The store.",
    "StoreEvent.kind": "What happened.",
    "StoreEvent.member": "The member as committed.",
    "StoreEvent.at": "When it happened.",
}

ENUM_VALUES = {
    "Journey": {
        "WELCOME": "A new member enrolled.",
        "EARN_TO_REDEEM": "A purchase made a reward affordable.",
        "WIN_BACK": "The churn risk crossed the program's threshold.",
        "TIER_UPGRADE": "The member reached a higher tier.",
        "BIRTHDAY": "The member's birthday month.",
        "POINTS_EXPIRING": "Points are about to expire.",
    },
    "NotificationStatus": {
        "PENDING": "Waiting for a sender (not before `notBefore`, for quiet hours).",
        "SUPPRESSED": "Kept for the record; a cap or missing consent forbids sending it.",
    },
    "ExpiryPolicy": {
        "NONE": "Points never expire.",
        "FIFO": "Each lot expires after the program's validity, oldest first.",
        "INACTIVITY": "Everything expires after the program's months without activity.",
    },
    "NegativeBalancePolicy": {
        "ALLOW": "A reversal of spent points leaves a debt that blocks redemption until repaid.",
        "WRITE_OFF": "What cannot be taken back is written off.",
    },
    "ChallengePeriod": {
        "MONTH": "Progress restarts every calendar month.",
        "EVER": "Progress counts once, for ever.",
    },
    "Channel": {
        "APP": "The mobile app.",
        "WEB": "The web shop.",
        "POS": "A till in a store.",
        "KIOSK": "A self-service kiosk in a store.",
        "EMAIL": "Email.",
        "SMS": "Text message.",
        "PUSH": "App push notification.",
        "CALL_CENTER": "A support agent.",
    },
    "IdentifierKind": {
        "EMAIL": "Email address.",
        "PHONE": "Phone number (E.164).",
        "LOYALTY_CARD": "Loyalty card number.",
        "DEVICE_TOKEN": "A device's app token.",
        "WEB_COOKIE": "A web shop cookie id.",
        "EXTERNAL_ID": "An id in another system.",
    },
    "IssuedRewardStatus": {
        "ACTIVE": "Issued and usable.",
        "REDEEMED": "Used at a till or online.",
        "EXPIRED": "Past its expiry, unused.",
        "CANCELLED": "Withdrawn; its points were returned or never spent.",
    },
    "ActionKind": {
        "SHOW_REWARD": "Show a reward the member can have.",
        "SHOW_OFFER": "Show an offer.",
        "SEND_MESSAGE": "Send a message on the action's channel.",
        "SUPPRESS_MESSAGE": "Send nothing now (caps, consent or fatigue).",
        "WIN_BACK": "Bring a lapsing member back.",
        "TIER_CELEBRATION": "Celebrate a new tier.",
        "ONBOARDING": "Help a new member start.",
        "COMPLETE_PROFILE": "Ask for missing profile details.",
    },
    "LedgerEntryKind": {
        "EARN": "Points from a purchase.",
        "BONUS": "Points from an activity, challenge or promotion.",
        "REDEEM": "Points spent on a reward.",
        "REVERSAL": "Undoes an earlier entry (a refund or a return).",
        "ADJUSTMENT": "A correction by an agent, with a reason.",
        "EXPIRY": "Points that expired.",
        "MERGE": "Points moved by a merge of two members.",
    },
    "LedgerEntryStatus": {
        "PENDING": "Earned, not yet spendable.",
        "AVAILABLE": "Counted in the spendable balance.",
    },
    "Role": {
        "MEMBER": "The member, on their own account only.",
        "POS": "A till, at its own stores only.",
        "KIOSK": "A self-service kiosk, at its own stores only; sees personal data masked.",
        "AGENT": "A support agent.",
        "ADMIN": "An administrator.",
        "SERVICE": "Another system of the retailer.",
    },
    "UserErrorCode": {
        "LAST_IDENTIFIER": "The last identifier of a member cannot be removed.",
        "LIMIT_REACHED": "An activity over its cap: recorded, no points (a warning).",
        "NOT_FOUND": "The member, reward or entry does not exist.",
        "FORBIDDEN": "The caller may not do this for this member or store.",
        "INVALID_INPUT": "A value is malformed or out of range; `field` says which.",
        "IDEMPOTENCY_CONFLICT": "The key was used before with another input.",
        "REWARD_UNAVAILABLE": "The reward cannot be had here or now.",
        "TIER_TOO_LOW": "The reward needs a higher tier.",
        "INSUFFICIENT_POINTS": "Not enough available points.",
        "IDENTIFIER_TAKEN": "The identifier belongs to another member.",
        "ALREADY_MERGED": "The member was merged into another.",
        "ALREADY_REVERSED": "The entry was reversed before.",
    },
    "ActivityKind": {
        "APP_SESSION": "Opened the app.",
        "PRODUCT_VIEW": "Looked at a product.",
        "STORE_VISIT": "Checked in at a store.",
        "REVIEW": "Wrote a review.",
        "REFERRAL": "Referred someone who enrolled.",
        "SURVEY": "Answered a survey.",
        "SOCIAL_SHARE": "Shared on social media.",
        "APP_DOWNLOAD": "Installed the app.",
        "SUPPORT_CONTACT": "Contacted support.",
        "PROFILE_COMPLETED": "Completed the profile.",
    },
    "ActionOutcome": {
        "SHOWN": "The action was shown.",
        "CLICKED": "The member clicked it.",
        "DISMISSED": "The member dismissed it.",
        "CONVERTED": "The member did what it asked.",
        "SENT": "The message was sent.",
    },
    "DuplicateReason": {
        "SAME_EMAIL": "One mailbox: case, +tags and Gmail's dots ignored.",
        "SAME_PHONE": "One national number, under any country code.",
        "SAME_NAME_AND_BIRTHDAY": "The same first name, last name and birthday.",
    },
    "ChangeKind": {
        "ENROLLED": "The member enrolled.",
        "PROFILE_UPDATED": "Profile or consents changed.",
        "IDENTIFIER_LINKED": "An identifier was linked.",
        "IDENTIFIER_UNLINKED": "An identifier was unlinked.",
        "MERGED": "Another member was merged in, or this one into another.",
        "POINTS_EARNED": "Points were earned.",
        "POINTS_REDEEMED": "Points were spent on a reward.",
        "POINTS_REVERSED": "An entry was reversed.",
        "POINTS_ADJUSTED": "Points were adjusted by an agent.",
        "POINTS_EXPIRED": "Points expired.",
        "REWARD_ISSUED": "A reward was issued.",
        "REWARD_USED": "An issued reward was used.",
        "TIER_CHANGED": "The tier changed.",
        "CHALLENGE_PROGRESSED": "A challenge moved forward.",
        "POINTS_RELEASED": "Pending points became spendable (their return window ended).",
        "ACTIVITY_RECORDED": "An activity was recorded (it may have earned nothing).",
        "UNMERGED": "A wrong merge was undone (on the survivor and the restored member).",
        "ACTION_RECORDED": "A next best action was dismissed or converted.",
    },
}

# Fields that mean the same in every mutation input or payload.
SHARED = {
    "memberId": "The member.",
    "channel": "Where it happens.",
    "storeId": "The store it happens at; a till whose token names one store may leave it out.",
    "occurredAt": "When it happened; defaults to now.",
    "idempotencyKey": "A retried request with the same key has the effect of one.",
    "firstName": "Given name.",
    "lastName": "Family name.",
    "member": "The member as committed by this change; null when it was refused.",
    "entry": "The ledger entry this change wrote, when it wrote one.",
    "issuedReward": "The issued reward, when there is one.",
    "userErrors": "Why the request was refused; empty on success.",
}

_MUTATION_TYPE = re.compile(r"^(?P<op>[A-Z]\w*?)(?P<part>Input|Payload)$")


def _mutation_type(name: str, mutations: set[str]) -> str | None:
    match = _MUTATION_TYPE.match(name)
    if match is None:
        return None
    op = match["op"][0].lower() + match["op"][1:]
    if op not in mutations:
        return None
    return f"The {'input of' if match['part'] == 'Input' else 'result of'} `{op}`."


def describe(schema: GraphQLSchema) -> None:
    """Fill in the missing descriptions, in place."""
    mutations = set(schema.mutation_type.fields) if schema.mutation_type else set()
    for name, kind in schema.type_map.items():
        if name.startswith("__"):
            continue
        if not kind.description:
            kind.description = TYPES.get(name) or _mutation_type(name, mutations)
        if isinstance(kind, GraphQLEnumType):
            for value_name, value in kind.values.items():
                if not value.description:
                    value.description = ENUM_VALUES.get(name, {}).get(value_name)
        if not isinstance(kind, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            continue
        shared = _mutation_type(name, mutations) is not None
        for field_name, field in kind.fields.items():
            if not field.description:
                field.description = FIELDS.get(f"{name}.{field_name}") or (
                    SHARED.get(field_name) if shared else None
                )
