"""Demo data: a fictional municipality with users in every role, two years of its decisions
with their follow-ups (``history``), proposals in every state today, and the real case from the
seeds (``virrat``: HYVLTK 13.06.2023 § 26). Everything is created through the same services a
user would call, each step in a transaction of its own at the time it would have been taken
(``common.Schedule``), so the demo history is a real history, dated as it would have been."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import groupby

from pydantic import BaseModel, Field

from eva_engine.db.repositories import ProposalFilter
from eva_engine.demo.common import DYNASTY_PATTERN, ORG, Schedule, assessment
from eva_engine.demo.common import as_ as _as
from eva_engine.demo.history import PAST, schedule_history
from eva_engine.demo.virrat import schedule_virrat
from eva_engine.errors import N_, NotFound, Text
from eva_engine.services import definitions
from eva_engine.services.assessment import documents, screening
from eva_engine.services.follow_up import commands as follow_up_commands
from eva_engine.services.follow_up import queries as follow_up_queries
from eva_engine.services.history import trail
from eva_engine.services.people import accounts, organisations, users
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.steps import transitions
from eva_engine.services.views import HistoryEventView, TextView
from eva_engine.vocabulary import (
    BodyKind,
    FollowUpOutcome,
    FollowUpSource,
    Language,
    Role,
    ScreeningOutcome,
)
from eva_engine.workflow.definition import WorkflowBundle

__all__ = [
    "DEMO_PASSWORD",
    "DYNASTY_PATTERN",
    "ORG",
    "PEOPLE",
    "DemoReport",
    "load_demo_data",
    "walk",
]

# Demo accounts only: `demo-data` refuses to run in production.
DEMO_PASSWORD = "esimerkki-2026"  # noqa: S105
# When the demo municipality and Virrat started to use eva (the history's first day).
START = datetime(2023, 5, 2, 6, tzinfo=UTC)

# username, full name, title, roles (role, body or None for the whole organisation)
PEOPLE: list[tuple[str, str, str, list[tuple[Role, str | None]]]] = [
    ("paakayttaja", "Pirjo Pääkäyttäjä", "pääkäyttäjä", [(Role.ADMIN, None)]),
    ("valmistelija", "Veera Valmistelija", "suunnittelija", [(Role.PREPARER, None)]),
    (
        "tekninen",
        "Teemu Tekninen",
        "tekninen johtaja",
        [(Role.PREPARER, "TEKLTK"), (Role.PRESENTER, "TEKLTK")],
    ),
    (
        "koordinaattori",
        "Hanna Hyvinvointikoordinaattori",
        "hyvinvointikoordinaattori",
        [(Role.EXPERT, None)],
    ),
    (
        "esittelija",
        "Eero Esittelijä",
        "hyvinvointijohtaja",
        [(Role.PRESENTER, None), (Role.PREPARER, "HYVLTK")],
    ),
    ("sihteeri", "Siiri Sihteeri", "hallintosihteeri", [(Role.SECRETARY, None)]),
    (
        "tarkastaja",
        "Tuula Tarkastaja",
        "tarkastuslautakunnan puheenjohtaja",
        [(Role.AUDITOR, None)],
    ),
]

BODIES = [
    ("KH", "Kunnanhallitus", "Kommunstyrelsen", BodyKind.EXECUTIVE_BOARD),
    ("HYVLTK", "Hyvinvointilautakunta", "Välfärdsnämnden", BodyKind.COMMITTEE),
    ("TEKLTK", "Tekninen lautakunta", "Tekniska nämnden", BodyKind.COMMITTEE),
]

# The order in which a proposal normally moves, with who fires each step.
PATH: list[tuple[str, str]] = [
    ("start_screening", "preparer"),
    ("begin_assessment", "preparer"),
    ("submit_for_review", "preparer"),
    ("pass_review", "koordinaattori"),
    ("sign_off", "presenter"),
    ("place_on_agenda", "sihteeri"),
    ("approve", "sihteeri"),
    ("start_follow_up", "preparer"),
    ("close", "preparer"),
]
STATE_AFTER = {
    "draft": 0,
    "screening": 1,
    "assessment": 2,
    "review": 3,
    "reviewed": 4,
    "signed_off": 5,
    "on_agenda": 6,
    "decided": 7,
    "follow_up": 8,
    "closed": 9,
}

# (title, body, target state, depth, ending): ending fires after the normal path
SCENARIOS: list[tuple[str, str, str, ScreeningOutcome, tuple[str, str] | None]] = [
    (
        "Liikuntapaikkojen aukioloaikojen laajentaminen",
        "HYVLTK",
        "draft",
        ScreeningOutcome.LIGHT,
        None,
    ),
    ("Kirjastoauton reittimuutokset", "HYVLTK", "screening", ScreeningOutcome.LIGHT, None),
    (
        "Nuorisotilan siirtäminen koulukeskukseen",
        "HYVLTK",
        "assessment",
        ScreeningOutcome.FULL,
        None,
    ),
    ("Koulukuljetusten periaatteet 2027", "KH", "review", ScreeningOutcome.LIGHT, None),
    ("Kevyen liikenteen väylä Koulutielle", "TEKLTK", "review", ScreeningOutcome.LIGHT, None),
    ("Ikäihmisten liikuntaryhmien maksut", "HYVLTK", "reviewed", ScreeningOutcome.LIGHT, None),
    ("Katuvalaistuksen energiansäästö", "TEKLTK", "signed_off", ScreeningOutcome.LIGHT, None),
    ("Hyvinvointisuunnitelman päivitys", "KH", "on_agenda", ScreeningOutcome.FULL, None),
    ("Uimahallin peruskorjaus", "TEKLTK", "on_agenda", ScreeningOutcome.FULL, None),
    ("Kulttuuripalvelujen avustukset 2027", "HYVLTK", "decided", ScreeningOutcome.LIGHT, None),
    ("Lähiliikuntapaikka Kirkonkylään", "TEKLTK", "follow_up", ScreeningOutcome.LIGHT, None),
    ("Kouluruokailun kasvisvaihtoehto", "HYVLTK", "closed", ScreeningOutcome.LIGHT, None),
    ("Viranhaltijan lomasijaisuus", "KH", "draft", ScreeningOutcome.EXEMPT, None),
    ("Oikaisuvaatimus maksupäätöksestä", "HYVLTK", "review", ScreeningOutcome.EXEMPT, None),
    (
        "Kyläkoulun lakkauttaminen",
        "KH",
        "withdrawn",
        ScreeningOutcome.FULL,
        ("withdraw", "Valtuusto linjasi palveluverkon uudelleen; asia valmistellaan myöhemmin."),
    ),
    ("Pysäköintimaksujen korotus", "TEKLTK", "rejected", ScreeningOutcome.LIGHT, ("reject", "")),
    (
        "Torin katoksen rakentaminen",
        "TEKLTK",
        "removed",
        ScreeningOutcome.LIGHT,
        ("remove", "Esittelijä poisti asian esityslistalta lisäselvitysten vuoksi."),
    ),
    (
        "Perhekeskuksen aukioloajat",
        "HYVLTK",
        "draft",
        ScreeningOutcome.LIGHT,
        ("return_for_new_preparation", "Vaikutukset lapsiperheisiin selvitettävä tarkemmin."),
    ),
    ("Vanhusneuvoston toimintasääntö", "KH", "signed_off", ScreeningOutcome.LIGHT, ("table", "")),
]
# The exempt scenarios' grounds (the workflow's exemptions) and reasons.
EXEMPTIONS = {
    "Viranhaltijan lomasijaisuus": (
        "filling_post",
        "Päätös koskee yksittäisen viran sijaisuutta; ei vaikutuksia asukkaisiin.",
    ),
    "Oikaisuvaatimus maksupäätöksestä": (
        "rectification_request",
        "Oikaisuvaatimus yksittäisestä maksupäätöksestä; ei vaikutuksia muihin asukkaisiin.",
    ),
}


class DemoReport(BaseModel):
    loaded: bool
    proposals: int
    message: str  # in English (the JSON's); ``text`` is the same as a message id, for people
    text: TextView | None = Field(default=None, exclude=True)


def _report(loaded: bool, proposals: int, message: Text) -> DemoReport:
    return DemoReport(
        loaded=loaded,
        proposals=proposals,
        message=str(message),
        text=TextView(template=message.template, params=dict(message.params)),
    )


# What the demo says as it goes: a message (translated where it is shown) or a line of ids.
Say = Callable[[Text | str], None]


def _day(days: int) -> datetime:
    base = datetime.now(UTC).replace(hour=14, minute=0, second=0, microsecond=0)
    return base + timedelta(days=days)


def _bundle(eva: Eva) -> WorkflowBundle:
    with eva.uow() as uow:
        record = uow.repos.latest_definition("eva-standard")
        if record is None:  # pragma: no cover - published by load_demo_data first
            raise NotFound("eva-standard has not been published")
        bundle, _ = definitions.stored_bundle(uow.repos, record.name, record.version)
        return bundle


def load_demo_data(eva: Eva, *, if_empty: bool = False) -> DemoReport:
    with eva.uow() as uow:
        if uow.repos.organisations() and if_empty:
            return _report(
                False, 0, Text(N_("Demo data not loaded: the database has data already."))
            )
    op = _as(None)
    schedule = Schedule()
    schedule.at(START, lambda: _setup(eva, op))
    schedule.run()
    bundle = _bundle(eva)
    schedule_virrat(eva, schedule, bundle)
    schedule_history(eva, schedule, bundle, datetime.now(UTC).date())
    schedule.run()
    # Today's work, at the server's time: proposals in every state.
    meetings = {}
    for code, _, _, _ in BODIES:
        meetings[code] = organisations.create_meeting(
            eva,
            op,
            organisations.CreateMeeting(
                organisation=ORG, body=code, starts_at=_day(14), location="Kunnantalo"
            ),
        ).id
    year = datetime.now(UTC).year
    for index, (title, body, target, depth, ending) in enumerate(SCENARIOS, start=1):
        preparer = "tekninen" if body == "TEKLTK" else "valmistelija"
        presenter = "tekninen" if body == "TEKLTK" else "esittelija"
        stop = _path_length(target, ending)
        _create_and_walk(
            eva,
            bundle,
            title,
            body,
            f"{100 + index}/00.01.00/{year}",
            preparer,
            presenter,
            depth,
            meetings[body],
            stop,
            ending,
        )
    count = len(SCENARIOS) + len(PAST) + 1
    loaded = Text(
        N_(
            "Demo data loaded: %(organisations)s organisations, %(users)s users, "
            "%(proposals)s proposals."
        ),
        {"organisations": 2, "users": len(PEOPLE) + 2, "proposals": count},
    )
    return _report(True, count, loaded)


def _setup(eva: Eva, op: Caller) -> None:
    """The workflows, the demo municipality, its bodies and its people."""
    definitions.publish(eva, op)
    organisations.create_organisation(
        eva,
        op,
        organisations.CreateOrganisation(
            code=ORG,
            name_fi="Esimerkkilän kunta",
            name_sv="Exempelby kommun",
            case_number_pattern=DYNASTY_PATTERN,
            case_number_example="257/05.00.00/2023",
        ),
    )
    for code, fi, sv, kind in BODIES:
        organisations.create_body(
            eva,
            op,
            organisations.CreateBody(
                organisation=ORG, code=code, name_fi=fi, name_sv=sv, kind=kind
            ),
        )
    for username, name, title, grants in PEOPLE:
        users.create_user(
            eva,
            op,
            users.CreateUser(
                username=username,
                full_name=name,
                title=title,
                email=f"{username}@esimerkkila.invalid",
                language=Language.FI,
            ),
            organisation=ORG,
        )
        accounts.set_password(eva, op, username, DEMO_PASSWORD)
        for role, body in grants:
            users.grant_role(
                eva, op, users.GrantRole(username=username, organisation=ORG, role=role, body=body)
            )


def _path_length(target: str, ending: tuple[str, str] | None) -> int:
    if ending is None:
        return STATE_AFTER[target]
    return STATE_AFTER["on_agenda"] if ending[0] != "withdraw" else STATE_AFTER["assessment"]


def _create_and_walk(
    eva: Eva,
    bundle: WorkflowBundle,
    title: str,
    body: str,
    case: str,
    preparer: str,
    presenter: str,
    depth: ScreeningOutcome,
    meeting: int,
    steps: int,
    ending: tuple[str, str] | None,
    say: Say | None = None,
) -> int:
    view = proposal_commands.create_proposal(
        eva,
        _as(preparer),
        proposal_commands.CreateProposal(
            organisation=ORG, case_number=case, title_fi=title, body=body, presenter=presenter
        ),
    )
    pid = view.id
    who = {"preparer": preparer, "presenter": presenter}
    for step, actor in PATH[:steps]:
        user = who.get(actor, actor)
        trigger = step
        if step == "begin_assessment":
            _screen_and_assess(eva, bundle, pid, preparer, depth, title)
            if depth == ScreeningOutcome.EXEMPT:
                trigger = "submit_for_review"
        if trigger == "place_on_agenda":
            proposal_commands.schedule(
                eva,
                _as("sihteeri"),
                proposal_commands.ScheduleProposal(proposal_id=pid, meeting_id=meeting),
            )
        if trigger == "close":
            _record_follow_ups(eva, pid, preparer)
        result = transitions.fire(eva, _as(user), pid, trigger)
        if say:
            say(f"  {user:<15} {trigger:<18} {result.from_state} → {result.to_state}")
        if depth == ScreeningOutcome.EXEMPT and result.to_state == "review":
            break
    if ending is not None:
        trigger, reason = ending
        actor = preparer if trigger == "withdraw" else "sihteeri"
        transitions.fire(eva, _as(actor), pid, trigger, reason=reason or None)
    return pid


def _record_follow_ups(eva: Eva, pid: int, preparer: str) -> None:
    """The preparer records each follow-up's result (as predicted) before the case closes."""
    for follow_up in follow_up_queries.proposal_follow_ups(eva, _as(preparer), pid).follow_ups:
        follow_up_commands.record_result(
            eva,
            _as(preparer),
            follow_up_commands.RecordResult(
                follow_up_id=follow_up.id,
                value="toteutui",
                measured_on=datetime.now(UTC).date(),
                source_kind=FollowUpSource.OWN_DATA,
                source_reference="Kunnan oma seuranta",
                outcome=FollowUpOutcome.AS_PREDICTED,
            ),
        )


