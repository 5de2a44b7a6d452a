"""Languages: Finnish first, Swedish and English. The user's choice is remembered."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request, session
from flask_babel import Babel, format_date, format_datetime, get_locale, gettext
from flask_babel import gettext as _
from flask_login import current_user

from eva_engine.localized import LocalizedText
from eva_engine.services import definitions

LANGUAGES = ("fi", "sv", "en")
DEFAULT = "fi"


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


def task_name(kind: str) -> str:
    """A task kind's title, as the workflow files declare it (``task_kinds``), in the current
    language (also under ``force_locale``, as emails are rendered). The mail renderer has no
    ``eva``: it reads the titles of the configured definitions folder."""
    eva = current_app.extensions.get("eva")
    titles = definitions.task_titles(eva.catalogue) if eva else definitions.configured_task_titles()
    title = titles.get(kind)
    if title is None:
        return kind
    language = str(get_locale() or DEFAULT)
    return str(getattr(title, language, None) or title.fi)


def role_name(role: str) -> str:
    names = {
        "preparer": _("preparer"),
        "expert": _("expert"),
        "presenter": _("presenter"),
        "secretary": _("secretary"),
        "auditor": _("auditor"),
        "admin": _("administrator"),
    }
    return str(names.get(role, role))


def publicity_name(value: str) -> str:
    names = {
        "public": _("public"),
        "partly_confidential": _("partly confidential"),
        "confidential": _("confidential"),
    }
    return str(names.get(value, value))


def screening_name(value: str) -> str:
    names = {
        "exempt": _("no assessment needed"),
        "light": _("light assessment"),
        "full": _("full assessment"),
    }
    return str(names.get(value, value))


def vocabulary(kind: str, value: str) -> str:
    """The label of a controlled vocabulary value (directions, magnitudes, groups...)."""
    labels: dict[str, dict[str, str]] = {
        "direction": {
            "positive": _("positive"),
            "negative": _("negative"),
            "none": _("no impact"),
            "unknown": _("unknown"),
        },
        "magnitude": {
            "minor": _("minor"),
            "moderate": _("moderate"),
            "significant": _("significant"),
        },
        "duration": {
            "budget_year": _("budget year"),
            "council_term": _("council term"),
            "longer": _("longer"),
        },
        "certainty": {"low": _("low"), "medium": _("medium"), "high": _("high")},
        "group": {
            "children": _("children"),
            "young_people": _("young people"),
            "families": _("families"),
            "working_age": _("working-age people"),
            "older_people": _("older people"),
            "disabled_people": _("disabled people"),
            "low_income": _("low-income people"),
            "language_culture_groups": _("language or culture groups"),
            "area": _("an area"),
            "staff": _("staff"),
            "businesses": _("businesses"),
            "all_residents": _("all residents"),
        },
    }
    return str(labels.get(kind, {}).get(value, value))


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


def _param(name: str, value: str | int) -> str | int:
    """Placeholder values that are themselves vocabulary are shown in the user's language."""
    if name == "area" and isinstance(value, str):
        return _area_title(value)
    if name == "depth" and isinstance(value, str):
        return screening_name(value)
    return value


def translated(message: Any) -> str:
    """An engine message (``Text``/``TextView``: English template and values) translated."""
    if message is None:
        return ""
    lang = select_locale()
    given = message.params
    # A value given per language (``state_fi``, ``state_sv``, ``state_en``) fills ``state``.
    params = {k: given.get(f"{k}_{lang}", _param(k, v)) for k, v in given.items()}
    return str(gettext(message.template, **params))


def problem_text(problem: Any) -> str:
    """A problem (from a guard, the completeness check or a form) as people read it."""
    what = translated(problem.what) if problem.what else problem.message
    where = translated(problem.where) if problem.where else problem.location
    return f"{where}: {what}" if where else what


def init_app(app: Flask) -> None:
    app.jinja_env.filters["role_name"] = role_name
    app.jinja_env.filters["problem_text"] = problem_text
    Babel(
        app,
        locale_selector=select_locale,
        default_locale=DEFAULT,
        default_timezone="Europe/Helsinki",
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
        screening_name=screening_name,
        format_date=format_date,
        format_datetime=format_datetime,
    )
