"""Giving assessments back to case-management systems: the data of the summary a presenter
pastes into the proposal's reasoning text (esittelijän perustelut), and the whole assessment
document. The web layer renders the summary (HTML and text, in Finnish, Swedish or English).

Confidentiality rule (docs/exchange.md): an export marked public never carries confidential
content. A public export of a partly confidential proposal keeps what comes from definitions and
controlled vocabularies (question and area texts, screening outcome and criteria, directions,
magnitudes, durations, affected groups) and leaves out every text people wrote (the written
summary, reasons, alternative titles and descriptions, justifications, evidence, mitigations,
indicators, the proposal's texts: grounds, decision proposal, decision), saying so; it lists
only the public attachments (never a non-public one's name, only how many were left out). A
public export of a confidential proposal is refused. Every export of a non-public proposal is
logged as a disclosure (Tiedonhallintalaki 17 §)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from pydantic import BaseModel, Field

from eva_engine.db.audit import AuditContext
from eva_engine.errors import N_, NotFound, PermissionDenied, Text
from eva_engine.localized import LocalizedText
from eva_engine.models import (
    Answer,
    Assessment,
    Attachment,
    Body,
    Meeting,
    Organisation,
    Proposal,
    ProposalText,
)
from eva_engine.services.access import (
    actor_for,
    load_proposal,
    log_disclosure,
    no_assessment,
    no_proposal,
    require_proposal_access,
)
from eva_engine.services.assessment.documents import AssessmentDocument, current_document
from eva_engine.services.attachments.queries import listed as listed_attachments
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import (
    AffectedGroup,
    Certainty,
    Direction,
    Duration,
    Magnitude,
    Publicity,
    ScreeningOutcome,
    TextKind,
    TextLanguage,
)
from eva_engine.workflow.context import AssessmentSnapshot
from eva_engine.workflow.definition import WorkflowBundle


class ScreeningSummary(BaseModel):
    outcome: ScreeningOutcome
    criteria: list[LocalizedText]
    exemption: LocalizedText | None
    reason: str | None = Field(description="None when left out of a public export")
    participation_plan: str | None


class AlternativeSummary(BaseModel):
    position: int
    title: str | None = Field(description="None when left out of a public export")
    description: str | None
    chosen: bool


class ImpactCell(BaseModel):
    alternative: int
    direction: Direction
    magnitude: Magnitude | None
    duration: Duration | None
    certainty: Certainty | None
    affected_groups: list[AffectedGroup]
    justification: str | None
    evidence_source: str | None


class ImpactRow(BaseModel):
    """One question: the chosen alternative's impact next to the other alternatives'."""

    question_id: str
    question: LocalizedText
    topic: LocalizedText
    chosen: ImpactCell | None
    others: list[ImpactCell]


class AreaSummary(BaseModel):
    area_id: str
    title: LocalizedText
    impacts: list[ImpactRow] = Field(description="questions with an impact in any alternative")
    without_impact: int = Field(description="answered questions with no impact in any")


class MitigationSummary(BaseModel):
    question: LocalizedText
    area: LocalizedText
    alternative: int | None
    description: str
    responsible: str | None


class IndicatorSummary(BaseModel):
    name: str
    source: str | None
    responsible: str
    due: date
    question: LocalizedText | None


class TextSummary(BaseModel):
    """One of the proposal's texts (grounds, decision proposal, decision) in one language."""

    kind: TextKind
    language: TextLanguage
    content: str


class AttachmentSummary(BaseModel):
    """One of the proposal's attachments as the summary lists it."""

    file_name: str
    media_type: str = Field(description="The kind of file, e.g. application/pdf")
    publicity: Publicity


class SummaryView(BaseModel):
    """Everything the assessment summary says, in every language the definitions have."""

    proposal_id: int
    organisation: str
    case_number: str
    title_fi: str
    title_sv: str | None
    body: str
    body_name_fi: str
    body_name_sv: str | None
    meeting_starts_at: datetime | None
    section: str | None
    state: str
    revision: int
    publicity: Publicity
    confidentiality_ground: str | None
    public: bool = Field(description="made for publication")
    omitted: bool = Field(description="confidential parts were left out")
    summary: str | None
    screening: ScreeningSummary | None
    alternatives: list[AlternativeSummary]
    chosen: int | None
    areas: list[AreaSummary]
    mitigations: list[MitigationSummary]
    mitigations_omitted: int
    indicators: list[IndicatorSummary]
    indicators_omitted: int
    texts: list[TextSummary] = Field(
        default_factory=list, description="The proposal's texts; none in a public export"
    )
    texts_omitted: int = Field(default=0, description="texts left out of a public export")
    attachments: list[AttachmentSummary] = Field(
        default_factory=list, description="The attachments; only the public ones in a public export"
    )
    attachments_omitted: int = Field(
        default=0, description="non-public attachments left out of a public export"
    )


