"""Checks of partial assessment edits that name the wrong fields by their place in the
request (the services check the merged document, whose indices a client never sent)."""

from __future__ import annotations

from pydantic import BaseModel

from eva_engine.services.access import actor_for, load_proposal
from eva_engine.services.assessment.documents import (
    FORMAT,
    AnswerIn,
    AssessmentDocument,
    current_document,
    document_problems,
    nothing_saved,
)
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.runtime import Caller, Eva


def check_answers(eva: Eva, caller: Caller, proposal_id: int, answers: list[AnswerIn]) -> None:
    """``InvalidInput`` naming ``answers[i]`` of the request for every answer that cannot be
    stored: an unknown question, an alternative that does not exist, a duplicate cell."""
    with eva.reading() as uow:
        _, user = actor_for(uow.repos, caller)
        proposal = load_proposal(uow.repos, proposal_id, user)
        assessment = uow.repos.assessment(proposal.id, proposal.revision)
        if assessment is None:  # pragma: no cover - created with every revision
            return
        bundle, _ = stored_bundle(uow.repos, proposal.workflow_name, proposal.workflow_version)
        stored = current_document(uow.repos, assessment)
    if not stored.alternatives:
        return  # the edit itself reports that the alternatives come first
    request_only = AssessmentDocument.model_construct(
        format=FORMAT,
        summary=None,
        alternatives=stored.alternatives,
        answers=answers,
        mitigations=[],
        follow_up_indicators=[],
    )
    problems = [
        p for p in document_problems(request_only, bundle) if p.location.startswith("answers")
    ]
    if problems:
        raise nothing_saved(problems)


class QuestionView(BaseModel):
    """A checklist question of the proposal's pinned workflow version."""

    id: str
    area: str
    topic: str
    text_fi: str
    text_sv: str
    text_en: str
    required_at: str  # light, full or optional
    required: bool  # at the proposal's recorded screening depth


def questions(eva: Eva, caller: Caller, proposal_id: int) -> list[QuestionView]:
    """The checklist questions the proposal's assessment answers, in checklist order."""
    with eva.reading() as uow:
        _, user = actor_for(uow.repos, caller)
        proposal = load_proposal(uow.repos, proposal_id, user)
        bundle, _ = stored_bundle(uow.repos, proposal.workflow_name, proposal.workflow_version)
        assessment = uow.repos.assessment(proposal.id, proposal.revision)
        snap = uow.repos.snapshot(assessment.id) if assessment else None
        depth = snap.screening.outcome if snap and snap.screening else None
        return [
            QuestionView(
                id=q.id,
                area=area.id,
                topic=topic.id,
                text_fi=q.text.fi,
                text_sv=q.text.sv,
                text_en=q.text.en,
                required_at=q.required_at,
                required=depth is not None and q.required_for(depth),
            )
            for checklist in bundle.checklists
            for area, topic, q in checklist.questions()
        ]
