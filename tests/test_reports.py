"""The report (docs/reports.md): every figure checked against a year built through the services
on a clock of the test's own, so the history says exactly when each step happened.

The year 2025 of testila, by hand:

=====  ======  ==========  ===================================================  ===========
case   body    created     path                                                 signed off
=====  ======  ==========  ===================================================  ===========
A      HYVLTK  1.2.        light, on M1 (10.3.), approved                        20.2.
B      HYVLTK  1.2.        light, a negative impact on families with a           25.2.
                           mitigation, on M1, approved
C      HYVLTK  2.2.        confidential, light, on M1 tabled, on M2 (9.6.)       5.3.
                           approved
D      HYVLTK  3.2.        light, on M1 returned for new preparation, prepared   1.3.
                           again (revision 2), on M2 approved as amended
E      HYVLTK  1.3.        exempt (filling a post), on M2 rejected               1.4.
F      HYVLTK  2.3.        light, on M2 removed from the agenda                  2.4.
G      HYVLTK  3.3.        withdrawn in screening on 10.4.                       –
H      HYVLTK  4.3.        scheduled on M2 while still in review                 –
T      TEKLTK  1.3.        light, on M3 (5.5.), approved                         1.4.
=====  ======  ==========  ===================================================  ===========

KH has no proposals and no meetings. Each step is taken at 10:00 UTC of its day; the meetings
start at 16:00 UTC and their outcomes are recorded at 18:00.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from flask import Flask
from openpyxl import load_workbook
from pypdf import PdfReader

from eva_engine.db import audit as audit_module
from eva_engine.errors import InvalidInput, NotFound, PermissionDenied
from eva_engine.reports.render import LISTED_BY, PAGE_ROWS, PRINTED_ROWS, fragment, html, render
from eva_engine.reports.tables import tables
from eva_engine.services.assessment import documents
from eva_engine.services.history import trail
from eva_engine.services.people import accounts, organisations
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.reports.period import parse_period
from eva_engine.services.reports.queries import (
    DISCLOSURE,
    INTERNAL_READ,
    ReportRequest,
    report,
)
from eva_engine.services.reports.views import ReportView
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import MeetingOutcome, Publicity, ScreeningOutcome
from tests.builders import (
    OPERATOR,
    ORG,
    as_,
    document,
    new_proposal,
    required_questions,
    screen,
)
from tests.conftest import World
from tests.test_web import PASSWORD, app, login

__all__ = ["app"]


class Clock:
    """The time the audit history records for each event."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 5, 10, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def at(self, day: int, month: int, hour: int = 10) -> None:
        self.now = datetime(2025, month, day, hour, tzinfo=UTC)


@dataclass(frozen=True)
class Year:
    ids: dict[str, int]
    negative_question: str
    confidential_case: str
    confidential_title: str


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    found = Clock()
    monkeypatch.setattr(audit_module, "utcnow", found)
    return found


def _meeting(eva: Eva, body: str, day: int, month: int) -> int:
    return organisations.create_meeting(
        eva,
        OPERATOR,
        organisations.CreateMeeting(
            organisation=ORG, body=body, starts_at=datetime(2025, month, day, 16, tzinfo=UTC)
        ),
    ).id


def _fire(eva: Eva, who: str, pid: int, trigger: str, reason: str | None = None) -> None:
    transitions.fire(eva, as_(who), pid, trigger, reason=reason)


def _prepare(
    eva: Eva,
    pid: int,
    preparer: str = "prep",
    *,
    negative: str | None = None,
    again: bool = False,
) -> None:
    """From a draft to review (a light assessment)."""
    _fire(eva, preparer, pid, "start_screening")
    if not again:
        screen(eva, pid, ScreeningOutcome.LIGHT, preparer)
    _fire(eva, preparer, pid, "begin_assessment")
    documents.import_assessment(
        eva, as_(preparer), pid, document(eva, ScreeningOutcome.LIGHT, negative=negative)
    )
    _fire(eva, preparer, pid, "submit_for_review")


def _sign(eva: Eva, pid: int) -> None:
    _fire(eva, "sec", pid, "pass_review")
    _fire(eva, "pres", pid, "sign_off")


def _place(eva: Eva, pid: int, meeting: int) -> None:
    proposal_commands.schedule(
        eva, as_("sec"), proposal_commands.ScheduleProposal(proposal_id=pid, meeting_id=meeting)
    )
    _fire(eva, "sec", pid, "place_on_agenda")


