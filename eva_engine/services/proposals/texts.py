"""A proposal's texts as the minutes hold them: the presentation text (esittelyteksti,
perustelut), the decision proposal (päätösehdotus) and, after the meeting, the decision as made
(päätös: amendments, votes, dissent, who was elected), in Finnish and optionally in Swedish.

Who writes which text, and in which states, is what the proposal's own workflow version
declares of each state (``texts``: each text with the roles that write it). Every change
is a row change of ``proposal_texts``, so the audit capture writes it into the proposal's
history; a write bumps the proposal's row version (the ETag and ``If-Match`` of the API)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pydantic import BaseModel, Field

from eva_engine.db.repositories import Repositories
from eva_engine.errors import LANGUAGE_CODES, N_, InvalidInput, Problem, Text, per_language
from eva_engine.models import Proposal, ProposalText, User, utcnow
from eva_engine.services.access import (
    actor_for,
    load_proposal,
    log_disclosure,
    require_role,
    writable_texts,
)
from eva_engine.services.command import Command
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.fields import Document, Id, Version
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import TextKind, TextLanguage
from eva_engine.workflow.definition import State

MAX_TEXTS = len(TextKind) * len(TextLanguage)


class TextIn(Command):
    """One text in one language; an empty ``content`` removes it (the history keeps it)."""

    kind: TextKind
    language: TextLanguage = TextLanguage.FI
    content: Document = Field(description="Paragraphs separated by an empty line")


class WriteTexts(Command):
    """Write some of a proposal's texts; the ones not named stay as they are."""

    proposal_id: Id
    texts: list[TextIn] = Field(min_length=1, max_length=MAX_TEXTS)
    expected_version: Version | None = None


class ProposalTextView(BaseModel):
    kind: TextKind
    language: TextLanguage
    content: str
    written_by: str | None  # the writer's username
    written_by_name: str | None = Field(default=None, exclude=True)  # their full name
    updated_at: datetime


class ProposalTextsView(BaseModel):
    """The proposal's texts, and which of them the caller may write in its current state."""

    proposal_id: int
    state: str
    row_version: int
    texts: list[ProposalTextView]
    writable: list[TextKind] = Field(description="What the caller may write now")

    def content(self, kind: TextKind | str, language: TextLanguage | str = "fi") -> str:
        """The text of ``kind`` in ``language`` ("" when there is none)."""
        return next(
            (t.content for t in self.texts if t.kind == kind and t.language == language), ""
        )


def _titles(states: list[State]) -> dict[str, str]:
    """The states' titles, in each language ("–": none)."""
    return {
        language: ", ".join(s.title.get(language) for s in states) or "–"
        for language in LANGUAGE_CODES
    }


def texts_view(repos: Repositories, proposal: Proposal, user: User | None) -> ProposalTextsView:
    """The texts of a proposal the caller may see (nothing is checked or recorded here)."""
    rows = repos.proposal_texts(proposal.id)
    writers = repos.users_by_id({t.written_by_id for t in rows if t.written_by_id})
    bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
    roles = repos.roles_for(user.id, proposal.organisation_id, proposal.body_id) if user else None
    order = {kind: index for index, kind in enumerate(TextKind)}
    rows = sorted(rows, key=lambda t: (order[t.kind], t.language != TextLanguage.FI))
    return ProposalTextsView(
        proposal_id=proposal.id,
        state=proposal.state,
        row_version=proposal.row_version,
        texts=[
            ProposalTextView(
                kind=t.kind,
                language=t.language,
                content=t.content,
                written_by=(
                    writers[t.written_by_id].username
                    if t.written_by_id in writers and t.written_by_id
                    else None
                ),
                written_by_name=(
                    writers[t.written_by_id].full_name or writers[t.written_by_id].username
                    if t.written_by_id in writers and t.written_by_id
                    else None
                ),
                updated_at=t.updated_at,
            )
            for t in rows
        ],
        writable=writable_texts(bundle.workflow, proposal.state, roles),
    )


def texts(eva: Eva, caller: Caller, proposal_id: int) -> ProposalTextsView:
    """The proposal's texts; reading a non-public proposal's is a disclosure (TiHL 17 §)."""
    with eva.reading() as uow:
        uow.audit.actor, user = actor_for(uow.repos, caller)
        proposal = load_proposal(uow.repos, proposal_id, user)
        view = texts_view(uow.repos, proposal, user)
        if log_disclosure(uow.audit, proposal, "proposal.read"):
            uow.commit()
        return view


def write_texts(eva: Eva, caller: Caller, cmd: WriteTexts) -> ProposalTextsView:
    """Write the texts named (an empty one is removed), each only in the states and by the
    roles the proposal's workflow declares (``State.texts``); all of them or none."""
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        proposal = load_proposal(repos, cmd.proposal_id, user, for_update=True)
        uow.check_version(proposal, cmd.expected_version)
        bundle, _ = stored_bundle(repos, proposal.workflow_name, proposal.workflow_version)
        state = bundle.workflow.state(proposal.state)
        problems = []
        for (kind, language), count in Counter((t.kind, t.language) for t in cmd.texts).items():
            if count > 1:
                problems.append(
                    Problem.of(
                        "texts",
                        Text(
                            N_(
                                "%(text_kind)s (%(text_language)s) is given %(count)s times: "
                                "give it once."
                            ),
                            {
                                "text_kind": kind.value,
                                "text_language": language.value,
                                "count": count,
                            },
                        ),
                    )
                )
        for index, text in enumerate(cmd.texts):
            if state.text_writers(text.kind) is None:
                problems.append(
                    Problem.of(
                        f"texts[{index}].kind",
                        Text(
                            N_(
                                "%(text_kind)s cannot be written in this state; it can be "
                                "written in: %(states)s."
                            ),
                            {
                                "text_kind": text.kind.value,
                                **per_language(
                                    "states", _titles(bundle.workflow.text_states(text.kind))
                                ),
                            },
                        ),
                    )
                )
        if problems:
            raise InvalidInput(Text(N_("The texts were not written.")), problems)
        for kind in dict.fromkeys(t.kind for t in cmd.texts):
            role = require_role(
                repos,
                user,
                proposal.organisation_id,
                proposal.body_id,
                state.text_writers(kind) or (),
                f"write the {kind.value} text",
            )
            uow.audit.role = role.value if role else None
        stored = {(t.kind, t.language): t for t in repos.proposal_texts(proposal.id)}
        for text in cmd.texts:
            found = stored.get((text.kind, text.language))
            if not text.content:
                if found is not None:
                    repos.delete(found)
                continue
            if found is None:
                repos.add(
                    ProposalText(
                        organisation_id=proposal.organisation_id,
                        proposal_id=proposal.id,
                        kind=text.kind,
                        language=text.language,
                        content=text.content,
                        written_by_id=user.id if user else None,
                    )
                )
            elif found.content != text.content:
                found.content = text.content
                found.written_by_id = user.id if user else None
                found.updated_at = utcnow()
        uow.session.flush()
        if uow.audit.pending:
            proposal.touch()  # the proposal is the aggregate whose version guards its texts
        uow.commit()
        return texts_view(repos, proposal, user)
