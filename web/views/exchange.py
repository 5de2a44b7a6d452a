"""Downloads for case-management systems: the assessment summary (HTML, text; fi/sv/en;
optionally the public version) and the whole assessment as JSON. Access is the proposal
page's: another organisation's proposal, or a non-public one without a grant covering its
body, is not found."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, render_template, request
from flask_login import login_required

from eva_engine.rendering.summary import (
    LANGUAGES,
    MEDIA_TYPES,
    Kind,
    render_summary,
    summary_fragment,
)
from eva_engine.services.exchange import summaries
from web.i18n import select_locale
from web.runtime import caller, eva

bp = Blueprint("exchange", __name__, url_prefix="/proposals")

EXTENSIONS: dict[Kind, str] = {"html": "html", "text": "txt"}


def _download(body: str, media_type: str, filename: str) -> Response:
    response = Response(body, content_type=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"  # may hold confidential content
    return response


def _summary(proposal_id: int, kind: Kind) -> Response:
    language = request.args.get("lang") or select_locale()
    if language not in LANGUAGES:
        abort(400)
    public = request.args.get("public", "") in ("1", "true", "yes")
    view = summaries.summary(eva(), caller(), proposal_id, public=public)
    suffix = "-public" if public else ""
    return _download(
        render_summary(view, kind, language),
        MEDIA_TYPES[kind],
        f"eva-{proposal_id}-summary-{language}{suffix}.{EXTENSIONS[kind]}",
    )


@bp.get("/<int:proposal_id>/summary")
@login_required
def summary_page(proposal_id: int) -> str:
    """The summary read in the browser, in the page's language (``?lang=`` another; the
    public version with ``?public=1``), with the downloads as links of their own."""
    language = request.args.get("lang") or select_locale()
    if language not in LANGUAGES:
        abort(400)
    public = request.args.get("public", "") in ("1", "true", "yes")
    view = summaries.summary(eva(), caller(), proposal_id, public=public)
    return render_template(
        "summary.html",
        s=view,
        proposal_id=proposal_id,
        public=public,
        language=language,
        article=summary_fragment(view, language),
    )


@bp.get("/<int:proposal_id>/summary.html")
@login_required
def summary_html(proposal_id: int) -> Response:
    return _summary(proposal_id, "html")


@bp.get("/<int:proposal_id>/summary.txt")
@login_required
def summary_text(proposal_id: int) -> Response:
    return _summary(proposal_id, "text")


@bp.get("/<int:proposal_id>/assessment.json")
@login_required
def assessment_json(proposal_id: int) -> Response:
    document = summaries.export_assessment(eva(), caller(), proposal_id)
    return _download(
        json.dumps(document.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n",
        "application/json",
        f"eva-{proposal_id}-assessment.json",
    )
