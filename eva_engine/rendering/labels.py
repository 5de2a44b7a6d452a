"""The one table of labels: how roles, publicity, attachments' kinds of file, screening
outcomes, meeting outcomes, the controlled vocabularies (directions, magnitudes, durations,
certainty, affected groups) and the audit history (event types, records, fields, stored
values: ``HistoryWords``) read to people. The messages are marked here (``N_``) and
translated by whoever shows them: the engine's renderers in the language of the text they
render, the web UI in the user's language (``web.i18n`` binds ``Labels`` to Flask-Babel). A
value without a label reads as itself, so nothing is ever hidden."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from eva_engine.errors import N_
from eva_engine.localized import LocalizedText
from eva_engine.rendering.language import format_date, format_time
from eva_engine.services.attachments import store
from eva_engine.services.history.trail import ID_FIELDS, HistoryNames
from eva_engine.services.views import HistoryEventView
from eva_engine.vocabulary import NotificationKind
from eva_engine.workflow.definition import WorkflowBundle

ROLES = {
    "preparer": N_("preparer"),
    "expert": N_("expert"),
    "presenter": N_("presenter"),
    "secretary": N_("secretary"),
    "auditor": N_("auditor"),
    "admin": N_("administrator"),
}

PUBLICITY = {
    "public": N_("public"),
    "partly_confidential": N_("partly confidential"),
    "confidential": N_("confidential"),
}

SCREENING = {
    "exempt": N_("no assessment needed"),
    "light": N_("light assessment"),
    "full": N_("full assessment"),
}

MEETING_OUTCOMES = {
    "approved": N_("approved as proposed"),
    "amended": N_("approved as amended"),
    "tabled": N_("tabled"),
    "returned": N_("returned for new preparation"),
    "rejected": N_("rejected"),
    "removed": N_("removed from the agenda"),
}

# The texts of the minutes (``TextKind``), as the proposal page heads them, and the languages
# they (and people) are written in.
TEXT_KINDS = {
    "grounds": N_("Presentation text"),
    "decision_proposal": N_("Decision proposal"),
    "decision": N_("Decision"),
}

LANGUAGES = {
    "fi": N_("Finnish"),
    "sv": N_("Swedish"),
    "en": N_("English"),
}

# The kinds of notification, as the outbox page and `eva outbox` name them.
NOTIFICATION_KINDS = {
    NotificationKind.ASSIGNMENT_MADE: N_("new task"),
    NotificationKind.DUE_SOON: N_("task due soon"),
    NotificationKind.OVERDUE: N_("task overdue"),
    NotificationKind.RETURNED: N_("returned for revision"),
    NotificationKind.SIGNED_OFF: N_("signed off"),
    NotificationKind.OUTCOME_RECORDED: N_("outcome recorded"),
}

# The kinds of file an attachment may be (``services.attachments.store``), as people name them.
MEDIA_TYPES = {
    store.PDF: N_("PDF document"),
    store.PNG: N_("image (PNG)"),
    store.JPEG: N_("image (JPEG)"),
    store.DOCX: N_("Word document"),
    store.XLSX: N_("Excel spreadsheet"),
    store.ODT: N_("OpenDocument text document"),
    store.ODS: N_("OpenDocument spreadsheet"),
    store.TEXT: N_("plain text file"),
    store.CSV: N_("CSV table"),
}

VOCABULARY: dict[str, dict[str, str]] = {
    "direction": {
        "positive": N_("positive"),
        "negative": N_("negative"),
        "none": N_("no impact"),
        "unknown": N_("unknown"),
    },
    "magnitude": {
        "minor": N_("minor"),
        "moderate": N_("moderate"),
        "significant": N_("significant"),
    },
    "duration": {
        "budget_year": N_("budget year"),
        "council_term": N_("council term"),
        "longer": N_("longer"),
    },
    "certainty": {"low": N_("low"), "medium": N_("medium"), "high": N_("high")},
    "group": {
        "children": N_("children"),
        "young_people": N_("young people"),
        "families": N_("families"),
        "working_age": N_("working-age people"),
        "older_people": N_("older people"),
        "disabled_people": N_("disabled people"),
        "low_income": N_("low-income people"),
        "language_culture_groups": N_("language or culture groups"),
        "area": N_("an area"),
        "staff": N_("staff"),
        "businesses": N_("businesses"),
        "all_residents": N_("all residents"),
    },
}


class Labels:
    """The table read through one ``gettext`` (a language's catalog, or the web's current
    language)."""

    def __init__(self, gettext: Callable[[str], str]) -> None:
        self._gettext = gettext

    def gettext(self, message: str) -> str:
        return str(self._gettext(message))

    def label(self, table: Mapping[str, str], value: str) -> str:
        """``value``'s label in ``table``, translated (no label: the value itself)."""
        message = table.get(value)
        return value if message is None else str(self._gettext(message))

    _label = label

    def role_name(self, role: str) -> str:
        return self._label(ROLES, role)

    def publicity_name(self, value: str) -> str:
        return self._label(PUBLICITY, value)

    def media_type_name(self, media_type: str) -> str:
        """An attachment's kind of file (``application/pdf``: a PDF document)."""
        return self._label(MEDIA_TYPES, media_type)

    def screening_name(self, value: str) -> str:
        return self._label(SCREENING, value)

    def outcome_name(self, value: str) -> str:
        """A meeting's outcome (``approved``, ``tabled``...)."""
        return self._label(MEETING_OUTCOMES, value)

    def text_kind_name(self, value: str) -> str:
        """A text of the minutes (``grounds``, ``decision_proposal``, ``decision``)."""
        return self._label(TEXT_KINDS, value)

    def language_name(self, value: str) -> str:
        """A language by its code (``fi``: Finnish...)."""
        return self._label(LANGUAGES, value)

    def vocabulary(self, kind: str, value: str) -> str:
        """The label of a controlled vocabulary value (``direction``, ``group``...)."""
        return self._label(VOCABULARY.get(kind, {}), value)


