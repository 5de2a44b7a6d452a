"""Parameter types every command shares: numbers in the ASCII digits only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import click

from eva_engine.services.fields import MAX_DIGITS, MAX_ID, parse_date, parse_datetime, parse_int


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


class TypedDate(click.ParamType[Any, Any]):
    """A date or a date and time as people type them (``13.6.2023``, ``13.6.2023 klo 17.00``,
    or ISO 8601), read by the services' one parser (``fields.parse_date``/``parse_datetime``);
    a time without an offset is Finnish time."""

    def __init__(self, *, with_time: bool) -> None:
        self.with_time = with_time
        self.name = "datetime" if with_time else "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime | date):
            return value
        try:
            return parse_datetime(str(value)) if self.with_time else parse_date(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DATE = TypedDate(with_time=False)
DATETIME = TypedDate(with_time=True)


def choices(enum: Any) -> click.Choice[str]:
    """The values of a vocabulary ``enum`` as a click choice."""
    return click.Choice([m.value for m in enum])
