"""Two years of the demo municipality's decisions, before today: each body meets every two
months; proposals are screened (exempt ones with the ground that fits them), assessed, reviewed,
signed off and decided; some are tabled, returned for new preparation, rejected or removed
first; and the follow-ups of the adopted ones get their results — some as predicted, some better
or worse than predicted, one waived, some still open and some overdue. One proposal is
confidential (a procurement with business secrets), one exempt decision concerns one person."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from eva_engine.demo.common import ORG, Indicator, Schedule, as_, assessment
from eva_engine.services.assessment import documents, screening
from eva_engine.services.follow_up import commands as follow_up_commands
from eva_engine.services.follow_up import queries as follow_up_queries
from eva_engine.services.people import organisations
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import FollowUpOutcome, FollowUpSource, Publicity, ScreeningOutcome
from eva_engine.workflow.definition import WorkflowBundle

MEETINGS = 12  # per body: one every two months, the latest a month ago
WAIVE = "waive"
OPEN = "open"
# Who prepares and presents for each body (HYVLTK: the wellbeing director presents).
PEOPLE = {
    "HYVLTK": ("valmistelija", "esittelija"),
    "TEKLTK": ("tekninen", "tekninen"),
    "KH": ("valmistelija", "esittelija"),
}
BODY_DAY = {"HYVLTK": 0, "TEKLTK": 1, "KH": 2}  # the bodies meet on different days


@dataclass(frozen=True)
class Result:
    """A follow-up indicator and what became of it: an outcome recorded 10 days before its
    due date (when that day has come), ``WAIVE`` (waived then) or ``OPEN`` (nothing yet)."""

    indicator: str
    source: FollowUpSource
    reference: str
    due_days: int  # after the decision
    what: str  # a FollowUpOutcome value, WAIVE or OPEN
    value: str = ""
    note: str | None = None
    after_days: int | None = None  # when it is recorded, after the decision (an interim one)

    @property
    def recorded_days(self) -> int:
        return self.due_days - 10 if self.after_days is None else self.after_days


@dataclass(frozen=True)
class Past:
    title: str
    body: str
    meeting: int  # 0: the latest meeting (about a month ago) ... MEETINGS - 1: the earliest
    depth: ScreeningOutcome
    outcome: str = "approve"  # the trigger of the last handling
    before: str | None = None  # an earlier handling, at the meeting before: table or return
    exemption: tuple[str, str] | None = None  # ground, reason
    confidential: str | None = None  # the legal ground
    results: tuple[Result, ...] = ()
    criteria: tuple[str, ...] = ("many_residents", "population_group")


SOTKANET, TEAVIISARI, OWN = (
    FollowUpSource.SOTKANET,
    FollowUpSource.TEAVIISARI,
    FollowUpSource.OWN_DATA,
)
OTHER = FollowUpSource.OTHER

PAST: list[Past] = [
    Past(
        "Koululaisten iltapäivätoiminnan maksut",
        "HYVLTK",
        11,
        ScreeningOutcome.LIGHT,
        results=(
            Result(
                "Iltapäivätoimintaan osallistuvien 1.–2.-luokkalaisten osuus",
                OWN,
                "Perusopetuksen tilastot",
                300,
                "better",
                "71 % (ennuste 65 %)",
                "Maksujen porrastus lisäsi osallistumista pienituloisissa perheissä.",
            ),
        ),
    ),
    Past(
        "Hallintosihteerin viran täyttäminen",
        "KH",
        11,
        ScreeningOutcome.EXEMPT,
        exemption=("filling_post", "Viran täyttäminen; ei vaikutuksia asukkaiden hyvinvointiin."),
    ),
    Past(
        "Palvelulinjan reittimuutos Asemanseudulle",
        "TEKLTK",
        10,
        ScreeningOutcome.LIGHT,
        results=(
            Result(
                "Palvelulinjan matkustajamäärä",
                OWN,
                "Joukkoliikenteen nousijalaskenta",
                200,
                "as_predicted",
                "1 240 nousua / kk",
            ),
        ),
    ),
    Past(
        "Ikäihmisten kotona asumisen tukipalvelut",
        "HYVLTK",
        10,
        ScreeningOutcome.FULL,
        results=(
            Result(
                "Kotona asuvien 75 vuotta täyttäneiden osuus",
                SOTKANET,
                "kotona asuvat 75 vuotta täyttäneet",
                240,
                "worse",
                "90,1 % (ennuste 91,5 %)",
                "Kotihoidon henkilöstöpula hidasti palvelun laajentamista.",
            ),
            Result(
                "Asiakastyytyväisyys tukipalveluihin",
                OWN,
                "Asiakaskysely",
                360,
                "as_predicted",
                "4,2 / 5",
            ),
        ),
        criteria=("many_residents", "population_group", "service_network"),
    ),
    Past(
        "Oikaisuvaatimus varhaiskasvatusmaksusta",
        "HYVLTK",
        9,
        ScreeningOutcome.EXEMPT,
        exemption=(
            "rectification_request",
            "Oikaisuvaatimus yksittäisestä maksupäätöksestä; ei vaikutuksia muihin asukkaisiin.",
        ),
        confidential="JulkL 24 § 1 mom. 25 k",
    ),
    Past(
        "Lastensuojelun perhehoidon palveluhankinta",
        "HYVLTK",
        9,
        ScreeningOutcome.LIGHT,
        confidential="JulkL 24 § 1 mom. 17 k",
        results=(
            Result(
                "Perhehoidossa olevien lasten osuus sijoitetuista",
                SOTKANET,
                "perhehoidossa olevat lapset",
                300,
                "as_predicted",
                "58 %",
            ),
        ),
    ),
    Past(
        "Keskustan osayleiskaavan tavoitteet",
        "TEKLTK",
        7,
        ScreeningOutcome.FULL,
        before="table",
        results=(
            Result(
                "Asukastyytyväisyys keskustan viihtyisyyteen",
                OWN,
                "Asukaskysely",
                720,
                "cannot_tell_yet",
                "Välikysely: 3,4 / 5",
                "Varsinainen kysely tehdään kaavan valmistuttua.",
                after_days=200,
            ),
            Result(
                "Osallistumistilaisuuksien osallistujamäärä",
                OWN,
                "Kaavoituksen osallistumisraportti",
                150,
                "better",
                "312 osallistujaa (ennuste 150)",
            ),
        ),
        criteria=("many_residents", "area", "strategy_goals"),
    ),
    Past(
        "Talousarvion toteutuminen tammi–kesäkuussa",
        "KH",
        8,
        ScreeningOutcome.EXEMPT,
        exemption=("for_information", "Asia merkitään tiedoksi."),
    ),
    Past(
        "Liikuntapaikkojen vuorojakoperiaatteet",
        "HYVLTK",
        7,
        ScreeningOutcome.LIGHT,
        outcome="approve_amended",
        results=(
            Result(
                "Tyttöjen ja naisten vuorojen osuus",
                OWN,
                "Liikuntapalvelujen varausjärjestelmä",
                180,
                "better",
                "44 % (ennuste 40 %)",
            ),
        ),
    ),
    Past(
        "Päiväkoti Tähtisen laajennus",
        "TEKLTK",
        4,
        ScreeningOutcome.FULL,
        before="return_for_new_preparation",
        results=(
            Result(
                "Varhaiskasvatuspaikan saaneiden osuus hakuajassa",
                OWN,
                "Varhaiskasvatuksen hakutilasto",
                150,
                OPEN,
            ),
        ),
        criteria=("many_residents", "service_network", "procurement_over_threshold"),
    ),
    Past(
        "Vammaisneuvoston kokoonpanon muuttaminen",
        "KH",
        6,
        ScreeningOutcome.LIGHT,
        outcome="reject",
    ),
    Past(
        "Nuorten kesätyöseteli",
        "HYVLTK",
        5,
        ScreeningOutcome.LIGHT,
        results=(
            Result(
                "Kesätyösetelin käyttäneiden nuorten määrä",
                OWN,
                "Nuorisopalvelujen tilasto",
                120,
                "worse",
                "64 (ennuste 100)",
                "Yritysten kiinnostus jäi odotettua pienemmäksi.",
            ),
            Result(
                "Nuorisotyöttömyys",
                SOTKANET,
                "nuorisotyöttömät",
                120,
                "as_predicted",
                "9,8 %",
            ),
        ),
    ),
    Past(
        "Maksuvapautus toimeentulon perusteella (yksittäinen asiakas)",
        "HYVLTK",
        5,
        ScreeningOutcome.EXEMPT,
        exemption=("individual_decision", "Päätös koskee yhtä henkilöä."),
        confidential="JulkL 24 § 1 mom. 25 k",
    ),
    Past(
        "Yksityisteiden avustusperusteet",
        "TEKLTK",
        4,
        ScreeningOutcome.LIGHT,
        outcome="remove",
    ),
    Past(
        "Työllisyyspalvelujen järjestämissuunnitelma",
        "KH",
        3,
        ScreeningOutcome.FULL,
        results=(
            Result(
                "Pitkäaikaistyöttömien osuus työvoimasta",
                SOTKANET,
                "pitkäaikaistyöttömät",
                60,
                WAIVE,
                note="Tilaston laskentatapa muuttui TE-uudistuksessa; "
                "seurataan uudella mittarilla.",
            ),
            Result(
                "Työllistymistä edistäviin palveluihin osallistuneet",
                OWN,
                "Työllisyyspalvelujen asiakasjärjestelmä",
                400,
                OPEN,
            ),
        ),
        criteria=("many_residents", "population_group", "business_employment"),
    ),
    Past(
        "Kouluterveydenhuollon tilajärjestelyt",
        "HYVLTK",
        3,
        ScreeningOutcome.LIGHT,
        results=(
            Result(
                "Kouluterveydenhoitajan vastaanotolle pääsy viikossa",
                TEAVIISARI,
                "TEAviisari: perusopetus",
                90,
                OPEN,
            ),
        ),
    ),
    Past(
        "Pyöräteiden talvikunnossapito",
        "TEKLTK",
        2,
        ScreeningOutcome.LIGHT,
        results=(
            Result(
                "Talvipyöräilijöiden määrä laskentapisteissä",
                OWN,
                "Automaattinen pyörälaskenta",
                60,
                "better",
                "+18 % edellistalvesta",
            ),
        ),
    ),
    Past(
        "Kirjaston omatoimiaukiolo",
        "HYVLTK",
        1,
        ScreeningOutcome.LIGHT,
        results=(
            Result("Kirjaston käyntikerrat asukasta kohden", OWN, "Kirjastotilasto", 300, OPEN),
        ),
    ),
    Past(
        "Osavuosikatsaus tammi–elokuu",
        "KH",
        1,
        ScreeningOutcome.EXEMPT,
        exemption=("for_information", "Asia merkitään tiedoksi."),
    ),
    Past(
        "Palvelukeskuksen lounasruokailu ikäihmisille",
        "HYVLTK",
        0,
        ScreeningOutcome.LIGHT,
        results=(
            Result(
                "Lounasruokailuun osallistuvien ikäihmisten määrä",
                OWN,
                "Palvelukeskuksen kävijälaskenta",
                20,
                OPEN,
            ),
        ),
    ),
]


def meeting_times(today: date) -> dict[str, list[datetime]]:
    """Each body's meetings, the latest (index 0) about a month before today, at 16 Finnish."""
    return {
        body: [
            datetime.combine(today - timedelta(days=30 + 60 * k - day), time(14), UTC)
            for k in range(MEETINGS)
        ]
        for body, day in BODY_DAY.items()
    }