# The audit history ------------------------------------------------------------------------------
ENTITIES = {
    "proposal": N_("Proposal"),
    "screening": N_("Screening"),
    "assessment": N_("Assessment"),
    "alternative": N_("Alternative"),
    "answer": N_("Answer"),
    "mitigation": N_("Mitigation"),
    "follow_up_indicator": N_("Follow-up indicator"),
    "indicator_follow_up": N_("Follow-up"),
    "assignment": N_("Task"),
    "user": N_("User"),
    "role_grant": N_("Role"),
    "definition": N_("Workflow definition"),
    "organisation": N_("Organisation"),
    "body": N_("Body"),
    "meeting": N_("Meeting"),
    "api_token": N_("API token"),
    "webhook": N_("Webhook"),
    "proposal_text": N_("Text of the minutes"),
    "review_comment": N_("Review comment"),
    "review_comment_reply": N_("Reply to a review comment"),
    "attachment": N_("Attachment"),
}

OPERATIONS = {
    "create": N_("created"),
    "update": N_("changed"),
    "delete": N_("removed"),
}

# Events that are not plain row changes.
SPECIAL = {
    "proposal.transition": N_("Workflow step"),
    "proposal.read": N_("Confidential proposal read"),
    "proposal.history_read": N_("Confidential history read"),
    "audit.read": N_("Audit history browsed"),
    "audit.chain_verified": N_("Audit chain verified"),
    "report.internal_read": N_("Internal report opened or exported"),
    "report.disclosed": N_("Confidential proposal shown in an internal report"),
    "user.login": N_("Logged in"),
    "user.login_failed": N_("Failed login"),
    "user.logout": N_("Logged out"),
    "indicator_follow_up.record": N_("Follow-up result recorded"),
    "indicator_follow_up.waive": N_("Follow-up waived"),
    "review_comment.resolve": N_("Review comment resolved"),
    "attachment.remove": N_("Attachment removed"),
    "attachment.download": N_("Non-public attachment downloaded"),
}

