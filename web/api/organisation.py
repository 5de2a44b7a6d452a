"""An organisation's bodies and meetings through /api/v1: creating a body (the organisation's
administrator), creating and reading a meeting (its administrator or the body's secretary),
listing the proposals ready for a meeting's agenda, adding a proposal to it, moving an item up
or down and taking one off. Each calls the service command or query the web UI and the command
line call (services/people/organisations, meetings/agendas, meetings/commands,
proposals/commands)."""

from __future__ import annotations

from functools import partial
from typing import Any, Literal, TypeVar

from flask import url_for
from pydantic import BaseModel, Field

from eva_engine.services.fields import (
    BODY_CODE_PATTERN,
    AgendaPosition,
    Code,
    Id,
    Name,
    SectionNumber,
    TypedDateTime,
)
from eva_engine.services.meetings import agendas
from eva_engine.services.meetings import commands as agenda_commands
from eva_engine.services.people import organisations
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.runtime import Caller
from eva_engine.services.views import ProposalView
from eva_engine.vocabulary import BodyKind
from web.api.framework import Call, Reply, api_route
from web.api.schemas import Body
from web.runtime import eva

C = TypeVar("C", bound=BaseModel)
ORGANISATION = "/organisations/<organisation>"
MEETING = "/meetings/<int(signed=True):meeting_id>"


class BodyIn(Body):
    """A new body (toimielin) of the organisation."""

    command = organisations.CreateBody
    code: Code = Field(pattern=BODY_CODE_PATTERN, description="e.g. HYVLTK")
    name_fi: Name = Field(min_length=1)
    name_sv: Name | None = None
    kind: BodyKind = BodyKind.COMMITTEE


class MeetingIn(Body):
    """A new meeting of one of the organisation's bodies."""

    command = organisations.CreateMeeting
    body: Code = Field(min_length=1, description="The body's code, e.g. KH")
    starts_at: TypedDateTime = Field(description="With its UTC offset, e.g. 2026-06-13T17:00+03:00")
    location: Name | None = None


class AgendaItemIn(Body):
    """A proposal of the meeting's body put on its agenda."""

    command = proposal_commands.ScheduleProposal
    proposal_id: Id
    agenda_position: AgendaPosition | None = None
    section_number: SectionNumber | None = Field(default=None, description="§")


class CandidateQuery(Body):
    """The agenda picker's filter and page, as on the meeting's page."""

    q: str = Field(
        default="",
        max_length=agendas.CANDIDATE_TEXT_LENGTH,
        description="A case number or words of a Finnish title",
    )
    cursor: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]{1,200}$",
        description="next_cursor of the previous page",
    )


class MoveIn(Body):
    """One place up or down on the agenda."""

    command = agenda_commands.MoveAgendaItem
    direction: Literal["up", "down"]


class AgendaOrder(BaseModel):
    """The agenda's proposal ids in their new order."""

    meeting_id: int
    proposal_ids: list[int]


def _item_proposal(_caller: Caller, values: dict[str, Any]) -> int:
    return int(values["proposal_id"])


def _command(call: Call, command: type[C], **path: Any) -> C:
    """The service command of a route: the values of its path and the fields of its body."""
    body: Body = call.body
    return command(**path, **body.model_dump())


def _agenda_reply(view: ProposalView) -> Reply:
    """The proposal as the agenda change left it, with its ETag."""
    return Reply(view, version=view.row_version)


organisation_route = partial(api_route, tag="organisations")


@organisation_route(
    "POST",
    ORGANISATION + "/bodies",
    summary="Create a body",
    response=organisations.BodyView,
    status=201,
    body=BodyIn,
)
def create_body(call: Call, organisation: str) -> Reply:
    """A council, board, committee or office holder of the organisation (its administrator)."""
    cmd = _command(call, organisations.CreateBody, organisation=organisation)
    return Reply(organisations.create_body(eva(), call.caller, cmd), status=201)


@organisation_route(
    "POST",
    ORGANISATION + "/meetings",
    summary="Create a meeting",
    response=organisations.MeetingView,
    status=201,
    body=MeetingIn,
)
def create_meeting(call: Call, organisation: str) -> Reply:
    """A meeting of one of the organisation's bodies (its administrator or the body's
    secretary)."""
    cmd = _command(call, organisations.CreateMeeting, organisation=organisation)
    view = organisations.create_meeting(eva(), call.caller, cmd)
    return Reply(view, status=201, location=url_for("api.get_meeting", meeting_id=view.id))


@organisation_route("GET", MEETING, summary="Read a meeting", response=agendas.MeetingSummary)
def get_meeting(call: Call, meeting_id: int) -> Reply:
    """The meeting: its body, time, and how many agenda items it has and how many of them are
    still incomplete (the agenda itself: ``/meetings/{meeting_id}/agenda``)."""
    return Reply(agendas.agenda(eva(), call.caller, meeting_id).meeting)


@organisation_route(
    "GET",
    MEETING + "/candidates",
    summary="Proposals ready for the agenda",
    response=agendas.CandidatePage,
    query=CandidateQuery,
)
def list_candidates(call: Call, meeting_id: int) -> Reply:
    """One page of the proposals of the meeting's body that a secretary may place on its agenda
    (prepared or signed off, on no agenda), by case number; ``q`` filters by case number or
    Finnish title, ``cursor`` takes the ``next_cursor`` of the previous page."""
    query: CandidateQuery = call.query
    return Reply(
        agendas.candidates(eva(), call.caller, meeting_id, text=query.q, after=query.cursor)
    )


@organisation_route(
    "POST",
    MEETING + "/agenda",
    summary="Add a proposal to the agenda",
    response=ProposalView,
    body=AgendaItemIn,
    etag=True,
)
def add_agenda_item(call: Call, meeting_id: int) -> Reply:
    """Put a proposal of the meeting's body on this meeting's agenda (a secretary), as
    ``PUT /proposals/{proposal_id}/meeting`` does."""
    cmd = _command(call, proposal_commands.ScheduleProposal, meeting_id=meeting_id)
    return _agenda_reply(proposal_commands.schedule(eva(), call.caller, cmd))


@organisation_route(
    "DELETE",
    MEETING + "/agenda/<int(signed=True):proposal_id>",
    summary="Take a proposal off the agenda",
    response=ProposalView,
    etag=True,
    proposal_of=_item_proposal,
)
def remove_agenda_item(call: Call, meeting_id: int, proposal_id: int) -> Reply:
    """Take the proposal off this meeting's agenda (a secretary); a decided or closed one stays.
    If-Match takes the proposal's ETag."""
    cmd = proposal_commands.UnscheduleProposal(
        proposal_id=proposal_id, meeting_id=meeting_id, expected_version=call.expected_version
    )
    return _agenda_reply(proposal_commands.unschedule(eva(), call.caller, cmd))


@organisation_route(
    "POST",
    MEETING + "/agenda/<int(signed=True):proposal_id>/move",
    summary="Move an agenda item up or down",
    response=AgendaOrder,
    body=MoveIn,
)
def move_agenda_item(call: Call, meeting_id: int, proposal_id: int) -> Reply:
    """Move the item one place up or down on this meeting's agenda (a secretary), as the
    meeting's page and ``eva meetings move`` do; the agenda's proposal ids in their new order."""
    cmd = _command(
        call, agenda_commands.MoveAgendaItem, meeting_id=meeting_id, proposal_id=proposal_id
    )
    order = agenda_commands.move(eva(), call.caller, cmd)
    return Reply(AgendaOrder(meeting_id=meeting_id, proposal_ids=order))
