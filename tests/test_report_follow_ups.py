"""The report's follow-up sections (docs/reports.md): the results against the predictions and the
overdue follow-ups, every figure checked against a year built through the services on a clock of
the test's own (``eva_engine.models.clock``: the history, the follow-ups' opening and their
settling all happen when the test says).

Testila's follow-ups, by hand (every proposal prepared by Prep, a light assessment whose chosen
alternative is positive on every question; each indicator's result recorded as below):

=====  ======  ============  ==================  ==========  ==================================
case   body    decided       indicator           due         what happened
=====  ======  ============  ==================  ==========  ==================================
P1     HYVLTK  10.3.2025 M1  I1..I5 (I1 follows  30.6.2025   I1..I5 as predicted, measured
                             a question)                     15.6.2025
P2     HYVLTK  10.3.2025 M1  J1                  31.5.2025   worse than predicted, measured
                                                             1.9.2025
                             J2                  30.9.2025   open
P3     HYVLTK  10.3.2025 M1  K1 (confidential)   31.8.2025   waived on 1.10.2025
       (confidential)        K2                  31.10.2025  open
P4     TEKLTK  5.5.2025 M2   L1                  31.3.2026   cannot be told yet, measured
                                                             1.11.2025 (stays open)
                             L2                  31.12.2025  better than predicted, measured
                                                             1.12.2025
=====  ======  ============  ==================  ==========  ==================================

On 31.12.2025 J2, K2 and L1 are open; J2 (92 days) and K2 (61 days) are overdue. On 15.4.2026
all three are open and overdue (L1 by 15 days). KH has no proposals.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from eva_engine.models import clock
from eva_engine.reports.render import render
from eva_engine.reports.tables import Table, tables
from eva_engine.services.assessment import documents
from eva_engine.services.follow_up import commands, queries
from eva_engine.services.reports.queries import ReportRequest, report
from eva_engine.services.reports.views import ReportView
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import (
    Direction,
    FollowUpOutcome,
    FollowUpSource,
    Publicity,
    ScreeningOutcome,
)
from tests.builders import ORG, as_, document, new_proposal, required_questions, screen
from tests.conftest import World
from tests.test_reports import _meeting, _place, _sign

CONFIDENTIAL_INDICATOR = "Salainen mittari"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 5, 10, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def at(self, day: int, month: int, year: int = 2025, hour: int = 10) -> None:
        self.now = datetime(year, month, day, hour, tzinfo=UTC)


@dataclass(frozen=True)
class Year:
    ids: dict[str, int]
    cases: dict[str, str]
    question: str


@pytest.fixture
def moments() -> Iterator[Clock]:
    found = Clock()
    with clock(found):
        yield found


def _doc(eva: Eva, indicators: list[tuple[str, date, str | None]]) -> documents.AssessmentDocument:
    base = document(eva, indicators=False)
    return base.model_copy(
        update={
            "follow_up_indicators": [
                documents.IndicatorIn(
                    name=name, responsible="hyvinvointikoordinaattori", due=due, question=question
                )
                for name, due, question in indicators
            ]
        }
    )


def _ready(eva: Eva, pid: int, doc: documents.AssessmentDocument, preparer: str = "prep") -> None:
    transitions.fire(eva, as_(preparer), pid, "start_screening")
    screen(eva, pid, ScreeningOutcome.LIGHT, preparer)
    transitions.fire(eva, as_(preparer), pid, "begin_assessment")
    documents.import_assessment(eva, as_(preparer), pid, doc)
    transitions.fire(eva, as_(preparer), pid, "submit_for_review")
    _sign(eva, pid)


def _results(eva: Eva, pid: int) -> dict[str, int]:
    return {f.indicator: f.id for f in queries.proposal_follow_ups(eva, as_("aud"), pid).follow_ups}


def _record(
    eva: Eva, follow_up_id: int, outcome: FollowUpOutcome, measured: date, who: str = "prep"
) -> None:
    commands.record_result(
        eva,
        as_(who),
        commands.RecordResult(
            follow_up_id=follow_up_id,
            value="12,5 %",
            measured_on=measured,
            source_kind=FollowUpSource.SOTKANET,
            source_reference="289",
            outcome=outcome,
        ),
    )


@pytest.fixture
def year(eva: Eva, world: World, moments: Clock) -> Year:
    question = required_questions(eva, ScreeningOutcome.LIGHT)[0][1]
    m1, m2 = _meeting(eva, "HYVLTK", 10, 3), _meeting(eva, "TEKLTK", 5, 5)
    moments.at(1, 2)
    ids = {
        "P1": new_proposal(eva),
        "P2": new_proposal(eva),
        "P3": new_proposal(eva, publicity=Publicity.CONFIDENTIAL, ground="JulkL 24 § 1 mom. 25 k"),
        "P4": new_proposal(eva, preparer="tek", body="TEKLTK"),
    }
    moments.at(20, 2)
    five = [(f"I{n}", date(2025, 6, 30), question if n == 1 else None) for n in range(1, 6)]
    _ready(eva, ids["P1"], _doc(eva, five))
    _ready(
        eva,
        ids["P2"],
        _doc(eva, [("J1", date(2025, 5, 31), None), ("J2", date(2025, 9, 30), None)]),
    )
    _ready(
        eva,
        ids["P3"],
        _doc(
            eva,
            [(CONFIDENTIAL_INDICATOR, date(2025, 8, 31), None), ("K2", date(2025, 10, 31), None)],
        ),
    )
    _ready(
        eva,
        ids["P4"],
        _doc(eva, [("L1", date(2026, 3, 31), None), ("L2", date(2025, 12, 31), None)]),
        "tek",
    )
    moments.at(1, 3)
    for key in ("P1", "P2", "P3"):
        _place(eva, ids[key], m1)
    _place(eva, ids["P4"], m2)
    moments.at(10, 3, hour=18)
    for key in ("P1", "P2", "P3"):
        transitions.fire(eva, as_("sec"), ids[key], "approve")
    moments.at(5, 5, hour=18)
    transitions.fire(eva, as_("sec"), ids["P4"], "approve")

    moments.at(16, 6)
    for name, fid in _results(eva, ids["P1"]).items():
        assert name.startswith("I")
        _record(eva, fid, FollowUpOutcome.AS_PREDICTED, date(2025, 6, 15))
    moments.at(2, 9)
    _record(eva, _results(eva, ids["P2"])["J1"], FollowUpOutcome.WORSE, date(2025, 9, 1))
    moments.at(1, 10)
    commands.waive(
        eva,
        as_("prep"),
        commands.WaiveFollowUp(
            follow_up_id=_results(eva, ids["P3"])[CONFIDENTIAL_INDICATOR], reason="Ei mitattavissa."
        ),
    )
    moments.at(2, 11)
    p4 = _results(eva, ids["P4"])
    _record(eva, p4["L1"], FollowUpOutcome.CANNOT_TELL_YET, date(2025, 11, 1), "tek")
    moments.at(2, 12)
    _record(eva, p4["L2"], FollowUpOutcome.BETTER, date(2025, 12, 1), "tek")
    moments.at(2, 1, 2026)
    cases = {}
    for key, pid in ids.items():
        with eva.reading() as uow:
            found = uow.repos.proposal(pid)
            assert found is not None
            cases[key] = found.case_number
    return Year(ids, cases, question)


def _report(
    eva: Eva, who: str, *, public: bool, period: str = "2025", now: datetime | None = None
) -> ReportView:
    request = ReportRequest(organisation=ORG, period=period, public=public)
    return report(eva, as_(who), request, now=now)


def _results_of(view: ReportView) -> dict[str, int | None]:
    return {item.result: item.count for item in view.follow_up_results}


def test_the_internal_report_counts_and_lists_the_results_against_the_predictions(
    eva: Eva, year: Year
) -> None:
    view = _report(eva, "aud", public=False)

    assert _results_of(view) == {
        "as_predicted": 5,  # I1..I5
        "better": 1,  # L2
        "worse": 1,  # J1
        "cannot_tell_yet": 1,  # L1, still open
        "waived": 1,  # K1
    }
    listed = [(r.case_number, r.indicator, r.result, r.predicted) for r in view.follow_ups]
    p1, p2, p3, p4 = (year.cases[k] for k in ("P1", "P2", "P3", "P4"))
    assert listed == [
        (p1, "I1", "as_predicted", Direction.POSITIVE),  # I1 follows a question
        (p1, "I2", "as_predicted", None),
        (p1, "I3", "as_predicted", None),
        (p1, "I4", "as_predicted", None),
        (p1, "I5", "as_predicted", None),
        (p2, "J1", "worse", None),
        (p4, "L1", "cannot_tell_yet", None),
        (p4, "L2", "better", None),
        (p3, CONFIDENTIAL_INDICATOR, "waived", None),  # waived: no measurement, listed last
    ]
    first = view.follow_ups[0]
    assert (first.value, first.measured_on, first.source, first.reference) == (
        "12,5 %",
        date(2025, 6, 15),
        FollowUpSource.SOTKANET,
        "289",
    )
    assert view.follow_ups[-1].value is None


def test_the_internal_report_counts_the_follow_ups_overdue_at_the_periods_end(
    eva: Eva, year: Year
) -> None:
    view = _report(eva, "aud", public=False)

    assert view.overdue_on == date(2025, 12, 31)
    per_body = {row.body: (row.open, row.overdue) for row in view.overdue_bodies}
    assert per_body == {"HYVLTK": (2, 2), "KH": (0, 0), "TEKLTK": (1, 0)}
    assert (view.overdue_total.open, view.overdue_total.overdue) == (3, 2)
    assert [(r.case_number, r.indicator, r.due, r.days, r.responsible) for r in view.overdue] == [
        (year.cases["P2"], "J2", date(2025, 9, 30), 92, "Prep"),
        (year.cases["P3"], "K2", date(2025, 10, 31), 61, "Prep"),
    ]

    # While 2026 runs, on 15.4.2026: L1 is overdue too, and no result was measured yet.
    spring = _report(
        eva, "aud", public=False, period="2026", now=datetime(2026, 4, 15, 9, tzinfo=UTC)
    )
    assert spring.overdue_on == date(2026, 4, 15)
    per_body = {row.body: (row.open, row.overdue) for row in spring.overdue_bodies}
    assert per_body == {"HYVLTK": (2, 2), "KH": (0, 0), "TEKLTK": (1, 1)}
    assert [(r.indicator, r.days) for r in spring.overdue] == [("J2", 197), ("K2", 166), ("L1", 15)]
    assert set(_results_of(spring).values()) == {0}
    assert spring.follow_ups == []

    # Before any decision: nothing was open.
    early = _report(eva, "aud", public=False, period="2025-01-01..2025-02-28")
    assert (early.overdue_total.open, early.overdue_total.overdue, early.overdue) == (0, 0, [])


def test_the_public_report_suppresses_small_counts_and_lists_no_confidential_follow_up(
    eva: Eva, year: Year
) -> None:
    view = _report(eva, "prep", public=True)

    assert _results_of(view) == {
        "as_predicted": 5,
        "better": None,
        "worse": None,
        "cannot_tell_yet": None,
        "waived": None,
    }
    assert CONFIDENTIAL_INDICATOR not in {r.indicator for r in view.follow_ups}
    assert len(view.follow_ups) == 8
    per_body = {row.body: (row.open, row.overdue) for row in view.overdue_bodies}
    assert per_body == {"HYVLTK": (None, None), "KH": (0, 0), "TEKLTK": (None, 0)}
    assert [(r.indicator, r.responsible) for r in view.overdue] == [("J2", None)]


def _rows(table: Table) -> list[list[str]]:
    return [[c.text for c in row] for row in table.rows]


FOLLOW_UP_TABLES = ("follow-up-results", "follow-ups", "overdue", "overdue-list")


def test_every_format_holds_the_follow_up_sections_with_the_same_numbers(
    eva: Eva, year: Year
) -> None:
    view = _report(eva, "aud", public=False)
    for language in ("fi", "sv", "en"):
        found = {t.id: t for t in tables(view, language) if t.id in FOLLOW_UP_TABLES}
        assert list(found) == list(FOLLOW_UP_TABLES)
        html = render(view, "html", language).decode()
        for table in found.values():
            section = re.search(
                rf'<table class="report-table" id="table-{table.id}">(.*?)</table>', html, re.S
            )
            assert section is not None, table.id
            cells = [
                re.sub(r"<[^>]+>", "", c)
                for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", section.group(1))
            ]
            flat = [c for row in _rows(table) for c in row]
            assert cells[len(table.columns) :] == [c.replace("<", "&lt;") for c in flat]
        rows = list(csv.reader(io.StringIO(render(view, "csv", language).decode("utf-8-sig"))))
        book = load_workbook(io.BytesIO(render(view, "xlsx", language)))
        for table in found.values():
            start = rows.index([table.title])
            assert rows[start + 2 : start + 2 + len(table.rows)] == _rows(table)
            sheet = next(s for s in book.worksheets if s.cell(1, 1).value == table.title)
            for r, row in enumerate(table.rows, start=3):
                for c, cell in enumerate(row, start=1):
                    expected = cell.text if cell.number is None else cell.number
                    assert sheet.cell(r, c).value == expected
    english = {t.id: t for t in tables(view, "en")}
    assert _rows(english["follow-up-results"]) == [
        ["As predicted", "5"],
        ["Better than predicted", "1"],
        ["Worse than predicted", "1"],
        ["Cannot be told yet", "1"],
        ["Waived", "1"],
    ]
    assert _rows(english["overdue"])[-1] == ["Total", "3", "2"]
    pdf = PdfReader(io.BytesIO(render(view, "pdf", "fi")))
    printed = re.sub(r"\s+", "", "\n".join(page.extract_text() for page in pdf.pages))
    for table in tables(view, "fi"):
        if table.id in FOLLOW_UP_TABLES:
            for row in table.rows:
                assert re.sub(r"\s+", "", "".join(c.text for c in row)) in printed, (table.id, row)


def test_the_public_exports_name_nobody_and_hold_nothing_of_the_confidential_follow_ups(
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
        assert year.cases["P3"] not in text, output
        assert CONFIDENTIAL_INDICATOR not in re.sub(r"\s+", " ", text), output
        assert "K2" not in text, output
        assert names.search(text) is None, (output, names.search(text))
        assert "J2" in text, output
