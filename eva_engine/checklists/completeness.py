"""What an assessment still lacks at its depth: every required question answered for every
alternative, answers complete enough to be read, significant negative impacts mitigated."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eva_engine.checklists.definition import Checklist
from eva_engine.errors import N_, Problem, Text
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


LANGS = ("fi", "sv", "en")
NOT_ANSWERED = Text(N_("not answered"))
NO_MAGNITUDE = Text(N_("magnitude missing"))
NO_JUSTIFICATION = Text(N_("justification missing"))
NO_DURATION = Text(N_("duration missing"))
NO_CERTAINTY = Text(N_("certainty missing"))


def _answer_gaps(answer: Answer | None, depth: ScreeningOutcome) -> list[Text]:
    if answer is None:
        return [NOT_ANSWERED]
    gaps = []
    if answer.direction in (Direction.POSITIVE, Direction.NEGATIVE):
        if answer.magnitude is None:
            gaps.append(NO_MAGNITUDE)
        if not (answer.justification or "").strip():
            gaps.append(NO_JUSTIFICATION)
        if depth == ScreeningOutcome.FULL:
            if answer.duration is None:
                gaps.append(NO_DURATION)
            if answer.certainty is None:
                gaps.append(NO_CERTAINTY)
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
                        where = Text(
                            N_(
                                "area %(area)s, question %(question)s, "
                                "alternative %(position)s (%(title)s)"
                            ),
                            {
                                "area": area.id,
                                "question": question.id,
                                # the question as people read it, in each language
                                **{f"question_{lang}": question.text.get(lang) for lang in LANGS},
                                "position": alternative.position,
                                "title": alternative.title,
                            },
                        )
                        problems.extend(Problem.of("", gap, where) for gap in gaps)
            progress.append(AreaProgress(area.id, required, complete))
    return problems, progress


def unmitigated_negatives(
    alternatives: Sequence[Alternative],
    answers: Iterable[Answer],
    mitigations: Iterable[Mitigation],
    checklists: Sequence[Checklist] = (),
) -> list[Problem]:
    """Significant negative impacts that have no mitigation for that question and alternative
    (each question named as people read it, where ``checklists`` hold it)."""
    texts = {q.id: q.text for c in checklists for _, _, q in c.questions()}
    by_id = {a.id: a for a in alternatives}
    covered = {(m.question_id, m.alternative_id) for m in mitigations}
    problems = []
    for answer in sorted(answers, key=lambda a: (a.question_id, a.alternative_id)):
        if answer.direction != Direction.NEGATIVE or answer.magnitude != Magnitude.SIGNIFICANT:
            continue
        if (answer.question_id, answer.alternative_id) in covered:
            continue
        if (answer.question_id, None) in covered:
            continue
        alternative = by_id.get(answer.alternative_id)
        problems.append(
            Problem.of(
                "",
                Text(N_("significant negative impact has no mitigation")),
                Text(
                    N_("question %(question)s, alternative %(position)s (%(title)s)"),
                    {
                        "question": answer.question_id,
                        **(
                            {
                                f"question_{lang}": texts[answer.question_id].get(lang)
                                for lang in LANGS
                            }
                            if answer.question_id in texts
                            else {}
                        ),
                        "position": alternative.position if alternative else "?",
                        "title": alternative.title if alternative else "?",
                    },
                ),
            )
        )
    return problems
