"""Reading a proposal's history and verifying that nobody has altered the audit chain."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
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
from eva_engine.errors import (
    LANGUAGE_CODES,
    N_,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Problem,
    Text,
)
from eva_engine.models import (
    AuditEvent,
    FollowUpIndicator,
    Proposal,
    User,
    jsonable,
)
from eva_engine.services import paging
from eva_engine.services.access import (
    READ_WHOLE_HISTORY,
    actor_for,
    load_proposal,
    log_disclosure,
    require_named_user,
)
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import HistoryEventView, ProblemView
from eva_engine.workflow.definition import WorkflowBundle

CHAIN_CHECK = "audit.chain_verified"


def event_view(ev: AuditEvent) -> HistoryEventView:
    return HistoryEventView(
        seq=ev.seq,
        occurred_at=ev.occurred_at,
        actor=ev.actor_name,
        actor_id=ev.actor_id,
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


class HistoryPage(BaseModel):
    """One page (``paging.PAGE_SIZE``) of a proposal's history, oldest first, with what
    verifying this page's events found; ``next_cursor`` continues (None: the last page)."""

    events: list[HistoryEventView]
    chain: VerifyResult
    next_cursor: str | None = None


_HISTORY = "history-after"


def history_page(
    eva: Eva, caller: Caller, proposal_id: int, *, after: str | None = None
) -> HistoryPage:
    """A page of the proposal's history after the cursor ``after`` (keyset on the event's
    sequence in its chain), its events verified (each intact and linked to the event before
    it): a fixed number of statements however long the history."""
    after_seq = paging.row_id(paging.parts(_HISTORY, after, 1)[0]) if after else 0
    with eva.reading() as uow:
        uow.audit.actor, user = actor_for(uow.repos, caller)
        proposal = load_proposal(uow.repos, proposal_id, user)
        rows = uow.repos.history(proposal_id, after_seq=after_seq, limit=paging.PAGE_SIZE + 1)
        shown = rows[: paging.PAGE_SIZE]
        chain = verify_events(uow.session, shown)
        views = [event_view(ev) for ev in shown]
        more = len(rows) > paging.PAGE_SIZE
        if log_disclosure(uow.audit, proposal, "proposal.history_read"):
            uow.commit()
        return HistoryPage(
            events=views,
            chain=chain,
            next_cursor=paging.cursor(_HISTORY, views[-1].seq) if more and views else None,
        )


USER_FIELDS = frozenset(
    {
        "preparer_id",
        "presenter_id",
        "assignee_id",
        "recorded_by_id",
        "user_id",
        "responsible_id",
        "settled_by_id",
        "written_by_id",
        "author_id",
        "resolved_by_id",
        "uploaded_by_id",
    }
)
# The fields of a record that say which one it is (an answer's question and alternative, a
# grant's user and role, a task's kind...): what a history shows instead of its id.
DESCRIBING = (
    "question_id",
    "alternative_id",
    "indicator_id",
    "user_id",
    "assignee_id",
    "body_id",
    "role",
    "kind",
    "language",
    "name",
    "title",
    "position",
    "code",
    "full_name",
    "case_number",
    "title_fi",
    "title_sv",
    "revision",
    "version",
    "url",
    "starts_at",
)
# Ids in stored values and records, by the kind of record they name.
ID_FIELDS = {
    **dict.fromkeys(USER_FIELDS, "user"),
    "body_id": "body",
    "meeting_id": "meeting",
    "alternative_id": "alternative",
    "indicator_id": "follow_up_indicator",
}


class MeetingName(BaseModel):
    body: str
    starts_at: datetime


class ProposalName(BaseModel):
    case_number: str
    title_fi: str
    title_sv: str | None = None


class HistoryNames(BaseModel):
    """What the ids of a page of history stand for, read in a fixed number of queries (one per
    kind of record, however many events): people by name, bodies by code, meetings by body and
    time, alternatives by number and title, proposals by case number and title; each event's
    record by the fields that say which it is (``records``, by ``type:id``); and the workflow
    definitions that give states, steps, task kinds, criteria and questions their titles. The
    events themselves keep the ids."""

    people: dict[int, str] = Field(default_factory=dict)
    bodies: dict[int, str] = Field(default_factory=dict)
    meetings: dict[int, MeetingName] = Field(default_factory=dict)
    alternatives: dict[int, str] = Field(default_factory=dict)
    indicators: dict[int, str] = Field(default_factory=dict)
    proposals: dict[int, ProposalName] = Field(default_factory=dict)
    records: dict[str, dict[str, Any]] = Field(default_factory=dict)
    bundles: list[WorkflowBundle] = Field(default_factory=list)


