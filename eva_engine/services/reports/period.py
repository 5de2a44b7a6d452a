"""A report's period: a year (``2026``), several years such as a council term
(``2025-2028``), or any dates (``2026-01-01..2026-06-30``, both days included)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from eva_engine.errors import N_, InvalidInput, Problem, Text

# Meetings and decisions are dated in Finnish time.
TIMEZONE = ZoneInfo("Europe/Helsinki")
_YEARS = re.compile(r"^(\d{4})(?:-(\d{4}))?$")
_DATES = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
LONGEST_DAYS = 366 * 12


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @cached_property  # asked for each proposal and handling the report folds
    def since(self) -> datetime:
        """The first instant of the period (UTC)."""
        return datetime.combine(self.start, time(), TIMEZONE).astimezone(UTC)

    @cached_property
    def until(self) -> datetime:
        """The first instant after the period (UTC)."""
        return datetime.combine(self.end + timedelta(days=1), time(), TIMEZONE).astimezone(UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def holds(self, moment: datetime) -> bool:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return self.since <= moment < self.until

    @property
    def label(self) -> str:
        whole_years = (self.start.month, self.start.day, self.end.month, self.end.day) == (
            1,
            1,
            12,
            31,
        )
        if whole_years:
            if self.start.year == self.end.year:
                return str(self.start.year)
            return f"{self.start.year}-{self.end.year}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def _wrong(given: str) -> InvalidInput:
    return InvalidInput(
        Text(
            N_(
                "The period %(given)s cannot be read: give a year (2026), years (2025-2028) or "
                "dates (2026-01-01..2026-06-30)."
            ),
            {"given": given},
        ),
        [
            Problem.of(
                "period",
                Text(
                    N_(
                        "Give the period as a year (2026), years (2025-2028) or dates "
                        "(2026-01-01..2026-06-30)."
                    )
                ),
            )
        ],
    )


def parse_period(given: str) -> Period:
    text = given.strip()
    years = _YEARS.match(text)
    try:
        if years:
            first = int(years.group(1))
            last = int(years.group(2) or first)
            period = Period(date(first, 1, 1), date(last, 12, 31))
        else:
            dates = _DATES.match(text)
            if not dates:
                raise _wrong(given)
            period = Period(date.fromisoformat(dates.group(1)), date.fromisoformat(dates.group(2)))
    except ValueError as exc:
        raise _wrong(given) from exc
    if not (period.start.year >= 2000 and period.end.year <= 2100):
        raise _wrong(given)
    if period.end < period.start or period.days > LONGEST_DAYS:
        raise _wrong(given)
    return period
