"""Adding and removing a proposal's attachments (liitteet) and an assessment area's evidence.

The limits are declared once here, on the command, and every channel (the web form, the API,
``eva attachments add``) builds the same command: at most ``MAX_ATTACHMENT_BYTES`` per file,
one of ``ALLOWED_TYPES`` as read from the content, at most ``MAX_ATTACHMENTS`` per proposal,
and the configured virus scan passed. Who may add or remove, declared once
(``queries.change_refused``, which the pages read too): the proposal's editors
(``access.EDIT_ASSESSMENT``) while its state is editable. Every change is a row change of
``attachments``, so it is in the proposal's history. Removing marks the row removed and never
deletes the file: the store is content-addressed, so one file may be another attachment's (of
this or any proposal), and the history and backups name it."""

from __future__ import annotations

from pydantic import Field, field_validator

from eva_engine.db.audit import Annotation
from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, InvalidInput, Problem, Text
from eva_engine.models import Attachment, Proposal, User
from eva_engine.services.access import actor_for, load_proposal
from eva_engine.services.attachments import store
from eva_engine.services.attachments.queries import (
    AttachmentView,
    attachment_view,
    change_refused,
    load_attachment,
)
from eva_engine.services.command import Command
from eva_engine.services.fields import (
    Id,
    LegalGround,
    Name,
    QuestionId,
    ground_of_confidential,
    refusal,
)
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import Publicity

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # 20 MiB per file
MAX_ATTACHMENTS = 100  # live attachments per proposal
ALLOWED_TYPES = (
    store.PDF,
    store.PNG,
    store.JPEG,
    store.DOCX,
    store.XLSX,
    store.ODT,
    store.ODS,
    store.TEXT,
    store.CSV,
)
FILE_NAME_LENGTH = 255


class AddAttachment(Command):
    """One file attached to a proposal, or as evidence to one area of its assessment."""

    proposal_id: Id
    file_name: Name = Field(min_length=1, max_length=FILE_NAME_LENGTH)
    content: bytes = Field(max_length=MAX_ATTACHMENT_BYTES, repr=False)
    area: QuestionId | None = Field(
        default=None, description="The assessment area the file is evidence of"
    )
    publicity: Publicity = Publicity.PUBLIC
    confidentiality_ground: LegalGround | None = Field(default=None, validate_default=True)

    @field_validator("content")
    @classmethod
    def _not_empty(cls, value: bytes) -> bytes:
        if not value:
            raise refusal(Text(N_("The file is empty: choose the file to attach.")))
        return value

    @field_validator("file_name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        name = value.replace("\\", "/").rsplit("/", 1)[-1].strip()
        if not name or name in {".", ".."} or any(ord(c) < 32 for c in name):
            raise refusal(Text(N_("Give the file a name, without folders.")))
        return name

    _ground_for_confidential = ground_of_confidential(
        Text(
            N_(
                "An attachment that is not public needs its legal ground of "
                "confidentiality (salassapitoperuste): give it, e.g. JulkL 24 § 1 mom. "
                "25 k."
            )
        )
    )


class RemoveAttachment(Command):
    """One attachment (or an area's evidence file) removed from its proposal, on every channel
    (the page's confirmed button, ``DELETE /api/v1/attachments/{id}``, ``eva attachments
    remove``)."""

    attachment_id: Id


def _editable(repos: Repositories, proposal: Proposal, user: User | None) -> None:
    """Attachments change only while the proposal is being prepared, by its editors (the
    rule is ``queries.change_refused``'s, which the pages read too)."""
    refused = change_refused(repos, proposal, user)
    if refused is not None:
        raise refused


def _refuse(text: Text, field: str = "file") -> InvalidInput:
    return InvalidInput(Text(N_("The file was not attached.")), [Problem.of(field, text)])


def add_attachment(eva: Eva, caller: Caller, cmd: AddAttachment) -> AttachmentView:
    """Check the file (its type from its content, the scan), keep it and record it."""
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        proposal = load_proposal(repos, cmd.proposal_id, user, for_update=True)
        _editable(repos, proposal, user)
        media_type = store.sniff(cmd.content, cmd.file_name)
        if media_type not in ALLOWED_TYPES:
            raise _refuse(
                Text(
                    N_(
                        "This kind of file cannot be attached: attach PDF, PNG, JPEG, Word, "
                        "Excel, OpenDocument, CSV or plain text."
                    )
                )
            )
        if len(repos.attachments(proposal.id, MAX_ATTACHMENTS + 1)) >= MAX_ATTACHMENTS:
            raise _refuse(
                Text(
                    N_("A proposal has at most %(count)s attachments: remove one first."),
                    {"count": MAX_ATTACHMENTS},
                )
            )
        assessment_id = None
        if cmd.area is not None:
            assessment = repos.assessment(proposal.id, proposal.revision)
            if assessment is None:
                raise _refuse(
                    Text(N_("The proposal has no assessment yet to attach evidence to.")),
                    "area",
                )
            assessment_id = assessment.id
        store.scan(eva.attachment_scan, cmd.content)
        sha = store.put(eva.attachments_dir, cmd.content)
        attachment = Attachment(
            organisation_id=proposal.organisation_id,
            proposal_id=proposal.id,
            assessment_id=assessment_id,
            area=cmd.area,
            file_name=cmd.file_name,
            media_type=media_type,
            size=len(cmd.content),
            sha256=sha,
            publicity=cmd.publicity,
            confidentiality_ground=cmd.confidentiality_ground,
            uploaded_by_id=user.id if user else None,
        )
        repos.add(attachment)
        uow.session.flush()
        proposal.touch()
        uow.commit()
        return attachment_view(
            attachment,
            user.username if user else None,
            (user.full_name or user.username) if user else None,
        )


def remove_attachment(eva: Eva, caller: Caller, cmd: RemoveAttachment) -> AttachmentView:
    """Mark the attachment removed (its row, its file and the history keep it)."""
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        attachment, proposal = load_attachment(repos, cmd.attachment_id, user, for_update=True)
        _editable(repos, proposal, user)
        attachment.removed = True
        uow.audit.annotate(attachment, Annotation(action="attachment.remove"))
        uow.session.flush()
        proposal.touch()
        uow.commit()
        return attachment_view(attachment, None)
