"""Reading a proposal's history and verifying that nobody has altered the audit chain."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy.exc import OperationalError

from eva_engine.db.audit import (
    Anchor,
    PendingEvent,
    VerifyResult,
    snapshot,
    verify_chain,
    verify_events,
)
from eva_engine.db.repositories import Repositories
from eva_engine.db.unit_of_work import unavailable
from eva_engine.errors import N_, InvalidInput, NotFound, PermissionDenied, Problem, Text
from eva_engine.models import Alternative, AuditEvent, Body, Meeting, User
from eva_engine.services.access import (
    READ_WHOLE_HISTORY,
    actor_for,
    load_proposal,
    log_disclosure,
    require_named_user,
)
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import HistoryEventView

CHAIN_CHECK = "audit.chain_verified"


def event_view(ev: AuditEvent) -> HistoryEventView:
    return HistoryEventView(
        seq=ev.seq,
        occurred_at=ev.occurred_at,
        actor=ev.actor_name,
        role=ev.actor_role,
        client=ev.client,
        action=ev.action,
        entity=f"{ev.entity_type}:{ev.entity_id}",
        proposal_id=ev.proposal_id,
        before=json.loads(ev.before) if ev.before else None,
        after=json.loads(ev.after) if ev.after else None,
        reason=ev.reason,
        hash=ev.hash,
    )


def proposal_history(eva: Eva, caller: Caller, proposal_id: int) -> list[HistoryEventView]:
    with eva.reading() as uow:
        uow.audit.actor, user = actor_for(uow.repos, caller)
        proposal = load_proposal(uow.repos, proposal_id, user)
        views = [event_view(ev) for ev in uow.repos.history(proposal_id)]
        if log_disclosure(uow.audit, proposal, "proposal.history_read"):
            uow.commit()
        return views


USER_FIELDS = frozenset({"preparer_id", "presenter_id", "assignee_id", "recorded_by_id", "user_id"})


def referenced_names(
    eva: Eva, caller: Caller, proposal_id: int, events: list[HistoryEventView]
) -> dict[str, dict[str, str]]:
    """What the ids in a proposal's events stand for, by field: people by username, bodies by
    code, meetings by body and date, alternatives by number and title (for reading the history;
    the events themselves keep the ids)."""
    ids: dict[str, set[int]] = {}
    for event in events:
        for stored in (event.before or {}, event.after or {}):
            for key, value in stored.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    ids.setdefault(key, set()).add(value)
    with eva.reading() as uow:
        repos = uow.repos
        _, user = actor_for(repos, caller)
        load_proposal(repos, proposal_id, user)
        names: dict[str, dict[str, str]] = {}
        labels = _Labels.of(repos, ids)  # one query per kind of record, however many
        for key, numbers in ids.items():
            found: dict[str, str] = {}
            for value in sorted(numbers):
                label = labels.name_of(key, value)
                if label is not None:
                    found[str(value)] = label
            if found:
                names[key] = found
        return names


@dataclass(frozen=True)
class _Labels:
    """The people, bodies, meetings and alternatives a history names, read one query each."""

    users: dict[int, User]
    bodies: dict[int, Body]
    meetings: dict[int, Meeting]
    alternatives: dict[int, Alternative]

    @classmethod
    def of(cls, repos: Repositories, ids: dict[str, set[int]]) -> _Labels:
        people = {v for key in USER_FIELDS for v in ids.get(key, ())}
        meetings = repos.meetings_by_id(ids.get("meeting_id", ()))
        bodies = {*ids.get("body_id", ()), *(m.body_id for m in meetings.values())}
        return cls(
            users=repos.users_by_id(people),
            bodies=repos.bodies_by_id(bodies),
            meetings=meetings,
            alternatives=repos.alternatives_by_id(ids.get("alternative_id", ())),
        )

    def name_of(self, key: str, value: int) -> str | None:
        if key in USER_FIELDS:
            person = self.users.get(value)
            return person.username if person else None
        if key == "body_id":
            body = self.bodies.get(value)
            return body.code if body else None
        if key == "meeting_id":
            meeting = self.meetings.get(value)
            if meeting is None:
                return None
            body = self.bodies.get(meeting.body_id)
            return f"{body.code if body else '?'} {meeting.starts_at:%Y-%m-%d}"
        if key == "alternative_id":
            alternative = self.alternatives.get(value)
            return f"{alternative.position} ({alternative.title})" if alternative else None
        return None


def verify(
    eva: Eva, anchors: Sequence[Anchor] = (), *, chain_id: int | None = None
) -> VerifyResult:
    """Every chain (or only ``chain_id``), walked end to end in one snapshot of the database,
    so that events committed meanwhile are neither half seen nor taken for a cut-off tail
    (``eva audit verify``); each must still pass through its ``anchors`` (checkpoints)."""
    try:
        with snapshot(eva.database.bind) as session:
            return verify_chain(session, anchors=anchors, chain_id=chain_id)
    except OperationalError as exc:
        raise unavailable(exc) from exc


def organisation_chain(eva: Eva, code: str) -> int:
    """The chain of the organisation ``code`` (``eva audit verify --org CODE``)."""
    with eva.reading() as uow:
        organisation = uow.repos.organisation_by_code(code)
        if organisation is None:
            raise InvalidInput(
                f"there is no organisation {code!r}",
                [Problem("--org", f"{code}: no such organisation; give its code, e.g. ESPOO")],
            )
        return organisation.id


def verify_proposal(eva: Eva, caller: Caller, proposal_id: int) -> VerifyResult:
    """One proposal's events: each intact and linked into the chain (fast enough for a page)."""
    with eva.reading() as uow:
        _, user = actor_for(uow.repos, caller)
        load_proposal(uow.repos, proposal_id, user)
        return verify_events(uow.session, uow.repos.history(proposal_id))


