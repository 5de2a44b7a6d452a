"""The limits of what people and systems send in, declared once.

Every text and number field of a service command is one of the named types below (or bounded
where it is declared). The web forms, the API's request models, the OpenAPI document, the CLI
and the case import read their limits from the commands, so the same rule holds on every
channel; docs/limits.md lists them (a test keeps it true).

Texts: Windows line ends (CRLF) count as one character, as browsers count them; a NUL
character or a lone surrogate (which no database stores) is refused. Numbers written as text
take the ASCII digits 0-9 only: Python's ``int()`` (and ``\\d`` in a regular expression) also
read full-width ``１２`` and Arabic-Indic ``١٢`` digits."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from eva_engine.errors import N_, InvalidInput, Problem, Text
from eva_engine.vocabulary import Publicity

MAX_ID = 2**31 - 1  # every id and row version (a 32-bit signed integer on every database)
MAX_DIGITS = 18  # the longest whole number accepted anywhere (2**63 has 19 digits)
MAX_NUMBER_TEXT = 40  # characters of a JSON number with a fraction or an exponent
MAX_JSON_DEPTH = 32  # objects and arrays inside each other

# The limits, in characters. The database columns are at least as wide.
CODE_LENGTH = 40  # an organisation's or a body's code, a state id
USERNAME_LENGTH = 80
CHOICE_LENGTH = 80  # an id from a definition: a criterion, an exemption, a trigger
NAME_LENGTH = 255  # a person's, a body's or an organisation's name; a title of a person; a place
TITLE_LENGTH = 500  # a proposal's or an alternative's title, an indicator's name
CASE_NUMBER_LENGTH = 60
PATTERN_LENGTH = 200  # the regular expression of an organisation's case numbers
LEGAL_GROUND_LENGTH = 500  # salassapitoperuste, e.g. "JulkL 24 § 1 mom. 25 k"
REASON_LENGTH = 2000  # why: a workflow step, an exempt screening, a reassignment
SOURCE_LENGTH = 1000  # where evidence or an indicator's data comes from
RESULT_VALUE_LENGTH = 255  # a follow-up result as measured, e.g. "23,4 %" or "kyllä"
LONG_TEXT_LENGTH = 10_000  # prose: summaries, descriptions, justifications, plans
QUESTION_LENGTH = 160  # a checklist question id
EXTERNAL_ID_LENGTH = 100  # a case's id in the source system
SOURCE_SYSTEM_LENGTH = 40
TOKEN_NAME_LENGTH = 120
EMAIL_LENGTH = 255
PASSWORD_LENGTH = 200  # what the login form takes (a password is hashed, never stored)
DOCUMENT_LENGTH = 100_000  # a text of the minutes: the grounds, a decision proposal, a decision
DATE_TEXT_LENGTH = 40  # a date or a date and time as typed, e.g. "13.6.2023 klo 17.00"

# How many items a list holds at most.
MAX_ALTERNATIVES = 21  # positions 0 (the status quo) to 20
MAX_POSITION = MAX_ALTERNATIVES - 1
MAX_CRITERIA = 50
MAX_ANSWERS = 5000
MAX_MITIGATIONS = 1000
MAX_INDICATORS = 500
MAX_AGENDA_POSITION = 10_000
MAX_SECTION_NUMBER = 100_000

_DIGITS = re.compile(rf"-?[0-9]{{1,{MAX_DIGITS}}}")


def parse_int(text: str | None, *, high: int = MAX_ID) -> int | None:
    """A whole number from 0 to ``high`` in the ASCII digits 0-9, else None."""
    if text is None or not 0 < len(text) <= len(str(high)):
        return None
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= high else None


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool | float):
        raise PydanticCustomError("whole_number", "a whole number written with the digits 0-9")
    if isinstance(value, str):
        if not _DIGITS.fullmatch(value):
            raise PydanticCustomError("whole_number", "a whole number written with the digits 0-9")
        return int(value)
    return value


def _line_ends(value: Any) -> Any:
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def _storable(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("unstorable_text", "contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PydanticCustomError("unstorable_text", "is not valid text") from exc
    return value


_LINES = BeforeValidator(_line_ends)
_STORABLE = AfterValidator(_storable)

# Texts. A required field adds ``Field(min_length=1)`` where it is declared.
Code = Annotated[str, Field(max_length=CODE_LENGTH), _LINES, _STORABLE]
Username = Annotated[str, Field(max_length=USERNAME_LENGTH), _LINES, _STORABLE]
ChoiceId = Annotated[str, Field(max_length=CHOICE_LENGTH), _LINES, _STORABLE]
Name = Annotated[str, Field(max_length=NAME_LENGTH), _LINES, _STORABLE]
Email = Annotated[str, Field(max_length=EMAIL_LENGTH), _LINES, _STORABLE]
Title = Annotated[str, Field(max_length=TITLE_LENGTH), _LINES, _STORABLE]
CaseNumber = Annotated[str, Field(max_length=CASE_NUMBER_LENGTH), _LINES, _STORABLE]
CasePattern = Annotated[str, Field(max_length=PATTERN_LENGTH), _LINES, _STORABLE]
LegalGround = Annotated[str, Field(max_length=LEGAL_GROUND_LENGTH), _LINES, _STORABLE]
Reason = Annotated[str, Field(max_length=REASON_LENGTH), _LINES, _STORABLE]
Source = Annotated[str, Field(max_length=SOURCE_LENGTH), _LINES, _STORABLE]
LongText = Annotated[str, Field(max_length=LONG_TEXT_LENGTH), _LINES, _STORABLE]
QuestionId = Annotated[str, Field(max_length=QUESTION_LENGTH), _LINES, _STORABLE]
ExternalId = Annotated[str, Field(max_length=EXTERNAL_ID_LENGTH), _LINES, _STORABLE]
SourceSystem = Annotated[str, Field(max_length=SOURCE_SYSTEM_LENGTH), _LINES, _STORABLE]
TokenName = Annotated[str, Field(max_length=TOKEN_NAME_LENGTH), _LINES, _STORABLE]
ResultValue = Annotated[str, Field(max_length=RESULT_VALUE_LENGTH), _LINES, _STORABLE]
Document = Annotated[str, Field(max_length=DOCUMENT_LENGTH), _LINES, _STORABLE]

# Numbers: ASCII digits only when written as text, never true/false or a fraction.
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_whole_number)]
Version = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_whole_number)]
Position = Annotated[int, Field(ge=0, le=MAX_POSITION), BeforeValidator(_whole_number)]
AgendaPosition = Annotated[int, Field(ge=1, le=MAX_AGENDA_POSITION), BeforeValidator(_whole_number)]
SectionNumber = Annotated[int, Field(ge=1, le=MAX_SECTION_NUMBER), BeforeValidator(_whole_number)]


# dates as people type them ---------------------------------------------------------------------
FINNISH_TIME = ZoneInfo("Europe/Helsinki")  # a time typed without an offset is Finnish time
_DAY = r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})"  # 13.6.2023, 13.06.2023 (ASCII digits)
_CLOCK = r"([0-9]{1,2})[.:]([0-9]{2})"  # 17.00, 17:00
_FINNISH_DATE = re.compile(_DAY)
_FINNISH_DATETIME = re.compile(rf"{_DAY}(?:\s+(?:klo\s+)?{_CLOCK})?", re.IGNORECASE)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DAY_FINNISH_CLOCK = re.compile(
    rf"([0-9]{{4}})-([0-9]{{2}})-([0-9]{{2}})\s+(?:klo\s+)?{_CLOCK}", re.IGNORECASE
)
_ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
)
DATE_EXAMPLE = "13.6.2023"
DATETIME_EXAMPLE = "13.6.2023 klo 17.00"


EARLIEST_YEAR, LATEST_YEAR = 1900, 2999  # what a person types for a meeting or a measurement


def _not_a_date(text: str, example: str) -> PydanticCustomError:
    return PydanticCustomError(
        "finnish_date", "not a date: write it as {example}", {"example": example, "given": text}
    )


def _read_date(value: str) -> date | None:
    if found := _FINNISH_DATE.fullmatch(value):
        day, month, year = (int(g) for g in found.groups())
        return date(year, month, day)
    if len(value) <= DATE_TEXT_LENGTH and _ISO_DATE.fullmatch(value):
        return date.fromisoformat(value)
    return None


def _read_datetime(value: str) -> datetime | None:
    if found := _FINNISH_DATETIME.fullmatch(value):
        day, month, year, hour, minute = found.groups()
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=FINNISH_TIME
        )
    if found := _ISO_DAY_FINNISH_CLOCK.fullmatch(value):
        year, month, day, hour, minute = (int(g) for g in found.groups())
        return datetime(year, month, day, hour, minute, tzinfo=FINNISH_TIME)
    if len(value) <= DATE_TEXT_LENGTH and _ISO_DATETIME.fullmatch(value):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=FINNISH_TIME)
    return None


def parse_date(text: str) -> date:
    """A date as a Finnish person types it (``13.6.2023``, ``13.06.2023``) or in ISO 8601
    (``2023-06-13``), of the years 1900-2999. Raises ``ValueError`` (a
    ``PydanticCustomError``) naming the form."""
    try:
        found = _read_date(text.strip())
    except ValueError:
        found = None
    if found is None or not EARLIEST_YEAR <= found.year <= LATEST_YEAR:
        raise _not_a_date(text[:DATE_TEXT_LENGTH], DATE_EXAMPLE)
    return found


def parse_datetime(text: str) -> datetime:
    """A date and time as a Finnish person types it (``13.6.2023 17.00``, ``13.6.2023 klo
    17.00``, ``13.6.2023 17:00``; a date alone is its midnight) or in ISO 8601
    (``2023-06-13T17:00+03:00``), of the years 1900-2999. A time without an offset is Finnish
    time (Europe/Helsinki)."""
    try:
        found = _read_datetime(" ".join(text.split()))
    except ValueError:
        found = None
    if found is None or not EARLIEST_YEAR <= found.year <= LATEST_YEAR:
        raise _not_a_date(text[:DATE_TEXT_LENGTH], DATETIME_EXAMPLE)
    return found


def _typed_date(value: Any) -> Any:
    return parse_date(value) if isinstance(value, str) else value


def _typed_datetime(value: Any) -> Any:
    return parse_datetime(value) if isinstance(value, str) else value


# A date or a date and time in any field a person fills in: the web forms, the API and the CLI
# read them with these (one parser); ISO 8601 is read as well.
TypedDate = Annotated[date, BeforeValidator(_typed_date)]
TypedDateTime = Annotated[datetime, BeforeValidator(_typed_datetime)]


# reading the limits back -----------------------------------------------------------------------
def _string_schema(schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("type") == "string":
        return schema
    for option in schema.get("anyOf", []):
        if option.get("type") == "string":
            return dict(option)
    return {}


@cache
def _properties(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    properties: dict[str, Any] = schema.get("properties", {})
    return properties


def text_limits(model: type[BaseModel], name: str) -> tuple[int | None, int | None]:
    """(min_length, max_length) of a text field of ``model``, as its JSON schema states them."""
    schema = _string_schema(_properties(model)[name])
    return schema.get("minLength"), schema.get("maxLength")


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    config = ConfigDict(str_strip_whitespace=bool(model.model_config.get("str_strip_whitespace")))
    annotated: Any = Annotated[info.annotation, info]
    return TypeAdapter(annotated, config=config)


def check_field(model: type[BaseModel], name: str, value: Any, location: str = "") -> Any:
    """``value`` validated as the field ``name`` of ``model`` would be, or InvalidInput naming
    the field (``location``, default its name)."""
    try:
        return _adapter(model, name).validate_python(value)
    except ValidationError as exc:
        raise InvalidInput(
            Text(N_("%(field)s is not valid: correct it."), {"field": location or name}),
            problems(exc, location or name),
        ) from exc


# what is wrong, as people read it ---------------------------------------------------------------
# The patterns fields are checked against, each with what to write instead (the pattern itself
# is never shown to people).
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,79}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
ORGANISATION_CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,39}$"
BODY_CODE_PATTERN = r"^[A-ZÅÄÖ0-9][A-ZÅÄÖ0-9_-]{0,39}$"
PERIOD_PATTERN = r"^[0-9][0-9.-]*$"
ISSUER_PATTERN = r"^https?://\S+$"
PATTERN_HINTS: dict[str, Text] = {
    USERNAME_PATTERN: Text(
        N_(
            "Use 2-80 lower-case letters a-z, digits, dots, dashes or underscores, "
            "e.g. maija.meikalainen."
        )
    ),
    EMAIL_PATTERN: Text(N_("Give an email address such as maija.meikalainen@kunta.fi.")),
    ORGANISATION_CODE_PATTERN: Text(
        N_("Use 2-40 lower-case letters a-z, digits or dashes, e.g. hyvinkaa.")
    ),
    BODY_CODE_PATTERN: Text(N_("Use capital letters, digits, dashes or underscores, e.g. HYVLTK.")),
    PERIOD_PATTERN: Text(
        N_("Give a year (2026), years (2025-2028) or dates (2026-01-01..2026-06-30).")
    ),
    ISSUER_PATTERN: Text(
        N_(
            "Give the provider's address as it names itself, starting with https:// and without "
            "spaces, e.g. https://tunnistus.kunta.fi."
        )
    ),
}
MESSAGE = "eva_message"  # the error type of a validator's refusal (``refusal``)


def refusal(text: Text, field: str = "") -> PydanticCustomError:
    """A validator's refusal as a message id with its values, located at ``field`` (a model
    validator names the field it concerns; a field validator's own place is its field)."""
    return PydanticCustomError(
        MESSAGE, str(text).replace("{", "(").replace("}", ")"), {"field": field, "text": text}
    )


