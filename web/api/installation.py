"""The installation through /api/v1: the published workflow versions and publishing the new
ones of the definitions folder (any administrator: definitions are shared), and the audit
chain of the token user's organisation (its auditors and administrators): walk it and
record the check, or read the last recorded check. They call the services of the web UI and
the command line (services/definitions, services/history/trail)."""

from __future__ import annotations

from flask import current_app
from pydantic import BaseModel

from eva_engine.config import Settings
from eva_engine.rendering.messages import problem_text
from eva_engine.services import definitions
from eva_engine.services.history import checkpoints, trail
from web.api.framework import Call, Reply, api_route
from web.api.problems import api_language
from web.runtime import eva


class WorkflowList(BaseModel):
    items: list[definitions.PublishedVersion]


class PublishResult(BaseModel):
    published: list[str]
    unchanged: list[str]
    items: list[definitions.PublishedVersion]


class LastCheck(BaseModel):
    check: trail.ChainCheck | None


def _spoken(check: trail.ChainCheck | None) -> trail.ChainCheck | None:
    """The check with its ``problem`` in the request's language (``Accept-Language``); its
    ``code`` says which problem whatever the language."""
    if check is None or check.issue is None:
        return check
    return check.model_copy(update={"problem": problem_text(check.issue, api_language())})


@api_route(
    "GET",
    "/workflows",
    summary="Published workflow versions",
    tag="installation",
    response=WorkflowList,
)
def list_workflows(call: Call) -> Reply:
    """Every published version with the number of proposals on it (administrators)."""
    return Reply(WorkflowList(items=definitions.published_versions(eva(), call.caller)))


@api_route(
    "POST",
    "/workflows/publish",
    summary="Publish the workflow versions",
    tag="installation",
    response=PublishResult,
    body=None,
)
def publish_workflows(call: Call) -> Reply:
    """Publish every version of the definitions folder not yet published (an administrator); a
    published version whose file now says something else is refused (409): raise its
    version."""
    report = definitions.publish(eva(), call.caller)
    return Reply(
        PublishResult(
            published=report.published,
            unchanged=report.unchanged,
            items=definitions.published_versions(eva(), call.caller),
        )
    )


@api_route(
    "POST",
    "/audit/verify",
    summary="Verify the audit chain",
    tag="audit",
    response=trail.ChainCheck,
)
def verify_audit_chain(call: Call) -> Reply:
    """Walk the tamper-evident history of the token user's organisation end to end and record
    the result in it (its auditors and administrators). ``ok`` false names the first event
    that does not verify."""
    return Reply(_spoken(trail.verify_and_record(eva(), call.caller)))


@api_route(
    "GET", "/audit/verify", summary="The last audit chain check", tag="audit", response=LastCheck
)
def last_audit_check(call: Call) -> Reply:
    """The latest recorded walk of the organisation's chain (null: none yet)."""
    return Reply(LastCheck(check=_spoken(trail.last_chain_check(eva(), call.caller))))


class CheckpointResult(BaseModel):
    """The signed checkpoint to keep outside eva, or (``checkpoint`` null) why none was made:
    the chain does not verify (``problem``)."""

    verified: int
    ok: bool
    first_bad_seq: int | None
    problem: str | None  # in the request's language
    code: str | None = None  # which problem, for programs (stable)
    checkpoint: checkpoints.Checkpoint | None


@api_route(
    "POST",
    "/audit/checkpoints",
    summary="Make an audit checkpoint",
    tag="audit",
    response=CheckpointResult,
)
def make_audit_checkpoint(call: Call) -> Reply:
    """Verify the chain of the token user's organisation and, only if it verifies, sign its
    head with the server's audit key (EVA_AUDIT_KEY; without one 422): keep the checkpoint
    outside eva and give it to ``eva audit verify --checkpoint`` later (its auditors and
    administrators)."""
    settings: Settings = current_app.extensions["eva_settings"]
    made = checkpoints.organisation_checkpoint(
        eva(), call.caller, settings.audit_key, checkpoints.database_label(settings.database_url)
    )
    return Reply(
        CheckpointResult(
            verified=made.chain.verified,
            ok=made.chain.ok,
            first_bad_seq=made.chain.first_bad_seq,
            problem=(
                problem_text(made.chain.issue, api_language())
                if made.chain.issue is not None
                else made.chain.problem
            ),
            code=made.chain.code,
            checkpoint=made.checkpoint,
        )
    )
