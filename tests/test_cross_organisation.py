"""Every target checked: an action on a user, grant, token, webhook, body, meeting or proposal
checks the caller's right over *that target's* organisation. testila's administrator (and its
other people) try every command of the ``eva`` program and every API operation on muualla's
records: each is not found (another organisation's records do not exist for them), nothing is
recorded and nothing changes. Meta-tests fail when a command with ``--as`` or an API operation
is added without a case here.

Also here: the sign scope (the presenter's sign-off needs re-authentication in the service)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click
import pytest
from flask import Flask
from pydantic import ValidationError
from sqlalchemy import select

from eva_engine.cli import cli
from eva_engine.errors import NotFound, PermissionDenied
from eva_engine.models import Base
from eva_engine.services.attachments import commands as attachments
from eva_engine.services.attachments import queries as attachment_queries
from eva_engine.services.notifications import outbox
from eva_engine.services.people import accounts, tokens, users
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import Role, ScreeningOutcome, TokenScope
from tests.api_support import Api, api_app, make_token, problem
from tests.builders import (
    OPERATOR,
    ORG,
    OTHER_ORG,
    Foreign,
    as_,
    build_foreign,
    document,
    new_proposal,
    proposal_in,
    required_questions,
    state_of,
)
from tests.comment_support import foreign_comment
from tests.conftest import World
from tests.exchange_support import run, sample
from tests.follow_up_support import foreign_follow_up
from web import cli as program

__all__ = ["api_app", "program"]  # fixtures; the whole ``eva`` program

SKIPPED_TABLES = {"rate_limit_counters", "idempotency_records"}  # counters, not records
VOLATILE = {"api_tokens": {"last_used_at"}}  # a token's use is noted, not audited


def snapshot(eva: Eva) -> dict[str, list[str]]:
    """Every row of every table (the audit history included): equal snapshots, no change."""
    with eva.reading() as uow:
        out = {}
        for table in Base.metadata.sorted_tables:
            if table.name in SKIPPED_TABLES:
                continue
            columns = [c for c in table.columns if c.name not in VOLATILE.get(table.name, ())]
            rows = uow.session.execute(select(*columns)).all()
            out[table.name] = sorted(repr(tuple(row)) for row in rows)
        return out


def changed(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


@pytest.fixture
def foreign(eva: Eva, world: World) -> Foreign:
    found = build_foreign(eva)
    attached = attachments.add_attachment(
        eva,
        OPERATOR,
        attachments.AddAttachment(
            proposal_id=found.proposal, file_name="liite.txt", content=b"muualla\n"
        ),
    )
    found = replace(found, follow_up=foreign_follow_up(eva, found), attachment=attached.id)
    return replace(found, comment=foreign_comment(eva, found))


# the command line ------------------------------------------------------------------------------
NOT_FOUND, FORBIDDEN = 3, 4  # exit codes (eva_engine.cli.output)


@dataclass(frozen=True)
class Command:
    """``eva ARGS`` by a user of testila on a record of muualla; ``{proposal}`` etc. name
    muualla's records (``Foreign``), ``{file}`` an input file, ``{own_proposal}`` one of
    testila's. The answer is ``code`` (not found, unless named), and nothing changes."""

    path: str  # the command, e.g. "users disable"
    args: tuple[str, ...]
    code: int = NOT_FOUND

    def argv(self, values: dict[str, str]) -> list[str]:
        return [*self.path.split(), *(a.format(**values) for a in self.args)]


