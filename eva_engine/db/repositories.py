"""Queries, named after what they find. Services never build SQL themselves."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased

from eva_engine.db.comments import CommentQueries
from eva_engine.db.json_rows import entities, json_rows
from eva_engine.db.reports import ReportQueries
from eva_engine.db.search import SearchQuery
from eva_engine.db.search import hits as search_hits
from eva_engine.db.unit_cache import CACHED_KINDS, unit_cache
from eva_engine.models import (
    INSTALLATION_CHAIN,
    Alternative,
    Answer,
    ApiToken,
    Assessment,
    Assignment,
    Attachment,
    AuditChainHead,
    Audited,
    AuditEvent,
    Body,
    FollowUp,
    FollowUpIndicator,
    Meeting,
    Mitigation,
    Organisation,
    Proposal,
    ProposalText,
    PublishedDefinition,
    RoleGrant,
    Screening,
    User,
    Webhook,
    chain_of,
)
from eva_engine.vocabulary import AssignmentState, FollowUpState, Publicity, Role
from eva_engine.workflow.context import AssessmentSnapshot

# Every audited kind of record by the name its events give it.
AUDITED: dict[str, type[Audited]] = {
    model.__audit_name__: model
    for model in (
        Alternative,
        Answer,
        ApiToken,
        Assessment,
        Assignment,
        Body,
        FollowUp,
        FollowUpIndicator,
        Meeting,
        Mitigation,
        Organisation,
        Proposal,
        ProposalText,
        PublishedDefinition,
        RoleGrant,
        Screening,
        User,
        Webhook,
    )
}


@dataclass(frozen=True)
class ProposalFilter:
    organisation_id: int | None = None
    state: str | None = None
    body_id: int | None = None
    meeting_id: int | None = None
    preparer_id: int | None = None
    # None: everything. Otherwise non-public proposals only of these bodies are visible.
    confidential_bodies: frozenset[int] | None = None
    # The current revision's assessment has answers in this checklist area (question ids
    # are '<area>.<topic>.<slug>', checked by the loader).
    area: str | None = None
    assignee_id: int | None = None  # has an open assignment for this user
    overdue_on: date | None = None  # has an open assignment due before this day
    not_overdue_on: date | None = None  # has none
    after_id: int | None = None  # cursor: only proposals with a greater id
    limit: int = 50
    offset: int = 0
    # Free text (db/search.py): only proposals matching every word, best match first. The
    # conditions above, ``confidential_bodies`` among them, apply to the hits as to any row.
    search: SearchQuery | None = None


@dataclass(frozen=True)
class WorkFilter:
    """What waits for one user: named to them, or in a queue of a role they hold."""

    user_id: int
    # (organisation id, body id or None for the whole organisation, role) of every grant
    scopes: Sequence[tuple[int, int | None, str]]
    # per (workflow name, version): the task kinds its preparer may never do (four eyes)
    four_eyes: dict[tuple[str, int], frozenset[str]]
    after: tuple[date | None, int] | None = None  # keyset: the previous page's last row
    limit: int = 50
    state: str | None = None  # only tasks of proposals in this state
    kind: str | None = None  # only tasks of this kind
    overdue_on: date | None = None  # only tasks due before this day


@dataclass
class TransitionRead:
    """What a workflow step reads of its proposal, in one statement that also locks it: the
    proposal, its organisation, preparer, presenter, meeting, open assignments and the
    screening of its current revision (None: none recorded); the acting user and their grants
    in the organisation are cached for the unit of work, the chain head noted for sealing."""

    proposal: Proposal
    open_assignments: list[Assignment]
    screening: Screening | None
    # Held here for the length of the step: the session's identity map keeps its objects only
    # as long as someone does, and the notices look them up there (``Session.get``).
    organisation: Organisation
    people: tuple[User, User, User]  # the preparer, the presenter, the actor
    meeting: Meeting | None


@cache
def _transition_statement() -> Executable:
    """The statement of ``Repositories.lock_for_transition``, built once (its construction,
    with three aliases of the users, costs more than running it)."""
    actor, preparer, presenter = aliased(User), aliased(User), aliased(User)
    current = (
        select(Assessment.id)
        .where(Assessment.proposal_id == Proposal.id, Assessment.revision == Proposal.revision)
        .scalar_subquery()
    )
    wanted = bindparam("proposal_id", type_=Integer)
    # The version as of the statement's snapshot (not the locked row's newest version).
    seen = select(Proposal.row_version).where(Proposal.id == wanted).scalar_subquery()
    return (
        select(
            Proposal,
            Organisation,
            preparer,
            presenter,
            Meeting,
            Assignment,
            Screening,
            Webhook,
            AuditChainHead.last_seq,
            AuditChainHead.last_hash,
            actor,
            RoleGrant.id,
            RoleGrant.body_id,
            RoleGrant.role,
            seen,
        )
        .join(Organisation, Organisation.id == Proposal.organisation_id)
        .join(preparer, preparer.id == Proposal.preparer_id)
        .join(presenter, presenter.id == Proposal.presenter_id)
        .join(actor, actor.username == bindparam("username"))
        .outerjoin(
            RoleGrant,
            and_(
                RoleGrant.user_id == actor.id,
                RoleGrant.organisation_id == Proposal.organisation_id,
                RoleGrant.revoked_at.is_(None),
            ),
        )
        .outerjoin(Meeting, Meeting.id == Proposal.meeting_id)
        .outerjoin(
            Assignment,
            and_(Assignment.proposal_id == Proposal.id, Assignment.state == AssignmentState.OPEN),
        )
        .outerjoin(Screening, Screening.assessment_id == current)
        .outerjoin(
            Webhook,
            and_(Webhook.organisation_id == Proposal.organisation_id, Webhook.active.is_(True)),
        )
        .outerjoin(AuditChainHead, AuditChainHead.chain_id == Proposal.organisation_id)
        .where(Proposal.id == wanted)
        .order_by(Assignment.id, Webhook.id, RoleGrant.id)
        .with_for_update(key_share=True, of=Proposal)
        .execution_options(populate_existing=True)
    )


@cache
def _snapshot_statement(dialect: str) -> Executable:
    """The statement of ``Repositories.current_snapshot`` on this dialect, built once."""
    current = (
        select(Assessment.id)
        .where(
            Assessment.proposal_id == bindparam("proposal_id"),
            Assessment.revision == bindparam("revision"),
        )
        .scalar_subquery()
    )
    kinds = (Alternative, Answer, Mitigation, FollowUpIndicator)
    return select(*(json_rows(kind, kind.assessment_id == current, dialect) for kind in kinds))


class Repositories:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entity: object) -> None:
        self.session.add(entity)

    def report_queries(self, organisation_id: int, body_id: int | None) -> ReportQueries:
        """The report's set-based queries for one organisation (and body)."""
        return ReportQueries(self.session, organisation_id, body_id)

    @property
    def comments(self) -> CommentQueries:
        """The review comments' queries."""
        return CommentQueries(self.session)

    def flush(self) -> None:
        self.session.flush()

    # organisations, bodies, meetings -------------------------------------------------------
    def organisation(self, organisation_id: int) -> Organisation | None:
        return self.session.get(Organisation, organisation_id)

    def organisation_by_code(self, code: str) -> Organisation | None:
        return self.session.scalar(select(Organisation).where(Organisation.code == code))

    def organisations(self) -> Sequence[Organisation]:
        return self.session.scalars(select(Organisation).order_by(Organisation.code)).all()

    def body(self, body_id: int) -> Body | None:
        return self.session.get(Body, body_id)

    def body_by_code(self, organisation_id: int, code: str) -> Body | None:
        return self.session.scalar(
            select(Body).where(Body.organisation_id == organisation_id, Body.code == code)
        )

    def bodies(self, organisation_id: int) -> Sequence[Body]:
        return self.session.scalars(
            select(Body).where(Body.organisation_id == organisation_id).order_by(Body.code)
        ).all()

    def meeting(self, meeting_id: int) -> Meeting | None:
        return self.session.get(Meeting, meeting_id)

    def meetings(self, body_id: int) -> Sequence[Meeting]:
        return self.session.scalars(
            select(Meeting).where(Meeting.body_id == body_id).order_by(Meeting.starts_at)
        ).all()

    # users and grants ------------------------------------------------------------------------
    def user(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def user_by_username(self, username: str) -> User | None:
        """The user (read once per unit of work, with their active grants)."""
        cache = unit_cache(self.session)
        if username in cache.users:
            return cache.users[username]
        rows = self.session.execute(
            select(User, RoleGrant.organisation_id, RoleGrant.body_id, RoleGrant.role)
            .outerjoin(
                RoleGrant, and_(RoleGrant.user_id == User.id, RoleGrant.revoked_at.is_(None))
            )
            .where(User.username == username)
        ).all()
        user = rows[0][0] if rows else None
        cache.users[username] = user
        if user is not None:
            by_org: dict[tuple[int, int], list[tuple[int | None, str]]] = {}
            for _, organisation_id, body_id, role in rows:
                if organisation_id is not None:
                    by_org.setdefault((user.id, organisation_id), []).append((body_id, role))
            cache.grants.update(by_org)
            cache.grants_known.add(user.id)
        return user

    def users(self) -> Sequence[User]:
        return self.session.scalars(select(User).order_by(User.username)).all()

    def api_tokens_of(self, user_id: int) -> Sequence[ApiToken]:
        """A user's API tokens, newest first."""
        return self.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
        ).all()

    def api_token(self, token_id: int) -> ApiToken | None:
        return self.session.get(ApiToken, token_id) if 0 < token_id < 2**63 else None

    def api_token_by_hash(self, token_hash: str) -> ApiToken | None:
        return self.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))

    def users_by_id(self, user_ids: Iterable[int]) -> dict[int, User]:
        """The users with these ids, in one query."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        found = self.session.scalars(select(User).where(User.id.in_(wanted))).all()
        return {u.id: u for u in found}

    def users_with_open_tasks(self, organisation_id: int) -> Sequence[User]:
        """Active users holding an open task by name in the organisation (whom the proposal
        list's assignee filter can find), by name, in one query: not every user of the
        organisation, which a large city's thousands made the list's slowest part."""
        holds = select(Assignment.id).where(
            Assignment.assignee_id == User.id,
            Assignment.organisation_id == organisation_id,
            Assignment.state == AssignmentState.OPEN,
        )
        return self.session.scalars(
            select(User).where(User.active.is_(True), holds.exists()).order_by(User.full_name)
        ).all()

    def users_with_role(
        self, organisation_id: int, role: Role, body_ids: Iterable[int]
    ) -> Sequence[tuple[User, int | None]]:
        """Active users holding ``role`` in the organisation as a whole (body None) or in one
        of these bodies, with the body of each grant, in one query."""
        rows = self.session.execute(
            select(User, RoleGrant.body_id)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(
                User.active.is_(True),
                RoleGrant.organisation_id == organisation_id,
                RoleGrant.role == role,
                RoleGrant.revoked_at.is_(None),
                or_(RoleGrant.body_id.is_(None), RoleGrant.body_id.in_(sorted(set(body_ids)))),
            )
            .order_by(User.username)
        ).all()
        return [(u, body_id) for u, body_id in rows]

    def users_at_home(
        self, organisation_id: int, *, after: str | None = None, limit: int | None = None
    ) -> Sequence[User]:
        """The accounts whose home is the organisation, by username: at most ``limit`` of
        them, those after the username ``after`` (keyset)."""
        query = select(User).where(User.organisation_id == organisation_id)
        if after is not None:
            query = query.where(User.username > after)
        return self.session.scalars(query.order_by(User.username).limit(limit)).all()

    def grants_of(self, user_ids: Iterable[int]) -> Sequence[RoleGrant]:
        """The active grants of these users everywhere, in one query, oldest first."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return []
        return self.session.scalars(
            select(RoleGrant)
            .where(RoleGrant.user_id.in_(wanted), RoleGrant.revoked_at.is_(None))
            .order_by(RoleGrant.id)
        ).all()

    def grants_in(self, organisation_id: int, user_ids: Iterable[int]) -> Sequence[RoleGrant]:
        """The active grants of these users in the organisation, in one query."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return []
        return self.session.scalars(
            select(RoleGrant)
            .where(
                RoleGrant.organisation_id == organisation_id,
                RoleGrant.user_id.in_(wanted),
                RoleGrant.revoked_at.is_(None),
            )
            .order_by(RoleGrant.id)
        ).all()

    def grants(self, user_id: int, *, active_only: bool = True) -> Sequence[RoleGrant]:
        query = select(RoleGrant).where(RoleGrant.user_id == user_id)
        if active_only:
            query = query.where(RoleGrant.revoked_at.is_(None))
        return self.session.scalars(query.order_by(RoleGrant.id)).all()

    def grants_here(self, user_id: int, organisation_id: int) -> list[tuple[int | None, str]]:
        """The user's active grants in the organisation as (body id or None, role): read once
        per unit of work (with the user, when ``user_by_username`` read them)."""
        cache = unit_cache(self.session)
        key = (user_id, organisation_id)
        found = cache.grants.get(key)
        if found is None:
            if user_id in cache.grants_known:
                return []
            found = cache.grants[key] = [
                (body, role)
                for body, role in self.session.execute(
                    select(RoleGrant.body_id, RoleGrant.role).where(
                        RoleGrant.user_id == user_id,
                        RoleGrant.organisation_id == organisation_id,
                        RoleGrant.revoked_at.is_(None),
                    )
                )
            ]
        return found

    def roles_for(self, user_id: int, organisation_id: int, body_id: int | None) -> frozenset[Role]:
        """Roles held in the organisation as a whole or in this one body."""
        return frozenset(
            Role(role)
            for body, role in self.grants_here(user_id, organisation_id)
            if body is None or body == body_id
        )

    def holds_any_role(self, user_id: int, organisation_id: int) -> bool:
        return bool(self.grants_here(user_id, organisation_id))

    def covered_bodies(self, user_id: int, organisation_id: int) -> frozenset[int] | None:
        """The bodies whose non-public proposals the user may see; None means all of them
        (a grant for the whole organisation)."""
        bodies: set[int] = set()
        for body_id, _ in self.grants_here(user_id, organisation_id):
            if body_id is None:
                return None
            bodies.add(body_id)
        return frozenset(bodies)

    def webhooks_by_id(self, webhook_ids: Iterable[int]) -> dict[int, Webhook]:
        """The webhooks with these ids, in one query."""
        wanted = sorted(set(webhook_ids))
        if not wanted:
            return {}
        return {
            w.id: w for w in self.session.scalars(select(Webhook).where(Webhook.id.in_(wanted)))
        }

    # definitions -----------------------------------------------------------------------------
    def definition(self, name: str, version: int) -> PublishedDefinition | None:
        """A published workflow version (read once per unit of work)."""
        cache = unit_cache(self.session)
        key = (name, version)
        if key not in cache.definitions:
            cache.definitions[key] = self.session.scalar(
                select(PublishedDefinition).where(
                    PublishedDefinition.kind == "workflow",
                    PublishedDefinition.name == name,
                    PublishedDefinition.version == version,
                )
            )
        return cache.definitions[key]

    def latest_definition(self, name: str) -> PublishedDefinition | None:
        return self.session.scalar(
            select(PublishedDefinition)
            .where(PublishedDefinition.kind == "workflow", PublishedDefinition.name == name)
            .order_by(PublishedDefinition.version.desc())
            .limit(1)
        )

    def definitions(self) -> Sequence[PublishedDefinition]:
        return self.session.scalars(
            select(PublishedDefinition).order_by(
                PublishedDefinition.name, PublishedDefinition.version
            )
        ).all()

    def workflow_definitions(self) -> Sequence[PublishedDefinition]:
        """Every published workflow version in one query, kept for ``definition`` too."""
        cache = unit_cache(self.session)
        found = self.session.scalars(
            select(PublishedDefinition)
            .where(PublishedDefinition.kind == "workflow")
            .order_by(PublishedDefinition.name, PublishedDefinition.version)
        ).all()
        for record in found:
            cache.definitions.setdefault((record.name, record.version), record)
        return found

    def proposal_counts_by_version(self) -> dict[tuple[str, int], int]:
        rows = self.session.execute(
            select(Proposal.workflow_name, Proposal.workflow_version, func.count()).group_by(
                Proposal.workflow_name, Proposal.workflow_version
            )
        ).all()
        return {(name, version): count for name, version, count in rows}

    # proposals -------------------------------------------------------------------------------
    def proposal(self, proposal_id: int, *, for_update: bool = False) -> Proposal | None:
        if for_update:
            return self.lock_proposal(proposal_id)
        return self.session.get(Proposal, proposal_id)

    def lock_proposal(self, proposal_id: int) -> Proposal | None:
        """The proposal, locked for this transaction: the first lock of every write to its
        aggregate (assignments, answers, alternatives, screening, agenda place), so that writers
        of one proposal queue in one order instead of deadlocking. On PostgreSQL ``SELECT … FOR
        NO KEY UPDATE`` (what an UPDATE of it takes anyway; inserts of rows referring to it are
        not held up); on SQLite the writer's ``BEGIN IMMEDIATE`` already serialises. Everything
        read before the lock may be stale, so the session's objects are read again."""
        self._expire_aggregates()
        return self.session.scalar(
            select(Proposal)
            .where(Proposal.id == proposal_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )

    def _expire_aggregates(self) -> None:
        """Before a proposal's lock: write what is pending and forget what was read of any
        aggregate (it may be stale); the reference rows the unit of work caches (users, grants,
        organisations, webhooks, definitions) are not part of any and are kept."""
        session = self.session
        if session.new or session.dirty or session.deleted:
            session.flush()
        for obj in list(session.identity_map.values()):
            if not isinstance(obj, CACHED_KINDS):
                session.expire(obj)

    def lock_for_transition(self, proposal_id: int, username: str) -> TransitionRead | None:
        """``lock_proposal`` for a workflow step by ``username``, with everything of it that
        the step's checks, effects and notices read, in the same one statement (see
        ``TransitionRead``): the acting user and their grants in its organisation go to the
        unit's cache, the chain head of the organisation is noted, unlocked, for sealing
        (``UnitCache``). None when the proposal or the user does not exist."""
        self._expire_aggregates()
        rows = self._transition_rows(proposal_id, username)
        if rows and rows[0][14] != rows[0][0].row_version:
            # PostgreSQL waited for the lock while another writer changed the proposal: the
            # proposal row is its new version, the rows joined to it are of the statement's
            # older snapshot. Read them again, now that the lock is held.
            rows = self._transition_rows(proposal_id, username)
        if not rows:
            return None
        return self._transition_read(rows, username)

    def _transition_rows(self, proposal_id: int, username: str) -> Sequence[Any]:
        return self.session.execute(
            _transition_statement(), {"proposal_id": proposal_id, "username": username}
        ).all()

    def _transition_read(self, rows: Sequence[Any], username: str) -> TransitionRead:
        first = rows[0]
        proposal: Proposal = first[0]
        user: User = first[10]
        assignments: dict[int, Assignment] = {}
        hooks: dict[int, Webhook] = {}
        grants: dict[int, tuple[int | None, str]] = {}
        for row in rows:
            if row[5] is not None:
                assignments.setdefault(row[5].id, row[5])
            if row[7] is not None:
                hooks.setdefault(row[7].id, row[7])
            if row[11] is not None:
                grants.setdefault(row[11], (row[12], row[13]))
        cache = unit_cache(self.session)
        cache.users[username] = user
        cache.grants[(user.id, proposal.organisation_id)] = list(grants.values())
        cache.webhooks[proposal.organisation_id] = list(hooks.values())
        if first[8] is not None:
            cache.heads[proposal.organisation_id] = (first[8], first[9])
        return TransitionRead(
            proposal,
            list(assignments.values()),
            first[6],
            first[1],
            (first[2], first[3], user),
            first[4],
        )

    def proposals(self, flt: ProposalFilter) -> tuple[Sequence[Proposal], int]:
        conditions: list[ColumnElement[bool]] = []
        if flt.organisation_id is not None:
            conditions.append(Proposal.organisation_id == flt.organisation_id)
        if flt.state is not None:
            conditions.append(Proposal.state == flt.state)
        if flt.body_id is not None:
            conditions.append(Proposal.body_id == flt.body_id)
        if flt.meeting_id is not None:
            conditions.append(Proposal.meeting_id == flt.meeting_id)
        if flt.preparer_id is not None:
            conditions.append(Proposal.preparer_id == flt.preparer_id)
        if flt.confidential_bodies is not None:
            conditions.append(
                or_(
                    Proposal.publicity == Publicity.PUBLIC,
                    Proposal.body_id.in_(sorted(flt.confidential_bodies)),
                )
            )
        if flt.area is not None:
            conditions.append(
                select(Answer.id)
                .join(Assessment, Assessment.id == Answer.assessment_id)
                .where(
                    Assessment.proposal_id == Proposal.id,
                    Assessment.revision == Proposal.revision,
                    Answer.question_id.startswith(f"{flt.area}.", autoescape=True),
                )
                .exists()
            )
        open_assignment = select(Assignment.id).where(
            Assignment.proposal_id == Proposal.id, Assignment.state == AssignmentState.OPEN
        )
        if flt.assignee_id is not None:
            conditions.append(
                open_assignment.where(Assignment.assignee_id == flt.assignee_id).exists()
            )
        if flt.overdue_on is not None:
            conditions.append(open_assignment.where(Assignment.due < flt.overdue_on).exists())
        if flt.not_overdue_on is not None:
            conditions.append(~open_assignment.where(Assignment.due < flt.not_overdue_on).exists())
        if flt.search is not None:
            return self._search(flt, conditions)
        total = self.session.scalar(select(func.count()).select_from(Proposal).where(*conditions))
        if flt.after_id is not None:
            conditions.append(Proposal.id > flt.after_id)
        rows = self.session.scalars(
            select(Proposal)
            .where(*conditions)
            .order_by(Proposal.id)
            .limit(flt.limit)
            .offset(flt.offset)
        ).all()
        return rows, int(total or 0)

    def _search(
        self, flt: ProposalFilter, conditions: list[ColumnElement[bool]]
    ) -> tuple[Sequence[Proposal], int]:
        """The filtered proposals that match ``flt.search``, best first (then by id), in two
        statements (the count and the page) whatever the number of hits."""
        if flt.search is None or flt.search.empty:
            return [], 0
        dialect = self.session.get_bind().dialect.name
        found = search_hits(dialect, flt.search, flt.organisation_id)
        joined = select(Proposal).join(found, found.c.proposal_id == Proposal.id)
        total = self.session.scalar(
            select(func.count())
            .select_from(Proposal)
            .join(found, found.c.proposal_id == Proposal.id)
            .where(*conditions)
        )
        rows = self.session.scalars(
            joined.where(*conditions)
            .order_by(found.c.rank, Proposal.id)
            .limit(flt.limit)
            .offset(flt.offset)
        ).all()
        return rows, int(total or 0)

    def proposals_by_ids(self, ids: Sequence[int]) -> Sequence[Proposal]:
        if not ids:
            return []
        return self.session.scalars(
            select(Proposal).where(Proposal.id.in_(ids)).order_by(Proposal.id)
        ).all()

    def meeting_items(self, meeting_id: int) -> Sequence[Proposal]:
        return self.session.scalars(
            select(Proposal)
            .where(Proposal.meeting_id == meeting_id)
            .order_by(Proposal.agenda_position.is_(None), Proposal.agenda_position, Proposal.id)
        ).all()

    def lock_meeting_items(self, meeting_id: int) -> Sequence[Proposal]:
        """The meeting's items, locked in id order (the order every writer of an agenda's order
        takes them in), read again: a reorder changes the positions of several proposals."""
        self._expire_aggregates()
        return self.session.scalars(
            select(Proposal)
            .where(Proposal.meeting_id == meeting_id)
            .order_by(Proposal.id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        ).all()

    def last_agenda_position(self, meeting_id: int) -> int:
        current = self.session.scalar(
            select(func.max(Proposal.agenda_position)).where(Proposal.meeting_id == meeting_id)
        )
        return int(current or 0)

    def agenda_candidates(
        self,
        body_id: int,
        states: Iterable[str],
        *,
        text: str = "",
        after: tuple[str, int] | None = None,
        limit: int = 26,
    ) -> Sequence[Proposal]:
        """Proposals of the body on no agenda, in one of ``states``, by case number (then id),
        whose case number or title holds ``text``; a page of ``limit`` after the (case number,
        id) ``after``."""
        query = select(Proposal).where(
            Proposal.body_id == body_id,
            Proposal.meeting_id.is_(None),
            Proposal.state.in_(sorted(set(states))),
        )
        if text:
            quoted = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{quoted}%"
            query = query.where(
                func.lower(Proposal.case_number).like(pattern, escape="\\")
                | func.lower(Proposal.title_fi).like(pattern, escape="\\")
            )
        if after is not None:
            query = query.where(
                (Proposal.case_number > after[0])
                | ((Proposal.case_number == after[0]) & (Proposal.id > after[1]))
            )
        return self.session.scalars(
            query.order_by(Proposal.case_number, Proposal.id).limit(limit)
        ).all()

    def meetings_of_bodies(self, body_ids: Sequence[int]) -> Sequence[Meeting]:
        return self.session.scalars(
            select(Meeting).where(Meeting.body_id.in_(list(body_ids))).order_by(Meeting.starts_at)
        ).all()

    def next_section_number(self, body_id: int, year: int) -> int:
        current = self.session.scalar(
            select(func.max(Proposal.section_number)).where(
                Proposal.body_id == body_id, Proposal.section_year == year
            )
        )
        return int(current or 0) + 1

    # assessments -----------------------------------------------------------------------------
    def assessment(self, proposal_id: int, revision: int) -> Assessment | None:
        return self.session.scalar(
            select(Assessment).where(
                Assessment.proposal_id == proposal_id, Assessment.revision == revision
            )
        )

    def snapshot(self, assessment_id: int) -> AssessmentSnapshot:
        s = self.session
        return AssessmentSnapshot(
            screening=s.scalar(select(Screening).where(Screening.assessment_id == assessment_id)),
            alternatives=list(
                s.scalars(
                    select(Alternative)
                    .where(Alternative.assessment_id == assessment_id)
                    .order_by(Alternative.position)
                )
            ),
            answers=list(
                s.scalars(
                    select(Answer)
                    .where(Answer.assessment_id == assessment_id)
                    .order_by(Answer.question_id, Answer.alternative_id)
                )
            ),
            mitigations=list(
                s.scalars(
                    select(Mitigation)
                    .where(Mitigation.assessment_id == assessment_id)
                    .order_by(Mitigation.id)
                )
            ),
            indicators=list(
                s.scalars(
                    select(FollowUpIndicator)
                    .where(FollowUpIndicator.assessment_id == assessment_id)
                    .order_by(FollowUpIndicator.id)
                )
            ),
        )

    def current_snapshot(self, proposal_id: int, revision: int) -> AssessmentSnapshot:
        """``snapshot`` of the proposal's assessment of this revision, without its screening
        (a workflow step has it from the lock), in one statement: each list comes back as a
        JSON array (``db.json_rows``), read into objects that belong to no session."""
        dialect = self.session.get_bind().dialect.name
        row = self.session.execute(
            _snapshot_statement(dialect), {"proposal_id": proposal_id, "revision": revision}
        ).one()
        alternatives = entities(Alternative, row[0])
        answers = entities(Answer, row[1])
        mitigations = entities(Mitigation, row[2])
        indicators = entities(FollowUpIndicator, row[3])
        return AssessmentSnapshot(
            alternatives=sorted(alternatives, key=lambda a: a.position),
            answers=sorted(answers, key=lambda a: (a.question_id, a.alternative_id)),
            mitigations=sorted(mitigations, key=lambda m: m.id),
            indicators=sorted(indicators, key=lambda i: i.id),
        )

    def current_assessments(self, proposal_ids: Iterable[int]) -> dict[int, Assessment]:
        """Each proposal's assessment of its current revision, by proposal id, in one query."""
        wanted = sorted(set(proposal_ids))
        if not wanted:
            return {}
        rows = self.session.scalars(
            select(Assessment)
            .join(
                Proposal,
                and_(
                    Proposal.id == Assessment.proposal_id,
                    Proposal.revision == Assessment.revision,
                ),
            )
            .where(Proposal.id.in_(wanted))
        ).all()
        return {a.proposal_id: a for a in rows}

    def snapshots(self, assessment_ids: Iterable[int]) -> dict[int, AssessmentSnapshot]:
        """``snapshot`` of many assessments at once: one query per kind of row, whatever the
        number of assessments."""
        wanted = sorted(set(assessment_ids))
        out = {i: AssessmentSnapshot() for i in wanted}
        if not wanted:
            return out
        s = self.session
        for screening in s.scalars(select(Screening).where(Screening.assessment_id.in_(wanted))):
            out[screening.assessment_id].screening = screening
        for alternative in s.scalars(
            select(Alternative)
            .where(Alternative.assessment_id.in_(wanted))
            .order_by(Alternative.position)
        ):
            out[alternative.assessment_id].alternatives.append(alternative)
        for answer in s.scalars(
            select(Answer)
            .where(Answer.assessment_id.in_(wanted))
            .order_by(Answer.question_id, Answer.alternative_id)
        ):
            out[answer.assessment_id].answers.append(answer)
        for mitigation in s.scalars(
            select(Mitigation).where(Mitigation.assessment_id.in_(wanted)).order_by(Mitigation.id)
        ):
            out[mitigation.assessment_id].mitigations.append(mitigation)
        for indicator in s.scalars(
            select(FollowUpIndicator)
            .where(FollowUpIndicator.assessment_id.in_(wanted))
            .order_by(FollowUpIndicator.id)
        ):
            out[indicator.assessment_id].indicators.append(indicator)
        return out

    def delete(self, entity: object) -> None:
        self.session.delete(entity)

    # assignments -----------------------------------------------------------------------------
    def open_assignments(self, proposal_id: int) -> Sequence[Assignment]:
        return self.session.scalars(
            select(Assignment)
            .where(Assignment.proposal_id == proposal_id, Assignment.state == AssignmentState.OPEN)
            .order_by(Assignment.id)
        ).all()

    def open_assignments_of(self, proposal_ids: Iterable[int]) -> dict[int, list[Assignment]]:
        """``open_assignments`` of many proposals, by proposal id, in one query."""
        wanted = sorted(set(proposal_ids))
        out: dict[int, list[Assignment]] = {i: [] for i in wanted}
        if not wanted:
            return out
        for a in self.session.scalars(
            select(Assignment)
            .where(Assignment.proposal_id.in_(wanted), Assignment.state == AssignmentState.OPEN)
            .order_by(Assignment.id)
        ):
            out[a.proposal_id].append(a)
        return out

    def meeting_item_states(
        self, meeting_ids: Iterable[int]
    ) -> Sequence[tuple[int, str, int, str]]:
        """(meeting id, workflow name, version, state) of every item of these meetings."""
        wanted = sorted(set(meeting_ids))
        if not wanted:
            return []
        rows = self.session.execute(
            select(
                Proposal.meeting_id,
                Proposal.workflow_name,
                Proposal.workflow_version,
                Proposal.state,
            ).where(Proposal.meeting_id.in_(wanted))
        ).all()
        return [(int(m or 0), name, version, state) for m, name, version, state in rows]

    def meetings_by_id(self, meeting_ids: Iterable[int]) -> dict[int, Meeting]:
        wanted = sorted(set(meeting_ids))
        if not wanted:
            return {}
        found = self.session.scalars(select(Meeting).where(Meeting.id.in_(wanted)))
        return {m.id: m for m in found}

    def alternatives_by_id(self, alternative_ids: Iterable[int]) -> dict[int, Alternative]:
        wanted = sorted(set(alternative_ids))
        if not wanted:
            return {}
        found = self.session.scalars(select(Alternative).where(Alternative.id.in_(wanted)))
        return {a.id: a for a in found}

    def bodies_by_id(self, body_ids: Iterable[int]) -> dict[int, Body]:
        wanted = sorted(set(body_ids))
        if not wanted:
            return {}
        return {b.id: b for b in self.session.scalars(select(Body).where(Body.id.in_(wanted)))}

    def assignments_for_proposal(self, proposal_id: int) -> Sequence[Assignment]:
        return self.session.scalars(
            select(Assignment).where(Assignment.proposal_id == proposal_id).order_by(Assignment.id)
        ).all()

    def open_assignments_for_user(self, user_id: int) -> Sequence[Assignment]:
        return self.session.scalars(
            select(Assignment)
            .where(Assignment.assignee_id == user_id, Assignment.state == AssignmentState.OPEN)
            .order_by(Assignment.due.is_(None), Assignment.due, Assignment.id)
        ).all()

    def open_queue_assignments(self, organisation_ids: Sequence[int]) -> Sequence[Assignment]:
        """Open assignments that wait for anyone holding a role (no named assignee)."""
        return self.session.scalars(
            select(Assignment)
            .where(
                Assignment.assignee_id.is_(None),
                Assignment.state == AssignmentState.OPEN,
                Assignment.organisation_id.in_(list(organisation_ids)),
            )
            .order_by(Assignment.due, Assignment.id)
        ).all()

    def _work_condition(self, work: WorkFilter) -> ColumnElement[bool]:
        """Open assignments of the user by name, and queue assignments whose roles the user
        holds in the proposal's organisation (as a whole or in its body), less the four-eyes
        tasks of proposals the user prepares. The roles are a JSON list of role names."""
        queue = [
            and_(
                Assignment.organisation_id == organisation_id,
                true() if body_id is None else Proposal.body_id == body_id,
                cast(Assignment.roles, String).contains(f'"{role}"', autoescape=True),
            )
            for organisation_id, body_id, role in work.scopes
        ]
        own = [
            and_(
                Proposal.workflow_name == name,
                Proposal.workflow_version == version,
                Assignment.kind.in_(sorted(kinds)),
            )
            for (name, version), kinds in work.four_eyes.items()
            if kinds
        ]
        chosen = [
            *([Proposal.state == work.state] if work.state is not None else []),
            *([Assignment.kind == work.kind] if work.kind is not None else []),
            *([Assignment.due < work.overdue_on] if work.overdue_on is not None else []),
        ]
        return and_(
            Assignment.state == AssignmentState.OPEN,
            *chosen,
            or_(
                Assignment.assignee_id == work.user_id,
                and_(
                    Assignment.assignee_id.is_(None),
                    or_(false(), *queue),
                    not_(and_(Proposal.preparer_id == work.user_id, or_(false(), *own))),
                ),
            ),
        )

    def open_work(self, work: WorkFilter) -> Sequence[tuple[Assignment, Proposal]]:
        """One page of the user's open work with its proposals, by due date (none last) and
        id, continuing after ``work.after`` (the due date and id of the previous page's last)."""
        condition = self._work_condition(work)
        if work.after is not None:
            due, assignment_id = work.after
            later = and_(Assignment.due.is_(None), Assignment.id > assignment_id)
            if due is not None:
                later = or_(
                    Assignment.due > due,
                    and_(Assignment.due == due, Assignment.id > assignment_id),
                    Assignment.due.is_(None),
                )
            condition = and_(condition, later)
        rows = self.session.execute(
            select(Assignment, Proposal)
            .join(Proposal, Proposal.id == Assignment.proposal_id)
            .where(condition)
            .order_by(Assignment.due.is_(None), Assignment.due, Assignment.id)
            .limit(work.limit)
        ).all()
        return [(a, p) for a, p in rows]

    def open_work_counts(self, work: WorkFilter, today: date, soon: date) -> tuple[int, int, int]:
        """How many open tasks the user has in all (every page), overdue, and due by ``soon``."""
        row = self.session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((Assignment.due < today, 1), else_=0)), 0),
                func.coalesce(func.sum(case((Assignment.due.between(today, soon), 1), else_=0)), 0),
            )
            .select_from(Assignment)
            .join(Proposal, Proposal.id == Assignment.proposal_id)
            .where(self._work_condition(work))
        ).one()
        return int(row[0]), int(row[1]), int(row[2])

    def organisations_of(self, user_id: int) -> list[int]:
        return sorted(
            set(
                self.session.scalars(
                    select(RoleGrant.organisation_id).where(
                        RoleGrant.user_id == user_id, RoleGrant.revoked_at.is_(None)
                    )
                )
            )
        )

    def assignment(self, assignment_id: int) -> Assignment | None:
        return self.session.get(Assignment, assignment_id)

    def alternative(self, alternative_id: int) -> Alternative | None:
        return self.session.get(Alternative, alternative_id)

    # history ---------------------------------------------------------------------------------
    def history(
        self, proposal_id: int, *, after_seq: int = 0, limit: int | None = None
    ) -> Sequence[AuditEvent]:
        """The proposal's events in chain order, after the event ``after_seq`` (keyset), at
        most ``limit`` of them (None: every one)."""
        query = (
            select(AuditEvent)
            .where(AuditEvent.proposal_id == proposal_id, AuditEvent.seq > after_seq)
            .order_by(AuditEvent.seq)
        )
        if limit is not None:
            query = query.limit(limit)
        return self.session.scalars(query).all()

    def events(
        self,
        *,
        organisation_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        action: str | None = None,
        limit: int = 100,
        after_seq: int = 0,
    ) -> Sequence[AuditEvent]:
        """The events of one organisation's chain (its own and its proposals' records: answers,
        tasks, screenings), in chain order after ``after_seq``; without an organisation, the
        installation's chain."""
        chain = organisation_id if organisation_id is not None else INSTALLATION_CHAIN
        query = select(AuditEvent).where(AuditEvent.chain_id == chain, AuditEvent.seq > after_seq)
        if since is not None:
            query = query.where(AuditEvent.occurred_at >= since)
        if until is not None:
            query = query.where(AuditEvent.occurred_at < until)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return self.session.scalars(query.order_by(AuditEvent.seq).limit(limit)).all()

    def audited_by_id(self, entity_type: str, ids: Iterable[int]) -> dict[int, Audited]:
        """The records of one audited kind (its ``__audit_name__``) by id, in one query: what a
        page of history names (an answer's question, a grant's user...)."""
        model = AUDITED.get(entity_type)
        wanted = sorted(set(ids))
        if model is None or not wanted:
            return {}
        key = getattr(model, "id")  # noqa: B009 - every audited entity has an integer id
        found = self.session.scalars(select(model).where(key.in_(wanted)))
        return {int(getattr(row, "id")): row for row in found}  # noqa: B009

    def latest_reasoned_transitions(
        self, proposal_ids: Iterable[int], triggers: Iterable[str]
    ) -> dict[int, tuple[AuditEvent, User | None]]:
        """Each proposal's latest workflow step with a reason among ``triggers`` (e.g. the
        steps that return a proposal to its preparer) and who took it, in one query: the steps
        with a reason are few, and the trigger is read from the stored event."""
        wanted, names = sorted(set(proposal_ids)), frozenset(triggers)
        if not wanted or not names:
            return {}
        rows = self.session.execute(
            select(AuditEvent, User)
            .outerjoin(User, User.id == AuditEvent.actor_id)
            .where(
                AuditEvent.proposal_id.in_(wanted),
                AuditEvent.action == "proposal.transition",
                AuditEvent.reason.is_not(None),
            )
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.seq.desc())
        ).all()
        latest: dict[int, tuple[AuditEvent, User | None]] = {}
        for event, user in rows:
            if event.proposal_id is None or event.proposal_id in latest:
                continue
            trigger = json.loads(event.after or "{}").get("trigger")
            if trigger in names:
                latest[event.proposal_id] = (event, user)
        return latest

    def last_event(self, *, organisation_id: int, action: str) -> AuditEvent | None:
        """The organisation's latest event ``action``: found in its chain (an organisation's
        events are its chain's) through ``ix_audit_events_chain_action``, read backwards."""
        return self.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.chain_id == chain_of(organisation_id),
                AuditEvent.organisation_id == organisation_id,
                AuditEvent.action == action,
            )
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).first()

    def overdue_assignments(self, today: date) -> Sequence[Assignment]:
        return self.session.scalars(
            select(Assignment)
            .where(Assignment.state == AssignmentState.OPEN, Assignment.due < today)
            .order_by(Assignment.due)
        ).all()

    # exchange with case-management systems ----------------------------------------------------
    def proposal_by_external_ref(
        self, organisation_id: int, source_system: str, external_ref: str
    ) -> Proposal | None:
        """The proposal imported from ``source_system`` under its id there, if any."""
        return self.session.scalar(
            select(Proposal).where(
                Proposal.organisation_id == organisation_id,
                Proposal.source_system == source_system,
                Proposal.external_ref == external_ref,
            )
        )

    # follow-ups -------------------------------------------------------------------------------
    def follow_ups(self, proposal_id: int) -> Sequence[FollowUp]:
        return self.session.scalars(
            select(FollowUp).where(FollowUp.proposal_id == proposal_id).order_by(FollowUp.id)
        ).all()

    def follow_up(self, follow_up_id: int) -> FollowUp | None:
        return self.session.get(FollowUp, follow_up_id)

    def indicator(self, indicator_id: int) -> FollowUpIndicator | None:
        return self.session.get(FollowUpIndicator, indicator_id)

    def indicators(self, assessment_id: int) -> Sequence[FollowUpIndicator]:
        return self.session.scalars(
            select(FollowUpIndicator)
            .where(FollowUpIndicator.assessment_id == assessment_id)
            .order_by(FollowUpIndicator.id)
        ).all()

    def _follow_ups_with(
        self, *where: ColumnElement[bool], limit: int | None = None
    ) -> list[tuple[FollowUp, Proposal, FollowUpIndicator]]:
        """Follow-ups with their proposals and indicators, the earliest due first: one
        statement however many there are."""
        query = (
            select(FollowUp, Proposal, FollowUpIndicator)
            .join(Proposal, Proposal.id == FollowUp.proposal_id)
            .join(FollowUpIndicator, FollowUpIndicator.id == FollowUp.indicator_id)
            .where(*where)
            .order_by(FollowUp.due, FollowUp.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return [(f, p, i) for f, p, i in self.session.execute(query).all()]

    def follow_ups_waiting_for(
        self, user_id: int, today: date, limit: int
    ) -> tuple[Sequence[tuple[FollowUp, Proposal, FollowUpIndicator]], int, int]:
        """At most ``limit`` of the open follow-ups a person is responsible for, the earliest
        due first, each with its proposal and indicator, and how many there are in all and
        overdue: three statements however many wait."""
        mine = (FollowUp.responsible_id == user_id, FollowUp.state == FollowUpState.OPEN)
        rows = self._follow_ups_with(*mine, limit=limit)
        total = self.session.scalar(select(func.count()).select_from(FollowUp).where(*mine))
        overdue = self.session.scalar(
            select(func.count()).select_from(FollowUp).where(*mine, FollowUp.due < today)
        )
        return rows, int(total or 0), int(overdue or 0)

    def overdue_follow_ups(
        self, organisation_ids: Sequence[int], today: date
    ) -> Sequence[tuple[FollowUp, Proposal, FollowUpIndicator]]:
        """Open follow-ups of these organisations whose due date has passed, oldest first, each
        with its proposal and indicator: one statement however many there are."""
        if not organisation_ids:
            return []
        return self._follow_ups_with(
            FollowUp.organisation_id.in_(list(organisation_ids)),
            FollowUp.state == FollowUpState.OPEN,
            FollowUp.due < today,
        )

    # attachments ------------------------------------------------------------------------------
    def attachments(
        self, proposal_id: int, limit: int, *, with_removed: bool = False, area: str | None = None
    ) -> Sequence[Attachment]:
        """The proposal's attachments (or only the evidence of one assessment ``area``), oldest
        first, at most ``limit``, in one query."""
        query = select(Attachment).where(Attachment.proposal_id == proposal_id)
        if area is not None:
            query = query.where(Attachment.area == area)
        if not with_removed:
            query = query.where(Attachment.removed.is_(False))
        return self.session.scalars(query.order_by(Attachment.id).limit(limit)).all()

    def attachments_of(self, proposal_ids: Iterable[int]) -> dict[int, list[Attachment]]:
        """The attachments (not removed) of each of these proposals, oldest first, in one query
        (an agenda's items; a proposal holds at most ``MAX_ATTACHMENTS``)."""
        ids = list(proposal_ids)
        found: dict[int, list[Attachment]] = {pid: [] for pid in ids}
        if not ids:
            return found
        for attachment in self.session.scalars(
            select(Attachment)
            .where(Attachment.proposal_id.in_(ids), Attachment.removed.is_(False))
            .order_by(Attachment.proposal_id, Attachment.id)
        ):
            found[attachment.proposal_id].append(attachment)
        return found

    def attachment(self, attachment_id: int) -> Attachment | None:
        return self.session.get(Attachment, attachment_id)

    def attachment_hashes(self) -> set[str]:
        """Every file an attachment names (a backup copies them)."""
        return set(self.session.scalars(select(Attachment.sha256).distinct()))

    # proposal texts ---------------------------------------------------------------------------
    def proposal_texts(self, proposal_id: int) -> Sequence[ProposalText]:
        """The proposal's texts (grounds, decision proposal, decision; fi and sv), in order."""
        return self.session.scalars(
            select(ProposalText)
            .where(ProposalText.proposal_id == proposal_id)
            .order_by(ProposalText.id)
        ).all()

    def proposal_texts_of(self, proposal_ids: Iterable[int]) -> dict[int, list[ProposalText]]:
        """The texts of each of these proposals, in one query (an agenda's items)."""
        ids = list(proposal_ids)
        found: dict[int, list[ProposalText]] = {pid: [] for pid in ids}
        if not ids:
            return found
        for text in self.session.scalars(
            select(ProposalText)
            .where(ProposalText.proposal_id.in_(ids))
            .order_by(ProposalText.proposal_id, ProposalText.id)
        ):
            found[text.proposal_id].append(text)
        return found

    def proposals_with_case_number(
        self, body_id: int, case_number: str, *, other_than: int | None = None
    ) -> Sequence[Proposal]:
        """Proposals of the body that carry this case number (a duplicate is only warned of)."""
        query = select(Proposal).where(
            Proposal.body_id == body_id, Proposal.case_number == case_number
        )
        if other_than is not None:
            query = query.where(Proposal.id != other_than)
        return self.session.scalars(query.order_by(Proposal.id).limit(10)).all()
