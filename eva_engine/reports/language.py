"""The report's texts, numbers and dates in one language, without Flask: the catalogs and the
time zone of ``eva_engine.rendering.language`` (the ones the web UI and the emails read), and
numbers as each language writes them (Babel)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel import dates, numbers

from eva_engine.rendering.language import LANGUAGES, TIMEZONE, translations

__all__ = ["LANGUAGES", "TIMEZONE", "Speaker", "translations"]


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
