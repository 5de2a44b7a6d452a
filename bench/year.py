"""A year of a large city, generated through the engine (issue 10, part 1).

``python -m bench.year --proposals 50000 --database URL [--seed N] [--batch N] [--users N]``
migrates the database (which must be empty), publishes the shipped workflows and builds one
organisation: 40 bodies, 1,000 meetings (25 per body through the year), 5,000 users (a
secretary and a presenter per body, an administrator, an auditor, the rest preparers) — all
through the services, many calls per unit of work (``Eva.transaction``). The proposals come in
through the bulk import (``eva import proposals``' path, ``services.exchange.importing``), each
scheduled on a meeting of its body. Then every proposal is walked through the workflow by the
engine's bulk walk (``services.exchange.walking`` over ``db.bulk_walk``): screening (about 80 %
exempt, 15 % light, 5 % full), for the assessed ones the assessment document (two alternatives
for light, three for full, every required question answered; the full ones with follow-up
indicators), review, sign-off, placing on the agenda and the meeting's outcome — each step by
its own person, checked by the workflow's routes, roles and guards, and written with the rows
and audit events the interactive path writes. ``--batch`` proposals share one unit of work
(one commit, one sealing of the chain). At the end the whole chain is verified (``eva audit
verify``) and the figures printed (wall and CPU per phase), with the users to log in as.

The trigger names are those of the shipped eva-standard workflow, which this benchmark
generates data for (as bench/transitions.py does)."""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import click
from sqlalchemy import func, select

from eva_engine.config import default_workflows_dir
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.models import AuditEvent, Proposal
from eva_engine.services import definitions
from eva_engine.services.assessment import documents, screening
from eva_engine.services.exchange import importing, walking
from eva_engine.services.history import trail
from eva_engine.services.people import accounts, organisations, users
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import Role, ScreeningOutcome

ORG = "suurkaupunki"
OPERATOR = Caller(None, "bench-year")
WALKER = Caller(None, "bench-year", confirmed=True)  # the steps' actors are named per step
BODIES = 40
MEETINGS = 1000
USERS = 5000
YEAR = 2026
PASSWORD = "Vuosi-2026-salasana"  # noqa: S105 - the generated year's demo login
ADMIN, AUDITOR = "admin", "auditor"

# The normal path of eva-standard, with who fires each step (the document is imported between
# begin_assessment and submit_for_review).
SCREEN = ("start_screening",)
ASSESS = ("begin_assessment",)
DECIDE = ("submit_for_review", "pass_review", "sign_off", "place_on_agenda", "approve")
ACTORS = {
    "start_screening": "preparer",
    "begin_assessment": "preparer",
    "submit_for_review": "preparer",
    "pass_review": "secretary",
    "sign_off": "presenter",
    "place_on_agenda": "secretary",
    "approve": "secretary",
}


@dataclass
class People:
    secretaries: list[str]  # per body
    presenters: list[str]  # per body
    preparers: list[str]


@dataclass
class Item:
    pid: int
    body: int
    preparer: str
    depth: ScreeningOutcome


# The organisation ------------------------------------------------------------------------------


