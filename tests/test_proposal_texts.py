"""The texts of the minutes (issue 13, part 1): the Virrat case (HYVLTK 13.06.2023 § 26,
257/05.00.00/2023) with its presentation text, decision proposal and decision as made, written
by the preparer while preparing and by the secretary after the meeting, each change in the
proposal's history and the audit chain, and in the summary export, but never in a public one of
a non-public proposal. The service, the API, the web UI and the printed appendix."""

from __future__ import annotations

import hashlib
import re

import pytest
from flask import Flask

from eva_engine.config import default_workflows_dir
from eva_engine.errors import InvalidInput, PermissionDenied
from eva_engine.models import PublishedDefinition
from eva_engine.rendering.messages import problem_text
from eva_engine.rendering.summary import render_summary
from eva_engine.services.exchange import summaries
from eva_engine.services.history import trail
from eva_engine.services.meetings import agendas
from eva_engine.services.people import accounts
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.proposals import texts as proposal_texts
from eva_engine.services.proposals.texts import TextIn, WriteTexts
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import Publicity, TextKind, TextLanguage
from eva_engine.workflow.loader import canonical_json, load_catalogue
from tests.builders import (
    AFTER,
    OPERATOR,
    STEPS,
    as_,
    document,
    meeting_id,
    new_proposal,
    screen,
    settle_follow_ups,
    state_of,
)
from tests.conftest import World
from tests.test_web import PASSWORD, app, csrf, login

__all__ = ["app"]

# The minutes of Virrat, HYVLTK 13.06.2023 § 26 (the seeds), shortened to three paragraphs.
GROUNDS = (
    "Terve Kunta -verkosto on kuntien hyvinvoinnin ja terveyden edistämisen tueksi vuonna 1996 "
    "perustettu verkosto, jota koordinoi Terveyden ja hyvinvoinnin laitos THL.\n\n"
    "Verkoston toiminnan tavoitteena on kuntalaisten hyvinvoinnin ja terveyden edistäminen.\n\n"
    "Liitteenä hakemus Terve Kunta-verkoston jäseneksi."
)
PROPOSAL = (
    "Hyvinvointilautakunta päättää hakea Terve Kunta- verkoston jäsenyyttä, nimeää kunnan "
    "yhdyshenkilöksi hyvinvointijohtajan sekä keskuudestaan vastuullisen luottamushenkilön."
)
DECISION = (
    "Hyvinvointilautakunta päätti ehdotuksen mukaan ja Virtain kaupunki hakee Terve Kunta "
    "jäsenyyttä. Luottamushenkilöksi valittiin hyvinvointilautakunnasta Keijo Kaleva."
)


def walk(eva: Eva, pid: int, state: str, start: str = "draft") -> None:
    """Take the proposal along the normal path from ``start`` to ``state``."""
    who = {"preparer": "prep", "presenter": "pres"}
    for trigger, actor in STEPS[AFTER[start] : AFTER[state]]:
        if trigger == "begin_assessment":
            screen(eva, pid)
        if trigger == "submit_for_review":
            from eva_engine.services.assessment import documents  # noqa: PLC0415

            documents.import_assessment(eva, as_("prep"), pid, document(eva))
        if trigger == "place_on_agenda":
            proposal_commands.schedule(
                eva,
                as_("sec"),
                proposal_commands.ScheduleProposal(proposal_id=pid, meeting_id=meeting_id(eva)),
            )
        if trigger == "close":
            settle_follow_ups(eva, pid)
        transitions.fire(eva, as_(who.get(actor, actor)), pid, trigger)


def write(eva: Eva, who: str, pid: int, *texts: tuple[TextKind, str, str]) -> None:
    proposal_texts.write_texts(
        eva,
        as_(who),
        WriteTexts(
            proposal_id=pid,
            texts=[
                TextIn(kind=kind, language=TextLanguage(language), content=content)
                for kind, language, content in texts
            ],
        ),
    )


def virrat_case(eva: Eva, publicity: Publicity = Publicity.PUBLIC) -> int:
    """Grounds and decision proposal written while preparing, the decision after the meeting."""
    ground = None if publicity == Publicity.PUBLIC else "JulkL 24 § 1 mom. 25 k"
    pid = new_proposal(eva, publicity=publicity, ground=ground)
    write(
        eva,
        "prep",
        pid,
        (TextKind.GROUNDS, "fi", GROUNDS),
        (TextKind.DECISION_PROPOSAL, "fi", PROPOSAL),
        (TextKind.DECISION_PROPOSAL, "sv", "Välfärdsnämnden beslutar ansöka om medlemskap."),
    )
    walk(eva, pid, "decided")
    write(eva, "sec", pid, (TextKind.DECISION, "fi", DECISION))
    return pid


