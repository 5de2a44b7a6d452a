"""Free-text search over proposals: case numbers, titles, descriptions, the texts of the minutes
and the current revision's assessment (summary, screening, alternatives, answers' justifications
and sources, mitigations).

One index row per proposal, in a table kept outside the models' metadata because its shape
differs per backend:

* PostgreSQL: ``proposal_search(proposal_id, organisation_id, document tsvector)`` with a GIN
  index; Finnish text under the ``finnish`` configuration (Snowball stemming, so "kirjastoa"
  finds "kirjasto"), Swedish titles and texts under ``swedish``.
* SQLite (the embedded default): an FTS5 virtual table ``proposal_search(case_number, title,
  body)`` whose rowid is the proposal's id (the ``unicode61`` tokenizer). Its rows hold the
  Snowball stems of the words, the same algorithms as PostgreSQL's (``db.stemming``: the SQL
  function ``eva_stemmed``): Finnish text through the Finnish stemmer, Swedish titles and texts
  through the Swedish one; the case number as written. A query word is stemmed both ways.

The index is kept in step by a session hook (``install_search_hooks``), in the same transaction
as the change: every flush notes the proposals whose indexed rows it wrote, and the commit
rebuilds their index rows from the stored rows in one or two set-based statements per chunk of
``CHUNK`` proposals — whichever path wrote them (the services, the import, the bulk walk).

Search input is never handed to a query parser: ``search_words`` keeps the words (letters and
digits) of what was typed and drops every operator, quote and bracket, so no input can make a
syntax error; every word is matched as a prefix (``kirjasto`` finds ``kirjastolautakunta``).

Snowball conflates inflections, not consonant gradation: ``kirjastoissa`` and ``kirjastojen``
find *kirjasto*, ``koulun`` *koulu*, ``päiväkodeille`` *päiväkodit*, but ``päiväkodeille`` and
``päiväkoti`` stay apart (*päiväkod*, *päiväkot*), on both backends alike."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    CTE,
    ColumnElement,
    Connection,
    String,
    bindparam,
    case,
    column,
    event,
    func,
    inspect,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session, UOWTransaction

from eva_engine.db.stemming import LANGUAGES, STEM_FUNCTION, stem_word
from eva_engine.models import (
    Alternative,
    Answer,
    Assessment,
    Mitigation,
    Proposal,
    ProposalText,
    Screening,
)

SEARCH_TABLE = "proposal_search"
PENDING_KEY = "eva.search.pending"  # session.info: ids of proposals whose index row is stale
CHUNK = 500
MAX_WORDS = 12  # words of one query used (the rest are ignored)
MAX_QUERY_LENGTH = 200  # characters of one query (services refuse longer ones)

# What each indexed class contributes (a change of any other column leaves the index alone).
_INDEXED: dict[type, frozenset[str]] = {
    Proposal: frozenset({"case_number", "title_fi", "title_sv", "description", "revision"}),
    ProposalText: frozenset({"content", "language", "kind"}),
    Assessment: frozenset({"summary"}),
    Screening: frozenset({"reason", "participation_plan"}),
    Alternative: frozenset({"title", "description"}),
    Answer: frozenset({"justification", "evidence_source"}),
    Mitigation: frozenset({"description"}),
}


def is_search_table(name: str | None) -> bool:
    """The index's own tables (FTS5 keeps shadow tables ``proposal_search_*``): not models."""
    return name is not None and (name == SEARCH_TABLE or name.startswith(SEARCH_TABLE + "_"))


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Alembic's ``include_name``: the search index is no model, so no drift either."""
    return not (type_ == "table" and is_search_table(name))


# the words of a query ---------------------------------------------------------------------------
_WORD = re.compile(r"[^\W_]+")

_OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR"})


@dataclass(frozen=True)
class SearchQuery:
    """The words of what was typed, lowercased (empty: nothing can match)."""

    words: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.words


def search_words(typed: str) -> SearchQuery:
    """The words (runs of letters and digits) of ``typed``: quotes, ``*``, brackets and any other
    punctuation only separate words, and ``AND``, ``OR``, ``NOT``, ``NEAR`` in capitals are
    left out (every word must match anyway)."""
    words: list[str] = []
    for found in _WORD.findall(typed):
        if found in _OPERATORS:  # typed as a search engine's operator: not a word to find
            continue
        word = found.lower()
        if word not in words:
            words.append(word[:60])
    return SearchQuery(tuple(words[:MAX_WORDS]))


def stems(word: str) -> tuple[str, ...]:
    """What one query word matches as a prefix on SQLite: its Finnish and Swedish stems and the
    word as typed (a case number's letters are indexed as written), shortest first, without
    those another one already covers (``kirjasto`` covers ``kirjastoiss``): one prefix scan
    each."""
    found = sorted({*(stem_word(word, language) for language in LANGUAGES), word}, key=len)
    kept: list[str] = []
    for candidate in found:
        if not any(candidate.startswith(shorter) for shorter in kept):
            kept.append(candidate)
    return tuple(kept)


