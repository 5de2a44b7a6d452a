"""Meetings and their agendas: is every item's assessment complete, what blocks it, who has it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, NotFound, PermissionDenied, Problem, Text
from eva_engine.services import paging
from eva_engine.services.access import (
    KEEP_MEETINGS,
    READ_AGENDA,
    SCHEDULE,
    actor_for,
    no_meeting,
    no_proposal,
    require,
    require_named_user,
)
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.proposals.queries import completeness
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import ProblemView
from eva_engine.vocabulary import Publicity, TextKind, TextLanguage
from eva_engine.workflow.context import AssessmentSnapshot
from eva_engine.workflow.definition import State, WorkflowBundle


class _Phases:
    """The workflow versions an agenda's items are in, each read once for the whole list."""

    def __init__(self, repos: Repositories) -> None:
        self.repos = repos
        self.bundles: dict[tuple[str, int], WorkflowBundle] = {}

    def bundle(self, name: str, version: int) -> WorkflowBundle:
        if (name, version) not in self.bundles:
            self.bundles[(name, version)] = stored_bundle(self.repos, name, version)[0]
        return self.bundles[(name, version)]

    def ready(self, name: str, version: int, state: str) -> bool:
        """Done as far as a meeting is concerned: the state's ``phase`` (in the item's own
        workflow version) is ``ready`` (signed off, on the agenda) or ``decided`` (approved,
        rejected, removed, followed up, closed), not still in preparation."""
        return self.bundle(name, version).workflow.state(state).phase != "preparation"


class Holder(BaseModel):
    """Who has the item now: a named user (their username and full name), or a queue of
    roles; and the open task (its kind and title in the item's workflow)."""

    user: str | None
    name: str | None = None
    roles: list[str]
    task: str = ""
    task_title_fi: str = ""
    task_title_sv: str = ""
    task_title_en: str = ""


class AgendaText(BaseModel):
    """One of the item's texts (grounds, decision proposal, decision) in one language."""

    kind: TextKind
    language: TextLanguage
    content: str


class AgendaItem(BaseModel):
    number: int = Field(description="the item's number on the agenda, from 1, in agenda order")
    proposal_id: int
    case_number: str
    title_fi: str
    title_sv: str | None
    state: str
    state_title_fi: str
    state_title_sv: str
    state_title_en: str
    section: str | None
    position: int | None
    complete: bool
    areas_complete: int = 0
    areas_total: int = 0
    blocking: list[ProblemView]
    held_by: list[Holder]
    summary: str | None
    texts: list[AgendaText] = Field(default_factory=list)

    def text(self, kind: str, language: str = "fi") -> str:
        """The text of ``kind``: in Swedish where asked and written, else the Finnish one."""
        found = {t.language.value: t.content for t in self.texts if t.kind.value == kind}
        return (found.get("sv") if language == "sv" else None) or found.get("fi", "")


class MeetingSummary(BaseModel):
    id: int
    body: str
    body_name: str
    starts_at: datetime
    items: int
    incomplete: int


class AgendaView(BaseModel):
    meeting: MeetingSummary
    items: list[AgendaItem]


def my_meetings(eva: Eva, caller: Caller) -> list[MeetingSummary]:
    """Meetings of the bodies where the caller is a secretary."""
    with eva.reading() as uow:
        repos = uow.repos
        _, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "meetings")
        body_ids = set()
        for grant in KEEP_MEETINGS.grants(repos.grants(user.id)):
            if grant.body_id is not None:
                body_ids.add(grant.body_id)
            else:
                body_ids.update(b.id for b in repos.bodies(grant.organisation_id))
        meetings = repos.meetings_of_bodies(sorted(body_ids))
        bodies = repos.bodies_by_id(m.body_id for m in meetings)
        phases = _Phases(repos)
        counts: dict[int, list[int]] = {m.id: [0, 0] for m in meetings}
        for meeting_id, name, version, state in repos.meeting_item_states(counts):
            counts[meeting_id][0] += 1
            counts[meeting_id][1] += not phases.ready(name, version, state)
        result = []
        for meeting in meetings:
            body = bodies.get(meeting.body_id)
            result.append(
                MeetingSummary(
                    id=meeting.id,
                    body=body.code if body else "?",
                    body_name=body.name_fi if body else "?",
                    starts_at=meeting.starts_at,
                    items=counts[meeting.id][0],
                    incomplete=counts[meeting.id][1],
                )
            )
        return result


