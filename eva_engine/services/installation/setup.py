"""A new municipality in minutes (``eva setup``): the organisation with its case-number
pattern, its bodies, the first administrator with a password, and the standard workflow
published, in one unit of work, so that the first proposal is accepted at once. The operator
of the server does it (as for ``eva orgs create``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from eva_engine.errors import N_, InvalidInput, Problem, Text
from eva_engine.services import definitions
from eva_engine.services.command import Command
from eva_engine.services.fields import PASSWORD_LENGTH, Code, Name
from eva_engine.services.people import accounts, organisations, users
from eva_engine.services.people.accounts import MIN_PASSWORD_LENGTH
from eva_engine.services.people.organisations import CreateOrganisation
from eva_engine.services.people.users import CreateUser, GrantRole
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import BodyKind, Role

# Dynasty's and most Finnish case-management systems' diaarinumero: 257/05.00.00/2023.
DEFAULT_CASE_PATTERN = r"[0-9]{1,6}/[0-9]{2}\.[0-9]{2}\.[0-9]{2}(\.[0-9]{2})?/[0-9]{4}"
DEFAULT_CASE_EXAMPLE = "257/05.00.00/2023"
MAX_BODIES = 50


class BodyIn(Command):
    """A body of the new organisation (its code, e.g. HYVLTK, and names)."""

    code: Code = Field(pattern=r"^[A-ZÅÄÖ0-9][A-ZÅÄÖ0-9_-]{0,39}$")
    name_fi: Name = Field(min_length=1)
    name_sv: Name | None = None
    kind: BodyKind = BodyKind.COMMITTEE


class SetUpOrganisation(Command):
    organisation: CreateOrganisation
    bodies: list[BodyIn] = Field(min_length=1, max_length=MAX_BODIES)
    administrator: CreateUser
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=PASSWORD_LENGTH)


class SetupReport(BaseModel):
    organisation: str
    bodies: list[str]
    administrator: str
    published: list[str] = Field(description="workflow versions published now")
    workflows: list[str] = Field(description="every workflow version this organisation can use")


def set_up(eva: Eva, caller: Caller, cmd: SetUpOrganisation) -> SetupReport:
    """Create everything a new organisation needs, all of it or nothing."""
    with eva.uow() as uow:
        org = organisations.create_organisation(eva, caller, cmd.organisation)
        bodies = [
            organisations.create_body(
                eva,
                caller,
                organisations.CreateBody(organisation=org.code, **body.model_dump()),
            )
            for body in cmd.bodies
        ]
        admin = users.create_user(eva, caller, cmd.administrator, org.code)
        users.grant_role(
            eva, caller, GrantRole(username=admin.username, organisation=org.code, role=Role.ADMIN)
        )
        accounts.set_password(eva, caller, admin.username, cmd.password)
        report = definitions.publish(eva, caller)
        workflow = cmd.organisation.workflow_name
        usable = sorted(
            label
            for label in report.published + report.unchanged
            if label.startswith(f"{workflow} v")
        )
        if not usable:
            missing = Text(
                N_("There is no workflow %(workflow)s in the definitions folder: check its name."),
                {"workflow": workflow},
            )
            raise InvalidInput(missing, [Problem.of("organisation.workflow_name", missing)])
        uow.commit()
    return SetupReport(
        organisation=org.code,
        bodies=[b.code for b in bodies],
        administrator=admin.username,
        published=report.published,
        workflows=usable,
    )
