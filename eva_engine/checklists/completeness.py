"""What an assessment still lacks at its depth: every required question answered for every
alternative, answers complete enough to be read, significant negative impacts mitigated."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from eva_engine.checklists.definition import Checklist
from eva_engine.errors import N_, Problem, Text
from eva_engine.models import Alternative, Answer, Mitigation
from eva_engine.vocabulary import Certainty, Direction, Duration, Magnitude, ScreeningOutcome


@dataclass(frozen=True)
class AreaProgress:
    area: str
    required: int  # required cells (question x alternative)
    complete: int
    # the first required cell that is empty or incomplete: (question id, alternative position)
    first_missing: tuple[str, int] | None = None

    @property
    def done(self) -> bool:
        return self.complete >= self.required


LANGS = ("fi", "sv", "en")
NOT_ANSWERED = Text(N_("not answered"))
NO_MAGNITUDE = Text(N_("magnitude missing"))
NO_JUSTIFICATION = Text(N_("justification missing"))
NO_DURATION = Text(N_("duration missing"))
NO_CERTAINTY = Text(N_("certainty missing"))


class Rated(Protocol):
    """An answer's ratings, stored (``models.Answer``) or as sent (``AnswerIn``)."""

    @property
    def direction(self) -> Direction: ...
    @property
    def magnitude(self) -> Magnitude | None: ...
    @property
    def duration(self) -> Duration | None: ...
    @property
    def certainty(self) -> Certainty | None: ...
    @property
    def justification(self) -> str | None: ...


# A gap by the answer field it concerns ("direction": not answered at all).
GAP_TEXTS = {
    "direction": NOT_ANSWERED,
    "magnitude": NO_MAGNITUDE,
    "justification": NO_JUSTIFICATION,
    "duration": NO_DURATION,
    "certainty": NO_CERTAINTY,
}


def gap_fields(answer: Rated | None, depth: ScreeningOutcome) -> list[str]:
    """The fields an answer still lacks at this depth (one rule for the matrix page, the
    progress counts and the check before review): ``direction`` when there is no answer."""
    if answer is None:
        return ["direction"]
    gaps = []
    if answer.direction in (Direction.POSITIVE, Direction.NEGATIVE):
        if answer.magnitude is None:
            gaps.append("magnitude")
        if not (answer.justification or "").strip():
            gaps.append("justification")
        if depth == ScreeningOutcome.FULL:
            if answer.duration is None:
                gaps.append("duration")
            if answer.certainty is None:
                gaps.append("certainty")
    return gaps


def _answer_gaps(answer: Answer | None, depth: ScreeningOutcome) -> list[Text]:
    return [GAP_TEXTS[name] for name in gap_fields(answer, depth)]


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
            first: tuple[str, int] | None = None
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
                        first = first or (question.id, alternative.position)
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
            progress.append(AreaProgress(area.id, required, complete, first))
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