def agenda(eva: Eva, caller: Caller, meeting_id: int) -> AgendaView:
    with eva.reading() as uow:
        return agenda_in(uow.repos, caller, meeting_id)


def agenda_page(
    eva: Eva, caller: Caller, meeting_id: int, *, text: str = "", after: str | None = None
) -> tuple[AgendaView, CandidatePage | None]:
    """The agenda and, for those who may change it, a page of the proposals to place on it,
    read in one unit of work (``None``: a presenter or an auditor reads it, never changes it)."""
    with eva.reading() as uow:
        view = agenda_in(uow.repos, caller, meeting_id)
        try:
            picked = candidates_in(uow.repos, caller, meeting_id, text=text, after=after)
        except PermissionDenied:
            picked = None
        return view, picked


def agenda_in(repos: Repositories, caller: Caller, meeting_id: int) -> AgendaView:
    """The agenda with each item's completeness, within the caller's unit of work."""
    _, maybe_user = actor_for(repos, caller)
    user = require_named_user(maybe_user, "an agenda")
    meeting = repos.meeting(meeting_id)
    if meeting is None:
        raise NotFound(no_meeting(meeting_id))
    try:
        require(repos, user, meeting.organisation_id, meeting.body_id, READ_AGENDA)
    except PermissionDenied as exc:
        # Another organisation's meeting does not exist for this user; in their own, a
        # meeting of a body they have no part in is refused for what it is.
        if not repos.holds_any_role(user.id, meeting.organisation_id):
            raise NotFound(no_meeting(meeting_id)) from exc
        raise
    body = repos.body(meeting.body_id)
    proposals = repos.meeting_items(meeting.id)
    covered = repos.covered_bodies(user.id, meeting.organisation_id)
    for proposal in proposals:  # what require_proposal_access asks, from one query
        if proposal.publicity != Publicity.PUBLIC and not (
            covered is None or proposal.body_id in covered
        ):
            raise NotFound(no_proposal(proposal.id))
    # The completeness of every item from one query per kind of row (completeness itself
    # reads nothing), whatever the length of the agenda.
    ids = [p.id for p in proposals]
    assessments = repos.current_assessments(ids)
    snapshots = repos.snapshots(a.id for a in assessments.values())
    open_tasks = repos.open_assignments_of(ids)
    texts = repos.proposal_texts_of(ids)
    assignees = repos.users_by_id(
        a.assignee_id for tasks in open_tasks.values() for a in tasks if a.assignee_id
    )
    phases = _Phases(repos)
    items: list[AgendaItem] = []
    for proposal in proposals:
        bundle = phases.bundle(proposal.workflow_name, proposal.workflow_version)
        assessment = assessments.get(proposal.id)
        snap = snapshots[assessment.id] if assessment else AssessmentSnapshot()
        progress, missing = completeness(bundle, snap)
        title = bundle.workflow.state(proposal.state).title
        complete = phases.ready(proposal.workflow_name, proposal.workflow_version, proposal.state)
        blocking = list(missing)
        if not complete:
            blocking.insert(
                0,
                ProblemView.of(
                    Problem.of(
                        "state",
                        Text(
                            N_("not done yet: the proposal is at %(state)s"),
                            {
                                "state": title.en,
                                "state_fi": title.fi,
                                "state_sv": title.sv,
                                "state_en": title.en,
                            },
                        ),
                        Text(N_("Sign-off")),
                    )
                ),
            )
        section = (
            f"§ {proposal.section_number}/{proposal.section_year}"
            if proposal.section_number
            else None
        )
        kinds = {k.id: k.title for k in bundle.workflow.task_kinds}
        held_by = []
        for a in open_tasks[proposal.id]:
            named = assignees.get(a.assignee_id) if a.assignee_id else None
            task = kinds.get(a.kind)
            held_by.append(
                Holder(
                    user=named.username if named else None,
                    name=(named.full_name or named.username) if named else None,
                    roles=a.roles,
                    task=a.kind,
                    task_title_fi=task.fi if task else a.kind,
                    task_title_sv=task.sv if task else a.kind,
                    task_title_en=task.en if task else a.kind,
                )
            )
        items.append(
            AgendaItem(
                number=len(items) + 1,
                proposal_id=proposal.id,
                case_number=proposal.case_number,
                title_fi=proposal.title_fi,
                title_sv=proposal.title_sv,
                state=proposal.state,
                state_title_fi=title.fi,
                state_title_sv=title.sv,
                state_title_en=title.en,
                section=section,
                position=proposal.agenda_position,
                complete=complete and not missing,
                areas_complete=sum(a.complete >= a.required for a in progress),
                areas_total=len(progress),
                blocking=blocking,
                held_by=held_by,
                summary=assessment.summary if assessment else None,
                texts=[
                    AgendaText(kind=t.kind, language=t.language, content=t.content)
                    for t in texts[proposal.id]
                ],
            )
        )
    return AgendaView(
        meeting=MeetingSummary(
            id=meeting.id,
            body=body.code if body else "?",
            body_name=body.name_fi if body else "?",
            starts_at=meeting.starts_at,
            items=len(items),
            incomplete=sum(not i.complete for i in items),
        ),
        items=items,
    )