def _log_export(audit: AuditContext, proposal: Proposal, what: str, public: bool) -> bool:
    """An export of non-public material is a disclosure (Tiedonhallintalaki 17 §)."""
    return log_disclosure(audit, proposal, "proposal.export", {"export": what, "public": public})


def refuse_public(proposal: Proposal) -> None:
    if proposal.publicity == Publicity.CONFIDENTIAL:
        raise PermissionDenied(
            Text(
                N_(
                    "Proposal %(id)s is confidential (%(ground)s): it has no public summary. "
                    "Export it without the public option, for internal use only."
                ),
                {"id": proposal.id, "ground": proposal.confidentiality_ground or ""},
            )
        )


def _cell(answer: Answer, position: int, keep_text: bool) -> ImpactCell:
    return ImpactCell(
        alternative=position,
        direction=answer.direction,
        magnitude=answer.magnitude,
        duration=answer.duration,
        certainty=answer.certainty,
        affected_groups=[AffectedGroup(g) for g in answer.affected_groups],
        justification=answer.justification if keep_text else None,
        evidence_source=answer.evidence_source if keep_text else None,
    )


def _build(
    bundle: WorkflowBundle,
    proposal: Proposal,
    assessment: Assessment,
    snap: AssessmentSnapshot,
    org: Organisation | None,
    body: Body | None,
    meeting: Meeting | None,
    stored_texts: Sequence[ProposalText],
    stored_attachments: Sequence[Attachment],
    public: bool,
) -> SummaryView:
    """The summary from what has been read (nothing is read here)."""
    keep = not public or proposal.publicity == Publicity.PUBLIC
    texts = [TextSummary(kind=t.kind, language=t.language, content=t.content) for t in stored_texts]
    attachments = [
        AttachmentSummary(file_name=a.file_name, media_type=a.media_type, publicity=a.publicity)
        for a in stored_attachments
        if not public or a.publicity == Publicity.PUBLIC
    ]
    screening = None
    if snap.screening is not None:
        s = snap.screening
        criteria = {c.id: c.text for c in bundle.workflow.screening.criteria}
        exemptions = {e.id: e.text for e in bundle.workflow.screening.exemptions}
        screening = ScreeningSummary(
            outcome=s.outcome,
            criteria=[criteria[c] for c in s.criteria if c in criteria],
            exemption=(
                exemptions[s.exemption] if s.exemption and s.exemption in exemptions else None
            ),
            reason=s.reason if keep else None,
            participation_plan=s.participation_plan if keep else None,
        )
    position = {a.id: a.position for a in snap.alternatives}
    chosen = next((a.position for a in snap.alternatives if a.chosen), None)
    by_question: dict[str, list[Answer]] = {}
    for answer in snap.answers:
        by_question.setdefault(answer.question_id, []).append(answer)

    areas: list[AreaSummary] = []
    questions: dict[str, tuple[LocalizedText, LocalizedText]] = {}
    for checklist in bundle.checklists:
        for area in checklist.areas:
            rows: list[ImpactRow] = []
            quiet = 0
            for topic in area.topics:
                for question in topic.questions:
                    questions[question.id] = (
                        question.text,
                        area.title,
                    )
                    answers = by_question.get(question.id, [])
                    if not answers:
                        continue
                    if all(a.direction == Direction.NONE for a in answers):
                        quiet += 1
                        continue
                    cells = sorted(
                        (_cell(a, position[a.alternative_id], keep) for a in answers),
                        key=lambda c: c.alternative,
                    )
                    rows.append(
                        ImpactRow(
                            question_id=question.id,
                            question=question.text,
                            topic=topic.title,
                            chosen=next((c for c in cells if c.alternative == chosen), None),
                            others=[c for c in cells if c.alternative != chosen],
                        )
                    )
            if rows or quiet:
                areas.append(
                    AreaSummary(
                        area_id=area.id,
                        title=area.title,
                        impacts=rows,
                        without_impact=quiet,
                    )
                )
    unknown = LocalizedText(fi="?", sv="?", en="?")
    mitigations = [
        MitigationSummary(
            question=questions.get(m.question_id, (unknown, unknown))[0],
            area=questions.get(m.question_id, (unknown, unknown))[1],
            alternative=position[m.alternative_id] if m.alternative_id else None,
            description=m.description,
            responsible=m.responsible,
        )
        for m in snap.mitigations
    ]
    indicators = [
        IndicatorSummary(
            name=i.name,
            source=i.source,
            responsible=i.responsible,
            due=i.due,
            question=questions[i.question_id][0] if i.question_id in questions else None,
        )
        for i in snap.indicators
    ]
    return SummaryView(
        proposal_id=proposal.id,
        organisation=org.code if org else "?",
        case_number=proposal.case_number,
        title_fi=proposal.title_fi,
        title_sv=proposal.title_sv,
        body=body.code if body else "?",
        body_name_fi=body.name_fi if body else "?",
        body_name_sv=body.name_sv if body else None,
        meeting_starts_at=meeting.starts_at if meeting else None,
        section=(
            f"§ {proposal.section_number}/{proposal.section_year}"
            if proposal.section_number
            else None
        ),
        state=proposal.state,
        revision=proposal.revision,
        publicity=proposal.publicity,
        confidentiality_ground=proposal.confidentiality_ground,
        public=public,
        omitted=not keep,
        summary=assessment.summary if keep else None,
        screening=screening,
        alternatives=[
            AlternativeSummary(
                position=a.position,
                title=a.title if keep else None,
                description=a.description if keep else None,
                chosen=a.chosen,
            )
            for a in snap.alternatives
        ],
        chosen=chosen,
        areas=areas,
        mitigations=mitigations if keep else [],
        mitigations_omitted=0 if keep else len(mitigations),
        indicators=indicators if keep else [],
        indicators_omitted=0 if keep else len(indicators),
        texts=texts if keep else [],
        texts_omitted=0 if keep else len(texts),
        attachments=attachments,
        attachments_omitted=len(stored_attachments) - len(attachments),
    )


