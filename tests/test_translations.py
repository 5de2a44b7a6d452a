"""Every user-visible text of the web UI is translated to Finnish, Swedish and English, and the
catalogs are up to date with the source."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "eva_engine" / "translations"


def catalog_ids(path: Path) -> dict[object, object]:
    with path.open("rb") as source:
        return {m.id: m.string for m in read_po(source) if m.id}


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_every_message_is_translated(language: str) -> None:
    messages = catalog_ids(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    untranslated = [
        mid
        for mid, text in messages.items()
        if not text or (isinstance(text, tuple) and not all(text))
    ]
    assert untranslated == []


def test_the_catalogs_hold_every_message_of_the_source(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    source = set(catalog_ids(pot))
    for language in ("fi", "sv", "en"):
        assert (
            source - set(catalog_ids(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"))
            == set()
        )
