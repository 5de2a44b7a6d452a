"""What the assessment editor shows: the matrix of one impact area, the screening choices, and
what a preparer can choose when creating a proposal."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from eva_engine.checklists.completeness import gap_fields, missing_answers
from eva_engine.errors import N_, NotFound, Text
from eva_engine.localized import LocalizedText
from eva_engine.services.access import (
    PREPARE,
    actor_for,
    load_proposal,
    no_assessment,
    no_organisation,
    require_named_user,
)
from eva_engine.services.assessment.documents import AnswerIn, current_document
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.proposals.queries import capabilities
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import ProposalCapabilities
from eva_engine.vocabulary import Publicity, Role, ScreeningOutcome


class QuestionView(BaseModel):
    id: str
    text: LocalizedText
    help: LocalizedText | None
    required: bool


class TopicView(BaseModel):
    id: str
    title: LocalizedText
    questions: list[QuestionView]


class AreaLink(BaseModel):
    id: str
    title: LocalizedText
    required: int
    complete: int


class MissingItem(BaseModel):
    """The first required answer that is empty or incomplete: where "go to the first missing
    item" leads."""

    area: str
    question: str
    alternative: int


class AlternativeView(BaseModel):
    position: int
    title: str
    description: str | None
    chosen: bool


class EvidenceFile(BaseModel):
    """A file attached as evidence of the area (its name, type, size and publicity)."""

    id: int
    file_name: str
    media_type: str
    size: int
    publicity: Publicity
    confidentiality_ground: str | None


# As many evidence files as a proposal may hold attachments (``attachments.MAX_ATTACHMENTS``).
EVIDENCE_LIMIT = 100


class AreaMatrix(BaseModel):
    proposal_id: int
    row_version: int
    editable: bool
    depth: ScreeningOutcome | None
    area: AreaLink
    topics: list[TopicView]
    alternatives: list[AlternativeView]
    cells: dict[str, dict[int, AnswerIn]]
    areas: list[AreaLink]
    can: ProposalCapabilities = Field(default_factory=ProposalCapabilities)
    # What each answer of this area still lacks, by question and alternative position: the
    # fields of ``completeness.gap_fields`` (``direction``: a required one not answered). An
    # answer is saved even when incomplete; the page shows these as warnings at the fields.
    gaps: dict[str, dict[int, list[str]]] = Field(default_factory=dict)
    first_missing: MissingItem | None = None
    evidence: list[EvidenceFile] = Field(default_factory=list)

    def questions(self) -> list[QuestionView]:
        return [q for t in self.topics for q in t.questions]

    def question_complete(self, question: QuestionView) -> bool:
        """Every alternative answered, and no answer lacking what its depth asks."""
        if not self.alternatives:
            return False
        cells = self.cells.get(question.id, {})
        gaps = self.gaps.get(question.id, {})
        return all(a.position in cells and not gaps.get(a.position) for a in self.alternatives)

    def counted_questions(self) -> list[QuestionView]:
        """The questions the area's progress counts: the required ones, or every one before
        the screening has set a depth."""
        required = [q for q in self.questions() if q.required]
        return required or self.questions()


class Choice(BaseModel):
    id: str
    text: LocalizedText


class ScreeningChoices(BaseModel):
    criteria: list[Choice]
    exemptions: list[Choice]


class Option(BaseModel):
    code: str
    name: str


class CreationChoices(BaseModel):
    organisation: str
    bodies: list[Option]
    presenters: list[Option]


def _text(value: object) -> LocalizedText:
    return LocalizedText.model_validate(value, from_attributes=True)