def placeable(state: State) -> bool:
    """A state whose proposals the agenda's picker offers, read from the workflow: prepared
    (no longer ``editable``: in review, awaiting sign-off) or ``phase: ready`` (signed off),
    never decided nor final. An item not ready yet shows what it waits for on the agenda."""
    return not state.editable and not state.final and not state.decided


class Candidate(BaseModel):
    """A proposal the secretary may place on the agenda: of the meeting's body, on no agenda,
    in a ``placeable`` state of its own workflow version; ``ready``: signed off already."""

    proposal_id: int
    case_number: str
    title_fi: str
    title_sv: str | None
    state_title_fi: str
    state_title_sv: str
    state_title_en: str
    ready: bool


class CandidatePage(BaseModel):
    meeting_id: int
    text: str
    candidates: list[Candidate]
    next_cursor: str | None


CANDIDATE_TEXT_LENGTH = 100  # the picker's filter: a case number or words of a title


def placeable_states(repos: Repositories) -> set[str]:
    """Every state ``placeable`` in some published workflow version (one query)."""
    states: set[str] = set()
    for record in repos.workflow_definitions():
        bundle = stored_bundle(repos, record.name, record.version)[0]
        states.update(s.id for s in bundle.workflow.states if placeable(s))
    return states


def candidates(
    eva: Eva, caller: Caller, meeting_id: int, *, text: str = "", after: str | None = None
) -> CandidatePage:
    """One page (``paging.PAGE_SIZE``) of the proposals placeable on this meeting's agenda, by
    case number, whose case number or Finnish title holds ``text``: a fixed number of
    statements whatever the number of the organisation's proposals."""
    with eva.reading() as uow:
        return candidates_in(uow.repos, caller, meeting_id, text=text, after=after)


def candidates_in(
    repos: Repositories,
    caller: Caller,
    meeting_id: int,
    *,
    text: str = "",
    after: str | None = None,
) -> CandidatePage:
    """``candidates`` within the caller's unit of work."""
    text = " ".join(text.split())[:CANDIDATE_TEXT_LENGTH]
    _, maybe_user = actor_for(repos, caller)
    user = require_named_user(maybe_user, "an agenda")
    meeting = repos.meeting(meeting_id) if 0 < meeting_id < 2**63 else None
    if meeting is None or not repos.holds_any_role(user.id, meeting.organisation_id):
        raise NotFound(no_meeting(meeting_id))
    require(repos, user, meeting.organisation_id, meeting.body_id, SCHEDULE)
    start = None
    if after:
        row, case_number = paging.parts("agenda-candidates", after, 2)
        start = (case_number, paging.row_id(row))
    rows = repos.agenda_candidates(
        meeting.body_id,
        placeable_states(repos),
        text=text,
        after=start,
        limit=paging.PAGE_SIZE + 1,
    )
    shown = rows[: paging.PAGE_SIZE]
    phases = _Phases(repos)
    found = []
    for p in shown:
        state = phases.bundle(p.workflow_name, p.workflow_version).workflow.state(p.state)
        if not placeable(state):  # the state's name is placeable in another version only
            continue
        found.append(
            Candidate(
                proposal_id=p.id,
                case_number=p.case_number,
                title_fi=p.title_fi,
                title_sv=p.title_sv,
                state_title_fi=state.title.fi,
                state_title_sv=state.title.sv,
                state_title_en=state.title.en,
                ready=state.phase == "ready",
            )
        )
    last = shown[-1] if shown else None
    return CandidatePage(
        meeting_id=meeting.id,
        text=text,
        candidates=found,
        next_cursor=(
            paging.cursor("agenda-candidates", last.id, last.case_number)
            if last is not None and len(rows) > paging.PAGE_SIZE
            else None
        ),
    )
