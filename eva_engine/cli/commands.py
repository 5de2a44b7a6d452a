"""``eva`` subcommands. Each one: options → service command → service → printed result."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from eva_engine import demo
from eva_engine.cli.context import AS_HELP, as_user, caller, engine
from eva_engine.cli.output import RetryingGroup, Unit, cli_language, emit, reported
from eva_engine.cli.params import DATETIME, ID, WHOLE, choices
from eva_engine.config import Settings
from eva_engine.errors import N_, InvalidInput, Problem, Text
from eva_engine.rendering.labels import HistoryWords, Labels
from eva_engine.rendering.language import DEFAULT, LANGUAGES, Speaker
from eva_engine.rendering.messages import problem_text
from eva_engine.services import definitions
from eva_engine.services.assessment import documents, screening
from eva_engine.services.history import trail
from eva_engine.services.installation import schema
from eva_engine.services.meetings import commands as agenda_commands
from eva_engine.services.people import accounts, organisations, users
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.steps import transitions
from eva_engine.services.views import HistoryEventView
from eva_engine.vocabulary import (
    BodyKind,
    Language,
    OrganisationKind,
    Publicity,
    Role,
    ScreeningOutcome,
)
from eva_engine.workflow.diagram import mermaid
from eva_engine.workflow.loader import load_catalogue


@click.group(cls=RetryingGroup)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    help="The language of the messages: fi, sv or en (default: the locale's).",
)
@click.version_option(package_name="eva")
def cli(as_json: bool, language: str | None) -> None:
    """eva: ex-ante impact assessment (EVA) of municipal decisions.

    The database is EVA_DATABASE_URL (default: a SQLite file under instance/)."""


# db -------------------------------------------------------------------------------------------
@cli.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade", unit=Unit.OWN)
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    with reported():
        revision = schema.upgrade(engine())
        emit({"revision": revision}, lambda: click.echo(f"Database at revision {revision}."))


# organisations, bodies, meetings ---------------------------------------------------------------
@cli.group()
def orgs() -> None:
    """Organisations: municipalities and wellbeing services counties."""


@orgs.command("create")
@click.argument("code")
@click.option("--name-fi", required=True)
@click.option("--name-sv")
@click.option("--kind", type=choices(OrganisationKind), default="municipality", show_default=True)
@click.option(
    "--case-pattern", required=True, help=r"Regular expression, e.g. '\d+/\d\d\.\d\d\.\d\d/\d{4}'"
)
@click.option("--case-example", required=True, help="e.g. 257/05.00.00/2023")
@as_user
def orgs_create(
    code: str,
    name_fi: str,
    name_sv: str | None,
    kind: str,
    case_pattern: str,
    case_example: str,
    username: str | None,
) -> None:
    """Create an organisation with its own case-number format (only the operator: no --as)."""
    with reported():
        view = organisations.create_organisation(
            engine(),
            caller(username),
            organisations.CreateOrganisation(
                code=code,
                name_fi=name_fi,
                name_sv=name_sv,
                kind=OrganisationKind(kind),
                case_number_pattern=case_pattern,
                case_number_example=case_example,
            ),
        )
        emit(view, lambda: click.echo(f"Organisation {view.code} created (id {view.id})."))


@cli.group()
def bodies() -> None:
    """Decision-making bodies (toimielimet)."""


@bodies.command("create")
@click.argument("organisation")
@click.argument("code")
@click.option("--name-fi", required=True)
@click.option("--name-sv")
@click.option("--kind", type=choices(BodyKind), default="committee", show_default=True)
@as_user
def bodies_create(
    organisation: str, code: str, name_fi: str, name_sv: str | None, kind: str, username: str | None
) -> None:
    """Create a body, e.g. HYVLTK (hyvinvointilautakunta); with --as, its administrator."""
    with reported():
        view = organisations.create_body(
            engine(),
            caller(username),
            organisations.CreateBody(
                organisation=organisation,
                code=code,
                name_fi=name_fi,
                name_sv=name_sv,
                kind=BodyKind(kind),
            ),
        )
        emit(view, lambda: click.echo(f"Body {view.code} created (id {view.id})."))


@cli.group()
def meetings() -> None:
    """Meetings of bodies."""


@meetings.command("create")
@click.argument("organisation")
@click.argument("body")
@click.option(
    "--at",
    "starts_at",
    type=DATETIME,
    required=True,
    help="When it starts, e.g. '13.6.2027 klo 17.00' (Finnish time) or 2027-06-13T17:00+03:00",
)
@click.option("--location")
@as_user
def meetings_create(
    organisation: str,
    body: str,
    starts_at: datetime,
    location: str | None,
    username: str | None,
) -> None:
    """Create a meeting of a body; with --as, an administrator or the body's secretary."""
    with reported():
        view = organisations.create_meeting(
            engine(),
            caller(username),
            organisations.CreateMeeting(
                organisation=organisation,
                body=body,
                starts_at=starts_at,
                location=location,
            ),
        )
        emit(view, lambda: click.echo(f"Meeting {view.id} of {view.body} at {view.starts_at}."))


