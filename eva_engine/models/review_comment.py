"""A reviewer's comment on a proposal's assessment (tarkastuskommentti): about one question, one
impact area or the whole assessment, with the replies of the preparer and the reviewers, open
until someone resolves it. Comments block no workflow step; every change is in the proposal's
audit history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eva_engine.models.base import Audited, Base, enum_column, utcnow
from eva_engine.vocabulary import CommentStatus, CommentTarget


class ReviewComment(Audited, Base):
    __tablename__ = "review_comments"
    __table_args__ = (Index("ix_review_comments_proposal_status", "proposal_id", "status"),)
    __audit_name__ = "review_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    target_kind: Mapped[CommentTarget] = mapped_column(enum_column(CommentTarget, length=16))
    # The question's or the area's id in the checklist; None for the whole assessment.
    target_key: Mapped[str | None] = mapped_column(String(160))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[CommentStatus] = mapped_column(
        enum_column(CommentStatus, length=16), default=CommentStatus.OPEN
    )
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]


class ReviewCommentReply(Audited, Base):
    __tablename__ = "review_comment_replies"
    __audit_name__ = "review_comment_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    comment_id: Mapped[int] = mapped_column(ForeignKey("review_comments.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
