"""The entry point owns the unit of work, on the command line too: every ``eva`` command, run
by the user it is for on realistic records, opens exactly one unit of work that the services
it calls join. A command that only reads never writes (SQLite: no ``BEGIN IMMEDIATE``) and
reads one snapshot at most, except the one short write the law makes of some reads (a
disclosure of a non-public proposal, the auditor's reads: only audit events); a command that
changes opens one writing transaction at most and commits it once; a command that needs no
database opens no transaction. The few commands that manage their own transactions (the
outbox's delivery, the worker, migrations, backup and restore, the demo walk) are the
exceptions docs/architecture.md names. A meta-test fails when a command has no line here,
and the table states each command's unit independently of the code's declaration.

Counted with the engine's own events on a real database (the counter of
``test_transactions_per_request``). Each line has records of its own, so the lines may run
in any order (as pytest-xdist runs them)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import click
import pytest
from click.testing import CliRunner

import web.cli  # noqa: F401 - adds ``serve``: the whole ``eva`` program
from eva_engine.cli import cli
from eva_engine.cli.output import RetryingCommand, Unit
from eva_engine.config import default_workflows_dir
from eva_engine.db.engine import make_engine
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.services.attachments import commands as attachment_commands
from eva_engine.services.comments import commands as comment_commands
from eva_engine.services.follow_up import queries as follow_up_queries
from eva_engine.services.notifications import outbox
from eva_engine.services.people import sso, users
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Publicity, Role
from tests.builders import (
    OPERATOR,
    ORG,
    OTHER_ORG,
    Foreign,
    as_,
    build_foreign,
    build_world,
    document,
    meeting_id,
    proposal_in,
)
from tests.conftest import FreshDatabase, publish_workflows
from tests.exchange_support import sample
from tests.test_follow_up import decided
from tests.test_transactions_per_request import Counter

# One worker builds the module's site once (pytest-xdist --dist loadgroup); the lines do not
# depend on their order.
pytestmark = pytest.mark.xdist_group("cli_transactions")

KEY = hashlib.sha256(b"eva test audit key").hexdigest()
AT = "2027-01-20T16:00+02:00"


@dataclass
class Site:
    eva: Eva
    counter: Counter
    foreign: Foreign
    values: dict[str, str]


@pytest.fixture(scope="module")
def site(
    fresh_databases: FreshDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    engine = make_engine(fresh_databases.new_url())
    upgrade(engine)
    eva = Eva(Database(engine), default_workflows_dir(), tmp_path_factory.mktemp("attachments"))
    publish_workflows(eva)
    build_world(eva)
    foreign = build_foreign(eva)
    # A provider to show whether or not the line that sets one has run (xdist orders lines).
    sso.set_provider(
        eva,
        OPERATOR,
        sso.SetProvider(issuer="https://idp.example", client_id="eva"),
        ORG,
    )
    files = tmp_path_factory.mktemp("cli-files")
    (files / "assessment.json").write_text(document(eva).model_dump_json(), encoding="utf-8")
    hook = outbox.create_webhook(
        eva,
        OPERATOR,
        outbox.CreateWebhook.model_validate({"organisation": ORG, "url": "https://t.example/h"}),
    )
    # Each line has records of its own (under pytest-xdist the lines may run in any order).
    for i, roles in enumerate(((), (Role.EXPERT,), (), ()), start=1):
        users.create_user(
            eva, OPERATOR, users.CreateUser(username=f"kohde{i}", full_name=f"Kohde {i}"), ORG
        )
        for role in roles:
            users.grant_role(
                eva, OPERATOR, users.GrantRole(username=f"kohde{i}", organisation=ORG, role=role)
            )
    decided_pid = decided(eva)
    follow_ups = [
        f.id for f in follow_up_queries.proposal_follow_ups(eva, OPERATOR, decided_pid).follow_ups
    ]
    attached = proposal_in(eva, "draft")
    kept, dropped = (
        attachment_commands.add_attachment(
            eva,
            OPERATOR,
            attachment_commands.AddAttachment(
                proposal_id=attached, file_name=f"liite{i}.txt", content=b"liite\n"
            ),
        ).id
        for i in (1, 2)
    )
    commented = proposal_in(eva, "review")  # a reviewer's two comments: one replied, one resolved
    to_reply, to_resolve = (
        comment_commands.add_comment(
            eva,
            as_("sec"),
            comment_commands.AddComment(proposal_id=commented, text=f"Tarkenna {i}."),
        ).id
        for i in (1, 2)
    )
    values = {
        "commented": str(commented),
        "comment": str(to_reply),
        "other_comment": str(to_resolve),
        "attached": str(attached),
        "attachment": str(kept),
        "dropped": str(dropped),
        "draft": str(proposal_in(eva, "draft")),
        "screening": str(proposal_in(eva, "screening")),
        "assessment": str(proposal_in(eva, "assessment")),
        "signed_off": str(proposal_in(eva, "signed_off")),
        "review": str(proposal_in(eva, "review")),
        "confidential": str(
            proposal_in(
                eva, "review", publicity=Publicity.CONFIDENTIAL, ground="JulkL 24 § 1 mom. 25 k"
            )
        ),
        "meeting": str(meeting_id(eva, "HYVLTK")),
        # the last of two items on the meeting's agenda, to move up
        "agenda_item": [str(proposal_in(eva, "on_agenda")) for _ in range(2)][-1],
        "hook": str(hook.id),
        "message": str(foreign.message),
        "token": str(foreign.token),
        "decided": str(decided_pid),
        "follow_up": str(follow_ups[0]),
        "other_follow_up": str(follow_ups[1]),
        "files": str(files),
        "cases": str(sample("cases-good.csv")),
    }
    counter = Counter()
    counter.install(engine)
    yield Site(eva, counter, foreign, values)
    engine.dispose()


@dataclass(frozen=True)
class Line:
    """``eva PATH ARGS`` (``{name}`` filled from the site's records) and its unit of work."""

    path: str
    unit: Unit
    args: tuple[str, ...] = ()
    law_reads: bool = False  # the law makes this read into an audit event (a short write)
    why: str = ""  # for Unit.OWN: why the command manages its transactions itself

    def argv(self, values: dict[str, str]) -> list[str]:
        return [*self.path.split(), *(a.format(**values) for a in self.args)]


R, W, OWN, NONE = Unit.READ, Unit.WRITE, Unit.OWN, Unit.NONE
LINES = [
    Line(
        "orgs create",
        W,
        ("uusi", "--name-fi", "Uusi", "--case-pattern", r"\d+", "--case-example", "1"),
    ),
    Line("bodies create", W, (ORG, "LASK", "--name-fi", "Laskentajaosto", "--as", "admin")),
    Line("meetings create", W, (ORG, "KH", "--at", AT, "--as", "admin")),
    Line("meetings move", W, ("{meeting}", "{agenda_item}", "--up", "--as", "sec")),
    Line("meetings list", R, ("--as", "sec")),
    Line("meetings show", R, ("{meeting}", "--as", "sec")),
    Line("users create", W, ("laskettu", "--name", "Laskettu", "--org", ORG, "--as", "admin")),
    Line("users grant", W, ("kohde1", "expert", "--org", ORG, "--as", "admin")),
    Line("users revoke", W, ("kohde2", "expert", "--org", ORG, "--as", "admin")),
    Line(
        "users set-password",
        W,
        ("kohde3", "--org", ORG, "--as", "admin", "--password", "uusi-vahva-sana-1"),
    ),
    Line("users disable", W, ("kohde4", "--org", ORG, "--as", "admin")),
    Line("users list", R, ("--org", ORG, "--as", "admin")),
    Line(
        "proposals create",
        W,
        (
            "--org",
            ORG,
            "--case",
            "902/05.00.00/2026",
            "--title-fi",
            "Laskettu",
            "--body",
            "KH",
            "--presenter",
            "pres",
            "--preparer",
            "prep",
            "--as",
            "prep",
        ),
    ),
    Line("proposals show", R, ("{review}", "--as", "prep")),
    Line("proposals show", R, ("{confidential}", "--as", "prep"), law_reads=True),
    Line("proposals list", R, ("--org", ORG, "--as", "prep")),
    Line("proposals texts show", R, ("{review}", "--as", "prep")),
    Line("proposals search", R, ("Laskettu", "--org", ORG, "--as", "prep")),
    Line("comments list", R, ("{commented}", "--as", "prep")),
    Line("comments add", W, ("{commented}", "--text", "Tarkenna.", "--as", "sec")),
    Line("comments reply", W, ("{comment}", "--text", "Tarkennettu.", "--as", "prep")),
    Line("comments resolve", W, ("{other_comment}", "--as", "prep")),
    Line(
        "sso set",
        W,
        ("--org", ORG, "--issuer", "https://idp.example", "--client-id", "eva", "--as", "admin"),
    ),
    Line("sso show", R, ("--org", ORG, "--as", "admin")),  # the site has one to show
    Line("attachments list", R, ("{attached}", "--as", "prep")),
    Line("attachments add", W, ("{attached}", "{files}/assessment.json", "--as", "prep")),
    Line("attachments get", R, ("{attachment}", "-o", "{files}/got.txt", "--as", "prep")),
    Line("attachments remove", W, ("{dropped}", "--as", "prep")),
    Line("proposals texts set", W, ("{draft}", "grounds", "--text", "Laskettu.", "--as", "prep")),
    Line("proposals fire", W, ("{draft}", "start_screening", "--as", "prep")),
    Line("proposals schedule", W, ("{signed_off}", "--meeting", "{meeting}", "--as", "sec")),
    Line(
        "screening record",
        W,
        ("{screening}", "--outcome", "light", "--criterion", "many_residents", "--as", "prep"),
    ),
    Line("assessment import", W, ("{assessment}", "{files}/assessment.json", "--as", "prep")),
    Line("assessment schema", NONE),
    Line("history", R, ("{review}", "--as", "prep")),
    Line("history", R, ("{confidential}", "--as", "aud"), law_reads=True),
    Line("import proposals", W, ("{cases}", "--org", ORG, "--source", "dynasty", "--as", "admin")),
    Line("export summary", R, ("{review}", "--as", "prep", "--format", "html")),
    Line("export summary", R, ("{confidential}", "--as", "prep"), law_reads=True),
    Line("export assessment", R, ("{review}", "--as", "prep")),
    Line("follow-up list", R, ("{decided}", "--as", "prep")),
    Line(
        "follow-up record",
        W,
        (
            "{follow_up}",
            *("--value", "12 %", "--measured-on", "2026-11-30", "--source", "own_data"),
            *("--outcome", "better", "--as", "prep"),
        ),
    ),
    Line(
        "follow-up waive", W, ("{other_follow_up}", "--reason", "Ei mitattavissa.", "--as", "prep")
    ),
    Line(
        "report",
        R,
        ("--period", "2026", "--org", ORG, "--format", "csv", "--public", "--out", "-"),
    ),
    Line(
        "report",
        R,
        ("--period", "2026", "--org", ORG, "--format", "csv", "--out", "-", "--as", "aud"),
        law_reads=True,
    ),
    Line("tokens create", W, ("--as", "prep", "--name", "laskuri", "--scope", "read")),
    Line("tokens list", R, ("--as", "prep")),
    Line("tokens revoke", W, ("{token}", "--as", "muu_admin")),
    Line("webhooks create", W, ("--org", ORG, "--url", "https://x.example/h", "--as", "admin")),
    Line("webhooks list", R, ("--org", ORG, "--as", "admin")),
    Line("webhooks disable", W, ("{hook}", "--as", "admin")),
    Line("outbox list", R, ("--org", OTHER_ORG, "--as", "muu_admin")),
    Line("outbox retry", W, ("{message}", "--as", "muu_admin")),
    Line("notifications scan", W),
    Line("workflows list", R),
    Line("workflows publish", W),
    Line("workflows validate", NONE),
    Line("workflows diagram", NONE),
    Line("audit verify", R),
    Line("audit checkpoint", R, ("--out", "{files}/checkpoint.json")),
    # The exceptions (docs/architecture.md, "Units of work").
    Line("db upgrade", OWN, why="migrations run on a connection of their own, one per step"),
    Line(
        "outbox deliver",
        OWN,
        why="each message is claimed, then settled in a transaction of its own after sending",
    ),
    Line("worker", OWN, why="passes of 'outbox deliver' until stopped"),
    Line("backup", OWN, why="copies every table in one snapshot of its own, then the files"),
    Line("restore", OWN, why="fills a fresh database in batches, then verifies it"),
    Line("demo", OWN, why="walks a proposal step by step, each step a transaction as in use"),
    Line(
        "demo-data",
        OWN,
        why="two years of history, each step a transaction at the time it would have been taken",
    ),
    Line("serve", OWN, why="the web server: each request owns its unit of work (web.errors)"),
    Line("setup", OWN, why="migrates first (like 'db upgrade'), then sets up in one transaction"),
]
MEASURED = [line for line in LINES if line.unit is not OWN]


def commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_every_command_has_a_line_here_with_the_unit_it_declares() -> None:
    declared = {
        path: command.unit if isinstance(command, RetryingCommand) else None
        for path, command in commands(cli)
    }
    stated = {line.path: line.unit for line in LINES}
    assert sorted(set(declared) - set(stated)) == []
    assert sorted(set(stated) - set(declared)) == []  # no stale line
    assert {p: u for p, u in declared.items() if u != stated[p]} == {}
    assert all(line.why for line in LINES if line.unit is OWN)


def _run(site: Site, line: Line) -> Counter:
    argv = line.argv(site.values)
    env = {"EVA_AUDIT_KEY": KEY}

    def command() -> None:
        result = CliRunner().invoke(cli, argv, obj=site.eva, env=env)
        assert result.exit_code == 0, (argv, result.output, result.stderr, result.exception)

    return site.counter.measure(command)


@pytest.mark.parametrize(
    "line", MEASURED, ids=lambda line: f"{line.path} {' '.join(line.args)}"[:60]
)
def test_a_command_opens_one_unit_of_work_and_a_read_never_writes(site: Site, line: Line) -> None:
    counted = _run(site, line)
    ours = counted.ours
    writing = [t for t in ours if t.writing]
    reading = [t for t in ours if not t.writing]
    if line.unit is NONE:
        assert ours == []
        return
    assert len(writing) <= 1, "more than one writing transaction in one command"
    if line.unit is R:
        assert len(reading) <= 1, "a reading command read more than one snapshot"
        if line.law_reads:
            assert len(writing) == 1, "a disclosure the law makes into an event was not recorded"
        if writing:
            assert line.law_reads, "a reading command wrote"
            assert writing[0].short_write, writing[0].statements
    else:
        assert len(writing) == 1, "a changing command committed nothing"
        assert reading == [], "a changing command read outside its transaction"
    if counted.backend == "sqlite":  # every writing transaction, and only those, locks
        assert counted.immediate == len(writing)