@pytest.fixture
def year(eva: Eva, world: World, clock: Clock) -> Year:
    m1, m2 = _meeting(eva, "HYVLTK", 10, 3), _meeting(eva, "HYVLTK", 9, 6)
    m3 = _meeting(eva, "TEKLTK", 5, 5)
    negative = required_questions(eva, ScreeningOutcome.LIGHT)[0][1]
    ids: dict[str, int] = {}

    clock.at(1, 2)
    ids["A"], ids["B"] = new_proposal(eva), new_proposal(eva)
    clock.at(2, 2)
    ids["C"] = new_proposal(eva, publicity=Publicity.CONFIDENTIAL, ground="JulkL 24 § 1 mom. 25 k")
    clock.at(3, 2)
    ids["D"] = new_proposal(eva)
    clock.at(20, 2)
    _prepare(eva, ids["A"])
    _sign(eva, ids["A"])
    clock.at(25, 2)
    _prepare(eva, ids["B"], negative=negative)
    _sign(eva, ids["B"])
    clock.at(1, 3)
    _prepare(eva, ids["D"])
    _sign(eva, ids["D"])
    ids["E"] = new_proposal(eva)
    ids["T"] = new_proposal(eva, preparer="tek", body="TEKLTK")
    clock.at(2, 3)
    ids["F"] = new_proposal(eva)
    clock.at(3, 3)
    ids["G"] = new_proposal(eva)
    clock.at(4, 3)
    ids["H"] = new_proposal(eva)
    clock.at(5, 3)
    _prepare(eva, ids["C"])
    _sign(eva, ids["C"])
    clock.at(6, 3)
    for key in ("A", "B", "C", "D"):
        _place(eva, ids[key], m1)
    clock.at(10, 3, 18)
    _fire(eva, "sec", ids["A"], "approve")
    _fire(eva, "sec", ids["B"], "approve")
    _fire(eva, "sec", ids["C"], "table")
    _fire(eva, "sec", ids["D"], "return_for_new_preparation", "Selvitä vaihtoehdot.")
    clock.at(1, 4)
    _fire(eva, "prep", ids["E"], "start_screening")
    screen(eva, ids["E"], ScreeningOutcome.EXEMPT)
    _fire(eva, "prep", ids["E"], "submit_for_review")
    _sign(eva, ids["E"])
    _prepare(eva, ids["T"], "tek")
    _sign(eva, ids["T"])
    clock.at(2, 4)
    _prepare(eva, ids["F"])
    _sign(eva, ids["F"])
    clock.at(10, 4)
    _fire(eva, "prep", ids["G"], "start_screening")
    _fire(eva, "prep", ids["G"], "withdraw", "Asia raukesi.")
    clock.at(20, 4)
    _prepare(eva, ids["H"])
    clock.at(1, 5)
    proposal_commands.schedule(
        eva, as_("sec"), proposal_commands.ScheduleProposal(proposal_id=ids["H"], meeting_id=m2)
    )
    _place(eva, ids["T"], m3)
    clock.at(5, 5, 18)
    _fire(eva, "sec", ids["T"], "approve")
    clock.at(20, 5)
    _prepare(eva, ids["D"], again=True)
    _sign(eva, ids["D"])
    clock.at(1, 6)
    for key in ("C", "D", "E", "F"):
        _place(eva, ids[key], m2)
    clock.at(9, 6, 18)
    _fire(eva, "sec", ids["C"], "approve")
    _fire(eva, "sec", ids["D"], "approve_amended", "Muutettu kokouksessa.")
    _fire(eva, "sec", ids["E"], "reject")
    _fire(eva, "sec", ids["F"], "remove", "Valmistelu kesken.")
    clock.at(1, 12)
    secret = proposal_queries.show(eva, OPERATOR, ids["C"])
    return Year(ids, negative, secret.case_number, secret.title_fi)


def _report(
    eva: Eva, who: str, *, public: bool, period: str = "2025", body: str | None = None
) -> ReportView:
    return report(
        eva, as_(who), ReportRequest(organisation=ORG, period=period, public=public, body=body)
    )


def _handled(view: ReportView) -> dict[MeetingOutcome, int | None]:
    return {item.outcome: item.count for item in view.outcomes.handled}


def _area_counts(eva: Eva, negative: str) -> dict[str, tuple[int, int]]:
    """(positive, negative) per area: every required light question of the chosen alternative
    of A, B, C, D and T (five adopted decisions), B's one negative among them."""
    per_area = Counter(area for area, _ in required_questions(eva, ScreeningOutcome.LIGHT))
    negative_area = negative.split(".", 1)[0]
    return {
        area: (5 * n - (area == negative_area), int(area == negative_area))
        for area, n in per_area.items()
    }


