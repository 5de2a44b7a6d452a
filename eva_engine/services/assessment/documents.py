"""The assessment document: alternatives, the impact matrix, mitigations and follow-up
indicators of a proposal's current revision, imported as one JSON file.

Import is an upsert by stable keys (alternative position; question and alternative; mitigation
question and alternative; indicator name), so the history shows what really changed. Rows the
document no longer contains are removed. Nothing is written unless the whole document is valid."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, InvalidInput, NotFound, Problem, Text
from eva_engine.models import Alternative, Answer, Assessment, FollowUpIndicator, Mitigation
from eva_engine.services.access import actor_for, load_proposal, no_assessment
from eva_engine.services.assessment.editing import commit_edit, open_for_edit
from eva_engine.services.command import Command
from eva_engine.services.fields import (
    MAX_ALTERNATIVES,
    MAX_ANSWERS,
    MAX_INDICATORS,
    MAX_MITIGATIONS,
    JsonRefused,
    LongText,
    Name,
    Position,
    QuestionId,
    Source,
    Title,
    TypedDate,
    json_problem,
    strict_json,
)
from eva_engine.services.fields import problems as field_problems
from eva_engine.services.proposals.queries import show
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import ProposalView
from eva_engine.vocabulary import AffectedGroup, Certainty, Direction, Duration, Magnitude
from eva_engine.workflow.definition import WorkflowBundle

FORMAT: Literal["eva.assessment/1"] = "eva.assessment/1"


class Part(Command):
    """A part of the assessment document (a command: the same limits on every channel)."""


class AlternativeIn(Part):
    position: Position = Field(description="0 is the status quo (do nothing)")
    title: Title = Field(min_length=1)
    description: LongText | None = None
    chosen: bool = False


class AnswerIn(Part):
    question: QuestionId = Field(
        min_length=1, description="A checklist question id, e.g. lifestyles.exercise.x"
    )
    alternative: Position = Field(description="The position of the alternative")
    direction: Direction
    magnitude: Magnitude | None = None
    duration: Duration | None = None
    certainty: Certainty | None = None
    evidence_source: Source | None = Field(default=None, description="e.g. Sotkanet indicator 289")
    affected_groups: list[AffectedGroup] = Field(
        default_factory=list, max_length=len(AffectedGroup)
    )
    justification: LongText | None = None


class MitigationIn(Part):
    question: QuestionId = Field(min_length=1)
    alternative: Position | None = Field(default=None, description="None: under every alternative")
    description: LongText = Field(min_length=1)
    responsible: Name | None = None


class IndicatorIn(Part):
    name: Title = Field(min_length=1)
    source: Source | None = None
    responsible: Name = Field(min_length=1)
    due: TypedDate = Field(description="e.g. 2027-06-30 or 30.6.2027")
    question: QuestionId | None = None


class AssessmentDocument(Part):
    """An impact assessment of one proposal revision (format eva.assessment/1)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"$id": "https://eva.invalid/schemas/assessment-1.json"},
    )

    format: Literal["eva.assessment/1"]
    summary: LongText | None = Field(default=None, description="For the proposal's reasoning text")
    alternatives: list[AlternativeIn] = Field(min_length=1, max_length=MAX_ALTERNATIVES)
    answers: list[AnswerIn] = Field(default_factory=list, max_length=MAX_ANSWERS)
    mitigations: list[MitigationIn] = Field(default_factory=list, max_length=MAX_MITIGATIONS)
    follow_up_indicators: list[IndicatorIn] = Field(default_factory=list, max_length=MAX_INDICATORS)


class AssessmentView(BaseModel):
    """The current revision's assessment as an eva.assessment/1 document (a new revision may
    have no alternatives yet; a document sent back needs at least one)."""

    format: Literal["eva.assessment/1"] = FORMAT
    summary: str | None
    alternatives: list[AlternativeIn]
    answers: list[AnswerIn]
    mitigations: list[MitigationIn]
    follow_up_indicators: list[IndicatorIn]

    @classmethod
    def of(cls, document: AssessmentDocument) -> AssessmentView:
        """What the API's GET of the assessment and ``eva export assessment`` both give."""
        return cls.model_validate(document, from_attributes=True)