def _match_expression(query: SearchQuery) -> str:
    """FTS5: every word must match, as any of its stems (the words have letters and digits
    only, never a quote)."""
    groups = []
    for word in query.words:
        alternatives = [f'"{stem}"*' for stem in stems(word)]
        groups.append(
            alternatives[0] if len(alternatives) == 1 else f"({' OR '.join(alternatives)})"
        )
    return " AND ".join(groups)  # (FTS5 joins bracketed groups only with an explicit AND)


# querying ---------------------------------------------------------------------------------------
def hits(dialect: str, query: SearchQuery, organisation_id: int | None) -> CTE:
    """The proposals matching every word of ``query``: a materialised common table expression
    of ``proposal_id`` and ``rank`` (smaller is better), so the full-text match runs once per
    statement, never once per joined proposal (SQLite's FTS5 would otherwise repeat it for
    every row). Visibility is the caller's filter, applied with it."""
    if dialect == "postgresql":
        index = table(
            SEARCH_TABLE, column("proposal_id"), column("organisation_id"), column("document")
        )
        document = index.c.document
        terms: list[ColumnElement[object]] = []
        for n, word in enumerate(query.words):
            # 'word':* is a prefix lexeme; the word has letters and digits only (no quote).
            typed = bindparam(f"search_{n}", f"'{word}':*", type_=String())
            finnish = func.to_tsquery(literal_column("'finnish'::regconfig"), typed)
            swedish = func.to_tsquery(literal_column("'swedish'::regconfig"), typed)
            # A stop word of either language (ja, och) is left out instead of matching nothing.
            stop = (func.numnode(finnish) == 0) | (func.numnode(swedish) == 0)
            nothing: ColumnElement[object] = literal_column("''::tsquery")
            terms.append(case((stop, nothing), else_=finnish.op("||")(swedish)))
        combined = terms[0]
        for term in terms[1:]:
            combined = combined.op("&&")(term)
        found = select(
            index.c.proposal_id.label("proposal_id"),
            (-func.ts_rank(document, combined)).label("rank"),
        ).where(document.op("@@")(combined))
        if organisation_id is not None:
            found = found.where(index.c.organisation_id == organisation_id)
        return found.cte("search_hits").prefix_with("MATERIALIZED")
    fts = table(SEARCH_TABLE, column("rowid"))
    expression = _match_expression(query)
    found = select(
        fts.c.rowid.label("proposal_id"),
        literal_column(f"bm25({SEARCH_TABLE}, 10.0, 5.0, 1.0)").label("rank"),
    ).where(literal_column(SEARCH_TABLE).op("MATCH")(bindparam("search", expression)))
    return found.cte("search_hits").prefix_with("MATERIALIZED")


# keeping the index in step ---------------------------------------------------------------------
def _joined(parts: Sequence[str]) -> str:
    """SQL: the parts as one text, a NULL part as nothing (SQLite has concat_ws from 3.44)."""
    return " || ' ' || ".join(f"coalesce({part}, '')" for part in parts)


def _parts(dialect: str) -> tuple[str, str]:
    """SQL for one proposal ``p``: its texts in ``{language}`` and its current assessment,
    each as one text (NULL when there is none)."""
    agg = "string_agg" if dialect == "postgresql" else "group_concat"
    language = " WHERE t.proposal_id = p.id AND t.language = '{language}'"
    texts = f"(SELECT {agg}(t.content, ' ') FROM proposal_texts t{language})"  # noqa: S608

    def rows(table_name: str, *columns: str) -> str:
        joined = _joined([f"x.{c}" for c in columns])
        return f"(SELECT {agg}({joined}, ' ') FROM {table_name} x WHERE x.assessment_id = a.id)"  # noqa: S608

    parts = (
        "a.summary",
        rows("screenings", "reason", "participation_plan"),
        rows("alternatives", "title", "description"),
        rows("answers", "justification", "evidence_source"),
        rows("mitigations", "description"),
    )
    current = " WHERE a.proposal_id = p.id AND a.revision = p.revision"
    assessment = f"(SELECT {_joined(parts)} FROM assessments a{current})"  # noqa: S608
    return texts, assessment