def test_the_internal_report_holds_every_figure_of_the_year(eva: Eva, year: Year) -> None:
    view = _report(eva, "aud", public=False)

    assert _handled(view) == {
        MeetingOutcome.APPROVED: 4,  # A, B (M1), C (M2), T (M3)
        MeetingOutcome.AMENDED: 1,  # D (M2)
        MeetingOutcome.TABLED: 1,  # C (M1)
        MeetingOutcome.RETURNED: 1,  # D (M1)
        MeetingOutcome.REJECTED: 1,  # E
        MeetingOutcome.REMOVED: 1,  # F
    }
    assert view.outcomes.withdrawn == 1  # G
    assert view.outcomes.handled_again == 1  # D, re-prepared after being returned

    figures = view.screening
    assert (figures.decisions, figures.screened, figures.not_screened) == (6, 6, 0)
    assert figures.depth == {
        ScreeningOutcome.EXEMPT: 1,
        ScreeningOutcome.LIGHT: 5,
        ScreeningOutcome.FULL: 0,
    }
    assert [(g.id, g.count, g.text.en) for g in figures.exemptions] == [
        ("filling_post", 1, "Filling a post")
    ]

    # M1: A, B, C, D all on the agenda; M2: C, D, E, F complete, H still in review.
    agenda = {row.body: (row.items, row.complete, row.share) for row in view.agenda}
    assert agenda == {
        "HYVLTK": (9, 8, 8 / 9),
        "KH": (0, 0, None),
        "TEKLTK": (1, 1, 1.0),
    }
    total = view.agenda_total
    assert (total.items, total.complete, total.share) == (10, 9, 0.9)

    impacts = {
        row.area: (row.positive, row.negative, row.none, row.unknown) for row in view.impacts
    }
    assert impacts == {
        area: (pos, neg, 0, 0)
        for area, (pos, neg) in _area_counts(eva, year.negative_question).items()
    }
    assert [(g.group, g.decisions, g.mitigated) for g in view.groups] == [("families", 1, 1)]

    bodies = {
        row.body: (row.proposals, row.completed, row.completion, row.signed_off, row.median_days)
        for row in view.bodies
    }
    # Days from draft to the first sign-off: A 19, B 24, C 31, D 26, E 31, F 31: median 28.5.
    assert bodies == {
        "HYVLTK": (8, 6, 0.75, 6, 28.5),
        "KH": (0, 0, None, 0, None),
        "TEKLTK": (1, 1, 1.0, 1, 31.0),
    }
    listed = [(row.case_number, row.outcome) for row in view.decisions]
    assert len(listed) == 9  # every handling above
    assert (year.confidential_case, MeetingOutcome.TABLED) in listed
    assert {row.preparer for row in view.decisions} == {"Prep", "Tek"}


def test_the_public_report_suppresses_small_counts_and_holds_nothing_confidential(
    eva: Eva, year: Year
) -> None:
    view = _report(eva, "prep", public=True)

    assert _handled(view)[MeetingOutcome.APPROVED] is None  # 4: "< 5"
    assert view.outcomes.withdrawn is None
    assert view.screening.decisions == 6
    assert view.screening.depth[ScreeningOutcome.LIGHT] == 5
    assert view.screening.depth[ScreeningOutcome.EXEMPT] is None
    agenda = {row.body: (row.items, row.complete, row.share) for row in view.agenda}
    assert agenda["HYVLTK"][:2] == (9, 8)
    assert agenda["HYVLTK"][2] == pytest.approx(8 / 9)
    assert agenda["TEKLTK"] == (None, None, None)
    hyvltk = next(row for row in view.bodies if row.body == "HYVLTK")
    assert (hyvltk.proposals, hyvltk.median_days) == (8, 28.5)
    assert [(g.decisions, g.mitigated) for g in view.groups] == [(None, None)]
    assert year.confidential_case not in {row.case_number for row in view.decisions}
    assert {row.preparer for row in view.decisions} == {None}
    assert len(view.decisions) == 7  # C's two handlings left out


