"""Localised text: what a definition (a workflow or checklist file) says in Finnish, Swedish and
English. Not a message: ``eva_engine.errors.Text`` is a translatable message template (an
English msgid and its values) that the catalogs translate; this is text already written in each
language by whoever wrote the definition."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LocalizedText(BaseModel):
    """A definition's text in fi, sv and en; every language is required in a definition file."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    fi: str = Field(min_length=1)
    sv: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, language: str) -> str:
        """The text in ``language``; Finnish, the text every definition has, for any other."""
        return {"fi": self.fi, "sv": self.sv, "en": self.en}.get(language) or self.fi
