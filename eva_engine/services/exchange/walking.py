"""Walking many proposals through their workflow in one go (a bulk load, the generated year):
the steps a person takes one at a time — workflow steps, the screening, the assessment
document — given per proposal, checked by the same rules and written in bulk
(``db.bulk_walk``): the same rows and the same audit events as the interactive path, a few
dozen statements per batch instead of a dozen per step.

Only the shell operator or an administrator of the organisation loads in bulk; each step
still needs its own actor's role for the proposal, as it would interactively."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eva_engine.db import bulk_walk
from eva_engine.db.bulk_walk import WalkCache, WalkResult
from eva_engine.errors import N_, NotFound, PermissionDenied, Text
from eva_engine.services.access import actor_for, no_organisation
from eva_engine.services.assessment.documents import AssessmentDocument, document_problems
from eva_engine.services.assessment.screening import RecordScreening, screening_problems
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import Role
from eva_engine.workflow.definition import WorkflowBundle

__all__ = ["DocumentStep", "FireStep", "ScreenStep", "WalkCache", "WalkResult", "walk_proposals"]


@dataclass(frozen=True)
class FireStep:
    actor: str
    trigger: str
    reason: str | None = None


@dataclass(frozen=True)
class ScreenStep:
    actor: str
    screening: RecordScreening  # its proposal_id is the plan's


@dataclass(frozen=True)
class DocumentStep:
    actor: str
    document: AssessmentDocument


WalkStep = FireStep | ScreenStep | DocumentStep


def _screen(step: ScreenStep) -> bulk_walk.Screen:
    cmd = step.screening
    return bulk_walk.Screen(
        step.actor,
        {
            "outcome": cmd.outcome,
            "criteria": sorted(set(cmd.criteria)),
            "exemption": cmd.exemption,
            "reason": (cmd.reason or "").strip() or None,
            "participation_plan": (cmd.participation_plan or "").strip() or None,
        },
        check=lambda bundle: screening_problems(cmd, bundle),
    )


def _document(step: DocumentStep) -> bulk_walk.Document:
    doc = step.document
    return bulk_walk.Document(
        step.actor,
        summary=doc.summary,
        alternatives=[
            {
                "position": a.position,
                "title": a.title,
                "description": a.description,
                "chosen": a.chosen,
            }
            for a in doc.alternatives
        ],
        answers=[
            {
                "alternative": n.alternative,
                "question_id": n.question,
                "direction": n.direction,
                "magnitude": n.magnitude,
                "duration": n.duration,
                "certainty": n.certainty,
                "evidence_source": n.evidence_source,
                "affected_groups": sorted(g.value for g in n.affected_groups),
                "justification": n.justification,
            }
            for n in doc.answers
        ],
        mitigations=[
            {
                "alternative": m.alternative,
                "question_id": m.question,
                "description": m.description,
                "responsible": m.responsible,
            }
            for m in doc.mitigations
        ],
        indicators=[
            {
                "name": i.name,
                "source": i.source,
                "responsible": i.responsible,
                "due": i.due,
                "question_id": i.question,
            }
            for i in doc.follow_up_indicators
        ],
        check=lambda bundle: document_problems(doc, bundle),
    )


def walk_proposals(
    eva: Eva,
    caller: Caller,
    organisation: str,
    plan: Sequence[tuple[int, Sequence[WalkStep]]],
    *,
    cache: WalkCache | None = None,
) -> WalkResult:
    """Take each proposal's steps in order, in one unit of work: all of them, or none (the
    first step refused names its proposal). ``caller.client`` is what the history records."""
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        org = repos.organisation_by_code(organisation)
        if org is None or (user is not None and not repos.holds_any_role(user.id, org.id)):
            raise NotFound(no_organisation(organisation))
        if user is not None and not any(
            g.role == Role.ADMIN and g.organisation_id == org.id for g in repos.grants(user.id)
        ):
            raise PermissionDenied(
                Text(
                    N_("Only an administrator of %(organisation)s can walk proposals in bulk."),
                    {"organisation": org.code},
                )
            )
        bundles: dict[tuple[str, int], tuple[WorkflowBundle, str]] = {}

        def bundle_of(name: str, version: int) -> tuple[WorkflowBundle, str]:
            if (name, version) not in bundles:
                bundles[(name, version)] = stored_bundle(repos, name, version)
            return bundles[(name, version)]

        steps: list[tuple[int, list[bulk_walk.Step]]] = []
        for proposal_id, wanted in plan:
            made: list[bulk_walk.Step] = []
            for step in wanted:
                if isinstance(step, FireStep):
                    made.append(bulk_walk.Fire(step.actor, step.trigger, step.reason))
                elif isinstance(step, ScreenStep):
                    made.append(_screen(step))
                else:
                    made.append(_document(step))
            steps.append((proposal_id, made))
        result = bulk_walk.walk(
            repos.session,
            org,
            steps,
            client=caller.client,
            bundles=bundle_of,
            confirmed=caller.confirmed,
            cache=cache,
        )
        uow.commit()
        return result
