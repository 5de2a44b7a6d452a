"""Builders for tests: a municipality with a user in every role, proposals in any state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from eva_engine.services import definitions
from eva_engine.services.assessment import documents, screening
from eva_engine.services.follow_up import commands as follow_up_commands
from eva_engine.services.follow_up import queries as follow_up_queries
from eva_engine.services.notifications import outbox
from eva_engine.services.people import organisations, tokens, users
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import (
    DeliveryState,
    FollowUpOutcome,
    FollowUpSource,
    Publicity,
    Role,
    ScreeningOutcome,
    TokenScope,
)
from eva_engine.workflow.definition import WorkflowBundle

ORG = "testila"
OTHER_ORG = "muualla"
PATTERN = r"\d+/\d{2}\.\d{2}\.\d{2}/\d{4}"
OPERATOR = Caller(None, "tests")

# username: [(role, body or None), ...]
PEOPLE: dict[str, list[tuple[Role, str | None]]] = {
    "admin": [(Role.ADMIN, None)],
    "prep": [(Role.PREPARER, None)],
    "prep2": [(Role.PREPARER, None)],
    "tek": [(Role.PREPARER, "TEKLTK")],
    "expert": [(Role.EXPERT, None)],
    "pres": [(Role.PRESENTER, None)],
    "director": [(Role.PRESENTER, "HYVLTK"), (Role.PREPARER, "HYVLTK")],
    "sec": [(Role.SECRETARY, None)],
    "sec_tek": [(Role.SECRETARY, "TEKLTK")],
    "aud": [(Role.AUDITOR, None)],
    "prep_expert": [(Role.PREPARER, None), (Role.EXPERT, None)],
}

_counter = {"case": 0}


def build_world(eva: Eva) -> None:
    for code in (ORG, OTHER_ORG):
        organisations.create_organisation(
            eva,
            OPERATOR,
            organisations.CreateOrganisation(
                code=code,
                name_fi=code.title(),
                case_number_pattern=PATTERN,
                case_number_example="257/05.00.00/2023",
            ),
        )
    for code in ("KH", "HYVLTK", "TEKLTK"):
        organisations.create_body(
            eva,
            OPERATOR,
            organisations.CreateBody(organisation=ORG, code=code, name_fi=f"{code} elin"),
        )
        organisations.create_meeting(
            eva,
            OPERATOR,
            organisations.CreateMeeting(
                organisation=ORG, body=code, starts_at=datetime(2026, 12, 15, 16, tzinfo=UTC)
            ),
        )
    organisations.create_body(
        eva,
        OPERATOR,
        organisations.CreateBody(organisation=OTHER_ORG, code="KH", name_fi="Kunnanhallitus"),
    )
    for username, grants in PEOPLE.items():
        users.create_user(
            eva,
            OPERATOR,
            users.CreateUser(username=username, full_name=username.title()),
            organisation=ORG,
        )
        for role, body in grants:
            users.grant_role(
                eva,
                OPERATOR,
                users.GrantRole(username=username, organisation=ORG, role=role, body=body),
            )
    users.create_user(
        eva,
        OPERATOR,
        users.CreateUser(username="outsider", full_name="Outsider"),
        organisation=OTHER_ORG,
    )
    for role in (Role.PREPARER, Role.PRESENTER, Role.SECRETARY, Role.AUDITOR):
        users.grant_role(
            eva, OPERATOR, users.GrantRole(username="outsider", organisation=OTHER_ORG, role=role)
        )


@dataclass(frozen=True)
class Foreign:
    """Records of the other organisation (muualla), the targets of cross-organisation tests."""

    proposal: int  # a draft in muualla's KH, prepared and presented by outsider
    assignment: int  # its open preparation task
    meeting: int  # a meeting of muualla's KH
    webhook: int
    token: int  # outsider's API token
    message: int  # a dead letter of muualla (outsider has no email address)
    admin: str = "muu_admin"  # muualla's administrator
    follow_up: int = 0  # a follow-up of the proposal, where a test adds one (follow_up_support)
    comment: int = 0  # a review comment on the proposal, where a test adds one (comment_support)
    attachment: int = 0  # an attachment of the proposal, where a test adds one


def build_foreign(eva: Eva) -> Foreign:
    """muualla's administrator, meeting, proposal, webhook, token and dead letter."""
    users.create_user(
        eva,
        OPERATOR,
        users.CreateUser(username="muu_admin", full_name="Muu Admin"),
        organisation=OTHER_ORG,
    )
    users.grant_role(
        eva,
        OPERATOR,
        users.GrantRole(username="muu_admin", organisation=OTHER_ORG, role=Role.ADMIN),
    )
    meeting = organisations.create_meeting(
        eva,
        OPERATOR,
        organisations.CreateMeeting(
            organisation=OTHER_ORG, body="KH", starts_at=datetime(2026, 12, 16, 16, tzinfo=UTC)
        ),
    )
    proposal = proposal_commands.create_proposal(
        eva,
        as_("outsider"),
        proposal_commands.CreateProposal(
            organisation=OTHER_ORG,
            case_number="900/05.00.00/2026",
            title_fi="Muun kunnan esitys",
            body="KH",
            presenter="outsider",
        ),
    )
    hook = outbox.create_webhook(
        eva,
        OPERATOR,
        outbox.CreateWebhook.model_validate(
            {"organisation": OTHER_ORG, "url": "https://muualla.example/eva"}
        ),
    )
    token = tokens.create_token(
        eva, as_("outsider"), tokens.CreateToken(name="muu", scopes=[TokenScope.READ])
    )
    dead = outbox.list_messages(eva, OPERATOR, organisation=OTHER_ORG, states=(DeliveryState.DEAD,))
    return Foreign(
        proposal=proposal.id,
        assignment=proposal.assignments[0].id,
        meeting=meeting.id,
        webhook=hook.id,
        token=token.details.id,
        message=dead[0].id,
    )


