"""What the demo's parts share: who acts, the demo's clock, and an assessment document that
answers every question of a depth.

The demo's history is dated as it would have happened: the loader runs its steps in time order
under a clock (``eva_engine.models.clock``) that says when each step is taken, each step in a
transaction of its own as in real use (the audit chain stamps an event when its transaction
commits), so two years of decisions read in the history, the reports and the follow-ups as two
years."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from eva_engine.models import clock
from eva_engine.services.assessment import documents
from eva_engine.services.runtime import Caller
from eva_engine.vocabulary import ScreeningOutcome
from eva_engine.workflow.definition import WorkflowBundle

DYNASTY_PATTERN = r"\d+/\d{2}\.\d{2}\.\d{2}/\d{4}"
ORG = "esimerkkila"


def as_(username: str | None) -> Caller:
    """The loader runs on the server like the command line: its sign-offs count as confirmed."""
    return Caller(username, "demo-data", confirmed=True)


@dataclass(frozen=True)
class Indicator:
    name: str
    source: str | None
    responsible: str
    due: date
    follows_question: bool = True  # linked to a question: the report shows the prediction


@dataclass
class Schedule:
    """Steps to take at given times, taken in time order (ties in the order they were added)
    with the clock set to each step's time; ``run`` returns the clock to the server's."""

    steps: list[tuple[datetime, int, Callable[[], None]]] = field(default_factory=list)
    now: datetime | None = None
    _order: Iterator[int] = field(default_factory=itertools.count)

    def at(self, when: datetime, step: Callable[[], None]) -> None:
        heapq.heappush(self.steps, (when, next(self._order), step))

    def time(self) -> datetime:
        return self.now or datetime.now(UTC)

    @contextmanager
    def running(self) -> Iterator[None]:
        with clock(self.time):
            try:
                yield
            finally:
                self.now = None

    def run(self) -> None:
        with self.running():
            while self.steps:
                when, _, step = heapq.heappop(self.steps)
                self.now = when
                step()


def answers_for(
    bundle: WorkflowBundle, depth: ScreeningOutcome, title: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Answers to every question required at ``depth`` for the status quo (0: no impact) and
    the chosen alternative (1: positive; economy negative, with a mitigation), and the ids of
    the questions answered positively (for the indicators to follow)."""
    answers: list[dict[str, Any]] = []
    mitigations: list[dict[str, Any]] = []
    positive: list[str] = []
    for checklist in bundle.checklists:
        for area, _topic, question in checklist.questions():
            if not question.required_for(depth):
                continue
            negative = area.id == "economy"
            answers.append(
                {
                    "question": question.id,
                    "alternative": 0,
                    "direction": "none",
                    "certainty": "medium",
                    "justification": "Nykytila säilyy.",
                }
            )
            answers.append(
                {
                    "question": question.id,
                    "alternative": 1,
                    "direction": "negative" if negative else "positive",
                    "magnitude": "significant" if negative else "moderate",
                    "duration": "council_term",
                    "certainty": "medium",
                    "evidence_source": "Sotkanet; kunnan tilastot",
                    "affected_groups": ["all_residents"] if negative else ["families", "children"],
                    "justification": f"{title}: valmistelijan selvityksen mukaan.",
                }
            )
            if negative:
                mitigations.append(
                    {
                        "question": question.id,
                        "alternative": 1,
                        "description": "Kustannukset jaksotetaan ja seurataan "
                        "osavuosikatsauksissa.",
                        "responsible": "talousjohtaja",
                    }
                )
            else:
                positive.append(question.id)
    return answers, mitigations, positive


def assessment(
    bundle: WorkflowBundle,
    depth: ScreeningOutcome,
    title: str,
    indicators: list[Indicator] | None = None,
) -> documents.AssessmentDocument:
    """An assessment that answers every question required at the depth, for two alternatives,
    with ``indicators`` to follow (by default one, due in a year)."""
    answers, mitigations, positive = answers_for(bundle, depth, title)
    if indicators is None:
        indicators = [
            Indicator(
                "Liikuntaa harrastavien osuus (TEAviisari / Sotkanet)",
                "Sotkanet",
                "hyvinvointikoordinaattori",
                datetime.now(UTC).date() + timedelta(days=365),
                follows_question=False,
            )
        ]
    return documents.AssessmentDocument.model_validate(
        {
            "format": documents.FORMAT,
            "summary": f"{title}: päätöksellä arvioidaan olevan myönteisiä vaikutuksia "
            "asukkaiden hyvinvointiin; haitat lievennetään.",
            "alternatives": [
                {"position": 0, "title": "Nykytila (ei muutosta)"},
                {"position": 1, "title": "Esitetty ratkaisu", "chosen": True},
            ],
            "answers": answers,
            "mitigations": mitigations,
            "follow_up_indicators": [
                {
                    "name": i.name,
                    "source": i.source,
                    "responsible": i.responsible,
                    "due": i.due.isoformat(),
                    "question": (
                        positive[n % len(positive)] if i.follows_question and positive else None
                    ),
                }
                for n, i in enumerate(indicators)
            ],
        }
    )
