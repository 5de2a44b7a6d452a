"""Importing cases and proposals from a case-management system's export (CSV or JSON).

Every row is checked first and every problem is reported with its line and field; nothing is
written from a file with errors unless the caller asks to skip the bad rows. The good rows are
created in one transaction, with the same rows as ``proposals.create_proposal`` (a proposal, its
first assessment revision and the preparer's assignment), so the audit history records them with
the import as the client. What the checks need is read once per file and the rows are inserted
in batches (``db.bulk``): a file costs a few dozen statements, not a dozen per row. A row whose
source system and external id were imported before is reported as existing and left unchanged:
importing the same file twice creates nothing twice.
See docs/exchange.md for the file formats."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError

from eva_engine.db.bulk import Lookups, add_all
from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, InvalidInput, NotFound, PermissionDenied, Problem, Text
from eva_engine.models import Assessment, Assignment, Body, Organisation, Proposal, User, utcnow
from eva_engine.services.access import actor_for, no_body, no_organisation
from eva_engine.services.command import Command
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.fields import (
    EXTERNAL_ID_LENGTH,
    SOURCE_SYSTEM_LENGTH,
    ExternalId,
    JsonRefused,
    LongText,
    SourceSystem,
    check_field,
    json_problem,
    strict_json,
)
from eva_engine.services.fields import location as error_location
from eva_engine.services.fields import what as error_what
from eva_engine.services.proposals.commands import CreateProposal
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.views import ProblemView
from eva_engine.vocabulary import Publicity, Role

Format = Literal["csv", "json"]
LOCAL_TIME = ZoneInfo("Europe/Helsinki")
MAX_EXTERNAL_ID = EXTERNAL_ID_LENGTH
MAX_SOURCE_SYSTEM = SOURCE_SYSTEM_LENGTH

# field: (required, Finnish and other header names accepted for it)
FIELDS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "external_id": (True, ("tunniste", "asian tunniste", "case_id", "id")),
    "source_system": (False, ("lähdejärjestelmä", "järjestelmä")),
    "case_number": (True, ("asianumero", "diaarinumero", "dnro")),
    "title_fi": (True, ("otsikko", "otsikko_fi")),
    "title_sv": (False, ("rubrik", "otsikko_sv")),
    "body": (True, ("toimielin",)),
    "meeting_date": (False, ("kokouspäivä", "kokous")),
    "preparer": (False, ("valmistelija",)),
    "presenter": (True, ("esittelijä",)),
    "publicity": (False, ("julkisuus",)),
    "confidentiality_ground": (False, ("salassapitoperuste", "ground")),
    "contains_personal_data": (False, ("henkilötietoja",)),
    "description": (False, ("kuvaus", "selostus")),
}
ALIASES = {alias: name for name, (_, aliases) in FIELDS.items() for alias in (name, *aliases)}
IGNORED = "(no header)"  # a column without a header is left out
_FIELD_ORDER = {name: position for position, name in enumerate(FIELDS)}
REQUIRED_COLUMNS = [name for name, (required, _) in FIELDS.items() if required]

PUBLICITY_WORDS = {
    "julkinen": Publicity.PUBLIC,
    "osittain salassa pidettävä": Publicity.PARTLY_CONFIDENTIAL,
    "salassa pidettävä": Publicity.CONFIDENTIAL,
    "offentlig": Publicity.PUBLIC,
    "delvis sekretessbelagd": Publicity.PARTLY_CONFIDENTIAL,
    "sekretessbelagd": Publicity.CONFIDENTIAL,
    **{p.value: p for p in Publicity},
}
YES = {"1", "true", "yes", "kyllä", "k", "ja", "x"}
NO = {"", "0", "false", "no", "ei", "e", "nej"}


# reading the file ----------------------------------------------------------------------
@dataclass
class Row:
    """One case of the file: where it starts and its fields (by canonical name)."""

    line: int
    values: dict[str, str]
    refused: Text | None = None  # what makes the whole row unreadable


def _line(line: int | str) -> Text:
    return Text(N_("line %(line)s"), {"line": line})


def _empty(source: str) -> InvalidInput:
    empty = Text(N_("%(file)s is empty: export the cases again."), {"file": source})
    return InvalidInput(empty, [Problem.of(source, empty)])


def _no_cases(source: str, where: str) -> InvalidInput:
    none = Text(N_("%(file)s has no cases: export them again."), {"file": source})
    return InvalidInput(none, [Problem.of(where, none)])


def _header_name(raw: str) -> str:
    return " ".join(raw.strip().lower().replace("-", "_").split())


def _decode(data: bytes, source: str) -> str:
    if not data.strip():
        raise _empty(source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            Text(
                N_("%(file)s is not UTF-8 text: save the export as UTF-8 (with or without BOM)."),
                {"file": source},
            ),
            [
                Problem.of(
                    f"line {line}",
                    Text(
                        N_("The byte %(byte)s is not UTF-8: save the file as UTF-8."),
                        {"byte": f"0x{data[exc.start]:02x}"},
                    ),
                    _line(line),
                )
            ],
        ) from exc
    if not text.strip():
        raise _empty(source)
    return text


def _column(position: int) -> Text:
    return Text(N_("line 1, column %(column)s"), {"column": position})


def _columns(names: list[str], source: str) -> list[str]:
    """Canonical names of the header's columns; unknown, repeated and missing ones refused."""
    problems: list[Problem] = []
    canonical: list[str] = []
    for position, raw in enumerate(names, start=1):
        if not raw.strip():  # e.g. the empty last column of a spreadsheet's export
            canonical.append(IGNORED)
            continue
        name = ALIASES.get(_header_name(raw))
        if name is None:
            problems.append(
                Problem.of(
                    f"line 1, column {position}",
                    Text(
                        N_("The column %(column)s is not known; the columns are: %(columns)s."),
                        {"column": raw.strip(), "columns": ", ".join(FIELDS)},
                    ),
                    _column(position),
                )
            )
        elif name in canonical:
            problems.append(
                Problem.of(
                    f"line 1, column {position}",
                    Text(N_("The column %(column)s is repeated: keep one."), {"column": name}),
                    _column(position),
                )
            )
        canonical.append(name or "")
    missing = [name for name in REQUIRED_COLUMNS if name not in canonical]
    if missing:
        problems.append(
            Problem.of(
                "line 1",
                Text(N_("Add the missing columns: %(columns)s."), {"columns": ", ".join(missing)}),
                _line(1),
            )
        )
    if problems:
        raise InvalidInput(
            Text(N_("%(file)s: the header row cannot be used; correct it."), {"file": source}),
            problems,
        )
    return canonical


