"""Meetings and their agendas: is every item's assessment complete, what blocks it, who has it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, NotFound, PermissionDenied, Problem, Text
from eva_engine.models import Proposal
from eva_engine.services.access import (
    actor_for,
    require_named_user,
    require_proposal_access,
    require_role,
)
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.proposals.queries import proposal_view
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import ProblemView
from eva_engine.vocabulary import Role


def agenda_ready(repos: Repositories, proposal: Proposal) -> bool:
    """Done as far as a meeting is concerned: its state's ``phase`` (in the proposal's own
    workflow version) is ``ready`` (signed off, on the agenda) or ``decided`` (approved,
    rejected, removed, followed up, closed), not still in preparation."""
    bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
    return bundle.workflow.state(proposal.state).phase != "preparation"


class Holder(BaseModel):
    """Who has the item now: a named user, or a queue of roles."""

    user: str | None
    roles: list[str]


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
        for grant in repos.grants(user.id):
            if grant.role != Role.SECRETARY:
                continue
            if grant.body_id is not None:
                body_ids.add(grant.body_id)
            else:
                body_ids.update(b.id for b in repos.bodies(grant.organisation_id))
        result = []
        for meeting in repos.meetings_of_bodies(sorted(body_ids)):
            body = repos.body(meeting.body_id)
            items = repos.meeting_items(meeting.id)
            result.append(
                MeetingSummary(
                    id=meeting.id,
                    body=body.code if body else "?",
                    body_name=body.name_fi if body else "?",
                    starts_at=meeting.starts_at,
                    items=len(items),
                    incomplete=sum(not agenda_ready(repos, p) for p in items),
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
            raise NotFound(f"no meeting {meeting_id}")
        try:
            require_role(
                repos,
                user,
                meeting.organisation_id,
                meeting.body_id,
                [Role.SECRETARY, Role.PRESENTER, Role.AUDITOR, Role.ADMIN],
                "read agendas",
            )
        except PermissionDenied as exc:
            # Another organisation's meeting does not exist for this user; in their own, a
            # meeting of a body they have no part in is refused for what it is.
            if not repos.holds_any_role(user.id, meeting.organisation_id):
                raise NotFound(f"no meeting {meeting_id}") from exc
            raise
        body = repos.body(meeting.body_id)
        items = []
        for proposal in repos.meeting_items(meeting.id):
            require_proposal_access(repos, user, proposal)
            view = proposal_view(repos, proposal, None)
            complete = agenda_ready(repos, proposal)
            blocking = list(view.missing)
            if not complete:
                blocking.insert(
                    0,
                    ProblemView.of(
                        Problem.of(
                            "state",
                            Text(
                                N_("not done yet: the proposal is at %(state)s"),
                                {
                                    "state": view.state_title_en,
                                    "state_fi": view.state_title_fi,
                                    "state_sv": view.state_title_sv,
                                    "state_en": view.state_title_en,
                                },
                            ),
                            Text(N_("Sign-off")),
                        )
                    ),
                )
            assessment = repos.assessment(proposal.id, proposal.revision)
            items.append(
                AgendaItem(
                    proposal_id=proposal.id,
                    case_number=proposal.case_number,
                    title_fi=proposal.title_fi,
                    title_sv=proposal.title_sv,
                    state=proposal.state,
                    state_title_fi=view.state_title_fi,
                    state_title_sv=view.state_title_sv,
                    state_title_en=view.state_title_en,
                    section=view.section,
                    position=proposal.agenda_position,
                    complete=complete and not view.missing,
                    blocking=blocking,
                    held_by=[Holder(user=a.assignee, roles=a.roles) for a in view.assignments],
                    summary=assessment.summary if assessment else None,
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
