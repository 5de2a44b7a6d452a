"""The review comments' queries: a proposal's comments with their replies, and the open ones on
the proposals a person prepares (My work), each in a fixed number of statements."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eva_engine.models import Proposal, ReviewComment, ReviewCommentReply
from eva_engine.vocabulary import CommentStatus


class CommentQueries:
    def __init__(self, session: Session) -> None:
        self.session = session

    def comment(self, comment_id: int) -> ReviewComment | None:
        return self.session.get(ReviewComment, comment_id)

    def of_proposal(self, proposal_id: int) -> Sequence[ReviewComment]:
        """The proposal's comments, oldest first: one statement."""
        return self.session.scalars(
            select(ReviewComment)
            .where(ReviewComment.proposal_id == proposal_id)
            .order_by(ReviewComment.id)
        ).all()

    def replies(self, comment_ids: Sequence[int]) -> dict[int, list[ReviewCommentReply]]:
        """The replies of each of these comments, oldest first: one statement."""
        found: dict[int, list[ReviewCommentReply]] = {cid: [] for cid in comment_ids}
        if not comment_ids:
            return found
        for reply in self.session.scalars(
            select(ReviewCommentReply)
            .where(ReviewCommentReply.comment_id.in_(list(comment_ids)))
            .order_by(ReviewCommentReply.comment_id, ReviewCommentReply.id)
        ):
            found[reply.comment_id].append(reply)
        return found

    def open_for_preparer(
        self, user_id: int, limit: int
    ) -> tuple[Sequence[tuple[ReviewComment, Proposal]], int]:
        """At most ``limit`` of the open comments on the proposals ``user_id`` prepares, the
        oldest first, each with its proposal, and how many there are in all: two statements."""
        mine = (
            Proposal.preparer_id == user_id,
            ReviewComment.status == CommentStatus.OPEN,
        )
        rows = self.session.execute(
            select(ReviewComment, Proposal)
            .join(Proposal, Proposal.id == ReviewComment.proposal_id)
            .where(*mine)
            .order_by(ReviewComment.created_at, ReviewComment.id)
            .limit(limit)
        ).all()
        total = self.session.scalar(
            select(func.count())
            .select_from(ReviewComment)
            .join(Proposal, Proposal.id == ReviewComment.proposal_id)
            .where(*mine)
        )
        return [(c, p) for c, p in rows], int(total or 0)
