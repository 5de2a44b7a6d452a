"""Reading a proposal's history and verifying that nobody has altered the audit chain."""

from __future__ import annotations

import json

from eva_engine.db.audit import PendingEvent, VerifyResult, verify_chain
from eva_engine.models import AuditEvent
from eva_engine.services.access import actor_for, load_proposal
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import HistoryEventView
from eva_engine.vocabulary import Publicity


def event_view(ev: AuditEvent) -> HistoryEventView:
    return HistoryEventView(
        seq=ev.seq,
        occurred_at=ev.occurred_at,
        actor=ev.actor_name,
        role=ev.actor_role,
        client=ev.client,
        action=ev.action,
        entity=f"{ev.entity_type}:{ev.entity_id}",
        before=json.loads(ev.before) if ev.before else None,
        after=json.loads(ev.after) if ev.after else None,
        reason=ev.reason,
        hash=ev.hash,
    )


def proposal_history(eva: Eva, caller: Caller, proposal_id: int) -> list[HistoryEventView]:
    with eva.uow() as uow:
        uow.audit.actor, user = actor_for(uow.repos, caller)
        proposal = load_proposal(uow.repos, proposal_id, user)
        views = [event_view(ev) for ev in uow.repos.history(proposal_id)]
        if proposal.publicity != Publicity.PUBLIC:
            uow.audit.record(
                PendingEvent(
                    action="proposal.history_read",
                    entity_type="proposal",
                    entity_id=str(proposal.id),
                    organisation_id=proposal.organisation_id,
                    proposal_id=proposal.id,
                    before=None,
                    after=None,
                    reason=None,
                    role=None,
                )
            )
            uow.commit()
        return views


def verify(eva: Eva) -> VerifyResult:
    with eva.uow() as uow:
        return verify_chain(uow.session)
