"""URL converters. ``<int:...>`` is replaced on the whole application (the UI and the API): the
werkzeug converter matches ``\\d+`` and converts with ``int()``, so ``/proposals/１２`` and
``/proposals/١٢`` (full-width and Arabic-Indic digits) reached proposal 12."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from eva_engine.services.fields import MAX_ID


class AsciiIntegerConverter(IntegerConverter):
    """An id in the path: the ASCII digits 0-9 only, at most ``MAX_ID`` (a larger number, or
    other digits, match no route: 404)."""

    regex = r"[0-9]{1,10}"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def init_app(app: Flask) -> None:
    """Register before the blueprints: a rule takes its converter when it is added."""
    app.url_map.converters["int"] = AsciiIntegerConverter