def area_matrix(eva: Eva, caller: Caller, proposal_id: int, area_id: str | None) -> AreaMatrix:
    with eva.reading() as uow:
        repos = uow.repos
        _, user = actor_for(repos, caller)
        proposal = load_proposal(repos, proposal_id, user)
        bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
        assessment = repos.assessment(proposal.id, proposal.revision)
        if assessment is None:  # pragma: no cover - created with every revision
            raise NotFound(no_assessment(proposal_id))
        snap = repos.snapshot(assessment.id)
        depth = snap.screening.outcome if snap.screening else None
        progress = {}
        first_missing = None
        if depth is not None and depth != ScreeningOutcome.EXEMPT:
            _, found = missing_answers(bundle.checklists, depth, snap.alternatives, snap.answers)
            progress = {p.area: p for p in found}
            first = next((p for p in found if p.first_missing), None)
            if first is not None and first.first_missing is not None:
                first_missing = MissingItem(
                    area=first.area,
                    question=first.first_missing[0],
                    alternative=first.first_missing[1],
                )
        areas = [
            AreaLink(
                id=a.id,
                title=_text(a.title),
                required=progress[a.id].required if a.id in progress else 0,
                complete=progress[a.id].complete if a.id in progress else 0,
            )
            for c in bundle.checklists
            for a in c.areas
        ]
        wanted = area_id or areas[0].id
        area = next((a for c in bundle.checklists for a in c.areas if a.id == wanted), None)
        if area is None:
            raise NotFound(
                Text(
                    N_("There is no impact area %(area)s in this proposal's checklists."),
                    {"area": wanted},
                )
            )
        doc = current_document(repos, assessment)
        cells: dict[str, dict[int, AnswerIn]] = {}
        for answer in doc.answers:
            cells.setdefault(answer.question, {})[answer.alternative] = answer
        gaps: dict[str, dict[int, list[str]]] = {}
        for topic in area.topics:
            for question in topic.questions:
                required = depth is not None and question.required_for(depth)
                for alternative in doc.alternatives:
                    stored = cells.get(question.id, {}).get(alternative.position)
                    if stored is None and not required:
                        continue
                    missing = gap_fields(stored, depth or ScreeningOutcome.LIGHT)
                    if missing:
                        gaps.setdefault(question.id, {})[alternative.position] = missing
        editable = bundle.workflow.state(proposal.state).editable
        roles = (
            repos.roles_for(user.id, proposal.organisation_id, proposal.body_id) if user else None
        )
        return AreaMatrix(
            proposal_id=proposal.id,
            row_version=proposal.row_version,
            editable=editable,
            can=capabilities(roles, editable),
            depth=depth,
            area=next(a for a in areas if a.id == area.id),
            topics=[
                TopicView(
                    id=t.id,
                    title=_text(t.title),
                    questions=[
                        QuestionView(
                            id=q.id,
                            text=_text(q.text),
                            help=_text(q.help) if q.help else None,
                            required=depth is not None and q.required_for(depth),
                        )
                        for q in t.questions
                    ],
                )
                for t in area.topics
            ],
            alternatives=[
                AlternativeView(
                    position=a.position, title=a.title, description=a.description, chosen=a.chosen
                )
                for a in doc.alternatives
            ],
            cells=cells,
            areas=areas,
            gaps=gaps,
            first_missing=first_missing,
            evidence=[
                EvidenceFile(
                    id=f.id,
                    file_name=f.file_name,
                    media_type=f.media_type,
                    size=f.size,
                    publicity=f.publicity,
                    confidentiality_ground=f.confidentiality_ground,
                )
                for f in repos.attachments(proposal.id, EVIDENCE_LIMIT, area=area.id)
            ],
        )


def screening_choices(eva: Eva, caller: Caller, proposal_id: int) -> ScreeningChoices:
    with eva.reading() as uow:
        _, user = actor_for(uow.repos, caller)
        proposal = load_proposal(uow.repos, proposal_id, user)
        bundle, _ = stored_bundle(uow.repos, proposal.workflow_name, proposal.workflow_version)
        screening = bundle.workflow.screening
        return ScreeningChoices(
            criteria=[Choice(id=c.id, text=_text(c.text)) for c in screening.criteria],
            exemptions=[Choice(id=e.id, text=_text(e.text)) for e in screening.exemptions],
        )


