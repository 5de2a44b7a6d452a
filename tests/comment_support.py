"""A review comment of the other organisation (muualla), the target of cross-organisation
tests."""

from __future__ import annotations

from eva_engine.db.audit import Actor
from eva_engine.models import ReviewComment
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import CommentStatus, CommentTarget
from tests.builders import Foreign


def foreign_comment(eva: Eva, foreign: Foreign) -> int:
    with eva.uow() as uow:
        uow.audit.actor = Actor(None, "tests", "tests")
        proposal = uow.repos.proposal(foreign.proposal, for_update=True)
        assert proposal is not None
        comment = ReviewComment(
            organisation_id=proposal.organisation_id,
            proposal_id=proposal.id,
            target_kind=CommentTarget.ASSESSMENT,
            target_key=None,
            text="Muun kunnan kommentti",
            author_id=proposal.presenter_id,
            status=CommentStatus.OPEN,
        )
        uow.session.add(comment)
        uow.session.flush()
        uow.commit()
        return comment.id