class SummaryIn(Part):
    """The summary alone (the web UI saves it by itself)."""

    summary: LongText | None = Field(default=None, description="For the proposal's reasoning text")


def json_schema() -> dict[str, Any]:
    return AssessmentDocument.model_json_schema()


def parse_document(text: str, where: str = "document") -> AssessmentDocument:
    try:
        data = strict_json(text)  # no repeated keys, no huge numbers, no NaN
    except JsonRefused as exc:
        raise InvalidInput(
            Text(
                N_("%(where)s is not valid JSON: correct it and send it again."), {"where": where}
            ),
            [json_problem(exc)],
        ) from exc
    exported = isinstance(data, dict) and data.get("format") == FORMAT
    if exported and data.get("alternatives") == []:
        # what an export of a new revision holds: say what to do, not "too short"
        none = Text(
            N_(
                "%(where)s has no alternatives (it was exported before any were added): add at "
                "least the chosen alternative to it, then import it again."
            ),
            {"where": where},
        )
        first = Text(N_("Add the alternatives first: at least the chosen one."))
        raise InvalidInput(none, [Problem.of("alternatives", first)])
    try:
        return AssessmentDocument.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            Text(
                N_("%(where)s is not a valid assessment document: correct the fields named."),
                {"where": where},
            ),
            field_problems(exc),
        ) from exc


def _unknown_question(question: str) -> Text:
    return Text(
        N_("There is no question %(question)s in this workflow version: check the question."),
        {"question": question},
    )


def _no_alternative(position: int) -> Text:
    return Text(
        N_("There is no alternative at position %(position)s: add it first."),
        {"position": position},
    )


def nothing_saved(problems: list[Problem]) -> InvalidInput:
    """Nothing of the input was saved: every problem is named, to correct them all at once."""
    return InvalidInput(
        Text(N_("Nothing was saved: correct the %(count)s items named."), {"count": len(problems)}),
        problems,
    )


def _alternative_problems(doc: AssessmentDocument) -> list[Problem]:
    problems = [
        Problem.of(
            "alternatives",
            Text(
                N_("Position %(position)s is used %(count)s times: give each alternative its own."),
                {"position": pos, "count": count},
            ),
        )
        for pos, count in Counter(a.position for a in doc.alternatives).items()
        if count > 1
    ]
    if sum(a.chosen for a in doc.alternatives) > 1:
        problems.append(
            Problem.of("alternatives", Text(N_("Choose only one alternative as the chosen one.")))
        )
    return problems


def _answer_problems(doc: AssessmentDocument, questions: set[str]) -> list[Problem]:
    positions = {a.position for a in doc.alternatives}
    problems: list[Problem] = []
    seen: set[tuple[str, int]] = set()
    for i, ans in enumerate(doc.answers):
        where = f"answers[{i}]"
        if ans.question not in questions:
            problems.append(Problem.of(f"{where}.question", _unknown_question(ans.question)))
        if ans.alternative not in positions:
            problems.append(Problem.of(f"{where}.alternative", _no_alternative(ans.alternative)))
        if (ans.question, ans.alternative) in seen:
            problems.append(
                Problem.of(
                    where,
                    Text(N_("This question and alternative are answered twice: keep one answer.")),
                )
            )
        seen.add((ans.question, ans.alternative))
        if ans.direction in (Direction.NONE, Direction.UNKNOWN) and ans.magnitude is not None:
            problems.append(
                Problem.of(
                    f"{where}.magnitude",
                    Text(
                        N_(
                            "An impact that is none or unknown has no magnitude: "
                            "leave the magnitude empty."
                        )
                    ),
                )
            )
    return problems


