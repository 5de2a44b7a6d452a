"""SQLAlchemy 2 typed entities. Nothing here opens a session or commits."""

from eva_engine.models.assessment import (
    Alternative,
    Answer,
    Assessment,
    FollowUpIndicator,
    Mitigation,
    Screening,
)
from eva_engine.models.assignment import Assignment
from eva_engine.models.audit import GENESIS_HASH, AuditChainHead, AuditEvent
from eva_engine.models.base import Audited, Base, jsonable, utcnow
from eva_engine.models.definition import PublishedDefinition
from eva_engine.models.organisation import Body, Meeting, Organisation
from eva_engine.models.proposal import Proposal
from eva_engine.models.user import RoleGrant, User

__all__ = [
    "GENESIS_HASH",
    "Alternative",
    "Answer",
    "Assessment",
    "Assignment",
    "AuditChainHead",
    "AuditEvent",
    "Audited",
    "Base",
    "Body",
    "FollowUpIndicator",
    "Meeting",
    "Mitigation",
    "Organisation",
    "Proposal",
    "PublishedDefinition",
    "RoleGrant",
    "Screening",
    "User",
    "jsonable",
    "utcnow",
]
