"""What an administrator of one organisation sees and manages: its bodies, meetings, users and
their roles there. Another organisation's people and roles stay out of view."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from eva_engine.errors import N_, PermissionDenied, Text
from eva_engine.models import RoleGrant
from eva_engine.services.access import ADMINISTER, actor_for, require_named_user
from eva_engine.services.people.organisations import BodyView, MeetingView
from eva_engine.services.people.users import GrantView, UserView, user_view
from eva_engine.services.runtime import Caller, Eva


class Overview(BaseModel):
    organisation: str
    organisation_name: str
    bodies: list[BodyView]
    meetings: list[MeetingView]
    users: list[UserView]
    next_user: str | None = None  # the next page of users starts after this username


def administered(eva: Eva, caller: Caller) -> str:
    """The code of the organisation the caller administers."""
    with eva.reading() as uow:
        _, maybe_user = actor_for(uow.repos, caller)
        user = require_named_user(maybe_user, "administration")
        for grant in ADMINISTER.grants(uow.repos.grants(user.id)):
            org = uow.repos.organisation(grant.organisation_id)
            if org is not None:
                return org.code
        raise PermissionDenied(Text(N_("Only an administrator can do this.")))


def overview(
    eva: Eva,
    caller: Caller,
    *,
    since: datetime | None = None,
    users_after: str | None = None,
    users_limit: int | None = None,
) -> Overview:
    """The administered organisation's bodies, meetings (from ``since``) and people: the
    accounts at home there, with their roles there (some may hold none yet), by username, at
    most ``users_limit`` of them after the username ``users_after`` (``next_user`` continues).
    A fixed number of statements however many people there are."""
    code = administered(eva, caller)
    with eva.reading() as uow:
        repos = uow.repos
        org = repos.organisation_by_code(code)
        assert org is not None  # noqa: S101 - found just above
        bodies = list(repos.bodies(org.id))
        body_codes = {b.id: b.code for b in bodies}
        meetings = [
            MeetingView(
                id=m.id, body=body_codes[m.body_id], starts_at=m.starts_at, location=m.location
            )
            for m in repos.meetings_of_bodies([b.id for b in bodies])
            if since is None or m.starts_at >= since
        ]
        users = []
        # not someone else's, nor the operator's; one more than asked tells whether more follow
        people = list(
            repos.users_at_home(
                org.id, after=users_after, limit=None if users_limit is None else users_limit + 1
            )
        )
        more = users_limit is not None and len(people) > users_limit
        people = people[:users_limit]
        grants: dict[int, list[RoleGrant]] = {}
        for grant in repos.grants_in(org.id, [u.id for u in people]):
            grants.setdefault(grant.user_id, []).append(grant)
        for user in people:
            here = grants.get(user.id, [])
            users.append(
                user_view(
                    user,
                    [
                        GrantView(
                            id=g.id,
                            organisation=org.code,
                            body=body_codes.get(g.body_id) if g.body_id else None,
                            role=g.role,
                            active=True,
                        )
                        for g in here
                    ],
                    org.code,
                )
            )
        return Overview(
            organisation=org.code,
            organisation_name=org.name_fi,
            bodies=[
                BodyView(
                    id=b.id,
                    organisation=org.code,
                    code=b.code,
                    name_fi=b.name_fi,
                    name_sv=b.name_sv,
                    kind=b.kind,
                )
                for b in bodies
            ],
            meetings=sorted(meetings, key=lambda m: m.starts_at),
            users=users,
            next_user=people[-1].username if more and people else None,
        )