AT = "2027-01-20T16:00+02:00"
COMMANDS = [
    Command("users create", ("uusi.muu", "--name", "Uusi", "--org", OTHER_ORG, "--as", "admin")),
    Command("users grant", ("outsider", "expert", "--org", OTHER_ORG, "--as", "admin")),
    Command("users grant", ("outsider", "expert", "--org", ORG, "--as", "admin")),
    Command("users revoke", ("outsider", "preparer", "--org", OTHER_ORG, "--as", "admin")),
    Command("users revoke", ("outsider", "preparer", "--org", ORG, "--as", "admin")),
    Command(
        "users set-password",
        ("outsider", "--org", ORG, "--as", "admin", "--password", "uusi-vahva-sana-1"),
    ),
    Command("users set-password", ("outsider", "--as", "admin", "--password", "uusi-vahva-sana-1")),
    Command("users disable", ("outsider", "--org", ORG, "--as", "admin")),
    Command("users disable", ("muu_admin", "--as", "admin")),
    Command("users list", ("--org", OTHER_ORG, "--as", "admin")),
    Command("tokens revoke", ("{token}", "--as", "admin")),
    Command(
        "webhooks create", ("--org", OTHER_ORG, "--url", "https://x.example/h", "--as", "admin")
    ),
    Command("webhooks list", ("--org", OTHER_ORG, "--as", "admin")),
    Command(
        "sso set",
        (
            "--org",
            OTHER_ORG,
            "--issuer",
            "https://idp.example",
            "--client-id",
            "x",
            "--as",
            "admin",
        ),
    ),
    Command("sso show", ("--org", OTHER_ORG, "--as", "admin")),
    Command("webhooks disable", ("{webhook}", "--as", "admin")),
    Command("bodies create", (OTHER_ORG, "UUSI", "--name-fi", "Uusi elin", "--as", "admin")),
    Command("meetings create", (OTHER_ORG, "KH", "--at", AT, "--as", "admin")),
    Command("meetings create", (OTHER_ORG, "KH", "--at", AT, "--as", "sec")),
    Command("meetings move", ("{meeting}", "{proposal}", "--up", "--as", "sec")),
    Command("meetings move", ("{meeting}", "{own_proposal}", "--down", "--as", "sec")),
    Command("meetings show", ("{meeting}", "--as", "sec")),
    Command(
        "orgs create",
        (
            "uusikunta",
            "--name-fi",
            "Uusi",
            "--case-pattern",
            r"\d+",
            "--case-example",
            "1",
            "--as",
            "admin",
        ),
        code=FORBIDDEN,  # not another organisation's record: the operator's task
    ),
    Command(
        "proposals create",
        (
            "--org",
            OTHER_ORG,
            "--case",
            "901/05.00.00/2026",
            "--title-fi",
            "Vieras",
            "--body",
            "KH",
            "--presenter",
            "outsider",
            "--preparer",
            "outsider",
            "--as",
            "admin",
        ),
    ),
    Command("proposals show", ("{proposal}", "--as", "admin")),
    Command("proposals texts show", ("{proposal}", "--as", "admin")),
    Command("proposals texts set", ("{proposal}", "grounds", "--text", "x", "--as", "admin")),
    Command("proposals list", ("--org", OTHER_ORG, "--as", "admin")),
    Command("proposals search", ("901/05.00.00/2026", "--org", OTHER_ORG, "--as", "admin")),
    Command("attachments add", ("{proposal}", "{file}", "--as", "admin")),
    Command("attachments list", ("{proposal}", "--as", "admin")),
    Command("attachments get", ("{attachment}", "-o", "{file}.out", "--as", "admin")),
    Command("attachments remove", ("{attachment}", "--as", "admin")),
    Command("proposals fire", ("{proposal}", "start_screening", "--as", "admin")),
    Command("proposals fire", ("{proposal}", "withdraw", "--reason", "x", "--as", "prep")),
    Command("proposals schedule", ("{proposal}", "--meeting", "{meeting}", "--as", "sec")),
    Command("proposals schedule", ("{own_proposal}", "--meeting", "{meeting}", "--as", "sec")),
    Command(
        "screening record",
        ("{proposal}", "--outcome", "light", "--criterion", "many_residents", "--as", "admin"),
    ),
    Command("assessment import", ("{proposal}", "{file}", "--as", "admin")),
    Command("history", ("{proposal}", "--as", "aud")),
    Command("outbox list", ("--org", OTHER_ORG, "--as", "admin")),
    Command("outbox retry", ("{message}", "--as", "admin")),
    Command("export summary", ("{proposal}", "--as", "admin")),
    Command("export assessment", ("{proposal}", "--as", "admin")),
    Command("import proposals", ("{cases}", "--org", OTHER_ORG, "--as", "admin")),
    Command("follow-up list", ("{proposal}", "--as", "admin")),
    Command(
        "follow-up record",
        (
            "{follow_up}",
            "--value",
            "1",
            "--measured-on",
            "2026-01-01",
            "--source",
            "own_data",
            "--outcome",
            "better",
            "--as",
            "admin",
        ),
    ),
    Command("follow-up waive", ("{follow_up}", "--reason", "x", "--as", "admin")),
    Command("comments list", ("{proposal}", "--as", "sec")),
    Command("comments add", ("{proposal}", "--text", "x", "--as", "sec")),
    Command("comments reply", ("{comment}", "--text", "x", "--as", "sec")),
    Command("comments resolve", ("{comment}", "--as", "sec")),
    Command("report", ("--period", "2026", "--org", OTHER_ORG, "--out", "-", "--as", "aud")),
    Command(
        "report", ("--period", "2026", "--org", OTHER_ORG, "--public", "--out", "-", "--as", "prep")
    ),
]

