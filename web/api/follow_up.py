"""The follow-up operations of /api/v1: a proposal's follow-ups, the token user's open ones,
recording a result and waiving a follow-up (docs/follow-up.md). Registered on the same route
table as every other operation, so the OpenAPI document lists them."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from eva_engine.services.fields import LongText, Reason, ResultValue, Source, TypedDate
from eva_engine.services.follow_up import commands, queries
from eva_engine.services.runtime import Caller
from eva_engine.vocabulary import FollowUpOutcome, FollowUpSource
from web.api.framework import Call, Reply, api_route
from web.api.schemas import Body
from web.runtime import eva

PROPOSAL = "/proposals/<int(signed=True):proposal_id>"
FOLLOW_UP = "/follow-ups/<int(signed=True):follow_up_id>"


class ResultBody(Body):
    """A follow-up's result: the value, when it was measured, where it comes from, a note and
    how the impact went compared with the prediction."""

    command = commands.RecordResult
    value: ResultValue = Field(min_length=1, description='As measured, e.g. "23,4 %"')
    measured_on: TypedDate = Field(description="When it was measured or published, e.g. 13.6.2023")
    source_kind: FollowUpSource
    source_reference: Source | None = Field(
        default=None, description="e.g. the Sotkanet indicator id 289, or the report's name"
    )
    note: LongText | None = None
    outcome: FollowUpOutcome = Field(description="How the impact went compared with the forecast")


class WaiveBody(Body):
    command = commands.WaiveFollowUp
    reason: Reason = Field(min_length=1, description="Why the follow-up is not done")


def _follow_up_proposal(caller: Caller, values: dict[str, Any]) -> int:
    return queries.follow_up_proposal(eva(), caller, int(values["follow_up_id"]))


@api_route(
    "GET",
    PROPOSAL + "/follow-ups",
    summary="A proposal's follow-ups",
    tag="follow-up",
    response=queries.ProposalFollowUps,
    etag=True,
)
def proposal_follow_ups(call: Call, proposal_id: int) -> Reply:
    """One follow-up per follow-up indicator of the decided proposal: who measures it by when,
    its result and how the impact went, or why it was waived. The ETag is the proposal's."""
    view = queries.proposal_follow_ups(eva(), call.caller, proposal_id)
    return Reply(view, version=view.row_version)


@api_route(
    "GET",
    "/follow-ups/mine",
    summary="My open follow-ups",
    tag="follow-up",
    response=queries.FollowUpWork,
)
def my_follow_ups(call: Call) -> Reply:
    """The open follow-ups the token's user is responsible for, overdue first."""
    return Reply(queries.my_follow_ups(eva(), call.caller))


@api_route(
    "POST",
    FOLLOW_UP + "/result",
    summary="Record a follow-up result",
    tag="follow-up",
    response=queries.FollowUpView,
    body=ResultBody,
    proposal_of=_follow_up_proposal,
)
def record_follow_up(call: Call, follow_up_id: int) -> Reply:
    """Record (or correct) the result. ``cannot_tell_yet`` keeps the follow-up open; any other
    outcome makes it done. The person responsible, the proposal's preparer or presenter, or an
    administrator may. If-Match takes the proposal's ETag."""
    body: ResultBody = call.body
    cmd = commands.RecordResult(
        follow_up_id=follow_up_id,
        **body.model_dump(),
        expected_version=call.expected_version,
    )
    return Reply(commands.record_result(eva(), call.caller, cmd))


@api_route(
    "POST",
    FOLLOW_UP + "/waive",
    summary="Waive a follow-up",
    tag="follow-up",
    response=queries.FollowUpView,
    body=WaiveBody,
    proposal_of=_follow_up_proposal,
)
def waive_follow_up(call: Call, follow_up_id: int) -> Reply:
    """The follow-up will not be measured; the reason is required and kept in the history."""
    body: WaiveBody = call.body
    cmd = commands.WaiveFollowUp(
        follow_up_id=follow_up_id, reason=body.reason, expected_version=call.expected_version
    )
    return Reply(commands.waive(eva(), call.caller, cmd))
