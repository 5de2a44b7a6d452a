"""The attachments of /api/v1: upload (multipart/form-data), list, download and remove a
proposal's attachments (liitteet) and an assessment area's evidence. The limits are the
service command's (``services.attachments.commands``), as for the web form and the CLI."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import request

from eva_engine.errors import N_, InvalidInput, Problem, Text
from eva_engine.services.attachments import commands, queries
from eva_engine.services.runtime import Caller
from web.api.framework import Call, Reply, api_route
from web.runtime import eva

PROPOSAL = "/proposals/<int(signed=True):proposal_id>"
ATTACHMENT = "/attachments/<int(signed=True):attachment_id>"
FORM_SLACK = 64 * 1024  # the multipart envelope and the form's other fields
NO_FILE = Text(N_("Send the file in the form field named file."))

UPLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": f"At most {commands.MAX_ATTACHMENT_BYTES} bytes; "
            + ", ".join(commands.ALLOWED_TYPES),
        },
        "publicity": {"type": "string", "enum": ["public", "partly_confidential", "confidential"]},
        "confidentiality_ground": {"type": "string"},
        "area": {"type": "string", "description": "The assessment area it is evidence of"},
    },
}


def _proposal_id(_caller: Caller, values: dict[str, Any]) -> int:
    return int(values["proposal_id"])


def upload_limit() -> int:
    """The largest request an upload may be (the file and its form)."""
    return commands.MAX_ATTACHMENT_BYTES + FORM_SLACK


UPLOAD_ENDPOINTS = frozenset({"api.upload_attachment", "proposals.upload_attachment"})


def allow_uploads() -> None:
    """Before anything reads the form (the CSRF check included): an upload may be as large
    as an attachment, more than the app's limit of every other request."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = upload_limit()


def content_disposition(file_name: str) -> str:
    """``attachment`` with the name in ASCII and in UTF-8 (RFC 6266)."""
    ascii_name = file_name.encode("ascii", "replace").decode("ascii").replace('"', "_")
    ascii_name = ascii_name.replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name)}"


@api_route(
    "POST",
    PROPOSAL + "/attachments",
    summary="Attach a file to a proposal",
    tag="attachments",
    response=queries.AttachmentView,
    status=201,
    upload=UPLOAD_SCHEMA,
    proposal_of=_proposal_id,
)
def upload_attachment(call: Call, proposal_id: int) -> Reply:
    """Upload one file as multipart/form-data (field ``file``), with its publicity and, if not
    public, its legal ground; ``area`` makes it evidence of that assessment area. The type is
    read from the content; the virus scan, if configured, runs before it is accepted."""
    request.max_content_length = upload_limit()
    sent = request.files.get("file")
    if sent is None:
        queries.attachments(eva(), call.caller, proposal_id)  # another's: not found first
        raise InvalidInput(NO_FILE, [Problem.of("file", NO_FILE)])
    form = request.form
    values: dict[str, Any] = {
        "proposal_id": proposal_id,
        "file_name": sent.filename or "",
        "content": sent.read(commands.MAX_ATTACHMENT_BYTES + 1),
    }
    for name in ("publicity", "confidentiality_ground", "area"):
        if form.get(name):
            values[name] = form[name]
    view = commands.add_attachment(eva(), call.caller, commands.AddAttachment(**values))
    return Reply(view, status=201, location=f"/api/v1/attachments/{view.id}")


@api_route(
    "GET",
    PROPOSAL + "/attachments",
    summary="A proposal's attachments",
    tag="attachments",
    response=queries.AttachmentsView,
    etag=True,
)
def list_attachments(call: Call, proposal_id: int) -> Reply:
    """The attachments with their names, types, sizes and publicity. The ETag is the
    proposal's."""
    view = queries.attachments(eva(), call.caller, proposal_id)
    return Reply(view, version=view.row_version)


@api_route(
    "GET",
    ATTACHMENT,
    summary="Download an attachment",
    tag="attachments",
    response=queries.AttachmentView,
    files=commands.ALLOWED_TYPES,
)
def download_attachment(call: Call, attachment_id: int) -> Reply:
    """The file itself. Downloading a non-public attachment is recorded in the proposal's
    history (Tiedonhallintalaki 17 §)."""
    got = queries.download(eva(), call.caller, attachment_id)
    return Reply(
        got.view,
        content=got.content,
        media_type=got.view.media_type,
        headers={
            "Content-Disposition": content_disposition(got.view.file_name),
            "X-Content-Type-Options": "nosniff",
        },
    )


@api_route(
    "DELETE",
    ATTACHMENT,
    summary="Remove an attachment",
    tag="attachments",
    response=queries.AttachmentView,
)
def remove_attachment(call: Call, attachment_id: int) -> Reply:
    """Remove it from the proposal (the history and the backups keep it)."""
    view = commands.remove_attachment(
        eva(), call.caller, commands.RemoveAttachment(attachment_id=attachment_id)
    )
    return Reply(view)
