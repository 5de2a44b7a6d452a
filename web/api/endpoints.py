"""The operations of /api/v1. Each parses nothing itself (the route table does) and calls one
service; the services apply the same role grants and record-level checks as the web UI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Any

from flask import url_for

from eva_engine.errors import InvalidInput
from eva_engine.reports.render import MEDIA_TYPES, filename, render
from eva_engine.services.assessment import documents, questions, screening
from eva_engine.services.history import trail
from eva_engine.services.meetings import agendas
from eva_engine.services.people import directory
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.proposals import texts as proposal_texts
from eva_engine.services.proposals.commands import CreateProposal
from eva_engine.services.proposals.queries import ProposalListPage
from eva_engine.services.proposals.texts import ProposalTextsView
from eva_engine.services.reports import queries as reports
from eva_engine.services.reports.queries import ReportRequest
from eva_engine.services.runtime import Caller
from eva_engine.services.steps import assignments, transitions, work
from eva_engine.services.views import AssignmentView, ProposalView, TransitionResult
from web.api import schemas
from web.api.framework import Call, Reply, api_route
from web.runtime import eva

PROPOSAL = "/proposals/<int(signed=True):proposal_id>"


def _proposal_id(_caller: Caller, values: dict[str, Any]) -> int:
    return int(values["proposal_id"])


def _assignment_proposal(caller: Caller, values: dict[str, Any]) -> int:
    return assignments.assignment_proposal(eva(), caller, int(values["assignment_id"]))


@contextmanager
def _relocated(collection: str) -> Iterator[None]:
    """The services check the merged document (``mitigations[4].question``); the request
    held one item, so its fields are named without the collection."""
    try:
        yield
    except InvalidInput as exc:
        prefix = re.compile(rf"^{collection}(\[\d+\])?\.?")
        problems = [replace(p, location=prefix.sub("", p.location)) for p in exc.problems]
        raise InvalidInput(exc.message, problems, text=exc.text) from exc


def _proposal(view: ProposalView, status: int | None = None) -> Reply:
    return Reply(view, status=status, version=view.row_version)


# organisations, bodies, meetings ---------------------------------------------------------------
@api_route(
    "GET",
    "/organisations",
    summary="My organisations",
    tag="organisations",
    response=schemas.OrganisationList,
)
def list_organisations(call: Call) -> Reply:
    """The organisations where the token's user holds a role."""
    return Reply(schemas.OrganisationList(items=directory.my_organisations(eva(), call.caller)))


@api_route(
    "GET",
    "/organisations/<organisation>/bodies",
    summary="Bodies of an organisation",
    tag="organisations",
    response=schemas.BodyList,
)
def list_bodies(call: Call, organisation: str) -> Reply:
    """Councils, boards, committees and office holders (toimielimet)."""
    return Reply(schemas.BodyList(items=directory.bodies(eva(), call.caller, organisation)))


@api_route(
    "GET",
    "/organisations/<organisation>/meetings",
    summary="Meetings of an organisation",
    tag="organisations",
    response=schemas.MeetingList,
    query=schemas.MeetingQuery,
)
def list_meetings(call: Call, organisation: str) -> Reply:
    """Meetings of the organisation's bodies, or of one body, earliest first."""
    found = directory.meetings(eva(), call.caller, organisation, call.query.body)
    return Reply(schemas.MeetingList(items=found))


@api_route(
    "GET",
    "/organisations/<organisation>/report",
    summary="The report for a period",
    tag="organisations",
    response=schemas.ReportFile,
    query=schemas.ReportQuery,
    files=tuple(MEDIA_TYPES.values()),
)
def organisation_report(call: Call, organisation: str) -> Reply:
    """The report of a period (docs/reports.md) as HTML, CSV, XLSX or PDF; the internal version
    (public=false) is for the organisation's auditors and administrators and is recorded."""
    query: schemas.ReportQuery = call.query
    request = ReportRequest(
        organisation=organisation,
        period=query.period,
        body=query.body,
        public=query.public,
        output=query.format,
    )
    view = reports.report(eva(), call.caller, request)
    return Reply(
        schemas.ReportFile(),
        content=render(view, query.format, query.language),
        media_type=MEDIA_TYPES[query.format],
        headers={
            "Content-Disposition": (
                f'attachment; filename="{filename(view, query.format, query.language)}"'
            )
        },
    )


@api_route(
    "GET",
    "/meetings/<int(signed=True):meeting_id>/agenda",
    summary="A meeting's agenda",
    tag="organisations",
    response=agendas.AgendaView,
)
def meeting_agenda(call: Call, meeting_id: int) -> Reply:
    """Each agenda item with its completeness: what still blocks it and who has it now."""
    return Reply(agendas.agenda(eva(), call.caller, meeting_id))


