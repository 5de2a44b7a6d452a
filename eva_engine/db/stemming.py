"""Snowball stemming for the embedded SQLite search index: the Finnish and Swedish algorithms
PostgreSQL's ``finnish`` and ``swedish`` text search configurations use, from the pure-Python
``snowballstemmer`` package.

Every SQLite connection made by ``db.engine`` has the deterministic SQL function
``eva_stemmed(text, language)`` (``language`` ``'fi'`` or ``'sv'``): the words of ``text``
(runs of letters and digits, lowercased), each replaced by its stem, separated by spaces; NULL
stays NULL. ``db.search`` writes the index rows through it and stems the query's words with
``stem_word``, so "kirjastoissa" and "kirjastojen" both become *kirjasto*."""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from typing import Protocol, cast

import snowballstemmer

STEM_FUNCTION = "eva_stemmed"
LANGUAGES = {"fi": "finnish", "sv": "swedish"}
_WORD = re.compile(r"[^\W_]+")
_LONGEST = 60  # letters of a word stemmed (a longer run is no word anyone searches for)

_local = threading.local()  # a stemmer keeps its state while stemming: one per thread


class _Stemmer(Protocol):
    def stemWord(self, word: str) -> str: ...  # noqa: N802 - the package's name


def _stemmer(language: str) -> _Stemmer:
    stemmers: dict[str, _Stemmer] | None = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    found = stemmers.get(language)
    if found is None:
        found = stemmers[language] = cast(_Stemmer, snowballstemmer.stemmer(LANGUAGES[language]))
    return found


def words(text: str) -> list[str]:
    """The words of ``text`` (runs of letters and digits), lowercased, as FTS5's ``unicode61``
    tokenizer splits them."""
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


@functools.lru_cache(maxsize=65536)
def stem_word(word: str, language: str) -> str:
    """The stem of one lowercased word in ``language`` (``fi``, ``sv``); digits as they are."""
    if word.isdigit() or len(word) > _LONGEST:
        return word
    return _stemmer(language).stemWord(word) or word


def stemmed(text: str | None, language: str) -> str | None:
    """``eva_stemmed``: the stems of the words of ``text``, separated by spaces."""
    if text is None:
        return None
    if language not in LANGUAGES:
        raise ValueError(f"no stemmer for {language!r}")
    return " ".join(stem_word(word, language) for word in words(text))
