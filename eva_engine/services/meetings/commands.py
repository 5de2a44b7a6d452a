"""Changes to a meeting's agenda: place a ready proposal on it, move an item up or down.

The rules are declared here once, for the form, the API and the command line alike: only the
body's secretary changes its agenda; an item moves one place at a time; the order is stored as
the items' agenda positions (1, 2, …), every changed position recorded in the history."""

from __future__ import annotations

from typing import Literal

from eva_engine.errors import N_, InvalidInput, NotFound, Problem, Text
from eva_engine.services.access import (
    SCHEDULE,
    actor_for,
    no_meeting,
    no_proposal,
    require,
    require_named_user,
)
from eva_engine.services.command import Command
from eva_engine.services.fields import Id
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import ProposalView


class PlaceOnAgenda(Command):
    """Put a proposal on the meeting's agenda as its last item (``ScheduleProposal``'s rules:
    the proposal of the meeting's body, not decided)."""

    meeting_id: Id
    proposal_id: Id


class MoveAgendaItem(Command):
    meeting_id: Id
    proposal_id: Id
    direction: Literal["up", "down"]


def place(eva: Eva, caller: Caller, cmd: PlaceOnAgenda) -> ProposalView:
    """The meeting is checked first (another organisation's is not found, whatever the
    proposal), then ``ScheduleProposal``'s rules, in one transaction."""
    with eva.uow() as uow:
        repos = uow.repos
        _, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "an agenda")
        meeting = repos.meeting(cmd.meeting_id)
        if meeting is None or not repos.holds_any_role(user.id, meeting.organisation_id):
            raise NotFound(no_meeting(cmd.meeting_id))
        require(repos, user, meeting.organisation_id, meeting.body_id, SCHEDULE)
        return proposal_commands.schedule_in(
            uow,
            caller,
            proposal_commands.ScheduleProposal(
                proposal_id=cmd.proposal_id, meeting_id=cmd.meeting_id
            ),
        )


def move(eva: Eva, caller: Caller, cmd: MoveAgendaItem) -> list[int]:
    """Move the item one place up or down; the agenda's proposal ids in their new order."""
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "an agenda")
        meeting = repos.meeting(cmd.meeting_id)
        if meeting is None or not repos.holds_any_role(user.id, meeting.organisation_id):
            raise NotFound(no_meeting(cmd.meeting_id))  # another organisation's: unknown
        uow.audit.role = require(repos, user, meeting.organisation_id, meeting.body_id, SCHEDULE)
        items = sorted(
            repos.lock_meeting_items(meeting.id),
            key=lambda p: (p.agenda_position is None, p.agenda_position or 0, p.id),
        )
        index = next((i for i, p in enumerate(items) if p.id == cmd.proposal_id), None)
        if index is None:
            raise NotFound(no_proposal(cmd.proposal_id))
        other = index - 1 if cmd.direction == "up" else index + 1
        if not 0 <= other < len(items):
            wrong = Text(
                N_("The item is first on the agenda already.")
                if cmd.direction == "up"
                else N_("The item is last on the agenda already.")
            )
            raise InvalidInput(wrong, [Problem.of("direction", wrong)])
        items[index], items[other] = items[other], items[index]
        for position, proposal in enumerate(items, start=1):
            if proposal.agenda_position != position:
                proposal.agenda_position = position
        uow.commit()
        return [p.id for p in items]
