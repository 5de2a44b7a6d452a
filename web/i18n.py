"""Languages in the web UI: Finnish first, Swedish and English; the user's choice is
remembered. Only the glue to Flask-Babel: the catalogs, the label table and the time zone are
the engine's (``eva_engine.rendering``), shared with the emails and the summaries."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import Flask, current_app, g, request, session
from flask_babel import Babel, format_date, format_datetime, get_locale, gettext
from flask_login import current_user

from eva_engine.errors import EvaError
from eva_engine.localized import LocalizedText
from eva_engine.rendering import email
from eva_engine.rendering.labels import Labels
from eva_engine.rendering.language import CATALOGS, DEFAULT, LANGUAGES, TIMEZONE
from eva_engine.rendering.messages import values
from eva_engine.services import definitions


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    if current_user.is_authenticated and current_user.language in LANGUAGES:
        return str(current_user.language)
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT


def localized(obj: Any, field: str) -> str:
    """``obj.<field>_<lang>``, falling back to Finnish (the text every record has)."""
    lang = select_locale()
    value = getattr(obj, f"{field}_{lang}", None) or getattr(obj, f"{field}_fi", None)
    return str(value or "")


def current_language() -> str:
    """The language Flask-Babel renders in now (the user's, or a forced one)."""
    return str(get_locale() or DEFAULT)


def task_name(kind: str) -> str:
    """A task kind's title, as the workflow files declare it (``task_kinds``), in the current
    language."""
    eva = current_app.extensions["eva"]
    return email.task_name(definitions.task_titles(eva.catalogue), kind, current_language())


# The engine's one label table, read in the current language.
_labels = Labels(lambda message: str(gettext(message)))
role_name = _labels.role_name
publicity_name = _labels.publicity_name
media_type_name = _labels.media_type_name
screening_name = _labels.screening_name
outcome_name = _labels.outcome_name
vocabulary = _labels.vocabulary


def text(value: LocalizedText | None) -> str:
    """A definition's text in the current language (Finnish where it has no other)."""
    return value.get(select_locale()) if value is not None else ""


def _area_title(area_id: str) -> str:
    eva = current_app.extensions["eva"]
    for checklist in eva.catalogue.checklists.values():
        for area in checklist.areas:
            if area.id == area_id:
                return text(area.title)
    return area_id


def translated(message: Any) -> str:
    """An engine message (``Text``/``TextView``: its message id and values) in the user's
    language: values given per language (``state_fi``, ...), screening depths and roles as
    the engine renders them (``eva_engine.rendering.messages.values``), areas by their title."""
    if message is None:
        return ""
    params = values(message.params, current_language())
    if isinstance(params.get("area"), str) and "area_fi" not in message.params:
        params["area"] = _area_title(params["area"])
    return str(gettext(message.template, **params))


def error_message(error: EvaError) -> str:
    """An engine error in the user's language (from its message id; an error without one is
    the server's configuration, in English)."""
    return translated(error.text) if error.text else error.message


def problem_text(problem: Any) -> str:
    """A problem (from a guard, the completeness check or a form) as people read it."""
    what = translated(problem.what) if problem.what else problem.message
    where = translated(problem.where) if problem.where else problem.location
    return f"{where}: {what}" if where else what


@lru_cache(maxsize=8192)
def _datetime_text(moment: datetime, fmt: str | None, rebase: bool, locale: str) -> str:
    del locale  # a part of the key: format_datetime reads it from the request
    return str(format_datetime(moment, fmt, rebase))


def formatted_datetime(
    moment: datetime | None = None, format: str | None = None, rebase: bool = True
) -> str:
    """Flask-Babel's ``format_datetime``, remembered per moment, format and language: Babel
    takes about a millisecond for each, and a page such as the proposal list's meeting filter
    shows the same thousand dates on every request (the time zone is the installation's)."""
    if moment is None:
        return str(format_datetime(moment, format, rebase))
    locale = g.get("eva_locale")
    if locale is None:  # once per request: Flask-Babel's lookup costs as much as the format
        locale = g.eva_locale = str(get_locale())
    return _datetime_text(moment, format, rebase, locale)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["role_name"] = role_name
    app.jinja_env.filters["problem_text"] = problem_text
    app.jinja_env.filters["translated"] = translated
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(CATALOGS))
    Babel(
        app,
        locale_selector=select_locale,
        default_locale=DEFAULT,
        default_timezone=TIMEZONE,
    )
    app.jinja_env.globals.update(
        current_language=select_locale,
        languages=LANGUAGES,
        localized=localized,
        task_name=task_name,
        vocabulary=vocabulary,
        text=text,
        role_name=role_name,
        publicity_name=publicity_name,
        media_type_name=media_type_name,
        screening_name=screening_name,
        format_date=format_date,
        format_datetime=formatted_datetime,
    )