@dataclass
class Case:
    """One past proposal: its steps, each a call of the services as the person who takes it."""

    eva: Eva
    bundle: WorkflowBundle
    past: Past
    number: str
    meetings: dict[tuple[str, int], int]  # (body, index): the meeting's id, once created
    decided: datetime  # the start of the meeting of its last handling
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.ids["proposal"]

    @property
    def preparer(self) -> str:
        return PEOPLE[self.past.body][0]

    @property
    def presenter(self) -> str:
        return PEOPLE[self.past.body][1]

    def indicators(self) -> list[Indicator]:
        return [
            Indicator(
                r.indicator,
                r.reference,
                "hyvinvointikoordinaattori",
                (self.decided + timedelta(days=r.due_days)).date(),
            )
            for r in self.past.results
        ]

    def fire(self, username: str, trigger: str, reason: str | None = None) -> None:
        transitions.fire(self.eva, as_(username), self.pid, trigger, reason=reason)

    def create(self) -> None:
        past = self.past
        confidential = past.confidential is not None
        self.ids["proposal"] = proposal_commands.create_proposal(
            self.eva,
            as_(self.preparer),
            proposal_commands.CreateProposal(
                organisation=ORG,
                case_number=self.number,
                title_fi=past.title,
                body=past.body,
                presenter=self.presenter,
                publicity=Publicity.CONFIDENTIAL if confidential else Publicity.PUBLIC,
                confidentiality_ground=past.confidential,
                contains_personal_data=past.exemption is not None and confidential,
            ),
        ).id

    def screen(self) -> None:
        past = self.past
        self.fire(self.preparer, "start_screening")
        if past.exemption is not None:
            ground, reason = past.exemption
            command = screening.RecordScreening(
                proposal_id=self.pid,
                outcome=ScreeningOutcome.EXEMPT,
                exemption=ground,
                reason=reason,
            )
        else:
            full = past.depth == ScreeningOutcome.FULL
            command = screening.RecordScreening(
                proposal_id=self.pid,
                outcome=past.depth,
                criteria=list(past.criteria),
                participation_plan=(
                    "Asukaskysely ja kuulemistilaisuus; vaikuttamistoimielinten lausunnot."
                    if full
                    else None
                ),
            )
        screening.record_screening(self.eva, as_(self.preparer), command)
        if past.exemption is not None:
            self.fire(self.preparer, "submit_for_review")

    def assess(self, again: bool = False) -> None:
        past = self.past
        if past.exemption is not None:
            return
        if again:  # a new revision, from a draft (its screening carried over)
            self.fire(self.preparer, "start_screening")
        self.fire(self.preparer, "begin_assessment")
        document = assessment(self.bundle, past.depth, past.title, self.indicators())
        documents.import_assessment(self.eva, as_(self.preparer), self.pid, document)
        self.fire(self.preparer, "submit_for_review")

    def review(self) -> None:
        self.fire("koordinaattori", "pass_review")

    def sign(self) -> None:
        self.fire(self.presenter, "sign_off")

    def place(self, k: int) -> None:
        proposal_commands.schedule(
            self.eva,
            as_("sihteeri"),
            proposal_commands.ScheduleProposal(
                proposal_id=self.pid, meeting_id=self.meetings[(self.past.body, k)]
            ),
        )
        self.fire("sihteeri", "place_on_agenda")

    def handle(self, trigger: str) -> None:
        self.fire("sihteeri", trigger, REASONS.get(trigger))

    def settle(self, index: int) -> None:
        result = self.past.results[index]
        caller = as_(self.preparer)
        follow_ups = follow_up_queries.proposal_follow_ups(self.eva, caller, self.pid).follow_ups
        follow_up = follow_ups[index]
        if result.what == WAIVE:
            follow_up_commands.waive(
                self.eva,
                caller,
                follow_up_commands.WaiveFollowUp(
                    follow_up_id=follow_up.id, reason=result.note or "Ei mitattavissa."
                ),
            )
            return
        recorded = (self.decided + timedelta(days=result.recorded_days)).date()
        follow_up_commands.record_result(
            self.eva,
            caller,
            follow_up_commands.RecordResult(
                follow_up_id=follow_up.id,
                value=result.value,
                measured_on=min(follow_up.due, recorded) - timedelta(days=4),
                source_kind=result.source,
                source_reference=result.reference,
                note=result.note,
                outcome=FollowUpOutcome(result.what),
            ),
        )