def _follow_up_problems(doc: AssessmentDocument, questions: set[str]) -> list[Problem]:
    positions = {a.position for a in doc.alternatives}
    problems: list[Problem] = []
    for i, mit in enumerate(doc.mitigations):
        if mit.question not in questions:
            problems.append(
                Problem.of(f"mitigations[{i}].question", _unknown_question(mit.question))
            )
        if mit.alternative is not None and mit.alternative not in positions:
            problems.append(
                Problem.of(f"mitigations[{i}].alternative", _no_alternative(mit.alternative))
            )
    for i, ind in enumerate(doc.follow_up_indicators):
        if ind.question is not None and ind.question not in questions:
            problems.append(
                Problem.of(f"follow_up_indicators[{i}].question", _unknown_question(ind.question))
            )
    pairs: set[tuple[str, int | None]] = set()
    for i, mit in enumerate(doc.mitigations):
        if (mit.question, mit.alternative) in pairs:
            problems.append(
                Problem.of(
                    f"mitigations[{i}]",
                    Text(
                        N_(
                            "This question and alternative already have a mitigation: "
                            "change that one instead."
                        )
                    ),
                )
            )
        pairs.add((mit.question, mit.alternative))
    for name, count in Counter(i.name for i in doc.follow_up_indicators).items():
        if count > 1:
            problems.append(
                Problem.of(
                    "follow_up_indicators",
                    Text(
                        N_("The indicator %(name)s is named %(count)s times: name each once."),
                        {"name": name, "count": count},
                    ),
                )
            )
    return problems


def document_problems(doc: AssessmentDocument, bundle: WorkflowBundle) -> list[Problem]:
    """References and rules a schema cannot check."""
    questions = {q.id for c in bundle.checklists for _, _, q in c.questions()}
    return (
        _alternative_problems(doc)
        + _answer_problems(doc, questions)
        + _follow_up_problems(doc, questions)
    )


def import_assessment(
    eva: Eva,
    caller: Caller,
    proposal_id: int,
    doc: AssessmentDocument,
    expected_version: int | None = None,
) -> ProposalView:
    with eva.uow() as uow:
        target = open_for_edit(uow, caller, proposal_id, expected_version, "edit the assessment")
        problems = document_problems(doc, target.bundle)
        if problems:
            raise InvalidInput(
                Text(N_("The assessment was not imported; nothing was changed.")), problems
            )
        _apply(uow.repos, target.assessment, doc)
        commit_edit(uow, target)
    return show(eva, caller, proposal_id)


def _set(entity: object, **values: Any) -> None:
    for key, value in values.items():
        if getattr(entity, key, None) != value:
            setattr(entity, key, value)


def _apply(repos: Repositories, assessment: Assessment, doc: AssessmentDocument) -> None:
    snap = repos.snapshot(assessment.id)
    _set(assessment, summary=doc.summary)
    alts = _apply_alternatives(repos, assessment, snap.alternatives, doc)
    _apply_answers(repos, assessment, alts, snap.answers, doc)
    _apply_mitigations(repos, assessment, alts, snap.mitigations, doc)
    _apply_indicators(repos, assessment, snap.indicators, doc)
    repos.flush()
    wanted = {a.position for a in doc.alternatives}
    for position, alt in alts.items():
        if position not in wanted:
            repos.delete(alt)


def _apply_alternatives(
    repos: Repositories, assessment: Assessment, stored: list[Alternative], doc: AssessmentDocument
) -> dict[int, Alternative]:
    alts = {a.position: a for a in stored}
    for a_in in doc.alternatives:
        alt = alts.get(a_in.position)
        if alt is None:
            alt = Alternative(
                assessment_id=assessment.id,
                proposal_id=assessment.proposal_id,
                position=a_in.position,
                title=a_in.title,
            )
            repos.add(alt)
            alts[a_in.position] = alt
        _set(alt, title=a_in.title, description=a_in.description, chosen=a_in.chosen)
    repos.flush()
    return alts


def _apply_answers(
    repos: Repositories,
    assessment: Assessment,
    alts: dict[int, Alternative],
    stored: list[Answer],
    doc: AssessmentDocument,
) -> None:
    position = {a.id: p for p, a in alts.items()}
    answers = {(a.question_id, position[a.alternative_id]): a for a in stored}
    for n_in in doc.answers:
        ans = answers.pop((n_in.question, n_in.alternative), None)
        if ans is None:
            ans = Answer(
                assessment_id=assessment.id,
                proposal_id=assessment.proposal_id,
                alternative_id=alts[n_in.alternative].id,
                question_id=n_in.question,
            )
            repos.add(ans)
        _set(
            ans,
            direction=n_in.direction,
            magnitude=n_in.magnitude,
            duration=n_in.duration,
            certainty=n_in.certainty,
            evidence_source=n_in.evidence_source,
            affected_groups=sorted(g.value for g in n_in.affected_groups),
            justification=n_in.justification,
        )
    for leftover in answers.values():
        repos.delete(leftover)


