"""Walking many proposals through their workflow at once: the rules of the interactive path,
evaluated step by step over the proposals' state held in memory, and the rows written in bulk.

For a batch of proposals ``walk`` reads what the steps need in a fixed number of queries (the
proposals, locked in id order, their current assessments with screening, alternatives,
answers, mitigations and indicators, open tasks, follow-ups, meetings, the actors and their
grants), then takes each proposal's steps in order:

* a workflow step (``Fire``) goes through ``workflow.engine``, as ``steps.transitions.fire``
  does: the route chosen by its conditions, the actor's role for the proposal's body, the
  reason, every guard over the in-memory assessment, the machine's move; its effects (tasks
  closed and opened, outcome, § number, meeting cleared, follow-ups of the indicators) and its
  notifications (the transition's ``notify``; every task opened notifies its assignee or its
  queue's role holders, and the organisation's webhooks) are applied to the memory;
* recording the screening (``Screen``) and importing the assessment document (``Document``)
  check the editor's role and the state's ``editable``, as ``assessment.editing`` does (their
  contents are checked by the service that makes the steps);

each change giving the events the session's audit capture gives for the same change
(``db.event_shapes``): one unit of work per step, so a step's events carry its actor and role.
At the end the rows are written with SQLAlchemy Core (one executemany per table and kind of
write; new ids taken from the tables' sequences, or after the largest id on SQLite, whose
write lock the transaction holds) and the events are sealed into their organisations' chains
with the hashing of ``db.audit`` (the chain heads locked once, one INSERT of the events, one
UPDATE of the heads): ``eva audit verify`` checks them like any other.

Not supported here (refused with ``BulkWalkRefused``): ``new_revision`` (returned for new
preparation) and importing a document into an assessment that has rows already; the
interactive path does both."""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from eva_engine.db import event_shapes, search
from eva_engine.db.audit import (
    HASHED,
    Actor,
    _lock_heads,
    canonical,
    content_of,
    link_of,
    time_text,
)
from eva_engine.db.bulk import Lookups, chunks
from eva_engine.db.outbox import holders_of, proposal_payload
from eva_engine.errors import N_, InvalidInput, PermissionDenied, Problem, Text
from eva_engine.models import (
    Alternative,
    Answer,
    Assessment,
    Assignment,
    AuditChainHead,
    Audited,
    AuditEvent,
    Base,
    FollowUp,
    FollowUpIndicator,
    Meeting,
    Mitigation,
    Organisation,
    OutboxMessage,
    Proposal,
    Screening,
    User,
    Webhook,
    utcnow,
)
from eva_engine.vocabulary import (
    AssignmentState,
    Channel,
    DeliveryState,
    NotificationKind,
    Role,
)
from eva_engine.workflow import engine
from eva_engine.workflow.context import AssessmentSnapshot, FlowContext
from eva_engine.workflow.definition import (
    CloseAssignments,
    Effect,
    OpenAssignment,
    OpenFollowUps,
    SetOutcome,
    SimpleEffect,
    Transition,
    WorkflowBundle,
)

Check = Callable[[WorkflowBundle], list[Problem]]
Bundles = Callable[[str, int], tuple[WorkflowBundle, str]]  # (name, version) -> bundle, hash

_EVENTS: Table = AuditEvent.__table__  # type: ignore[assignment]
_HEADS: Table = AuditChainHead.__table__  # type: ignore[assignment]


class BulkWalkRefused(PermissionDenied):
    """A step the bulk walk does not take (the interactive path does)."""


# The steps ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fire:
    """A workflow step, by ``actor`` (a username)."""

    actor: str
    trigger: str
    reason: str | None = None


@dataclass(frozen=True)
class Screen:
    """Recording the screening: the values of the ``screenings`` row (outcome, criteria,
    exemption, reason, participation_plan), checked by the caller."""

    actor: str
    values: dict[str, Any]
    check: Check | None = None  # what is wrong with it under the proposal's bundle


@dataclass(frozen=True)
class Document:
    """Importing the assessment document into an empty assessment: its summary and rows (the
    alternatives by position; answers and mitigations name their alternative by position, as
    ``alternative``), checked by the caller."""

    actor: str
    summary: str | None
    alternatives: list[dict[str, Any]]
    answers: list[dict[str, Any]] = field(default_factory=list)
    mitigations: list[dict[str, Any]] = field(default_factory=list)
    indicators: list[dict[str, Any]] = field(default_factory=list)
    check: Check | None = None