REASONS = {
    "return_for_new_preparation": "Lisäselvitys vaihtoehtojen kustannuksista.",
    "approve_amended": "Lautakunta lisäsi vuorojakoon seurannan sukupuolittain.",
    "remove": "Asia poistettiin esityslistalta lisäselvitysten vuoksi.",
}


def schedule_history(
    eva: Eva, schedule: Schedule, bundle: WorkflowBundle, today: date
) -> list[Case]:
    """Put the meetings and every past proposal's steps on ``schedule``."""
    op = as_(None)
    times = meeting_times(today)
    meetings: dict[tuple[str, int], int] = {}
    for body, starts in times.items():
        for k, starts_at in enumerate(starts):

            def create(body: str = body, k: int = k, starts_at: datetime = starts_at) -> None:
                meetings[(body, k)] = organisations.create_meeting(
                    eva,
                    op,
                    organisations.CreateMeeting(
                        organisation=ORG, body=body, starts_at=starts_at, location="Kunnantalo"
                    ),
                ).id

            schedule.at(starts_at - timedelta(days=50), create)
    cases = []
    for n, past in enumerate(PAST, start=1):
        first = past.meeting + (1 if past.before else 0)
        start = times[past.body][first] - timedelta(days=40)
        number = f"{10 + n}/00.01.00/{start.year}"
        case = Case(eva, bundle, past, number, meetings, times[past.body][past.meeting])
        _schedule(schedule, case, times[past.body][first], first, today)
        cases.append(case)
    return cases