def _apply_mitigations(
    repos: Repositories,
    assessment: Assessment,
    alts: dict[int, Alternative],
    stored: list[Mitigation],
    doc: AssessmentDocument,
) -> None:
    position = {a.id: p for p, a in alts.items()}
    mitigations: dict[tuple[str, int | None], Mitigation] = {}
    for m in stored:
        key = (m.question_id, position[m.alternative_id] if m.alternative_id else None)
        if key in mitigations:  # a duplicate stored before duplicates were refused
            repos.delete(m)
        else:
            mitigations[key] = m
    for m_in in doc.mitigations:
        mit = mitigations.pop((m_in.question, m_in.alternative), None)
        if mit is None:
            mit = Mitigation(
                assessment_id=assessment.id,
                proposal_id=assessment.proposal_id,
                question_id=m_in.question,
                alternative_id=alts[m_in.alternative].id if m_in.alternative is not None else None,
                description=m_in.description,
            )
            repos.add(mit)
        _set(mit, description=m_in.description, responsible=m_in.responsible)
    for leftover in mitigations.values():
        repos.delete(leftover)


def _apply_indicators(
    repos: Repositories,
    assessment: Assessment,
    stored: list[FollowUpIndicator],
    doc: AssessmentDocument,
) -> None:
    indicators = {i.name: i for i in stored}
    for i_in in doc.follow_up_indicators:
        ind = indicators.pop(i_in.name, None)
        if ind is None:
            ind = FollowUpIndicator(
                assessment_id=assessment.id,
                proposal_id=assessment.proposal_id,
                name=i_in.name,
                responsible=i_in.responsible,
                due=i_in.due,
            )
            repos.add(ind)
        _set(
            ind,
            source=i_in.source,
            responsible=i_in.responsible,
            due=i_in.due,
            question_id=i_in.question,
        )
    for leftover in indicators.values():
        repos.delete(leftover)


def current_document(repos: Repositories, assessment: Assessment) -> AssessmentDocument:
    """The stored assessment revision as a document (what an import of it would store)."""
    snap = repos.snapshot(assessment.id)
    position = {a.id: a.position for a in snap.alternatives}
    # Built from stored rows (valid already); a new revision may have no alternatives yet.
    return AssessmentDocument.model_construct(
        format=FORMAT,
        summary=assessment.summary,
        alternatives=[
            AlternativeIn(
                position=a.position, title=a.title, description=a.description, chosen=a.chosen
            )
            for a in snap.alternatives
        ],
        answers=[
            AnswerIn(
                question=a.question_id,
                alternative=position[a.alternative_id],
                direction=a.direction,
                magnitude=a.magnitude,
                duration=a.duration,
                certainty=a.certainty,
                evidence_source=a.evidence_source,
                affected_groups=[AffectedGroup(g) for g in a.affected_groups],
                justification=a.justification,
            )
            for a in snap.answers
        ],
        mitigations=[
            MitigationIn(
                question=m.question_id,
                alternative=position[m.alternative_id] if m.alternative_id else None,
                description=m.description,
                responsible=m.responsible,
            )
            for m in snap.mitigations
        ],
        follow_up_indicators=[
            IndicatorIn(
                name=i.name,
                source=i.source,
                responsible=i.responsible,
                due=i.due,
                question=i.question_id,
            )
            for i in snap.indicators
        ],
    )


def export_document(eva: Eva, caller: Caller, proposal_id: int) -> AssessmentDocument:
    """The proposal's current assessment revision as an eva.assessment/1 document."""
    with eva.reading() as uow:
        _, user = actor_for(uow.repos, caller)
        proposal = load_proposal(uow.repos, proposal_id, user)
        assessment = uow.repos.assessment(proposal.id, proposal.revision)
        if assessment is None:  # pragma: no cover - created with every revision
            raise NotFound(no_assessment(proposal.id))
        return current_document(uow.repos, assessment)


Change = Callable[[AssessmentDocument], AssessmentDocument]


