"""A report in any of its formats: ``render(view, format, language)`` gives the bytes of a
standalone HTML document, a CSV, an XLSX workbook or a PDF; ``fragment`` the part the web
page embeds. Every format is made from the same ``tables`` (one place for every figure)."""

from __future__ import annotations

import csv
import functools
import io
from typing import Literal

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from eva_engine.reports.charts import svg
from eva_engine.reports.language import LANGUAGES, Speaker, translations
from eva_engine.reports.tables import Table, tables
from eva_engine.services.reports.views import ReportView

Format = Literal["html", "csv", "xlsx", "pdf"]
FORMATS: tuple[Format, ...] = ("html", "csv", "xlsx", "pdf")
MEDIA_TYPES: dict[Format, str] = {
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}

PRINTED_ROWS = 100
"""A list section (one row per proposal or follow-up) longer than this is left out of the PDF:
WeasyPrint lays out about 30 rows a second, so a large city's 20,000 handlings would take
minutes and print hundreds of pages. The PDF says how many rows there are and where they are
(the HTML file, the CSV and the XLSX, which list them all); docs/reports.md."""

# The list sections (``Table.listing``) and the lists of the view they list.
LISTED_BY = {"decisions": "decisions", "follow-ups": "follow_ups", "overdue-list": "overdue"}
LISTED = tuple(LISTED_BY.values())

PAGE_ROWS = 100
"""The web page of a report shows the first this many rows of a list section and says where the
rest are (the HTML, CSV and XLSX files): a page whose size does not grow with the period."""

__all__ = [
    "FORMATS",
    "LANGUAGES",
    "MEDIA_TYPES",
    "PAGE_ROWS",
    "Format",
    "filename",
    "fragment",
    "render",
]


@functools.cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=PackageLoader("eva_engine.reports", "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["chart"] = svg
    return env


def _context(
    view: ReportView,
    language: str,
    *,
    print_limit: int | None = None,
    page_limit: int | None = None,
) -> dict[str, object]:
    speaker = Speaker(language)
    lengths = {key: len(getattr(view, key)) for key in LISTED}
    if page_limit is not None:  # only the rows the page shows are made into cells
        view = view.model_copy(update={key: getattr(view, key)[:page_limit] for key in LISTED})
    sections = tables(view, language)
    omitted = {
        table.id: speaker.number(len(table.rows))
        for table in sections
        if print_limit is not None and table.listing and len(table.rows) > print_limit
    }
    shortened = {
        table.id: (speaker.number(page_limit), speaker.number(lengths[LISTED_BY[table.id]]))
        for table in sections
        if page_limit is not None
        and table.id in LISTED_BY
        and lengths[LISTED_BY[table.id]] > page_limit
    }
    scope = view.organisation_name.get(language)
    if view.body_name is not None:
        scope = f"{scope}, {view.body} {view.body_name.get(language)}"
    return {
        "view": view,
        "tables": sections,
        "omitted": omitted,
        "shortened": shortened,
        "language": language,
        "scope": scope,
        "start": speaker.date(view.start),
        "end": speaker.date(view.end),
        "generated": speaker.date(view.generated_at),
    }


def fragment(
    view: ReportView,
    language: str,
    *,
    print_limit: int | None = None,
    page_limit: int | None = None,
) -> Markup:
    """The report's sections (headings from level 2 down), for a page that has its own;
    with ``print_limit``, list sections longer than that are left out with a note; with
    ``page_limit``, only their first rows are shown, with a note."""
    template = environment(language).get_template("report/sections.html")
    context = _context(view, language, print_limit=print_limit, page_limit=page_limit)
    return Markup(template.render(context))  # noqa: S704 - autoescaped


def title(view: ReportView, language: str) -> str:
    _ = Speaker(language).gettext
    name = _("EVA report (public)") if view.public else _("EVA report (internal)")
    return f"{name}: {view.organisation_name.get(language)}"


def html(view: ReportView, language: str, *, print_media: bool = False) -> str:
    template = environment(language).get_template("report/document.html")
    return template.render(
        _context(view, language)
        | {
            "sections": fragment(view, language, print_limit=PRINTED_ROWS if print_media else None),
            "title": title(view, language),
        }
        | {"print_media": print_media}
    )


def _csv(view: ReportView, language: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title(view, language), view.start.isoformat(), view.end.isoformat()])
    for table in tables(view, language):
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow([cell.text for cell in row])
    # A byte order mark, so spreadsheet programs read the Finnish and Swedish letters right.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_name(table: Table, used: set[str]) -> str:
    name = "".join(c for c in table.title if c not in "[]:*?/\\")[:31] or table.id
    while name in used:
        name = name[:28] + f"~{len(used)}"
    used.add(name)
    return name


def _xlsx(view: ReportView, language: str) -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415 - only exports need it
    from openpyxl.styles import Font  # noqa: PLC0415

    book = Workbook()
    first = book.active
    if first is not None:
        book.remove(first)
    used: set[str] = set()
    for table in tables(view, language):
        sheet = book.create_sheet(_sheet_name(table, used))
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(table.columns)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([c.text if c.number is None else c.number for c in row])
        if table.note:
            sheet.append([])
            sheet.append([table.note])
        sheet.column_dimensions["A"].width = 48
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _pdf(view: ReportView, language: str) -> bytes:
    from weasyprint import HTML  # noqa: PLC0415 - only the PDF needs it (and Pango)

    document = html(view, language, print_media=True)
    return bytes(HTML(string=document).write_pdf())


def render(view: ReportView, output: Format, language: str) -> bytes:
    if language not in LANGUAGES:
        raise ValueError(f"no language {language!r}")
    if output == "html":
        return html(view, language).encode("utf-8")
    if output == "csv":
        return _csv(view, language)
    if output == "xlsx":
        return _xlsx(view, language)
    return _pdf(view, language)


def filename(view: ReportView, output: Format, language: str) -> str:
    scope = view.organisation + (f"-{view.body}" if view.body else "")
    period = view.start.isoformat() + "_" + view.end.isoformat()
    kind = "public" if view.public else "internal"
    return f"eva-report-{scope}-{period}-{kind}-{language}.{output}"
