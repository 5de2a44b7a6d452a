"""SQLAlchemy 2 typed entities. Nothing here opens a session or commits."""

from eva_engine.models.api import ApiToken, IdempotencyRecord
from eva_engine.models.assessment import (
    Alternative,
    Answer,
    Assessment,
    FollowUpIndicator,
    Mitigation,
    Screening,
)
from eva_engine.models.assignment import Assignment
from eva_engine.models.attachment import Attachment
from eva_engine.models.audit import (
    GENESIS_HASH,
    INSTALLATION_CHAIN,
    AuditChainHead,
    AuditEvent,
    chain_of,
)
from eva_engine.models.base import Audited, Base, clock, jsonable, utcnow
from eva_engine.models.definition import PublishedDefinition
from eva_engine.models.follow_up import FollowUp
from eva_engine.models.identity import ExternalIdentity, IdentityProvider
from eva_engine.models.organisation import Body, Meeting, Organisation
from eva_engine.models.outbox import OutboxMessage, Webhook
from eva_engine.models.proposal import Proposal
from eva_engine.models.proposal_text import ProposalText
from eva_engine.models.review_comment import ReviewComment, ReviewCommentReply
from eva_engine.models.user import RateLimitCounter, RoleGrant, User

__all__ = [
    "GENESIS_HASH",
    "INSTALLATION_CHAIN",
    "Alternative",
    "Answer",
    "ApiToken",
    "Assessment",
    "Assignment",
    "Attachment",
    "AuditChainHead",
    "AuditEvent",
    "Audited",
    "Base",
    "Body",
    "ExternalIdentity",
    "FollowUp",
    "FollowUpIndicator",
    "IdempotencyRecord",
    "IdentityProvider",
    "Meeting",
    "Mitigation",
    "Organisation",
    "OutboxMessage",
    "Proposal",
    "ProposalText",
    "PublishedDefinition",
    "RateLimitCounter",
    "ReviewComment",
    "ReviewCommentReply",
    "RoleGrant",
    "Screening",
    "User",
    "Webhook",
    "chain_of",
    "clock",
    "jsonable",
    "utcnow",
]
