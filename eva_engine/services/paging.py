"""Long lists a page at a time, declared once: the page size of every list the UI shows and the
API returns, and the opaque keyset cursors (``?after=``) that continue after a page's last row.
A cursor names the row it continues after, never an offset, so a page costs the same number of
statements and the same index scan wherever it is in the list."""

from __future__ import annotations

import base64

from eva_engine.errors import N_, InvalidInput, Problem, Text

PAGE_SIZE = 25  # rows per page of every list the UI shows, and of My work in the API too


def cursor(kind: str, *parts: object) -> str:
    """An opaque cursor of a list ``kind``: continue after the row with these sort keys (None
    is written as an empty part)."""
    text = ":".join([kind, *("" if p is None else str(p) for p in parts)])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def parts(kind: str, value: str, count: int) -> list[str]:
    """The sort keys of a cursor this list gave; anything else is refused as the input it is."""
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except ValueError:
        text = ""
    found = text.split(":", count)  # the last key may itself hold a colon
    if len(found) != count + 1 or found[0] != kind:
        raise bad_cursor()
    return found[1:]


def row_id(text: str) -> int:
    """An id written in a cursor (ASCII digits, at most a 63-bit number)."""
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise bad_cursor()
    return int(text)


def bad_cursor() -> InvalidInput:
    return InvalidInput(
        Text(N_("This next page link is not one this list gave: open the list again.")),
        [
            Problem.of(
                "after",
                Text(N_("open the list from its first page and use its next page link")),
                Text(N_("Next page")),
            )
        ],
    )