# Commands with --as that have no target in another organisation, and why.
NO_TARGET = {
    "tokens create": "makes a token of the --as user themself",
    "tokens list": "lists the --as user's own tokens",
    "meetings list": "lists the meetings of the bodies where the --as user is the secretary",
    "workflows publish": "definitions are shared by every organisation (any administrator)",
}


def commands_with_as(group: click.Group, prefix: str = "") -> Iterator[str]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from commands_with_as(command, path + " ")
        elif any("--as" in p.opts for p in command.params if isinstance(p, click.Option)):
            yield path


def test_every_command_with_as_has_a_cross_organisation_case() -> None:
    covered = {c.path for c in COMMANDS} | set(NO_TARGET)
    assert sorted(set(commands_with_as(cli)) - covered) == []
    assert sorted(covered - set(commands_with_as(cli))) == []  # no stale case


@pytest.fixture
def values(eva: Eva, foreign: Foreign, tmp_path: Path) -> dict[str, str]:
    doc = tmp_path / "assessment.json"
    doc.write_text(document(eva).model_dump_json(), encoding="utf-8")
    return {
        "proposal": str(foreign.proposal),
        "meeting": str(foreign.meeting),
        "webhook": str(foreign.webhook),
        "token": str(foreign.token),
        "message": str(foreign.message),
        "file": str(doc),
        "cases": str(sample("cases-good.csv")),
        "own_proposal": str(proposal_in(eva, "reviewed")),
        "follow_up": str(foreign.follow_up),
        "comment": str(foreign.comment),
        "attachment": str(foreign.attachment),
    }


@pytest.mark.parametrize("case", COMMANDS, ids=lambda c: f"{c.path}:{COMMANDS.index(c)}")
def test_no_command_reaches_another_organisations_records(
    eva: Eva, values: dict[str, str], case: Command
) -> None:
    before = snapshot(eva)
    result = run(eva, *case.argv(values), code=case.code)
    assert result.stdout == ""
    assert changed(before, snapshot(eva)) == []


def test_the_issues_examples_are_refused(eva: Eva, foreign: Foreign) -> None:
    """The administrator of testila on muualla's people (issue 8, item 1)."""
    before = snapshot(eva)
    for args in (
        ("users", "disable", "outsider", "--org", ORG, "--as", "admin"),
        (
            "users",
            "set-password",
            "outsider",
            "--org",
            ORG,
            "--as",
            "admin",
            "--password",
            "x" * 14,
        ),
        ("users", "disable", "muu_admin", "--org", ORG, "--as", "admin"),
    ):
        refused = run(eva, *args, code=NOT_FOUND)
        assert "no user outsider" in refused.stderr or "no user muu_admin" in refused.stderr
    assert changed(before, snapshot(eva)) == []
    # The same commands by muualla's own administrator work.
    run(eva, "users", "disable", "outsider", "--as", foreign.admin)
    run(eva, "users", "set-password", "outsider", "--as", foreign.admin, "--password", "x" * 14)


def test_another_organisations_attachment_is_neither_offered_for_removal_nor_removed(
    eva: Eva, foreign: Foreign
) -> None:
    """testila's preparer on muualla's attachment: the page's confirmation and the command
    every channel builds (page, API, CLI) find nothing and change nothing; the shell operator
    removes it."""
    assert foreign.attachment is not None
    before = snapshot(eva)
    with pytest.raises(NotFound):
        attachment_queries.removal(eva, as_("prep"), foreign.attachment)
    with pytest.raises(NotFound):
        attachments.remove_attachment(
            eva, as_("prep"), attachments.RemoveAttachment(attachment_id=foreign.attachment)
        )
    assert changed(before, snapshot(eva)) == []
    attachments.remove_attachment(
        eva, OPERATOR, attachments.RemoveAttachment(attachment_id=foreign.attachment)
    )
    assert "attachments" in changed(before, snapshot(eva))