def read_csv(text: str, source: str) -> list[Row]:
    """A header row, then one case per record; ``;`` (Finnish exports) or ``,`` between fields."""
    first = text.lstrip("\ufeff").splitlines()[0]
    delimiter = ";" if first.count(";") >= first.count(",") and ";" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        columns = _columns(header, source)
        rows: list[Row] = []
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(columns):
                wrong = Text(
                    N_("The row has %(count)s fields and the header %(columns)s: correct the row."),
                    {"count": len(record), "columns": len(columns)},
                )
                rows.append(Row(line, {}, wrong))
                continue
            rows.append(Row(line, {c: v.strip() for c, v in zip(columns, record, strict=True)}))
    except csv.Error as exc:
        not_csv = Text(
            N_("%(file)s is not valid CSV (%(error)s): export it again."),
            {"file": source, "error": str(exc)},
        )
        raise InvalidInput(
            not_csv, [Problem.of(f"line {reader.line_num}", not_csv, _line(reader.line_num))]
        ) from exc
    if not rows:
        raise _no_cases(source, "line 2")
    return rows


def _skip_ws(text: str, idx: int) -> int:
    while idx < len(text) and text[idx] in " \t\r\n":
        idx += 1
    return idx


def _element_starts(text: str, idx: int) -> Iterator[int]:
    """Offsets where the elements of the (already valid) JSON array at ``idx`` start."""
    decoder = json.JSONDecoder()
    idx = _skip_ws(text, idx + 1)
    while idx < len(text) and text[idx] != "]":
        yield idx
        _, idx = decoder.raw_decode(text, idx)
        idx = _skip_ws(text, idx)
        if idx < len(text) and text[idx] == ",":
            idx = _skip_ws(text, idx + 1)


