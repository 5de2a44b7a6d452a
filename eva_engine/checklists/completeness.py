"""What an assessment still lacks at its depth: every required question answered for every
alternative, answers complete enough to be read, significant negative impacts mitigated."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eva_engine.checklists.definition import Checklist
from eva_engine.errors import Problem
from eva_engine.models import Alternative, Answer, Mitigation
from eva_engine.vocabulary import Direction, Magnitude, ScreeningOutcome


@dataclass(frozen=True)
class AreaProgress:
    area: str
    required: int  # required cells (question x alternative)
    complete: int

    @property
    def done(self) -> bool:
        return self.complete >= self.required


def alternative_label(alternative: Alternative) -> str:
    return f"alternative {alternative.position} ({alternative.title})"


def _answer_gaps(answer: Answer | None, depth: ScreeningOutcome) -> list[str]:
    if answer is None:
        return ["not answered"]
    gaps = []
    if answer.direction in (Direction.POSITIVE, Direction.NEGATIVE):
        if answer.magnitude is None:
            gaps.append("magnitude missing")
        if not (answer.justification or "").strip():
            gaps.append("justification missing")
        if depth == ScreeningOutcome.FULL:
            if answer.duration is None:
                gaps.append("duration missing")
            if answer.certainty is None:
                gaps.append("certainty missing")
    return gaps


def missing_answers(
    checklists: Sequence[Checklist],
    depth: ScreeningOutcome,
    alternatives: Sequence[Alternative],
    answers: Iterable[Answer],
) -> tuple[list[Problem], list[AreaProgress]]:
    """Every required cell that is empty or incomplete, and progress per area."""
    by_cell = {(a.alternative_id, a.question_id): a for a in answers}
    problems: list[Problem] = []
    progress: list[AreaProgress] = []
    for checklist in checklists:
        for area in checklist.areas:
            required = complete = 0
            for topic in area.topics:
                for question in topic.questions:
                    if not question.required_for(depth):
                        continue
                    for alternative in alternatives:
                        required += 1
                        gaps = _answer_gaps(by_cell.get((alternative.id, question.id)), depth)
                        if not gaps:
                            complete += 1
                            continue
                        location = (
                            f"area {area.id}, question {question.id}, "
                            f"{alternative_label(alternative)}"
                        )
                        problems.extend(Problem(location, gap) for gap in gaps)
            progress.append(AreaProgress(area.id, required, complete))
    return problems, progress


def unmitigated_negatives(
    alternatives: Sequence[Alternative],
    answers: Iterable[Answer],
    mitigations: Iterable[Mitigation],
) -> list[Problem]:
    """Significant negative impacts that have no mitigation for that question and alternative."""
    labels = {a.id: alternative_label(a) for a in alternatives}
    covered = {(m.question_id, m.alternative_id) for m in mitigations}
    problems = []
    for answer in sorted(answers, key=lambda a: (a.question_id, a.alternative_id)):
        if answer.direction != Direction.NEGATIVE or answer.magnitude != Magnitude.SIGNIFICANT:
            continue
        if (answer.question_id, answer.alternative_id) in covered:
            continue
        if (answer.question_id, None) in covered:
            continue
        problems.append(
            Problem(
                f"question {answer.question_id}, {labels.get(answer.alternative_id, '?')}",
                "significant negative impact has no mitigation",
            )
        )
    return problems
