"""The assessment summary as text a presenter pastes into the proposal's reasoning
(esittelijän perustelut): a standalone HTML document or plain text from the templates of
``templates/exchange/``, in the language asked for, labels from the shared catalogs. Used by
the web UI's download links and by ``eva export summary`` alike (no Flask)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from markupsafe import Markup

from eva_engine.rendering.labels import Labels
from eva_engine.rendering.language import LANGUAGES, Speaker
from eva_engine.rendering.templates import environment
from eva_engine.services.exchange.summaries import AlternativeSummary, ImpactCell, SummaryView

Kind = Literal["html", "text"]
TEMPLATES = {"html": "exchange/summary.html", "text": "exchange/summary.txt"}
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "text": "text/plain; charset=utf-8"}

__all__ = ["LANGUAGES", "MEDIA_TYPES", "Kind", "Phrases", "render_summary", "summary_fragment"]
ARTICLE = "exchange/summary_article.html"


class Phrases:
    """What the templates say about a summary, in one language."""

    def __init__(self, view: SummaryView, language: str) -> None:
        self.view = view
        self.language = language
        self._speaker = Speaker(language)
        self._labels = Labels(self._speaker.gettext)

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
        return self._speaker.date(starts) if starts else ""

    def alternative(self, position: int | None, *, capital: bool = False) -> str:
        """``alternative 1 (its title)``; the title is left out of a public version."""
        _ = self._speaker.gettext
        if position is None:
            return _("every alternative")
        found: AlternativeSummary | None = next(
            (a for a in self.view.alternatives if a.position == position), None
        )
        name = _("alternative %(number)s", number=position)
        if found is not None and found.title:
            name = f"{name} ({found.title})"
        return name[:1].upper() + name[1:] if capital else name

    def impact(self, cell: ImpactCell | None) -> str:
        """Direction, magnitude and duration; the affected groups."""
        _, label = self._speaker.gettext, self._labels.vocabulary
        if cell is None:
            return _("not assessed")
        words = [label("direction", cell.direction.value)]
        if cell.magnitude:
            words.append(label("magnitude", cell.magnitude.value))
        if cell.duration:
            words.append(label("duration", cell.duration.value))
        text = ", ".join(words)
        if cell.affected_groups:
            groups = ", ".join(label("group", g.value) for g in cell.affected_groups)
            text += "; " + _("affected: %(groups)s", groups=groups)
        return text

    def due(self, value: date | datetime) -> str:
        return self._speaker.date(value)

    def text(self, kind: str) -> str:
        """The proposal's text of ``kind`` in this language: Swedish where it is written in
        Swedish, else the Finnish one ("" when there is none)."""
        found = {t.language.value: t.content for t in self.view.texts if t.kind.value == kind}
        if self.language == "sv" and found.get("sv"):
            return found["sv"]
        return found.get("fi", "")

    def paragraphs(self, kind: str) -> list[str]:
        """The text of ``kind`` as paragraphs (separated by an empty line)."""
        blocks = [p.strip() for p in self.text(kind).split("\n\n")]
        return [b for b in blocks if b]


def render_summary(view: SummaryView, kind: Kind, language: str) -> str:
    """The summary as a standalone HTML document or as plain text, in ``language``."""
    if language not in LANGUAGES:
        raise ValueError(f"no language {language!r}")
    return (
        environment(language)
        .get_template(TEMPLATES[kind])
        .render(
            s=view,
            say=Phrases(view, language),
            lang=language,
            t=lambda text: text.get(language),
        )
    )


def summary_fragment(view: SummaryView, language: str) -> Markup:
    """The summary's article (its own heading of level 1 and down), for a web page that
    shows it in the browser: the same text as the document, from the same template."""
    if language not in LANGUAGES:
        raise ValueError(f"no language {language!r}")
    template = environment(language).get_template(ARTICLE)
    html = template.render(
        s=view, say=Phrases(view, language), lang=language, t=lambda text: text.get(language)
    )
    return Markup(html)  # noqa: S704 - autoescaped by the environment
