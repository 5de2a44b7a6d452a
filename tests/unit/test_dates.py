"""The one parser of dates people type (``fields.parse_date`` and ``parse_datetime``): the
Finnish forms, ISO 8601, Finnish time for a time without an offset, and what is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from eva_engine.services.fields import parse_date, parse_datetime


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("13.6.2023", date(2023, 6, 13)),
        ("13.06.2023", date(2023, 6, 13)),
        (" 1.1.2024 ", date(2024, 1, 1)),
        ("2023-06-13", date(2023, 6, 13)),
    ],
)
def test_a_date_is_read_as_typed(typed: str, expected: date) -> None:
    assert parse_date(typed) == expected


@pytest.mark.parametrize(
    ("typed", "utc"),
    [
        ("13.6.2023 17.00", datetime(2023, 6, 13, 14, 0, tzinfo=UTC)),
        ("13.6.2023 klo 17.00", datetime(2023, 6, 13, 14, 0, tzinfo=UTC)),
        ("13.6.2023  KLO  17:00", datetime(2023, 6, 13, 14, 0, tzinfo=UTC)),
        ("13.6.2023", datetime(2023, 6, 12, 21, 0, tzinfo=UTC)),  # its midnight in Finland
        ("2023-06-13 17.00", datetime(2023, 6, 13, 14, 0, tzinfo=UTC)),
        ("2023-06-13T17:00", datetime(2023, 6, 13, 14, 0, tzinfo=UTC)),
        ("2023-06-13T17:00+00:00", datetime(2023, 6, 13, 17, 0, tzinfo=UTC)),
        ("13.12.2023 klo 17.00", datetime(2023, 12, 13, 15, 0, tzinfo=UTC)),  # winter time
    ],
)
def test_a_date_and_time_is_finnish_time_unless_it_says_otherwise(
    typed: str, utc: datetime
) -> None:
    assert parse_datetime(typed) == utc


@pytest.mark.parametrize(
    "typed",
    ["", "13.6.23", "32.1.2023", "29.2.2023", "13.13.2023", "13.6.2023 24.00", "13.6.2023 klo",
     "１３.６.２０２３", "13/6/2023", "1.1.0001 00.00", "13.6.2023 17.00 x", "x" * 10_000],
)  # fmt: skip
def test_what_is_not_a_date_is_refused_naming_the_form(typed: str) -> None:
    with pytest.raises(ValueError, match=r"write it as 13\.6\.2023 klo 17\.00"):
        parse_datetime(typed)
    with pytest.raises(ValueError, match=r"write it as 13\.6\.2023"):
        parse_date(typed)
