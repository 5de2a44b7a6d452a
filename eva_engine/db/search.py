"""Free-text search over proposals: case numbers, titles, descriptions, the texts of the minutes
and the current revision's assessment (summary, screening, alternatives, answers' justifications
and sources, mitigations).

One index row per proposal, in a table kept outside the models' metadata because its shape
differs per backend:

* PostgreSQL: ``proposal_search(proposal_id, organisation_id, document tsvector)`` with a GIN
  index; Finnish text under the ``finnish`` configuration (Snowball stemming, so "kirjastoa"
  finds "kirjasto"), Swedish titles and texts under ``swedish``.
* SQLite (the embedded default): an FTS5 virtual table ``proposal_search(case_number, title,
  body)`` whose rowid is the proposal's id (the ``unicode61`` tokenizer; a light trim of Finnish
  case endings on the query side stands in for stemming).

The index is kept in step by a session hook (``install_search_hooks``), in the same transaction
as the change: every flush notes the proposals whose indexed rows it wrote, and the commit
rebuilds their index rows from the stored rows in one or two set-based statements per chunk of
``CHUNK`` proposals — whichever path wrote them (the services, the import, the bulk walk).

Search input is never handed to a query parser: ``search_words`` keeps the words (letters and
digits) of what was typed and drops every operator, quote and bracket, so no input can make a
syntax error; every word is matched as a prefix (``kirjasto`` finds ``kirjastolautakunta``)."""

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
# Finnish case and plural endings trimmed from a query word on SQLite (no stemmer there): the
# longest that leaves at least four letters, so that "kirjastoa" and "kirjastoissa" find
# "kirjasto" as a prefix. PostgreSQL stems with Snowball instead.
_ENDING_WORDS = (
    "issa issä ista istä illa illä ilta iltä ille iksi ina inä ineen "
    "ssa ssä sta stä lla llä lta ltä lle ksi tta ttä "
    "aan ään een iin oon uun yyn öön "
    "ja jä ita itä in na nä ta tä a ä n t"
)
_ENDINGS = tuple(sorted(_ENDING_WORDS.split(), key=len, reverse=True))


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


def trimmed(word: str) -> str:
    """``word`` without one Finnish ending, when at least four letters are left."""
    if word.isdigit():
        return word
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


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
    expression = " ".join(f'"{trimmed(word)}"*' for word in query.words)
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


def _refresh_statements(dialect: str) -> list[str]:
    texts, assessment = _parts(dialect)
    finnish_texts = texts.format(language="fi")
    swedish_texts = texts.format(language="sv")
    body = _joined(("p.description", finnish_texts, swedish_texts, assessment))
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
SELECT p.id, p.case_number, p.title_fi || ' ' || coalesce(p.title_sv, ''),
 {body}
FROM proposals p WHERE p.id IN :ids""",  # noqa: S608 - constants
    ]


def refresh(connection: Connection | Session, proposal_ids: Iterable[int]) -> int:
    """Rebuild the index rows of these proposals from their stored rows (a proposal no longer
    stored loses its row on SQLite; on PostgreSQL its row goes with it): a statement or two per
    chunk of ``CHUNK`` ids. Returns how many ids were refreshed."""
    ids = sorted(set(proposal_ids))
    if not ids:
        return 0
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    statements = [
        text(sql).bindparams(bindparam("ids", expanding=True))
        for sql in _refresh_statements(bind.dialect.name)
    ]
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        for statement in statements:
            connection.execute(statement, {"ids": part})
    return len(ids)


def rebuild(connection: Connection) -> int:
    """Index every stored proposal (the migration; ``eva db`` after a restore)."""
    found = connection.execute(text("SELECT id FROM proposals")).scalars().all()
    return refresh(connection, [int(i) for i in found])


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