def build(eva: Eva, user_count: int, progress: Callable[[str], None]) -> People:
    organisations.create_organisation(
        eva,
        OPERATOR,
        organisations.CreateOrganisation(
            code=ORG,
            name_fi="Suurkaupunki",
            case_number_pattern=r"\d+/\d{2}\.\d{2}\.\d{2}/\d{4}",
            case_number_example="257/05.00.00/2026",
        ),
    )
    with eva.transaction() as tx:
        for b in range(BODIES):
            organisations.create_body(
                eva,
                OPERATOR,
                organisations.CreateBody(organisation=ORG, code=f"B{b:02d}", name_fi=f"Elin {b}"),
            )
        start = datetime(YEAR, 1, 8, 14, tzinfo=UTC)
        for m in range(MEETINGS):
            organisations.create_meeting(
                eva,
                OPERATOR,
                organisations.CreateMeeting(
                    organisation=ORG,
                    body=f"B{m % BODIES:02d}",
                    starts_at=start + timedelta(days=(m // BODIES) * 14, hours=m % 5),
                ),
            )
        tx.commit()
    progress(f"{BODIES} bodies, {MEETINGS} meetings")
    people = People(
        secretaries=[f"sihteeri{b:02d}" for b in range(BODIES)],
        presenters=[f"esittelija{b:02d}" for b in range(BODIES)],
        preparers=[],
    )
    plan: list[tuple[str, Role, str | None]] = [(ADMIN, Role.ADMIN, None)]
    plan.append((AUDITOR, Role.AUDITOR, None))
    for b in range(BODIES):
        plan.append((people.secretaries[b], Role.SECRETARY, f"B{b:02d}"))
        plan.append((people.presenters[b], Role.PRESENTER, f"B{b:02d}"))
    for n in range(user_count - len(plan)):
        people.preparers.append(f"valmistelija{n:04d}")
        plan.append((people.preparers[-1], Role.PREPARER, None))
    for start_at in range(0, len(plan), 500):
        with eva.transaction() as tx:
            for username, role, body in plan[start_at : start_at + 500]:
                users.create_user(
                    eva,
                    OPERATOR,
                    users.CreateUser(
                        username=username,
                        full_name=username.title(),
                        email=f"{username}@example.invalid",
                    ),
                    organisation=ORG,
                )
                users.grant_role(
                    eva,
                    OPERATOR,
                    users.GrantRole(username=username, organisation=ORG, role=role, body=body),
                )
            tx.commit()
    for username in (ADMIN, AUDITOR, people.secretaries[0], people.preparers[0]):
        accounts.set_password(eva, OPERATOR, username, PASSWORD)
    progress(f"{len(plan)} users")
    return people


def import_proposals(
    eva: Eva, people: People, count: int, rng: random.Random, progress: Callable[[int], None]
) -> list[Item]:
    """The proposals through the bulk import, 5,000 rows a file, each on a meeting of its body."""
    with eva.reading() as uow:
        org = uow.repos.organisation_by_code(ORG)
        assert org is not None
        meetings: dict[int, list[str]] = {}
        for b in range(BODIES):
            body = uow.repos.body_by_code(org.id, f"B{b:02d}")
            assert body is not None
            meetings[b] = [
                m.starts_at.astimezone(importing.LOCAL_TIME).date().isoformat()
                for m in uow.repos.meetings(body.id)
            ]
    plan: list[tuple[int, str, ScreeningOutcome]] = []
    for _ in range(count):
        draw = rng.random()
        depth = (
            ScreeningOutcome.EXEMPT
            if draw < 0.80
            else ScreeningOutcome.LIGHT
            if draw < 0.95
            else ScreeningOutcome.FULL
        )
        plan.append((rng.randrange(BODIES), rng.choice(people.preparers), depth))
    items: list[Item] = []
    for start in range(0, count, 5000):
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(
            [
                *("external_id", "case_number", "title_fi", "body"),
                *("preparer", "presenter", "meeting_date"),
            ]
        )
        part = plan[start : start + 5000]
        for n, (b, preparer, _) in enumerate(part, start=start + 1):
            writer.writerow(
                [
                    f"Y-{n}",
                    f"{n}/00.01.00/{YEAR}",
                    f"Päätösesitys {n}",
                    f"B{b:02d}",
                    preparer,
                    people.presenters[b],
                    rng.choice(meetings[b]),
                ]
            )
        report = importing.import_proposals(
            eva,
            Caller(ADMIN, "import:year.csv"),
            ORG,
            out.getvalue().encode(),
            "year.csv",
            source_system="bench",
        )
        for case, (b, preparer, depth) in zip(report.created, part, strict=True):
            items.append(Item(case.proposal_id or 0, b, preparer, depth))
        progress(len(part))
    return items


# The documents -----------------------------------------------------------------------------------


def document(eva: Eva, depth: ScreeningOutcome) -> documents.AssessmentDocument:
    with eva.reading() as uow:
        record = uow.repos.latest_definition("eva-standard")
        if record is None:
            raise SystemExit("eva-standard was not published")
        bundle, _ = definitions.stored_bundle(uow.repos, record.name, record.version)
    alternatives = 3 if depth == ScreeningOutcome.FULL else 2
    questions = [
        q.id for c in bundle.checklists for _, _, q in c.questions() if q.required_for(depth)
    ]
    due = datetime(YEAR + 1, 6, 30, tzinfo=UTC).date().isoformat()
    indicators = [
        {"name": "Palvelun käyttäjämäärä", "responsible": "palvelupäällikkö", "due": due},
        {"name": "Asukastyytyväisyys", "responsible": "arviointikoordinaattori", "due": due},
    ]
    return documents.AssessmentDocument.model_validate(
        {
            "format": documents.FORMAT,
            "summary": "Yhteenveto vaikutuksista.",
            "alternatives": [
                {"position": p, "title": f"Vaihtoehto {p}", "chosen": p == 1}
                for p in range(alternatives)
            ],
            "answers": [
                {
                    "question": question,
                    "alternative": position,
                    "direction": "positive",
                    "magnitude": "minor",
                    "duration": "council_term",
                    "certainty": "medium",
                    "justification": "Perusteltu.",
                    "affected_groups": ["families"],
                }
                for question in questions
                for position in range(alternatives)
            ],
            "follow_up_indicators": indicators if depth == ScreeningOutcome.FULL else [],
        }
    )


# The walk ----------------------------------------------------------------------------------------


STEPS: dict[str, list[float]] = {}  # step: [seconds, calls]


@contextmanager
def timed(step: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    spent = STEPS.setdefault(step, [0.0, 0])
    spent[0] += time.perf_counter() - started
    spent[1] += 1


def steps_of(
    people: People, item: Item, docs: dict[ScreeningOutcome, documents.AssessmentDocument]
) -> list[walking.WalkStep]:
    """The steps of one proposal, each by the person who takes it."""
    who = {
        "preparer": item.preparer,
        "secretary": people.secretaries[item.body],
        "presenter": people.presenters[item.body],
    }
    steps: list[walking.WalkStep] = [walking.FireStep(who[ACTORS[t]], t) for t in SCREEN]
    exempt = item.depth == ScreeningOutcome.EXEMPT
    steps.append(
        walking.ScreenStep(
            item.preparer,
            screening.RecordScreening(
                proposal_id=item.pid,
                outcome=item.depth,
                criteria=[] if exempt else ["many_residents"],
                exemption="individual_decision" if exempt else None,
                reason="Yksittäistä henkilöä koskeva päätös." if exempt else None,
                participation_plan=(
                    "Asukastilaisuus ja kysely." if item.depth == ScreeningOutcome.FULL else None
                ),
            ),
        )
    )
    if not exempt:
        steps += [walking.FireStep(who[ACTORS[t]], t) for t in ASSESS]
        steps.append(walking.DocumentStep(item.preparer, docs[item.depth]))
    steps += [walking.FireStep(who[ACTORS[t]], t) for t in DECIDE]
    return steps


def walk(
    eva: Eva,
    people: People,
    items: Sequence[Item],
    docs: dict[ScreeningOutcome, documents.AssessmentDocument],
    cache: walking.WalkCache,
) -> walking.WalkResult:
    """These proposals' steps through the engine's bulk walk: one unit of work, the rules of
    every step evaluated, the rows and events written in bulk."""
    with timed("planning"):
        plan = [(item.pid, steps_of(people, item, docs)) for item in items]
    with timed("bulk walk (rules, writes, sealing, commit)"):
        return walking.walk_proposals(eva, WALKER, ORG, plan, cache=cache)


def count_rows(eva: Eva) -> tuple[int, int]:
    with eva.database.engine.connect() as conn:
        events = int(conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one())
        proposals = int(conn.execute(select(func.count()).select_from(Proposal)).scalar_one())
    return events, proposals


@contextmanager
def phase(phases: dict[str, tuple[float, float]], name: str) -> Iterator[None]:
    """Time a phase: wall seconds and this process's CPU seconds (on a machine shared with
    other work the CPU is the figure that load does not inflate)."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    phases[name] = (time.perf_counter() - wall, time.process_time() - cpu)


def report(
    phases: dict[str, tuple[float, float]], items: Sequence[Item], events: int, proposals: int
) -> None:
    depths = {d: sum(1 for i in items if i.depth == d) for d in ScreeningOutcome}
    click.echo(f"proposals {proposals} ({', '.join(f'{d.value} {n}' for d, n in depths.items())})")
    click.echo(f"audit events {events} ({events / max(1, proposals):.1f} per proposal)")
    click.echo(f"  {'phase':42} {'wall':>9} {'CPU':>9}")
    for name, (wall, cpu) in phases.items():
        click.echo(f"  {name:42} {wall:8.1f}s {cpu:8.1f}s")
        if name == "workflow (bulk walk)":
            for step, (spent, calls) in STEPS.items():
                click.echo(f"    {step:40} {spent:8.1f}s  {calls:7} calls")
    built = [v for k, v in phases.items() if k != "verify"]
    wall, cpu = sum(w for w, _ in built), sum(c for _, c in built)
    click.echo(
        f"built in {wall:.1f} s wall, {cpu:.1f} s CPU: {events / wall:.0f} events/s "
        f"(load average {', '.join(f'{x:.1f}' for x in os.getloadavg())})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.year", description=__doc__)
    parser.add_argument("--proposals", type=int, default=50000)
    parser.add_argument("--database", required=True, help="an empty database's URL")
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--batch", type=int, default=500, help="proposals per unit of work")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    eva = Eva(Database.connect(args.database), default_workflows_dir())
    phases: dict[str, tuple[float, float]] = {}
    began = time.perf_counter()

    def say(text: str) -> None:
        click.echo(f"[{time.perf_counter() - began:7.1f} s] {text}", err=True)

    try:
        with phase(phases, "organisation, users, meetings"):
            upgrade(eva.database.engine)
            definitions.publish(eva, OPERATOR)
            people = build(eva, args.users, say)
        with (
            phase(phases, "bulk import"),
            click.progressbar(length=args.proposals, label="importing", file=sys.stderr) as bar,
        ):
            items = import_proposals(eva, people, args.proposals, rng, bar.update)
        docs = {d: document(eva, d) for d in (ScreeningOutcome.LIGHT, ScreeningOutcome.FULL)}
        cache = walking.WalkCache()
        with (
            phase(phases, "workflow (bulk walk)"),
            click.progressbar(length=len(items), label="walking  ", file=sys.stderr) as bar,
        ):
            for start in range(0, len(items), args.batch):
                part = items[start : start + args.batch]
                walk(eva, people, part, docs, cache)
                bar.update(len(part))
        say("verifying the audit chain (eva audit verify)...")
        with phase(phases, "verify"):
            verified = trail.verify(eva)
        events, proposals = count_rows(eva)
    finally:
        eva.database.dispose()
    report(phases, items, events, proposals)
    click.echo(f"audit chain: {'verified' if verified.ok else 'BROKEN'} ({verified.verified})")
    click.echo("log in as (password " + PASSWORD + "):")
    for role, username in (
        ("admin", ADMIN),
        ("auditor", AUDITOR),
        ("secretary", people.secretaries[0]),
        ("preparer", people.preparers[0]),
    ):
        click.echo(f"  {role:10} {username}")
    return 0 if verified.ok else 1


if __name__ == "__main__":
    sys.exit(main())