@meetings.command("move")
@click.argument("meeting_id", type=ID)
@click.argument("proposal_id", type=ID)
@click.option(
    "--up/--down", "up", required=True, help="Move the item one place up or down the agenda."
)
@as_user
def meetings_move(meeting_id: int, proposal_id: int, up: bool, username: str | None) -> None:
    """Move an item of a meeting's agenda one place up or down; with --as, the body's
    secretary."""
    with reported():
        order = agenda_commands.move(
            engine(),
            caller(username),
            agenda_commands.MoveAgendaItem(
                meeting_id=meeting_id, proposal_id=proposal_id, direction="up" if up else "down"
            ),
        )
        emit(
            {"meeting_id": meeting_id, "order": order},
            lambda: click.echo(
                f"Meeting {meeting_id}: " + ", ".join(f"{n}. {p}" for n, p in enumerate(order, 1))
            ),
        )


# users ------------------------------------------------------------------------------------------
@cli.group("users")
def users_group() -> None:
    """People and their roles."""


@users_group.command("create")
@click.argument("username")
@click.option("--name", "full_name", required=True)
@click.option("--email")
@click.option("--title")
@click.option("--language", type=choices(Language), default="fi", show_default=True)
@click.option(
    "--org",
    "organisation",
    required=True,
    help="The user's home organisation, whose administrators manage the account "
    "(with --as: the one you administer).",
)
@click.option("--as", "actor", metavar="USER", help="The administrator who creates. " + AS_HELP)
def users_create(
    username: str,
    full_name: str,
    email: str | None,
    title: str | None,
    language: str,
    organisation: str,
    actor: str | None,
) -> None:
    """Create a user at home in an organisation."""
    with reported():
        view = users.create_user(
            engine(),
            caller(actor),
            users.CreateUser(
                username=username,
                full_name=full_name,
                email=email,
                title=title,
                language=Language(language),
            ),
            organisation,
        )
        emit(view, lambda: click.echo(f"User {view.username} created (id {view.id})."))


@users_group.command("grant")
@click.argument("username")
@click.argument("role", type=choices(Role))
@click.option("--org", "organisation", required=True)
@click.option("--body", help="Only in this body (default: the whole organisation).")
@click.option("--as", "actor", metavar="USER", help="The administrator who grants. " + AS_HELP)
def users_grant(
    username: str, role: str, organisation: str, body: str | None, actor: str | None
) -> None:
    """Grant a role in an organisation, optionally only in one body.

    An administrator grants roles only in the organisation they administer and only to its own
    users; a grant in another organisation than the user's home is the operator's (no --as)."""
    with reported():
        view = users.grant_role(
            engine(),
            caller(actor),
            users.GrantRole(
                username=username, organisation=organisation, role=Role(role), body=body
            ),
        )
        emit(
            view,
            lambda: click.echo(
                f"{username} is {view.role.value} in {view.organisation}"
                + (f" / {view.body}" if view.body else "")
                + "."
            ),
        )


@users_group.command("revoke")
@click.argument("username")
@click.argument("role", type=choices(Role))
@click.option("--org", "organisation", required=True)
@click.option("--body")
@click.option("--as", "actor", metavar="USER", help="The administrator who revokes. " + AS_HELP)
def users_revoke(
    username: str, role: str, organisation: str, body: str | None, actor: str | None
) -> None:
    """Revoke a role grant (it stays in the history)."""
    with reported():
        view = users.revoke_role(
            engine(),
            caller(actor),
            users.GrantRole(
                username=username, organisation=organisation, role=Role(role), body=body
            ),
        )
        emit(view, lambda: click.echo(f"Revoked {view.role.value} from {username}."))