# proposals -------------------------------------------------------------------------------------
@api_route(
    "GET",
    "/proposals",
    summary="List proposals",
    tag="proposals",
    response=ProposalListPage,
    query=schemas.ProposalQuery,
)
def list_proposals(call: Call) -> Reply:
    """Proposals visible to the token's user, ordered by id, with filters. Page with
    ``cursor`` (the ``next_cursor`` of the previous page) or with ``offset``. With ``q``, only
    those matching the text, best match first; a non-public proposal's content is searched
    only for a user whose grants cover its body."""
    q: schemas.ProposalQuery = call.query
    page = proposal_queries.list_proposals(
        eva(),
        call.caller,
        q.organisation,
        state=q.state,
        body=q.body,
        meeting_id=q.meeting,
        area=q.area,
        assignee=q.assignee,
        overdue=q.overdue,
        q=q.q,
        cursor=q.cursor,
        limit=q.limit,
        offset=q.offset,
    )
    return Reply(page)


@api_route(
    "POST",
    "/proposals",
    summary="Create a proposal",
    tag="proposals",
    response=proposal_commands.CreatedProposal,
    status=201,
    body=CreateProposal,
)
def create_proposal(call: Call) -> Reply:
    """A new proposal in draft, with its first assessment revision and a preparation task.
    ``warnings`` names what is accepted but worth a look: another proposal of the same body
    with this case number."""
    directory.require_member(eva(), call.caller, call.body.organisation)
    view = proposal_commands.create_proposal(eva(), call.caller, call.body)
    reply = _proposal(view, 201)
    reply.location = url_for("api.get_proposal", proposal_id=view.id)
    return reply


@api_route(
    "GET", PROPOSAL, summary="Read a proposal", tag="proposals", response=ProposalView, etag=True
)
def get_proposal(call: Call, proposal_id: int) -> Reply:
    """The proposal with its state, completeness, assignments and the actions the token's user
    can take now (and what is missing for each). The ETag is its row version."""
    return _proposal(proposal_queries.show(eva(), call.caller, proposal_id))


@api_route(
    "PUT",
    PROPOSAL + "/meeting",
    summary="Schedule on a meeting",
    tag="proposals",
    response=ProposalView,
    body=schemas.ScheduleBody,
    etag=True,
    proposal_of=_proposal_id,
)
def schedule(call: Call, proposal_id: int) -> Reply:
    """Put the proposal on a meeting of its body (a secretary)."""
    body: schemas.ScheduleBody = call.body
    cmd = proposal_commands.ScheduleProposal(
        proposal_id=proposal_id,
        meeting_id=body.meeting_id,
        agenda_position=body.agenda_position,
        section_number=body.section_number,
        expected_version=call.expected_version,
    )
    return _proposal(proposal_commands.schedule(eva(), call.caller, cmd))


@api_route(
    "POST",
    PROPOSAL + "/transitions/<trigger>",
    summary="Take a workflow step",
    tag="proposals",
    response=TransitionResult,
    body=schemas.TransitionBody,
    body_optional=True,
    etag=True,
    proposal_of=_proposal_id,
)
def fire(call: Call, proposal_id: int, trigger: str) -> Reply:
    """Fire a trigger of the workflow (e.g. ``submit_for_review``, ``sign_off``) with a reason
    where the step needs one. Refused with the missing items named when guards fail (422), or
    when the trigger does not exist in the current state (409)."""
    body: schemas.TransitionBody = call.body
    result = transitions.fire(
        eva(),
        call.caller,
        proposal_id,
        trigger,
        reason=body.reason,
        expected_version=call.expected_version,
    )
    return Reply(result, version=result.row_version)


@api_route(
    "GET",
    PROPOSAL + "/history",
    summary="A proposal's history",
    tag="proposals",
    response=schemas.HistoryList,
    query=schemas.AfterQuery,
)
def proposal_history(call: Call, proposal_id: int) -> Reply:
    """The recorded changes of the proposal, oldest first, with before and after values, a
    page at a time: ``after`` takes the ``next_cursor`` of the previous page."""
    page = trail.history_page(eva(), call.caller, proposal_id, after=call.query.after)
    return Reply(schemas.HistoryList(items=page.events, next_cursor=page.next_cursor))


