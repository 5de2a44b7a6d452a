"""Who may do what: actors from callers, and role checks scoped to organisation and body."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eva_engine.db.audit import Actor, AuditContext, PendingEvent
from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, NotFound, PermissionDenied, Text
from eva_engine.models import Attachment, Organisation, Proposal, RoleGrant, User
from eva_engine.services.runtime import Caller
from eva_engine.vocabulary import Publicity, Role, TextKind
from eva_engine.workflow.definition import Workflow


@dataclass(frozen=True)
class Rule:
    """Who may do one thing, declared once: the roles that allow it (the first one held is the
    role the user acts in) and whether only a grant for the whole organisation counts (a grant
    for one body does not). The services check it (``require``); the pages ask it what to
    show (``allowed``, ``allowed_somewhere``), so a page never offers what the service refuses."""

    doing: str
    roles: tuple[Role, ...]
    whole_organisation: bool = False

    def allowed(self, held: Iterable[Role]) -> Role | None:
        """The role of ``held`` the user acts in under this rule, or None."""
        have = set(held)
        return next((role for role in self.roles if role in have), None)

    def allowed_somewhere(self, grants: Iterable[RoleGrant]) -> bool:
        """Whether any of these grants (a user's, in any organisation) allows it."""
        return any(
            g.role in self.roles and (g.body_id is None or not self.whole_organisation)
            for g in grants
        )

    def grants(self, grants: Iterable[RoleGrant]) -> list[RoleGrant]:
        """The grants that allow it, in their order."""
        return [
            g
            for g in grants
            if g.role in self.roles and (g.body_id is None or not self.whole_organisation)
        ]


# The rules the services check and the pages show. A page's menu item or action is offered
# exactly when its rule allows it (``people.directory.capabilities``, ``ProposalView.can``).
CREATE_PROPOSAL = Rule("create proposals", (Role.PREPARER, Role.ADMIN))
PREPARE = Rule("create a proposal of one's own", (Role.PREPARER,))  # the web form's
EDIT_ASSESSMENT = Rule("edit the assessment", (Role.PREPARER, Role.EXPERT))
SCHEDULE = Rule("schedule proposals", (Role.SECRETARY,))
KEEP_MEETINGS = Rule("keep the meetings of a body", (Role.SECRETARY,))
READ_AGENDA = Rule("read agendas", (Role.SECRETARY, Role.PRESENTER, Role.AUDITOR, Role.ADMIN))
READ_WHOLE_HISTORY = Rule(
    "read the whole history", (Role.AUDITOR, Role.ADMIN), whole_organisation=True
)
ADMINISTER = Rule("administer the organisation", (Role.ADMIN,), whole_organisation=True)
READ_PUBLIC_REPORT = Rule("read the public report", tuple(Role), whole_organisation=True)
# Review comments: the reviewers of a proposal comment (never its preparer: four eyes); the
# preparer and the reviewers reply and resolve (services/comments).
REVIEW_COMMENT = Rule("comment on the review", (Role.SECRETARY, Role.EXPERT))
READ_INTERNAL_REPORT = Rule(
    "read the internal report", (Role.AUDITOR, Role.ADMIN), whole_organisation=True
)


def require(
    repos: Repositories,
    user: User | None,
    organisation_id: int,
    body_id: int | None,
    rule: Rule,
    doing: str | None = None,
) -> Role | None:
    """``require_role`` for a declared rule (``doing`` names the act in the refusal)."""
    return require_role(repos, user, organisation_id, body_id, rule.roles, doing or rule.doing)


def resolve_user(repos: Repositories, username: str) -> User:
    user = repos.user_by_username(username)
    if user is None:
        raise NotFound(_no_user(username))
    if not user.active:
        raise PermissionDenied(
            Text(
                N_("The account %(username)s is disabled; ask your administrator."),
                {"username": username},
            )
        )
    return user


def actor_for(repos: Repositories, caller: Caller) -> tuple[Actor, User | None]:
    if caller.username is None:
        return Actor(None, f"operator ({caller.client})", caller.client), None
    user = resolve_user(repos, caller.username)
    return Actor(user.id, user.username, caller.client), user


def require_role(
    repos: Repositories,
    user: User | None,
    organisation_id: int,
    body_id: int | None,
    roles: Iterable[Role],
    doing: str,
) -> Role | None:
    """The role the user acts in. The shell operator (no user) is trusted like an administrator."""
    if user is None:
        return None
    wanted = list(roles)
    held = repos.roles_for(user.id, organisation_id, body_id)
    for role in wanted:
        if role in held:
            return role
    raise PermissionDenied(
        Text(
            N_(
                "Your roles here do not allow this: it needs one of the roles %(roles)s. "
                "Ask your administrator for the role if you need it."
            ),
            {"roles": ", ".join(r.value for r in wanted), "doing": doing},
        )
    )


def require_admin(repos: Repositories, user: User | None, doing: str) -> None:
    """Definitions are shared by every organisation: any administrator may manage them."""
    if user is None:
        return
    if not any(g.role == Role.ADMIN for g in repos.grants(user.id)):
        raise PermissionDenied(Text(N_("Only an administrator can do this."), {"doing": doing}))


def require_proposal_access(repos: Repositories, user: User | None, proposal: Proposal) -> None:
    """A public proposal is readable with any role in its organisation; a non-public one only
    with a grant that covers its body. Anything else is reported as not found, never forbidden,
    so that another organisation's records do not reveal that they exist."""
    if user is None:
        return
    if proposal.publicity == Publicity.PUBLIC:
        allowed = repos.holds_any_role(user.id, proposal.organisation_id)
    else:
        allowed = bool(repos.roles_for(user.id, proposal.organisation_id, proposal.body_id))
    if not allowed:
        raise NotFound(no_proposal(proposal.id))


def log_disclosure(
    audit: AuditContext,
    record: Proposal | Attachment,
    action: str,
    after: dict[str, Any] | None = None,
) -> bool:
    """Reading non-public material (a proposal, an attachment's file) is a disclosure that is
    logged (Tiedonhallintalaki 17 §), on the proposal's history: the event ``action`` names
    the record and ``after`` what was disclosed. Returns whether an event was recorded (the
    caller then commits)."""
    if record.publicity == Publicity.PUBLIC:
        return False
    proposal_id = record.proposal_id if isinstance(record, Attachment) else record.id
    audit.record(
        PendingEvent(
            action=action,
            entity_type=record.__audit_name__,
            entity_id=str(record.id),
            organisation_id=record.organisation_id,
            proposal_id=proposal_id,
            before=None,
            after=after,
            reason=None,
            role=None,
        )
    )
    return True


def require_role_in(
    repos: Repositories,
    user: User | None,
    organisation_id: int,
    body_id: int | None,
    roles: Iterable[Role],
    doing: str,
    missing: str | Text,
    missing_text: Text | None = None,
) -> Role | None:
    """``require_role`` for a target of ``organisation_id``: where the user holds no role at
    all, the target is another organisation's and is reported as ``missing`` (not found, never
    forbidden, so that its existence is not revealed); in their own organisation a role that
    does not allow it is forbidden."""
    if user is None:
        return None
    if not repos.holds_any_role(user.id, organisation_id):
        raise NotFound(missing, text=missing_text)
    return require_role(repos, user, organisation_id, body_id, roles, doing)


def administered_organisation(
    repos: Repositories, user: User | None, organisation: str | None, doing: str
) -> tuple[Organisation, str | None]:
    """The organisation ``organisation`` if the user administers it, and the role they act in
    (None for the operator). Another organisation is not found; one's own without the
    administrator role is forbidden."""
    missing = f"no organisation {organisation!r}: name the one you administer"
    missing_text = Text(
        N_("There is no organisation %(organisation)s that you administer; name yours."),
        {"organisation": organisation or ""},
    )
    org = repos.organisation_by_code(organisation or "")
    if org is None:
        raise NotFound(missing_text)
    role = require_role_in(repos, user, org.id, None, [Role.ADMIN], doing, missing, missing_text)
    return org, role.value if role else None


def administrator_of(
    repos: Repositories, user: User | None, organisation: str | None, doing: str
) -> str | None:
    """The role a user acts in when administering ``organisation`` (None for the operator)."""
    return administered_organisation(repos, user, organisation, doing)[1]


def managed_user(
    repos: Repositories,
    admin: User | None,
    username: str,
    doing: str,
    organisation: str | None = None,
) -> tuple[User, str | None]:
    """The account ``username`` if the caller may manage it, and the role they act in: the shell
    operator manages every account, an administrator only those whose home organisation they
    administer (and, if they name ``organisation``, only of that one). Any other account,
    including one without a home, does not exist for them."""
    missing = f"no user {username!r}"
    target = repos.user_by_username(username)
    if target is None:
        raise NotFound(missing, text=_no_user(username))
    if admin is None:
        return target, None
    home = target.organisation_id
    if home is None:
        raise NotFound(missing, text=_no_user(username))
    if organisation is not None:
        named = repos.organisation_by_code(organisation)
        if named is None or named.id != home:
            raise NotFound(missing, text=_no_user(username))
    role = require_role_in(
        repos, admin, home, None, [Role.ADMIN], doing, missing, _no_user(username)
    )
    return target, role.value if role else None


def _no_user(username: str) -> Text:
    return Text(N_("There is no user %(username)s in your organisation."), {"username": username})


def no_proposal(proposal_id: int | str) -> Text:
    """A proposal that does not exist or that the caller may not see (the same answer)."""
    return Text(
        N_("There is no proposal %(id)s that you may see. Check the number."),
        {"id": str(proposal_id)},
    )


def no_assessment(proposal_id: int) -> Text:
    return Text(
        N_("Proposal %(id)s has no assessment yet: start it from the proposal's page."),
        {"id": str(proposal_id)},
    )


def no_meeting(meeting_id: int | str) -> Text:
    return Text(
        N_("There is no meeting %(id)s that you may see. Choose one from the list."),
        {"id": str(meeting_id)},
    )


def no_organisation(code: str) -> Text:
    return Text(
        N_("There is no organisation %(organisation)s that you may see. Check the code."),
        {"organisation": code},
    )


def no_body(code: str, organisation: str) -> Text:
    return Text(
        N_("There is no body %(body)s in %(organisation)s. Check the code."),
        {"body": code, "organisation": organisation},
    )


def load_proposal(
    repos: Repositories, proposal_id: int, user: User | None, *, for_update: bool = False
) -> Proposal:
    """The proposal if the user may see it. ``for_update``: a write to its aggregate follows,
    so lock it first (``Repositories.lock_proposal``), before anything else of it is read."""
    proposal = repos.proposal(proposal_id, for_update=for_update)
    if proposal is None:
        raise NotFound(no_proposal(proposal_id))
    require_proposal_access(repos, user, proposal)
    return proposal


def require_named_user(user: User | None, doing: str) -> User:
    """Some steps are always a named person's: the shell operator (no user) cannot do them."""
    if user is None:
        raise PermissionDenied(
            Text(
                N_("This step is always taken by a named person: give --as USERNAME."),
                {"doing": doing},
            )
        )
    return user


# Who writes which of a proposal's texts, and when, is what the proposal's own workflow version
# declares of its current state (``State.texts``: each text with the roles that write it).
def writable_texts(
    workflow: Workflow, state_id: str, roles: frozenset[Role] | None
) -> list[TextKind]:
    """The texts that may be written now, in this state, by someone holding ``roles`` (None:
    the shell operator, trusted like an administrator but bound by the state)."""
    state = workflow.state(state_id)
    return [
        kind
        for kind in TextKind
        if (writers := state.text_writers(kind)) is not None
        and (roles is None or any(r in roles for r in writers))
    ]
