"""How the audit history reads to people in the web UI: the engine's one label table
(``eva_engine.rendering.labels``: event types, records, fields and stored values) bound to the
user's language and to the names of a page's ids. Unknown names fall back to the stored name,
so nothing is ever hidden."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext

from eva_engine.rendering import labels as table
from eva_engine.rendering.labels import HistoryWords, Labels
from eva_engine.rendering.language import format_time
from eva_engine.services.history.trail import HistoryNames
from web.i18n import current_language

_labels = Labels(lambda message: str(gettext(message)))


def history_words(names: HistoryNames) -> HistoryWords:
    """A page of history in the current language, with what its ids stand for."""
    return HistoryWords(_labels, current_language(), names)


def action_label(action: str) -> str:
    return history_words(HistoryNames()).action(action)


def action_choices() -> list[tuple[str, str]]:
    """(action, label) for the audit page's event type filter."""
    actions = list(table.SPECIAL) + [f"{e}.{o}" for e in table.ENTITIES for o in table.OPERATIONS]
    words = history_words(HistoryNames())
    return sorted(((a, words.action(a)) for a in actions), key=lambda pair: pair[1])


def when(value: datetime) -> str:
    """A time stamp as people write it in the current language: ``13.6.2023 klo 17.00``."""
    return format_time(value, current_language())