# the assessment --------------------------------------------------------------------------------
@api_route(
    "PUT",
    PROPOSAL + "/screening",
    summary="Record the screening",
    tag="assessment",
    response=ProposalView,
    body=schemas.ScreeningBody,
    etag=True,
    proposal_of=_proposal_id,
)
def record_screening(call: Call, proposal_id: int) -> Reply:
    """Exempt (with the exemption and its reason), a light or a full assessment."""
    body: schemas.ScreeningBody = call.body
    cmd = screening.RecordScreening(
        proposal_id=proposal_id,
        outcome=body.outcome,
        criteria=body.criteria,
        exemption=body.exemption,
        reason=body.reason,
        participation_plan=body.participation_plan,
        expected_version=call.expected_version,
    )
    return _proposal(screening.record_screening(eva(), call.caller, cmd))


@api_route(
    "GET",
    PROPOSAL + "/assessment",
    summary="Read the assessment",
    tag="assessment",
    response=documents.AssessmentView,
)
def get_assessment(call: Call, proposal_id: int) -> Reply:
    """The current revision's assessment as an eva.assessment/1 document."""
    doc = documents.export_document(eva(), call.caller, proposal_id)
    return Reply(documents.AssessmentView.of(doc))


@api_route(
    "GET",
    PROPOSAL + "/questions",
    summary="The checklist questions",
    tag="assessment",
    response=schemas.QuestionList,
)
def get_questions(call: Call, proposal_id: int) -> Reply:
    """The questions of the proposal's pinned checklists, and which the screening requires."""
    return Reply(schemas.QuestionList(items=questions.questions(eva(), call.caller, proposal_id)))


@api_route(
    "PUT",
    PROPOSAL + "/assessment",
    summary="Replace the assessment",
    tag="assessment",
    response=ProposalView,
    body=documents.AssessmentDocument,
    etag=True,
    proposal_of=_proposal_id,
)
def put_assessment(call: Call, proposal_id: int) -> Reply:
    """Store a whole eva.assessment/1 document (rows it no longer holds are removed)."""
    view = documents.import_assessment(
        eva(), call.caller, proposal_id, call.body, expected_version=call.expected_version
    )
    return _proposal(view)


@api_route(
    "PUT",
    PROPOSAL + "/alternatives",
    summary="Replace the alternatives",
    tag="assessment",
    response=ProposalView,
    body=schemas.AlternativesBody,
    etag=True,
    proposal_of=_proposal_id,
)
def put_alternatives(call: Call, proposal_id: int) -> Reply:
    """The alternatives compared (0 is the status quo); at most one is chosen."""
    body: schemas.AlternativesBody = call.body
    view = documents.save_alternatives(
        eva(), call.caller, proposal_id, body.alternatives, call.expected_version
    )
    return _proposal(view)


@api_route(
    "POST",
    PROPOSAL + "/answers",
    summary="Store answers (bulk upsert)",
    tag="assessment",
    response=ProposalView,
    body=schemas.AnswersBody,
    etag=True,
    proposal_of=_proposal_id,
)
def post_answers(call: Call, proposal_id: int) -> Reply:
    """Insert or replace cells of the impact matrix (question × alternative) and empty the
    ``cleared`` ones; other cells stay. Nothing is stored if any cell is wrong."""
    body: schemas.AnswersBody = call.body
    questions.check_answers(eva(), call.caller, proposal_id, body.answers)
    view = documents.save_answers(
        eva(),
        call.caller,
        proposal_id,
        body.answers,
        [(c.question, c.alternative) for c in body.cleared],
        call.expected_version,
    )
    return _proposal(view)


@api_route(
    "POST",
    PROPOSAL + "/mitigations",
    summary="Store a mitigation",
    tag="assessment",
    response=ProposalView,
    body=documents.MitigationIn,
    etag=True,
    proposal_of=_proposal_id,
)
def post_mitigation(call: Call, proposal_id: int) -> Reply:
    """Insert or replace the mitigation of a question (under one alternative or all)."""
    with _relocated("mitigations"):
        view = documents.save_mitigation(
            eva(), call.caller, proposal_id, call.body, expected_version=call.expected_version
        )
    return _proposal(view)


@api_route(
    "DELETE",
    PROPOSAL + "/mitigations",
    summary="Remove a mitigation",
    tag="assessment",
    response=ProposalView,
    query=schemas.MitigationKey,
    etag=True,
    proposal_of=_proposal_id,
)
def delete_mitigation(call: Call, proposal_id: int) -> Reply:
    """Remove the mitigation of a question (and alternative)."""
    key: schemas.MitigationKey = call.query
    mitigation = documents.MitigationIn.model_construct(
        question=key.question, alternative=key.alternative, description="-", responsible=None
    )
    view = documents.save_mitigation(
        eva(), call.caller, proposal_id, mitigation, True, call.expected_version
    )
    return _proposal(view)


