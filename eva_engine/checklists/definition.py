"""The checklist file format. A question's ``id`` is stable forever: answers refer to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eva_engine.localized import LocalizedText
from eva_engine.vocabulary import ScreeningOutcome

SNAKE = r"^[a-z][a-z0-9_]*$"
DEFINITION_NAME = r"^[a-z][a-z0-9-]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Question(Strict):
    id: str
    text: LocalizedText
    help: LocalizedText | None = None
    required_at: Literal["light", "full", "optional"]

    def required_for(self, depth: ScreeningOutcome) -> bool:
        if depth == ScreeningOutcome.LIGHT:
            return self.required_at == "light"
        if depth == ScreeningOutcome.FULL:
            return self.required_at in ("light", "full")
        return False


class Topic(Strict):
    id: str = Field(pattern=SNAKE)
    title: LocalizedText
    questions: list[Question] = Field(min_length=1)


class Area(Strict):
    id: str = Field(pattern=SNAKE)
    title: LocalizedText
    topics: list[Topic] = Field(min_length=1)


class Checklist(Strict):
    kind: Literal["checklist"]
    name: str = Field(pattern=DEFINITION_NAME)
    version: int = Field(ge=1)
    title: LocalizedText
    description: LocalizedText | None = None
    source: str | None = None
    areas: list[Area] = Field(min_length=1)

    @field_validator("areas")
    @classmethod
    def _unique_areas(cls, areas: list[Area]) -> list[Area]:
        seen: set[str] = set()
        for area in areas:
            if area.id in seen:
                raise ValueError(f"area {area.id!r} appears twice")
            seen.add(area.id)
        return areas

    def questions(self) -> Iterator[tuple[Area, Topic, Question]]:
        for area in self.areas:
            for topic in area.topics:
                for question in topic.questions:
                    yield area, topic, question