@pytest.mark.parametrize(
    "args",
    [
        ("users", "disable", "prep2", "--as", "sec"),
        ("users", "set-password", "prep2", "--as", "sec", "--password", "uusi-vahva-sana-1"),
        ("users", "grant", "prep2", "expert", "--org", ORG, "--as", "sec"),
        ("users", "revoke", "prep2", "preparer", "--org", ORG, "--as", "sec"),
        ("users", "create", "uusi", "--name", "Uusi", "--org", ORG, "--as", "sec"),
        ("users", "list", "--org", ORG, "--as", "sec"),
        ("bodies", "create", ORG, "UUSI", "--name-fi", "Uusi", "--as", "sec"),
        ("meetings", "create", ORG, "HYVLTK", "--at", AT, "--as", "sec_tek"),
        ("webhooks", "create", "--org", ORG, "--url", "https://x.example/h", "--as", "sec"),
        ("webhooks", "list", "--org", ORG, "--as", "sec"),
    ],
    ids=lambda a: " ".join(a[:3]),
)
def test_in_the_own_organisation_a_role_that_does_not_allow_it_is_forbidden(
    eva: Eva, world: World, args: tuple[str, ...]
) -> None:
    before = snapshot(eva)
    run(eva, *args, code=FORBIDDEN)
    assert changed(before, snapshot(eva)) == []


def test_a_users_home_organisations_administrator_manages_them(eva: Eva, foreign: Foreign) -> None:
    """The control: each action above succeeds for the administrator of the target's home."""
    admin = foreign.admin
    run(eva, "users", "create", "uusi.muu", "--name", "Uusi", "--org", OTHER_ORG, "--as", admin)
    run(eva, "users", "grant", "uusi.muu", "expert", "--org", OTHER_ORG, "--as", admin)
    run(eva, "users", "revoke", "uusi.muu", "expert", "--org", OTHER_ORG, "--as", admin)
    listed = json.loads(run(eva, "--json", "users", "list", "--as", admin).stdout)
    assert {u["username"] for u in listed} == {"outsider", "muu_admin", "uusi.muu"}
    assert {u["organisation"] for u in listed} == {OTHER_ORG}
    run(eva, "tokens", "revoke", str(foreign.token), "--as", admin)
    run(eva, "webhooks", "disable", str(foreign.webhook), "--as", admin)
    run(eva, "bodies", "create", OTHER_ORG, "UUSI", "--name-fi", "Uusi", "--as", admin)
    run(eva, "meetings", "create", OTHER_ORG, "UUSI", "--at", AT, "--as", admin)


def test_a_grant_in_another_organisation_is_the_operators(eva: Eva, world: World) -> None:
    view = users.grant_role(
        eva, OPERATOR, users.GrantRole(username="outsider", organisation=ORG, role=Role.EXPERT)
    )
    assert (view.organisation, view.role) == (ORG, Role.EXPERT)
    # testila's administrator still cannot manage outsider (at home in muualla) ...
    with pytest.raises(NotFound, match=r"no user .outsider."):
        users.revoke_role(
            eva,
            as_("admin"),
            users.GrantRole(username="outsider", organisation=ORG, role=Role.EXPERT),
        )
    # ... nor sees them among testila's users.
    assert "outsider" not in {u.username for u in users.list_users(eva, as_("admin"))}


def test_a_grant_is_revoked_only_as_named(eva: Eva, world: World) -> None:
    """An unknown body is not found; it never stands for the organisation-wide grant."""
    before = snapshot(eva)
    run(eva, "users", "revoke", "prep2", "preparer", "--org", ORG, "--body", "EIOLE", code=3)
    assert changed(before, snapshot(eva)) == []
    grants = next(u for u in users.list_users(eva, OPERATOR) if u.username == "prep2").grants
    assert [g.role for g in grants] == [Role.PREPARER]