def _cases_array_start(text: str, idx: int) -> int:
    """The offset of the ``cases`` value in the (already valid) top-level object at ``idx``."""
    decoder = json.JSONDecoder()
    idx = _skip_ws(text, idx + 1)
    while idx < len(text) and text[idx] != "}":
        key, idx = decoder.raw_decode(text, idx)
        idx = _skip_ws(text, _skip_ws(text, idx) + 1)  # past ':'
        if key == "cases":
            return idx
        _, idx = decoder.raw_decode(text, idx)
        idx = _skip_ws(text, idx)
        if idx < len(text) and text[idx] == ",":
            idx = _skip_ws(text, idx + 1)
    return idx  # pragma: no cover - the caller checked that "cases" is there


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value).strip()
    return json.dumps(value, ensure_ascii=False)


def read_json(text: str, source: str) -> tuple[list[Row], str | None]:
    """A list of cases, or ``{"source_system": ..., "cases": [...]}``; each case an object."""
    try:
        data = strict_json(text)  # no repeated keys, no huge numbers, no NaN
    except JsonRefused as exc:
        raise InvalidInput(
            Text(
                N_("%(where)s is not valid JSON: correct it and send it again."), {"where": source}
            ),
            [json_problem(exc)],
        ) from exc
    start = _skip_ws(text, 1 if text.startswith("\ufeff") else 0)
    source_system: str | None = None
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"format", "source_system", "cases"})
        if "cases" not in data or not isinstance(data["cases"], list) or unknown:
            raise _not_an_export(source)
        source_system = _cell(data.get("source_system")) or None
        items: list[Any] = data["cases"]
        start = _cases_array_start(text, start)
    elif isinstance(data, list):
        items = data
    else:
        raise _not_an_export(source)
    if not items:
        raise _no_cases(source, "cases")
    rows: list[Row] = []
    for item, offset in zip(items, _element_starts(text, start), strict=True):
        line = text.count("\n", 0, offset) + 1
        if not isinstance(item, dict):
            rows.append(
                Row(line, {}, Text(N_("A case is an object with named fields: correct it.")))
            )
            continue
        values: dict[str, str] = {}
        problems: list[str] = []
        for key, value in item.items():
            name = ALIASES.get(_header_name(str(key)))
            if name is None:
                problems.append(str(key)[:80])
            else:
                values[name] = _cell(value)
        refused = None
        if problems:
            refused = Text(
                N_("Unknown fields: %(fields)s; the fields are: %(known)s."),
                {"fields": ", ".join(problems), "known": ", ".join(FIELDS)},
            )
        rows.append(Row(line, values, refused))
    return rows, source_system


def _not_an_export(source: str) -> InvalidInput:
    wrong = Text(
        N_(
            "%(file)s is not a case export: give a list of cases, or an object "
            '{"source_system": ..., "cases": [...]}.'
        ),
        {"file": source},
    )
    return InvalidInput(wrong, [Problem.of("line 1", wrong, _line(1))])


def _too_long(length: int, limit: int) -> Text:
    return Text(
        N_("Too long: %(length)s characters, at most %(max)s. Shorten the text."),
        {"length": length, "max": limit},
    )


def _needs_roles(roles: str) -> Text:
    return Text(
        N_(
            "Your roles here do not allow this: it needs one of the roles %(roles)s. "
            "Ask your administrator for the role if you need it."
        ),
        {"roles": roles},
    )


def read_rows(data: bytes, source: str, fmt: Format | None) -> tuple[list[Row], str | None]:
    """The rows of a file (and the source system it names, for JSON); malformed files refused."""
    if fmt is None:
        lowered = source.lower()
        fmt = "json" if lowered.endswith(".json") else "csv" if lowered.endswith(".csv") else None
    if fmt is None:
        unknown = Text(
            N_("The format of %(file)s is not known: name the file .csv or .json, or give it."),
            {"file": source},
        )
        raise InvalidInput(unknown, [Problem.of("format", unknown)])
    text = _decode(data, source)
    if fmt == "json":
        return read_json(text, source)
    return read_csv(text, source), None


# checking the rows ----------------------------------------------------------------------
class CaseRow(Command):
    """The fields of an imported case besides those of its ``CreateProposal``."""

    external_id: ExternalId = Field(min_length=1, description="The case's id in the source")
    source_system: SourceSystem = Field(min_length=1)
    description: LongText | None = Field(default=None, description="As registered there")


class ImportedCase(BaseModel):
    line: int
    external_id: str
    case_number: str
    proposal_id: int | None = Field(description="None in a dry run")


class SkippedCase(BaseModel):
    line: int
    external_id: str | None
    problems: list[ProblemView]


