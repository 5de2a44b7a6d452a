"""The auditor browses the year's history with filters; others may not; reading is logged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask

from eva_engine.errors import PermissionDenied
from eva_engine.services import history
from eva_engine.services.runtime import Eva
from tests.builders import as_, proposal_in
from tests.test_web import app, login

__all__ = ["app"]
YEAR = datetime.now(UTC).year


def test_the_auditor_pages_through_the_years_events_filtered_by_type(app: Flask, eva: Eva) -> None:
    proposal_in(eva, "decided")
    page = history.audit_events(eva, as_("aud"), year=YEAR, action="proposal.transition", limit=3)
    assert [e.action for e in page.events] == ["proposal.transition"] * 3
    assert page.next_after is not None
    rest = history.audit_events(
        eva,
        as_("aud"),
        year=YEAR,
        action="proposal.transition",
        after_seq=page.next_after,
        limit=50,
    )
    assert len(page.events) + len(rest.events) == 7
    assert rest.next_after is None
    assert history.audit_events(eva, as_("aud"), year=YEAR - 1).events == []
    client = app.test_client()
    login(client, "aud")
    html = client.get("/audit/?action=proposal.transition").get_data(as_text=True)
    assert "Lokiketju on eheä" in html
    assert "proposal.transition" in html


def test_only_an_auditor_or_administrator_reads_the_whole_history(app: Flask, eva: Eva) -> None:
    with pytest.raises(PermissionDenied):
        history.audit_events(eva, as_("prep"), year=YEAR)
    client = app.test_client()
    login(client, "prep")
    assert client.get("/audit/").status_code == 403


def test_browsing_the_history_is_itself_logged(eva: Eva, app: Flask) -> None:
    history.audit_events(eva, as_("aud"), year=YEAR)
    page = history.audit_events(eva, as_("aud"), year=YEAR, action="audit.read")
    assert [(e.actor, e.action) for e in page.events] == [("aud", "audit.read")]