FIELDS = {
    "state": N_("State"),
    "trigger": N_("Step"),
    "case_number": N_("Case number"),
    "title_fi": N_("Title in Finnish"),
    "title_sv": N_("Title in Swedish"),
    "title": N_("Title"),
    "description": N_("Description"),
    "body_id": N_("Body"),
    "meeting_id": N_("Meeting"),
    "preparer_id": N_("Preparer"),
    "presenter_id": N_("Presenter"),
    "publicity": N_("Publicity"),
    "confidentiality_ground": N_("Legal ground for confidentiality"),
    "outcome": N_("Outcome"),
    "revision": N_("Revision"),
    "section_number": N_("Section"),
    "section_year": N_("Section year"),
    "agenda_position": N_("Agenda position"),
    "criteria": N_("Criteria that applied"),
    "exemption": N_("Exemption"),
    "reason": N_("Reason"),
    "participation_plan": N_("Participation and communication plan"),
    "position": N_("Alternative number"),
    "chosen": N_("Chosen"),
    "question_id": N_("Question"),
    "alternative_id": N_("Alternative"),
    "direction": N_("Direction"),
    "magnitude": N_("Magnitude"),
    "duration": N_("Duration"),
    "certainty": N_("Certainty"),
    "evidence_source": N_("Evidence"),
    "affected_groups": N_("Affected groups"),
    "justification": N_("Justification"),
    "responsible": N_("Responsible"),
    "name": N_("Name"),
    "source": N_("Source"),
    "due": N_("Due"),
    "kind": N_("Kind"),
    "assignee_id": N_("Assignee"),
    "roles": N_("Roles"),
    "closed_at": N_("Closed"),
    "username": N_("Username"),
    "full_name": N_("Name"),
    "email": N_("Email"),
    "language": N_("Language"),
    "password_hash": N_("Password"),
    "active": N_("Active"),
    "role": N_("Role"),
    "summary": N_("Summary"),
    "verified": N_("Events verified"),
    "ok": N_("Intact"),
    "first_bad_seq": N_("First bad event"),
    "problem": N_("Problem"),
    "year": N_("Year"),
    "contains_personal_data": N_("Contains personal data"),
    "created_at": N_("Created"),
    "recorded_at": N_("Recorded"),
    "recorded_by_id": N_("Recorded by"),
    "user_id": N_("User"),
    "granted_at": N_("Granted"),
    "revoked_at": N_("Revoked"),
    "expires_at": N_("Expires"),
    "external_ref": N_("Id in the case-management system"),
    "source_system": N_("Case-management system"),
    "workflow_name": N_("Workflow"),
    "workflow_version": N_("Workflow version"),
    "scopes": N_("Scopes"),
    "url": N_("Address"),
    "kinds": N_("Kinds"),
    "starts_at": N_("Starts at"),
    "location": N_("Place"),
    "code": N_("Code"),
    "name_fi": N_("Name in Finnish"),
    "name_sv": N_("Name in Swedish"),
    "password_changed_at": N_("Password changed"),
    "indicator_id": N_("Follow-up indicator"),
    "responsible_id": N_("Responsible"),
    "value": N_("Measured value"),
    "measured_on": N_("Measured on"),
    "source_kind": N_("Source"),
    "source_reference": N_("Reference in the source"),
    "note": N_("Note"),
    "waive_reason": N_("Why is it not followed up?"),
    "settled_by_id": N_("Settled by"),
    "settled_at": N_("Settled"),
    "content": N_("Text"),
    "written_by_id": N_("Written by"),
    "target_kind": N_("Comment on"),
    "target_key": N_("Question or impact area"),
    "text": N_("Comment"),
    "author_id": N_("Author"),
    "status": N_("Status"),
    "resolved_by_id": N_("Resolved by"),
    "resolved_at": N_("Resolved"),
    "file_name": N_("File name"),
    "media_type": N_("Type"),
    "size": N_("Size"),
    "area": N_("Impact area"),
    "uploaded_by_id": N_("Uploaded by"),
    "uploaded_at": N_("Uploaded"),
    "removed": N_("Removed"),
}