def ground_of_confidential(refused: Text) -> Any:
    """The one check of a command's ``confidentiality_ground`` against its ``publicity``: what
    is not public needs its legal ground of confidentiality (salassapitoperuste); ``refused``
    names the record (a proposal, an attachment). Checked at the ground itself (not after the
    whole model), so that it is reported with every other wrong field of the same input, at
    the ground's field; the command declares the ground after its publicity, with
    ``validate_default=True``. An empty ground is none."""

    def check(cls: type, value: str | None, info: ValidationInfo) -> str | None:
        del cls
        publicity = info.data.get("publicity", Publicity.PUBLIC)
        if publicity != Publicity.PUBLIC and not (value or "").strip():
            raise refusal(refused)
        return value or None

    return field_validator("confidentiality_ground")(check)


def _what(item: ErrorDetails) -> Text:  # noqa: PLR0911, PLR0912 - one case each
    """The one mapping from pydantic's error types (and their ``ctx``) to catalog messages,
    shared by the web forms, the API and the command line."""
    kind, ctx = item["type"], item.get("ctx") or {}
    given = item.get("input")
    if kind == MESSAGE and isinstance(ctx.get("text"), Text):
        return ctx["text"]  # type: ignore[no-any-return]
    if kind == "string_too_long":
        length = len(given) if isinstance(given, str) else 0
        return Text(
            N_("Too long: %(length)s characters, at most %(max)s. Shorten the text."),
            {"length": length, "max": int(ctx["max_length"])},
        )
    if kind == "string_too_short":
        if int(ctx.get("min_length", 1)) <= 1:
            return Text(N_("Fill this in: it may not be empty."))
        return Text(
            N_("Too short: give at least %(min)s characters."), {"min": int(ctx["min_length"])}
        )
    if kind == "too_long":
        return Text(N_("Too many: give at most %(max)s."), {"max": int(ctx["max_length"])})
    if kind == "too_short":
        return Text(N_("Give at least %(min)s."), {"min": int(ctx["min_length"])})
    if kind in ("whole_number", "int_parsing", "int_type", "int_from_float"):
        return Text(N_("Give a whole number written with the digits 0-9."))
    if kind in ("greater_than_equal", "greater_than"):
        limit = ctx.get("ge", ctx.get("gt"))
        return Text(N_("Give a number of at least %(limit)s."), {"limit": str(limit)})
    if kind in ("less_than_equal", "less_than"):
        limit = ctx.get("le", ctx.get("lt"))
        return Text(N_("Give a number of at most %(limit)s."), {"limit": str(limit)})
    if kind == "string_pattern_mismatch":  # the pattern itself is never shown
        return PATTERN_HINTS.get(str(ctx.get("pattern")), Text(N_("Check the form of this value.")))
    if kind == "unstorable_text":
        return Text(N_("Remove the character no record can store (e.g. a NUL character)."))
    if kind == "finnish_date":
        return Text(N_("Not a date: write it as %(example)s."), {"example": str(ctx["example"])})
    if kind == "missing":
        return Text(N_("Fill this in: it is required."))
    if kind in ("enum", "literal_error"):  # a form offers its options; a document names them
        expected = str(ctx.get("expected", "")).replace("'", "")
        return Text(N_("Choose one of: %(choices)s."), {"choices": expected})
    if kind in ("bool_parsing", "bool_type"):
        return Text(N_("Give yes or no (true or false)."))
    if kind in ("datetime_parsing", "datetime_from_date_parsing", "datetime_type"):
        return Text(N_("Give a date and time such as 2026-06-13T16:00+03:00."))
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return Text(N_("Give a date such as 2026-06-13."))
    if kind in ("string_type", "list_type", "dict_type", "model_type", "model_attributes_type"):
        return Text(N_("This value is of the wrong kind; see the API documentation."))
    if kind == "extra_forbidden":
        return Text(N_("Remove this field: it is not one of the known fields."))
    if kind == "json_invalid":
        return Text(N_("This is not valid JSON."))
    return Text(N_("This value is not valid."))