def creation_choices(eva: Eva, caller: Caller) -> CreationChoices:
    """Where the caller can create proposals: the first organisation where they prepare."""
    with eva.reading() as uow:
        repos = uow.repos
        _, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "creating a proposal")
        grants = PREPARE.grants(repos.grants(user.id))
        if not grants:
            raise NotFound(Text(N_("You hold no preparer role: ask your administrator for one.")))
        org = repos.organisation(grants[0].organisation_id)
        assert org is not None  # noqa: S101 - a foreign key
        bodies = [
            b
            for b in repos.bodies(org.id)
            if any(g.body_id in (None, b.id) for g in grants if g.organisation_id == org.id)
        ]
        presenters = sorted(
            {
                (u.username, u.full_name)
                for u, _ in repos.users_with_role(org.id, Role.PRESENTER, [b.id for b in bodies])
                if bodies
            }
        )
        return CreationChoices(
            organisation=org.code,
            bodies=[Option(code=b.code, name=b.name_fi) for b in bodies],
            presenters=[Option(code=code, name=name) for code, name in presenters],
        )


def question_texts(eva: Eva, caller: Caller, proposal_id: int) -> dict[str, LocalizedText]:
    """Every question of the proposal's workflow version, by id, in checklist order."""
    with eva.reading() as uow:
        _, user = actor_for(uow.repos, caller)
        proposal = load_proposal(uow.repos, proposal_id, user)
        bundle, _ = stored_bundle(uow.repos, proposal.workflow_name, proposal.workflow_version)
        return {q.id: _text(q.text) for c in bundle.checklists for _, _, q in c.questions()}


class StateOption(BaseModel):
    id: str
    title: LocalizedText


class MeetingOption(BaseModel):
    id: int
    body: str
    starts_at: datetime


class ListChoices(BaseModel):
    organisation: str
    bodies: list[Option]
    states: list[StateOption]
    meetings: list[MeetingOption] = Field(default_factory=list)
    areas: list[StateOption] = Field(default_factory=list)  # impact areas: id and title
    people: list[Option] = Field(default_factory=list)  # who may hold tasks: username, name


def list_choices(eva: Eva, caller: Caller) -> ListChoices:
    """The filters of the proposal list: the caller's organisation, its bodies, the states."""
    with eva.reading() as uow:
        repos = uow.repos
        _, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "listing proposals")
        organisations = repos.organisations_of(user.id)
        if not organisations:
            raise NotFound(
                Text(N_("You hold no role in any organisation: ask your administrator for one."))
            )
        org = repos.organisation(organisations[0])
        if org is None:  # pragma: no cover - a foreign key
            raise NotFound(no_organisation(str(organisations[0])))
        definition = repos.latest_definition(org.workflow_name)
        states: list[StateOption] = []
        areas: list[StateOption] = []
        if definition is not None:
            bundle, _ = stored_bundle(repos, definition.name, definition.version)
            states = [StateOption(id=s.id, title=_text(s.title)) for s in bundle.workflow.states]
            areas = [
                StateOption(id=a.id, title=_text(a.title))
                for c in bundle.checklists
                for a in c.areas
            ]
        bodies = list(repos.bodies(org.id))
        codes = {b.id: b.code for b in bodies}
        holders = repos.users_with_open_tasks(org.id)  # whom the assignee filter can find
        people = [Option(code=u.username, name=u.full_name) for u in holders]
        return ListChoices(
            organisation=org.code,
            bodies=[Option(code=b.code, name=b.name_fi) for b in bodies],
            states=states,
            meetings=[
                MeetingOption(id=m.id, body=codes[m.body_id], starts_at=m.starts_at)
                for m in repos.meetings_of_bodies(list(codes))
            ],
            areas=areas,
            people=sorted(people, key=lambda o: o.name),
        )