def test_one_body_and_an_empty_period(eva: Eva, year: Year) -> None:
    only = _report(eva, "aud", public=False, body="TEKLTK")
    assert [row.body for row in only.agenda] == ["TEKLTK"]
    assert _handled(only)[MeetingOutcome.APPROVED] == 1
    assert only.screening.decisions == 1

    empty = _report(eva, "aud", public=False, period="2019")
    assert all(count == 0 for count in _handled(empty).values())
    assert (empty.screening.decisions, empty.outcomes.withdrawn) == (0, 0)
    assert (empty.agenda_total.items, empty.agenda_total.share) == (0, None)
    assert (empty.impacts, empty.groups, empty.decisions) == ([], [], [])
    assert all(row.proposals == 0 for row in empty.bodies)
    # Part of the year: the first meeting only (10.3.).
    spring = _report(eva, "aud", public=False, period="2025-01-01..2025-03-31")
    assert _handled(spring) == {
        MeetingOutcome.APPROVED: 2,
        MeetingOutcome.AMENDED: 0,
        MeetingOutcome.TABLED: 1,
        MeetingOutcome.RETURNED: 1,
        MeetingOutcome.REJECTED: 0,
        MeetingOutcome.REMOVED: 0,
    }


def test_the_internal_report_is_for_auditors_and_administrators_and_is_recorded(
    eva: Eva, year: Year
) -> None:
    before = trail.verify(eva).verified
    _report(eva, "prep", public=True)
    assert trail.verify(eva).verified == before
    _report(eva, "aud", public=False)
    with eva.reading() as uow:
        org = uow.repos.organisation_by_code(ORG)
        assert org is not None
        read = uow.repos.last_event(organisation_id=org.id, action=INTERNAL_READ)
        disclosed = uow.repos.last_event(organisation_id=org.id, action=DISCLOSURE)
    assert read is not None
    assert read.actor_name == "aud"
    assert json.loads(read.after or "{}") == {"period": "2025", "body": None, "output": "html"}
    assert disclosed is not None
    assert disclosed.proposal_id == year.ids["C"]
    assert trail.verify(eva).verified == before + 2

    # Who may read which version.
    with pytest.raises(PermissionDenied):
        _report(eva, "prep", public=False)
    for public in (True, False):
        with pytest.raises(NotFound):
            _report(eva, "outsider", public=public)
    with pytest.raises(NotFound):
        _report(eva, "aud", public=True, body="NOPE")
    _report(eva, "admin", public=False)
    for wrong in ("26", "2025-13-01..2025-12-31", "2026-2025", "1999"):
        with pytest.raises(InvalidInput):
            parse_period(wrong)
    assert parse_period("2025-2028").label == "2025-2028"


NUMBER = re.compile(r"\d+(?:[.,]\d)?|< 5")


def _html_figures(html: str, table: str) -> list[list[str]]:
    """The cells of one table of the page, as text."""
    found = re.search(rf'<table class="report-table" id="table-{table}">(.*?)</table>', html, re.S)
    assert found is not None, table
    rows = re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)
    return [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r)]
        for r in rows[1:]
    ]


def test_the_exports_hold_the_numbers_of_the_page(eva: Eva, year: Year) -> None:
    view = _report(eva, "aud", public=False)
    for language in ("fi", "sv", "en"):
        _same_numbers(view, language)


def _same_numbers(view: ReportView, language: str) -> None:
    html = render(view, "html", language).decode()
    expected = {t.id: [[c.text for c in row] for row in t.rows] for t in tables(view, language)}
    for name, cells in expected.items():
        if cells:
            assert _html_figures(html, name) == [
                [c.replace("<", "&lt;") for c in row] for row in cells
            ]
    # The agenda indicator as the page shows it.
    assert _html_figures(html, "agenda")[-1][1:] == [
        "10",
        "9",
        "90,0" if language != "en" else "90.0",
    ]

    book = load_workbook(io.BytesIO(render(view, "xlsx", language)))
    for table in tables(view, language):
        sheet = next(s for s in book.worksheets if s.cell(1, 1).value == table.title)
        for r, row in enumerate(table.rows, start=3):
            for c, cell in enumerate(row, start=1):
                assert sheet.cell(r, c).value == (cell.text if cell.number is None else cell.number)

    text = "\n".join(
        page.extract_text() for page in PdfReader(io.BytesIO(render(view, "pdf", language))).pages
    )
    # The PDF's text comes back with its own spacing (kerned letters apart): compared
    # without white space, each row's cells in order.
    flat = re.sub(r"\s+", "", text)
    for table in tables(view, language):
        for row in table.rows:
            assert re.sub(r"\s+", "", "".join(c.text for c in row)) in flat, (table.id, row)

    rows = list(csv.reader(io.StringIO(render(view, "csv", language).decode("utf-8-sig"))))
    for table in tables(view, language):
        start = rows.index([table.title])
        assert rows[start + 2 : start + 2 + len(table.rows)] == [
            [c.text for c in row] for row in table.rows
        ]