COMMENT_TARGETS = {
    "question": N_("a question"),
    "area": N_("an impact area"),
    "assessment": N_("the whole assessment"),
}

COMMENT_STATUSES = {
    "open": N_("open"),
    "resolved": N_("resolved"),
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
        "after_seq",
        "comment_id",
        "sha256",
    }
)

BODY_KINDS = {
    "council": N_("council"),
    "executive_board": N_("executive board"),
    "committee": N_("committee"),
    "subcommittee": N_("subcommittee"),
    "office_holder": N_("office holder"),
}

ORGANISATION_KINDS = {
    "municipality": N_("municipality"),
    "wellbeing_county": N_("wellbeing services county"),
}

ASSIGNMENT_STATES = {
    "open": N_("open"),
    "done": N_("done"),
    "reassigned": N_("reassigned"),
    "cancelled": N_("cancelled"),
}

_VOCABULARY_FIELDS = {
    "direction": "direction",
    "magnitude": "magnitude",
    "duration": "duration",
    "certainty": "certainty",
    "affected_groups": "group",
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@dataclass(frozen=True)
class Glossary:
    """The titles the workflow and checklist definitions give their ids (states, steps, task
    kinds, screening criteria and exemptions, impact areas, questions); of an id in several
    bundles, the last bundle's title."""

    states: dict[str, LocalizedText] = field(default_factory=dict)
    triggers: dict[str, LocalizedText] = field(default_factory=dict)
    kinds: dict[str, LocalizedText] = field(default_factory=dict)
    choices: dict[str, LocalizedText] = field(default_factory=dict)
    areas: dict[str, LocalizedText] = field(default_factory=dict)
    questions: dict[str, LocalizedText] = field(default_factory=dict)
    question_areas: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, bundles: Iterable[WorkflowBundle]) -> Glossary:
        glossary = cls()
        for bundle in bundles:
            flow = bundle.workflow
            glossary.states.update({s.id: s.title for s in flow.states})
            glossary.triggers.update({t.trigger: t.title for t in flow.transitions})
            glossary.kinds.update({k.id: k.title for k in flow.task_kinds})
            screening = flow.screening
            glossary.choices.update({c.id: c.text for c in screening.criteria})
            glossary.choices.update({c.id: c.text for c in screening.exemptions})
            for checklist in bundle.checklists:
                for area, _, question in checklist.questions():
                    glossary.areas[area.id] = area.title
                    glossary.questions[question.id] = question.text
                    glossary.question_areas[question.id] = area.id
        return glossary


