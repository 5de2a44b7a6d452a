"""The report page (docs/reports.md): a period and scope chosen in a form, the report's
charts and tables rendered by the engine's renderer (``eva_engine.reports``, the same as the
command line's), and its downloads (HTML, CSV, XLSX, PDF). The internal version is for the
organisation's auditors and administrators, and each opening or download is recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_login import login_required

from eva_engine.reports.render import (
    FORMATS,
    MEDIA_TYPES,
    PAGE_ROWS,
    Format,
    filename,
    fragment,
    render,
)
from eva_engine.reports.render import title as report_title
from eva_engine.services.people import directory
from eva_engine.services.reports.queries import ReportRequest, report
from web.i18n import select_locale
from web.runtime import caller, eva

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _request(output: Format) -> ReportRequest:
    organisation = request.args.get("org", "")
    if not organisation:
        mine = directory.my_organisations(eva(), caller())
        if not mine:
            abort(404)
        organisation = mine[0].code
    return ReportRequest(
        organisation=organisation,
        period=request.args.get("period", "") or str(datetime.now(UTC).year - 1),
        body=request.args.get("body") or None,
        public=request.args.get("version", "public") != "internal",
        output=output,
    )


@bp.get("/")
@login_required
def index() -> str:
    wanted = _request("html")
    language = select_locale()
    view = report(eva(), caller(), wanted)
    query: dict[str, Any] = {
        "org": wanted.organisation,
        "period": wanted.period,
        "version": "public" if wanted.public else "internal",
        "lang": language,
    }
    if wanted.body:
        query["body"] = wanted.body
    return render_template(
        "report.html",
        wanted=wanted,
        view=view,
        heading=report_title(view, language),
        sections=fragment(view, language, page_limit=PAGE_ROWS),
        downloads=[(f, url_for("reports.download", output=f, **query)) for f in FORMATS],
    )


@bp.get("/report.<output>")
@login_required
def download(output: str) -> Response:
    if output not in FORMATS:
        abort(404)
    language = request.args.get("lang") or select_locale()
    if language not in ("fi", "sv", "en"):
        abort(400)
    fmt = next(f for f in FORMATS if f == output)
    view = report(eva(), caller(), _request(fmt))
    response = Response(render(view, fmt, language), content_type=MEDIA_TYPES[fmt])
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{filename(view, fmt, language)}"'
    )
    response.headers["Cache-Control"] = "no-store"  # an internal report holds names
    return response