def message(item: ErrorDetails) -> str:
    """One pydantic error's message in English (its ``what`` translated is what people read)."""
    return str(_what(item))


def what(item: ErrorDetails) -> Text:
    """One pydantic error's message id and values (see ``_what``)."""
    return _what(item)


def location(item: ErrorDetails, prefix: str = "") -> str:
    """Where the error is: its path, and for a model validator's refusal the field it names."""
    parts = list(item["loc"])
    named = (item.get("ctx") or {}).get("field") if item["type"] == MESSAGE else None
    if named:
        parts.append(str(named))
    return dotted(parts, prefix)


def dotted(parts: tuple[int | str, ...] | list[int | str], prefix: str = "") -> str:
    """``("answers", 3, "direction")`` → ``answers[3].direction`` (after ``prefix``)."""
    out = prefix
    for part in parts:
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def problems(error: ValidationError, prefix: str = "") -> list[Problem]:
    """Every error of a pydantic validation as a located Problem, translatable where known."""
    return [
        Problem.of(location(item, prefix), _what(item)) for item in error.errors(include_url=False)
    ]


# JSON documents -----------------------------------------------------------------------------
class JsonRefused(ValueError):
    """A JSON text that is refused: ``kind`` is ``malformed`` (not JSON, or NaN, or nested too
    deeply), ``duplicate_key`` or ``number`` (too many digits); ``path`` is where (keys and
    indexes), ``line`` and ``column`` where known."""

    def __init__(
        self,
        kind: str,
        detail: str,
        path: list[str | int] | None = None,
        line: int | None = None,
        column: int | None = None,
        text: Text | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.path = kind, detail, path or []
        self.line, self.column = line, column
        self.text = text or Text(N_("This is not valid JSON."))

    @property
    def location(self) -> str:
        if self.line is not None:
            return f"line {self.line}, column {self.column}"
        return dotted(self.path) or "(the whole document)"


@dataclass(frozen=True)
class _Refused:
    """Left by the decoder where a value is not acceptable; found (with its place) after."""

    kind: str
    detail: str
    text: Text


_TOO_LARGE = Text(N_("This number is too large to store: give a smaller one."))


class _Repeated(dict[str, Any]):
    """An object whose keys repeat (``keys``)."""

    keys_repeated: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    repeated: list[str] = []
    for key, _ in pairs:
        if key in seen and key not in repeated:
            repeated.append(key)
        seen.add(key)
    if not repeated:
        return dict(pairs)
    found = _Repeated(pairs)
    found.keys_repeated = repeated
    return found


def _integer(text: str) -> Any:
    if len(text.lstrip("-")) > MAX_DIGITS:
        return _Refused("number", f"a number of more than {MAX_DIGITS} digits", _TOO_LARGE)
    return int(text)


def _float(text: str) -> Any:
    if len(text) > MAX_NUMBER_TEXT:
        return _Refused("number", f"a number of more than {MAX_NUMBER_TEXT} characters", _TOO_LARGE)
    value = float(text)
    if not math.isfinite(value):
        return _Refused("number", "a number too large to store", _TOO_LARGE)
    return value


def _constant(name: str) -> Any:
    return _Refused(
        "malformed",
        f"{name} is not a JSON value",
        Text(N_("%(name)s is not a JSON value: give a number."), {"name": name}),
    )


def _check_document(document: Any) -> None:
    stack: list[tuple[Any, list[str | int]]] = [(document, [])]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_JSON_DEPTH:
            raise JsonRefused(
                "malformed", f"nested deeper than {MAX_JSON_DEPTH} levels", path, text=_TOO_DEEP
            )
        if isinstance(value, _Refused):
            raise JsonRefused(value.kind, value.detail, path, text=value.text)
        if isinstance(value, _Repeated):
            key = value.keys_repeated[0]
            detail = f"the key {key[:80]!r} appears more than once"
            twice = Text(
                N_("The key %(key)s appears more than once: give it once."), {"key": key[:80]}
            )
            raise JsonRefused("duplicate_key", detail, [*path, key], text=twice)
        if isinstance(value, dict):
            stack.extend((item, [*path, key]) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((item, [*path, i]) for i, item in reversed(list(enumerate(value))))


def strict_json(text: str) -> Any:
    """The JSON document of ``text``, refusing what ``json.loads`` lets through: a key twice in
    an object (the last would win), NaN and Infinity, integers of more than ``MAX_DIGITS``
    digits (``int()`` gives up at 4300 with a ValueError), numbers no float holds, nesting
    deeper than ``MAX_JSON_DEPTH``. Raises ``JsonRefused``."""
    try:
        document = json.loads(
            text.removeprefix("\ufeff"),
            object_pairs_hook=_pairs,
            parse_int=_integer,
            parse_float=_float,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        where = Text(
            N_(
                "This is not valid JSON at line %(line)s, column %(column)s: check the commas, "
                "quotes and brackets there."
            ),
            {"line": exc.lineno, "column": exc.colno},
        )
        raise JsonRefused(
            "malformed", exc.msg, line=exc.lineno, column=exc.colno, text=where
        ) from exc
    except RecursionError as exc:
        raise JsonRefused(
            "malformed", f"nested deeper than {MAX_JSON_DEPTH} levels", text=_TOO_DEEP
        ) from exc
    _check_document(document)
    return document


_TOO_DEEP = Text(
    N_("The document is nested deeper than %(max)s levels: flatten it."), {"max": MAX_JSON_DEPTH}
)


def json_problem(error: JsonRefused) -> Problem:
    """A refused JSON text as a located problem, in the reader's language."""
    return Problem.of(error.location, error.text)