class ImportReport(BaseModel):
    source: str
    organisation: str
    source_system: str | None
    dry_run: bool
    rows: int
    created: list[ImportedCase]
    existing: list[ImportedCase] = Field(description="imported before: left unchanged")
    skipped: list[SkippedCase] = Field(description="bad rows left out (with skip_invalid)")


@dataclass
class Checked:
    row: Row
    external_id: str
    source_system: str
    cmd: CreateProposal | None = None
    body: Body | None = None
    preparer: User | None = None
    presenter: User | None = None
    meeting_id: int | None = None
    description: str | None = None
    existing: int | None = None
    problems: list[Problem] = field(default_factory=list)

    def bad(self, name: str, message: Text) -> None:
        where = Text(N_("line %(line)s, field %(field)s"), {"line": self.row.line, "field": name})
        self.problems.append(Problem.of(f'line {self.row.line}, field "{name}"', message, where))


def _parse_date(text: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    return None


class _Checker:
    def __init__(
        self,
        repos: Repositories,
        org: Organisation,
        user: User | None,
        default_source: str | None,
    ) -> None:
        self.repos = repos
        self.org = org
        self.user = user
        self.default_source = default_source
        self.seen: dict[tuple[str, str], int] = {}
        self.lookups = Lookups(repos.session, org.id)
        self.known: dict[tuple[str, str], int] = {}

    def prepare(self, rows: list[Row]) -> None:
        """Read what the checks of all the rows need, in a few queries (not a few per row)."""
        names = {r.values.get(k, "") for r in rows for k in ("preparer", "presenter")}
        if self.user is not None:
            names.add(self.user.username)
        self.lookups.load_users(names)
        keys = [
            (r.values.get("source_system") or self.default_source or "", r.values["external_id"])
            for r in rows
            if r.values.get("external_id")
        ]
        self.known = self.lookups.imported(keys)

    def body(self, code: str) -> Body | None:
        return self.lookups.body(code)

    def check(self, row: Row) -> Checked:
        v = row.values
        out = Checked(
            row,
            v.get("external_id", ""),
            v.get("source_system") or self.default_source or "",
        )
        if row.refused is not None:
            out.problems.append(Problem.of(f"line {row.line}", row.refused, _line(row.line)))
            return out
        self._check_identity(out)
        self._check_fields(out)
        self._check_people(out)
        self._check_meeting(out)
        out.problems.sort(key=lambda p: _FIELD_ORDER.get(p.location.partition('"')[2][:-1], 99))
        return out

    def _check_identity(self, out: Checked) -> None:
        if not out.external_id:
            out.bad(
                "external_id", Text(N_("Give the case's id in the source system: it is required."))
            )
        elif len(out.external_id) > MAX_EXTERNAL_ID:
            out.bad("external_id", _too_long(len(out.external_id), MAX_EXTERNAL_ID))
        if not out.source_system:
            out.bad(
                "source_system",
                Text(N_("Give the source system: in its column or as the source system option.")),
            )
        elif len(out.source_system) > MAX_SOURCE_SYSTEM:
            out.bad("source_system", _too_long(len(out.source_system), MAX_SOURCE_SYSTEM))
        if out.problems:
            return
        key = (out.source_system, out.external_id)
        if key in self.seen:
            out.bad(
                "external_id",
                Text(
                    N_("%(id)s is also on line %(line)s: import each case once."),
                    {"id": out.external_id, "line": self.seen[key]},
                ),
            )
            return
        self.seen[key] = out.row.line
        out.existing = self.known.get(key)

    def _check_fields(self, out: Checked) -> None:
        v = out.row.values
        publicity_text = v.get("publicity", "").lower()
        publicity = PUBLICITY_WORDS.get(publicity_text or "public")
        if publicity is None:
            out.bad(
                "publicity",
                Text(
                    N_("%(given)s is not one of public, partly_confidential, confidential."),
                    {"given": v["publicity"]},
                ),
            )
        personal = v.get("contains_personal_data", "").lower()
        if personal not in YES | NO:
            out.bad(
                "contains_personal_data",
                Text(N_("%(given)s is not yes or no: give either."), {"given": personal}),
            )
        try:
            out.description = check_field(CaseRow, "description", v.get("description") or None)
        except InvalidInput as exc:
            out.bad("description", exc.problems[0].what or Text(N_("This value is not valid.")))
        case_number = v.get("case_number", "")
        if case_number and not re.fullmatch(self.org.case_number_pattern, case_number, re.ASCII):
            out.bad(
                "case_number",
                Text(
                    N_(
                        "%(given)s is not in your organisation's format: write it like %(example)s."
                    ),
                    {"given": case_number, "example": self.org.case_number_example},
                ),
            )
        if v.get("body"):
            out.body = self.body(v["body"])
            if out.body is None:
                out.bad("body", no_body(v["body"], self.org.code))
        try:
            out.cmd = CreateProposal(
                organisation=self.org.code,
                case_number=case_number,
                title_fi=v.get("title_fi", ""),
                title_sv=v.get("title_sv") or None,
                body=v.get("body", ""),
                preparer=v.get("preparer") or None,
                presenter=v.get("presenter", ""),
                publicity=publicity or Publicity.PUBLIC,
                confidentiality_ground=v.get("confidentiality_ground") or None,
                contains_personal_data=personal in YES,
            )
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                out.bad(error_location(error) or "case", error_what(error))

    def _person(self, out: Checked, name: str, username: str, role: Role) -> User | None:
        person = self.lookups.user(username)
        if person is None or not person.active:
            out.bad(
                name,
                Text(
                    N_("There is no active user %(username)s. Check the username."),
                    {"username": username},
                ),
            )
            return None
        if out.body is not None and role not in self.lookups.roles_for(person, out.body.id):
            out.bad(
                name,
                Text(
                    N_(
                        "%(username)s does not hold the role of %(roles)s for this body: "
                        "choose another."
                    ),
                    {"username": username, "roles": role.value},
                ),
            )
        return person

    def _check_people(self, out: Checked) -> None:
        v = out.row.values
        preparer = v.get("preparer") or (self.user.username if self.user else None)
        if preparer is None:
            out.bad("preparer", Text(N_("Name the preparer: the import is not made as a user.")))
        else:
            out.preparer = self._person(out, "preparer", preparer, Role.PREPARER)
        if v.get("presenter"):
            out.presenter = self._person(out, "presenter", v["presenter"], Role.PRESENTER)
        if out.body is not None and self.user is not None:
            held = self.lookups.roles_for(self.user, out.body.id)
            if not held & {Role.PREPARER, Role.ADMIN}:
                out.bad("body", _needs_roles("preparer, admin"))

    def _check_meeting(self, out: Checked) -> None:
        text = out.row.values.get("meeting_date", "")
        if not text or out.body is None:
            return
        day = _parse_date(text)
        if day is None:
            out.bad(
                "meeting_date",
                Text(
                    N_("%(given)s is not a date: write it like 2026-12-15 or 15.12.2026."),
                    {"given": text},
                ),
            )
            return
        found = [
            m
            for m in self.lookups.meetings(out.body.id)
            if m.starts_at.astimezone(LOCAL_TIME).date() == day
        ]
        if not found:
            out.bad(
                "meeting_date",
                Text(
                    N_("The body %(body)s has no meeting on %(day)s: create it first."),
                    {"body": out.body.code, "day": day.isoformat()},
                ),
            )
            return
        if self.user is not None and not self.lookups.roles_for(self.user, out.body.id) & {
            Role.SECRETARY,
            Role.ADMIN,
        }:
            out.bad("meeting_date", _needs_roles("secretary, admin"))
            return
        out.meeting_id = found[0].id


# importing ----------------------------------------------------------------------
def import_proposals(
    eva: Eva,
    caller: Caller,
    organisation: str,
    data: bytes,
    source: str,
    *,
    fmt: Format | None = None,
    source_system: str | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Import the cases of one file (``source`` is its name) into ``organisation``.

    ``caller.client`` is what the audit history records (e.g. ``import:cases.csv``)."""
    rows, file_source_system = read_rows(data, source, fmt)
    default_source = source_system or file_source_system
    with eva.uow() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        org = repos.organisation_by_code(organisation)
        if org is None or (user is not None and not repos.holds_any_role(user.id, org.id)):
            raise NotFound(no_organisation(organisation))
        if user is not None:
            held = {g.role for g in repos.grants(user.id) if g.organisation_id == org.id}
            acting = next((r for r in (Role.PREPARER, Role.ADMIN) if r in held), None)
            if acting is None:
                raise PermissionDenied(_needs_roles("preparer, admin"))
            uow.audit.role = acting.value
        checker = _Checker(repos, org, user, default_source)
        checker.prepare(rows)
        checked = [checker.check(row) for row in rows]
        bad = [c for c in checked if c.problems]
        if bad and not skip_invalid:
            problems = [p for c in bad for p in c.problems]
            raise InvalidInput(
                Text(
                    N_(
                        "Nothing was imported: %(bad)s of %(count)s rows in %(file)s have errors. "
                        "Correct them, or import the others with skip_invalid."
                    ),
                    {"bad": len(bad), "count": len(rows), "file": source},
                ),
                problems,
            )
        report = ImportReport(
            source=source,
            organisation=org.code,
            source_system=default_source,
            dry_run=dry_run,
            rows=len(rows),
            created=[],
            existing=[
                ImportedCase(
                    line=c.row.line,
                    external_id=c.external_id,
                    case_number=c.cmd.case_number if c.cmd else "",
                    proposal_id=c.existing,
                )
                for c in checked
                if not c.problems and c.existing is not None
            ],
            skipped=[
                SkippedCase(
                    line=c.row.line,
                    external_id=c.external_id or None,
                    problems=[ProblemView.of(p) for p in c.problems],
                )
                for c in bad
            ],
        )
        new = [c for c in checked if not c.problems and c.existing is None]
        if dry_run:
            report.created = [_imported(c, None) for c in new]
            return report
        if new:
            definition = repos.latest_definition(org.workflow_name)
            if definition is None:
                raise NotFound(
                    Text(
                        N_(
                            "The workflow %(workflow)s has not been published: an administrator "
                            "publishes it first (eva workflows publish)."
                        ),
                        {"workflow": org.workflow_name},
                    )
                )
            proposals = create_in_bulk(repos, org, new, definition.name, definition.version)
            uow.commit()
            report.created = [_imported(c, p.id) for c, p in zip(new, proposals, strict=True)]
        return report


def _imported(c: Checked, proposal_id: int | None) -> ImportedCase:
    assert c.cmd is not None  # noqa: S101 - only valid rows are imported
    return ImportedCase(
        line=c.row.line,
        external_id=c.external_id,
        case_number=c.cmd.case_number,
        proposal_id=proposal_id,
    )


def create_in_bulk(
    repos: Repositories, org: Organisation, rows: list[Checked], name: str, version: int
) -> list[Proposal]:
    """What ``proposals.add_proposal`` stores (a proposal, its first assessment revision and
    the preparer's first task), for many checked rows at once: the definition is read once and
    each kind of row is inserted in one flush (``db.bulk.add_all``), so the audit history
    records every row as the single path does."""
    bundle, digest = stored_bundle(repos, name, version)
    proposals = [_proposal(org, c, bundle.workflow.initial, name, version, digest) for c in rows]
    add_all(repos.session, proposals)
    first = bundle.workflow.initial_task  # the workflow names the preparer's first task
    due = (utcnow() + timedelta(days=first.due_days)).date()
    add_all(
        repos.session,
        [Assessment(proposal_id=p.id, revision=1) for p in proposals]
        + [
            Assignment(
                organisation_id=org.id,
                proposal_id=p.id,
                kind=first.kind,
                assignee_id=p.preparer_id,
                due=due,
            )
            for p in proposals
        ],
    )
    return proposals


def _proposal(
    org: Organisation, c: Checked, initial: str, name: str, version: int, digest: str
) -> Proposal:
    cmd, body, preparer, presenter = c.cmd, c.body, c.preparer, c.presenter
    if cmd is None or body is None or preparer is None or presenter is None:  # pragma: no cover
        raise ValueError(f"line {c.row.line} was not checked")
    return Proposal(
        organisation_id=org.id,
        case_number=cmd.case_number,
        title_fi=cmd.title_fi,
        title_sv=cmd.title_sv,
        body_id=body.id,
        publicity=cmd.publicity,
        confidentiality_ground=cmd.confidentiality_ground,
        contains_personal_data=cmd.contains_personal_data,
        preparer_id=preparer.id,
        presenter_id=presenter.id,
        state=initial,
        workflow_name=name,
        workflow_version=version,
        workflow_hash=digest,
        revision=1,
        meeting_id=c.meeting_id,
        source_system=c.source_system,
        external_ref=c.external_id,
        description=c.description,
    )