def as_(username: str) -> Caller:
    """The user calling the services directly, on the server, like the command line: steps that
    need re-authentication count as confirmed (``Caller(username, "tests")`` is not)."""
    return Caller(username, "tests", confirmed=True)


def meeting_id(eva: Eva, body: str = "HYVLTK") -> int:
    with eva.uow() as uow:
        org = uow.repos.organisation_by_code(ORG)
        assert org is not None
        found = uow.repos.body_by_code(org.id, body)
        assert found is not None
        return uow.repos.meetings(found.id)[0].id


def new_proposal(
    eva: Eva,
    *,
    preparer: str = "prep",
    presenter: str = "pres",
    body: str = "HYVLTK",
    publicity: Publicity = Publicity.PUBLIC,
    ground: str | None = None,
) -> int:
    _counter["case"] += 1
    view = proposal_commands.create_proposal(
        eva,
        as_(preparer),
        proposal_commands.CreateProposal(
            organisation=ORG,
            case_number=f"{_counter['case']}/05.00.00/2026",
            title_fi=f"Testiesitys {_counter['case']}",
            body=body,
            presenter=presenter,
            publicity=publicity,
            confidentiality_ground=ground,
        ),
    )
    return view.id


def bundle(eva: Eva) -> WorkflowBundle:
    with eva.uow() as uow:
        record = uow.repos.latest_definition("eva-standard")
        assert record is not None
        return definitions.stored_bundle(uow.repos, record.name, record.version)[0]


def required_questions(eva: Eva, depth: ScreeningOutcome) -> list[tuple[str, str]]:
    """(area, question id) of every question required at the depth."""
    return [
        (area.id, q.id)
        for checklist in bundle(eva).checklists
        for area, _, q in checklist.questions()
        if q.required_for(depth)
    ]


