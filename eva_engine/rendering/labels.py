"""The one table of labels: how roles, publicity, screening outcomes, meeting outcomes and the
controlled vocabularies (directions, magnitudes, durations, certainty, affected groups) read
to people. The messages are marked here (``N_``) and translated by whoever shows them: the
engine's renderers in the language of the text they render, the web UI in the user's
language (``web.i18n`` binds ``Labels`` to Flask-Babel). A value without a label reads as
itself, so nothing is ever hidden."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from eva_engine.errors import N_

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

    def _label(self, table: Mapping[str, str], value: str) -> str:
        message = table.get(value)
        return value if message is None else str(self._gettext(message))

    def role_name(self, role: str) -> str:
        return self._label(ROLES, role)

    def publicity_name(self, value: str) -> str:
        return self._label(PUBLICITY, value)

    def screening_name(self, value: str) -> str:
        return self._label(SCREENING, value)

    def outcome_name(self, value: str) -> str:
        """A meeting's outcome (``approved``, ``tabled``...)."""
        return self._label(MEETING_OUTCOMES, value)

    def vocabulary(self, kind: str, value: str) -> str:
        """The label of a controlled vocabulary value (``direction``, ``group``...)."""
        return self._label(VOCABULARY.get(kind, {}), value)
