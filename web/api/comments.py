"""The review comments of /api/v1 (docs/review.md): a proposal's comments, commenting, replying
and resolving. Registered on the same route table as every other operation, so the OpenAPI
document lists them."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from eva_engine.services.comments import commands, queries
from eva_engine.services.fields import LongText, QuestionId
from eva_engine.services.runtime import Caller
from eva_engine.vocabulary import CommentTarget
from web.api.framework import Call, Reply, api_route
from web.api.schemas import Body
from web.runtime import eva

PROPOSAL = "/proposals/<int(signed=True):proposal_id>"
COMMENT = "/comments/<int(signed=True):comment_id>"


class CommentBody(Body):
    """A reviewer's comment on a question, an impact area or the whole assessment."""

    command = commands.AddComment
    target_kind: CommentTarget = Field(
        default=CommentTarget.ASSESSMENT,
        description="question, area or assessment (the whole assessment)",
    )
    target_key: QuestionId | None = Field(
        default=None, description="The question's or the area's id (none for the assessment)"
    )
    text: LongText = Field(min_length=1, description="The comment")


class ReplyBody(Body):
    command = commands.ReplyToComment
    text: LongText = Field(min_length=1, description="The reply")


def _comment_proposal(caller: Caller, values: dict[str, Any]) -> int:
    return queries.comment_proposal(eva(), caller, int(values["comment_id"]))


@api_route(
    "GET",
    PROPOSAL + "/comments",
    summary="A proposal's review comments",
    tag="review",
    response=queries.ProposalComments,
)
def proposal_comments(call: Call, proposal_id: int) -> Reply:
    """The review comments grouped by what they are about (the whole assessment, an area, a
    question), with their replies, and how many are open. Open comments block no step."""
    return Reply(queries.proposal_comments(eva(), call.caller, proposal_id))


@api_route(
    "POST",
    PROPOSAL + "/comments",
    summary="Comment on the review",
    tag="review",
    response=queries.CommentView,
    body=CommentBody,
    status=201,
)
def add_comment(call: Call, proposal_id: int) -> Reply:
    """A reviewer of the proposal (secretary or expert over its body) comments; its preparer
    never can (four eyes)."""
    body: CommentBody = call.body
    cmd = commands.AddComment(proposal_id=proposal_id, **body.model_dump())
    return Reply(commands.add_comment(eva(), call.caller, cmd))


@api_route(
    "POST",
    COMMENT + "/replies",
    summary="Reply to a review comment",
    tag="review",
    response=queries.CommentView,
    body=ReplyBody,
    proposal_of=_comment_proposal,
    status=201,
)
def reply_to_comment(call: Call, comment_id: int) -> Reply:
    """The preparer or a reviewer answers the comment."""
    body: ReplyBody = call.body
    cmd = commands.ReplyToComment(comment_id=comment_id, text=body.text)
    return Reply(commands.reply(eva(), call.caller, cmd))


@api_route(
    "POST",
    COMMENT + "/resolve",
    summary="Resolve a review comment",
    tag="review",
    response=queries.CommentView,
    proposal_of=_comment_proposal,
)
def resolve_comment(call: Call, comment_id: int) -> Reply:
    """The preparer or a reviewer marks the comment resolved."""
    cmd = commands.ResolveComment(comment_id=comment_id)
    return Reply(commands.resolve(eva(), call.caller, cmd))
