"""Errors a person can act on. Every message says what is wrong and where."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class EvaError(Exception):
    """Base of every error the engine raises on purpose (never a bug)."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

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
    """One thing wrong with an input, located by a path such as ``answers[3].direction``."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class InvalidInput(EvaError):
    """Input that cannot be accepted; lists every problem, not just the first."""

    code = "invalid_input"

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
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