@api_route(
    "POST",
    PROPOSAL + "/indicators",
    summary="Store a follow-up indicator",
    tag="assessment",
    response=ProposalView,
    body=documents.IndicatorIn,
    etag=True,
    proposal_of=_proposal_id,
)
def post_indicator(call: Call, proposal_id: int) -> Reply:
    """Insert or replace a follow-up indicator (by its name)."""
    with _relocated("follow_up_indicators"):
        view = documents.save_indicator(
            eva(), call.caller, proposal_id, call.body, expected_version=call.expected_version
        )
    return _proposal(view)


@api_route(
    "DELETE",
    PROPOSAL + "/indicators",
    summary="Remove a follow-up indicator",
    tag="assessment",
    response=ProposalView,
    query=schemas.IndicatorKey,
    etag=True,
    proposal_of=_proposal_id,
)
def delete_indicator(call: Call, proposal_id: int) -> Reply:
    """Remove the follow-up indicator of this name."""
    key: schemas.IndicatorKey = call.query
    # Removal matches by name only; the other fields are placeholders.
    indicator = documents.IndicatorIn.model_construct(
        name=key.name, responsible="-", due=date.min, source=None, question=None
    )
    view = documents.save_indicator(
        eva(), call.caller, proposal_id, indicator, True, call.expected_version
    )
    return _proposal(view)


# assignments -----------------------------------------------------------------------------------
@api_route(
    "GET",
    "/assignments/mine",
    summary="My assignments",
    tag="assignments",
    response=work.WorkView,
    query=schemas.AfterQuery,
)
def my_assignments(call: Call) -> Reply:
    """What waits for the token's user (named or in a role queue), overdue first, a page at a
    time: ``after`` takes the ``next_cursor`` of the previous page."""
    return Reply(work.my_work(eva(), call.caller, after=call.query.after))


@api_route(
    "GET",
    PROPOSAL + "/assignments",
    summary="A proposal's assignments",
    tag="assignments",
    response=schemas.AssignmentList,
)
def proposal_assignments(call: Call, proposal_id: int) -> Reply:
    """Every assignment of the proposal, open and closed."""
    found = assignments.proposal_assignments(eva(), call.caller, proposal_id)
    return Reply(schemas.AssignmentList(items=found))


@api_route(
    "POST",
    "/assignments/<int(signed=True):assignment_id>/reassign",
    summary="Reassign an assignment",
    tag="assignments",
    response=AssignmentView,
    body=schemas.ReassignBody,
    status=201,
    proposal_of=_assignment_proposal,
)
def reassign(call: Call, assignment_id: int) -> Reply:
    """Hand an open assignment to another user who can do it (the assignee, a secretary or an
    administrator may). If-Match takes the proposal's ETag."""
    body: schemas.ReassignBody = call.body
    view = assignments.reassign(
        eva(),
        call.caller,
        assignments.Reassign(
            assignment_id=assignment_id,
            assignee=body.assignee,
            reason=body.reason,
            expected_version=call.expected_version,
        ),
    )
    return Reply(view)


# the texts of the minutes ----------------------------------------------------------------------
@api_route(
    "GET",
    PROPOSAL + "/texts",
    summary="Read the proposal's texts",
    tag="proposals",
    response=ProposalTextsView,
    etag=True,
)
def get_texts(call: Call, proposal_id: int) -> Reply:
    """The presentation text (grounds, esittelyteksti), the decision proposal (päätösehdotus)
    and the decision as made (päätös), in Finnish and Swedish, and which of them the token's
    user may write in the proposal's state now. The ETag is the proposal's row version."""
    view = proposal_texts.texts(eva(), call.caller, proposal_id)
    return Reply(view, version=view.row_version)


@api_route(
    "PUT",
    PROPOSAL + "/texts",
    summary="Write the proposal's texts",
    tag="proposals",
    response=ProposalTextsView,
    body=schemas.TextsBody,
    etag=True,
    proposal_of=_proposal_id,
)
def put_texts(call: Call, proposal_id: int) -> Reply:
    """Write the texts sent (an empty ``content`` removes one; those not sent stay). The
    preparer writes the grounds and the decision proposal while the proposal is prepared, the
    committee secretary the decision once it is decided. Every change is in the history."""
    body: schemas.TextsBody = call.body
    view = proposal_texts.write_texts(
        eva(),
        call.caller,
        proposal_texts.WriteTexts(
            proposal_id=proposal_id, texts=body.texts, expected_version=call.expected_version
        ),
    )
    return Reply(view, version=view.row_version)