def _refresh_statements(dialect: str, *, stemmed: bool = True) -> list[str]:
    texts, assessment = _parts(dialect)
    finnish_texts = texts.format(language="fi")
    swedish_texts = texts.format(language="sv")

    def stem(sql: str, language: str) -> str:  # SQLite: the words' stems (db.stemming)
        return f"{STEM_FUNCTION}({sql}, '{language}')" if stemmed else sql

    finnish = stem(_joined(("p.description", finnish_texts, assessment)), "fi")
    swedish = stem(f"coalesce({swedish_texts}, '')", "sv")
    title = f"{stem('p.title_fi', 'fi')} || ' ' || coalesce({stem('p.title_sv', 'sv')}, '')"
    if dialect == "postgresql":
        return [
            f"""INSERT INTO {SEARCH_TABLE} (proposal_id, organisation_id, document)
SELECT p.id, p.organisation_id,
 setweight(to_tsvector('finnish', regexp_replace(p.case_number, '[^[:alnum:]]+', ' ', 'g')), 'A')
 || setweight(to_tsvector('finnish', p.title_fi), 'A')
 || setweight(to_tsvector('swedish', coalesce(p.title_sv, '')), 'A')
 || setweight(to_tsvector('finnish', coalesce(p.description, '')), 'B')
 || setweight(to_tsvector('finnish', coalesce({finnish_texts}, '')), 'B')
 || setweight(to_tsvector('swedish', coalesce({swedish_texts}, '')), 'B')
 || setweight(to_tsvector('finnish', coalesce({assessment}, '')), 'C')
FROM proposals p WHERE p.id IN :ids
ON CONFLICT (proposal_id) DO UPDATE
SET organisation_id = excluded.organisation_id, document = excluded.document"""  # noqa: S608
        ]
    return [
        f"DELETE FROM {SEARCH_TABLE} WHERE rowid IN :ids",  # noqa: S608 - a constant
        f"""INSERT INTO {SEARCH_TABLE} (rowid, case_number, title, body)
SELECT p.id, p.case_number, {title}, {finnish} || ' ' || {swedish}
FROM proposals p WHERE p.id IN :ids""",  # noqa: S608 - constants
    ]


def refresh(
    connection: Connection | Session, proposal_ids: Iterable[int], *, stemmed: bool = True
) -> int:
    """Rebuild the index rows of these proposals from their stored rows (a proposal no longer
    stored loses its row on SQLite; on PostgreSQL its row goes with it): a statement or two per
    chunk of ``CHUNK`` ids. Returns how many ids were refreshed. ``stemmed=False`` writes the
    SQLite rows' words as written, as before migration 0015 (its downgrade)."""
    ids = sorted(set(proposal_ids))
    if not ids:
        return 0
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    statements = [
        text(sql).bindparams(bindparam("ids", expanding=True))
        for sql in _refresh_statements(bind.dialect.name, stemmed=stemmed)
    ]
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        for statement in statements:
            connection.execute(statement, {"ids": part})
    return len(ids)


def rebuild(connection: Connection, *, stemmed: bool = True) -> int:
    """Index every stored proposal afresh (the migration; ``eva db`` after a restore)."""
    if connection.dialect.name != "postgresql":  # (PostgreSQL's rows go with their proposals)
        connection.execute(text(f"DELETE FROM {SEARCH_TABLE}"))  # noqa: S608 - a constant
    found = connection.execute(text("SELECT id FROM proposals")).scalars().all()
    return refresh(connection, [int(i) for i in found], stemmed=stemmed)


def _touched(obj: object, new: bool) -> int | None:
    """The proposal whose index row ``obj``'s change makes stale, if any."""
    columns = _INDEXED.get(type(obj))
    if columns is None:
        return None
    proposal_id = obj.id if isinstance(obj, Proposal) else getattr(obj, "proposal_id", None)
    if new:
        return proposal_id if isinstance(proposal_id, int) else None
    attrs = inspect(obj).attrs
    if any(attrs[name].history.has_changes() for name in columns):
        return proposal_id if isinstance(proposal_id, int) else None
    return None


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    pending: set[int] = session.info.setdefault(PENDING_KEY, set())
    for obj in session.new:
        found = _touched(obj, new=True)
        if found is not None:
            pending.add(found)
    for obj in [*session.dirty, *session.deleted]:
        found = _touched(obj, new=obj in session.deleted)
        if found is not None:
            pending.add(found)


def _before_commit(session: Session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()
    pending: set[int] | None = session.info.pop(PENDING_KEY, None)
    if pending:
        refresh(session, pending)


def _after_soft_rollback(session: Session, previous: object) -> None:
    # A savepoint's rollback keeps the noted ids (refreshing one too many is harmless).
    if getattr(previous, "parent", None) is None:
        session.info.pop(PENDING_KEY, None)


def install_search_hooks(session_class: type[Session]) -> None:
    for name, fn in (
        ("after_flush", _after_flush),
        ("before_commit", _before_commit),
        ("after_soft_rollback", _after_soft_rollback),
    ):
        if not event.contains(session_class, name, fn):
            event.listen(session_class, name, fn)


def pending_ids(session: Session) -> Sequence[int]:
    """The proposals whose index rows the next commit rebuilds (for tests)."""
    return sorted(session.info.get(PENDING_KEY, set()))
