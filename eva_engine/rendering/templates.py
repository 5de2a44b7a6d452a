"""The Jinja2 environments of the renderers: the templates of this package
(``templates/``), the i18n extension bound to one language's catalog (``newstyle``:
``_("... %(name)s", name=value)``, escaped in HTML), autoescaping for HTML only. One
environment per language and layout, made once: rendering is then safe from any thread."""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, select_autoescape

from eva_engine.rendering.labels import Labels
from eva_engine.rendering.language import Speaker, translations


@functools.cache
def environment(language: str, *, trim: bool = False) -> Environment:
    """Templates in ``language``; ``trim`` drops the newline after a block tag and the
    spaces before it (the plain-text email)."""
    env = Environment(
        loader=PackageLoader("eva_engine.rendering", "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=trim,
        lstrip_blocks=trim,
        keep_trailing_newline=False,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    labels = Labels(Speaker(language).gettext)
    env.globals.update(
        role_name=labels.role_name,
        publicity_name=labels.publicity_name,
        media_type_name=labels.media_type_name,
        screening_name=labels.screening_name,
        vocabulary=labels.vocabulary,
    )
    env.filters["role_name"] = labels.role_name
    return env