def _schedule(
    schedule: Schedule, case: Case, meeting_at: datetime, first: int, today: date
) -> None:
    """The case's steps: prepared before its first meeting, handled there (and again later when
    it was tabled or returned), its follow-ups recorded when their time has come."""
    past = case.past
    start = meeting_at - timedelta(days=40)
    schedule.at(start, case.create)
    schedule.at(start + timedelta(days=2), case.screen)
    schedule.at(start + timedelta(days=6), case.assess)
    schedule.at(start + timedelta(days=12), case.review)
    schedule.at(start + timedelta(days=16), case.sign)
    schedule.at(meeting_at - timedelta(days=12), lambda: case.place(first))
    if past.before is not None:
        schedule.at(meeting_at + timedelta(hours=4), lambda: case.handle(past.before or ""))
        if past.before == "return_for_new_preparation":
            schedule.at(meeting_at + timedelta(days=10), lambda: case.assess(again=True))
            schedule.at(meeting_at + timedelta(days=15), case.review)
            schedule.at(meeting_at + timedelta(days=18), case.sign)
        schedule.at(case.decided - timedelta(days=12), lambda: case.place(past.meeting))
    schedule.at(case.decided + timedelta(hours=4), lambda: case.handle(past.outcome))
    if not past.results:
        return
    schedule.at(
        case.decided + timedelta(days=7), lambda: case.fire(case.preparer, "start_follow_up")
    )
    now = datetime.combine(today, time(8), UTC)
    settled = 0
    for index, result in enumerate(past.results):
        when = case.decided + timedelta(days=result.recorded_days)
        if result.what == OPEN or when >= now - timedelta(days=1):
            continue
        schedule.at(when, functools.partial(case.settle, index))
        settled += result.what != "cannot_tell_yet"
    if settled == len(past.results):
        last = max(case.decided + timedelta(days=r.recorded_days + 1) for r in past.results)
        schedule.at(last, lambda: case.fire(case.preparer, "close"))