@users_group.command("set-password")
@click.argument("username")
@click.option("--org", "organisation", help="The organisation you administer (with --as).")
@click.option(
    "--as", "actor", metavar="USER", help="Yourself, or the user's administrator. " + AS_HELP
)
@click.password_option("--password", prompt="New password", help="Asked if not given.")
def users_set_password(
    username: str, organisation: str | None, actor: str | None, password: str
) -> None:
    """Set a user's password (ends the user's sessions)."""
    with reported():
        current = None
        if actor == username:
            current = click.prompt("Current password", hide_input=True)
        accounts.set_password(engine(), caller(actor), username, password, current, organisation)
        emit({"username": username}, lambda: click.echo(f"Password of {username} set."))


@users_group.command("disable")
@click.argument("username")
@click.option("--org", "organisation", help="The organisation you administer (with --as).")
@click.option("--as", "actor", metavar="USER", help="The user's administrator. " + AS_HELP)
def users_disable(username: str, organisation: str | None, actor: str | None) -> None:
    """Disable an account; its sessions end at their next request.

    With --as, only an administrator of the user's home organisation may."""
    with reported():
        accounts.set_active(
            engine(), caller(actor), username, active=False, organisation=organisation
        )
        emit({"username": username}, lambda: click.echo(f"{username} disabled."))


@users_group.command("list", unit=Unit.READ)
@click.option("--org", "organisation", help="Only the users at home in this organisation.")
@click.option("--as", "actor", metavar="USER", help="The administrator who lists. " + AS_HELP)
def users_list(organisation: str | None, actor: str | None) -> None:
    """List users and their active grants (an administrator: those of their organisation)."""
    with reported():
        views = users.list_users(engine(), caller(actor), organisation)

        def human() -> None:
            for v in views:
                grants = ", ".join(
                    f"{g.role.value}@{g.organisation}" + (f"/{g.body}" if g.body else "")
                    for g in v.grants
                )
                click.echo(f"{v.username:<14} {v.full_name:<28} {grants}")

        emit(views, human)


# proposals --------------------------------------------------------------------------------------
@cli.group("proposals")
def proposals_group() -> None:
    """Decision proposals."""


@proposals_group.command("create")
@click.option("--org", "organisation", required=True)
@click.option("--case", "case_number", required=True)
@click.option("--title-fi", required=True)
@click.option("--title-sv")
@click.option("--body", required=True)
@click.option("--presenter", required=True)
@click.option("--preparer", help="Default: the user given with --as.")
@click.option("--publicity", type=choices(Publicity), default="public", show_default=True)
@click.option("--ground", "confidentiality_ground", help="Legal ground of confidentiality.")
@click.option("--personal-data", is_flag=True)
@as_user
def proposals_create(
    organisation: str,
    case_number: str,
    title_fi: str,
    title_sv: str | None,
    body: str,
    presenter: str,
    preparer: str | None,
    publicity: str,
    confidentiality_ground: str | None,
    personal_data: bool,
    username: str | None,
) -> None:
    """Create a proposal; it starts as a draft on the newest published workflow."""
    with reported():
        view = proposal_commands.create_proposal(
            engine(),
            caller(username),
            proposal_commands.CreateProposal(
                organisation=organisation,
                case_number=case_number,
                title_fi=title_fi,
                title_sv=title_sv,
                body=body,
                presenter=presenter,
                preparer=preparer,
                publicity=Publicity(publicity),
                confidentiality_ground=confidentiality_ground,
                contains_personal_data=personal_data,
            ),
        )
        emit(
            view,
            lambda: click.echo(
                f"Proposal {view.id} created: {view.case_number} '{view.title_fi}' ({view.state})."
            ),
        )
        for warning in view.warnings:  # accepted, but worth a look (also in --json's output)
            click.secho(f"Warning: {warning.location}: {warning.message}", fg="yellow", err=True)


