"""Creating and scheduling decision proposals: the commands that change them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import Field

from eva_engine.db.repositories import Repositories
from eva_engine.db.unit_of_work import UnitOfWork
from eva_engine.errors import N_, InvalidInput, NotFound, Problem, Text
from eva_engine.models import Assessment, Assignment, Body, Organisation, Proposal, User, utcnow
from eva_engine.services.access import (
    CREATE_PROPOSAL,
    SCHEDULE,
    actor_for,
    load_proposal,
    no_body,
    no_meeting,
    no_organisation,
    require,
)
from eva_engine.services.command import Command
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.fields import (
    AgendaPosition,
    CaseNumber,
    Code,
    Id,
    LegalGround,
    SectionNumber,
    Title,
    Username,
    Version,
    ground_of_confidential,
)
from eva_engine.services.proposals.queries import proposal_view
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import ProblemView, ProposalView
from eva_engine.vocabulary import Publicity, Role


class CreateProposal(Command):
    organisation: Code = Field(min_length=1)
    case_number: CaseNumber = Field(min_length=1)
    title_fi: Title = Field(min_length=1)
    title_sv: Title | None = None
    body: Code = Field(min_length=1)
    preparer: Username | None = None  # defaults to the caller
    presenter: Username = Field(min_length=1)
    publicity: Publicity = Publicity.PUBLIC
    confidentiality_ground: LegalGround | None = Field(default=None, validate_default=True)
    contains_personal_data: bool = False

    _ground_for_confidential = ground_of_confidential(
        Text(
            N_(
                "A proposal that is not public needs its legal ground of confidentiality "
                "(salassapitoperuste): give it, e.g. JulkL 24 § 1 mom. 25 k."
            )
        )
    )


class CreatedProposal(ProposalView):
    """A new proposal, and what its creator should know of it (nothing was refused)."""

    warnings: list[ProblemView] = Field(
        default_factory=list,
        description="e.g. another proposal of the same body has this case number",
    )


def duplicate_case_number(
    repos: Repositories, body: Body, case_number: str, other_than: int | None = None
) -> list[Problem]:
    """A warning, never a refusal: other proposals of the body carry this case number (a
    matter may come back, but usually it is a typing mistake)."""
    found = repos.proposals_with_case_number(body.id, case_number, other_than=other_than)
    if not found:
        return []
    ids = ", ".join(str(p.id) for p in found)
    return [
        Problem.of(
            "case_number",
            Text(
                N_("proposal %(ids)s of %(body)s has the case number %(case_number)s already"),
                {"ids": ids, "body": body.code, "case_number": case_number},
            ),
        )
    ]


class ScheduleProposal(Command):
    proposal_id: Id
    meeting_id: Id
    agenda_position: AgendaPosition | None = Field(
        default=None, description="the place on the agenda; default: after its last item"
    )
    section_number: SectionNumber | None = Field(default=None, description="§; default: next free")
    expected_version: Version | None = None


def create_proposal(eva: Eva, caller: Caller, cmd: CreateProposal) -> CreatedProposal:
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        org = repos.organisation_by_code(cmd.organisation)
        if org is None or (user is not None and not repos.holds_any_role(user.id, org.id)):
            raise NotFound(no_organisation(cmd.organisation))
        body = repos.body_by_code(org.id, cmd.body)
        if body is None:
            raise NotFound(no_body(cmd.body, org.code))
        uow.audit.role = require(repos, user, org.id, body.id, CREATE_PROPOSAL)
        if not re.fullmatch(org.case_number_pattern, cmd.case_number, re.ASCII):
            raise InvalidInput(
                Text(N_("The case number is not in your organisation's format.")),
                [
                    Problem.of(
                        "case_number",
                        Text(
                            N_(
                                "%(given)s is not in your organisation's format: write it like "
                                "%(example)s."
                            ),
                            {"given": cmd.case_number, "example": org.case_number_example},
                        ),
                    )
                ],
            )
        preparer_name = cmd.preparer or (user.username if user else None)
        if preparer_name is None:
            raise InvalidInput(
                Text(N_("Name the preparer.")),
                [Problem.of("preparer", Text(N_("Fill this in: it is required.")))],
            )
        preparer = _user_with_role(repos, preparer_name, org.id, body.id, Role.PREPARER)
        presenter = _user_with_role(repos, cmd.presenter, org.id, body.id, Role.PRESENTER)
        definition = repos.latest_definition(org.workflow_name)
        if definition is None:
            raise NotFound(
                Text(
                    N_(
                        "The workflow %(workflow)s has not been published: an administrator "
                        "publishes it first (eva workflows publish)."
                    ),
                    {"workflow": org.workflow_name},
                )
            )
        warnings = duplicate_case_number(repos, body, cmd.case_number)
        proposal = add_proposal(
            repos, org, body, preparer, presenter, cmd, definition.name, definition.version
        )
        uow.commit()
        view = proposal_view(repos, proposal, user)
        return CreatedProposal(**dict(view), warnings=[ProblemView.of(w) for w in warnings])


def add_proposal(
    repos: Repositories,
    org: Organisation,
    body: Body,
    preparer: User,
    presenter: User,
    cmd: CreateProposal,
    workflow_name: str,
    workflow_version: int,
    **extra: Any,
) -> Proposal:
    """A checked new proposal with its first assessment revision and the preparer's task, in
    the caller's unit of work (one proposal from the form; an import file's many are stored in
    bulk by ``exchange.importing.create_in_bulk``, which writes the same rows)."""
    bundle, digest = stored_bundle(repos, workflow_name, workflow_version)
    proposal = Proposal(
        organisation_id=org.id,
        case_number=cmd.case_number,
        title_fi=cmd.title_fi,
        title_sv=cmd.title_sv,
        body_id=body.id,
        publicity=cmd.publicity,
        confidentiality_ground=cmd.confidentiality_ground,
        contains_personal_data=cmd.contains_personal_data,
        preparer_id=preparer.id,
        presenter_id=presenter.id,
        state=bundle.workflow.initial,
        workflow_name=workflow_name,
        workflow_version=workflow_version,
        workflow_hash=digest,
        revision=1,
        **extra,
    )
    repos.add(proposal)
    repos.flush()
    repos.add(Assessment(proposal_id=proposal.id, revision=1))
    first = bundle.workflow.initial_task  # the workflow names the preparer's first task
    repos.add(
        Assignment(
            organisation_id=org.id,
            proposal_id=proposal.id,
            kind=first.kind,
            assignee_id=preparer.id,
            due=(utcnow() + timedelta(days=first.due_days)).date(),
        )
    )
    return proposal


def _user_with_role(
    repos: Repositories, username: str, org_id: int, body_id: int, role: Role
) -> User:
    user = repos.user_by_username(username)
    if user is None or not user.active:
        raise NotFound(
            Text(
                N_("There is no active user %(username)s. Check the username."),
                {"username": username},
            )
        )
    if role not in repos.roles_for(user.id, org_id, body_id):
        wrong = Text(
            N_("%(username)s does not hold the role of %(roles)s for this body: choose another."),
            {"username": user.full_name or username, "roles": role.value},
        )
        raise InvalidInput(wrong, [Problem.of(role.value, wrong)])
    return user


def schedule(eva: Eva, caller: Caller, cmd: ScheduleProposal) -> ProposalView:
    """Put the proposal on a meeting (the agenda position is the order within that meeting)."""
    with eva.uow() as uow:
        return schedule_in(uow, caller, cmd)


def schedule_in(uow: UnitOfWork, caller: Caller, cmd: ScheduleProposal) -> ProposalView:
    """``schedule`` within a unit of work already open (committed here)."""
    repos = uow.repos
    uow.audit.actor, user = actor_for(repos, caller)
    proposal = load_proposal(repos, cmd.proposal_id, user, for_update=True)
    uow.check_version(proposal, cmd.expected_version)
    uow.audit.role = require(repos, user, proposal.organisation_id, proposal.body_id, SCHEDULE)
    meeting = repos.meeting(cmd.meeting_id) if 0 < cmd.meeting_id < 2**63 else None
    if meeting is None or meeting.organisation_id != proposal.organisation_id:
        raise NotFound(no_meeting(cmd.meeting_id))  # another organisation's: unknown
    if meeting.body_id != proposal.body_id:
        wrong = Text(N_("That meeting is not a meeting of the proposal's body: choose another."))
        raise InvalidInput(wrong, [Problem.of("meeting_id", wrong)])
    bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
    current = bundle.workflow.state(proposal.state)
    if current.final or current.decided:
        wrong = Text(N_("A decided or closed proposal cannot be put on a meeting's agenda."))
        raise InvalidInput(wrong, [Problem.of("state", wrong)])
    if cmd.agenda_position is not None:
        proposal.agenda_position = cmd.agenda_position
    elif proposal.meeting_id != meeting.id or proposal.agenda_position is None:
        # Without a position the item goes last, so that the agenda's order is stored.
        proposal.agenda_position = repos.last_agenda_position(meeting.id) + 1
    proposal.meeting_id = meeting.id
    if cmd.section_number is not None:
        proposal.section_year = meeting.starts_at.year
        proposal.section_number = cmd.section_number
    uow.commit()
    return proposal_view(repos, proposal, user)


class UnscheduleProposal(Command):
    proposal_id: Id
    meeting_id: Id
    expected_version: Version | None = None


def unschedule(eva: Eva, caller: Caller, cmd: UnscheduleProposal) -> ProposalView:
    """Take the proposal off the meeting's agenda (the secretary, as scheduling it): it keeps
    no agenda position and no section number of that meeting."""
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        proposal = load_proposal(repos, cmd.proposal_id, user, for_update=True)
        uow.check_version(proposal, cmd.expected_version)
        uow.audit.role = require(repos, user, proposal.organisation_id, proposal.body_id, SCHEDULE)
        if proposal.meeting_id != cmd.meeting_id:
            raise NotFound(no_meeting(cmd.meeting_id))  # not on that meeting's agenda
        bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
        current = bundle.workflow.state(proposal.state)
        if current.final or current.decided:
            wrong = Text(N_("A decided or closed proposal stays on its meeting's agenda."))
            raise InvalidInput(wrong, [Problem.of("state", wrong)])
        proposal.meeting_id = None
        proposal.agenda_position = None
        proposal.section_year = None
        proposal.section_number = None
        uow.commit()
        return proposal_view(repos, proposal, user)