Step = Fire | Screen | Document


@dataclass
class WalkResult:
    steps: int = 0
    events: int = 0
    rows: int = 0
    outbox: int = 0


# Writing --------------------------------------------------------------------------------------
@dataclass
class _Event:
    actor: Actor
    role: str | None
    action: str
    model: type[Audited]
    entity_id: int
    organisation_id: int | None
    proposal_id: int | None
    chain: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None = None


class _Ids:
    """New ids for the rows of a table: from its sequence on PostgreSQL (a block at a time),
    after its largest id on SQLite (the writing transaction holds the write lock)."""

    BLOCK = 2000

    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.free: dict[str, list[int]] = defaultdict(list)
        self.last: dict[str, int] = {}

    def next(self, table: Table) -> int:
        name = table.name
        if not self.postgres:
            if name not in self.last:
                found = self.session.execute(select(func.max(table.c.id))).scalar_one()
                self.last[name] = int(found or 0)
            self.last[name] += 1
            return self.last[name]
        free = self.free[name]
        if not free:
            rows = self.session.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": name, "n": self.BLOCK},
            )
            free.extend(sorted((int(r[0]) for r in rows), reverse=True))
        return free.pop()


class _Writes:
    """The rows of a batch: inserts (a new row's dict stays mutable until written, so a task
    opened and closed in the batch is written once, closed) and updates of stored rows."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.ids = _Ids(session)
        self.inserts: dict[Table, list[dict[str, Any]]] = defaultdict(list)
        # stored rows changed: table -> id -> (the row's current values, the columns to write)
        self.updates: dict[Table, dict[int, tuple[dict[str, Any], set[str]]]] = defaultdict(dict)
        self.events: list[_Event] = []
        self._new: set[int] = set()  # id() of the rows to insert

    def new(
        self, model: type[Base], values: dict[str, Any], *, numbered: bool = True
    ) -> dict[str, Any]:
        table: Table = model.__table__  # type: ignore[assignment]
        if numbered:
            values = {"id": self.ids.next(table), **values}
        row = event_shapes.with_defaults(table, values)
        if not numbered:
            del row["id"]
        self.inserts[table].append(row)
        self._new.add(id(row))
        return row

    def changed(self, model: type[Base], row: dict[str, Any], columns: Iterable[str]) -> None:
        """A stored row changed (``row`` is its current values): write ``columns`` of it."""
        table: Table = model.__table__  # type: ignore[assignment]
        if id(row) in self._new:
            return  # a new row: written as it is at the end
        _, written = self.updates[table].setdefault(row["id"], (row, set()))
        written.update(columns)

    def write(self, now: datetime) -> tuple[int, int]:
        """Send the rows, then seal the events. Returns (rows, events)."""
        session = self.session
        rows = 0
        for table in Base.metadata.sorted_tables:  # parents before children
            new = self.inserts.get(table)
            if new:
                for part in chunks(new, 1000):
                    session.execute(insert(table), list(part))
                rows += len(new)
        for table, changes in self.updates.items():
            by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
            for row, written in changes.values():
                columns = tuple(sorted(written))
                by_columns[columns].append(
                    {"id_": row["id"], **{f"v_{c}": row[c] for c in columns}}
                )
            for columns, group in by_columns.items():
                statement = (
                    update(table)
                    .where(table.c.id == bindparam("id_"))
                    .values({c: bindparam(f"v_{c}") for c in columns})
                )
                for part in chunks(group, 1000):
                    session.execute(statement, list(part))
                rows += len(group)
        # Core statements pass by the session hook that keeps the search index in step: the
        # walked proposals' index rows are rebuilt here, in the same transaction.
        search.refresh(session, self._proposal_ids())
        return rows, seal_events(session, self.events, now)

    def _proposal_ids(self) -> set[int]:
        proposals: Table = Proposal.__table__  # type: ignore[assignment]
        found: set[int] = set()
        written = [
            *((t, r) for t, new in self.inserts.items() for r in new),
            *((t, r) for t, changes in self.updates.items() for r, _ in changes.values()),
        ]
        for table, row in written:
            pid = row.get("id") if table is proposals else row.get("proposal_id")
            if isinstance(pid, int):
                found.add(pid)
        return found


def seal_events(session: Session, events: Sequence[_Event], now: datetime) -> int:
    """Append ``events`` to their chains as ``db.audit.seal`` does (content hashed before the
    heads are locked, each linked to its chain's head, one INSERT, one UPDATE of the heads)."""
    if not events:
        return 0
    when = time_text(now)  # the content's text of every event's time (content_of's own)
    built: list[tuple[dict[str, Any], Any]] = []
    for ev in events:
        row: dict[str, Any] = {
            "chain_id": ev.chain,
            "occurred_at": now,
            "actor_id": ev.actor.user_id,
            "actor_name": ev.actor.name,
            "actor_role": ev.role,
            "client": ev.actor.client,
            "action": ev.action,
            "entity_type": ev.model.__audit_name__,
            "entity_id": str(ev.entity_id),
            "organisation_id": ev.organisation_id,
            "proposal_id": ev.proposal_id,
            "before": None if ev.before is None else canonical(ev.before),
            "after": None if ev.after is None else canonical(ev.after),
            "reason": ev.reason,
        }
        content = content_of(when if n == "occurred_at" else row[n] for n in HASHED)
        built.append((row, hashlib.sha256(content.encode())))
    heads = _lock_heads(session, sorted({row["chain_id"] for row, _ in built}))
    for row, digest in built:
        head = heads[row["chain_id"]]
        seq = head[0] + 1
        digest.update(link_of(row["chain_id"], seq, head[1]))
        row |= {"seq": seq, "prev_hash": head[1], "hash": digest.hexdigest()}
        head[0], head[1] = seq, row["hash"]
    _insert_events(session, [row for row, _ in built], now)
    session.execute(
        update(_HEADS)
        .where(_HEADS.c.chain_id == bindparam("head"))
        .values(last_seq=bindparam("seq_"), last_hash=bindparam("hash_")),
        [{"head": c, "seq_": s, "hash_": h} for c, (s, h) in heads.items()],
    )
    return len(built)


def _insert_events(session: Session, rows: list[dict[str, Any]], now: datetime) -> None:
    """One executemany of the events, straight to the driver: every value is a plain string
    or number but the time, which is the same for all and converted once by its column type."""
    connection = session.connection()
    dialect = connection.dialect
    columns = [c.name for c in _EVENTS.columns]
    convert = _EVENTS.c.occurred_at.type.bind_processor(dialect)
    when = convert(now) if convert is not None else now
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {_EVENTS.name} ({', '.join(columns)}) "  # noqa: S608 - the table's own names
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    values = [tuple(when if c == "occurred_at" else row[c] for c in columns) for row in rows]
    for part in chunks(values, 5000):
        connection.exec_driver_sql(sql, list(part))


# The proposals in memory ------------------------------------------------------------------------
_PROPOSAL_COLUMNS = (
    "state",
    "outcome",
    "meeting_id",
    "agenda_position",
    "section_year",
    "section_number",
    "revision",
    "row_version",
    "updated_at",
)


@dataclass
class _Case:
    proposal: Proposal  # transient: the guards' and the machine's view of the row
    row: dict[str, Any]  # its column values, as they are written
    assessment: dict[str, Any]
    snap: AssessmentSnapshot
    rows: dict[str, list[dict[str, Any]]]  # screening/alternatives/... rows by kind
    open_tasks: list[dict[str, Any]]
    follow_ups: list[dict[str, Any]]
    bundle: WorkflowBundle
    digest: str


def _rows(
    session: Session, model: type[Base], column: str, ids: Sequence[int]
) -> list[dict[str, Any]]:
    table: Table = model.__table__  # type: ignore[assignment]
    found: list[dict[str, Any]] = []
    for part in chunks(sorted(set(ids))):
        query = select(table).where(table.c[column].in_(list(part))).order_by(table.c.id)
        found.extend(dict(r._mapping) for r in session.execute(query))
    return found


class _RowView:
    """A row's values seen as the entity's attributes: what the guards, the routes and the
    machine read (and set: the machine's move writes the proposal's ``state`` into the row)."""

    __slots__ = ("_row",)

    def __init__(self, row: dict[str, Any]) -> None:
        object.__setattr__(self, "_row", row)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._row[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._row[name] = value


def _transient(model: type[Base], row: dict[str, Any]) -> Any:  # noqa: ARG001 - names the kind
    return _RowView(row)


@dataclass
class WalkCache:
    """What batches of one bulk load share: the holders of each queue's roles per body (who a
    queue's new task notifies) and the meetings read. Keep one for one load only."""

    queues: dict[tuple[int, tuple[str, ...]], list[User]] = field(default_factory=dict)
    meetings: dict[int, Meeting] = field(default_factory=dict)


class _Walker:
    def __init__(
        self,
        session: Session,
        organisation: Organisation,
        client: str,
        bundles: Bundles,
        confirmed: bool,
        cache: WalkCache,
    ) -> None:
        self.session = session
        self.org = organisation
        self.client = client
        self.bundles = bundles
        self.confirmed = confirmed
        self.lookups = Lookups(session, organisation.id)
        self.writes = _Writes(session)
        self.now = utcnow()
        self.meetings = cache.meetings
        self.sections: dict[tuple[int, int], int] = {}
        self.queues = cache.queues
        self.users: dict[int, User] = {}
        hooks = session.execute(
            select(Webhook.__table__)
            .where(Webhook.organisation_id == organisation.id, Webhook.active.is_(True))
            .order_by(Webhook.id)
        )
        self.webhooks = [dict(h._mapping) for h in hooks]
        self.result = WalkResult()

    # loading -------------------------------------------------------------------------------
    def lock_proposals(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The proposals' rows, locked in id order (the proposal first, as every write path)."""
        table: Table = Proposal.__table__  # type: ignore[assignment]
        proposals: dict[int, dict[str, Any]] = {}
        for part in chunks(ids):
            query = (
                select(table)
                .where(table.c.id.in_(list(part)), table.c.organisation_id == self.org.id)
                .order_by(table.c.id)
            )
            if self.session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update()
            proposals.update({r.id: dict(r._mapping) for r in self.session.execute(query)})
        return proposals

    def load(self, plan: Sequence[tuple[int, Sequence[Step]]]) -> dict[int, _Case]:
        session = self.session
        ids = sorted({pid for pid, _ in plan})
        proposals = self.lock_proposals(ids)
        missing = [pid for pid in ids if pid not in proposals]
        if missing:
            raise BulkWalkRefused(
                Text(
                    N_("There is no proposal %(id)s in %(organisation)s."),
                    {"id": missing[0], "organisation": self.org.code},
                )
            )
        assessments = {
            (a["proposal_id"], a["revision"]): a
            for a in _rows(session, Assessment, "proposal_id", ids)
        }
        kinds: dict[str, dict[int, list[dict[str, Any]]]] = {}
        for name, model in (
            ("screening", Screening),
            ("alternatives", Alternative),
            ("answers", Answer),
            ("mitigations", Mitigation),
            ("indicators", FollowUpIndicator),
        ):
            by_assessment: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for r in _rows(session, model, "proposal_id", ids):
                by_assessment[r["assessment_id"]].append(r)
            kinds[name] = by_assessment
        tasks: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in _rows(session, Assignment, "proposal_id", ids):
            if r["state"] == AssignmentState.OPEN:
                tasks[r["proposal_id"]].append(r)
        follow_ups: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in _rows(session, FollowUp, "proposal_id", ids):
            follow_ups[r["proposal_id"]].append(r)
        meeting_ids = [p["meeting_id"] for p in proposals.values() if p["meeting_id"]]
        for r in _rows(session, Meeting, "id", [m for m in meeting_ids if m not in self.meetings]):
            self.meetings[r["id"]] = _transient(Meeting, r)
        self.lookups.load_users({s.actor for _, steps in plan for s in steps})
        people = {p[k] for p in proposals.values() for k in ("preparer_id", "presenter_id")}
        for part in chunks(sorted(people - set(self.users))):
            for user in self.session.scalars(select(User).where(User.id.in_(list(part)))):
                self.users[user.id] = user
        cases: dict[int, _Case] = {}
        for pid in ids:
            row = proposals[pid]
            assessment = assessments.get((pid, row["revision"]))
            if assessment is None:  # pragma: no cover - created with every revision
                raise BulkWalkRefused(Text(N_("Proposal %(id)s has no assessment."), {"id": pid}))
            rows = {name: by[assessment["id"]] for name, by in kinds.items()}
            bundle, digest = self.bundles(row["workflow_name"], row["workflow_version"])
            cases[pid] = _Case(
                proposal=_transient(Proposal, row),
                row=row,
                assessment=assessment,
                snap=AssessmentSnapshot(
                    screening=_transient(Screening, rows["screening"][0])
                    if rows["screening"]
                    else None,
                    alternatives=[
                        _transient(Alternative, r)
                        for r in sorted(rows["alternatives"], key=lambda r: r["position"])
                    ],
                    answers=[_transient(Answer, r) for r in rows["answers"]],
                    mitigations=[_transient(Mitigation, r) for r in rows["mitigations"]],
                    indicators=[_transient(FollowUpIndicator, r) for r in rows["indicators"]],
                ),
                rows=rows,
                open_tasks=tasks[pid],
                follow_ups=follow_ups[pid],
                bundle=bundle,
                digest=digest,
            )
        return cases

    # events ---------------------------------------------------------------------------------
    def actor(self, username: str) -> tuple[User, Actor]:
        user = self.lookups.user(username)
        if user is None or not user.active:
            raise BulkWalkRefused(
                Text(N_("There is no active user %(username)s."), {"username": username})
            )
        self.users[user.id] = user
        return user, Actor(user.id, user.username, self.client)

    def event(
        self,
        case: _Case,
        actor: Actor,
        role: str | None,
        model: type[Audited],
        row: dict[str, Any],
        *,
        action: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        reason: str | None = None,
        created: bool = False,
    ) -> None:
        if created:
            after = event_shapes.created(model, row)
        organisation = row.get("organisation_id")
        proposal = row["id"] if model is Proposal else row.get("proposal_id")
        self.writes.events.append(
            _Event(
                actor=actor,
                role=role,
                action=action or f"{model.__audit_name__}.{'create' if created else 'update'}",
                model=model,
                entity_id=row["id"],
                organisation_id=organisation,
                proposal_id=proposal,
                chain=case.row["organisation_id"],
                before=before,
                after=after,
                reason=reason,
            )
        )

    def touch(self, case: _Case) -> None:
        """The aggregate changed: its row version and time move (no event: both ignored)."""
        case.row["row_version"] += 1
        case.row["updated_at"] = self.now
        case.proposal.row_version = case.row["row_version"]
        self.writes.changed(Proposal, case.row, _PROPOSAL_COLUMNS)

    # editing ---------------------------------------------------------------------------------
    def editor(self, case: _Case, username: str, _doing: str) -> tuple[User, Actor, str]:
        user, actor = self.actor(username)
        held = self.lookups.roles_for(user, case.row["body_id"])
        role = next((r for r in (Role.PREPARER, Role.EXPERT) if r in held), None)
        if role is None:
            raise PermissionDenied(
                Text(
                    N_("%(username)s cannot do this: it needs the role preparer or expert."),
                    {"username": username},
                )
            )
        if not case.bundle.workflow.state(case.row["state"]).editable:
            raise PermissionDenied(
                Text(
                    N_(
                        "The assessment of proposal %(id)s cannot be edited in its state %(state)s."
                    ),
                    {"id": case.row["id"], "state": case.row["state"]},
                )
            )
        return user, actor, role.value

    @staticmethod
    def check(case: _Case, step: Screen | Document, what: str) -> None:
        problems = step.check(case.bundle) if step.check is not None else []
        if problems:
            raise InvalidInput(
                Text(N_("Proposal %(id)s: %(what)s."), {"id": case.row["id"], "what": what}),
                problems,
            )

    def screen(self, case: _Case, step: Screen) -> None:
        user, actor, role = self.editor(case, step.actor, "record the screening")
        self.check(case, step, "the screening was not recorded")
        values = {**step.values, "recorded_by_id": user.id, "recorded_at": self.now}
        stored = case.rows["screening"]
        if stored:
            old = dict(stored[0])
            stored[0].update(values)
            before, after = event_shapes.changed(Screening, old, stored[0])
            if not after:
                return
            self.writes.changed(Screening, stored[0], values)
            self.event(case, actor, role, Screening, stored[0], before=before, after=after)
        else:
            row = self.writes.new(
                Screening,
                {"assessment_id": case.assessment["id"], "proposal_id": case.row["id"], **values},
            )
            stored.append(row)
            self.event(case, actor, role, Screening, row, created=True)
        case.snap.screening = _transient(Screening, stored[0])
        self.touch(case)

    def document(self, case: _Case, step: Document) -> None:
        _, actor, role = self.editor(case, step.actor, "edit the assessment")
        self.check(case, step, "the assessment was not imported: nothing was changed")
        if any(case.rows[k] for k in ("alternatives", "answers", "mitigations", "indicators")):
            raise BulkWalkRefused(
                Text(
                    N_(
                        "The assessment of proposal %(id)s has rows already: import the "
                        "document through the interactive path."
                    ),
                    {"id": case.row["id"]},
                )
            )
        base = {"assessment_id": case.assessment["id"], "proposal_id": case.row["id"]}
        changed = False
        if step.summary != case.assessment["summary"]:
            before = {"summary": case.assessment["summary"]}
            case.assessment["summary"] = step.summary
            self.writes.changed(Assessment, case.assessment, ["summary"])
            self.event(
                case,
                actor,
                role,
                Assessment,
                case.assessment,
                before=before,
                after={"summary": step.summary},
            )
            changed = True
        alternatives: dict[int, dict[str, Any]] = {}
        for values in step.alternatives:
            row = self.writes.new(Alternative, {**base, **values})
            alternatives[row["position"]] = row
            self.event(case, actor, role, Alternative, row, created=True)
        for kind, model, items in (
            ("answers", Answer, step.answers),
            ("mitigations", Mitigation, step.mitigations),
            ("indicators", FollowUpIndicator, step.indicators),
        ):
            for given in items:
                values = dict(given)
                if "alternative" in values:
                    position = values.pop("alternative")
                    values["alternative_id"] = (
                        alternatives[position]["id"] if position is not None else None
                    )
                row = self.writes.new(model, {**base, **values})
                case.rows[kind].append(row)
                self.event(case, actor, role, model, row, created=True)
        case.rows["alternatives"].extend(alternatives.values())
        case.snap.alternatives = [
            _transient(Alternative, r)
            for r in sorted(case.rows["alternatives"], key=lambda r: r["position"])
        ]
        case.snap.answers = [_transient(Answer, r) for r in case.rows["answers"]]
        case.snap.mitigations = [_transient(Mitigation, r) for r in case.rows["mitigations"]]
        case.snap.indicators = [_transient(FollowUpIndicator, r) for r in case.rows["indicators"]]
        if (
            changed
            or alternatives
            or any(case.rows[k] for k in ("answers", "mitigations", "indicators"))
        ):
            self.touch(case)

    # workflow steps --------------------------------------------------------------------------
    def fire(self, case: _Case, step: Fire) -> None:
        user, actor = self.actor(step.actor)
        proposal = case.proposal
        meeting = self.meetings.get(case.row["meeting_id"]) if case.row["meeting_id"] else None
        follow_ups = [_transient(FollowUp, r) for r in case.follow_ups]
        ctx = FlowContext(
            proposal=proposal,
            actor_id=user.id,
            actor_roles=self.lookups.roles_for(user, case.row["body_id"]),
            bundle=case.bundle,
            load_assessment=lambda: case.snap,
            meeting=meeting,
            reason=(step.reason or "").strip() or None,
            load_follow_ups=lambda: follow_ups,
        )
        old = dict(case.row)
        route = engine.select_route(ctx, step.trigger)
        if route.reauthenticate and not self.confirmed:
            raise PermissionDenied(
                Text(N_("The step %(step)s needs re-authentication."), {"step": step.trigger})
            )
        transition, flow = engine.fire(ctx, route, case.digest)
        role = next(r for r in transition.roles if r in ctx.actor_roles).value
        case.row["state"] = proposal.state
        self.effects(case, actor, role, flow.effects)
        before, after = event_shapes.changed(Proposal, old, case.row)
        self.touch(case)
        self.event(
            case,
            actor,
            role,
            Proposal,
            case.row,
            action="proposal.transition",
            before=before,
            after={**after, "trigger": step.trigger},
            reason=ctx.reason,
        )
        self.notices(case, actor, transition, old["state"], flow.effects, ctx.reason)

    def effects(self, case: _Case, actor: Actor, role: str, effects: Sequence[Effect]) -> None:
        row = case.row
        for effect in effects:
            if isinstance(effect, CloseAssignments):
                named = [k for k in effect.kinds if k != "*"]
                still: list[dict[str, Any]] = []
                for task in case.open_tasks:
                    if task["kind"] in named:
                        state = AssignmentState.DONE
                    elif "*" in effect.kinds:
                        state = AssignmentState.CANCELLED
                    else:
                        still.append(task)
                        continue
                    old = dict(task)
                    task["state"], task["closed_at"] = state, self.now
                    before, after = event_shapes.changed(Assignment, old, task)
                    self.writes.changed(Assignment, task, ("state", "closed_at"))
                    self.event(case, actor, role, Assignment, task, before=before, after=after)
                case.open_tasks = still
            elif isinstance(effect, OpenAssignment):
                assignee = {
                    "preparer": row["preparer_id"],
                    "presenter": row["presenter_id"],
                    "queue": None,
                }[effect.assignee]
                task = self.writes.new(
                    Assignment,
                    {
                        "organisation_id": row["organisation_id"],
                        "proposal_id": row["id"],
                        "kind": effect.kind,
                        "assignee_id": assignee,
                        "roles": [r.value for r in effect.roles],
                        "due": (self.now + timedelta(days=effect.due_days)).date(),
                        "state": AssignmentState.OPEN,
                        "created_at": self.now,
                    },
                )
                case.open_tasks.append(task)
                self.event(case, actor, role, Assignment, task, created=True)
                self.assignment_made(case, actor, task)
            elif isinstance(effect, SetOutcome):
                row["outcome"] = case.proposal.outcome = effect.outcome
            elif isinstance(effect, OpenFollowUps):
                self.open_follow_ups(case, actor, role, effect)
            elif isinstance(effect, SimpleEffect):
                self.simple(case, effect.do)

    def simple(self, case: _Case, action: str) -> None:
        row = case.row
        if action == "clear_outcome":
            row["outcome"] = None
        elif action == "clear_meeting":
            row["meeting_id"] = row["agenda_position"] = None
            row["section_year"] = row["section_number"] = None
        elif action == "assign_section":
            meeting = self.meetings.get(row["meeting_id"]) if row["meeting_id"] else None
            if meeting is not None and row["section_number"] is None:
                year = meeting.starts_at.year
                key = (row["body_id"], year)
                if key not in self.sections:
                    self.sections[key] = int(
                        self.session.scalar(
                            select(func.max(Proposal.section_number)).where(
                                Proposal.body_id == row["body_id"], Proposal.section_year == year
                            )
                        )
                        or 0
                    )
                self.sections[key] += 1
                row["section_year"], row["section_number"] = year, self.sections[key]
        elif action == "new_revision":
            raise BulkWalkRefused(
                Text(
                    N_(
                        "The bulk walk does not start new revisions: return the proposal for "
                        "new preparation through the interactive path."
                    )
                )
            )

    def open_follow_ups(self, case: _Case, actor: Actor, role: str, effect: OpenFollowUps) -> None:
        row = case.row
        followed = {f["indicator_id"] for f in case.follow_ups}
        responsible = row["preparer_id"] if effect.assignee == "preparer" else row["presenter_id"]
        for indicator in case.rows["indicators"]:
            if indicator["id"] in followed:
                continue
            follow_up = self.writes.new(
                FollowUp,
                {
                    "organisation_id": row["organisation_id"],
                    "proposal_id": row["id"],
                    "assessment_id": case.assessment["id"],
                    "indicator_id": indicator["id"],
                    "kind": effect.kind,
                    "responsible_id": responsible,
                    "due": indicator["due"],
                    "created_at": self.now,
                },
            )
            case.follow_ups.append(follow_up)
            self.event(case, actor, role, FollowUp, follow_up, created=True)

    # notifications ---------------------------------------------------------------------------
    def person(self, user_id: int | None) -> User | None:
        if user_id is None:
            return None
        if user_id not in self.users:
            found = self.session.get(User, user_id)
            if found is None:
                return None
            self.users[user_id] = found
        return self.users[user_id]

    def message(
        self,
        case: _Case,
        actor: Actor,
        kind: NotificationKind,
        users: Iterable[User],
        details: dict[str, Any],
    ) -> None:
        """One event of ``db.outbox.write_event``: a message per active user, one per webhook."""
        event_id = str(uuid.uuid4())
        payload = {
            "event_id": event_id,
            "kind": kind.value,
            "occurred_at": self.now.isoformat(),
            "organisation": self.org.code,
            "actor": actor.name,
            "proposal": proposal_payload(case.proposal),
            **details,
        }
        common = {
            "event_id": event_id,
            "organisation_id": case.row["organisation_id"],
            "proposal_id": case.row["id"],
            "kind": kind,
            "payload": payload,
            "state": DeliveryState.PENDING,
            "attempts": 0,
            "next_attempt_at": self.now,
            "created_at": self.now,
        }
        seen: set[int] = set()
        for user in users:
            if user.id in seen or not user.active:
                continue
            seen.add(user.id)
            values = {**common, "channel": Channel.EMAIL, "recipient_id": user.id}
            if not user.email:
                values |= {
                    "state": DeliveryState.DEAD,
                    "last_error": f"user {user.username} has no email address",
                }
            self.writes.new(OutboxMessage, values, numbered=False)
            self.result.outbox += 1
        for hook in self.webhooks:
            if hook["kinds"] and kind.value not in hook["kinds"]:
                continue
            self.writes.new(
                OutboxMessage,
                {**common, "channel": Channel.WEBHOOK, "webhook_id": hook["id"]},
                numbered=False,
            )
            self.result.outbox += 1

    def assignment_made(self, case: _Case, actor: Actor, task: dict[str, Any]) -> None:
        if task["assignee_id"] is not None:
            person = self.person(task["assignee_id"])
            users = [person] if person is not None else []
        else:
            key = (case.row["body_id"], tuple(task["roles"]))
            if key not in self.queues:
                self.queues[key] = list(
                    holders_of(self.session, self.org.id, case.row["body_id"], task["roles"])
                )
            users = self.queues[key]
        assignee = self.person(task["assignee_id"])
        details = {
            "assignment": {
                "id": task["id"],
                "kind": task["kind"],
                "assignee": assignee.username if assignee else None,
                "roles": list(task["roles"]),
                "due": task["due"].isoformat() if task["due"] else None,
            }
        }
        self.pending_notices.append((case, actor, NotificationKind.ASSIGNMENT_MADE, users, details))

    def notices(
        self,
        case: _Case,
        actor: Actor,
        transition: Transition,
        from_state: str,
        effects: Sequence[Effect],
        reason: str | None,
    ) -> None:
        """``notifications.notices.after_transition`` and the outbox hook of the tasks the step
        opened, with the proposal as the step left it."""
        row = case.row
        public = case.proposal.publicity.value == "public"
        step = {
            "trigger": transition.trigger,
            "from_state": from_state,
            "to_state": row["state"],
            "reason": reason if public else None,
        }
        preparer = self.person(row["preparer_id"])
        presenter = self.person(row["presenter_id"])
        for kind in (NotificationKind.RETURNED, NotificationKind.SIGNED_OFF):
            if kind in transition.notify:
                users = [u for u in (preparer,) if u is not None]
                self.message(case, actor, kind, users, {"transition": step})
        outcomes = [e.outcome for e in effects if isinstance(e, SetOutcome)]
        if outcomes and NotificationKind.OUTCOME_RECORDED in transition.notify:
            users = [u for u in (preparer, presenter) if u is not None]
            self.message(
                case,
                actor,
                NotificationKind.OUTCOME_RECORDED,
                users,
                {"transition": step, "outcome": outcomes[-1].value},
            )
        for pending in self.pending_notices:
            self.message(*pending)
        self.pending_notices.clear()

    pending_notices: list[tuple[_Case, Actor, NotificationKind, list[User], dict[str, Any]]]

    # the batch -------------------------------------------------------------------------------
    def run(self, plan: Sequence[tuple[int, Sequence[Step]]]) -> WalkResult:
        self.pending_notices = []
        cases = self.load(plan)
        for pid, steps in plan:
            case = cases[pid]
            for step in steps:
                if isinstance(step, Fire):
                    self.fire(case, step)
                elif isinstance(step, Screen):
                    self.screen(case, step)
                else:
                    self.document(case, step)
                self.result.steps += 1
        rows, events = self.writes.write(self.now)
        self.result.rows += rows
        self.result.events += events
        return self.result


def walk(
    session: Session,
    organisation: Organisation,
    plan: Sequence[tuple[int, Sequence[Step]]],
    *,
    client: str,
    bundles: Bundles,
    confirmed: bool = False,
    cache: WalkCache | None = None,
) -> WalkResult:
    """Take every proposal's steps (``plan``: proposal id and its steps, in order) in the
    session's transaction; the caller commits. Raises before writing anything when a step is
    not allowed (its guard's findings, a missing role, a refused step)."""
    return _Walker(session, organisation, client, bundles, confirmed, cache or WalkCache()).run(
        plan
    )
