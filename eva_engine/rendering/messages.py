"""Messages in the reader's language, without Flask: an engine error, a problem or a message
(``Text``: a message id and its values) rendered from the catalogs. The command line and the
API speak through these; the web UI does the same through Flask-Babel (``web.i18n``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eva_engine.errors import N_, EvaError, Problem, Text
from eva_engine.rendering.labels import LANGUAGES, ROLES, SCREENING, TEXT_KINDS
from eva_engine.rendering.language import language_or_default, translations


def values(params: Mapping[str, str | int], language: str) -> dict[str, Any]:
    """The placeholders' values for ``language``: a value given per language (``state_fi``,
    ``state_sv``, ``state_en``) fills ``state``; a screening depth, roles (``roles``: ids
    separated by commas), a text of the minutes (``text_kind``) and its language
    (``text_language``) read as their labels."""
    gettext = translations(language).gettext
    out: dict[str, Any] = {}
    for name, value in params.items():
        chosen = params.get(f"{name}_{language}", value)
        if name == "depth" and isinstance(chosen, str) and chosen in SCREENING:
            chosen = gettext(SCREENING[chosen])
        if name == "text_kind" and isinstance(chosen, str) and chosen in TEXT_KINDS:
            chosen = gettext(TEXT_KINDS[chosen])
        if name == "text_language" and isinstance(chosen, str) and chosen in LANGUAGES:
            chosen = gettext(LANGUAGES[chosen])
        if name == "roles" and isinstance(chosen, str):
            chosen = ", ".join(
                gettext(ROLES[r.strip()]) if r.strip() in ROLES else r.strip()
                for r in chosen.split(",")
            )
        out[name] = chosen
    return out


def render(text: Any, language: str) -> str:
    """``text`` (``Text`` or ``TextView``) in ``language`` (Finnish for any other)."""
    language = language_or_default(language)
    template = translations(language).gettext(text.template)
    params = values(text.params, language)
    return template % params if params else template


def problem_text(problem: Problem | Any, language: str) -> str:
    """A problem (or the views' ``ProblemView``) as people read it: where (translated where the
    engine named it) and what."""
    what = render(problem.what, language) if problem.what else problem.message
    where = render(problem.where, language) if problem.where else problem.location
    return f"{where}: {what}" if where else what


FALLBACK = Text(N_("That did not work; nothing was changed."))


def error_text(error: EvaError, language: str) -> str:
    """The error's message in ``language``. Every error the engine raises for people carries
    its message id (``tests/unit/test_messages.py`` keeps it so); one without is the server's
    configuration, told to its operator in English."""
    return render(error.text, language) if error.text else error.message
