"""A proposal's attachments as listed (with their publicity) and one attachment's file.
Reading follows the proposal's visibility; downloading a non-public attachment is a
disclosure that is logged (Tiedonhallintalaki 17 §)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, NotFound, PermissionDenied, Text, per_language
from eva_engine.localized import LocalizedText
from eva_engine.models import Attachment, Proposal, User
from eva_engine.services.access import (
    EDIT_ASSESSMENT,
    actor_for,
    load_proposal,
    log_disclosure,
    require,
)
from eva_engine.services.attachments import store
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import Publicity

LIST_LIMIT = 100  # as many as a proposal may hold (``commands.MAX_ATTACHMENTS``)


class AttachmentView(BaseModel):
    id: int
    proposal_id: int
    file_name: str
    media_type: str
    size: int
    sha256: str
    area: str | None
    publicity: Publicity
    confidentiality_ground: str | None
    uploaded_by: str | None
    # Their full name, for the people who read it (the JSON keeps ``uploaded_by``).
    uploaded_by_name: str | None = Field(default=None, exclude=True)
    uploaded_at: datetime
    removed: bool


class AttachmentsView(BaseModel):
    proposal_id: int
    row_version: int
    attachments: list[AttachmentView]
    can_add: bool = False  # the caller may add and remove attachments now


def change_refused(
    repos: Repositories, proposal: Proposal, user: User | None
) -> PermissionDenied | None:
    """The one rule of who may add and remove attachments, and when: the proposal's editors
    (``access.EDIT_ASSESSMENT``) while its state is editable. The refusal, or None where it
    is allowed: the commands raise it, the pages ask it whether to offer the forms."""
    try:
        require(repos, user, proposal.organisation_id, proposal.body_id, EDIT_ASSESSMENT)
    except PermissionDenied as refused:
        return refused
    bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
    state = bundle.workflow.state(proposal.state)
    if not state.editable:
        return PermissionDenied(
            Text(
                N_(
                    "Attachments can be changed only while the proposal is being prepared; "
                    "it is now in the state %(state)s."
                ),
                per_language("state", state.title.model_dump()),
            )
        )
    return None


def may_change(repos: Repositories, proposal: Proposal, user: User | None) -> bool:
    """Whether ``user`` may add and remove attachments now (``change_refused``)."""
    return change_refused(repos, proposal, user) is None


@dataclass(frozen=True)
class AttachmentFile:
    view: AttachmentView
    content: bytes


def attachment_view(
    attachment: Attachment, uploaded_by: str | None, uploaded_by_name: str | None = None
) -> AttachmentView:
    return AttachmentView(
        id=attachment.id,
        proposal_id=attachment.proposal_id,
        file_name=attachment.file_name,
        media_type=attachment.media_type,
        size=attachment.size,
        sha256=attachment.sha256,
        area=attachment.area,
        publicity=attachment.publicity,
        confidentiality_ground=attachment.confidentiality_ground,
        uploaded_by=uploaded_by,
        uploaded_by_name=uploaded_by_name or uploaded_by,
        uploaded_at=attachment.uploaded_at,
        removed=attachment.removed,
    )


def no_attachment(attachment_id: int) -> Text:
    return Text(
        N_("There is no attachment %(id)s that you may see. Check the number."),
        {"id": str(attachment_id)},
    )


def load_attachment(
    repos: Repositories, attachment_id: int, user: User | None, *, for_update: bool = False
) -> tuple[Attachment, Proposal]:
    """The attachment and its proposal, if the user may see the proposal (else not found)."""
    found = repos.attachment(attachment_id)
    if found is None or found.removed:
        raise NotFound(no_attachment(attachment_id))
    try:
        proposal = load_proposal(repos, found.proposal_id, user, for_update=for_update)
    except NotFound as exc:
        raise NotFound(no_attachment(attachment_id)) from exc
    return found, proposal


def listed(repos: Repositories, proposal_id: int) -> Sequence[Attachment]:
    """The proposal's attachments as every listing shows them (its page, the API, the CLI, the
    summary): not the removed ones, oldest first, all of them, in one query."""
    return repos.attachments(proposal_id, LIST_LIMIT)


def attachments_view(
    repos: Repositories, proposal: Proposal, user: User | None = None
) -> AttachmentsView:
    rows = listed(repos, proposal.id)
    uploaders = repos.users_by_id({a.uploaded_by_id for a in rows if a.uploaded_by_id})
    return AttachmentsView(
        proposal_id=proposal.id,
        row_version=proposal.row_version,
        attachments=[
            attachment_view(a, *_uploader(uploaders.get(a.uploaded_by_id or 0))) for a in rows
        ],
        can_add=may_change(repos, proposal, user),
    )


def _uploader(user: User | None) -> tuple[str | None, str | None]:
    """Who uploaded: their username and their full name (none if unknown)."""
    return (user.username, user.full_name or user.username) if user else (None, None)


def attachments(eva: Eva, caller: Caller, proposal_id: int) -> AttachmentsView:
    """The proposal's attachments (names, types, sizes, publicity); a read, nothing logged
    but what reading the proposal logs elsewhere."""
    with eva.reading() as uow:
        uow.audit.actor, user = actor_for(uow.repos, caller)
        proposal = load_proposal(uow.repos, proposal_id, user)
        return attachments_view(uow.repos, proposal, user)


class RemovalView(BaseModel):
    """What the confirmation of a removal shows: the attachment, the proposal it leaves and,
    for evidence, the title of its impact area."""

    attachment: AttachmentView
    case_number: str
    title_fi: str
    title_sv: str | None
    area_title: LocalizedText | None


def removal(eva: Eva, caller: Caller, attachment_id: int) -> RemovalView:
    """The attachment about to be removed, refused as the removal would be (another
    organisation's is not found; a caller who may not remove it, or a proposal no longer being
    prepared, is forbidden). A read: nothing is logged, as for the listing."""
    with eva.reading() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        attachment, proposal = load_attachment(repos, attachment_id, user)
        refused = change_refused(repos, proposal, user)
        if refused is not None:
            raise refused
        area_title = None
        if attachment.area is not None:
            bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
            area_title = next(
                (
                    area.title
                    for checklist in bundle.checklists
                    for area in checklist.areas
                    if area.id == attachment.area
                ),
                None,
            )
        return RemovalView(
            attachment=attachment_view(attachment, None),
            case_number=proposal.case_number,
            title_fi=proposal.title_fi,
            title_sv=proposal.title_sv,
            area_title=area_title,
        )


def download(eva: Eva, caller: Caller, attachment_id: int) -> AttachmentFile:
    """The attachment's file; a non-public one's download is recorded in the history."""
    with eva.reading() as uow:
        uow.audit.actor, user = actor_for(uow.repos, caller)
        attachment, _ = load_attachment(uow.repos, attachment_id, user)
        content = store.get(eva.attachments_dir, attachment.sha256)
        if content is None:
            raise NotFound(
                Text(
                    N_(
                        "The file of attachment %(id)s is missing from the store: ask your "
                        "administrator to restore it from a backup."
                    ),
                    {"id": str(attachment_id)},
                )
            )
        view = attachment_view(attachment, None)
        disclosed = {"file_name": attachment.file_name, "sha256": attachment.sha256}
        if log_disclosure(uow.audit, attachment, "attachment.download", disclosed):
            uow.commit()
        return AttachmentFile(view, content)
