"""Reads the API needs beside the UI's: the caller's organisations, their bodies and meetings,
and a proposal's current row version (for ``If-Match``); what the caller can do at all (the
menu's ``capabilities``)."""

from __future__ import annotations

from pydantic import BaseModel

from eva_engine.db.repositories import Repositories
from eva_engine.errors import NotFound
from eva_engine.models import Organisation, User
from eva_engine.services.access import (
    ADMINISTER,
    KEEP_MEETINGS,
    PREPARE,
    READ_PUBLIC_REPORT,
    READ_WHOLE_HISTORY,
    actor_for,
    load_proposal,
    no_body,
    no_organisation,
    require_named_user,
)
from eva_engine.services.people.organisations import BodyView, MeetingView, OrganisationView
from eva_engine.services.runtime import Caller, Eva


def _organisation(repos: Repositories, user: User, code: str) -> Organisation:
    """The organisation, if the user holds any role in it; otherwise it does not exist."""
    org = repos.organisation_by_code(code)
    if org is None or not repos.holds_any_role(user.id, org.id):
        raise NotFound(no_organisation(code))
    return org


class Capabilities(BaseModel):
    """What the caller can do at all, by the rules the services check (``access``): the pages
    offer exactly these (a menu item that leads to a refusal is never shown)."""

    create_proposal: bool = False
    meetings: bool = False
    audit: bool = False
    reports: bool = False
    administration: bool = False


def capabilities(eva: Eva, caller: Caller) -> Capabilities:
    """The caller's capabilities from their grants, in a fixed number of queries. The shell
    operator (no user) may do everything; a disabled or unknown user nothing."""
    with eva.reading() as uow:
        repos = uow.repos
        if caller.username is None:
            return Capabilities(**dict.fromkeys(Capabilities.model_fields, True))
        user = repos.user_by_username(caller.username)
        if user is None or not user.active:
            return Capabilities()
        grants = repos.grants(user.id)
        return Capabilities(
            create_proposal=PREPARE.allowed_somewhere(grants),
            meetings=KEEP_MEETINGS.allowed_somewhere(grants),
            audit=READ_WHOLE_HISTORY.allowed_somewhere(grants),
            reports=READ_PUBLIC_REPORT.allowed_somewhere(grants),
            administration=ADMINISTER.allowed_somewhere(grants),
        )


def my_organisations(eva: Eva, caller: Caller) -> list[OrganisationView]:
    """The organisations where the caller holds a role."""
    with eva.reading() as uow:
        repos = uow.repos
        _, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "organisations")
        result = []
        for org_id in repos.organisations_of(user.id):
            org = repos.organisation(org_id)
            if org is not None:
                result.append(
                    OrganisationView(
                        id=org.id,
                        code=org.code,
                        name_fi=org.name_fi,
                        name_sv=org.name_sv,
                        kind=org.kind,
                        case_number_example=org.case_number_example,
                    )
                )
        return sorted(result, key=lambda o: o.code)


def bodies(eva: Eva, caller: Caller, organisation: str) -> list[BodyView]:
    with eva.reading() as uow:
        repos = uow.repos
        _, maybe_user = actor_for(repos, caller)
        org = _organisation(repos, require_named_user(maybe_user, "bodies"), organisation)
        return [
            BodyView(
                id=b.id,
                organisation=org.code,
                code=b.code,
                name_fi=b.name_fi,
                name_sv=b.name_sv,
                kind=b.kind,
            )
            for b in repos.bodies(org.id)
        ]


def meetings(
    eva: Eva, caller: Caller, organisation: str, body: str | None = None
) -> list[MeetingView]:
    """Meetings of the organisation's bodies (or of one body), earliest first."""
    with eva.reading() as uow:
        repos = uow.repos
        _, maybe_user = actor_for(repos, caller)
        org = _organisation(repos, require_named_user(maybe_user, "meetings"), organisation)
        codes = {b.id: b.code for b in repos.bodies(org.id)}
        if body is not None:
            chosen = [i for i, code in codes.items() if code == body]
            if not chosen:
                raise NotFound(no_body(body, org.code))
        else:
            chosen = sorted(codes)
        return [
            MeetingView(id=m.id, body=codes[m.body_id], starts_at=m.starts_at, location=m.location)
            for m in repos.meetings_of_bodies(chosen)
        ]


def require_member(eva: Eva, caller: Caller, organisation: str) -> None:
    """NotFound unless the caller holds a role in the organisation (another organisation's
    records, even its existence, are not revealed)."""
    with eva.reading() as uow:
        _, maybe_user = actor_for(uow.repos, caller)
        _organisation(uow.repos, require_named_user(maybe_user, "an organisation"), organisation)


def proposal_version(eva: Eva, caller: Caller, proposal_id: int) -> int:
    """The proposal's row version, if the caller may read the proposal."""
    with eva.reading() as uow:
        _, user = actor_for(uow.repos, caller)
        return load_proposal(uow.repos, proposal_id, user).row_version