class ChainCheck(BaseModel):
    """A recorded walk of an organisation's chain: when, by whom, and what it found."""

    checked_at: datetime
    checked_by: str
    verified: int
    ok: bool
    first_bad_seq: int | None
    problem: str | None


def _auditor_organisation(repos: Repositories, user: User) -> tuple[int, str]:
    grants = READ_WHOLE_HISTORY.grants(repos.grants(user.id))
    if not grants:
        raise PermissionDenied(
            "only an auditor or an administrator reads the whole history",
            text=Text(N_("Only an auditor or an administrator reads the whole history.")),
        )
    return grants[0].organisation_id, grants[0].role.value


def verify_and_record(eva: Eva, caller: Caller) -> ChainCheck:
    """Walk the chain of the auditor's organisation and record the result in it (who checked,
    when, what was found). The walk reads one snapshot (never a chain half-way through
    someone's commit); the result is recorded afterwards, in a unit of work of its own."""
    with eva.reading() as uow:
        _, maybe_user = actor_for(uow.repos, caller)
        own, _ = _auditor_organisation(
            uow.repos, require_named_user(maybe_user, "verifying the audit chain")
        )
    result = verify(eva, chain_id=own)
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "verifying the audit chain")
        org_id, role = _auditor_organisation(repos, user)
        check = ChainCheck(
            checked_at=datetime.now(UTC),
            checked_by=user.username,
            verified=result.verified,
            ok=result.ok,
            first_bad_seq=result.first_bad_seq,
            problem=result.problem,
        )
        uow.audit.record(
            PendingEvent(
                action=CHAIN_CHECK,
                entity_type="organisation",
                entity_id=str(org_id),
                organisation_id=org_id,
                proposal_id=None,
                before=None,
                after=check.model_dump(include={"verified", "ok", "first_bad_seq", "problem"}),
                reason=None,
                role=role,
            )
        )
        uow.commit()
        return check


def last_chain_check(eva: Eva, caller: Caller) -> ChainCheck | None:
    """The latest recorded walk of the whole chain in the auditor's organisation."""
    with eva.reading() as uow:
        repos = uow.repos
        _, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "reading the audit history")
        org_id, _ = _auditor_organisation(repos, user)
        event = repos.last_event(organisation_id=org_id, action=CHAIN_CHECK)
        if event is None or not event.after:
            return None
        return ChainCheck.model_validate(
            json.loads(event.after)
            | {"checked_at": event.occurred_at, "checked_by": event.actor_name}
        )


class EventPage(BaseModel):
    organisation: str
    year: int
    action: str | None
    events: list[HistoryEventView]
    next_after: int | None  # cursor for the next page


def audit_events(
    eva: Eva,
    caller: Caller,
    *,
    year: int,
    action: str | None = None,
    after_seq: int = 0,
    limit: int = 50,
) -> EventPage:
    """The events of one year in the auditor's organisation, oldest first, in pages."""
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be 1-500", [Problem("limit", str(limit))])
    if not 2000 <= year <= 2100:
        raise InvalidInput("not a year", [Problem("year", str(year))])
    with eva.reading() as uow:
        repos = uow.repos
        uow.audit.actor, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "reading the audit history")
        org_id, role = _auditor_organisation(repos, user)
        org = repos.organisation(org_id)
        if org is None:  # pragma: no cover - a foreign key
            raise NotFound("no organisation")
        rows = repos.events(
            organisation_id=org.id,
            action=action or None,
            after_seq=after_seq,
            limit=limit + 1,
            since=datetime(year, 1, 1, tzinfo=UTC),
            until=datetime(year + 1, 1, 1, tzinfo=UTC),
        )
        views = [event_view(e) for e in rows[:limit]]
        # Browsing the whole history is itself a use of the system worth logging.
        uow.audit.record(
            PendingEvent(
                action="audit.read",
                entity_type="organisation",
                entity_id=str(org.id),
                organisation_id=org.id,
                proposal_id=None,
                before=None,
                after={"year": year, "action": action, "after_seq": after_seq},
                reason=None,
                role=role,
            )
        )
        uow.commit()
        return EventPage(
            organisation=org.code,
            year=year,
            action=action,
            events=views,
            next_after=views[-1].seq if len(rows) > limit else None,
        )
