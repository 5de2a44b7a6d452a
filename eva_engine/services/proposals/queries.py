"""Reading decision proposals: one proposal, the filtered and paginated list, and the views
both are shown as."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence

from eva_engine.checklists.completeness import missing_answers
from eva_engine.db.repositories import ProposalFilter, Repositories
from eva_engine.db.search import MAX_QUERY_LENGTH, search_words
from eva_engine.errors import N_, InvalidInput, NotFound, Problem, Text
from eva_engine.models import Assignment, Proposal, User, utcnow
from eva_engine.services.access import (
    EDIT_ASSESSMENT,
    actor_for,
    load_proposal,
    log_disclosure,
    no_assessment,
    no_body,
    no_organisation,
)
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import (
    ActionView,
    AreaProgressView,
    AssignmentView,
    ProblemView,
    ProposalCapabilities,
    ProposalPage,
    ProposalSummary,
    ProposalView,
    ScreeningView,
    WorkflowStep,
)
from eva_engine.vocabulary import Role, ScreeningOutcome
from eva_engine.workflow.context import AssessmentSnapshot, FlowContext
from eva_engine.workflow.definition import WorkflowBundle
from eva_engine.workflow.engine import available_actions
from eva_engine.workflow.steps import steps as workflow_steps


def show(eva: Eva, caller: Caller, proposal_id: int) -> ProposalView:
    with eva.reading() as uow:
        uow.audit.actor, user = actor_for(uow.repos, caller)
        proposal = load_proposal(uow.repos, proposal_id, user)
        view = proposal_view(uow.repos, proposal, user)
        if log_disclosure(uow.audit, proposal, "proposal.read"):
            uow.commit()
        return view


class ProposalListPage(ProposalPage):
    """A page of proposals; ``next_cursor`` continues after its last item (None: no more)."""

    next_cursor: str | None = None


_CURSOR = "proposals-after:"
_SEARCH_CURSOR = "proposals-search:"  # a search's pages are in rank order: by position


def proposal_cursor(after_id: int, prefix: str = _CURSOR) -> str:
    """An opaque cursor: continue after the proposal ``after_id`` (the order is by id), or
    (a search's) at position ``after_id`` of the hits."""
    return base64.urlsafe_b64encode(f"{prefix}{after_id}".encode()).decode().rstrip("=")


def _after_id(cursor: str, prefix: str = _CURSOR) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        digits = text.removeprefix(prefix)
        ascii_number = text.startswith(prefix) and digits.isascii() and digits.isdigit()
        value = int(digits) if ascii_number else -1
    except ValueError:
        value = -1
    if not 0 <= value < 2**63:
        wrong = Text(N_("Use the next page link (next_cursor) of the previous page as it is."))
        raise InvalidInput(wrong, [Problem.of("cursor", wrong)])
    return value


def _position(cursor: str | None, offset: int, *, searching: bool) -> tuple[int | None, int]:
    """Where a page starts: (after this id, offset); a search's cursor holds an offset."""
    if cursor is None:
        return None, offset
    if searching:
        return None, _after_id(cursor, _SEARCH_CURSOR)
    return _after_id(cursor), offset


def list_proposals(
    eva: Eva,
    caller: Caller,
    organisation: str,
    *,
    state: str | None = None,
    body: str | None = None,
    limit: int = 50,
    offset: int = 0,
    meeting_id: int | None = None,
    area: str | None = None,
    assignee: str | None = None,
    overdue: bool | None = None,
    cursor: str | None = None,
    q: str | None = None,
) -> ProposalListPage:
    """Proposals visible to the caller, by id. ``area``: the current assessment has answers in
    that checklist area; ``assignee``: that user has an open assignment on it; ``overdue``: it
    has (True) or has no (False) open assignment past its due date. Page either by ``offset``
    or by ``cursor`` (the ``next_cursor`` of the previous page).

    ``q``: free text over case numbers, titles, texts and assessments (db/search.py), best
    match first. It searches only what the list would show the caller anyway: a non-public
    proposal, and so its content, only with a grant that covers its body."""
    problems = []
    if q is not None and len(q) > MAX_QUERY_LENGTH:
        problems.append(
            Problem.of(
                "q",
                Text(N_("Search with at most %(max)s characters."), {"max": MAX_QUERY_LENGTH}),
            )
        )
    if not 1 <= limit <= 500:
        problems.append(Problem.of("limit", Text(N_("Give a number from 1 to 500."))))
    if offset < 0:
        problems.append(Problem.of("offset", Text(N_("Give 0 or a larger number."))))
    if area is not None and not re.fullmatch(r"[a-z][a-z0-9_]{0,79}", area):
        problems.append(Problem.of("area", Text(N_("Choose an impact area from the list."))))
    if problems:
        raise InvalidInput(Text(N_("The list cannot be read with these filters.")), problems)
    search = search_words(q) if q is not None and q.strip() else None
    after_id, offset = _position(cursor, offset, searching=search is not None)
    today = utcnow().date()
    with eva.reading() as uow:
        repos = uow.repos
        _, user = actor_for(repos, caller)
        org = repos.organisation_by_code(organisation)
        if org is None or (user is not None and not repos.holds_any_role(user.id, org.id)):
            raise NotFound(no_organisation(organisation))
        body_id = None
        if body is not None:
            found = repos.body_by_code(org.id, body)
            if found is None:
                raise NotFound(no_body(body, org.code))
            body_id = found.id
        assignee_id = None
        if assignee is not None:
            named = repos.user_by_username(assignee)
            assignee_id = named.id if named else -1  # nobody: nothing matches
        rows, total = repos.proposals(
            ProposalFilter(
                organisation_id=org.id,
                state=state,
                body_id=body_id,
                meeting_id=meeting_id,
                area=area,
                assignee_id=assignee_id,
                overdue_on=today if overdue else None,
                not_overdue_on=today if overdue is False else None,
                after_id=after_id,
                limit=limit + 1,
                offset=0 if after_id is not None else offset,
                confidential_bodies=repos.covered_bodies(user.id, org.id) if user else None,
                search=search,
            )
        )
        more = len(rows) > limit
        rows = rows[:limit]
        names = _people(repos, {p.preparer_id for p in rows})
        bodies = {b.id: b.code for b in repos.bodies(org.id)}
        items = [
            ProposalSummary(
                id=p.id,
                case_number=p.case_number,
                title_fi=p.title_fi,
                body=bodies[p.body_id],
                state=p.state,
                preparer=names[p.preparer_id][0],
                revision=p.revision,
                preparer_name=names[p.preparer_id][1],
            )
            for p in rows
        ]
        if not (more and rows):
            following = None
        elif search is not None:
            following = proposal_cursor(offset + limit, _SEARCH_CURSOR)
        else:
            following = proposal_cursor(rows[-1].id)
        return ProposalListPage(
            items=items,
            total=total,
            limit=limit,
            offset=offset if after_id is None else 0,
            next_cursor=following,
        )


def _people(repos: Repositories, ids: set[int]) -> dict[int, tuple[str, str]]:
    """The username and the full name of each of these users, in one query."""
    found = repos.users_by_id(ids)
    return {
        user_id: (found[user_id].username, found[user_id].full_name or found[user_id].username)
        if user_id in found
        else ("?", "?")
        for user_id in ids
    }


def flow_context(
    repos: Repositories, proposal: Proposal, user: User | None, reason: str | None = None
) -> tuple[FlowContext, str]:
    bundle, digest = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
    assessment = repos.assessment(proposal.id, proposal.revision)
    if assessment is None:  # pragma: no cover - created with the proposal and each revision
        raise NotFound(no_assessment(proposal.id))
    roles = (
        repos.roles_for(user.id, proposal.organisation_id, proposal.body_id)
        if user
        else frozenset()
    )
    ctx = FlowContext(
        proposal=proposal,
        actor_id=user.id if user else -1,
        actor_roles=roles,
        bundle=bundle,
        load_assessment=lambda: repos.snapshot(assessment.id),
        meeting=repos.meeting(proposal.meeting_id) if proposal.meeting_id else None,
        reason=reason,
        load_follow_ups=lambda: list(repos.follow_ups(proposal.id)),
    )
    return ctx, digest


def completeness(
    bundle: WorkflowBundle, snap: AssessmentSnapshot
) -> tuple[list[AreaProgressView], list[ProblemView]]:
    """Progress per impact area and what is still missing, from an assessment already read
    (nothing is read here): nothing for an assessment not screened yet or exempt."""
    if snap.screening is None or snap.screening.outcome == ScreeningOutcome.EXEMPT:
        return [], []
    problems, areas = missing_answers(
        bundle.checklists, snap.screening.outcome, snap.alternatives, snap.answers
    )
    titles = {a.id: a.title for c in bundle.checklists for a in c.areas}
    progress = [
        AreaProgressView(
            area=a.area,
            title_fi=titles[a.area].fi,
            title_sv=titles[a.area].sv,
            title_en=titles[a.area].en,
            required=a.required,
            complete=a.complete,
        )
        for a in areas
    ]
    return progress, [ProblemView.of(p) for p in problems]


def proposal_view(repos: Repositories, proposal: Proposal, user: User | None) -> ProposalView:
    ctx, _ = flow_context(repos, proposal, user)
    org = repos.organisation(proposal.organisation_id)
    body = repos.body(proposal.body_id)
    names = _people(repos, {proposal.preparer_id, proposal.presenter_id})
    snap = ctx.assessment
    screening = None
    progress: list[AreaProgressView] = []
    missing: list[ProblemView] = []
    if snap.screening is not None:
        recorder = repos.user(snap.screening.recorded_by_id)
        screening = ScreeningView(
            outcome=snap.screening.outcome,
            criteria=list(snap.screening.criteria),
            exemption=snap.screening.exemption,
            reason=snap.screening.reason,
            participation_plan=snap.screening.participation_plan,
            recorded_by=recorder.username if recorder else "?",
            recorded_at=snap.screening.recorded_at,
        )
        progress, missing = completeness(ctx.bundle, snap)
    meeting = ctx.meeting
    current = ctx.bundle.workflow.state(proposal.state)
    state_title = current.title
    section = (
        f"§ {proposal.section_number}/{proposal.section_year}" if proposal.section_number else None
    )
    actions = []
    if user is not None:
        for verdict in available_actions(ctx):
            t = verdict.transition
            actions.append(
                ActionView(
                    trigger=verdict.trigger,
                    title_fi=t.title.fi,
                    title_sv=t.title.sv,
                    title_en=t.title.en,
                    allowed=verdict.allowed,
                    role_ok=verdict.role_ok,
                    reason_required=t.reason_required,
                    missing=[ProblemView.of(p) for p in verdict.problems],
                )
            )
    return ProposalView(
        id=proposal.id,
        organisation=org.code if org else "?",
        case_number=proposal.case_number,
        title_fi=proposal.title_fi,
        title_sv=proposal.title_sv,
        body=body.code if body else "?",
        meeting_id=proposal.meeting_id,
        meeting_starts_at=meeting.starts_at if meeting else None,
        section=section,
        agenda_position=proposal.agenda_position,
        publicity=proposal.publicity,
        confidentiality_ground=proposal.confidentiality_ground,
        contains_personal_data=proposal.contains_personal_data,
        preparer=names[proposal.preparer_id][0],
        presenter=names[proposal.presenter_id][0],
        preparer_name=names[proposal.preparer_id][1],
        presenter_name=names[proposal.presenter_id][1],
        state=proposal.state,
        state_title_fi=state_title.fi,
        state_title_sv=state_title.sv,
        state_title_en=state_title.en,
        outcome=proposal.outcome,
        workflow=proposal.workflow_name,
        workflow_version=proposal.workflow_version,
        revision=proposal.revision,
        row_version=proposal.row_version,
        screening=screening,
        alternatives=len(snap.alternatives),
        answers=len(snap.answers),
        progress=progress,
        missing=missing,
        assignments=assignment_views(repos, repos.open_assignments(proposal.id)),
        actions=actions,
        can=capabilities(ctx.actor_roles if user else None, current.editable),
        steps=steps_of(ctx.bundle, proposal.state),
        phase=current.phase,
        final=current.final,
    )


def capabilities(roles: frozenset[Role] | None, editable: bool) -> ProposalCapabilities:
    """What the caller can do on the proposal now: the rules the services check
    (``access.EDIT_ASSESSMENT``, over the roles the caller holds for the proposal's body) and
    whether the workflow declares its state editable. ``roles`` None: the operator, trusted."""
    may_edit = roles is None or EDIT_ASSESSMENT.allowed(roles) is not None
    return ProposalCapabilities(edit_assessment=editable and may_edit)


def steps_of(bundle: WorkflowBundle, state: str) -> list[WorkflowStep]:
    """The workflow's main line and where the proposal stands on it (the step indicator)."""
    return [
        WorkflowStep(
            state=step.state.id,
            title_fi=step.state.title.fi,
            title_sv=step.state.title.sv,
            title_en=step.state.title.en,
            status=step.status,
        )
        for step in workflow_steps(bundle.workflow, state)
    ]


def assignment_views(repos: Repositories, found: Sequence[Assignment]) -> list[AssignmentView]:
    """``assignment_view`` of each, with every assignee read in one query."""
    people = repos.users_by_id(a.assignee_id for a in found if a.assignee_id)
    return [assignment_view(repos, a, people) for a in found]


def assignment_view(
    repos: Repositories, a: Assignment, people: dict[int, User] | None = None
) -> AssignmentView:
    """The assignment as shown; ``people``: its assignee already read with a list's."""
    if people is not None:
        assignee = people.get(a.assignee_id) if a.assignee_id else None
    else:
        assignee = repos.user(a.assignee_id) if a.assignee_id else None
    return AssignmentView(
        id=a.id,
        proposal_id=a.proposal_id,
        kind=a.kind,
        assignee=assignee.username if assignee else None,
        assignee_name=(assignee.full_name or assignee.username) if assignee else None,
        roles=list(a.roles),
        due=a.due,
        state=a.state,
        reason=a.reason,
    )
