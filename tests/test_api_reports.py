"""The report through the API (docs/reports.md): the same files as the command line and the
web page, for the same people; the internal version for auditors and administrators only."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from eva_engine.services.runtime import Eva
from tests.api_support import api_app, api_as, problem
from tests.builders import proposal_in

__all__ = ["api_app", "api_as"]  # fixtures


def test_the_report_is_served_as_a_file_in_each_format(api_as: Any, eva: Eva) -> None:
    proposal_in(eva, "decided")
    auditor = api_as("aud")
    xlsx = auditor.get("/organisations/testila/report?period=2026&format=xlsx&public=false")
    assert xlsx.status_code == 200
    assert xlsx.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "internal-fi.xlsx" in xlsx.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(xlsx.data))
    outcomes = book.worksheets[0]
    assert outcomes.cell(3, 2).value == 1  # the one approved proposal
    csv = auditor.get("/organisations/testila/report?period=2026&format=csv&language=en")
    assert csv.status_code == 200
    assert "approved as proposed,1" not in csv.get_data(as_text=True)  # public: "< 5"
    assert "approved as proposed,< 5" in csv.get_data(as_text=True)


def test_the_internal_report_is_refused_to_others(api_as: Any) -> None:
    problem(api_as("prep").get("/organisations/testila/report?period=2026&public=false"), 403)
    problem(api_as("outsider").get("/organisations/testila/report?period=2026"), 404)
    problem(api_as("aud").get("/organisations/testila/report?period=26"), 422)