def test_every_new_user_has_a_home(eva: Eva, world: World) -> None:
    made = users.create_user(
        eva, as_("admin"), users.CreateUser(username="uusi", full_name="Uusi"), organisation=ORG
    )
    assert made.organisation == ORG
    run(eva, "users", "create", "kotiton", "--name", "Kotiton", code=2)  # --org is required
    homeless = users.create_user(
        eva, OPERATOR, users.CreateUser(username="kotiton", full_name="Kotiton")
    )
    assert homeless.organisation is None
    with pytest.raises(NotFound, match=r"no user .kotiton."):  # only the operator manages them
        accounts.set_active(eva, as_("admin"), "kotiton", active=False)
    users.grant_role(
        eva, OPERATOR, users.GrantRole(username="kotiton", organisation=OTHER_ORG, role=Role.EXPERT)
    )
    homes = {u.username: u.organisation for u in users.list_users(eva, OPERATOR)}
    assert homes["kotiton"] == OTHER_ORG  # the first grant gave the home
    assert homes["outsider"] == OTHER_ORG
    assert {homes[name] for name in ("admin", "prep", "sec")} == {ORG}


def test_an_administrator_revokes_only_their_own_organisations_tokens(
    eva: Eva, foreign: Foreign
) -> None:
    own = tokens.create_token(
        eva, as_("prep"), tokens.CreateToken(name="x", scopes=[TokenScope.READ])
    ).details.id
    with pytest.raises(NotFound, match="no API token"):
        tokens.revoke_token(eva, as_("admin"), foreign.token)
    with pytest.raises(NotFound, match="no API token"):  # tokens are personal
        tokens.revoke_token(eva, as_("sec"), own)
    assert tokens.revoke_token(eva, as_("admin"), own).revoked_at is not None


def test_webhooks_are_their_organisations_administrators(eva: Eva, foreign: Foreign) -> None:
    with pytest.raises(PermissionDenied):  # outsider holds roles in muualla, not admin
        outbox.disable_webhook(eva, as_("outsider"), foreign.webhook)
    assert [h.id for h in outbox.list_webhooks(eva, as_(foreign.admin))] == [foreign.webhook]
    assert outbox.list_webhooks(eva, as_("admin")) == []
    assert outbox.disable_webhook(eva, as_(foreign.admin), foreign.webhook).active is False


# the API ---------------------------------------------------------------------------------------
P = "/proposals/{proposal}"


@dataclass(frozen=True)
class Operation:
    """An API request by ``user`` (a read, write and sign token) on muualla's records."""

    endpoint: str
    method: str
    path: str
    body: Callable[[Eva], Any] | None = None
    user: str = "admin"
    status: int = 404


def _question(eva: Eva) -> str:
    return required_questions(eva, ScreeningOutcome.LIGHT)[0][1]


def _answers(eva: Eva) -> dict[str, Any]:
    return {
        "answers": [
            {
                "question": _question(eva),
                "alternative": 0,
                "direction": "positive",
                "justification": "x",
            }
        ]
    }


