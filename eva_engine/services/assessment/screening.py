"""Recording the screening (tarveharkinta): exempt with a reason, or a light or full assessment."""

from __future__ import annotations

from pydantic import Field

from eva_engine.errors import LANGUAGE_CODES, N_, InvalidInput, Problem, Text, per_language
from eva_engine.models import Screening, utcnow
from eva_engine.services.assessment.editing import commit_edit, open_for_edit
from eva_engine.services.command import Command
from eva_engine.services.fields import MAX_CRITERIA, ChoiceId, Id, LongText, Reason, Version
from eva_engine.services.proposals.queries import show
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import ProposalView
from eva_engine.vocabulary import ScreeningOutcome
from eva_engine.workflow.definition import Choice, WorkflowBundle


class RecordScreening(Command):
    proposal_id: Id
    outcome: ScreeningOutcome
    criteria: list[ChoiceId] = Field(default_factory=list, max_length=MAX_CRITERIA)
    exemption: ChoiceId | None = None
    reason: Reason | None = Field(default=None, description="Required when exempt")
    participation_plan: LongText | None = None
    expected_version: Version | None = None


def _labels(choices: list[Choice]) -> dict[str, str]:
    """The choices by their labels, in each language (``per_language``)."""
    return {lang: "; ".join(c.text.get(lang) for c in choices) for lang in LANGUAGE_CODES}


def screening_problems(cmd: RecordScreening, bundle: WorkflowBundle) -> list[Problem]:
    definition = bundle.workflow.screening
    criteria = {c.id for c in definition.criteria}
    exemptions = {e.id for e in definition.exemptions}
    problems = [
        Problem.of(
            f"criteria[{i}]",
            Text(
                N_("%(given)s is not one of the criteria; choose from: %(choices)s."),
                {"given": c, **per_language("choices", _labels(definition.criteria))},
            ),
        )
        for i, c in enumerate(cmd.criteria)
        if c not in criteria
    ]
    if cmd.outcome == ScreeningOutcome.EXEMPT:
        if not (cmd.reason or "").strip():
            problems.append(
                Problem.of(
                    "reason",
                    Text(N_("An exempt screening records its reason: write why none is needed.")),
                )
            )
        if cmd.exemption is None or cmd.exemption not in exemptions:
            problems.append(
                Problem.of(
                    "exemption",
                    Text(
                        N_("Choose the ground for no assessment: %(choices)s."),
                        per_language("choices", _labels(definition.exemptions)),
                    ),
                )
            )
    elif cmd.exemption is not None:
        problems.append(
            Problem.of(
                "exemption",
                Text(
                    N_(
                        "Only a screening that needs no assessment names a ground for it: "
                        "leave the ground empty."
                    )
                ),
            )
        )
    return problems


def record_screening(eva: Eva, caller: Caller, cmd: RecordScreening) -> ProposalView:
    with eva.uow() as uow:
        target = open_for_edit(
            uow, caller, cmd.proposal_id, cmd.expected_version, "record the screening"
        )
        problems = screening_problems(cmd, target.bundle)
        if problems:
            raise InvalidInput(
                Text(N_("The screening was not saved: correct the items named.")), problems
            )
        existing = uow.repos.snapshot(target.assessment.id).screening
        screening = existing or Screening(
            assessment_id=target.assessment.id, proposal_id=target.proposal.id
        )
        screening.outcome = cmd.outcome
        screening.criteria = sorted(set(cmd.criteria))
        screening.exemption = cmd.exemption
        screening.reason = (cmd.reason or "").strip() or None
        screening.participation_plan = (cmd.participation_plan or "").strip() or None
        screening.recorded_by_id = target.user.id
        screening.recorded_at = utcnow()
        if existing is None:
            uow.repos.add(screening)
        commit_edit(uow, target)
    return show(eva, caller, cmd.proposal_id)
