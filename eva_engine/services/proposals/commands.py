"""Creating and scheduling decision proposals: the commands that change them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import Field, model_validator

from eva_engine.db.repositories import Repositories
from eva_engine.errors import InvalidInput, NotFound, Problem
from eva_engine.models import Assessment, Assignment, Body, Organisation, Proposal, User, utcnow
from eva_engine.services.access import CREATE_PROPOSAL, SCHEDULE, actor_for, load_proposal, require
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
)
from eva_engine.services.proposals.queries import proposal_view
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import ProposalView
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
    confidentiality_ground: LegalGround | None = None
    contains_personal_data: bool = False

    @model_validator(mode="after")
    def _ground_for_confidential(self) -> CreateProposal:
        if self.publicity != Publicity.PUBLIC and not (self.confidentiality_ground or "").strip():
            raise ValueError(
                "confidentiality_ground: a non-public proposal needs its legal ground "
                "(salassapitoperuste), e.g. 'JulkL 24 § 1 mom. 25 k'"
            )
        return self


class ScheduleProposal(Command):
    proposal_id: Id
    meeting_id: Id
    agenda_position: AgendaPosition | None = None
    section_number: SectionNumber | None = Field(default=None, description="§; default: next free")
    expected_version: Version | None = None


def create_proposal(eva: Eva, caller: Caller, cmd: CreateProposal) -> ProposalView:
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        org = repos.organisation_by_code(cmd.organisation)
        if org is None or (user is not None and not repos.holds_any_role(user.id, org.id)):
            raise NotFound(f"no organisation {cmd.organisation!r}")
        body = repos.body_by_code(org.id, cmd.body)
        if body is None:
            raise NotFound(f"no body {cmd.body!r} in {org.code}")
        uow.audit.role = require(repos, user, org.id, body.id, CREATE_PROPOSAL)
        if not re.fullmatch(org.case_number_pattern, cmd.case_number, re.ASCII):
            raise InvalidInput(
                "the case number is not in this organisation's format",
                [
                    Problem(
                        "case_number",
                        f"{cmd.case_number!r} does not look like {org.case_number_example!r}",
                    )
                ],
            )
        preparer_name = cmd.preparer or (user.username if user else None)
        if preparer_name is None:
            raise InvalidInput("name the preparer", [Problem("preparer", "required")])
        preparer = _user_with_role(repos, preparer_name, org.id, body.id, Role.PREPARER)
        presenter = _user_with_role(repos, cmd.presenter, org.id, body.id, Role.PRESENTER)
        definition = repos.latest_definition(org.workflow_name)
        if definition is None:
            raise NotFound(
                f"workflow {org.workflow_name!r} has not been published: "
                "run 'eva workflows publish' first"
            )
        proposal = add_proposal(
            repos, org, body, preparer, presenter, cmd, definition.name, definition.version
        )
        uow.commit()
        return proposal_view(repos, proposal, user)


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
        raise NotFound(f"no active user {username!r}")
    if role not in repos.roles_for(user.id, org_id, body_id):
        raise InvalidInput(
            f"{username} cannot be the {role.value} here",
            [Problem(role.value, f"{username} holds no {role.value} role for this body")],
        )
    return user


def schedule(eva: Eva, caller: Caller, cmd: ScheduleProposal) -> ProposalView:
    """Put the proposal on a meeting (the agenda position is the order within that meeting)."""
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        proposal = load_proposal(repos, cmd.proposal_id, user, for_update=True)
        uow.check_version(proposal, cmd.expected_version)
        uow.audit.role = require(repos, user, proposal.organisation_id, proposal.body_id, SCHEDULE)
        meeting = repos.meeting(cmd.meeting_id) if 0 < cmd.meeting_id < 2**63 else None
        if meeting is None or meeting.organisation_id != proposal.organisation_id:
            raise NotFound(f"no meeting {cmd.meeting_id}")  # another organisation's: unknown
        if meeting.body_id != proposal.body_id:
            raise InvalidInput(
                "that meeting is not a meeting of the proposal's body",
                [Problem("meeting_id", f"no meeting {cmd.meeting_id} of this body")],
            )
        bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
        current = bundle.workflow.state(proposal.state)
        if current.final or current.decided:
            raise InvalidInput(
                "a decided or closed proposal cannot be scheduled",
                [Problem("state", proposal.state)],
            )
        proposal.meeting_id = meeting.id
        proposal.agenda_position = cmd.agenda_position
        if cmd.section_number is not None:
            proposal.section_year = meeting.starts_at.year
            proposal.section_number = cmd.section_number
        uow.commit()
        return proposal_view(repos, proposal, user)