OPERATIONS = [
    Operation("list_bodies", "GET", f"/organisations/{OTHER_ORG}/bodies"),
    Operation("list_meetings", "GET", f"/organisations/{OTHER_ORG}/meetings"),
    Operation("meeting_agenda", "GET", "/meetings/{meeting}/agenda", user="sec"),
    Operation("list_proposals", "GET", f"/proposals?organisation={OTHER_ORG}"),
    Operation("list_proposals", "GET", f"/proposals?organisation={OTHER_ORG}&q=901"),
    Operation(
        "organisation_report", "GET", f"/organisations/{OTHER_ORG}/report?period=2026", user="aud"
    ),
    Operation(
        "create_proposal",
        "POST",
        "/proposals",
        lambda _e: {
            "organisation": OTHER_ORG,
            "case_number": "902/05.00.00/2026",
            "title_fi": "Vieras",
            "body": "KH",
            "presenter": "outsider",
        },
        user="prep",
    ),
    Operation("get_proposal", "GET", P),
    Operation("get_texts", "GET", P + "/texts"),
    Operation("upload_attachment", "POST", P + "/attachments", user="prep"),
    Operation("list_attachments", "GET", P + "/attachments"),
    Operation("download_attachment", "GET", "/attachments/{attachment}"),
    Operation("remove_attachment", "DELETE", "/attachments/{attachment}", user="prep"),
    Operation(
        "put_texts",
        "PUT",
        P + "/texts",
        lambda _e: {"texts": [{"kind": "grounds", "content": "x"}]},
    ),
    Operation("schedule", "PUT", P + "/meeting", lambda _e: {"meeting_id": "{meeting}"}, "sec"),
    Operation(
        "schedule", "PUT", "/proposals/{own}/meeting", lambda _e: {"meeting_id": "{meeting}"}, "sec"
    ),
    Operation("fire", "POST", P + "/transitions/start_screening", user="prep"),
    Operation("fire", "POST", P + "/transitions/sign_off", user="pres"),
    Operation("proposal_history", "GET", P + "/history", user="aud"),
    Operation(
        "record_screening",
        "PUT",
        P + "/screening",
        lambda _e: {"outcome": "light", "criteria": ["many_residents"]},
        user="prep",
    ),
    Operation("get_assessment", "GET", P + "/assessment"),
    Operation("get_questions", "GET", P + "/questions"),
    Operation(
        "put_assessment", "PUT", P + "/assessment", lambda e: document(e).model_dump(mode="json")
    ),
    Operation(
        "put_alternatives",
        "PUT",
        P + "/alternatives",
        lambda _e: {"alternatives": [{"position": 0, "title": "Nykytila"}]},
    ),
    Operation("post_answers", "POST", P + "/answers", _answers, user="prep"),
    Operation(
        "post_mitigation",
        "POST",
        P + "/mitigations",
        lambda e: {"question": _question(e), "description": "Lievennys."},
    ),
    Operation("delete_mitigation", "DELETE", P + "/mitigations?question=x.y.z"),
    Operation(
        "post_indicator",
        "POST",
        P + "/indicators",
        lambda _e: {"name": "Mittari", "responsible": "x", "due": "2027-12-31"},
    ),
    Operation("delete_indicator", "DELETE", P + "/indicators?name=Mittari"),
    Operation("proposal_assignments", "GET", P + "/assignments"),
    Operation(
        "reassign", "POST", "/assignments/{assignment}/reassign", lambda _e: {"assignee": "prep"}
    ),
    Operation("proposal_follow_ups", "GET", P + "/follow-ups", user="aud"),
    Operation(
        "record_follow_up",
        "POST",
        "/follow-ups/{follow_up}/result",
        lambda _e: {
            "value": "1",
            "measured_on": "2026-01-01",
            "source_kind": "own_data",
            "outcome": "better",
        },
    ),
    Operation(
        "waive_follow_up", "POST", "/follow-ups/{follow_up}/waive", lambda _e: {"reason": "x"}
    ),
    Operation("proposal_comments", "GET", P + "/comments", user="sec"),
    Operation("add_comment", "POST", P + "/comments", lambda _e: {"text": "x"}, user="sec"),
    Operation(
        "reply_to_comment", "POST", "/comments/{comment}/replies", lambda _e: {"text": "x"}, "sec"
    ),
    Operation("resolve_comment", "POST", "/comments/{comment}/resolve", user="sec"),
    Operation(
        "create_body",
        "POST",
        f"/organisations/{OTHER_ORG}/bodies",
        lambda _e: {"code": "UUSI", "name_fi": "Uusi"},
    ),
    Operation(
        "create_meeting",
        "POST",
        f"/organisations/{OTHER_ORG}/meetings",
        lambda _e: {"body": "KH", "starts_at": AT},
        user="sec",
    ),
    Operation("get_meeting", "GET", "/meetings/{meeting}", user="sec"),
    Operation(
        "add_agenda_item",
        "POST",
        "/meetings/{meeting}/agenda",
        lambda _e: {"proposal_id": "{proposal}"},
        user="sec",
    ),
    Operation(
        "add_agenda_item",
        "POST",
        "/meetings/{meeting}/agenda",
        lambda _e: {"proposal_id": "{own}"},
        user="sec",
    ),
    Operation("remove_agenda_item", "DELETE", "/meetings/{meeting}/agenda/{proposal}", user="sec"),
    Operation("list_candidates", "GET", "/meetings/{meeting}/candidates", user="sec"),
    Operation(
        "move_agenda_item",
        "POST",
        "/meetings/{meeting}/agenda/{proposal}/move",
        lambda _e: {"direction": "up"},
        user="sec",
    ),
    Operation("list_users", "GET", f"/organisations/{OTHER_ORG}/users"),
    Operation(
        "create_user",
        "POST",
        f"/organisations/{OTHER_ORG}/users",
        lambda _e: {"username": "uusi.muu", "full_name": "Uusi"},
    ),
    Operation("disable_user", "POST", f"/organisations/{OTHER_ORG}/users/outsider/disable"),
    Operation("enable_user", "POST", f"/organisations/{OTHER_ORG}/users/outsider/enable"),
    Operation(
        "grant_role",
        "POST",
        f"/organisations/{OTHER_ORG}/users/outsider/grants",
        lambda _e: {"role": "expert"},
    ),
    Operation(
        "revoke_role", "DELETE", f"/organisations/{OTHER_ORG}/users/outsider/grants?role=preparer"
    ),
    Operation("revoke_my_token", "DELETE", "/tokens/{token}"),
    Operation("get_sso", "GET", f"/organisations/{OTHER_ORG}/sso"),
    Operation(
        "put_sso",
        "PUT",
        f"/organisations/{OTHER_ORG}/sso",
        lambda _e: {"issuer": "https://idp.example", "client_id": "x"},
    ),
    Operation("get_summary", "GET", P + "/summary"),
    Operation("summary_document", "GET", P + "/summary/document"),
    Operation("export_assessment", "GET", P + "/assessment/export"),
    # testila's secretary hands testila's task to muualla's user: refused, nothing changes.
    Operation(
        "reassign",
        "POST",
        "/assignments/{own_assignment}/reassign",
        lambda _e: {"assignee": "outsider"},
        user="sec",
        status=422,
    ),
]

