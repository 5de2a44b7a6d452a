"""Parameter types every command shares: numbers in the ASCII digits only."""

from __future__ import annotations

from typing import Any

import click

from eva_engine.services.fields import MAX_DIGITS, MAX_ID, parse_int


class WholeNumber(click.ParamType[int, Any]):
    """A whole number from ``low`` to ``high`` in the ASCII digits 0-9: click's ``int`` (that
    is, Python's ``int()``) also reads full-width ``１２`` and Arabic-Indic ``١٢``."""

    name = "integer"

    def __init__(self, low: int = 0, high: int = 10**MAX_DIGITS - 1) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number: int | None = value
        else:
            number = parse_int(str(value).strip(), high=self.high)
        if number is None or not self.low <= number <= self.high:
            self.fail(
                f"{str(value)[:40]!r} is not a whole number from {self.low} to {self.high} "
                "(digits 0-9)",
                param,
                ctx,
            )
        return number


ID = WholeNumber(1, MAX_ID)  # a record's id or a row version
WHOLE = WholeNumber()


def choices(enum: Any) -> click.Choice[str]:
    """The values of a vocabulary ``enum`` as a click choice."""
    return click.Choice([m.value for m in enum])