@proposals_group.command("show", unit=Unit.READ)
@click.argument("proposal_id", type=ID)
@as_user
def proposals_show(proposal_id: int, username: str | None) -> None:
    """Show a proposal: state, screening, completeness, assignments and possible actions."""
    with reported():
        view = proposal_queries.show(engine(), caller(username), proposal_id)

        def human() -> None:
            click.echo(f"Proposal {view.id}  {view.case_number}  {view.title_fi}")
            click.echo(
                f"  body {view.body}  state {view.state} ({view.state_title_fi})  "
                f"revision {view.revision}  version {view.row_version}"
            )
            click.echo(
                f"  preparer {view.preparer}  presenter {view.presenter}  "
                f"publicity {view.publicity.value}"
                + (f" ({view.confidentiality_ground})" if view.confidentiality_ground else "")
            )
            click.echo(
                f"  workflow {view.workflow} v{view.workflow_version}"
                + (f"  meeting {view.meeting_id}" if view.meeting_id else "")
                + (f"  {view.section}" if view.section else "")
                + (f"  outcome {view.outcome.value}" if view.outcome else "")
            )
            if view.screening:
                s = view.screening
                click.echo(
                    f"  screening: {s.outcome.value}"
                    + (f" ({s.exemption}: {s.reason})" if s.exemption else "")
                    + (f", criteria {', '.join(s.criteria)}" if s.criteria else "")
                )
            click.echo(f"  alternatives {view.alternatives}, answers {view.answers}")
            for area in view.progress:
                if area.required:
                    click.echo(f"    {area.area:<22} {area.complete}/{area.required}")
            if view.missing:
                click.echo(f"  missing ({len(view.missing)}):")
                for p in view.missing[:20]:
                    click.echo(f"    - {problem_text(p, cli_language())}")
                if len(view.missing) > 20:
                    click.echo(f"    … and {len(view.missing) - 20} more")
            for a in view.assignments:
                who = a.assignee or f"any {'/'.join(a.roles)}"
                click.echo(f"  assignment {a.kind} → {who}, due {a.due}")
            for action in view.actions:
                mark = "✓" if action.allowed else "✗"
                why = (
                    ""
                    if action.allowed
                    else (
                        " (not your role)"
                        if not action.role_ok
                        else f" ({len(action.missing)} missing)"
                    )
                )
                click.echo(f"  {mark} {action.trigger}{why}")

        emit(view, human)


@proposals_group.command("list", unit=Unit.READ)
@click.option("--org", "organisation", required=True)
@click.option("--state")
@click.option("--body")
@click.option("--limit", type=WHOLE, default=50, show_default=True)
@click.option("--offset", type=WHOLE, default=0)
@as_user
def proposals_list(
    organisation: str,
    state: str | None,
    body: str | None,
    limit: int,
    offset: int,
    username: str | None,
) -> None:
    """List proposals, filtered and paginated."""
    with reported():
        page = proposal_queries.list_proposals(
            engine(),
            caller(username),
            organisation,
            state=state,
            body=body,
            limit=limit,
            offset=offset,
        )
        _emit_proposals(page)


def _emit_proposals(page: proposal_queries.ProposalListPage) -> None:
    """A page of proposals: one line each and how many of how many, or the page as JSON."""

    def human() -> None:
        for p in page.items:
            click.echo(f"{p.id:>6}  {p.case_number:<22} {p.body:<8} {p.state:<11} {p.title_fi}")
        click.echo(f"({len(page.items)} of {page.total})")

    emit(page, human)


@proposals_group.command("search", unit=Unit.READ)
@click.argument("query")
@click.option("--org", "organisation", required=True)
@click.option("--state")
@click.option("--body")
@click.option("--limit", type=WHOLE, default=50, show_default=True)
@click.option("--offset", type=WHOLE, default=0)
@as_user
def proposals_search(
    query: str,
    organisation: str,
    state: str | None,
    body: str | None,
    limit: int,
    offset: int,
    username: str | None,
) -> None:
    """Search proposals for QUERY: case numbers, titles, texts and assessments, best match
    first (a non-public proposal only where USER's grants cover its body)."""
    with reported():
        page = proposal_queries.list_proposals(
            engine(),
            caller(username),
            organisation,
            state=state,
            body=body,
            limit=limit,
            offset=offset,
            q=query,
        )
        _emit_proposals(page)


@proposals_group.command("fire")
@click.argument("proposal_id", type=ID)
@click.argument("trigger")
@click.option("--as", "username", metavar="USER", required=True, help=AS_HELP)
@click.option("--reason", help="Why (required by some steps, e.g. return_for_revision).")
@click.option(
    "--if-version",
    "expected_version",
    type=ID,
    help="Refuse if the proposal is no longer at this version.",
)
def proposals_fire(
    proposal_id: int, trigger: str, username: str, reason: str | None, expected_version: int | None
) -> None:
    """Fire a workflow TRIGGER on a proposal as USER."""
    with reported():
        step = transitions.FireTrigger(
            proposal_id=proposal_id,
            trigger=trigger,
            reason=reason,
            expected_version=expected_version,
        )
        result = transitions.fire(
            engine(),
            caller(username),
            step.proposal_id,
            step.trigger,
            reason=step.reason,
            expected_version=step.expected_version,
        )
        emit(
            result,
            lambda: click.echo(
                f"Proposal {result.proposal_id}: {result.from_state} → {result.to_state} "
                f"({result.trigger})."
            ),
        )


