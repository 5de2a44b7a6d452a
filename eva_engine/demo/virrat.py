"""The real case from the seeds: Virrat's welfare committee (hyvinvointilautakunta, HYVLTK)
decided on 13.6.2023 § 26 (case 257/05.00.00/2023) to apply for membership of THL's Terve Kunta
network, as proposed by the welfare director, who prepared and presented it. The alternatives
are the ones the decision weighed: 0, stay outside the network, and 1, join it; the impacts,
the summary and the proposal follow the minutes. It is followed up through TEAviisari and the
wellbeing report (hyvinvointikertomus), and closed once both are recorded.

The follow-up results are the demo's own examples, not Virrat's figures: each says so. The
people are named by their titles only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from eva_engine.demo.common import DYNASTY_PATTERN, Schedule, answers_for, as_
from eva_engine.services.assessment import documents, screening
from eva_engine.services.follow_up import commands as follow_up_commands
from eva_engine.services.follow_up import queries as follow_up_queries
from eva_engine.services.people import organisations, users
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import FollowUpOutcome, FollowUpSource, Role, ScreeningOutcome
from eva_engine.workflow.definition import WorkflowBundle

ORG = "virrat"
CASE = "257/05.00.00/2023"
TITLE = "Hakemus Terve Kunta -verkostoon"
DIRECTOR = "virrat.hyvinvointijohtaja"
SECRETARY = "virrat.sihteeri"
MEETING = datetime.fromisoformat("2023-06-13T16:00:00+03:00")

SUMMARY = (
    "Terve Kunta -verkosto on kuntien hyvinvoinnin ja terveyden edistämisen tueksi vuonna 1996 "
    "perustettu verkosto, jota koordinoi Terveyden ja hyvinvoinnin laitos THL. Se kokoaa yhteen "
    "kuntia, joissa hyvinvoinnin ja terveyden edistäminen on keskeinen strateginen linjaus ja "
    "toimintaa ohjaava periaate, ja on osa WHO European Healthy Cities -verkostoa. Verkosto "
    "kehittää hyvinvoinnin ja terveyden edistämisen strategista johtamista, toimintaa ja "
    "toiminnan arviointia. Jäsenenä kaupunki sitoutuu toteuttamaan ja kehittämään aktiivista "
    "hyvinvoinnin ja terveyden edistämisen tehtävää, hyvinvointi- ja terveyserojen kaventamista "
    "kaikkien hallinnonalojen yhteistyönä ja kuntalaisia osallistamalla sekä viestii työstä "
    "verkkosivuilla ja sosiaalisessa mediassa. Liittyminen on maksutonta; yhdyshenkilöksi "
    "nimetään kaupungin viranhaltija sekä vastuullinen luottamushenkilö.\n\n"
    "Päätösehdotus: Hyvinvointilautakunta päättää hakea Terve Kunta -verkoston jäsenyyttä, "
    "nimeää kunnan yhdyshenkilöksi hyvinvointijohtajan sekä keskuudestaan vastuullisen "
    "luottamushenkilön."
)
STAY_OUTSIDE = (
    "Nykytila: hyvinvoinnin ja terveyden edistämisen työ jatkuu ilman verkoston tukea, "
    "vertaisoppimista ja THL:n koulutuksia."
)
JOIN = (
    "Verkosto tukee hyvinvoinnin ja terveyden edistämisen strategista johtamista, toimintaa ja "
    "arviointia (verkostokokoukset, seminaarit, vertaisoppiminen, THL:n verkkokoulut)."
)
NO_COST = "Liittyminen on maksutonta; yhdyshenkilön työaikaa kuluu verkoston toimintaan."
INDICATORS: list[dict[str, Any]] = [
    {
        "name": "Hyvinvoinnin ja terveyden edistämisen aktiivisuus kuntajohdossa (TEAviisari)",
        "source": "TEAviisari (THL)",
        "responsible": "hyvinvointijohtaja",
        "due": "2025-12-31",
    },
    {
        "name": "Terve Kunta -verkoston teemat laajassa hyvinvointikertomuksessa",
        "source": "Laaja hyvinvointikertomus 2021–2025",
        "responsible": "hyvinvointijohtaja",
        "due": "2025-06-30",
    },
]
DEMO_NOTE = "Demoaineiston esimerkkitulos, ei Virtain todellinen tieto."


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _document(bundle: WorkflowBundle) -> documents.AssessmentDocument:
    answers, _mitigations, positive = answers_for(
        bundle, ScreeningOutcome.LIGHT, "Terve Kunta -verkostoon liittyminen"
    )
    for answer in answers:
        evidence = "THL: Terve Kunta -verkosto; TEAviisari"
        if answer["alternative"] == 0:
            answer |= {"justification": STAY_OUTSIDE}
        elif answer["direction"] == "negative":  # the economy: joining costs nothing
            answer |= {
                "direction": "none",
                "magnitude": None,
                "affected_groups": [],
                "justification": NO_COST,
                "evidence_source": evidence,
            }
        else:
            answer |= {
                "magnitude": "minor",
                "affected_groups": ["all_residents"],
                "justification": JOIN,
                "evidence_source": evidence,
            }
    return documents.AssessmentDocument.model_validate(
        {
            "format": documents.FORMAT,
            "summary": SUMMARY,
            "alternatives": [
                {"position": 0, "title": "Virrat pysyy Terve Kunta -verkoston ulkopuolella"},
                {
                    "position": 1,
                    "title": "Virrat hakee Terve Kunta -verkoston jäsenyyttä",
                    "chosen": True,
                },
            ],
            "answers": answers,
            "mitigations": [],
            "follow_up_indicators": [
                i | {"question": positive[n % len(positive)] if positive else None}
                for n, i in enumerate(INDICATORS)
            ],
        }
    )


def schedule_virrat(eva: Eva, schedule: Schedule, bundle: WorkflowBundle) -> dict[str, int]:
    """Put the case's steps on ``schedule``; the returned dict gets the proposal's id."""
    op = as_(None)
    director, secretary = as_(DIRECTOR), as_(SECRETARY)
    found: dict[str, int] = {}

    def setup() -> None:
        organisations.create_organisation(
            eva,
            op,
            organisations.CreateOrganisation(
                code=ORG,
                name_fi="Virtain kaupunki",
                name_sv="Virdois stad",
                case_number_pattern=DYNASTY_PATTERN,
                case_number_example=CASE,
            ),
        )
        organisations.create_body(
            eva,
            op,
            organisations.CreateBody(
                organisation=ORG,
                code="HYVLTK",
                name_fi="Hyvinvointilautakunta",
                name_sv="Välfärdsnämnden",
            ),
        )
        for username, name, title, roles in [
            (
                DIRECTOR,
                "Virtain hyvinvointijohtaja",
                "hyvinvointijohtaja",
                [Role.PREPARER, Role.PRESENTER],
            ),
            (SECRETARY, "Virtain lautakunnan sihteeri", "sihteeri", [Role.SECRETARY]),
        ]:
            users.create_user(
                eva,
                op,
                users.CreateUser(username=username, full_name=name, title=title),
                organisation=ORG,
            )
            for role in roles:
                users.grant_role(
                    eva,
                    op,
                    users.GrantRole(username=username, organisation=ORG, role=role, body="HYVLTK"),
                )
        found["meeting"] = organisations.create_meeting(
            eva,
            op,
            organisations.CreateMeeting(
                organisation=ORG, body="HYVLTK", starts_at=MEETING, location="Virrat"
            ),
        ).id

    def create() -> None:
        found["proposal"] = proposal_commands.create_proposal(
            eva,
            director,
            proposal_commands.CreateProposal(
                organisation=ORG,
                case_number=CASE,
                title_fi=TITLE,
                title_sv="Ansökan till nätverket Terve Kunta",
                body="HYVLTK",
                presenter=DIRECTOR,
            ),
        ).id

    def fire(caller: str, trigger: str) -> Callable[[], None]:
        def step() -> None:
            transitions.fire(eva, as_(caller), found["proposal"], trigger)

        return step

    def screen() -> None:
        transitions.fire(eva, director, found["proposal"], "start_screening")
        screening.record_screening(
            eva,
            director,
            screening.RecordScreening(
                proposal_id=found["proposal"],
                outcome=ScreeningOutcome.LIGHT,
                criteria=["strategy_goals", "many_residents"],
            ),
        )

    def assess() -> None:
        transitions.fire(eva, director, found["proposal"], "begin_assessment")
        documents.import_assessment(eva, director, found["proposal"], _document(bundle))
        transitions.fire(eva, director, found["proposal"], "submit_for_review")

    def place() -> None:
        proposal_commands.schedule(
            eva,
            secretary,
            proposal_commands.ScheduleProposal(
                proposal_id=found["proposal"],
                meeting_id=found["meeting"],
                agenda_position=1,
                section_number=26,
            ),
        )
        transitions.fire(eva, secretary, found["proposal"], "place_on_agenda")

    def record(
        index: int,
        value: str,
        measured: date,
        source: FollowUpSource,
        ref: str,
        outcome: FollowUpOutcome,
    ) -> Callable[[], None]:
        def step() -> None:
            view = follow_up_queries.proposal_follow_ups(eva, director, found["proposal"])
            follow_up_commands.record_result(
                eva,
                director,
                follow_up_commands.RecordResult(
                    follow_up_id=view.follow_ups[index].id,
                    value=value,
                    measured_on=measured,
                    source_kind=source,
                    source_reference=ref,
                    note=DEMO_NOTE,
                    outcome=outcome,
                ),
            )

        return step

    schedule.at(_at("2023-05-02T09:00:00+03:00"), setup)
    schedule.at(_at("2023-05-15T09:00:00+03:00"), create)
    schedule.at(_at("2023-05-16T10:00:00+03:00"), screen)
    schedule.at(_at("2023-05-24T10:00:00+03:00"), assess)
    schedule.at(_at("2023-05-30T10:00:00+03:00"), fire(SECRETARY, "pass_review"))
    schedule.at(_at("2023-06-01T10:00:00+03:00"), fire(DIRECTOR, "sign_off"))
    schedule.at(_at("2023-06-06T10:00:00+03:00"), place)
    schedule.at(_at("2023-06-13T19:00:00+03:00"), fire(SECRETARY, "approve"))
    schedule.at(_at("2023-08-15T10:00:00+03:00"), fire(DIRECTOR, "start_follow_up"))
    schedule.at(
        _at("2025-06-10T10:00:00+03:00"),
        record(
            1,
            "Verkoston teemat raportoitu hyvinvointikertomuksessa",
            date(2025, 6, 2),
            FollowUpSource.OTHER,
            "Virtain laaja hyvinvointikertomus 2021–2025",
            FollowUpOutcome.AS_PREDICTED,
        ),
    )
    schedule.at(
        _at("2025-11-20T10:00:00+02:00"),
        record(
            0,
            "Kuntajohdon aktiivisuus nousi edellisestä kierroksesta",
            date(2025, 11, 14),
            FollowUpSource.TEAVIISARI,
            "TEAviisari 2025: kuntajohto",
            FollowUpOutcome.BETTER,
        ),
    )
    schedule.at(_at("2025-11-21T10:00:00+02:00"), fire(DIRECTOR, "close"))
    return found
