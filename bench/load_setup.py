"""The work in progress that ``bench.load`` puts on top of a generated year (``bench.year``).

A generated year is finished: every proposal is decided, so nothing waits in anyone's My work
and no step can be taken. The load needs a city in the middle of its year, so this adds, once
per database and only through the engine's services (the bulk import, the screening command,
``transitions.fire``):

- drafts of the clients' preparers (``--drafts`` each, a preparation task each), and one
  preparer holding ``--heavy`` tasks (the issue's preparer with about 1,900 tasks);
- per body, proposals waiting in the review queue and signed off ones waiting for an agenda
  (the secretaries' role queues);
- one proposal per client in screening with an exempt screening: the client's steps move it to
  review (its preparer) and back (its body's secretary, with a reason), as often as it likes;
- the clients' passwords.

Each run then makes one read-only API token per client preparer (a token's secret is shown
only when it is made). The proposals it adds are imported with external ids ``LOAD-…``: when
they are there already, only the tokens are made."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from sqlalchemy import func, select

from eva_engine.models import Assessment, AuditEvent, Body, Meeting, Proposal, User
from eva_engine.services.assessment import screening
from eva_engine.services.exchange import importing
from eva_engine.services.people import accounts, tokens
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import ScreeningOutcome, TokenScope

ORG = "suurkaupunki"  # bench.year's organisation
PASSWORD = "Vuosi-2026-salasana"  # noqa: S105 - bench.year's demo login
AUDITOR = "auditor"
SOURCE = "bench-load"
OPERATOR = Caller(None, "bench-load")
BODIES = 40
# The steps of the shipped eva-standard workflow (as bench.year and bench.transitions use).
START, SUBMIT, PASS, SIGN = "start_screening", "submit_for_review", "pass_review", "sign_off"
RETURN = "return_for_revision"


def as_(username: str) -> Caller:
    return Caller(username, SOURCE, confirmed=True)


def preparer(n: int) -> str:
    return f"valmistelija{n:04d}"


def secretary(body: int) -> str:
    return f"sihteeri{body:02d}"


def presenter(body: int) -> str:
    return f"esittelija{body:02d}"


@dataclass
class Desk:
    """What one client works with: its own preparer (and that preparer's API token), its
    body's secretary, the auditor; the proposal it moves, the meetings of its body and the
    proposals it reads."""

    preparer: str
    secretary: str
    auditor: str
    token: str
    stepper: int  # a proposal in screening with an exempt screening, of this preparer
    meetings: list[int]
    reads: list[int]
    heavy: bool = False  # this preparer holds the --heavy tasks


@dataclass
class Plan:
    organisation: str
    password: str
    year: int
    desks: list[Desk] = field(default_factory=list)
    proposals: int = 0
    events: int = 0

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def _import(eva: Eva, rows: Sequence[tuple[str, int, str]], name: str, first: int) -> list[int]:
    """Drafts (external id, body, preparer) through the bulk import, in files of 5,000; their
    case numbers from ``first`` on."""
    ids: list[int] = []
    for start in range(0, len(rows), 5000):
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["external_id", "case_number", "title_fi", "body", "preparer", "presenter"])
        for n, (external, body, who) in enumerate(rows[start : start + 5000], start=start):
            writer.writerow(
                [
                    external,
                    f"{first + n}/00.02.00/2026",
                    f"Valmisteilla {external.removeprefix('LOAD-')}",
                    f"B{body:02d}",
                    who,
                    presenter(body),
                ]
            )
        report = importing.import_proposals(
            eva,
            Caller("admin", f"import:{name}"),
            ORG,
            out.getvalue().encode(),
            name,
            source_system=SOURCE,
        )
        ids += [case.proposal_id or 0 for case in report.created]
    return ids


def _screen_exempt(eva: Eva, who: str, pid: int) -> None:
    transitions.fire(eva, as_(who), pid, START)
    screening.record_screening(
        eva,
        as_(who),
        screening.RecordScreening(
            proposal_id=pid,
            outcome=ScreeningOutcome.EXEMPT,
            exemption="individual_decision",
            reason="Yksittäistä henkilöä koskeva päätös.",
        ),
    )


def _present(eva: Eva) -> bool:
    with eva.reading() as uow:
        found = uow.session.scalar(
            select(func.count()).select_from(Proposal).where(Proposal.source_system == SOURCE)
        )
    return bool(found)


def add_live_work(
    eva: Eva, clients: int, drafts: int, heavy: int, say: Callable[[str], None]
) -> None:
    """The work in progress of the module's docstring, once per database."""
    if _present(eva):
        say("the work in progress is there already")
        return
    rows: list[tuple[str, int, str]] = []
    for n in range(clients):
        count = heavy if n == 0 else drafts
        rows += [(f"LOAD-D{n}-{k}", n % BODIES, preparer(n)) for k in range(count)]
    steppers = [(f"LOAD-S{n}", n % BODIES, preparer(n)) for n in range(clients)]
    queued = [(f"LOAD-Q{b}-{k}", b, preparer(b + k)) for b in range(BODIES) for k in range(7)]
    say(f"importing {len(rows)} drafts, {len(steppers)} proposals to step, {len(queued)} queued")
    _import(eva, rows, "load-drafts.csv", 100000)
    stepper_ids = _import(eva, steppers, "load-steps.csv", 200000)
    queued_ids = _import(eva, queued, "load-queued.csv", 300000)
    with eva.transaction() as tx:
        for (_, _, who), pid in zip(steppers, stepper_ids, strict=True):
            _screen_exempt(eva, who, pid)
        for n, ((_, body, who), pid) in enumerate(zip(queued, queued_ids, strict=True)):
            _screen_exempt(eva, who, pid)
            transitions.fire(eva, as_(who), pid, SUBMIT)  # the review queue of the body
            if n % 7 >= 5:  # two of seven further: signed off, waiting for an agenda
                transitions.fire(eva, as_(secretary(body)), pid, PASS)
                transitions.fire(eva, as_(presenter(body)), pid, SIGN)
        tx.commit()
    people = {preparer(n) for n in range(clients)} | {secretary(b) for b in range(BODIES)}
    say(f"setting the password of {len(people) + 1} users")
    for username in sorted(people | {AUDITOR}):
        accounts.set_password(eva, OPERATOR, username, PASSWORD)


def plan(eva: Eva, clients: int, reads: int, seed: int) -> Plan:
    """Each client's desk, with a fresh read-only API token for its preparer."""
    rng = random.Random(seed)
    with eva.reading() as uow:
        session = uow.session
        org = uow.repos.organisation_by_code(ORG)
        if org is None:
            raise SystemExit(f"no organisation {ORG!r}: generate a year first (bench.year)")
        bodies = {
            int(code[1:]): body_id
            for body_id, code in session.execute(
                select(Body.id, Body.code).where(Body.organisation_id == org.id)
            )
        }
        # Each body's meetings with the most items first: an agenda page that has something on it.
        items = (
            select(Meeting.id, Meeting.body_id, func.count(Proposal.id).label("n"))
            .join(Proposal, Proposal.meeting_id == Meeting.id)
            .group_by(Meeting.id, Meeting.body_id)
            .order_by(func.count(Proposal.id).desc(), Meeting.id)
        )
        meetings: dict[int, list[int]] = {}
        for meeting_id, body_id, _ in session.execute(items):
            meetings.setdefault(body_id, []).append(meeting_id)
        generated = session.scalars(
            select(Proposal.id).where(Proposal.source_system.is_distinct_from(SOURCE))
        ).all()
        # The fully assessed ones have the longest histories (several revisions of answers).
        assessed = session.scalars(
            select(Assessment.proposal_id).where(Assessment.summary.is_not(None)).distinct()
        ).all()
        stepping = select(Proposal.external_ref, Proposal.id).where(
            Proposal.source_system == SOURCE, Proposal.external_ref.like("LOAD-S%")
        )
        steppers = {str(ref): pid for ref, pid in session.execute(stepping)}
        found = set(session.scalars(select(User.username).where(User.organisation_id == org.id)))
        total = int(session.scalar(select(func.count()).select_from(Proposal)) or 0)
        events = int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
    if not generated:
        raise SystemExit("the database has no generated proposals: run bench.year first")
    result = Plan(ORG, PASSWORD, 2026, proposals=total, events=events)
    for n in range(clients):
        username = preparer(n)
        if username not in found or f"LOAD-S{n}" not in steppers:
            raise SystemExit(f"{username} or its proposal is missing: more clients than prepared")
        body = n % BODIES
        made = tokens.create_token(
            eva,
            as_(username),
            tokens.CreateToken(name=f"bench-load-{rng.randrange(10**9)}", scopes=[TokenScope.READ]),
        )
        chosen = rng.sample(generated, min(reads, len(generated)))
        if assessed:
            chosen[: max(1, reads // 5)] = rng.sample(assessed, min(len(assessed), reads // 5 or 1))
        result.desks.append(
            Desk(
                preparer=username,
                secretary=secretary(body),
                auditor=AUDITOR,
                token=made.token,
                stepper=steppers[f"LOAD-S{n}"],
                meetings=meetings.get(bodies[body], [])[:5],
                reads=chosen,
                heavy=n == 0,
            )
        )
    return result
