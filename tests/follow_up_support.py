"""A follow-up of the other organisation (muualla), the target of cross-organisation tests:
muualla's draft gets an assessment with one indicator and a follow-up row of its own (as a
decision would open it), so that testila's people have a foreign follow-up to try."""

from __future__ import annotations

from eva_engine.db.audit import Actor
from eva_engine.models import FollowUp
from eva_engine.services.assessment import documents
from eva_engine.services.runtime import Eva
from tests.builders import Foreign, as_, document


def foreign_follow_up(eva: Eva, foreign: Foreign) -> int:
    documents.import_assessment(eva, as_("outsider"), foreign.proposal, document(eva))
    with eva.uow() as uow:
        uow.audit.actor = Actor(None, "tests", "tests")
        proposal = uow.repos.proposal(foreign.proposal, for_update=True)
        assert proposal is not None
        assessment = uow.repos.assessment(proposal.id, proposal.revision)
        assert assessment is not None
        indicator = uow.repos.indicators(assessment.id)[0]
        follow_up = FollowUp(
            organisation_id=proposal.organisation_id,
            proposal_id=proposal.id,
            assessment_id=assessment.id,
            indicator_id=indicator.id,
            kind="follow_up",
            responsible_id=proposal.preparer_id,
            due=indicator.due,
        )
        uow.repos.add(follow_up)
        uow.session.flush()
        uow.commit()
        return follow_up.id
