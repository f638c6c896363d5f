"""The contract's enums, bound to the domain's own enums so values pass through unchanged."""

import strawberry

from loyalty import model
from loyalty.decisions.actions import ActionKind as DomainActionKind
from loyalty.decisions.notice import Journey as DomainJourney
from loyalty.decisions.notice import NoticeStatus as DomainNoticeStatus
from loyalty.decisions.outcomes import ActionOutcome as DomainActionOutcome
from loyalty.errors import ErrorCode
from loyalty.program import ActivityKind as DomainActivityKind
from loyalty.program import ChallengePeriod as DomainChallengePeriod
from loyalty.program import Channel as DomainChannel
from loyalty.program import ExpiryPolicy as DomainExpiryPolicy
from loyalty.program import NegativeBalancePolicy as DomainNegativeBalancePolicy
from resolvers.access import Role as DomainRole

# strawberry.enum registers the domain's own classes (it returns them unchanged), so the
# names below are real types for both strawberry and mypy.
Role = strawberry.enum(DomainRole, name="Role", description="What a token's holder acts as.")
Channel = DomainChannel
strawberry.enum(Channel, name="Channel", description="A surface or message channel.")
IdentifierKind = model.IdentifierKind
strawberry.enum(IdentifierKind, name="IdentifierKind", description="A way a customer is known.")
ChangeKind = model.ChangeKind
strawberry.enum(ChangeKind, name="ChangeKind", description="What a committed change did.")
LedgerEntryKind = model.LedgerEntryKind
strawberry.enum(LedgerEntryKind, name="LedgerEntryKind", description="Why points moved.")
LedgerEntryStatus = model.LedgerEntryStatus
strawberry.enum(
    LedgerEntryStatus,
    name="LedgerEntryStatus",
    description="PENDING points wait out the return window; AVAILABLE ones can be spent.",
)
IssuedRewardStatus = model.IssuedRewardStatus
strawberry.enum(
    IssuedRewardStatus, name="IssuedRewardStatus", description="Where a reward code stands."
)
UserErrorCode = ErrorCode
strawberry.enum(
    UserErrorCode, name="UserErrorCode", description="Stable codes of expected failures."
)


ActionKind = DomainActionKind
strawberry.enum(ActionKind, name="ActionKind", description="The kind of a next best action.")
Journey = DomainJourney
strawberry.enum(Journey, name="Journey", description="What triggered a notification intent.")
NotificationStatus = DomainNoticeStatus
strawberry.enum(
    NotificationStatus,
    name="NotificationStatus",
    description="PENDING: for the sender of its channel; SUPPRESSED: kept for the record.",
)


ExpiryPolicy = DomainExpiryPolicy
strawberry.enum(
    ExpiryPolicy,
    name="ExpiryPolicy",
    description="NONE: points never expire; FIFO: each lot after the validity, oldest first; "
    "INACTIVITY: everything after months without activity.",
)
NegativeBalancePolicy = DomainNegativeBalancePolicy
strawberry.enum(
    NegativeBalancePolicy,
    name="NegativeBalancePolicy",
    description="When a return takes back spent points: ALLOW a debt that blocks redemption "
    "until repaid, or WRITE_OFF what was spent.",
)
ChallengePeriod = DomainChallengePeriod
strawberry.enum(
    ChallengePeriod, name="ChallengePeriod", description="MONTH: restarts monthly; EVER: once."
)
ActivityKind = DomainActivityKind
strawberry.enum(
    ActivityKind,
    name="ActivityKind",
    description="Behaviour worth recording: it earns points or feeds decisions.",
)


ActionOutcome = DomainActionOutcome
strawberry.enum(
    ActionOutcome,
    name="ActionOutcome",
    description="What happened to a next best action once shown or sent.",
)
