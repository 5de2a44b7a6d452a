"""The exports of a proposal through /api/v1, with a bearer token (the web UI's downloads
below /proposals/ are for a logged-in browser): the assessment summary as data or as the
document to attach in a case-management system (HTML or text; fi, sv or en; optionally the
public version), and the whole assessment (format eva.assessment/1). Each export is recorded
in the history by the service (services/exchange/summaries), as the web's and the CLI's."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from eva_engine.rendering.summary import MEDIA_TYPES, render_summary
from eva_engine.services.assessment.documents import AssessmentView
from eva_engine.services.exchange import summaries
from web.api.framework import Call, Reply, api_route
from web.api.schemas import Body
from web.runtime import eva

PROPOSAL = "/proposals/<int(signed=True):proposal_id>"
EXTENSIONS = {"html": "html", "text": "txt"}


class SummaryQuery(Body):
    public: bool = Field(
        default=False, description="true: the public version (no confidential content)"
    )


class SummaryDocumentQuery(SummaryQuery):
    format: Literal["html", "text"] = "html"
    language: Literal["fi", "sv", "en"] = "fi"


class SummaryFile(BaseModel):
    """The summary as a file (HTML or plain text)."""


@api_route(
    "GET",
    PROPOSAL + "/summary",
    summary="The assessment summary",
    tag="exports",
    response=summaries.SummaryView,
    query=SummaryQuery,
)
def get_summary(call: Call, proposal_id: int) -> Reply:
    """The summary of the proposal's impact assessment as data: screening, alternatives,
    impacts by area, mitigations, follow-up indicators and the texts of the minutes."""
    q: SummaryQuery = call.query
    return Reply(summaries.summary(eva(), call.caller, proposal_id, public=q.public))


@api_route(
    "GET",
    PROPOSAL + "/summary/document",
    summary="The assessment summary as a document",
    tag="exports",
    response=SummaryFile,
    query=SummaryDocumentQuery,
    files=tuple(MEDIA_TYPES.values()),
)
def summary_document(call: Call, proposal_id: int) -> Reply:
    """The summary to attach to the case in a case-management system: HTML or plain text, in
    Finnish, Swedish or English, the public version with ``public=true``."""
    q: SummaryDocumentQuery = call.query
    view = summaries.summary(eva(), call.caller, proposal_id, public=q.public)
    suffix = "-public" if q.public else ""
    name = f"eva-{proposal_id}-summary-{q.language}{suffix}.{EXTENSIONS[q.format]}"
    return Reply(
        SummaryFile(),
        content=render_summary(view, q.format, q.language).encode("utf-8"),
        media_type=MEDIA_TYPES[q.format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@api_route(
    "GET",
    PROPOSAL + "/assessment/export",
    summary="Export the assessment",
    tag="exports",
    response=AssessmentView,
)
def export_assessment(call: Call, proposal_id: int) -> Reply:
    """The whole assessment of the current revision (format eva.assessment/1), as
    ``eva export assessment`` writes it; ``PUT /proposals/{proposal_id}/assessment`` takes it
    back once it has an alternative (a new revision may have none yet)."""
    document = summaries.export_assessment(eva(), call.caller, proposal_id)
    return Reply(AssessmentView.of(document))