def test_the_virrat_case_is_recorded_with_its_texts_and_the_summary_export_holds_them(
    eva: Eva, world: World
) -> None:
    pid = virrat_case(eva)
    view = proposal_texts.texts(eva, as_("sec"), pid)
    assert view.content("grounds") == GROUNDS
    assert view.content("decision", "fi") == DECISION
    assert [t.written_by for t in view.texts if t.kind == TextKind.DECISION] == ["sec"]
    assert view.writable == [TextKind.DECISION]  # the secretary, after the meeting
    text = render_summary(summaries.summary(eva, as_("prep"), pid), "text", "fi")
    assert "Esittelyteksti" in text
    assert "Liitteenä hakemus Terve Kunta-verkoston jäseneksi." in text
    assert "Päätösehdotus\n" + PROPOSAL in text
    assert "Päätös\n" + DECISION in text
    swedish = render_summary(summaries.summary(eva, as_("prep"), pid), "html", "sv")
    assert "<h2>Beslutsförslag</h2>" in swedish
    assert "Välfärdsnämnden beslutar ansöka om medlemskap." in swedish
    assert "Keijo Kaleva" in swedish  # no Swedish decision: the Finnish one stands


def test_the_preparer_writes_while_preparing_and_the_secretary_after_the_meeting(
    eva: Eva, world: World
) -> None:
    pid = new_proposal(eva)
    with pytest.raises(InvalidInput) as refused:
        write(eva, "prep", pid, (TextKind.DECISION, "fi", DECISION))
    # The text and the states the workflow allows, by their titles in the reader's language.
    assert problem_text(refused.value.problems[0], "fi") == (
        "texts[0].kind: Päätös: tätä tekstiä ei voi kirjoittaa tässä tilassa; sen voi "
        "kirjoittaa tiloissa: Päätetty, Seurannassa, Päättynyt, Hylätty, Poistettu esityslistalta."
    )
    assert "Beslutad, Under uppföljning" in problem_text(refused.value.problems[0], "sv")
    with pytest.raises(PermissionDenied):
        write(eva, "sec", pid, (TextKind.GROUNDS, "fi", GROUNDS))
    assert proposal_texts.texts(eva, as_("sec"), pid).writable == []
    write(eva, "prep", pid, (TextKind.GROUNDS, "fi", GROUNDS))
    walk(eva, pid, "decided")
    with pytest.raises(InvalidInput):
        write(eva, "prep", pid, (TextKind.GROUNDS, "fi", "Muutettu jälkikäteen."))
    assert proposal_texts.texts(eva, as_("prep"), pid).content("grounds") == GROUNDS


def pin_to_version_3(eva: Eva, pid: int) -> None:
    """Pin the proposal to ``eva-standard`` v3 as it was stored, before each state declared
    its ``texts`` (as a proposal started before version 4 was published is)."""
    data = load_catalogue(default_workflows_dir()).bundle("eva-standard").model_dump(mode="json")
    data["workflow"]["version"] = 3
    for state in data["workflow"]["states"]:
        del state["texts"]
    content = canonical_json(data)
    digest = hashlib.sha256(content.encode()).hexdigest()
    with eva.uow() as uow:
        uow.repos.add(
            PublishedDefinition(
                kind="workflow",
                name="eva-standard",
                version=3,
                content_hash=digest,
                content=content,
                source_file="workflows/eva-standard.yaml",
            )
        )
        proposal = uow.repos.proposal(pid, for_update=True)
        assert proposal is not None
        proposal.workflow_version, proposal.workflow_hash = 3, digest
        uow.commit()


def test_a_proposal_on_a_version_before_the_states_declared_their_texts_keeps_the_old_rule(
    eva: Eva, world: World
) -> None:
    pid = new_proposal(eva)
    pin_to_version_3(eva, pid)
    assert proposal_texts.texts(eva, as_("prep"), pid).writable == [
        TextKind.GROUNDS,
        TextKind.DECISION_PROPOSAL,
    ]
    with pytest.raises(InvalidInput):
        write(eva, "prep", pid, (TextKind.DECISION, "fi", DECISION))
    with pytest.raises(PermissionDenied):
        write(eva, "sec", pid, (TextKind.GROUNDS, "fi", GROUNDS))
    write(eva, "prep", pid, (TextKind.GROUNDS, "fi", GROUNDS))
    walk(eva, pid, "decided")
    assert proposal_texts.texts(eva, as_("sec"), pid).writable == [TextKind.DECISION]
    with pytest.raises(InvalidInput):
        write(eva, "prep", pid, (TextKind.GROUNDS, "fi", "Muutettu jälkikäteen."))
    write(eva, "sec", pid, (TextKind.DECISION, "fi", DECISION))
    view = proposal_texts.texts(eva, as_("sec"), pid)
    assert (view.content("grounds"), view.content("decision")) == (GROUNDS, DECISION)


