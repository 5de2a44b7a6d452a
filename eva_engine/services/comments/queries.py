"""A proposal's review comments grouped by what they are about, and the open ones on the
proposals a person prepares (for My work)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, NotFound, Text
from eva_engine.localized import LocalizedText
from eva_engine.models import Proposal, ReviewComment, ReviewCommentReply, User
from eva_engine.services import paging
from eva_engine.services.access import (
    REVIEW_COMMENT,
    actor_for,
    load_proposal,
    log_disclosure,
    require_named_user,
)
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import CommentStatus, CommentTarget


class ReplyView(BaseModel):
    id: int
    text: str
    author: str  # the person's name
    author_username: str
    created_at: datetime


class CommentView(BaseModel):
    id: int
    proposal_id: int
    target_kind: CommentTarget
    target_key: str | None  # the question's or the area's id; None for the whole assessment
    target_title: LocalizedText | None  # the question's text or the area's title
    area_id: str | None  # the area the comment belongs to (a question's own area)
    text: str
    author: str
    author_username: str
    created_at: datetime
    status: CommentStatus
    resolved_by: str | None
    resolved_at: datetime | None
    replies: list[ReplyView]


class CommentGroup(BaseModel):
    """The comments about one target, oldest first."""

    target_kind: CommentTarget
    target_key: str | None
    target_title: LocalizedText | None
    area_id: str | None
    comments: list[CommentView]


class ProposalComments(BaseModel):
    proposal_id: int
    case_number: str
    title_fi: str
    title_sv: str | None
    row_version: int
    open: int
    total: int
    groups: list[CommentGroup]  # the whole assessment first, then areas and questions in order
    can_comment: bool  # a reviewer of the proposal who is not its preparer
    can_answer: bool  # the preparer or a reviewer: reply and resolve

    def about(self, kind: str, key: str | None = None) -> list[CommentView]:
        """The comments about one target (for the page that shows that target)."""
        return next(
            (g.comments for g in self.groups if g.target_kind == kind and g.target_key == key),
            [],
        )


class OpenCommentItem(BaseModel):
    """An open comment on a proposal the person prepares: for My work."""

    comment_id: int
    proposal_id: int
    case_number: str
    title_fi: str
    title_sv: str | None
    target_kind: CommentTarget
    target_title: LocalizedText | None
    area_id: str | None
    text: str
    author: str
    created_at: datetime


class OpenComments(BaseModel):
    items: list[OpenCommentItem]
    total: int


class Targets:
    """The questions and areas of a proposal's checklists, by id, in the checklists' order."""

    def __init__(self, repos: Repositories, proposal: Proposal) -> None:
        bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
        self.final = bundle.workflow.state(proposal.state).final  # closed: no more comments
        self.areas: dict[str, LocalizedText] = {}
        self.questions: dict[str, LocalizedText] = {}
        self.question_areas: dict[str, str] = {}
        self.order: dict[tuple[CommentTarget, str | None], int] = {
            (CommentTarget.ASSESSMENT, None): 0
        }
        for checklist in bundle.checklists:
            for area, _, question in checklist.questions():
                if area.id not in self.areas:
                    self.areas[area.id] = area.title
                    self.order[(CommentTarget.AREA, area.id)] = len(self.order)
                self.questions[question.id] = question.text
                self.question_areas[question.id] = area.id
                self.order[(CommentTarget.QUESTION, question.id)] = len(self.order)

    def title(self, kind: CommentTarget, key: str | None) -> LocalizedText | None:
        if kind == CommentTarget.AREA and key:
            return self.areas.get(key)
        if kind == CommentTarget.QUESTION and key:
            return self.questions.get(key)
        return None

    def area_of(self, kind: CommentTarget, key: str | None) -> str | None:
        if kind == CommentTarget.AREA:
            return key
        if kind == CommentTarget.QUESTION and key:
            return self.question_areas.get(key)
        return None


def _name(user: User | None) -> str:
    return (user.full_name or user.username) if user else ""


def comment_view(
    comment: ReviewComment,
    replies: list[ReviewCommentReply],
    people: dict[int, User],
    targets: Targets,
) -> CommentView:
    return CommentView(
        id=comment.id,
        proposal_id=comment.proposal_id,
        target_kind=comment.target_kind,
        target_key=comment.target_key,
        target_title=targets.title(comment.target_kind, comment.target_key),
        area_id=targets.area_of(comment.target_kind, comment.target_key),
        text=comment.text,
        author=_name(people.get(comment.author_id)),
        author_username=_username(people, comment.author_id),
        created_at=comment.created_at,
        status=comment.status,
        resolved_by=_name(people.get(comment.resolved_by_id)) if comment.resolved_by_id else None,
        resolved_at=comment.resolved_at,
        replies=[
            ReplyView(
                id=r.id,
                text=r.text,
                author=_name(people.get(r.author_id)),
                author_username=_username(people, r.author_id),
                created_at=r.created_at,
            )
            for r in replies
        ],
    )


def _username(people: dict[int, User], user_id: int) -> str:
    user = people.get(user_id)
    return user.username if user else ""


def is_reviewer(repos: Repositories, user: User | None, proposal: Proposal) -> bool:
    """A reviewer of the proposal: the review role over its body, and not its preparer (four
    eyes). The shell operator is not one (a comment is always a named person's)."""
    if user is None or user.id == proposal.preparer_id:
        return False
    held = repos.roles_for(user.id, proposal.organisation_id, proposal.body_id)
    return REVIEW_COMMENT.allowed(held) is not None


def may_answer(repos: Repositories, user: User | None, proposal: Proposal) -> bool:
    """Who replies and resolves: the proposal's preparer or one of its reviewers."""
    if user is None:
        return False
    return user.id == proposal.preparer_id or is_reviewer(repos, user, proposal)


def build(repos: Repositories, user: User | None, proposal: Proposal) -> ProposalComments:
    """The proposal's comments grouped by target: a fixed number of statements (the comments,
    their replies, the people named)."""
    targets = Targets(repos, proposal)
    comments = repos.comments.of_proposal(proposal.id)
    replies = repos.comments.replies([c.id for c in comments])
    ids: set[int] = set()
    for c in comments:
        ids.add(c.author_id)
        if c.resolved_by_id:
            ids.add(c.resolved_by_id)
        ids.update(r.author_id for r in replies[c.id])
    people = repos.users_by_id(ids)
    views = [comment_view(c, replies[c.id], people, targets) for c in comments]
    groups: dict[tuple[CommentTarget, str | None], CommentGroup] = {}
    for view in views:
        key = (view.target_kind, view.target_key)
        if key not in groups:
            groups[key] = CommentGroup(
                target_kind=view.target_kind,
                target_key=view.target_key,
                target_title=view.target_title,
                area_id=view.area_id,
                comments=[],
            )
        groups[key].comments.append(view)
    ordered = sorted(groups.items(), key=lambda kv: targets.order.get(kv[0], len(targets.order)))
    closed = targets.final
    return ProposalComments(
        proposal_id=proposal.id,
        case_number=proposal.case_number,
        title_fi=proposal.title_fi,
        title_sv=proposal.title_sv,
        row_version=proposal.row_version,
        open=sum(v.status == CommentStatus.OPEN for v in views),
        total=len(views),
        groups=[g for _, g in ordered],
        can_comment=not closed and is_reviewer(repos, user, proposal),
        can_answer=not closed and may_answer(repos, user, proposal),
    )


def proposal_comments(
    eva: Eva, caller: Caller, proposal_id: int, *, log: bool = True
) -> ProposalComments:
    """The review comments of a proposal. Anyone who may see the proposal reads them (another
    organisation's proposal is not found); reading a non-public proposal's comments is
    recorded as a disclosure (``log=False``: by the page that shows them, which records its own
    reading)."""
    with eva.reading() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        proposal = load_proposal(repos, proposal_id, user)
        result = build(repos, user, proposal)
        if log and log_disclosure(uow.audit, proposal, "proposal.read"):
            uow.commit()
        return result


def my_open_comments(eva: Eva, caller: Caller) -> OpenComments:
    """The first page (``paging.PAGE_SIZE``) of the open comments on the proposals the caller
    prepares, the oldest first, and how many there are: a fixed number of statements."""
    with eva.reading() as uow:
        repos = uow.repos
        _, maybe_user = actor_for(repos, caller)
        user = require_named_user(maybe_user, "my open comments")
        rows, total = repos.comments.open_for_preparer(user.id, paging.PAGE_SIZE)
        people = repos.users_by_id({c.author_id for c, _ in rows})
        targets: dict[tuple[str, int], Targets] = {}
        items = []
        for comment, proposal in rows:
            key = (proposal.workflow_name, proposal.workflow_version)
            if key not in targets:
                targets[key] = Targets(repos, proposal)
            found = targets[key]
            items.append(
                OpenCommentItem(
                    comment_id=comment.id,
                    proposal_id=proposal.id,
                    case_number=proposal.case_number,
                    title_fi=proposal.title_fi,
                    title_sv=proposal.title_sv,
                    target_kind=comment.target_kind,
                    target_title=found.title(comment.target_kind, comment.target_key),
                    area_id=found.area_of(comment.target_kind, comment.target_key),
                    text=comment.text,
                    author=_name(people.get(comment.author_id)),
                    created_at=comment.created_at,
                )
            )
        return OpenComments(items=items, total=total)


def no_comment(comment_id: int) -> Text:
    return Text(N_("There is no review comment %(id)s that you may see."), {"id": comment_id})


def comment_proposal(eva: Eva, caller: Caller, comment_id: int) -> int:
    """The id of the comment's proposal, if the caller may read it (else not found)."""
    with eva.reading() as uow:
        _, user = actor_for(uow.repos, caller)
        found = uow.repos.comments.comment(comment_id)
        if found is None:
            raise NotFound(no_comment(comment_id))
        try:
            return load_proposal(uow.repos, found.proposal_id, user).id
        except NotFound:
            raise NotFound(no_comment(comment_id)) from None