@proposals_group.command("schedule")
@click.argument("proposal_id", type=ID)
@click.option("--meeting", "meeting_id", type=ID, required=True)
@click.option("--position", type=WHOLE, help="Position on the meeting's agenda.")
@click.option("--section", type=WHOLE, help="The § number (default: the next free one).")
@click.option("--if-version", "expected_version", type=ID)
@as_user
def proposals_schedule(
    proposal_id: int,
    meeting_id: int,
    position: int | None,
    section: int | None,
    expected_version: int | None,
    username: str | None,
) -> None:
    """Schedule a proposal for a meeting of its body."""
    with reported():
        view = proposal_commands.schedule(
            engine(),
            caller(username),
            proposal_commands.ScheduleProposal(
                proposal_id=proposal_id,
                meeting_id=meeting_id,
                agenda_position=position,
                section_number=section,
                expected_version=expected_version,
            ),
        )
        emit(
            view, lambda: click.echo(f"Proposal {view.id} scheduled for meeting {view.meeting_id}.")
        )


# screening and assessment -----------------------------------------------------------------------
@cli.group("screening")
def screening_group() -> None:
    """Screening (tarveharkinta)."""


@screening_group.command("record")
@click.argument("proposal_id", type=ID)
@click.option("--outcome", type=click.Choice(["exempt", "light", "full"]), required=True)
@click.option("--criterion", "criteria", multiple=True, help="A criterion id; repeat for more.")
@click.option("--exemption", help="The exemption id (with --outcome exempt).")
@click.option("--reason", help="Why it is exempt (required with --outcome exempt).")
@click.option("--participation-plan", help="Participation and communication plan (full).")
@click.option("--as", "username", metavar="USER", required=True)
def screening_record(
    proposal_id: int,
    outcome: str,
    criteria: tuple[str, ...],
    exemption: str | None,
    reason: str | None,
    participation_plan: str | None,
    username: str,
) -> None:
    """Record the screening of a proposal."""
    with reported():
        view = screening.record_screening(
            engine(),
            caller(username),
            screening.RecordScreening(
                proposal_id=proposal_id,
                outcome=ScreeningOutcome(outcome),
                criteria=list(criteria),
                exemption=exemption,
                reason=reason,
                participation_plan=participation_plan,
            ),
        )
        emit(view, lambda: click.echo(f"Screening recorded: {outcome}."))


@cli.group("assessment")
def assessment_group() -> None:
    """Impact assessments (format eva.assessment/1)."""


@assessment_group.command("import")
@click.argument("proposal_id", type=ID)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--as", "username", metavar="USER", required=True)
@click.option("--if-version", "expected_version", type=ID)
def assessment_import(
    proposal_id: int, file: Path, username: str, expected_version: int | None
) -> None:
    """Import an assessment document (JSON) into a proposal's current revision."""
    with reported():
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            cannot = Text(
                N_("The file %(file)s cannot be read (%(error)s): check its name and rights."),
                {"file": str(file), "error": str(exc)},
            )
            raise InvalidInput(cannot, [Problem.of(str(file), cannot)]) from exc
        doc = documents.parse_document(text, str(file))
        view = documents.import_assessment(
            engine(), caller(username), proposal_id, doc, expected_version
        )
        emit(
            view,
            lambda: click.echo(
                f"Imported {view.alternatives} alternatives and {view.answers} answers; "
                f"{len(view.missing)} required item(s) still missing."
            ),
        )


@assessment_group.command("schema", unit=Unit.NONE)
def assessment_schema() -> None:
    """Print the JSON Schema of the assessment document."""
    click.echo(json.dumps(documents.json_schema(), ensure_ascii=False, indent=2))


# history and audit ------------------------------------------------------------------------------
@cli.command("history", unit=Unit.READ)
@click.argument("proposal_id", type=ID)
@as_user
@click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    default=DEFAULT,
    show_default=True,
    help="The language the history reads in (--json gives the stored events).",
)
def history_cmd(proposal_id: int, username: str | None, language: str) -> None:
    """Print the full history of a proposal: each event, who and when, and what it changed
    (every field of a record created), in words rather than ids."""
    with reported():
        events = trail.proposal_history(engine(), caller(username), proposal_id)

        def human() -> None:
            names = trail.referenced_names(engine(), caller(username), proposal_id, events)
            words = HistoryWords(Labels(Speaker(language).gettext), language, names)
            for line in history_lines(words, events):
                click.echo(line)

        emit(events, human)


