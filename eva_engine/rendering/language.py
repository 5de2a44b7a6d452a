"""Languages and the message catalogs, without Flask: ``babel.support.Translations`` loaded
once per language from the catalogs the web UI reads too, and Babel's date formats in
Finnish time."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import dates
from babel.support import NullTranslations, Translations

LANGUAGES = ("fi", "sv", "en")
DEFAULT = "fi"  # every record has a Finnish text; an unknown language reads Finnish
TIMEZONE = "Europe/Helsinki"
DOMAIN = "messages"
# The catalogs (``<language>/LC_MESSAGES/messages.po``, compiled to ``.mo``), shared with
# the web UI (Flask-Babel's ``BABEL_TRANSLATION_DIRECTORIES``).
CATALOGS = Path(__file__).resolve().parent.parent / "translations"


def language_or_default(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT


@functools.cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of ``language`` (no catalog: the English source texts)."""
    return Translations.load(str(CATALOGS), [language], DOMAIN)


def format_date(value: date | datetime, language: str) -> str:
    """A date as the language writes it (Babel's medium format); a time stamp is read in
    Finnish time first (one without a zone is UTC), as the web UI shows it."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(ZoneInfo(TIMEZONE))
    return str(dates.format_date(value, format="medium", locale=language))


# The word between a date and a time of day, as each language writes it: 13.6.2023 klo 17.00,
# 13 juni 2023 kl. 17:00, Jun 13, 2023 at 5:00 PM.
AT = {"fi": "klo", "sv": "kl.", "en": "at"}


def format_time(value: datetime, language: str) -> str:
    """A time stamp as people write it in ``language``, in Finnish time, to the minute (one
    without a zone is UTC): ``13.6.2023 klo 17.00``."""
    language = language_or_default(language)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(ZoneInfo(TIMEZONE))
    day = dates.format_date(local, format="medium", locale=language)
    clock = dates.format_time(local, format="short", locale=language)
    return f"{day} {AT[language]} {clock}"


@dataclass(frozen=True)
class Speaker:
    """Texts in one language: ``gettext`` with ``%(name)s`` placeholders, and dates."""

    language: str

    def gettext(self, message: str, **variables: Any) -> str:
        text = translations(self.language).gettext(message)
        return text % variables if variables else text

    def date(self, value: date | datetime) -> str:
        return format_date(value, self.language)

    def time(self, value: datetime) -> str:
        return format_time(value, self.language)
