"""``eva setup``: a new municipality in minutes. The database is created or migrated, then in
one unit of work the organisation (with its case-number pattern), its bodies, the first
administrator and the standard workflow's publication (README, "A new municipality"). Every
value can be given as an option; what is not given is asked."""

from __future__ import annotations

import click

from eva_engine.cli.commands import cli
from eva_engine.cli.context import caller, engine
from eva_engine.cli.output import Unit, emit, reported
from eva_engine.cli.params import choices
from eva_engine.cli.words import Asked, Words
from eva_engine.errors import N_, InvalidInput, Problem, Text
from eva_engine.services.installation import schema
from eva_engine.services.installation.setup import (
    DEFAULT_CASE_EXAMPLE,
    DEFAULT_CASE_PATTERN,
    BodyIn,
    SetUpOrganisation,
    set_up,
)
from eva_engine.services.people.organisations import CreateOrganisation
from eva_engine.services.people.users import CreateUser
from eva_engine.vocabulary import BodyKind, Language, OrganisationKind

BODY_HELP = (
    "A body as CODE=Finnish name, optionally =kind (council, executive_board, committee, "
    "subcommittee, office_holder; default committee), e.g. "
    "'HYVLTK=Hyvinvointilautakunta' or 'KH=Kunnanhallitus=executive_board'. Repeat for more."
)


def _bodies(given: tuple[str, ...]) -> list[BodyIn]:
    """``CODE=name[=kind]`` each; asked for when none is given."""
    entries = list(given)
    if not entries:
        answer = click.prompt(
            Words.here()._("Bodies (CODE=name[=kind], separated by commas)"),
            default="KH=Kunnanhallitus=executive_board",
        )
        entries = [part.strip() for part in answer.split(",") if part.strip()]
    bodies, problems = [], []
    for index, entry in enumerate(entries):
        code, _, rest = entry.partition("=")
        name, _, kind = rest.partition("=")
        if not code.strip() or not name.strip():
            problems.append(
                Problem.of(
                    f"--body[{index}]",
                    Text(N_("%(entry)s: write the body as CODE=name."), {"entry": entry[:80]}),
                )
            )
            continue
        if kind.strip() and kind.strip() not in {k.value for k in BodyKind}:
            problems.append(
                Problem.of(
                    f"--body[{index}]",
                    Text(
                        N_("%(kind)s is not a body kind: choose one of %(choices)s."),
                        {
                            "kind": kind.strip()[:40],
                            "choices": ", ".join(k.value for k in BodyKind),
                        },
                    ),
                )
            )
            continue
        bodies.append(
            BodyIn(
                code=code.strip().upper(),
                name_fi=name.strip(),
                kind=BodyKind(kind.strip() or BodyKind.COMMITTEE),
            )
        )
    if problems:
        raise InvalidInput(Text(N_("The bodies are not valid.")), problems)
    return bodies


@cli.command("setup", unit=Unit.OWN)  # migrates first (Alembic's own connection), then one unit
@click.option(
    "--code",
    cls=Asked,
    prompt=N_("Organisation code (lower case, e.g. virrat)"),
    help="e.g. virrat",
)
@click.option("--name-fi", cls=Asked, prompt=N_("Name in Finnish"), help="e.g. Virtain kaupunki")
@click.option("--name-sv", help="Name in Swedish, if it has one")
@click.option("--kind", type=choices(OrganisationKind), default="municipality", show_default=True)
@click.option(
    "--case-pattern",
    default=DEFAULT_CASE_PATTERN,
    show_default=True,
    help="Regular expression every case number matches (your case-management system's).",
)
@click.option("--case-example", default=DEFAULT_CASE_EXAMPLE, show_default=True)
@click.option("--body", "bodies", multiple=True, help=BODY_HELP)
@click.option(
    "--admin",
    "admin",
    cls=Asked,
    prompt=N_("The first administrator's username"),
    help="e.g. paakayttaja",
)
@click.option("--admin-name", cls=Asked, prompt=N_("The administrator's name"))
@click.option("--admin-email")
@click.option("--admin-language", type=choices(Language), default="fi", show_default=True)
@click.option(
    "--password",
    cls=Asked,
    prompt=N_("The administrator's password"),
    hide_input=True,
    confirmation_prompt=True,
    help="Asked (twice) if not given; at least 12 characters.",
)
def setup(
    code: str,
    name_fi: str,
    name_sv: str | None,
    kind: str,
    case_pattern: str,
    case_example: str,
    bodies: tuple[str, ...],
    admin: str,
    admin_name: str,
    admin_email: str | None,
    admin_language: str,
    password: str,
) -> None:
    """Set up a new municipality: the database, the organisation and its case-number pattern,
    its bodies, the first administrator and the published standard workflow (operator only)."""
    with reported():
        eva = engine()
        command = SetUpOrganisation(
            organisation=CreateOrganisation(
                code=code,
                name_fi=name_fi,
                name_sv=name_sv,
                kind=OrganisationKind(kind),
                case_number_pattern=case_pattern,
                case_number_example=case_example,
            ),
            bodies=_bodies(bodies),
            administrator=CreateUser(
                username=admin,
                full_name=admin_name,
                email=admin_email,
                language=Language(admin_language),
            ),
            password=password,
        )
        revision = schema.upgrade(eva)
        with eva.transaction() as uow:  # contention runs the whole command again
            report = set_up(eva, caller(None), command)
            uow.commit()
        w = Words.here()
        published = (
            " " + w._("(published now: %(names)s)", names=", ".join(report.published))
            if report.published
            else ""
        )
        emit(
            {"revision": revision, **report.model_dump()},
            lambda: click.echo(
                w._(
                    "Organisation %(organisation)s is set up (database at %(revision)s): "
                    "bodies %(bodies)s; administrator %(administrator)s; workflows %(workflows)s",
                    organisation=report.organisation,
                    revision=revision,
                    bodies=", ".join(report.bodies),
                    administrator=report.administrator,
                    workflows=", ".join(report.workflows),
                )
                + published
                + ".\n"
                + w._(
                    "Next: grant roles (eva users create / grant, or the administration page "
                    "after 'eva serve'), then create the first proposal."
                )
            ),
        )
