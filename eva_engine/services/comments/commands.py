"""Commenting on a proposal's review, replying to a comment and resolving it.

Who may: a reviewer of the proposal (the secretary or the wellbeing coordinator, the review
roles over its body) comments, but never on a proposal they prepare themselves (four eyes);
the preparer and the reviewers reply and resolve. A comment is always a named person's (the
shell operator gives ``--as``). Another organisation's proposal or comment is not found (404);
one's own without that standing is forbidden (403). Once the proposal is closed its comments no
longer change. Comments block no workflow step: returning the proposal for revision is the
workflow's own step. Every write locks the proposal first and is in its audit history; the
proposal's version is not bumped (a comment does not change the assessment being edited)."""

from __future__ import annotations

from pydantic import Field, model_validator

from eva_engine.db.audit import Annotation
from eva_engine.db.repositories import Repositories
from eva_engine.db.unit_of_work import UnitOfWork
from eva_engine.errors import N_, InvalidInput, NotFound, PermissionDenied, Problem, Text
from eva_engine.models import Proposal, ReviewComment, ReviewCommentReply, User, utcnow
from eva_engine.services.access import (
    REVIEW_COMMENT,
    actor_for,
    load_proposal,
    require_named_user,
)
from eva_engine.services.command import Command
from eva_engine.services.comments.queries import (
    CommentView,
    Targets,
    comment_view,
    is_reviewer,
    may_answer,
    no_comment,
)
from eva_engine.services.fields import Id, LongText, QuestionId
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import CommentStatus, CommentTarget, Role

WHERE = Text(N_("Review comment"))


class AddComment(Command):
    """A reviewer's comment on one question, one impact area or the whole assessment."""

    proposal_id: Id
    target_kind: CommentTarget = Field(
        default=CommentTarget.ASSESSMENT,
        description="question, area or assessment (the whole assessment)",
    )
    target_key: QuestionId | None = Field(
        default=None, description="The question's or the area's id (none for the assessment)"
    )
    text: LongText = Field(min_length=1, description="The comment")

    @model_validator(mode="after")
    def _target(self) -> AddComment:
        if self.target_kind == CommentTarget.ASSESSMENT:
            self.target_key = None
        return self


class ReplyToComment(Command):
    comment_id: Id
    text: LongText = Field(min_length=1, description="The reply")


class ResolveComment(Command):
    comment_id: Id


def _refused(field: str, text: Text) -> InvalidInput:
    return InvalidInput(text, [Problem.of(field, text, WHERE)])


def _not_closed(targets: Targets) -> None:
    if targets.final:
        raise _refused(
            "proposal_id",
            Text(N_("The proposal has been closed: its review comments can no longer change.")),
        )


def add_comment(eva: Eva, caller: Caller, cmd: AddComment) -> CommentView:
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "comment on the review")
        proposal = load_proposal(repos, cmd.proposal_id, user, for_update=True)
        if user.id == proposal.preparer_id:
            raise PermissionDenied(
                Text(
                    N_(
                        "You prepare this proposal: its review comments are written by "
                        "someone else (four eyes). Answer the comments instead."
                    )
                )
            )
        if not is_reviewer(repos, user, proposal):
            raise PermissionDenied(
                Text(N_("Only a reviewer of the proposal (secretary or expert) can comment."))
            )
        targets = Targets(repos, proposal)
        _not_closed(targets)
        key = (cmd.target_key or "").strip() or None
        if cmd.target_kind != CommentTarget.ASSESSMENT:
            known = (
                targets.questions if cmd.target_kind == CommentTarget.QUESTION else targets.areas
            )
            if key is None or key not in known:
                raise _refused(
                    "target_key",
                    Text(
                        N_("There is no such question or impact area in this assessment."),
                    ),
                )
        uow.audit.role = _role(repos, user, proposal)
        comment = ReviewComment(
            organisation_id=proposal.organisation_id,
            proposal_id=proposal.id,
            target_kind=cmd.target_kind,
            target_key=key,
            text=cmd.text,
            author_id=user.id,
            status=CommentStatus.OPEN,
        )
        uow.session.add(comment)
        return _commit(uow, comment, targets)


def _open(uow: UnitOfWork, caller: Caller, comment_id: int) -> tuple[User, Proposal, ReviewComment]:
    """The comment to answer, after its proposal is locked (the lock order of every write)."""
    repos = uow.repos
    uow.audit.actor, maybe_user = actor_for(repos, caller)
    user = require_named_user(maybe_user, "answer a review comment")
    found = repos.comments.comment(comment_id)  # only to find its proposal
    if found is None:
        raise NotFound(no_comment(comment_id))
    try:
        proposal = load_proposal(repos, found.proposal_id, user, for_update=True)
    except NotFound:
        raise NotFound(no_comment(comment_id)) from None
    uow.session.refresh(found)  # read again, after the lock
    if not may_answer(repos, user, proposal):
        raise PermissionDenied(
            Text(N_("Only the proposal's preparer or a reviewer can answer its comments."))
        )
    uow.audit.role = _role(repos, user, proposal)
    return user, proposal, found


def _role(repos: Repositories, user: User, proposal: Proposal) -> str | None:
    if user.id == proposal.preparer_id:
        return Role.PREPARER.value
    held = repos.roles_for(user.id, proposal.organisation_id, proposal.body_id)
    role = REVIEW_COMMENT.allowed(held)
    return role.value if role else None


def reply(eva: Eva, caller: Caller, cmd: ReplyToComment) -> CommentView:
    with eva.uow() as uow:
        user, proposal, comment = _open(uow, caller, cmd.comment_id)
        targets = Targets(uow.repos, proposal)
        _not_closed(targets)
        uow.session.add(
            ReviewCommentReply(
                organisation_id=proposal.organisation_id,
                proposal_id=proposal.id,
                comment_id=comment.id,
                text=cmd.text,
                author_id=user.id,
            )
        )
        return _commit(uow, comment, targets)


def resolve(eva: Eva, caller: Caller, cmd: ResolveComment) -> CommentView:
    with eva.uow() as uow:
        user, proposal, comment = _open(uow, caller, cmd.comment_id)
        targets = Targets(uow.repos, proposal)
        _not_closed(targets)
        if comment.status == CommentStatus.RESOLVED:
            raise _refused("comment_id", Text(N_("The comment has already been resolved.")))
        uow.audit.annotate(comment, Annotation(action="review_comment.resolve"))
        comment.status = CommentStatus.RESOLVED
        comment.resolved_by_id = user.id
        comment.resolved_at = utcnow()
        return _commit(uow, comment, targets)


def _commit(uow: UnitOfWork, comment: ReviewComment, targets: Targets) -> CommentView:
    uow.session.flush()
    uow.commit()
    repos = uow.repos
    replies = repos.comments.replies([comment.id])[comment.id]
    ids = {comment.author_id, *(r.author_id for r in replies)}
    if comment.resolved_by_id:
        ids.add(comment.resolved_by_id)
    return comment_view(comment, replies, repos.users_by_id(ids), targets)