def _int_id(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() else None


def history_names(
    repos: Repositories, events: Sequence[HistoryEventView], bundles: Sequence[WorkflowBundle]
) -> HistoryNames:
    """``HistoryNames`` of ``events``: the records first (one query per kind), then the people,
    bodies, meetings, alternatives, indicators and proposals they and the events name."""
    wanted: dict[str, set[int]] = {}
    merged: dict[str, dict[str, Any]] = {}
    for event in events:
        kind, _, raw = event.entity.partition(":")
        number = _int_id(raw)
        if number is not None:
            wanted.setdefault(kind, set()).add(number)
        fields = merged.setdefault(event.entity, {})
        for stored in (event.before or {}, event.after or {}):
            fields.update({k: v for k, v in stored.items() if k in DESCRIBING})
        if event.actor_id is not None:
            wanted.setdefault("user", set()).add(event.actor_id)
        if event.proposal_id is not None:
            wanted.setdefault("proposal", set()).add(event.proposal_id)
    for kind in sorted(set(wanted) - {"user", "body", "meeting", "alternative", "proposal"}):
        for number, row in repos.audited_by_id(kind, wanted[kind]).items():
            fields = merged.setdefault(f"{kind}:{number}", {})
            fields.update({k: jsonable(getattr(row, k)) for k in DESCRIBING if hasattr(row, k)})
    for event in events:
        for stored in (event.before or {}, event.after or {}):
            _collect(stored, wanted)
    for fields in merged.values():
        _collect(fields, wanted)
    users = repos.users_by_id(wanted.get("user", ()))
    meetings = repos.meetings_by_id(wanted.get("meeting", ()))
    bodies = repos.bodies_by_id({*wanted.get("body", ()), *(m.body_id for m in meetings.values())})
    alternatives = repos.alternatives_by_id(wanted.get("alternative", ()))
    proposals = repos.audited_by_id("proposal", wanted.get("proposal", ()))
    indicators = {
        number: row
        for number, row in repos.audited_by_id(
            "follow_up_indicator", wanted.get("follow_up_indicator", ())
        ).items()
        if isinstance(row, FollowUpIndicator)
    }
    for kind, rows in (("user", users), ("proposal", proposals), ("body", bodies)):
        for number, row in rows.items():
            fields = merged.setdefault(f"{kind}:{number}", {})
            fields.update({k: jsonable(getattr(row, k)) for k in DESCRIBING if hasattr(row, k)})
    return HistoryNames(
        people={i: u.full_name or u.username for i, u in users.items()},
        bodies={i: b.code for i, b in bodies.items()},
        meetings={
            i: MeetingName(
                body=bodies[m.body_id].code if m.body_id in bodies else "?",
                starts_at=m.starts_at,
            )
            for i, m in meetings.items()
        },
        alternatives={i: f"{a.position} ({a.title})" for i, a in alternatives.items()},
        indicators={i: row.name for i, row in indicators.items()},
        proposals={
            i: ProposalName(case_number=p.case_number, title_fi=p.title_fi, title_sv=p.title_sv)
            for i, p in proposals.items()
            if isinstance(p, Proposal)
        },
        records={key: fields for key, fields in merged.items() if fields},
        bundles=list(bundles),
    )


def _collect(stored: dict[str, Any], wanted: dict[str, set[int]]) -> None:
    for key, value in stored.items():
        kind = ID_FIELDS.get(key)
        if kind is not None and isinstance(value, int) and not isinstance(value, bool):
            wanted.setdefault(kind, set()).add(value)


def referenced_names(
    eva: Eva, caller: Caller, proposal_id: int, events: list[HistoryEventView]
) -> HistoryNames:
    """What the ids in a proposal's events stand for (``HistoryNames``), with the titles of
    the workflow version the proposal is pinned to."""
    with eva.reading() as uow:
        repos = uow.repos
        _, user = actor_for(repos, caller)
        proposal = load_proposal(repos, proposal_id, user)
        bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
        return history_names(repos, events, [bundle])


def page_names(eva: Eva, caller: Caller, events: list[HistoryEventView]) -> HistoryNames:
    """What the ids of a page of the auditor's year stand for, with the titles of every
    published workflow version (the newest last, so its titles win)."""
    with eva.reading() as uow:
        repos = uow.repos
        _, maybe_user = actor_for(repos, caller)
        _auditor_organisation(repos, require_named_user(maybe_user, "reading the audit history"))
        records = sorted(repos.definitions(), key=lambda r: (r.name, r.version))
        bundles = [stored_bundle(repos, r.name, r.version)[0] for r in records]
        return history_names(repos, events, bundles)


def verify(
    eva: Eva, anchors: Sequence[Anchor] = (), *, chain_id: int | None = None
) -> VerifyResult:
    """Every chain (or only ``chain_id``), walked end to end in one snapshot of the database,
    so that events committed meanwhile are neither half seen nor taken for a cut-off tail
    (``eva audit verify``); each must still pass through its ``anchors`` (checkpoints)."""
    try:
        with snapshot(eva.database.bind) as session:
            result = verify_chain(session, anchors=anchors, chain_id=chain_id)
    except OperationalError as exc:
        raise unavailable(exc) from exc
    return _state_titles(eva, result)


def _state_titles(eva: Eva, result: VerifyResult) -> VerifyResult:
    """A state changed behind eva's back, named by the workflow's titles too (``state_fi``,
    ``recorded_sv``...: what a reader sees), not only by the ids the chain records."""
    what = result.issue.what if result.issue is not None else None
    if result.code != "proposal_state_changed" or what is None or result.issue is None:
        return result
    with eva.reading() as uow:
        proposal = uow.session.execute(
            select(Proposal).where(
                Proposal.case_number == str(what.params.get("case")),
                Proposal.organisation_id == result.chain_id,
            )
        ).scalar_one_or_none()
        if proposal is None:  # pragma: no cover - deleted since
            return result
        bundle, _ = stored_bundle(uow.repos, proposal.workflow_name, proposal.workflow_version)
    titles: dict[str, str | int] = {}
    for name in ("state", "recorded"):
        state = next((s for s in bundle.workflow.states if s.id == what.params.get(name)), None)
        if state is not None:
            titles |= {f"{name}_{lang}": state.title.get(lang) for lang in LANGUAGE_CODES}
    named = Text(what.template, {**what.params, **titles})
    return replace(result, issue=replace(result.issue, what=named))


def organisation_chain(eva: Eva, code: str) -> int:
    """The chain of the organisation ``code`` (``eva audit verify --org CODE``)."""
    with eva.reading() as uow:
        organisation = uow.repos.organisation_by_code(code)
        if organisation is None:
            nothing = Text(
                N_("There is no organisation %(organisation)s: give its code, e.g. espoo."),
                {"organisation": code},
            )
            raise InvalidInput(nothing, [Problem.of("--org", nothing)])
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
    problem: str | None  # in English; ``issue`` says it in the reader's language
    code: str | None = None  # which problem, for programs: stable (``db.audit.PROBLEMS``)
    # the chain (``where``) and the problem (``what``) as message ids and values; a check
    # recorded before eva kept them has none (its ``problem`` is all there is)
    issue: ProblemView | None = None


def _auditor_organisation(repos: Repositories, user: User) -> tuple[int, str]:
    grants = READ_WHOLE_HISTORY.grants(repos.grants(user.id))
    if not grants:
        raise PermissionDenied(
            Text(N_("Only an auditor or an administrator reads the whole history."))
        )
    return grants[0].organisation_id, grants[0].role.value


def auditor_chain(eva: Eva, caller: Caller, doing: str) -> int:
    """The chain (organisation id) the caller audits: their organisation's, as an auditor or
    an administrator of it."""
    with eva.reading() as uow:
        _, maybe_user = actor_for(uow.repos, caller)
        own, _ = _auditor_organisation(uow.repos, require_named_user(maybe_user, doing))
        return own


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
            checked_by=user.full_name or user.username,
            verified=result.verified,
            ok=result.ok,
            first_bad_seq=result.first_bad_seq,
            problem=result.problem,
            code=result.code,
            issue=ProblemView.of(result.issue) if result.issue is not None else None,
        )
        uow.audit.record(
            PendingEvent(
                action=CHAIN_CHECK,
                entity_type="organisation",
                entity_id=str(org_id),
                organisation_id=org_id,
                proposal_id=None,
                before=None,
                after=check.model_dump(include={"verified", "ok", "first_bad_seq", "problem"})
                | check.model_dump(include={"code", "issue"}, exclude_none=True),
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
        checker = repos.user(event.actor_id) if event.actor_id is not None else None
        checked_by = (checker.full_name or checker.username) if checker else event.actor_name
        return ChainCheck.model_validate(
            json.loads(event.after) | {"checked_at": event.occurred_at, "checked_by": checked_by}
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
        limited = Text(N_("Give a number from 1 to 500."))
        raise InvalidInput(limited, [Problem.of("limit", limited)])
    if not 2000 <= year <= 2100:
        no_year = Text(N_("Give a year from 2000 to 2100."))
        raise InvalidInput(no_year, [Problem.of("year", no_year)])
    with eva.reading() as uow:
        repos = uow.repos
        uow.audit.actor, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "reading the audit history")
        org_id, role = _auditor_organisation(repos, user)
        org = repos.organisation(org_id)
        if org is None:  # pragma: no cover - a foreign key
            raise NotFound(Text(N_("There is no such organisation.")))
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