def summary(eva: Eva, caller: Caller, proposal_id: int, *, public: bool = False) -> SummaryView:
    """The summary of the proposal's current assessment revision. ``public``: for publication
    (confidential parts left out; refused for a confidential proposal)."""
    with eva.reading() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        proposal = load_proposal(repos, proposal_id, user)
        if public:
            refuse_public(proposal)
        assessment = repos.assessment(proposal.id, proposal.revision)
        if assessment is None:  # pragma: no cover - created with every revision
            raise NotFound(no_assessment(proposal.id))
        bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
        snap = repos.snapshot(assessment.id)
        org = repos.organisation(proposal.organisation_id)
        body = repos.body(proposal.body_id)
        meeting = repos.meeting(proposal.meeting_id) if proposal.meeting_id else None
        texts = repos.proposal_texts(proposal.id)
        attachments = listed_attachments(repos, proposal.id)

        view = _build(
            bundle, proposal, assessment, snap, org, body, meeting, texts, attachments, public
        )
        if _log_export(uow.audit, proposal, "summary", public):
            uow.commit()
        return view


def summaries_of(eva: Eva, caller: Caller, proposal_ids: Sequence[int]) -> list[SummaryView]:
    """The internal summaries of several proposals in the order given (an agenda's appendices),
    from one query per kind of row whatever their number; each proposal checked as ``summary``
    checks it. Printed for the meeting's own material: not a disclosure, so not logged."""
    with eva.reading() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        proposals = {p.id: p for p in repos.proposals_by_ids(list(proposal_ids))}
        for pid in proposal_ids:
            if pid not in proposals:
                raise NotFound(no_proposal(pid))
            require_proposal_access(repos, user, proposals[pid])
        assessments = repos.current_assessments(proposal_ids)
        snapshots = repos.snapshots(a.id for a in assessments.values())
        texts = repos.proposal_texts_of(proposal_ids)
        attachments = repos.attachments_of(proposal_ids)
        orgs = {p.organisation_id for p in proposals.values()}
        organisations = {o: repos.organisation(o) for o in orgs}
        bodies = repos.bodies_by_id(p.body_id for p in proposals.values())
        meetings = {
            m: repos.meeting(m) for m in {p.meeting_id for p in proposals.values() if p.meeting_id}
        }
        result = []
        for pid in proposal_ids:
            proposal = proposals[pid]
            assessment = assessments.get(pid)
            if assessment is None:  # pragma: no cover - created with every revision
                raise NotFound(no_assessment(pid))
            bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
            result.append(
                _build(
                    bundle,
                    proposal,
                    assessment,
                    snapshots[assessment.id],
                    organisations[proposal.organisation_id],
                    bodies.get(proposal.body_id),
                    meetings.get(proposal.meeting_id) if proposal.meeting_id else None,
                    texts[pid],
                    attachments[pid],
                    public=False,
                )
            )
        return result


def export_assessment(eva: Eva, caller: Caller, proposal_id: int) -> AssessmentDocument:
    """The whole assessment (eva.assessment/1, what ``eva assessment import`` reads). Never
    public: it carries everything; the export of a non-public proposal is logged."""
    with eva.reading() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        proposal = load_proposal(repos, proposal_id, user)
        assessment = repos.assessment(proposal.id, proposal.revision)
        if assessment is None:  # pragma: no cover - created with every revision
            raise NotFound(no_assessment(proposal.id))
        document = current_document(repos, assessment)
        if _log_export(uow.audit, proposal, "assessment", False):
            uow.commit()
        return document
