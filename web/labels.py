"""How the audit history reads to people: event types, field names and stored values in the
user's language (the values' labels are the engine's one table, ``eva_engine.rendering.labels``).
Unknown names fall back to the stored name, so nothing is ever hidden."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

from eva_engine.rendering.labels import MEETING_OUTCOMES, SCREENING
from web.i18n import outcome_name, publicity_name, role_name, screening_name, text, vocabulary

ENTITIES = {
    "proposal": _l("Proposal"),
    "screening": _l("Screening"),
    "assessment": _l("Assessment"),
    "alternative": _l("Alternative"),
    "answer": _l("Answer"),
    "mitigation": _l("Mitigation"),
    "follow_up_indicator": _l("Follow-up indicator"),
    "indicator_follow_up": _l("Follow-up"),
    "assignment": _l("Task"),
    "user": _l("User"),
    "role_grant": _l("Role"),
    "definition": _l("Workflow definition"),
    "organisation": _l("Organisation"),
    "body": _l("Body"),
    "meeting": _l("Meeting"),
    "api_token": _l("API token"),
    "webhook": _l("Webhook"),
    "proposal_text": _l("Text of the minutes"),
}

OPERATIONS = {
    "create": _l("created"),
    "update": _l("changed"),
    "delete": _l("removed"),
}

# Events that are not plain row changes.
SPECIAL = {
    "proposal.transition": _l("Workflow step"),
    "proposal.read": _l("Confidential proposal read"),
    "proposal.history_read": _l("Confidential history read"),
    "audit.read": _l("Audit history browsed"),
    "audit.chain_verified": _l("Audit chain verified"),
    "report.internal_read": _l("Internal report opened or exported"),
    "report.disclosed": _l("Confidential proposal shown in an internal report"),
    "user.login": _l("Logged in"),
    "user.login_failed": _l("Failed login"),
    "user.logout": _l("Logged out"),
    "indicator_follow_up.record": _l("Follow-up result recorded"),
    "indicator_follow_up.waive": _l("Follow-up waived"),
}

FIELDS = {
    "state": _l("State"),
    "case_number": _l("Case number"),
    "title_fi": _l("Title in Finnish"),
    "title_sv": _l("Title in Swedish"),
    "title": _l("Title"),
    "description": _l("Description"),
    "body_id": _l("Body"),
    "meeting_id": _l("Meeting"),
    "preparer_id": _l("Preparer"),
    "presenter_id": _l("Presenter"),
    "publicity": _l("Publicity"),
    "confidentiality_ground": _l("Legal ground for confidentiality"),
    "outcome": _l("Outcome"),
    "revision": _l("Revision"),
    "section_number": _l("Section"),
    "section_year": _l("Section year"),
    "agenda_position": _l("Agenda position"),
    "criteria": _l("Criteria that applied"),
    "exemption": _l("Exemption"),
    "reason": _l("Reason"),
    "participation_plan": _l("Participation and communication plan"),
    "position": _l("Alternative number"),
    "chosen": _l("Chosen"),
    "question_id": _l("Question"),
    "alternative_id": _l("Alternative"),
    "direction": _l("Direction"),
    "magnitude": _l("Magnitude"),
    "duration": _l("Duration"),
    "certainty": _l("Certainty"),
    "evidence_source": _l("Evidence"),
    "affected_groups": _l("Affected groups"),
    "justification": _l("Justification"),
    "responsible": _l("Responsible"),
    "name": _l("Name"),
    "source": _l("Source"),
    "due": _l("Due"),
    "kind": _l("Kind"),
    "assignee_id": _l("Assignee"),
    "roles": _l("Roles"),
    "closed_at": _l("Closed"),
    "username": _l("Username"),
    "full_name": _l("Name"),
    "email": _l("Email"),
    "language": _l("Language"),
    "password_hash": _l("Password"),
    "active": _l("Active"),
    "role": _l("Role"),
    "summary": _l("Summary"),
    "verified": _l("Events verified"),
    "ok": _l("Intact"),
    "first_bad_seq": _l("First bad event"),
    "problem": _l("Problem"),
    "year": _l("Year"),
    "contains_personal_data": _l("Contains personal data"),
    "created_at": _l("Created"),
    "recorded_at": _l("Recorded"),
    "recorded_by_id": _l("Recorded by"),
    "granted_at": _l("Granted"),
    "revoked_at": _l("Revoked"),
    "expires_at": _l("Expires"),
    "external_ref": _l("Id in the case-management system"),
    "source_system": _l("Case-management system"),
    "workflow_name": _l("Workflow"),
    "workflow_version": _l("Workflow version"),
    "scopes": _l("Scopes"),
    "url": _l("Address"),
    "kinds": _l("Kinds"),
    "starts_at": _l("Starts at"),
    "location": _l("Place"),
    "code": _l("Code"),
    "name_fi": _l("Name in Finnish"),
    "name_sv": _l("Name in Swedish"),
    "password_changed_at": _l("Password changed"),
    "indicator_id": _l("Follow-up indicator"),
    "responsible_id": _l("Responsible"),
    "value": _l("Measured value"),
    "measured_on": _l("Measured on"),
    "source_kind": _l("Source"),
    "source_reference": _l("Reference in the source"),
    "note": _l("Note"),
    "waive_reason": _l("Why is it not followed up?"),
    "settled_by_id": _l("Settled by"),
    "settled_at": _l("Settled"),
    "content": _l("Text"),
    "written_by_id": _l("Written by"),
}

# Keys and hashes that mean nothing to a reader of the history (they stay in the stored event).
TECHNICAL = frozenset(
    {
        "id",
        "organisation_id",
        "proposal_id",
        "assessment_id",
        "workflow_hash",
        "content_hash",
        "prefix",
        "session_epoch",
    }
)


def action_label(action: str) -> str:
    if action in SPECIAL:
        return str(SPECIAL[action])
    entity, _, operation = action.partition(".")
    if entity in ENTITIES and operation in OPERATIONS:
        return f"{ENTITIES[entity]}: {OPERATIONS[operation]}"
    return action


def action_choices() -> list[tuple[str, str]]:
    """(action, label) for the audit page's event type filter."""
    actions = list(SPECIAL) + [f"{e}.{o}" for e in ENTITIES for o in OPERATIONS]
    return sorted(((a, action_label(a)) for a in actions), key=lambda pair: pair[1])


