"""Review comments: a reviewer comments on a question, an area or the whole assessment, the
preparer answers or resolves; never the preparer as reviewer (four eyes); open comments show on
My work and block no step; the API and the command line do the same."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import ValidationError

from eva_engine.errors import InvalidInput, NotFound, PermissionDenied
from eva_engine.services.comments import commands, queries
from eva_engine.services.history import trail
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import CommentStatus, CommentTarget, ScreeningOutcome
from tests.builders import OPERATOR, as_, build_foreign, proposal_in, required_questions, state_of
from tests.comment_support import foreign_comment
from tests.conftest import World
from tests.exchange_support import run, run_json
from tests.test_web import app, csrf, login

__all__ = ["app"]

pytestmark = pytest.mark.postgres


def _question(eva: Eva) -> tuple[str, str]:
    return required_questions(eva, ScreeningOutcome.LIGHT)[0]


def _comment(eva: Eva, pid: int, who: str = "sec", **kw: Any) -> queries.CommentView:
    cmd = commands.AddComment(proposal_id=pid, text=kw.pop("text", "Tarkenna."), **kw)
    return commands.add_comment(eva, as_(who), cmd)


def test_a_reviewer_comments_and_the_preparer_replies_and_resolves(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "review")
    area, question = _question(eva)
    whole = _comment(eva, pid, text="Koko arvio on suppea.")
    on_area = _comment(eva, pid, "expert", target_kind=CommentTarget.AREA, target_key=area)
    on_question = _comment(
        eva, pid, target_kind=CommentTarget.QUESTION, target_key=question, text="Lähde?"
    )
    assert on_question.area_id == area
    assert on_question.target_title is not None
    replied = commands.reply(
        eva, as_("prep"), commands.ReplyToComment(comment_id=on_question.id, text="Lisätty.")
    )
    assert [r.author for r in replied.replies] == ["Prep"]
    done = commands.resolve(eva, as_("prep"), commands.ResolveComment(comment_id=on_question.id))
    assert done.status == CommentStatus.RESOLVED
    assert done.resolved_by == "Prep"
    listed = queries.proposal_comments(eva, as_("aud"), pid)
    assert (listed.open, listed.total) == (2, 3)
    assert [g.target_kind for g in listed.groups] == [
        CommentTarget.ASSESSMENT,
        CommentTarget.AREA,
        CommentTarget.QUESTION,
    ]
    assert listed.groups[0].comments[0].id == whole.id
    assert listed.groups[1].comments[0].author == "Expert"
    assert not listed.can_comment
    assert not listed.can_answer
    with pytest.raises(InvalidInput):
        commands.resolve(eva, as_("sec"), commands.ResolveComment(comment_id=on_question.id))
    commands.resolve(eva, as_("sec"), commands.ResolveComment(comment_id=on_area.id))
    actions = [e.action for e in trail.proposal_history(eva, as_("aud"), pid)]
    assert "review_comment.create" in actions
    assert "review_comment_reply.create" in actions
    assert actions.count("review_comment.resolve") == 2


def test_the_preparer_cannot_comment_as_reviewer(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "review", preparer="prep_expert")
    with pytest.raises(PermissionDenied):
        _comment(eva, pid, "prep_expert")
    with pytest.raises(PermissionDenied):  # a preparer without the review role
        _comment(eva, pid, "prep")
    view = queries.proposal_comments(eva, as_("prep_expert"), pid)
    assert not view.can_comment
    assert view.can_answer
    assert queries.proposal_comments(eva, as_("sec"), pid).can_comment
    with pytest.raises(PermissionDenied):  # a comment is always a named person's
        commands.add_comment(eva, OPERATOR, commands.AddComment(proposal_id=pid, text="x"))


def test_only_the_preparer_and_reviewers_answer(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "review")
    comment = _comment(eva, pid)
    for who in ("aud", "prep2", "pres"):
        with pytest.raises(PermissionDenied):
            commands.reply(eva, as_(who), commands.ReplyToComment(comment_id=comment.id, text="x"))
        with pytest.raises(PermissionDenied):
            commands.resolve(eva, as_(who), commands.ResolveComment(comment_id=comment.id))


def test_an_unknown_target_is_refused(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "review")
    with pytest.raises(InvalidInput):
        _comment(eva, pid, target_kind=CommentTarget.QUESTION, target_key="ei.ole")
    with pytest.raises(InvalidInput):
        _comment(eva, pid, target_kind=CommentTarget.AREA)


def test_open_comments_show_on_my_work_and_block_no_step(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "review")
    first = _comment(eva, pid, text="Ensimmäinen")
    _comment(eva, pid, "expert", text="Toinen")
    mine = queries.my_open_comments(eva, as_("prep"))
    assert mine.total == 2
    assert [i.text for i in mine.items] == ["Ensimmäinen", "Toinen"]
    assert queries.my_open_comments(eva, as_("prep2")).total == 0
    commands.resolve(eva, as_("prep"), commands.ResolveComment(comment_id=first.id))
    assert queries.my_open_comments(eva, as_("prep")).total == 1
    transitions.fire(eva, as_("sec"), pid, "pass_review")  # an open comment blocks nothing
    assert state_of(eva, pid) == "reviewed"
    assert queries.proposal_comments(eva, as_("prep"), pid).open == 1


def test_another_organisations_comments_are_not_found(eva: Eva, world: World) -> None:
    foreign = build_foreign(eva)
    cid = foreign_comment(eva, foreign)
    with pytest.raises(NotFound):
        queries.proposal_comments(eva, as_("admin"), foreign.proposal)
    with pytest.raises(NotFound):
        _comment(eva, foreign.proposal)
    with pytest.raises(NotFound):
        commands.reply(eva, as_("sec"), commands.ReplyToComment(comment_id=cid, text="x"))
    with pytest.raises(NotFound):
        commands.resolve(eva, as_("sec"), commands.ResolveComment(comment_id=cid))


def test_the_text_limit_is_the_fields(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "review")
    with pytest.raises(ValidationError):
        commands.AddComment(proposal_id=pid, text="x" * 10_001)
    with pytest.raises(ValidationError):
        commands.AddComment(proposal_id=pid, text="   ")


# the command line --------------------------------------------------------------------------
def test_the_command_line_comments_replies_resolves_and_lists(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "review")
    area, _ = _question(eva)
    made = run_json(
        eva,
        "comments",
        "add",
        str(pid),
        "--on",
        "area",
        "--target",
        area,
        "--text",
        "Laajenna",
        "--as",
        "sec",
    )
    cid = str(made["id"])
    refused = run(eva, "comments", "add", str(pid), "--text", "Oma", "--as", "prep", code=4)
    assert refused.stdout == ""
    run(eva, "comments", "reply", cid, "--text", "Laajensin.", "--as", "prep")
    listed = run(eva, "--language", "en", "comments", "list", str(pid), "--as", "prep").stdout
    assert "1 open, 1 in all" in listed
    assert "Laajensin." in listed
    finnish = run(eva, "--language", "fi", "comments", "list", str(pid), "--as", "prep").stdout
    assert "avoimia 1, kaikkiaan 1" in finnish
    assert " klo " in finnish  # Finnish times
    mine = run_json(eva, "comments", "list", "--as", "prep")
    assert mine["total"] == 1
    run(eva, "comments", "resolve", cid, "--as", "prep")
    assert run_json(eva, "comments", "list", "--as", "prep")["total"] == 0


# the pages ---------------------------------------------------------------------------------
def _client(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    login(client, username)
    return client, csrf(client.get("/").get_data(as_text=True))


def test_the_pages_comment_reply_resolve_and_my_work_counts(
    app: Flask, eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "review")
    area, question = _question(eva)
    page = f"/proposals/{pid}"
    sec, token = _client(app, "sec")
    assert "Kommentoi koko arviointia" in sec.get(page).get_data(as_text=True) or (
        'name="target_kind" value="assessment"' in sec.get(page).get_data(as_text=True)
    )
    made = sec.post(
        f"/proposals/{pid}/comments",
        data={
            "csrf_token": token,
            "text": "Lähde puuttuu.",
            "target_kind": "question",
            "target_key": question,
            "back": f"/proposals/{pid}/areas/{area}",
        },
    )
    assert made.status_code == 302
    assert made.location.endswith(f"/proposals/{pid}/areas/{area}")
    area_page = sec.get(made.location).get_data(as_text=True)
    assert "Lähde puuttuu." in area_page
    refused = sec.post(f"/proposals/{pid}/comments", data={"csrf_token": token, "text": ""})
    assert refused.status_code == 422  # the proposal page again, the error at the field
    assert 'id="comment-new-assessment-all-error"' in refused.get_data(as_text=True)
    prep, prep_token = _client(app, "prep")
    shown = prep.get(page).get_data(as_text=True)
    assert "Lähde puuttuu." in shown
    assert 'name="target_kind"' not in shown  # the preparer gets no comment form
    work = prep.get("/").get_data(as_text=True)
    assert "Lähde puuttuu." in work
    cid = queries.proposal_comments(eva, as_("prep"), pid).groups[0].comments[0].id
    replied = prep.post(
        f"/proposals/{pid}/comments/{cid}/reply", data={"csrf_token": prep_token, "text": "Ok."}
    )
    assert replied.status_code == 302
    resolved = prep.post(
        f"/proposals/{pid}/comments/{cid}/resolve", data={"csrf_token": prep_token}
    )
    assert resolved.status_code == 302
    assert "Lähde puuttuu." not in prep.get("/").get_data(as_text=True)
    aud, _ = _client(app, "aud")
    read = aud.get(page).get_data(as_text=True)
    assert "Ok." in read
    assert "/resolve" not in read


def _field(html: str, fid: str) -> str:
    """The comment field ``fid``'s block: its label, error and text area."""
    start = html.index(f'<label for="{fid}">')
    return html[start : html.index("</textarea>", start)]