def _edit(
    eva: Eva,
    caller: Caller,
    proposal_id: int,
    change: Change,
    expected_version: int | None,
    doing: str,
) -> ProposalView:
    """Merge a partial change into the stored revision, check it whole, store what changed."""
    with eva.uow() as uow:
        target = open_for_edit(uow, caller, proposal_id, expected_version, doing)
        doc = change(current_document(uow.repos, target.assessment))
        if not doc.alternatives:
            first = Text(N_("Add the alternatives first: at least the chosen one."))
            raise InvalidInput(first, [Problem.of("alternatives", first)])
        problems = document_problems(doc, target.bundle)
        if problems:
            raise nothing_saved(problems)
        _apply(uow.repos, target.assessment, doc)
        commit_edit(uow, target)
    return show(eva, caller, proposal_id)


def save_alternatives(
    eva: Eva,
    caller: Caller,
    proposal_id: int,
    alternatives: list[AlternativeIn],
    expected_version: int | None = None,
) -> ProposalView:
    """Replace the alternatives; answers and mitigations of a removed one go with it."""
    keep = {a.position for a in alternatives}

    def change(doc: AssessmentDocument) -> AssessmentDocument:
        return doc.model_copy(
            update={
                "alternatives": alternatives,
                "answers": [a for a in doc.answers if a.alternative in keep],
                "mitigations": [
                    m for m in doc.mitigations if m.alternative is None or m.alternative in keep
                ],
            }
        )

    return _edit(eva, caller, proposal_id, change, expected_version, "edit the alternatives")


def save_answers(
    eva: Eva,
    caller: Caller,
    proposal_id: int,
    answers: list[AnswerIn],
    cleared: list[tuple[str, int]] | None = None,
    expected_version: int | None = None,
) -> ProposalView:
    """Store these cells of the matrix (partial work is fine); ``cleared`` cells are emptied."""
    replaced = {(a.question, a.alternative) for a in answers} | set(cleared or [])

    def change(doc: AssessmentDocument) -> AssessmentDocument:
        kept = [a for a in doc.answers if (a.question, a.alternative) not in replaced]
        return doc.model_copy(update={"answers": kept + answers})

    return _edit(eva, caller, proposal_id, change, expected_version, "edit the assessment")


def save_mitigation(
    eva: Eva,
    caller: Caller,
    proposal_id: int,
    mitigation: MitigationIn,
    remove: bool = False,
    expected_version: int | None = None,
) -> ProposalView:
    """Store (or, ``remove``, remove) the mitigation of a question under an alternative (or all);
    removing one the assessment does not have is not found (404), with or without alternatives."""
    key = (mitigation.question, mitigation.alternative)

    def change(doc: AssessmentDocument) -> AssessmentDocument:
        kept = [m for m in doc.mitigations if (m.question, m.alternative) != key]
        if remove and len(kept) == len(doc.mitigations):
            raise NotFound(Text(N_("There is no such mitigation to remove: nothing was changed.")))
        return doc.model_copy(update={"mitigations": kept if remove else [*kept, mitigation]})

    return _edit(eva, caller, proposal_id, change, expected_version, "edit mitigations")


def save_indicator(
    eva: Eva,
    caller: Caller,
    proposal_id: int,
    indicator: IndicatorIn,
    remove: bool = False,
    expected_version: int | None = None,
) -> ProposalView:
    """Store (or, ``remove``, remove) a follow-up indicator by its name; removing one the
    assessment does not have is not found (404), with or without alternatives."""

    def change(doc: AssessmentDocument) -> AssessmentDocument:
        kept = [i for i in doc.follow_up_indicators if i.name != indicator.name]
        if remove and len(kept) == len(doc.follow_up_indicators):
            missing = Text(
                N_(
                    "There is no follow-up indicator named %(name)s to remove: nothing was changed."
                ),
                {"name": indicator.name},
            )
            raise NotFound(missing)
        return doc.model_copy(
            update={"follow_up_indicators": kept if remove else [*kept, indicator]}
        )

    return _edit(eva, caller, proposal_id, change, expected_version, "edit follow-up indicators")


def save_summary(
    eva: Eva,
    caller: Caller,
    proposal_id: int,
    summary: str | None,
    expected_version: int | None = None,
) -> ProposalView:
    def change(doc: AssessmentDocument) -> AssessmentDocument:
        return doc.model_copy(update={"summary": (summary or "").strip() or None})

    return _edit(eva, caller, proposal_id, change, expected_version, "edit the summary")