def field_label(name: str) -> str:
    return str(FIELDS.get(name, name))


ASSIGNMENT_STATES = {
    "open": _l("open"),
    "done": _l("done"),
    "reassigned": _l("reassigned"),
    "cancelled": _l("cancelled"),
}


def _state_title(state: str) -> str:
    """A workflow state's title, or a task's state."""
    eva = current_app.extensions["eva"]
    for bundle in eva.catalogue.bundles.values():
        for candidate in bundle.workflow.states:
            if candidate.id == state:
                return text(candidate.title)
    return str(ASSIGNMENT_STATES.get(state, state))


def field_value(name: str, value: Any, names: dict[str, dict[str, str]] | None = None) -> str:
    """A stored value as people read it (``names``: what ids stand for, by field)."""
    if value is None or value in ("", []):
        return "–"
    if names and isinstance(value, int) and str(value) in names.get(name, {}):
        return names[name][str(value)]
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    if isinstance(value, list):
        return ", ".join(_string_value(name, str(v)) for v in value)
    if isinstance(value, str):
        return _string_value(name, value)
    return str(value)


def _timestamp(value: str) -> str:
    try:
        return str(format_datetime(datetime.fromisoformat(value)))
    except ValueError:
        return value


VOCABULARY_FIELDS = {
    "direction": lambda v: vocabulary("direction", v),
    "magnitude": lambda v: vocabulary("magnitude", v),
    "duration": lambda v: vocabulary("duration", v),
    "certainty": lambda v: vocabulary("certainty", v),
    "affected_groups": lambda v: vocabulary("group", v),
    "publicity": publicity_name,
    "role": role_name,
    "roles": role_name,
    "state": _state_title,
}


def _string_value(name: str, value: str) -> str:
    if name in VOCABULARY_FIELDS:
        return str(VOCABULARY_FIELDS[name](value))
    if name == "outcome" and value in SCREENING:
        return screening_name(value)
    if name == "outcome" and value in MEETING_OUTCOMES:
        return outcome_name(value)
    if name.endswith("_at"):
        return _timestamp(value)
    return value


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """The fields an event changed: all of a created or removed record, else those that differ."""
    before, after = before or {}, after or {}
    names = [n for n in dict.fromkeys([*after, *before]) if n not in TECHNICAL]
    if not before or not after:
        # A record created or removed: the fields it had, not the empty ones.
        values = after or before
        return [n for n in names if values.get(n) not in (None, "", [], False)]
    return [n for n in names if before.get(n) != after.get(n)]
