"""The auditor browses the year's history with filters; others may not; reading is logged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import text

from eva_engine.errors import PermissionDenied
from eva_engine.services.history import trail
from eva_engine.services.runtime import Eva
from tests.api_support import Api, api_app, make_token
from tests.audit_support import chain_id, triggers_bypassed
from tests.builders import ORG, as_, proposal_in
from tests.test_web import app, csrf, login

# PostgreSQL too: time filters in SQL and the REPEATABLE READ verify
pytestmark = pytest.mark.postgres

__all__ = ["api_app", "app"]
YEAR = datetime.now(UTC).year


def test_the_auditor_pages_through_the_years_events_filtered_by_type(app: Flask, eva: Eva) -> None:
    proposal_in(eva, "decided")
    page = trail.audit_events(eva, as_("aud"), year=YEAR, action="proposal.transition", limit=3)
    assert [e.action for e in page.events] == ["proposal.transition"] * 3
    assert page.next_after is not None
    rest = trail.audit_events(
        eva,
        as_("aud"),
        year=YEAR,
        action="proposal.transition",
        after_seq=page.next_after,
        limit=50,
    )
    assert len(page.events) + len(rest.events) == 7
    assert rest.next_after is None
    assert trail.audit_events(eva, as_("aud"), year=YEAR - 1).events == []
    client = app.test_client()
    login(client, "aud")
    html = client.get("/audit/?action=proposal.transition").get_data(as_text=True)
    assert "Koko ketjua ei ole vielä varmennettu" in html
    assert "Työnkulun vaihe" in html  # the event type, in Finnish
    assert '<option value="proposal.transition" selected>' in html


def test_the_auditor_verifies_the_whole_chain_and_the_check_is_recorded(
    app: Flask, eva: Eva
) -> None:
    proposal_in(eva, "review")
    client = app.test_client()
    login(client, "aud")
    html = client.get("/audit/").get_data(as_text=True)
    assert client.post("/audit/verify", data={}).status_code == 400  # no CSRF token: refused
    assert "Lokiketju varmennettiin" not in client.get("/audit/").get_data(as_text=True)
    response = client.post("/audit/verify", data={"csrf_token": csrf(html)})
    assert response.status_code == 302
    page = client.get("/audit/").get_data(as_text=True)
    assert "Lokiketju on eheä" in page  # the flash
    assert "Lokiketju varmennettiin" in page
    checks = trail.audit_events(eva, as_("aud"), year=YEAR, action="audit.chain_verified")
    assert [(e.actor, e.after and e.after["ok"]) for e in checks.events] == [("aud", True)]
    preparer = app.test_client()
    login(preparer, "prep")
    token = csrf(preparer.get("/").get_data(as_text=True))
    assert preparer.post("/audit/verify", data={"csrf_token": token}).status_code == 403


def test_a_proposal_history_reads_in_the_users_language_and_checks_its_own_events(
    app: Flask, eva: Eva
) -> None:
    pid = proposal_in(eva, "review")
    client = app.test_client()
    login(client, "aud")
    html = client.get(f"/proposals/{pid}/history").get_data(as_text=True)
    assert "tapahtumaa on varmennettu" in html
    assert "Työnkulun vaihe" in html
    assert '<th scope="row">Tila</th><td>avoin</td><td>valmis</td>' in html  # a task done
    assert "Tarkastettavana" in html or "Tarkastus" in html  # a state title, not its id
    assert "proposal.transition" not in html
    # Ids read as what they stand for: the preparer by name, the body by its code.
    assert '<th scope="row">Valmistelija</th><td>–</td><td>Prep</td>' in html
    assert '<th scope="row">Toimielin</th><td>–</td><td>HYVLTK</td>' in html


def test_only_an_auditor_or_administrator_reads_the_whole_history(app: Flask, eva: Eva) -> None:
    with pytest.raises(PermissionDenied):
        trail.audit_events(eva, as_("prep"), year=YEAR)
    client = app.test_client()
    login(client, "prep")
    assert client.get("/audit/").status_code == 403


def test_browsing_the_history_is_itself_logged(eva: Eva, app: Flask) -> None:
    trail.audit_events(eva, as_("aud"), year=YEAR)
    page = trail.audit_events(eva, as_("aud"), year=YEAR, action="audit.read")
    assert [(e.actor, e.action) for e in page.events] == [("aud", "audit.read")]


def test_the_years_events_hold_the_records_of_the_organisations_proposals_too(
    app: Flask, eva: Eva
) -> None:
    """Answers and tasks carry no organisation of their own, but they are in the
    organisation's chain, and so in its auditor's year."""
    proposal_in(eva, "review")
    events = trail.audit_events(eva, as_("aud"), year=YEAR, limit=500).events
    kinds = {e.entity.split(":")[0] for e in events}
    assert {"proposal", "assignment", "answer", "screening"} <= kinds, kinds


def _tamper(eva: Eva) -> None:
    """Event 3 of the organisation's chain altered behind eva's back."""
    with triggers_bypassed(eva) as conn:
        conn.execute(
            text("UPDATE audit_events SET reason = 'forged' WHERE chain_id = :c AND seq = 3"),
            {"c": chain_id(eva, ORG)},
        )


def test_a_broken_chain_is_shown_to_the_auditor_in_finnish(app: Flask, eva: Eva) -> None:
    proposal_in(eva, "review")
    _tamper(eva)
    client = app.test_client()
    login(client, "aud")
    html = client.get("/audit/").get_data(as_text=True)
    assert client.post("/audit/verify", data={"csrf_token": csrf(html)}).status_code == 302
    page = client.get("/audit/").get_data(as_text=True)
    assert "Lokiketju on katkennut tapahtuman 3 kohdalla." in page  # the flash
    assert "Lokiketju todettiin katkenneeksi" in page
    assert (
        f"organisaation {ORG} ketju: tapahtumaa 3 on muutettu tai se on siirretty toisesta "
        "ketjusta: sen sisältö ei vastaa sen tiivistettä"
    ) in page
    for english in ("the chain of", "was altered", "does not match its hash"):
        assert english not in page
    # the check as recorded: its English and its code, besides the message ids
    recorded = trail.last_chain_check(eva, as_("aud"))
    assert recorded is not None
    assert recorded.code == "event_altered_or_moved"
    assert recorded.problem == (
        f"the chain of {ORG}: event 3 was altered or moved from another chain: its content does "
        "not match its hash"
    )


def test_the_api_says_the_broken_chain_in_the_requests_language_with_a_stable_code(
    api_app: Flask, eva: Eva
) -> None:
    proposal_in(eva, "review")
    _tamper(eva)
    auditor = Api(api_app.test_client(), make_token(eva, "aud"))
    finnish = auditor.post("/audit/verify", headers={"Accept-Language": "fi"}).get_json()
    assert (finnish["ok"], finnish["first_bad_seq"], finnish["code"]) == (
        False,
        3,
        "event_altered_or_moved",
    )
    assert finnish["problem"].startswith(f"organisaation {ORG} ketju: tapahtumaa 3 on muutettu")
    swedish = auditor.get("/audit/verify", headers={"Accept-Language": "sv"}).get_json()["check"]
    assert swedish["code"] == "event_altered_or_moved"
    assert swedish["problem"].startswith(f"kedjan för {ORG}: händelse 3 har ändrats")
    english = auditor.get("/audit/verify", headers={"Accept-Language": "en"}).get_json()["check"]
    assert english["problem"].startswith(f"the chain of {ORG}: event 3 was altered")