def history_lines(words: HistoryWords, events: list[HistoryEventView]) -> list[str]:
    """The history as lines of text: each event, then each field it changed (before → after;
    of a created or removed record, its value)."""
    lines = []
    for ev in events:
        role = f" ({words.labels.role_name(ev.role)})" if ev.role else ""
        lines.append(
            f"#{ev.seq:<6} {words.time(ev.occurred_at)}  {words.actor(ev)}{role}  "
            f"{words.action(ev.action)} · {words.entity(ev)}"
        )
        before, after = ev.before or {}, ev.after or {}
        for key in words.fields(ev):
            label = words.field(key)
            if before and after:
                old, new = words.value(key, before.get(key)), words.value(key, after.get(key))
                lines.append(f"         {label}: {old} → {new}")
            else:
                lines.append(f"         {label}: {words.value(key, (after or before).get(key))}")
        if ev.reason:
            lines.append(f"         {words.field('reason')}: {ev.reason}")
    return lines


# workflows --------------------------------------------------------------------------------------
@cli.group()
def workflows() -> None:
    """Workflow and checklist definitions."""


@workflows.command("validate", unit=Unit.NONE)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def workflows_validate(paths: tuple[Path, ...]) -> None:
    """Validate the definition files (all of them, or those given)."""
    with reported():
        settings = Settings.from_env()
        catalogue = load_catalogue(settings.workflows_dir, list(paths) if paths else None)
        summary = {
            "workflows": [f"{n} v{v}" for n, v in sorted(catalogue.bundles)],
            "checklists": [f"{n} v{v}" for n, v in sorted(catalogue.checklists)],
        }
        emit(
            summary,
            lambda: click.echo(
                f"OK: {len(catalogue.bundles)} workflow(s), {len(catalogue.checklists)} "
                "checklist(s) valid."
            ),
        )


@workflows.command("list", unit=Unit.READ)
def workflows_list() -> None:
    """Published workflow versions and how many proposals run on each."""
    with reported():
        versions = definitions.published_versions(engine())

        def human() -> None:
            if not versions:
                click.echo("Nothing published yet: run 'eva workflows publish'.")
            for v in versions:
                click.echo(
                    f"{v.name} v{v.version}  {v.content_hash[:12]}  {v.published_at}  "
                    f"{v.proposals} proposal(s)  ({v.source_file})"
                )

        emit(versions, human)


@workflows.command("publish")
@as_user
def workflows_publish(username: str | None) -> None:
    """Publish new workflow versions from the definitions folder."""
    with reported():
        report = definitions.publish(engine(), caller(username))
        emit(
            {"published": report.published, "unchanged": report.unchanged},
            lambda: click.echo(
                f"Published: {', '.join(report.published) or 'nothing new'}; "
                f"unchanged: {', '.join(report.unchanged) or '-'}."
            ),
        )


@workflows.command("diagram", unit=Unit.NONE)
@click.argument("name", default="eva-standard")
@click.option("--version", "version", type=WHOLE)
@click.option("--language", type=choices(Language), default="en", show_default=True)
def workflows_diagram(name: str, version: int | None, language: str) -> None:
    """Print a workflow as a Mermaid state diagram."""
    with reported():
        catalogue = load_catalogue(Settings.from_env().workflows_dir)
        click.echo(mermaid(catalogue.bundle(name, version).workflow, language), nl=False)


# demo -------------------------------------------------------------------------------------------
@cli.command("demo-data", unit=Unit.OWN)
@click.option("--if-empty", is_flag=True, help="Do nothing if the database has organisations.")
def demo_data(if_empty: bool) -> None:
    """Load a fictional municipality with users in every role, two years of decisions with
    their follow-ups, proposals in every state, and the Virrat case (~40 proposals)."""
    with reported():
        if Settings.from_env().environment == "production":
            never = Text(N_("Demo data is never loaded in production (EVA_ENV=production)."))
            raise InvalidInput(never, [Problem.of("EVA_ENV", never)])
        report = demo.load_demo_data(engine(), if_empty=if_empty)
        emit(report.model_dump(), lambda: click.echo(report.message))


@cli.command("demo", unit=Unit.OWN)
def demo_walk() -> None:
    """Walk a sample proposal from draft to closed and print its history."""
    with reported():
        demo.walk(engine(), click.echo)