def _screen_and_assess(
    eva: Eva, bundle: WorkflowBundle, pid: int, preparer: str, depth: ScreeningOutcome, title: str
) -> None:
    caller = _as(preparer)
    if depth == ScreeningOutcome.EXEMPT:
        ground, reason = EXEMPTIONS.get(
            title, ("other", "Ei vaikutuksia asukkaiden hyvinvointiin.")
        )
        screening.record_screening(
            eva,
            caller,
            screening.RecordScreening(
                proposal_id=pid, outcome=depth, exemption=ground, reason=reason
            ),
        )
        return
    screening.record_screening(
        eva,
        caller,
        screening.RecordScreening(
            proposal_id=pid,
            outcome=depth,
            criteria=["many_residents", "population_group"],
            participation_plan=(
                "Asukaskysely ja kuulemistilaisuus; nuorisovaltuuston lausunto."
                if depth == ScreeningOutcome.FULL
                else None
            ),
        ),
    )
    documents.import_assessment(eva, caller, pid, assessment(bundle, depth, title))


def walk(eva: Eva, say: Say) -> None:
    """Walk one new sample proposal from draft to closed, then print its history."""
    with eva.uow() as uow:
        missing = uow.repos.organisation_by_code(ORG) is None
    if missing:  # outside the unit of work above: on SQLite it would hold the write lock
        say(Text(N_("No demo data yet: loading it first.")))
        load_demo_data(eva)
    with eva.uow() as uow:
        org = uow.repos.organisation_by_code(ORG)
        body = uow.repos.body_by_code(org.id, "HYVLTK") if org else None
        if org is None or body is None:
            incomplete = Text(
                N_(
                    "The demo organisation %(organisation)s is incomplete: start from an empty "
                    "database."
                ),
                {"organisation": ORG},
            )
            raise NotFound(incomplete)
        count = uow.repos.proposals(ProposalFilter(organisation_id=org.id, limit=1))[1]
        meeting = uow.repos.meetings(body.id)[-1]  # the latest: the one coming up
    case = f"{500 + count}/05.00.00/{datetime.now(UTC).year}"
    title = "Ulkokuntosalin rakentaminen Keskuspuistoon"
    say(
        Text(
            N_("Walking a new proposal %(case)s '%(title)s' from draft to closed:"),
            {"case": case, "title": title},
        )
    )
    pid = _create_and_walk(
        eva,
        _bundle(eva),
        title,
        "HYVLTK",
        case,
        "valmistelija",
        "esittelija",
        ScreeningOutcome.LIGHT,
        meeting.id,
        len(PATH),
        None,
        say=say,
    )
    say("")
    say(Text(N_("History of proposal %(id)s (eva history %(id)s):"), {"id": pid}))
    events = trail.proposal_history(eva, Caller(None, "demo"), pid)

    # Transitions one by one; runs of the same other change (12 answers...) on one line.
    def key(ev: HistoryEventView) -> tuple[str, str, int]:
        return (ev.action, ev.actor, ev.seq if ev.action == "proposal.transition" else 0)

    for _, group in groupby(events, key=key):
        run = list(group)
        ev = run[0]
        if ev.action == "proposal.transition" and ev.after:
            detail = f"{(ev.before or {}).get('state')} → {ev.after.get('state')}"
        else:
            detail = ev.entity if len(run) == 1 else f"{len(run)} events"
        say(f"  #{ev.seq:<5} {ev.occurred_at:%H:%M:%S} {ev.actor:<14} {ev.action:<26} {detail}")
    result = trail.verify(eva)
    say("")
    if result.ok:
        say(
            Text(
                N_("Audit chain: intact, %(count)s events verified (eva audit verify)."),
                {"count": result.verified},
            )
        )
    else:
        say(
            Text(
                N_("Audit chain: BROKEN, %(count)s events verified (eva audit verify)."),
                {"count": result.verified},
            )
        )
        say((result.issue.what if result.issue else None) or str(result.problem))
    say("")
    say(
        Text(
            N_(
                "Demo users in organisation '%(organisation)s' (use them with --as; web "
                "password '%(password)s'):"
            ),
            {"organisation": ORG, "password": DEMO_PASSWORD},
        )
    )
    for username, name, _title, grants in PEOPLE:
        roles = ", ".join(r.value + (f"@{b}" if b else "") for r, b in grants)
        say(f"  {username:<15} {name:<32} {roles}")
