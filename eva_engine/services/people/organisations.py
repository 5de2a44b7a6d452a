"""Setting up organisations (the operator of the server), their bodies (an organisation's
administrator) and meetings (its administrator or a secretary of the body)."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from eva_engine.errors import N_, Conflict, InvalidInput, NotFound, PermissionDenied, Problem, Text
from eva_engine.models import Body, Meeting, Organisation
from eva_engine.services.access import (
    actor_for,
    administered_organisation,
    no_body,
    no_organisation,
    require_role_in,
)
from eva_engine.services.command import Command
from eva_engine.services.fields import (
    BODY_CODE_PATTERN,
    ORGANISATION_CODE_PATTERN,
    CaseNumber,
    CasePattern,
    ChoiceId,
    Code,
    Name,
    TypedDateTime,
    refusal,
)
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import BodyKind, OrganisationKind, Role


class CreateOrganisation(Command):
    code: Code = Field(pattern=ORGANISATION_CODE_PATTERN)
    name_fi: Name = Field(min_length=1)
    name_sv: Name | None = None
    kind: OrganisationKind = OrganisationKind.MUNICIPALITY
    case_number_pattern: CasePattern = Field(min_length=1)
    case_number_example: CaseNumber = Field(min_length=1)
    workflow_name: ChoiceId = Field(default="eva-standard", min_length=1)

    @field_validator("case_number_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise refusal(
                Text(
                    N_("This is not a valid regular expression (%(error)s): correct it."),
                    {"error": str(exc)},
                )
            ) from exc
        return value


class CreateBody(Command):
    organisation: Code = Field(min_length=1)
    code: Code = Field(pattern=BODY_CODE_PATTERN)
    name_fi: Name = Field(min_length=1)
    name_sv: Name | None = None
    kind: BodyKind = BodyKind.COMMITTEE


class CreateMeeting(Command):
    organisation: Code = Field(min_length=1)
    body: Code = Field(min_length=1)
    starts_at: TypedDateTime = Field(description="e.g. 13.6.2023 klo 17.00 (Finnish time)")
    location: Name | None = None

    @field_validator("starts_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise refusal(
                Text(N_("Give the time with its UTC offset, e.g. 2026-06-13T16:00+03:00."))
            )
        return value


class OrganisationView(BaseModel):
    id: int
    code: str
    name_fi: str
    name_sv: str | None
    kind: OrganisationKind
    case_number_example: str


class BodyView(BaseModel):
    id: int
    organisation: str
    code: str
    name_fi: str
    name_sv: str | None
    kind: BodyKind


class MeetingView(BaseModel):
    id: int
    body: str
    starts_at: datetime
    location: str | None


def create_organisation(eva: Eva, caller: Caller, cmd: CreateOrganisation) -> OrganisationView:
    if not re.fullmatch(cmd.case_number_pattern, cmd.case_number_example, re.ASCII):
        wrong = Text(
            N_("The example case number %(example)s does not match the pattern: correct either."),
            {"example": cmd.case_number_example},
        )
        raise InvalidInput(wrong, [Problem.of("case_number_example", wrong)])
    with eva.uow() as uow:
        uow.audit.actor, user = actor_for(uow.repos, caller)
        if user is not None:
            # An organisation's administrator administers that one organisation; setting up
            # another is for the operator of the server.
            raise PermissionDenied(
                Text(N_("Only the operator of the server can do this (without --as)."))
            )
        if uow.repos.organisation_by_code(cmd.code) is not None:
            raise Conflict(
                Text(
                    N_("The organisation %(organisation)s exists already: choose another code."),
                    {"organisation": cmd.code},
                )
            )
        org = Organisation(**cmd.model_dump())
        uow.repos.add(org)
        uow.commit()
        return _org_view(org)


def _org_view(org: Organisation) -> OrganisationView:
    return OrganisationView(
        id=org.id,
        code=org.code,
        name_fi=org.name_fi,
        name_sv=org.name_sv,
        kind=org.kind,
        case_number_example=org.case_number_example,
    )


def organisation_by_code(eva: Eva, code: str) -> OrganisationView:
    with eva.reading() as uow:
        org = uow.repos.organisation_by_code(code)
        if org is None:
            raise NotFound(no_organisation(code))
        return _org_view(org)


def create_body(eva: Eva, caller: Caller, cmd: CreateBody) -> BodyView:
    with eva.uow() as uow:
        uow.audit.actor, user = actor_for(uow.repos, caller)
        org, uow.audit.role = administered_organisation(
            uow.repos, user, cmd.organisation, "create bodies"
        )
        if uow.repos.body_by_code(org.id, cmd.code) is not None:
            raise Conflict(
                Text(
                    N_(
                        "The body %(body)s exists already in %(organisation)s: choose another code."
                    ),
                    {"body": cmd.code, "organisation": org.code},
                )
            )
        body = Body(
            organisation_id=org.id,
            code=cmd.code,
            name_fi=cmd.name_fi,
            name_sv=cmd.name_sv,
            kind=cmd.kind,
        )
        uow.repos.add(body)
        uow.commit()
        return BodyView(
            id=body.id,
            organisation=org.code,
            code=body.code,
            name_fi=body.name_fi,
            name_sv=body.name_sv,
            kind=body.kind,
        )


def create_meeting(eva: Eva, caller: Caller, cmd: CreateMeeting) -> MeetingView:
    with eva.uow() as uow:
        uow.audit.actor, user = actor_for(uow.repos, caller)
        missing = f"no organisation {cmd.organisation!r}"
        org = uow.repos.organisation_by_code(cmd.organisation)
        if org is None or (user is not None and not uow.repos.holds_any_role(user.id, org.id)):
            # another organisation's bodies are not revealed
            raise NotFound(no_organisation(cmd.organisation))
        body = uow.repos.body_by_code(org.id, cmd.body)
        if body is None:
            raise NotFound(no_body(cmd.body, org.code))
        uow.audit.role = require_role_in(
            uow.repos,
            user,
            org.id,
            body.id,
            [Role.ADMIN, Role.SECRETARY],
            "create meetings",
            missing,
        )
        meeting = Meeting(
            organisation_id=org.id, body_id=body.id, starts_at=cmd.starts_at, location=cmd.location
        )
        uow.repos.add(meeting)
        uow.commit()
        return MeetingView(
            id=meeting.id, body=body.code, starts_at=meeting.starts_at, location=meeting.location
        )
