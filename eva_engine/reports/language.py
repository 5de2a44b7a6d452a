"""Languages and the message catalogs without Flask: ``babel.support.Translations`` loaded
once per language from the catalogs the web UI reads too; numbers and dates as each language
writes them (Babel)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import dates, numbers
from babel.support import NullTranslations, Translations

LANGUAGES = ("fi", "sv", "en")
TIMEZONE = "Europe/Helsinki"
CATALOGS = Path(__file__).resolve().parent.parent.parent / "web" / "translations"


@functools.cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of ``language`` (no catalog: the English source texts)."""
    return Translations.load(str(CATALOGS), [language], "messages")


@dataclass(frozen=True)
class Speaker:
    """Texts, numbers and dates in one language."""

    language: str

    def gettext(self, message: str, **variables: Any) -> str:
        text = translations(self.language).gettext(message)
        return text % variables if variables else text

    def date(self, value: date | datetime) -> str:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            value = value.astimezone(ZoneInfo(TIMEZONE))
        return str(dates.format_date(value, format="medium", locale=self.language))

    def number(self, value: float, decimals: int = 0) -> str:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return str(numbers.format_decimal(value, format=pattern, locale=self.language))
