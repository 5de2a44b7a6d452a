"""Meetings and their agendas: is every item's assessment complete, what blocks it, who has it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, NotFound, PermissionDenied, Problem, Text
from eva_engine.services.access import (
    KEEP_MEETINGS,
    READ_AGENDA,
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
from eva_engine.workflow.definition import WorkflowBundle


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
    """Who has the item now: a named user, or a queue of roles."""

    user: str | None
    roles: list[str]


class AgendaText(BaseModel):
    """One of the item's texts (grounds, decision proposal, decision) in one language."""

    kind: TextKind
    language: TextLanguage
    content: str


class AgendaItem(BaseModel):
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
        repos = uow.repos
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
        items = []
        for proposal in proposals:
            bundle = phases.bundle(proposal.workflow_name, proposal.workflow_version)
            assessment = assessments.get(proposal.id)
            snap = snapshots[assessment.id] if assessment else AssessmentSnapshot()
            _, missing = completeness(bundle, snap)
            title = bundle.workflow.state(proposal.state).title
            complete = phases.ready(
                proposal.workflow_name, proposal.workflow_version, proposal.state
            )
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
            held_by = []
            for a in open_tasks[proposal.id]:
                named = assignees.get(a.assignee_id) if a.assignee_id else None
                held_by.append(Holder(user=named.username if named else None, roles=a.roles))
            items.append(
                AgendaItem(
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