def test_the_pdf_leaves_out_a_list_too_long_to_print(eva: Eva, year: Year) -> None:
    """A large city's list of handlings would take WeasyPrint minutes and print hundreds of
    pages: the PDF says how many rows there are and where they are; the HTML page and the
    CSV still list every row."""
    view = _report(eva, "aud", public=False)
    first = view.decisions[0]
    many = [
        first.model_copy(update={"case_number": f"{n}/00.00.00/2026"})
        for n in range(PRINTED_ROWS + 1)
    ]
    long = view.model_copy(update={"decisions": many})
    printed = html(long, "fi", print_media=True)
    assert "101 riviä, liian monta tulostettavaksi" in printed
    assert "100/00.00.00/2026" not in printed
    assert "table-decisions" not in printed
    assert "table-bodies" in printed  # the figures are printed
    page = render(long, "html", "fi").decode()
    assert "100/00.00.00/2026" in page
    assert "liian monta" not in page
    # At the limit the list is printed.
    short = view.model_copy(update={"decisions": many[:PRINTED_ROWS]})
    assert "99/00.00.00/2026" in html(short, "sv", print_media=True)


def test_the_report_page_shows_the_first_rows_of_a_long_list_and_says_where_the_rest_are(
    eva: Eva, year: Year
) -> None:
    """The web page does not grow with the period: a list section shows its first PAGE_ROWS
    rows and says how many there are and that the files list them all."""
    view = _report(eva, "aud", public=False)
    first = view.decisions[0]
    many = [
        first.model_copy(update={"case_number": f"{n}/00.00.00/2026"}) for n in range(PAGE_ROWS + 1)
    ]
    long = view.model_copy(update={"decisions": many})
    page = str(fragment(long, "fi", page_limit=PAGE_ROWS))
    assert "99/00.00.00/2026" in page
    assert "100/00.00.00/2026" not in page
    assert "Ensimmäiset 100 riviä 101 rivistä" in page
    assert "table-decisions" in page
    assert "table-bodies" in page
    # At the limit nothing is left out and nothing is said.
    short = view.model_copy(update={"decisions": many[:PAGE_ROWS]})
    assert "rivistä" not in str(fragment(short, "fi", page_limit=PAGE_ROWS))
    # Every list section is one the page shortens.
    assert {t.id for t in tables(view, "fi") if t.listing} == set(LISTED_BY)


def test_the_public_exports_hold_nothing_of_the_confidential_proposal_and_no_names(
    eva: Eva, year: Year
) -> None:
    view = _report(eva, "prep", public=True)
    names = re.compile(r"\b(Prep|Tek|Pres|Sec|Aud)\b")
    for output in ("html", "csv", "xlsx", "pdf"):
        content = render(view, output, "fi")
        if output == "xlsx":
            book = load_workbook(io.BytesIO(content))
            text = "\n".join(
                str(v) for s in book.worksheets for r in s.iter_rows(values_only=True) for v in r
            )
        elif output == "pdf":
            text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
        else:
            text = content.decode("utf-8-sig")
        assert year.confidential_case not in text, output
        assert year.confidential_title not in text, output
        assert names.search(text) is None, (output, names.search(text))
        assert "< 5" in text or "&lt; 5" in text, output


def test_the_report_page_and_its_downloads(app: Flask, eva: Eva, year: Year) -> None:
    accounts.set_password(eva, OPERATOR, "admin", PASSWORD)
    client = app.test_client()
    login(client, "aud")
    page = client.get("/reports/?period=2025&version=internal")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'role="img"' in html
    assert "<script" not in html
    assert year.confidential_case in html
    pdf = client.get("/reports/report.pdf?period=2025&version=public&lang=sv")
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")
    assert "public-sv.pdf" in pdf.headers["Content-Disposition"]
    login(client, "prep")
    assert client.get("/reports/?period=2025&version=internal").status_code == 403
    public = client.get("/reports/?period=2025")
    assert public.status_code == 200
    assert year.confidential_case not in public.get_data(as_text=True)
    outsider = app.test_client()
    login(outsider, "outsider")
    assert outsider.get(f"/reports/?org={ORG}&period=2025").status_code == 404