def test_every_change_of_a_text_is_in_the_history_and_the_chain_verifies(
    eva: Eva, world: World
) -> None:
    pid = new_proposal(eva)
    version = proposal_texts.texts(eva, as_("prep"), pid).row_version
    write(eva, "prep", pid, (TextKind.GROUNDS, "fi", "Ensimmäinen versio."))
    write(eva, "prep", pid, (TextKind.GROUNDS, "fi", GROUNDS))
    write(eva, "prep", pid, (TextKind.GROUNDS, "fi", GROUNDS))  # unchanged: no event
    after = proposal_texts.texts(eva, as_("prep"), pid).row_version
    write(eva, "prep", pid, (TextKind.GROUNDS, "fi", ""))  # removed
    history = trail.proposal_history(eva, as_("prep"), pid)
    events = [e for e in history if e.action.startswith("proposal_text.")]
    assert [e.action for e in events] == [
        "proposal_text.create",
        "proposal_text.update",
        "proposal_text.delete",
    ]
    assert events[1].before == {"content": "Ensimmäinen versio."}
    assert (events[1].after or {})["content"] == GROUNDS
    assert after == version + 2  # each real change bumps the proposal's version
    assert proposal_texts.texts(eva, as_("prep"), pid).texts == []
    assert trail.verify(eva).ok


def test_a_public_export_of_a_non_public_proposal_leaves_its_texts_out(
    eva: Eva, world: World
) -> None:
    pid = virrat_case(eva, Publicity.PARTLY_CONFIDENTIAL)
    internal = summaries.summary(eva, as_("prep"), pid)
    assert {t.kind for t in internal.texts} == set(TextKind)
    public = summaries.summary(eva, as_("prep"), pid, public=True)
    assert public.texts == []
    assert public.texts_omitted == 4
    text = render_summary(public, "text", "fi")
    assert "Keijo Kaleva" not in text
    assert "Terve Kunta -verkosto" not in text
    assert "Esittelyteksti, Päätösehdotus, Päätös\nJätetty pois julkisesta versiosta." in text


def test_the_printed_appendix_of_a_meeting_shows_the_decision_proposal(
    eva: Eva, world: World
) -> None:
    pid = new_proposal(eva)
    write(eva, "prep", pid, (TextKind.DECISION_PROPOSAL, "fi", PROPOSAL))
    walk(eva, pid, "on_agenda")
    item = next(
        i for i in agendas.agenda(eva, as_("sec"), meeting_id(eva)).items if i.proposal_id == pid
    )
    assert item.text("decision_proposal") == PROPOSAL
    assert item.text("decision_proposal", "sv") == PROPOSAL  # no Swedish: the Finnish one


# the web UI -------------------------------------------------------------------------------------
def test_the_proposal_page_has_the_form_for_the_texts_the_user_may_write(
    app: Flask, eva: Eva
) -> None:
    pid = new_proposal(eva)
    client = app.test_client()
    login(client, "prep")
    page = client.get(f"/proposals/{pid}").get_data(as_text=True)
    assert 'id="text-grounds-fi"' in page
    assert 'id="text-decision-fi"' not in page  # not before the meeting
    assert 'maxlength="100000"' in page
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    assert version is not None
    response = client.post(
        f"/proposals/{pid}/texts",
        data={
            "csrf_token": csrf(page),
            "version": version.group(1),
            "grounds_fi": GROUNDS,
            "grounds_sv": "",
            "decision_proposal_fi": PROPOSAL,
            "decision_proposal_sv": "",
        },
    )
    assert response.status_code == 302
    assert proposal_texts.texts(eva, OPERATOR, pid).content("decision_proposal") == PROPOSAL
    shown = client.get(f"/proposals/{pid}").get_data(as_text=True)
    assert "Tekstit tallennettiin." in shown
    assert "nimeää kunnan" in shown
    stale = client.post(
        f"/proposals/{pid}/texts",
        data={"csrf_token": csrf(page), "version": version.group(1), "grounds_fi": "Uusi."},
    )
    assert stale.status_code == 409
    kept = stale.get_data(as_text=True)
    assert "Uusi." in kept  # what was typed is kept, to be saved again
    assert "nimeää kunnan" in kept  # and what was not sent is shown as stored
    assert "Joku muutti päätösehdotusta" in kept


def test_the_secretary_sees_the_texts_but_no_form_before_the_meeting(app: Flask, eva: Eva) -> None:
    pid = new_proposal(eva)
    write(eva, "prep", pid, (TextKind.GROUNDS, "fi", GROUNDS))
    accounts.set_password(eva, OPERATOR, "sec", PASSWORD)
    client = app.test_client()
    login(client, "sec")
    page = client.get(f"/proposals/{pid}").get_data(as_text=True)
    assert "Pöytäkirjan tekstit" in page
    assert "Terve Kunta -verkosto on kuntien" in page
    assert 'id="text-grounds-fi"' not in page
    assert state_of(eva, pid) == "draft"
