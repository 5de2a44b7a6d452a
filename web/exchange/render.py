"""The assessment summary as text a presenter pastes into the proposal's reasoning
(esittelijän perustelut): Jinja templates, labels from the translation catalogs, rendered in
the language asked for with Flask-Babel's ``force_locale``, in a request or from the command
line (which builds a small application for it, see ``rendering_app``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Literal

from flask import Flask, has_app_context, render_template
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from eva_engine.services.exchange.summaries import AlternativeSummary, ImpactCell, SummaryView
from web import i18n

Kind = Literal["html", "text"]
LANGUAGES = i18n.LANGUAGES
TEMPLATES = {"html": "exchange/summary.html", "text": "exchange/summary.txt"}
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "text": "text/plain; charset=utf-8"}


def rendering_app() -> Flask:
    """An application with the UI's templates and catalogs and nothing else (no sessions, no
    secret key): what the command line needs to render a summary."""
    app = Flask("web", root_path=str(Path(__file__).resolve().parent.parent))
    i18n.init_app(app)
    return app


@contextmanager
def _context() -> Iterator[None]:
    if has_app_context():
        yield
        return
    with rendering_app().app_context():
        yield


class Phrases:
    """What the templates say about a summary, in the forced language."""

    def __init__(self, view: SummaryView, language: str) -> None:
        self.view = view
        self.language = language

    def title(self) -> str:
        if self.language == "sv" and self.view.title_sv:
            return self.view.title_sv
        return self.view.title_fi

    def body_name(self) -> str:
        if self.language == "sv" and self.view.body_name_sv:
            return self.view.body_name_sv
        return self.view.body_name_fi

    def meeting(self) -> str:
        starts: datetime | None = self.view.meeting_starts_at
        return str(format_date(starts)) if starts else ""

    def alternative(self, position: int | None, *, capital: bool = False) -> str:
        """``alternative 1 (its title)``; the title is left out of a public version."""
        if position is None:
            return str(_("every alternative"))
        found: AlternativeSummary | None = next(
            (a for a in self.view.alternatives if a.position == position), None
        )
        name = str(_("alternative %(number)s", number=position))
        if found is not None and found.title:
            name = f"{name} ({found.title})"
        return name[:1].upper() + name[1:] if capital else name

    def impact(self, cell: ImpactCell | None) -> str:
        """Direction, magnitude and duration; the affected groups."""
        if cell is None:
            return str(_("not assessed"))
        words = [i18n.vocabulary("direction", cell.direction.value)]
        if cell.magnitude:
            words.append(i18n.vocabulary("magnitude", cell.magnitude.value))
        if cell.duration:
            words.append(i18n.vocabulary("duration", cell.duration.value))
        text = ", ".join(words)
        if cell.affected_groups:
            groups = ", ".join(i18n.vocabulary("group", g.value) for g in cell.affected_groups)
            text += "; " + str(_("affected: %(groups)s", groups=groups))
        return text

    def due(self, value: object) -> str:
        return str(format_date(value))


def render_summary(view: SummaryView, kind: Kind, language: str) -> str:
    """The summary as a standalone HTML document or as plain text, in ``language``."""
    if language not in LANGUAGES:
        raise ValueError(f"no language {language!r}")
    with _context(), force_locale(language):
        return render_template(
            TEMPLATES[kind],
            s=view,
            say=Phrases(view, language),
            lang=language,
            t=lambda text: text.get(language),
            vocabulary=i18n.vocabulary,
            screening_name=i18n.screening_name,
            publicity_name=i18n.publicity_name,
        )