def document(
    eva: Eva,
    depth: ScreeningOutcome = ScreeningOutcome.LIGHT,
    *,
    skip: int = 0,
    negative: str | None = None,
    mitigate: bool = True,
    indicators: bool = True,
) -> documents.AssessmentDocument:
    """A complete assessment for two alternatives, less the last ``skip`` answers.
    ``negative`` names a question whose chosen alternative has a significant negative impact."""
    answers: list[dict[str, Any]] = []
    for _, question in required_questions(eva, depth):
        for position in (0, 1):
            answers.append(
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
            )
    if negative is not None:
        for ans in answers:
            if ans["question"] == negative and ans["alternative"] == 1:
                ans["direction"], ans["magnitude"] = "negative", "significant"
    if skip:
        answers = answers[:-skip]
    return documents.AssessmentDocument.model_validate(
        {
            "format": documents.FORMAT,
            "summary": "Yhteenveto.",
            "alternatives": [
                {"position": 0, "title": "Nykytila"},
                {"position": 1, "title": "Esitys", "chosen": True},
            ],
            "answers": answers,
            "mitigations": (
                [{"question": negative, "alternative": 1, "description": "Lievennys."}]
                if negative and mitigate
                else []
            ),
            "follow_up_indicators": (
                [
                    {
                        "name": "Mittari",
                        "responsible": "koordinaattori",
                        "due": (datetime.now(UTC) + timedelta(days=300)).date().isoformat(),
                    }
                ]
                if indicators
                else []
            ),
        }
    )


def screen(
    eva: Eva, pid: int, depth: ScreeningOutcome = ScreeningOutcome.LIGHT, preparer: str = "prep"
) -> None:
    if depth == ScreeningOutcome.EXEMPT:
        cmd = screening.RecordScreening(
            proposal_id=pid, outcome=depth, exemption="filling_post", reason="Viran täyttö."
        )
    else:
        cmd = screening.RecordScreening(
            proposal_id=pid,
            outcome=depth,
            criteria=["many_residents"],
            participation_plan="Kuulemistilaisuus." if depth == ScreeningOutcome.FULL else None,
        )
    screening.record_screening(eva, as_(preparer), cmd)


STEPS: list[tuple[str, str]] = [
    ("start_screening", "preparer"),
    ("begin_assessment", "preparer"),
    ("submit_for_review", "preparer"),
    ("pass_review", "sec"),
    ("sign_off", "presenter"),
    ("place_on_agenda", "sec"),
    ("approve", "sec"),
    ("start_follow_up", "preparer"),
    ("close", "preparer"),
]
AFTER = {
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


def proposal_in(
    eva: Eva,
    state: str,
    *,
    preparer: str = "prep",
    presenter: str = "pres",
    body: str = "HYVLTK",
    depth: ScreeningOutcome = ScreeningOutcome.LIGHT,
    publicity: Publicity = Publicity.PUBLIC,
    ground: str | None = None,
) -> int:
    """A proposal walked along the normal path to ``state``."""
    pid = new_proposal(
        eva, preparer=preparer, presenter=presenter, body=body, publicity=publicity, ground=ground
    )
    who = {"preparer": preparer, "presenter": presenter}
    for trigger, actor in STEPS[: AFTER[state]]:
        if trigger == "begin_assessment":
            screen(eva, pid, depth, preparer)
        if trigger == "submit_for_review":
            documents.import_assessment(eva, as_(preparer), pid, document(eva, depth))
        if trigger == "place_on_agenda":
            proposal_commands.schedule(
                eva,
                as_("sec"),
                proposal_commands.ScheduleProposal(
                    proposal_id=pid, meeting_id=meeting_id(eva, body)
                ),
            )
        if trigger == "close":
            settle_follow_ups(eva, pid, preparer)
        transitions.fire(eva, as_(who.get(actor, actor)), pid, trigger)
    return pid


def settle_follow_ups(eva: Eva, pid: int, who: str = "prep") -> None:
    """Record a result (as predicted) for every follow-up of a decided proposal."""
    for follow_up in follow_up_queries.proposal_follow_ups(eva, as_(who), pid).follow_ups:
        follow_up_commands.record_result(
            eva,
            as_(who),
            follow_up_commands.RecordResult(
                follow_up_id=follow_up.id,
                value="12",
                measured_on=datetime.now(UTC).date(),
                source_kind=FollowUpSource.SOTKANET,
                source_reference="289",
                outcome=FollowUpOutcome.AS_PREDICTED,
            ),
        )


def state_of(eva: Eva, pid: int) -> str:
    return proposal_queries.show(eva, OPERATOR, pid).state
