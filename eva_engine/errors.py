"""Errors a person can act on. Every message says what is wrong and where."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


def N_(template: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Marks an English message template (the message id) for the translation catalogs. Every
    error the engine raises carries one as ``Text``; whoever shows it (the web UI, the API, the
    command line) translates it into the reader's language (``eva_engine.rendering.messages``)."""
    return template


LANGUAGE_CODES = ("fi", "sv", "en")


def per_language(name: str, texts: Mapping[str, str]) -> dict[str, str | int]:
    """A placeholder whose value is written in each language (a definition's title, a list of
    choices by their labels): ``name`` holds the English text (what ``str()`` shows), and
    ``name_fi``, ``name_sv``, ``name_en`` the text each reader gets."""
    english = texts.get("en") or texts.get("fi") or ""
    return {
        name: english,
        **{f"{name}_{lang}": texts.get(lang) or english for lang in LANGUAGE_CODES},
    }


@dataclass(frozen=True)
class Text:
    """A message as a translatable template (``%(name)s`` placeholders) and its values."""

    template: str
    params: Mapping[str, str | int] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template % dict(self.params) if self.params else self.template


class EvaError(Exception):
    """Base of every error the engine raises on purpose (never a bug)."""

    code = "error"

    def __init__(self, message: str | Text, *, text: Text | None = None) -> None:
        if isinstance(message, Text):
            text = text or message
        english = str(message)
        super().__init__(english)
        self.message = english  # in English (logs; the text of the exception)
        self.text = text  # the message id and its values, translated where it is shown

    def details(self) -> list[str]:
        return []


class ConfigurationError(EvaError):
    code = "configuration"


class NotFound(EvaError):
    code = "not_found"


class PermissionDenied(EvaError):
    code = "permission_denied"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located by a path such as ``answers[3].direction``.

    ``where`` and ``what`` carry the location and the message as translatable ``Text`` where the
    engine knows them (guards, completeness); ``location`` and ``message`` are their English."""

    location: str
    message: str
    where: Text | None = None
    what: Text | None = None

    @classmethod
    def of(cls, location: str, what: Text, where: Text | None = None) -> Problem:
        """A problem whose message (and, given ``where``, location) people read translated."""
        return cls(str(where) if where and not location else location, str(what), where, what)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class InvalidInput(EvaError):
    """Input that cannot be accepted; lists every problem, not just the first."""

    code = "invalid_input"

    def __init__(
        self, message: str | Text, problems: Sequence[Problem] = (), *, text: Text | None = None
    ) -> None:
        super().__init__(message, text=text)
        self.problems = list(problems)

    def details(self) -> list[str]:
        return [str(p) for p in self.problems]

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        return self.message + "\n" + "\n".join(f"  - {p}" for p in self.problems)


class DefinitionError(InvalidInput):
    """A workflow or checklist definition file is invalid."""

    code = "invalid_definition"


class TransitionNotAllowed(EvaError):
    """The trigger does not exist in the proposal's current state."""

    code = "transition_not_allowed"


class GuardFailed(InvalidInput):
    """A transition's guards found missing items; each is named."""

    code = "guard_failed"


class Unavailable(EvaError):
    """The database cannot be reached or stays locked; nothing was changed."""

    code = "unavailable"


class Conflict(EvaError):
    """Someone else changed the record since the caller read it."""

    code = "conflict"


class Contended(Conflict):
    """Another transaction held what this one needed at the same moment (a deadlock, a
    serialisation failure, a lock not granted in time): nothing was changed; the same request
    sent again is expected to succeed. Entry points retry it a few times before reporting it."""

    def __init__(self, message: str | None = None, *, text: Text | None = None) -> None:
        super().__init__(
            message or "someone else was saving at the same moment; nothing was changed, try again",
            text=text or Text(N_("Someone else was saving at the same moment; try again.")),
        )
