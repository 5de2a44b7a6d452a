"""``eva`` subcommands. Each one: options → service command → service → printed result."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from eva_engine import demo
from eva_engine.cli.context import AS_HELP, as_user, caller, engine
from eva_engine.cli.output import RetryingGroup, Unit, emit, emit_lines, reported
from eva_engine.cli.params import DATETIME, ID, WHOLE, choices
from eva_engine.cli.words import Asked, Words
from eva_engine.config import Settings
from eva_engine.errors import N_, InvalidInput, Problem, Text
from eva_engine.rendering.labels import HistoryWords, Labels
from eva_engine.rendering.language import DEFAULT, LANGUAGES, Speaker
from eva_engine.rendering.messages import problem_text, render
from eva_engine.services import definitions
from eva_engine.services.assessment import documents, screening
from eva_engine.services.history import trail
from eva_engine.services.installation import schema
from eva_engine.services.meetings import agendas
from eva_engine.services.meetings import commands as agenda_commands
from eva_engine.services.people import accounts, organisations, users
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.steps import transitions
from eva_engine.services.views import HistoryEventView, ProposalView
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
        w = Words.here()
        emit(
            {"revision": revision},
            lambda: click.echo(w._("Database at revision %(revision)s.", revision=revision)),
        )


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
        w = Words.here()
        emit(
            view,
            lambda: click.echo(
                w._("Organisation %(code)s (%(name)s) created.", code=view.code, name=view.name_fi)
            ),
        )


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
        w = Words.here()
        emit(
            view,
            lambda: click.echo(
                w._("Body %(code)s (%(name)s) created.", code=view.code, name=view.name_fi)
            ),
        )


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
        w = Words.here()
        emit(
            view,
            lambda: click.echo(
                w._(
                    "Meeting %(id)s of %(body)s created: %(time)s.",
                    id=view.id,
                    body=view.body,
                    time=w.time(view.starts_at),
                )
            ),
        )


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
        w = Words.here()
        emit(
            {"meeting_id": meeting_id, "order": order},
            lambda: click.echo(
                w._(
                    "The agenda of meeting %(id)s, proposal by proposal: %(order)s",
                    id=meeting_id,
                    order=", ".join(f"{n}. {p}" for n, p in enumerate(order, 1)),
                )
            ),
        )


@meetings.command("list", unit=Unit.READ)
@click.option("--as", "username", metavar="USER", required=True, help=AS_HELP)
def meetings_list(username: str) -> None:
    """The meetings of the bodies where USER is the secretary: how many items each agenda has
    and how many of them are not ready."""
    with reported():
        found = agendas.my_meetings(engine(), caller(username))
        w = Words.here()

        def human() -> None:
            if not found:
                click.echo(w._("No meetings."))
                return
            rows = [
                [m.id, f"{m.body} {m.body_name}", w.time(m.starts_at), m.items, m.incomplete]
                for m in found
            ]
            headers = [N_("No."), N_("Body"), N_("Meeting time"), N_("Items"), N_("Not ready")]
            for line in w.table(headers, rows):
                click.echo(line)

        emit(found, human)


@meetings.command("show", unit=Unit.READ)
@click.argument("meeting_id", type=ID)
@as_user
def meetings_show(meeting_id: int, username: str | None) -> None:
    """A meeting's agenda: each item's section, state and whether its assessment is complete,
    what still blocks it and who has it now."""
    with reported():
        view = agendas.agenda(engine(), caller(username), meeting_id)
        w = Words.here()
        emit_lines(view, lambda: agenda_lines(w, view))


def agenda_lines(w: Words, view: agendas.AgendaView) -> list[str]:
    """A meeting's agenda as people read it: a table of the items, then what blocks each
    item not ready and who holds it (by name)."""
    m = view.meeting
    lines = [
        w._(
            "Meeting %(id)s: %(body)s %(name)s, %(time)s",
            id=m.id,
            body=m.body,
            name=m.body_name,
            time=w.time(m.starts_at),
        ),
        w._("%(items)s item(s), %(incomplete)s not ready.", items=m.items, incomplete=m.incomplete),
    ]
    if not view.items:
        return lines
    rows = [
        [
            f"{i.number}.",
            i.section,
            i.proposal_id,
            i.case_number,
            w.pick(i.state_title_fi, i.state_title_sv, i.state_title_en),
            w._("ready") if i.complete else w._("not ready"),
            w.proposal_title(i.title_fi, i.title_sv),
        ]
        for i in view.items
    ]
    headers = [
        N_("Item"),
        N_("Section"),
        N_("Proposal"),
        N_("Case number"),
        N_("State"),
        N_("Assessment"),
        N_("Title"),
    ]
    lines.extend(["", *w.table(headers, rows)])
    for i in view.items:
        if not i.blocking and not i.held_by:
            continue
        lines.append("")
        lines.append(f"{i.number}. {i.case_number}")
        for problem in i.blocking:
            lines.append("  " + w.labelled(N_("Blocking"), problem_text(problem, w.language)))
        for holder in i.held_by:
            who = holder.name or holder.user or w.roles(holder.roles)
            task = w.pick(holder.task_title_fi, holder.task_title_sv, holder.task_title_en)
            lines.append("  " + w.labelled(N_("Held by"), f"{who} ({task})" if task else who))
    return lines


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
        w = Words.here()
        emit(
            view,
            lambda: click.echo(
                w._(
                    "User %(name)s (%(username)s) created.",
                    name=view.full_name,
                    username=view.username,
                )
            ),
        )


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
        w = Words.here()
        where = view.organisation + (f" / {view.body}" if view.body else "")
        emit(
            view,
            lambda: click.echo(
                w._(
                    "%(username)s is %(role)s in %(where)s.",
                    username=username,
                    role=w.role(view.role),
                    where=where,
                )
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
        w = Words.here()
        emit(
            view,
            lambda: click.echo(
                w._(
                    "The role %(role)s of %(username)s is revoked.",
                    role=w.role(view.role),
                    username=username,
                )
            ),
        )


@users_group.command("set-password")
@click.argument("username")
@click.option("--org", "organisation", help="The organisation you administer (with --as).")
@click.option(
    "--as", "actor", metavar="USER", help="Yourself, or the user's administrator. " + AS_HELP
)
@click.password_option(
    "--password", cls=Asked, prompt=N_("New password"), help="Asked if not given."
)
def users_set_password(
    username: str, organisation: str | None, actor: str | None, password: str
) -> None:
    """Set a user's password (ends the user's sessions)."""
    with reported():
        current = None
        if actor == username:
            current = click.prompt(Words.here()._("Current password"), hide_input=True)
        accounts.set_password(engine(), caller(actor), username, password, current, organisation)
        w = Words.here()
        emit(
            {"username": username},
            lambda: click.echo(w._("The password of %(username)s is set.", username=username)),
        )


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
        w = Words.here()
        emit(
            {"username": username},
            lambda: click.echo(w._("%(username)s disabled.", username=username)),
        )


@users_group.command("list", unit=Unit.READ)
@click.option("--org", "organisation", help="Only the users at home in this organisation.")
@click.option("--as", "actor", metavar="USER", help="The administrator who lists. " + AS_HELP)
def users_list(organisation: str | None, actor: str | None) -> None:
    """List users and their active grants (an administrator: those of their organisation)."""
    with reported():
        views = users.list_users(engine(), caller(actor), organisation)

        w = Words.here()

        def human() -> None:
            rows = [
                [
                    v.username,
                    v.full_name,
                    ", ".join(
                        f"{w.role(g.role)} ({g.organisation}" + (f" / {g.body})" if g.body else ")")
                        for g in v.grants
                    ),
                ]
                for v in views
            ]
            for line in w.table([N_("Username"), N_("Name"), N_("Roles")], rows):
                click.echo(line)

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
        w = Words.here()
        emit(
            view,
            lambda: click.echo(
                w._(
                    "Proposal %(id)s created: %(case)s '%(title)s' (%(state)s).",
                    id=view.id,
                    case=view.case_number,
                    title=view.title_fi,
                    state=w.pick(view.state_title_fi, view.state_title_sv, view.state_title_en),
                )
            ),
        )
        for warning in view.warnings:  # accepted, but worth a look (also in --json's output)
            click.secho(
                w.labelled(N_("Warning"), problem_text(warning, w.language)), fg="yellow", err=True
            )


@proposals_group.command("show", unit=Unit.READ)
@click.argument("proposal_id", type=ID)
@as_user
def proposals_show(proposal_id: int, username: str | None) -> None:
    """Show a proposal: state, screening, completeness, assignments and possible actions."""
    with reported():
        view = proposal_queries.show(engine(), caller(username), proposal_id)
        w = Words.here()
        emit_lines(view, lambda: proposal_lines(w, view))


def proposal_lines(w: Words, view: ProposalView) -> list[str]:
    """A proposal as people read it: what it is, where it stands, its screening and
    assessment, its open tasks and the steps the caller may take (with the trigger
    ``eva proposals fire`` takes)."""
    title = w.proposal_title(view.title_fi, view.title_sv)
    lines = [
        w._("Proposal %(id)s: %(case)s %(title)s", id=view.id, case=view.case_number, title=title)
    ]

    def field(label: str, value: object) -> None:
        lines.append("  " + w.labelled(label, value))

    field(N_("Body"), view.body)
    field(N_("State"), w.pick(view.state_title_fi, view.state_title_sv, view.state_title_en))
    field(N_("Assessment revision"), view.revision)
    field(N_("Version (for --if-version)"), view.row_version)
    field(N_("Preparer"), w.person(view.preparer_name, view.preparer))
    field(N_("Presenter"), w.person(view.presenter_name, view.presenter))
    ground = f" ({view.confidentiality_ground})" if view.confidentiality_ground else ""
    field(N_("Publicity"), w.publicity(view.publicity) + ground)
    field(N_("Workflow"), f"{view.workflow} v{view.workflow_version}")
    if view.meeting_id:
        when = f" {w.time(view.meeting_starts_at)}" if view.meeting_starts_at else ""
        field(N_("Meeting"), f"{view.meeting_id}, {view.body}{when}")
    if view.section:
        field(N_("Section"), view.section)
    if view.outcome:
        field(N_("Outcome"), w.outcome(view.outcome))
    return lines + _assessment_lines(w, view) + _work_lines(w, view)


def _assessment_lines(w: Words, view: ProposalView) -> list[str]:
    """The screening, the assessment's progress per impact area and what is missing."""
    lines = []
    if view.screening:
        s = view.screening
        lines.append("  " + w.labelled(N_("Screening"), w.screening(s.outcome)))
        if s.criteria:
            criteria = "; ".join(w.choice(c) for c in s.criteria)
            lines.append("  " + w.labelled(N_("Criteria that applied"), criteria))
        if s.exemption:
            lines.append("  " + w.labelled(N_("Exemption"), w.choice(s.exemption)))
        if s.reason:
            lines.append("  " + w.labelled(N_("Reason"), s.reason))
    lines.append("  " + w.labelled(N_("Alternatives"), view.alternatives))
    lines.append("  " + w.labelled(N_("Answers"), view.answers))
    for area in view.progress:
        if area.required:
            name = w.pick(area.title_fi, area.title_sv, area.title_en)
            lines.append(f"    {name}: {area.complete}/{area.required}")
    if view.missing:
        lines.append("  " + w.labelled(N_("Missing"), len(view.missing)))
        lines.extend(f"    - {problem_text(p, w.language)}" for p in view.missing[:20])
        if len(view.missing) > 20:
            lines.append("    " + w._("… and %(count)s more", count=len(view.missing) - 20))
    return lines


