"""The common precondition of every assessment edit: a named preparer or expert, a state in
which the workflow allows editing, and the version the editor read."""

from __future__ import annotations

from dataclasses import dataclass

from eva_engine.db.unit_of_work import UnitOfWork
from eva_engine.errors import (
    LANGUAGE_CODES,
    N_,
    InvalidInput,
    NotFound,
    Problem,
    Text,
    per_language,
)
from eva_engine.models import Assessment, Proposal, User
from eva_engine.services.access import (
    EDIT_ASSESSMENT,
    actor_for,
    load_proposal,
    no_assessment,
    require,
    require_named_user,
)
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.runtime import Caller
from eva_engine.workflow.definition import WorkflowBundle


@dataclass
class EditTarget:
    user: User
    proposal: Proposal
    assessment: Assessment
    bundle: WorkflowBundle


def open_for_edit(
    uow: UnitOfWork, caller: Caller, proposal_id: int, expected_version: int | None, doing: str
) -> EditTarget:
    uow.audit.actor, maybe_user = actor_for(uow.repos, caller)
    user = require_named_user(maybe_user, doing)
    proposal = load_proposal(uow.repos, proposal_id, user, for_update=True)
    uow.check_version(proposal, expected_version)
    role = require(
        uow.repos, user, proposal.organisation_id, proposal.body_id, EDIT_ASSESSMENT, doing
    )
    uow.audit.role = role.value if role else None
    bundle, _ = stored_bundle(uow.repos, proposal.workflow_name, proposal.workflow_version)
    state = bundle.workflow.state(proposal.state)
    if not state.editable:
        editable = [s.title for s in bundle.workflow.states if s.editable]
        closed = Text(
            N_(
                "The assessment cannot be edited in the proposal's present step (%(state)s); "
                "it can be edited in: %(states)s."
            ),
            {
                **per_language("state", state.title.model_dump()),
                **per_language(
                    "states",
                    {lang: ", ".join(t.get(lang) for t in editable) for lang in LANGUAGE_CODES},
                ),
            },
        )
        raise InvalidInput(closed, [Problem.of("state", closed)])
    assessment = uow.repos.assessment(proposal.id, proposal.revision)
    if assessment is None:  # pragma: no cover - created with every revision
        raise NotFound(no_assessment(proposal.id))
    return EditTarget(user, proposal, assessment, bundle)


def commit_edit(uow: UnitOfWork, target: EditTarget) -> None:
    """Commit an edit. A real change to the assessment bumps the proposal's row version (the
    proposal is the aggregate the version guards); an edit that changed nothing leaves it."""
    uow.session.flush()
    if uow.audit.pending:
        target.proposal.touch()
    uow.commit()