class HistoryWords:
    """A page of history as people read it in one language: event types, records, fields and
    stored values by their titles and names (``names``: what the page's ids stand for), time
    stamps as the language writes them. An id without a title reads as itself, so nothing is
    ever hidden."""

    def __init__(self, labels: Labels, language: str, names: HistoryNames) -> None:
        self.labels = labels
        self.language = language
        self.names = names
        self.glossary = Glossary.of(names.bundles)

    def _(self, message: str) -> str:
        return self.labels.gettext(message)

    def _title(self, table: Mapping[str, LocalizedText], key: str) -> str:
        found = table.get(key)
        return found.get(self.language) if found is not None else key

    # events
    def action(self, action: str) -> str:
        if action in SPECIAL:
            return self._(SPECIAL[action])
        entity, _, operation = action.partition(".")
        if entity in ENTITIES and operation in OPERATIONS:
            return f"{self._(ENTITIES[entity])}: {self._(OPERATIONS[operation])}"
        return action

    def actor(self, event: HistoryEventView) -> str:
        if event.actor_id is not None and event.actor_id in self.names.people:
            return self.names.people[event.actor_id]
        return event.actor

    def time(self, value: datetime) -> str:
        return format_time(value, self.language)

    def proposal(self, proposal_id: int | None) -> str:
        """A proposal by its case number and title (empty for none)."""
        found = self.names.proposals.get(proposal_id) if proposal_id is not None else None
        if found is None:
            return ""
        title = (found.title_sv if self.language == "sv" else None) or found.title_fi
        return f"{found.case_number} {title}"

    def entity(self, event: HistoryEventView) -> str:
        """The record an event is about: its kind and what it is (never its id)."""
        kind, _, raw = event.entity.partition(":")
        label = self._(ENTITIES[kind]) if kind in ENTITIES else kind
        what = self._describe(kind, raw, self.names.records.get(event.entity, {}))
        return f"{label}: {what}" if what else label

    def _describe(self, kind: str, raw: str, record: dict[str, Any]) -> str:
        number = int(raw) if raw.isascii() and raw.isdigit() else None
        describe = self._DESCRIBE.get(kind)
        if describe is not None:
            return describe(self, number, record)
        for key in ("name", "code", "title", "url"):
            if record.get(key):
                return str(record[key])
        return ""

    def _person(self, user: Any) -> str:
        return self.names.people.get(user, "") if isinstance(user, int) else ""

    def _answer(self, _: int | None, record: dict[str, Any]) -> str:
        parts = [
            self.question(record.get("question_id")),
            self.value("alternative_id", record.get("alternative_id")),
        ]
        return ", ".join(p for p in parts if p and p != "–")

    def _assignment(self, _: int | None, record: dict[str, Any]) -> str:
        if not record.get("kind"):
            return ""
        kind_title = self._title(self.glossary.kinds, str(record["kind"]))
        person = self._person(record.get("assignee_id"))
        return f"{kind_title} ({person})" if person else kind_title

    def _grant(self, _: int | None, record: dict[str, Any]) -> str:
        role = self.labels.role_name(str(record["role"])) if record.get("role") else ""
        person = self._person(record.get("user_id"))
        return f"{person} ({role})" if person and role else person or role

    def _definition(self, _: int | None, record: dict[str, Any]) -> str:
        if not record.get("name"):
            return ""
        return f"{record['name']} v{record.get('version', '')}".strip()

    def _text(self, _: int | None, record: dict[str, Any]) -> str:
        """A text of the minutes by its kind and language: "Esittelyteksti (suomi)"."""
        kind = self.labels.text_kind_name(str(record["kind"])) if record.get("kind") else ""
        language = record.get("language")
        if kind and language:
            return f"{kind} ({self.labels.language_name(str(language))})"
        return kind

    def _assessment(self, _: int | None, record: dict[str, Any]) -> str:
        revision = record.get("revision")
        return f"{self._('revision')} {revision}" if revision else ""

    _DESCRIBE: ClassVar[dict[str, Callable[[HistoryWords, int | None, dict[str, Any]], str]]] = {
        "proposal": lambda w, n, _: w.proposal(n),
        "answer": _answer,
        "mitigation": lambda w, _, r: w.question(r.get("question_id")),
        "alternative": lambda w, n, _: w.names.alternatives.get(n, "") if n else "",
        "assignment": _assignment,
        "role_grant": _grant,
        "user": lambda _, __, r: str(r.get("full_name") or ""),
        "meeting": lambda w, n, _: w.value("meeting_id", n),
        "indicator_follow_up": lambda w, _, r: w.value("indicator_id", r.get("indicator_id")),
        "review_comment": lambda w, _, r: w.value("target_key", r.get("target_key")),
        "definition": _definition,
        "assessment": _assessment,
        "proposal_text": _text,
    }

    # fields and values
    def field(self, name: str) -> str:
        """A field's label (one without a label: its name, in words)."""
        return self._(FIELDS[name]) if name in FIELDS else name.replace("_", " ")

    def fields(self, event: HistoryEventView) -> list[str]:
        """The fields an event changed: all of a created or removed record (not the empty
        ones), else those that differ."""
        return changed_fields(event.before, event.after)

    def question(self, question_id: Any) -> str:
        if not question_id:
            return ""
        return self._title(self.glossary.questions, str(question_id))

    def question_area(self, question_id: Any) -> str | None:
        return self.glossary.question_areas.get(str(question_id)) if question_id else None

    def value(self, name: str, value: Any) -> str:
        """A stored value as people read it."""
        if value is None or value in ("", []):
            return "–"
        if isinstance(value, bool):
            return self._("yes") if value else self._("no")
        if isinstance(value, int) and name in ID_FIELDS:
            return self._named(ID_FIELDS[name], value)
        if isinstance(value, list):
            return ", ".join(self._string(name, str(v)) for v in value)
        if isinstance(value, str):
            return self._string(name, value)
        return str(value)

    def _named(self, kind: str, number: int) -> str:
        names = self.names
        if kind == "user" and number in names.people:
            return names.people[number]
        if kind == "body" and number in names.bodies:
            return names.bodies[number]
        if kind == "meeting" and number in names.meetings:
            meeting = names.meetings[number]
            return f"{meeting.body} {self.time(meeting.starts_at)}"
        if kind == "alternative" and number in names.alternatives:
            return names.alternatives[number]
        if kind == "follow_up_indicator" and number in names.indicators:
            return names.indicators[number]
        return str(number)

    def _string(self, name: str, value: str) -> str:
        if name in _VOCABULARY_FIELDS:
            return self.labels.vocabulary(_VOCABULARY_FIELDS[name], value)
        read = self._STRINGS.get(name)
        if read is not None:
            return read(self, value)
        if name == "outcome" and value in SCREENING:
            return self.labels.screening_name(value)
        if name == "outcome" and value in MEETING_OUTCOMES:
            return self.labels.outcome_name(value)
        return self._when(value)

    def _state(self, value: str) -> str:
        if value in self.glossary.states:
            return self._title(self.glossary.states, value)
        return self.labels.label(ASSIGNMENT_STATES, value)

    def _kind(self, value: str) -> str:
        """A task's kind, a text's of the minutes, a body's or an organisation's."""
        kinds = self.glossary.kinds
        if value in kinds:
            return self._title(kinds, value)
        return self.labels.label(TEXT_KINDS | BODY_KINDS | ORGANISATION_KINDS, value)

    _STRINGS: ClassVar[dict[str, Callable[[HistoryWords, str], str]]] = {
        "role": lambda w, v: w.labels.role_name(v),
        "roles": lambda w, v: w.labels.role_name(v),
        "publicity": lambda w, v: w.labels.publicity_name(v),
        "state": _state,
        "trigger": lambda w, v: w._title(w.glossary.triggers, v),
        "kind": _kind,
        "criteria": lambda w, v: w._title(w.glossary.choices, v),
        "exemption": lambda w, v: w._title(w.glossary.choices, v),
        "question_id": lambda w, v: w.question(v),
        "target_kind": lambda w, v: w.labels.label(COMMENT_TARGETS, v),
        "target_key": lambda w, v: w._target(v),
        "status": lambda w, v: w.labels.label(COMMENT_STATUSES, v),
        "language": lambda w, v: w.labels.language_name(v),
        "media_type": lambda w, v: w.labels.media_type_name(v),
        "area": lambda w, v: w._title(w.glossary.areas, v),
    }

    def _target(self, value: str) -> str:
        """A review comment's question or impact area, by its title."""
        if value in self.glossary.questions:
            return self.question(value)
        return self._title(self.glossary.areas, value)

    def _when(self, value: str) -> str:
        """An ISO 8601 time stamp or date as the language writes it; other text as it is."""
        try:
            if _ISO_TIME.match(value):
                return self.time(datetime.fromisoformat(value))
            if _ISO_DATE.match(value):
                return format_date(date.fromisoformat(value), self.language)
        except ValueError:
            return value
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