def test_a_refused_comment_comes_back_on_its_page_with_the_error_at_the_field(
    app: Flask, eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "review")
    area, question = _question(eva)
    back = f"/proposals/{pid}/areas/{area}"
    sec, token = _client(app, "sec")
    fid = f"comment-new-question-{question}"
    sent = {"csrf_token": token, "target_kind": "question", "target_key": question, "back": back}
    empty = sec.post(f"/proposals/{pid}/comments", data={**sent, "text": "  "})
    assert empty.status_code == 422
    html = empty.get_data(as_text=True)
    assert 'class="error-summary"' in html
    assert "autofocus" in html.split('class="error-summary"', 1)[1].split(">", 1)[0]
    assert f'<a href="#{fid}">Kommentti: Täytä tämä kenttä: se on pakollinen.</a>' in html
    at_field = _field(html, fid)
    assert f'<p class="field-error" id="{fid}-error">' in at_field
    assert "Täytä tämä kenttä: se on pakollinen." in at_field
    assert 'aria-invalid="true"' in at_field
    assert f'aria-describedby="{fid}-error"' in at_field
    assert html.count('class="field-error"') == 1  # only the form that was sent
    assert 'id="area-comments-heading"' in html  # the area's own page
    long = "Liian pitkä kommentti. " * 500  # 11,500 characters
    too_long = sec.post(f"/proposals/{pid}/comments", data={**sent, "text": long})
    assert too_long.status_code == 422
    html = too_long.get_data(as_text=True)
    assert "Liian pitkä: " in _field(html, fid)
    assert "enintään 10000" in _field(html, fid)
    assert long.strip()[:200] in _field(html, fid)  # what was typed is kept
    assert queries.proposal_comments(eva, as_("aud"), pid).total == 0  # nothing was saved


def test_a_refused_reply_comes_back_on_the_proposal_page(
    app: Flask, eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "review")
    comment = _comment(eva, pid)
    prep, token = _client(app, "prep")
    refused = prep.post(
        f"/proposals/{pid}/comments/{comment.id}/reply",
        data={"csrf_token": token, "text": "", "back": f"/proposals/{pid}"},
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert (
        f'<a href="#reply-{comment.id}">Vastaus: Täytä tämä kenttä: se on pakollinen.</a>' in html
    )
    assert f'id="reply-{comment.id}-error"' in _field(html, f"reply-{comment.id}")
    assert 'id="comments-heading"' in html  # the proposal's page
    done = prep.post(f"/proposals/{pid}/comments/{comment.id}/resolve", data={"csrf_token": token})
    assert done.status_code == 302
    again = prep.post(f"/proposals/{pid}/comments/{comment.id}/resolve", data={"csrf_token": token})
    assert again.status_code == 422  # already resolved: said in the error summary
    summary = again.get_data(as_text=True).split('class="error-summary"', 1)[1].split("</div>")[0]
    assert "<li>" in summary