API_NO_TARGET = {
    "list_organisations": "lists the organisations where the token's user holds a role",
    "my_assignments": "lists the token's user's own assignments",
    "my_follow_ups": "lists the token's user's own follow-ups",
    "list_my_tokens": "lists the token's user's own tokens",
    "create_my_token": "makes a token of the token's user themself",
    "list_workflows": "definitions are shared by every organisation (any administrator)",
    "publish_workflows": "definitions are shared by every organisation (any administrator)",
    "verify_audit_chain": "walks the chain of the token user's own organisation",
    "last_audit_check": "reads the check of the token user's own organisation",
    "make_audit_checkpoint": "signs the chain of the token user's own organisation",
}


def test_every_api_operation_has_a_cross_organisation_case() -> None:
    from web.api.framework import ROUTES  # noqa: PLC0415 - filled when the app module loads

    operations = {r.endpoint for r in ROUTES if not r.public}
    covered = {o.endpoint for o in OPERATIONS} | set(API_NO_TARGET)
    assert sorted(operations - covered) == []
    assert sorted(covered - operations) == []


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda o: f"{o.method} {o.endpoint} as {o.user}")
def test_no_api_operation_reaches_another_organisations_records(
    api_app: Flask, eva: Eva, foreign: Foreign, op: Operation
) -> None:
    own = new_proposal(eva)
    own_assignment = proposal_in(eva, "draft")
    with eva.reading() as uow:
        assignment = uow.repos.open_assignments(own_assignment)[0].id
    values = {
        "proposal": foreign.proposal,
        "meeting": foreign.meeting,
        "assignment": foreign.assignment,
        "own": own,
        "own_assignment": assignment,
        "follow_up": foreign.follow_up,
        "comment": foreign.comment,
        "attachment": foreign.attachment,
        "token": foreign.token,
    }
    api = Api(
        api_app.test_client(),
        make_token(eva, op.user, (TokenScope.READ, TokenScope.WRITE, TokenScope.SIGN)),
    )
    body = op.body(eva) if op.body else None
    if body is not None:
        body = json.loads(
            json.dumps(body)
            .replace('"{meeting}"', str(foreign.meeting))
            .replace('"{proposal}"', str(foreign.proposal))
            .replace('"{own}"', str(own))
        )
    before = snapshot(eva)
    path = op.path.format(**values)
    response = getattr(api, op.method.lower())(path, **({"body": body} if body else {}))
    problem(response, op.status)
    assert changed(before, snapshot(eva)) == []