def _work_lines(w: Words, view: ProposalView) -> list[str]:
    """The open tasks (by their titles) and the steps the caller may or may not take."""
    lines = []
    for a in view.assignments:
        who = a.assignee_name or a.assignee or w.roles(a.roles)
        due = ", " + w._("due %(date)s", date=w.date(a.due)) if a.due else ""
        lines.append("  " + w.labelled(N_("Task"), f"{w.task(a.kind)} → {who}{due}"))
    for action in view.actions:
        mark = "✓" if action.allowed else "✗"
        why = ""
        if not action.allowed and not action.role_ok:
            why = " " + w._("(not your role)")
        elif not action.allowed:
            why = " " + w._("(%(count)s missing)", count=len(action.missing))
        step = w.pick(action.title_fi, action.title_sv, action.title_en)
        lines.append(f"  {mark} {step} ({action.trigger}){why}")
    return lines


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

    w = Words.here()

    def human() -> None:
        rows = [
            [p.id, p.case_number, p.body, w.state(p.state), p.preparer_name, p.title_fi]
            for p in page.items
        ]
        headers = [
            N_("No."),
            N_("Case number"),
            N_("Body"),
            N_("State"),
            N_("Preparer"),
            N_("Title"),
        ]
        for line in w.table(headers, rows):
            click.echo(line)
        click.echo(w._("(%(shown)s of %(total)s)", shown=len(page.items), total=page.total))

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
        w = Words.here()
        emit(
            result,
            lambda: click.echo(
                w._(
                    "Proposal %(id)s: %(before)s → %(after)s (%(step)s).",
                    id=result.proposal_id,
                    before=w.state(result.from_state),
                    after=w.state(result.to_state),
                    step=w.step(result.trigger),
                )
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
        w = Words.here()
        emit(
            view,
            lambda: click.echo(
                w._(
                    "Proposal %(id)s scheduled for meeting %(meeting)s (%(body)s %(time)s).",
                    id=view.id,
                    meeting=view.meeting_id,
                    body=view.body,
                    time=w.time(view.meeting_starts_at),
                )
            ),
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
        w = Words.here()
        emit(
            view,
            lambda: click.echo(
                w._("Screening recorded: %(outcome)s.", outcome=w.screening(outcome))
            ),
        )


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
        w = Words.here()
        emit(
            view,
            lambda: click.echo(
                w._(
                    "Imported %(alternatives)s alternatives and %(answers)s answers; "
                    "%(missing)s required item(s) still missing.",
                    alternatives=view.alternatives,
                    answers=view.answers,
                    missing=len(view.missing),
                )
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
    help=f"The language the history reads in (default: eva's --language, else {DEFAULT}; "
    "--json gives the stored events).",
)
def history_cmd(proposal_id: int, username: str | None, language: str | None) -> None:
    """Print the full history of a proposal: each event, who and when, and what it changed
    (every field of a record created), in words rather than ids."""
    with reported():
        events = trail.proposal_history(engine(), caller(username), proposal_id)
        chosen = language or click.get_current_context().find_root().params.get("language")
        reads = chosen if chosen in LANGUAGES else DEFAULT

        def lines() -> list[str]:
            names = trail.referenced_names(engine(), caller(username), proposal_id, events)
            return history_lines(HistoryWords(Labels(Speaker(reads).gettext), reads, names), events)

        emit_lines(events, lines)


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


def _iso_time(value: str) -> datetime | None:
    """A time stamp a view keeps as ISO 8601 text (none if it is not one)."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


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
        w = Words.here()
        emit(
            summary,
            lambda: click.echo(
                w._(
                    "OK: %(workflows)s workflow(s), %(checklists)s checklist(s) valid.",
                    workflows=len(catalogue.bundles),
                    checklists=len(catalogue.checklists),
                )
            ),
        )


@workflows.command("list", unit=Unit.READ)
def workflows_list() -> None:
    """Published workflow versions and how many proposals run on each."""
    with reported():
        versions = definitions.published_versions(engine())

        w = Words.here()

        def human() -> None:
            if not versions:
                click.echo(w._("Nothing published yet: run 'eva workflows publish'."))
            for v in versions:
                when = _iso_time(v.published_at)
                published = w.time(when) if when else v.published_at
                click.echo(
                    f"{v.name} v{v.version}  {v.content_hash[:12]}  {published}  "
                    + w._("%(count)s proposal(s)", count=v.proposals)
                    + f"  ({v.source_file})"
                )

        emit(versions, human)


@workflows.command("publish")
@as_user
def workflows_publish(username: str | None) -> None:
    """Publish new workflow versions from the definitions folder."""
    with reported():
        report = definitions.publish(engine(), caller(username))
        w = Words.here()
        emit(
            {"published": report.published, "unchanged": report.unchanged},
            lambda: click.echo(
                w._(
                    "Published: %(published)s; unchanged: %(unchanged)s.",
                    published=", ".join(report.published) or w._("nothing new"),
                    unchanged=", ".join(report.unchanged) or "–",
                )
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
        w = Words.here()
        said = render(report.text, w.language) if report.text else report.message
        emit(report.model_dump(), lambda: click.echo(said))


@cli.command("demo", unit=Unit.OWN)
def demo_walk() -> None:
    """Walk a sample proposal from draft to closed and print its history."""
    with reported():
        w = Words.here()

        def say(line: Text | str) -> None:
            click.echo(render(line, w.language) if isinstance(line, Text) else line)

        demo.walk(engine(), say)