# the sign scope --------------------------------------------------------------------------------
def test_default_token_scopes_never_include_sign(api_app: Flask, eva: Eva) -> None:
    assert TokenScope.SIGN not in tokens.DEFAULT_SCOPES
    made = run(eva, "--json", "tokens", "create", "--as", "pres", "--name", "oletus")
    assert json.loads(made.stdout)["details"]["scopes"] == ["read"]
    help_text = run(eva, "tokens", "create", "--help").stdout
    assert "sign" in help_text
    with pytest.raises(ValidationError, match="give the write scope too"):
        tokens.CreateToken(name="x", scopes=[TokenScope.READ, TokenScope.SIGN])


def test_a_write_token_cannot_sign_off_and_a_sign_token_can(api_app: Flask, eva: Eva) -> None:
    pid = proposal_in(eva, "reviewed")
    writer = Api(api_app.test_client(), make_token(eva, "pres"))  # read and write
    before = snapshot(eva)
    refused = problem(writer.post(f"/proposals/{pid}/transitions/sign_off"), 403)
    assert refused["code"] == "permission_denied"
    assert "sign scope" in refused["detail"]
    assert changed(before, snapshot(eva)) == []
    signer = Api(
        api_app.test_client(),
        make_token(eva, "pres", (TokenScope.READ, TokenScope.WRITE, TokenScope.SIGN)),
    )
    response = signer.post(f"/proposals/{pid}/transitions/sign_off")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert state_of(eva, pid) == "signed_off"
    # A sign token is still its user with that user's roles: a preparer's does not sign off;
    # and no other step needs the sign scope.
    again = proposal_in(eva, "reviewed")
    prep = Api(
        api_app.test_client(),
        make_token(eva, "prep", (TokenScope.READ, TokenScope.WRITE, TokenScope.SIGN)),
    )
    problem(prep.post(f"/proposals/{again}/transitions/sign_off"), 403)
    assert state_of(eva, again) == "reviewed"
    draft = new_proposal(eva)
    plain = Api(api_app.test_client(), make_token(eva, "prep"))
    assert plain.post(f"/proposals/{draft}/transitions/start_screening").status_code == 200


def test_the_service_refuses_an_unconfirmed_sign_off_from_any_client(
    eva: Eva, world: World
) -> None:
    pid = proposal_in(eva, "reviewed")
    before = snapshot(eva)
    for client in ("web", "api:token:1", "tests"):
        with pytest.raises(PermissionDenied) as caught:
            transitions.fire(eva, Caller("pres", client), pid, "sign_off")
        assert caught.value.text is not None  # a translated message says what to do
        assert "sign" in str(caught.value.text)
    assert changed(before, snapshot(eva)) == []
    transitions.fire(eva, Caller("pres", "web", confirmed=True), pid, "sign_off")
    assert state_of(eva, pid) == "signed_off"


def test_the_command_line_signs_off(eva: Eva, world: World) -> None:
    pid = proposal_in(eva, "reviewed")
    run(eva, "proposals", "fire", str(pid), "sign_off", "--as", "pres")
    assert state_of(eva, pid) == "signed_off"
    assert "re-authentication" in run(eva, "proposals", "fire", "--help").stdout


def test_the_web_token_page_offers_sign_only_when_chosen(api_app: Flask, eva: Eva) -> None:
    from tests.test_web import PASSWORD, csrf, login  # noqa: PLC0415

    accounts.set_password(eva, OPERATOR, "pres", PASSWORD)
    client = api_app.test_client()
    login(client, "pres")
    html = client.get("/account/tokens/").get_data(as_text=True)
    assert 'value="sign"' in html
    boxes = re.findall(r"<input[^>]*>", html)
    assert [b for b in boxes if 'value="sign"' in b and "checked" not in b]  # offered, unticked
    bad = client.post(
        "/account/tokens/",
        data={
            "name": "x",
            "scopes": ["read", "sign"],
            "expires_days": "5",
            "csrf_token": csrf(html),
        },
    )
    assert bad.status_code == 422
    assert tokens.list_tokens(eva, as_("pres")) == []
    made = client.post(
        "/account/tokens/",
        data={
            "name": "allekirjoitus",
            "scopes": ["read", "write", "sign"],
            "expires_days": "5",
            "csrf_token": csrf(html),
        },
    )
    assert made.status_code == 200
    assert tokens.list_tokens(eva, as_("pres"))[0].scopes == ["read", "sign", "write"]
