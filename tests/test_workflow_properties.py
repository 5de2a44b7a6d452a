"""A stateful property test of the workflow through the service layer.

Random actors (every role's user, the preparer, another preparer, a foreign organisation's
user, a disabled user, the shell operator) fire random triggers, record screenings, edit
answers, import documents, reassign tasks, schedule and withdraw proposals and create new ones,
against a reference model built from the published workflow bundle (tests/property_support.py).
After every step: the stored state and open tasks are the model's, a refused operation changed
nothing (no row version, no assignment, no audit event), an accepted one wrote its audit
events (the ``proposal.transition`` event with its trigger; an event for every row it changed),
the new events link into an intact chain, no review task is held or done by the proposal's
preparer, at most one task per kind is open, a final state holds no open task. Each example
ends with a walk of the whole chain (``trail.verify``).

Each backend's migrated database gets one world (a municipality with a user per role, a foreign
organisation, a disabled user) and a pool of proposals in every state, inside one outer
transaction; every example runs in a savepoint that is rolled back, so each starts from the
same pool in milliseconds.

Profiles (registered below; no example database, so nothing is written to .hypothesis/):

* ``eva-workflow``, the suite: examples of up to 10 steps; ``make test`` runs 100 on SQLite and
  25 on PostgreSQL, .ci/run (``EVA_PROPERTY_PROFILE=ci``) 200 and 50.
* ``eva-workflow-long``: 2,000 examples of up to 50 steps on each backend, chosen with
  ``EVA_PROPERTY_PROFILE=long .venv/bin/pytest tests/test_workflow_properties.py``.

Both draw new examples every run (a derandomized suite ran the same examples every time and
missed a four-eyes defect that random runs of the same size found); the engine is
deterministic, so a failure is a defect, never a flicker. A failure
prints its shrunk steps with what the model expected at each, and a ``@reproduce_failure``
blob; ``--hypothesis-seed=N`` repeats a whole run."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Connection, Engine, func, select

from eva_engine.config import default_workflows_dir
from eva_engine.db.audit import event_hash
from eva_engine.db.unit_of_work import Database
from eva_engine.errors import EvaError, GuardFailed, InvalidInput
from eva_engine.models import Assignment, AuditChainHead, AuditEvent, Organisation, Proposal
from eva_engine.services.assessment import documents, screening
from eva_engine.services.assessment.documents import AnswerIn, AssessmentDocument
from eva_engine.services.history import trail
from eva_engine.services.people import accounts, users
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.runtime import Caller, Eva
from eva_engine.services.steps import assignments, transitions
from eva_engine.vocabulary import (
    AffectedGroup,
    Certainty,
    Direction,
    Duration,
    Magnitude,
    Role,
    ScreeningOutcome,
)
from eva_engine.workflow.definition import Transition
from tests import builders
from tests.property_support import (
    Directory,
    Doc,
    Grant,
    Person,
    ProposalModel,
    Refusal,
    ScreeningRecord,
    Task,
    WorkflowModel,
    document_is_invalid,
)

# PostgreSQL too: random paths through every SQL statement of the services
pytestmark = pytest.mark.postgres

# profiles ----------------------------------------------------------------------------------
PROFILE_VARIABLE = "EVA_PROPERTY_PROFILE"
settings.register_profile(
    "eva-workflow",
    max_examples=200,
    stateful_step_count=10,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "eva-workflow-long",
    max_examples=2000,
    stateful_step_count=50,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILES = {
    "": "eva-workflow",
    "default": "eva-workflow",
    "ci": "eva-workflow",
    "long": "eva-workflow-long",
}
# Share of the profile's examples per backend. `make test` (no profile) runs half of them on
# SQLite; .ci/run (`ci`) all of them; PostgreSQL (a server round trip per statement) a quarter
# of those.
SUITE_SHARE = {
    "": {"sqlite": 0.5, "postgresql": 0.125},
    "default": {"sqlite": 0.5, "postgresql": 0.125},
    "ci": {"sqlite": 1.0, "postgresql": 0.25},
}


def chosen_profile(dialect: str) -> settings:
    wanted = os.environ.get(PROFILE_VARIABLE, "")
    if wanted not in PROFILES:
        pytest.fail(f"{PROFILE_VARIABLE}={wanted!r}: use 'ci' or 'long', or leave it unset")
    profile = settings.get_profile(PROFILES[wanted])
    if wanted not in SUITE_SHARE:
        return profile
    return settings(profile, max_examples=int(profile.max_examples * SUITE_SHARE[wanted][dialect]))


# who acts ----------------------------------------------------------------------------------
DISABLED = "gone"  # held preparer and expert roles, then the account was disabled
USERS = ["outsider", DISABLED, *builders.PEOPLE]
# An actor is a part in the proposal ("@preparer" and "@presenter": its own; "@secretary" and
# "@expert": someone holding that role for its body, never its preparer), anyone by name, or
# None: the shell operator.
PARTS = ["@preparer", "@presenter", "@secretary", "@expert"]
ACTORS: list[str | None] = [*PARTS, "outsider", None, DISABLED, *builders.PEOPLE]
# Who a task is handed to: people who can take some task first.
LIKELY_ASSIGNEES = ["@preparer", "prep2", "@secretary", "@expert", "director", "@presenter"]
REASONS = [None, "", "   ", "Perustelu."]
VERSIONS = ["none", "current", "stale", "none", "none"]  # the expected_version a caller sends


def mostly(likely: Sequence[str], anything: Sequence[str | None]) -> st.SearchStrategy[str | None]:
    """Half the time someone likely to be allowed, else anyone (so both paths are walked)."""
    return st.one_of(st.sampled_from(likely), st.sampled_from(anything))


def caller(actor: str | None, *, confirmed: bool = True) -> Caller:
    return Caller(actor, "tests", confirmed=confirmed)


# what the database holds -------------------------------------------------------------------
@dataclass(frozen=True)
class ProposalRow:
    state: str
    row_version: int
    revision: int
    meeting_id: int | None
    section: tuple[int | None, int | None]
    outcome: str | None
    preparer_id: int


@dataclass(frozen=True)
class TaskRow:
    proposal_id: int
    kind: str
    assignee_id: int | None
    roles: tuple[str, ...]
    state: str


@dataclass(frozen=True)
class Snapshot:
    proposals: dict[int, ProposalRow]
    tasks: dict[int, TaskRow]
    proposal_count: int
    last_seq: int
    last_hash: str


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    action: str
    entity: tuple[str, str]
    proposal_id: int | None
    actor_id: int | None
    actor_name: str
    role: str | None
    reason: str | None
    before: dict[str, Any]
    after: dict[str, Any]


# the world, once per backend ---------------------------------------------------------------
@dataclass
class Environment:
    connection: Connection
    eva: Eva
    model: WorkflowModel
    user_ids: dict[str, int]
    meetings: dict[str, int]  # body code: a meeting of it
    documents: dict[str, AssessmentDocument]
    questions: list[str]  # question ids answer edits use (and one no checklist has)
    pool: dict[int, ProposalModel] = field(default_factory=dict)

    @property
    def names(self) -> dict[int, str]:
        return {v: k for k, v in self.user_ids.items()}


def read_directory(eva: Eva) -> tuple[Directory, dict[str, int]]:
    """The people as the world was built (grants read back as data; the model scopes them)."""
    people, ids = [], {}
    with eva.reading() as uow:
        repos = uow.repos
        orgs = {o.id: o.code for o in repos.organisations()}
        for user in repos.users():
            grants = []
            for g in repos.grants(user.id):
                body = repos.body(g.body_id) if g.body_id else None
                grants.append(Grant(orgs[g.organisation_id], g.role, body.code if body else None))
            people.append(Person(user.username, tuple(grants), user.active))
            ids[user.username] = user.id
    return Directory(people), ids


def make_documents(eva: Eva) -> dict[str, AssessmentDocument]:
    light, full = ScreeningOutcome.LIGHT, ScreeningOutcome.FULL
    first = builders.required_questions(eva, light)[0][1]
    complete = builders.document(eva, light)
    two_chosen = complete.model_copy(
        update={
            "alternatives": [a.model_copy(update={"chosen": True}) for a in complete.alternatives]
        }
    )
    unknown = complete.model_copy(
        update={
            "answers": [
                complete.answers[0].model_copy(update={"question": "no.such.question"}),
                *complete.answers[1:],
            ]
        }
    )
    return {
        "light": complete,
        "full": builders.document(eva, full),
        "light-without-indicators": builders.document(eva, light, indicators=False),
        "light-unmitigated": builders.document(eva, light, negative=first, mitigate=False),
        "light-mitigated": builders.document(eva, light, negative=first),
        "light-incomplete": builders.document(eva, light, skip=3),
        "two-chosen": two_chosen,
        "unknown-question": unknown,
    }


@contextmanager
def environment(engine: Engine) -> Iterator[Environment]:
    with engine.connect() as connection:
        outer = connection.begin()
        try:
            eva = Eva(Database(connection), default_workflows_dir())
            builders.build_world(eva)
            users.create_user(
                eva, builders.OPERATOR, users.CreateUser(username=DISABLED, full_name="Gone")
            )
            for role in (Role.PREPARER, Role.EXPERT):
                users.grant_role(
                    eva,
                    builders.OPERATOR,
                    users.GrantRole(username=DISABLED, organisation=builders.ORG, role=role),
                )
            accounts.set_active(eva, builders.OPERATOR, DISABLED, active=False)
            directory, ids = read_directory(eva)
            bundle = builders.bundle(eva)  # the published bundle, read back from the database
            model = WorkflowModel(bundle, directory)
            light = [q for _, q in builders.required_questions(eva, ScreeningOutcome.LIGHT)]
            full = [q for _, q in builders.required_questions(eva, ScreeningOutcome.FULL)]
            optional = [q for q in model.questions if q not in full]
            env = Environment(
                connection=connection,
                eva=eva,
                model=model,
                user_ids=ids,
                meetings={b: builders.meeting_id(eva, b) for b in ("KH", "HYVLTK", "TEKLTK")},
                documents=make_documents(eva),
                questions=[
                    *light,
                    *[q for q in full if q not in light][:1],
                    *optional[:1],
                    "no.such.question",
                ],
            )
            build_pool(env)
            yield env
        finally:
            outer.rollback()


# the pool: proposals walked to every state by the same checked steps -----------------------
Path = list[tuple[str, ...]]
PREPARE_LIGHT: Path = [
    ("fire", "preparer", "start_screening"),
    ("screen", "light"),
    ("fire", "preparer", "begin_assessment"),
]
REVIEW_LIGHT: Path = [
    *PREPARE_LIGHT,
    ("import", "light"),
    ("fire", "preparer", "submit_for_review"),
]
REVIEWED: Path = [*REVIEW_LIGHT, ("fire", "reviewer", "pass_review")]
SIGNED_OFF: Path = [*REVIEWED, ("fire", "presenter", "sign_off")]
ON_AGENDA: Path = [*SIGNED_OFF, ("schedule",), ("fire", "secretary", "place_on_agenda")]
# The preparer of most is prep_expert, who also holds the expert (reviewer) role: four eyes.
POOL: list[tuple[str, str, str, str, Path]] = [
    # the state it is walked to, preparer, presenter, body, path
    ("draft", "prep", "pres", "HYVLTK", []),
    ("screening", "prep_expert", "pres", "HYVLTK", [("fire", "preparer", "start_screening")]),
    (
        "assessment",
        "prep_expert",
        "pres",
        "HYVLTK",
        [*PREPARE_LIGHT, ("import", "light-unmitigated")],
    ),
    ("assessment", "tek", "pres", "TEKLTK", [*PREPARE_LIGHT, ("import", "light-incomplete")]),
    ("review", "prep_expert", "pres", "HYVLTK", REVIEW_LIGHT),
    (
        "review",
        "prep_expert",
        "pres",
        "HYVLTK",
        [
            ("fire", "preparer", "start_screening"),
            ("screen", "exempt"),
            ("fire", "preparer", "submit_for_review"),
        ],
    ),
    ("reviewed", "director", "director", "HYVLTK", REVIEWED),
    ("signed_off", "prep_expert", "pres", "HYVLTK", SIGNED_OFF),
    ("on_agenda", "prep", "pres", "HYVLTK", ON_AGENDA),
    (
        "decided",
        "prep",
        "pres",
        "KH",
        [
            *PREPARE_LIGHT,
            ("import", "light-without-indicators"),
            ("fire", "preparer", "submit_for_review"),
            ("fire", "reviewer", "pass_review"),
            ("fire", "presenter", "sign_off"),
            ("schedule",),
            ("fire", "secretary", "place_on_agenda"),
            ("fire", "secretary", "approve"),
        ],
    ),
]


def build_pool(env: Environment) -> None:
    driver = Driver(env, {}, in_example=False)
    for state, preparer, presenter, body, path in POOL:
        pid = driver.create(preparer, presenter, body)
        assert pid is not None, state
        p = driver.models[pid]
        secretary = "sec_tek" if body == "TEKLTK" else "sec"
        people = {
            "preparer": preparer,
            "presenter": presenter,
            "reviewer": secretary,
            "secretary": secretary,
        }
        for action, *args in path:
            if action == "fire":
                done = driver.fire(pid, people[args[0]], args[1], "Perustelu.")
            elif action == "screen":
                done = driver.screen_as(pid, preparer, ScreeningOutcome(args[0]))
            elif action == "import":
                done = driver.import_document(pid, preparer, args[0])
            else:
                done = driver.schedule(pid, secretary, body)
            assert done, f"pool {state}: {action} {args} was refused"
        assert p.state == state
        driver.check_invariants()
    env.pool = driver.models


# one example's steps -----------------------------------------------------------------------
class Driver:
    """Performs one operation: asks the model what must happen, calls the service, checks
    the outcome and the database against the model, then moves the model on."""

    def __init__(
        self, env: Environment, models: dict[int, ProposalModel], *, in_example: bool = True
    ) -> None:
        self.in_example = in_example  # hypothesis notes and events only inside an example
        self.env = env
        self.eva = env.eva
        self.model = env.model
        self.models = models
        self.ids = env.user_ids
        self.names = env.names
        self.last = self.snapshot()

    # reading ----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """What the rows hold now, read on the test's connection between two service calls
        (plain selects: no unit of work, so reading writes nothing)."""
        pids = sorted(self.models)
        db = self.env.connection
        p, a = Proposal.__table__.c, Assignment.__table__.c
        found = {
            row.id: ProposalRow(
                state=row.state,
                row_version=row.row_version,
                revision=row.revision,
                meeting_id=row.meeting_id,
                section=(row.section_year, row.section_number),
                outcome=row.outcome.value if row.outcome else None,
                preparer_id=row.preparer_id,
            )
            for row in db.execute(
                select(
                    p.id,
                    p.state,
                    p.row_version,
                    p.revision,
                    p.meeting_id,
                    p.section_year,
                    p.section_number,
                    p.outcome,
                    p.preparer_id,
                ).where(p.id.in_(pids))
            )
        }
        tasks = {
            row.id: TaskRow(
                row.proposal_id, row.kind, row.assignee_id, tuple(row.roles), row.state.value
            )
            for row in db.execute(
                select(a.id, a.proposal_id, a.kind, a.assignee_id, a.roles, a.state).where(
                    a.proposal_id.in_(pids)
                )
            )
        }
        count = select(func.count()).select_from(Proposal.__table__).scalar_subquery()
        head = db.execute(
            select(AuditChainHead.last_seq, AuditChainHead.last_hash, count.label("proposals"))
            .join(Organisation, Organisation.id == AuditChainHead.chain_id)
            .where(Organisation.code == builders.ORG)  # the chain the proposals' events are in
        ).one()
        return Snapshot(found, tasks, head.proposals, head.last_seq, head.last_hash)

    def events_since(self, before: Snapshot, after: Snapshot) -> list[StoredEvent]:
        """The events written since ``before``: each one's hash is its content's, each links to
        the one before it, and the chain head names the last (the rest of the chain was intact
        already; the whole chain is walked again at the end of every example)."""
        rows = [
            AuditEvent(**row._mapping)
            for row in self.env.connection.execute(
                select(AuditEvent.__table__)
                .join(Organisation, Organisation.id == AuditEvent.__table__.c.chain_id)
                .where(Organisation.code == builders.ORG)
                .where(AuditEvent.__table__.c.seq > before.last_seq)
                .order_by(AuditEvent.__table__.c.seq)
            )
        ]
        seq, link = before.last_seq, before.last_hash
        for ev in rows:
            assert (ev.seq, ev.prev_hash) == (seq + 1, link), f"event {ev.seq} does not link"
            assert event_hash(ev) == ev.hash, f"event {ev.seq} does not match its hash"
            seq, link = ev.seq, ev.hash
        assert (after.last_seq, after.last_hash) == (seq, link), "the chain head is not the last"
        return [
            StoredEvent(
                seq=e.seq,
                action=e.action,
                entity=(e.entity_type, e.entity_id),
                proposal_id=e.proposal_id,
                actor_id=e.actor_id,
                actor_name=e.actor_name,
                role=e.actor_role,
                reason=e.reason,
                before=json.loads(e.before) if e.before else {},
                after=json.loads(e.after) if e.after else {},
            )
            for e in rows
        ]

    def who(self, pid: int, actor: str | None) -> str | None:
        """The user an actor stands for in the proposal (see ACTORS)."""
        if actor is None or not actor.startswith("@"):
            return actor
        p = self.models[pid]
        if actor == "@preparer":
            return p.preparer
        if actor == "@presenter":
            return p.presenter
        role = Role(actor[1:])
        people = self.model.people
        return next(
            u
            for u in USERS
            if u != p.preparer
            and people.active(u)
            and role in people.roles(u, p.organisation, p.body)
        )

    def version(self, pid: int, mode: str) -> int | None:
        current = self.last.proposals[pid].row_version
        return {"none": None, "current": current, "stale": current + 1}[mode]

    # the protocol of every step ---------------------------------------------------------
    def note(self, text: str) -> None:
        if self.in_example:
            note(text)

    def event(self, text: str) -> None:
        if self.in_example:
            event(text)

    def attempt(
        self,
        what: str,
        expected: Refusal | None,
        call: Callable[[], object],
        *,
        pid: int | None,
        changes: bool = True,
    ) -> tuple[object, list[StoredEvent]] | None:
        """Run ``call``; None if it was refused (as the model said it must be), else its result
        and the audit events it wrote."""
        before = self.last
        self.note(f"{what}: model expects {'refusal: ' + expected.why if expected else 'success'}")
        refused: EvaError | None = None
        try:
            result = call()
        except EvaError as exc:
            refused = exc
        if refused is not None:
            assert expected is not None, f"{what} was refused, the model allows it: {refused!r}"
            assert isinstance(refused, expected.errors), (
                f"{what} was refused with {type(refused).__name__} ({refused}); the model "
                f"expects {'/'.join(e.__name__ for e in expected.errors)}: {expected.why}"
            )
            assert self.snapshot() == before, f"{what} was refused but changed the database"
            self.event(f"refused: {type(refused).__name__}")
            return None
        assert expected is None, f"{what} succeeded; the model expects a refusal: {expected.why}"
        self.last = after = self.snapshot()
        events = self.events_since(before, after)
        if not changes:
            assert (after.proposals, after.tasks) == (before.proposals, before.tasks), (
                f"{what} changed nothing in the model but rows changed"
            )
            assert events == [], f"{what} changed nothing but wrote {events}"
            return result, events
        assert events, f"{what} was accepted but wrote no audit event"
        if pid is not None:
            assert after.proposals[pid].row_version > before.proposals[pid].row_version, (
                f"{what} did not raise the row version of proposal {pid}"
            )
            foreign = [e for e in events if e.proposal_id != pid]
            assert not foreign, f"{what} on proposal {pid} wrote events of others: {foreign}"
        self.check_changes_audited(what, before, after, events)
        return result, events

    def check_changes_audited(
        self, what: str, before: Snapshot, after: Snapshot, events: list[StoredEvent]
    ) -> None:
        entities = {e.entity for e in events}
        for tid, task in after.tasks.items():
            if before.tasks.get(tid) != task:
                assert ("assignment", str(tid)) in entities, (
                    f"{what} changed assignment {tid} without an audit event"
                )
        for pid, row in after.proposals.items():
            old = before.proposals.get(pid)
            if old is None or (old.state, old.revision, old.meeting_id, old.section) != (
                row.state,
                row.revision,
                row.meeting_id,
                row.section,
            ):
                assert ("proposal", str(pid)) in entities, (
                    f"{what} changed proposal {pid} without an audit event"
                )
        for e in events:
            if e.entity[0] != "assignment" or e.after.get("state") != "done":
                continue
            task = after.tasks[int(e.entity[1])]
            if task.kind in self.model.four_eyes_kinds:
                preparer = after.proposals[task.proposal_id].preparer_id
                assert e.actor_id != preparer, f"{what}: the preparer closed their own review"

    # operations -------------------------------------------------------------------------
    def fire(
        self,
        pid: int,
        actor: str | None,
        trigger: str,
        reason: str | None,
        *,
        confirmed: bool = True,
        version: str = "none",
    ) -> bool:
        p = self.models[pid]
        verdict = self.model.judge(
            p, actor, trigger, reason, confirmed=confirmed, stale=version == "stale"
        )
        expected = verdict if isinstance(verdict, Refusal) else None
        from_state = p.state
        done = self.attempt(
            f"{actor} fires {trigger} on {pid} ({from_state})",
            expected,
            lambda: transitions.fire(
                self.eva,
                caller(actor, confirmed=confirmed),
                pid,
                trigger,
                reason=reason,
                expected_version=self.version(pid, version),
            ),
            pid=pid,
        )
        if done is None:
            return False
        assert isinstance(verdict, Transition)
        _, events = done
        steps = [e for e in events if e.action == "proposal.transition"]
        assert len(steps) == 1, f"{trigger} wrote {len(steps)} proposal.transition events"
        step = steps[0]
        assert step.entity == ("proposal", str(pid))
        assert step.after.get("trigger") == trigger
        assert (step.before.get("state"), step.after.get("state")) == (from_state, verdict.dest)
        assert step.actor_name == actor
        assert step.role in {r.value for r in verdict.roles}
        assert step.reason == ((reason or "").strip() or None)
        self.model.take(p, verdict)
        self.event(f"accepted: {trigger}")
        return True

    def screen(
        self,
        pid: int,
        actor: str | None,
        record: ScreeningRecord,
        criteria: list[str],
        version: str = "none",
    ) -> bool:
        p = self.models[pid]
        expected = self.model.judge_edit(
            p, actor, stale=version == "stale"
        ) or self.model.judge_screening(record, criteria)
        done = self.attempt(
            f"{actor} records screening {record} on {pid} ({p.state})",
            expected,
            lambda: screening.record_screening(
                self.eva,
                caller(actor),
                screening.RecordScreening(
                    proposal_id=pid,
                    outcome=record.outcome,
                    criteria=criteria,
                    exemption=record.exemption,
                    reason=record.reason,
                    participation_plan=record.participation_plan,
                    expected_version=self.version(pid, version),
                ),
            ),
            pid=pid,
        )
        if done is None:
            return False
        p.screening = ScreeningRecord(
            record.outcome,
            record.exemption,
            (record.reason or "").strip() or None,
            (record.participation_plan or "").strip() or None,
        )
        return True

    def screen_as(self, pid: int, actor: str, depth: ScreeningOutcome) -> bool:
        """A valid screening of ``depth`` (as builders.screen records it)."""
        if depth == ScreeningOutcome.EXEMPT:
            record = ScreeningRecord(depth, "filling_post", "Viran täyttö.", None)
            return self.screen(pid, actor, record, [])
        plan = "Kuulemistilaisuus." if depth == ScreeningOutcome.FULL else None
        return self.screen(pid, actor, ScreeningRecord(depth, None, None, plan), ["many_residents"])

    def answers(
        self,
        pid: int,
        actor: str | None,
        answers: list[AnswerIn],
        cleared: list[tuple[str, int]],
        version: str = "none",
    ) -> bool:
        p = self.models[pid]
        verdict = self.model.judge_edit(p, actor, stale=version == "stale") or (
            self.model.judge_answers(p, answers, cleared)
        )
        expected = verdict if isinstance(verdict, Refusal) else None
        changes = isinstance(verdict, Doc) and verdict != p.doc
        done = self.attempt(
            f"{actor} saves answers {answers} clearing {cleared} on {pid} ({p.state})",
            expected,
            lambda: documents.save_answers(
                self.eva,
                caller(actor),
                pid,
                answers,
                cleared,
                expected_version=self.version(pid, version),
            ),
            pid=pid,
            changes=changes,
        )
        if done is None:
            return False
        assert isinstance(verdict, Doc)
        p.doc = verdict
        return True

    def import_document(
        self, pid: int, actor: str | None, variant: str, version: str = "none"
    ) -> bool:
        p = self.models[pid]
        doc = self.env.documents[variant]
        expected = self.model.judge_edit(p, actor, stale=version == "stale")
        if expected is None:
            why = document_is_invalid(doc, set(self.model.questions))
            expected = Refusal((InvalidInput,), why) if why else None
        new = Doc.of(doc)
        done = self.attempt(
            f"{actor} imports {variant} into {pid} ({p.state})",
            expected,
            lambda: documents.import_assessment(
                self.eva, caller(actor), pid, doc, expected_version=self.version(pid, version)
            ),
            pid=pid,
            changes=new != p.doc,
        )
        if done is None:
            return False
        p.doc = new
        return True

    def reassign(
        self,
        pid: int,
        actor: str | None,
        task_id: int,
        assignee: str,
        reason: str | None,
        version: str = "none",
    ) -> bool:
        p = self.models[pid]
        row = self.last.tasks[task_id]
        task = Task(row.kind, self.names.get(row.assignee_id or -1), row.roles)
        is_open = row.state == "open"
        expected = self.model.judge_reassign(
            p, actor, task, is_open, assignee, stale=version == "stale"
        )
        done = self.attempt(
            f"{actor} reassigns {row.kind} task {task_id} of {pid} ({row.state}) to {assignee}",
            expected,
            lambda: assignments.reassign(
                self.eva,
                caller(actor),
                assignments.Reassign(
                    assignment_id=task_id,
                    assignee=assignee,
                    reason=reason,
                    expected_version=self.version(pid, version),
                ),
            ),
            pid=pid,
        )
        if done is None:
            return False
        assert ("assignment", str(task_id)) in {e.entity for e in done[1]}
        p.tasks[p.tasks.index(task)] = Task(task.kind, assignee, task.roles)
        return True

    def schedule(self, pid: int, actor: str | None, body: str, version: str = "none") -> bool:
        p = self.models[pid]
        expected = self.model.judge_schedule(p, actor, body, stale=version == "stale")
        meeting = self.env.meetings[body]
        done = self.attempt(
            f"{actor} schedules {pid} ({p.state}) for a {body} meeting",
            expected,
            lambda: proposal_commands.schedule(
                self.eva,
                caller(actor),
                proposal_commands.ScheduleProposal(
                    proposal_id=pid,
                    meeting_id=meeting,
                    expected_version=self.version(pid, version),
                ),
            ),
            pid=pid,
            changes=p.meeting != meeting,
        )
        if done is None:
            return False
        p.meeting = meeting
        return True

    def create(self, actor: str | None, presenter: str, body: str) -> int | None:
        expected = self.model.judge_create(builders.ORG, actor, presenter, body)
        builders._counter["case"] += 1
        number = builders._counter["case"]

        def call() -> int:
            view = proposal_commands.create_proposal(
                self.eva,
                caller(actor),
                proposal_commands.CreateProposal(
                    organisation=builders.ORG,
                    case_number=f"{number}/05.00.00/2026",
                    title_fi=f"Ominaisuustesti {number}",
                    body=body,
                    presenter=presenter,
                ),
            )
            self.models[view.id] = ProposalModel(
                pid=view.id,
                organisation=builders.ORG,
                body=body,
                preparer=str(actor),
                presenter=presenter,
                state=self.model.workflow.initial,
                tasks=[Task(self.model.initial_task, actor)],
            )
            return view.id

        before = self.last.proposal_count
        done = self.attempt(f"{actor} creates a {body} proposal", expected, call, pid=None)
        if done is None:
            return None
        pid = done[0]
        assert isinstance(pid, int)
        assert self.last.proposal_count == before + 1
        return pid

    # after every step -------------------------------------------------------------------
    def check_invariants(self) -> None:
        snap = self.last
        states = self.model.states
        open_tasks: Counter[tuple[int, str]] = Counter()
        for tid, task in snap.tasks.items():
            if task.state == "open":
                open_tasks[(task.proposal_id, task.kind)] += 1
                preparer = snap.proposals[task.proposal_id].preparer_id
                if task.kind in self.model.four_eyes_kinds:
                    assert task.assignee_id != preparer, f"review task {tid} held by the preparer"
        doubled = [key for key, n in open_tasks.items() if n > 1]
        assert not doubled, f"more than one open task of a kind: {doubled}"
        for pid, p in self.models.items():
            row = snap.proposals[pid]
            assert row.state in states, (
                f"proposal {pid} is in {row.state}, no state of the workflow"
            )
            assert row.state == p.state, f"proposal {pid} is {row.state}, the model says {p.state}"
            assert (row.revision, row.meeting_id, row.outcome) == (p.revision, p.meeting, p.outcome)
            assert (row.section[1] is not None) == p.section, f"proposal {pid} §: {row.section}"
            stored = sorted(
                (t.kind, self.names.get(t.assignee_id or -1), t.roles)
                for t in snap.tasks.values()
                if t.proposal_id == pid and t.state == "open"
            )
            modelled = sorted((t.kind, t.assignee, t.roles) for t in p.tasks)
            assert stored == modelled, f"proposal {pid} tasks {stored}, the model {modelled}"
            if states[p.state].final:
                assert not stored, f"proposal {pid} is {p.state} but has open tasks {stored}"

    def check_chain(self) -> None:
        result = trail.verify(self.eva)
        assert result.ok, f"the audit chain does not verify: {result.problem}"
        heads = {c.chain_id: c for c in result.chains}
        assert result.verified == sum(c.verified for c in heads.values())  # every event, once
        own = trail.verify(self.eva, chain_id=trail.organisation_chain(self.eva, builders.ORG))
        assert own.ok
        assert own.verified == self.snapshot().last_seq  # the proposals' chain, every event


# the machine -------------------------------------------------------------------------------
def workflow_machine(env: Environment) -> type[RuleBasedStateMachine]:
    model = env.model
    triggers = model.triggers
    actors = mostly(PARTS, ACTORS)
    editors = mostly(["@preparer", "@expert"], ACTORS)
    versions = st.sampled_from(VERSIONS)
    reasons = st.sampled_from(REASONS)
    bodies = st.sampled_from(sorted(env.meetings))

    class WorkflowMachine(RuleBasedStateMachine):
        proposals = Bundle("proposals")

        def __init__(self) -> None:
            super().__init__()
            self.savepoint = env.connection.begin_nested()
            self.driver = Driver(env, {pid: p.copy() for pid, p in env.pool.items()})
            self.created = 0

        @initialize(
            target=proposals,
            picks=st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=2, unique=True),
        )
        def pool(self, picks: list[int]) -> object:
            """A few proposals of the pool to work on (the others are checked all the same)."""
            pids = sorted(self.driver.models)
            return multiple(*(pids[i] for i in picks))

        @rule(
            pid=proposals,
            actor=actors,
            trigger=st.sampled_from(triggers),
            reason=reasons,
            confirmed=st.booleans(),
            version=versions,
        )
        def fire(
            self,
            pid: int,
            actor: str | None,
            trigger: str,
            reason: str | None,
            confirmed: bool,
            version: str,
        ) -> None:
            self.driver.fire(
                pid,
                self.driver.who(pid, actor),
                trigger,
                reason,
                confirmed=confirmed,
                version=version,
            )

        @rule(pid=proposals, data=st.data())
        def advance(self, pid: int, data: st.DataObject) -> None:
            """A step the model allows (so proposals travel far), or an edit that helps."""
            self._advance(pid, data)

        @rule(pid=proposals, data=st.data())
        def advance_again(self, pid: int, data: st.DataObject) -> None:
            self._advance(pid, data)

        def _advance(self, pid: int, data: st.DataObject) -> None:
            pid = self.live(pid)
            p = self.driver.models[pid]
            allowed = self.onward(p)
            # Onward; a step that ends the proposal only where there is no other (the other
            # rules end proposals often enough).
            onward = sorted(k for k in allowed if k[0] != "final") or sorted(allowed)
            if not onward:
                return
            kind, *args = choice = data.draw(st.sampled_from(onward), label="step")
            actor = data.draw(st.sampled_from(allowed[choice]), label="actor")
            if kind in ("fire", "final"):
                assert self.driver.fire(pid, actor, args[0], "Perustelu.")
            elif kind == "screen":
                assert self.driver.screen_as(pid, actor, ScreeningOutcome(args[0]))
            elif kind == "import":
                assert self.driver.import_document(pid, actor, args[0])
            else:
                assert self.driver.schedule(pid, actor, p.body)

        def onward(self, p: ProposalModel) -> dict[tuple[str, ...], list[str]]:
            """What the model allows on the proposal now, and who may do it: every step
            ("fire", or "final" where it ends the proposal), and the edits and the scheduling
            that the guards ahead need."""
            named = USERS
            allowed: dict[tuple[str, ...], list[str]] = {}
            for trigger in triggers:
                if not model.routes(p.state, trigger):
                    continue
                for actor in named:
                    verdict = model.judge(p, actor, trigger, "Perustelu.", confirmed=True)
                    if isinstance(verdict, Transition):
                        final = model.states[verdict.dest].final
                        key = ("final" if final else "fire", trigger)
                        allowed.setdefault(key, []).append(actor)
            editors = [a for a in named if model.judge_edit(p, a, stale=False) is None]
            if editors and p.screening is None:
                for depth in ScreeningOutcome:
                    allowed[("screen", depth.value)] = editors
            if editors and not (p.doc.alternatives and model.complete(p)):
                full = p.screening and p.screening.outcome == ScreeningOutcome.FULL
                for variant in ["full"] if full else ["light", "light-mitigated"]:
                    allowed[("import", variant)] = editors
            secretaries = [
                a for a in named if model.judge_schedule(p, a, p.body, stale=False) is None
            ]
            if p.meeting is None and secretaries:
                allowed[("schedule",)] = secretaries
            return allowed

        @rule(pid=proposals, data=st.data())
        def near_step(self, pid: int, data: st.DataObject) -> None:
            """A trigger of some proposal's state, half the time by someone allowed (or at least
            holding a role for it), with or without a reason, confirmed or not, with the
            current version, a stale one or none."""
            self._near(pid, data)

        @rule(pid=proposals, data=st.data())
        def near_step_again(self, pid: int, data: st.DataObject) -> None:
            self._near(pid, data)

        @rule(pid=proposals, data=st.data())
        def near_step_once_more(self, pid: int, data: st.DataObject) -> None:
            self._near(pid, data)

        @rule(pid=proposals, data=st.data())
        def near_step_and_again(self, pid: int, data: st.DataObject) -> None:
            self._near(pid, data)

        def _near(self, pid: int, data: st.DataObject) -> None:
            # Every state alike: a state some proposal is in, then one of those proposals.
            models = self.driver.models
            live = {p.state for p in models.values() if not model.states[p.state].final}
            if live:
                state = data.draw(st.sampled_from(sorted(live)), label="state")
                pid = data.draw(
                    st.sampled_from(sorted(q for q, p in models.items() if p.state == state)),
                    label="proposal",
                )
            p = models[pid]
            here = [t for t in triggers if model.routes(p.state, t)] or triggers
            # Steps that end the proposal count once, the others twice (proposals live longer).
            ending = [
                t for t in here if all(model.states[r.dest].final for r in model.routes(p.state, t))
            ]
            onward = [t for t in here if t not in ending]
            trigger = data.draw(st.sampled_from([*onward, *ending, *onward]), label="trigger")
            # Who may take the step, or at least holds a role for it (a guard may be unmet).
            allowed = [
                a
                for a in USERS
                if isinstance(
                    verdict := model.judge(p, a, trigger, "Perustelu.", confirmed=True), Transition
                )
                or GuardFailed in verdict.errors
            ]
            # One allowed, the proposal's own preparer (four eyes), a part in it, or anyone.
            by = data.draw(st.sampled_from(["allowed", "@preparer", "part", "anyone"]), label="by")
            actor: str | None = by
            if by == "allowed":
                actor = data.draw(st.sampled_from(allowed or PARTS), label="actor")
            elif by == "part":
                actor = data.draw(st.sampled_from(PARTS), label="actor")
            elif by == "anyone":
                actor = data.draw(st.sampled_from(ACTORS), label="actor")
            reason = data.draw(st.sampled_from(["Perustelu.", "Perustelu.", "", None]))
            confirmed = data.draw(st.booleans(), label="confirmed")
            version = data.draw(st.sampled_from(["none", "none", "current", "stale"]))
            self.driver.fire(
                pid,
                self.driver.who(pid, actor),
                trigger,
                reason,
                confirmed=confirmed,
                version=version,
            )

        @rule(data=st.data())
        def reauthenticated_step(self, data: st.DataObject) -> None:
            """A step whose actor must prove again who they are (the presenter's sign-off), on
            a proposal where it has a route: by one allowed or a part, confirmed or not."""
            models = self.driver.models
            candidates = sorted(
                (pid, trigger)
                for pid, p in models.items()
                for trigger in model.confirmed_triggers
                if model.routes(p.state, trigger)
            )
            if not candidates:
                return
            pid, trigger = data.draw(st.sampled_from(candidates), label="proposal and step")
            p = models[pid]
            allowed = [
                a
                for a in USERS
                if isinstance(model.judge(p, a, trigger, "Perustelu.", confirmed=True), Transition)
            ]
            actor = data.draw(st.sampled_from(allowed or PARTS) | st.sampled_from(PARTS))
            confirmed = data.draw(st.booleans(), label="confirmed")
            self.driver.fire(
                pid, self.driver.who(pid, actor), trigger, "Perustelu.", confirmed=confirmed
            )

        @rule(
            pid=proposals,
            actor=editors,
            question=st.sampled_from(env.questions),
            alternative=st.integers(0, 2),
            direction=st.sampled_from(Direction),
            magnitude=st.none() | st.sampled_from(Magnitude),
            duration=st.none() | st.sampled_from(Duration),
            certainty=st.none() | st.sampled_from(Certainty),
            justification=st.sampled_from([None, "", "  ", "Perusteltu.", "Toinen perustelu."]),
            groups=st.lists(st.sampled_from(AffectedGroup), max_size=2, unique=True),
            version=versions,
            editing=st.booleans(),
        )
        def edit_answer(
            self,
            pid: int,
            actor: str | None,
            question: str,
            alternative: int,
            direction: Direction,
            magnitude: Magnitude | None,
            duration: Duration | None,
            certainty: Certainty | None,
            justification: str | None,
            groups: list[AffectedGroup],
            version: str,
            editing: bool,
        ) -> None:
            pid = self.editable(pid, answered=True) if editing else pid
            answer = AnswerIn(
                question=question,
                alternative=alternative,
                direction=direction,
                magnitude=magnitude,
                duration=duration,
                certainty=certainty,
                justification=justification,
                affected_groups=groups,
            )
            self.driver.answers(pid, self.driver.who(pid, actor), [answer], [], version)

        @rule(
            pid=proposals,
            actor=editors,
            question=st.sampled_from(env.questions),
            alternative=st.integers(0, 2),
            editing=st.booleans(),
        )
        def clear_answer(
            self, pid: int, actor: str | None, question: str, alternative: int, editing: bool
        ) -> None:
            pid = self.editable(pid, answered=True) if editing else pid
            self.driver.answers(pid, self.driver.who(pid, actor), [], [(question, alternative)])

        @rule(
            pid=proposals,
            actor=editors,
            outcome=st.sampled_from(ScreeningOutcome),
            exemption=st.sampled_from([None, "filling_post", "other", "no_such_exemption"]),
            reason=st.sampled_from([None, "", "Viran täyttö."]),
            plan=st.sampled_from([None, " ", "Kuulemistilaisuus."]),
            criteria=st.lists(
                st.sampled_from(["many_residents", "staff", "no_such_criterion"]), max_size=2
            ),
            version=versions,
            editing=st.booleans(),
        )
        def record_screening(
            self,
            pid: int,
            actor: str | None,
            outcome: ScreeningOutcome,
            exemption: str | None,
            reason: str | None,
            plan: str | None,
            criteria: list[str],
            version: str,
            editing: bool,
        ) -> None:
            pid = self.editable(pid) if editing else pid
            record = ScreeningRecord(outcome, exemption, reason, plan)
            self.driver.screen(pid, self.driver.who(pid, actor), record, criteria, version)

        @rule(
            pid=proposals,
            actor=editors,
            variant=st.sampled_from(sorted(v for v in env.documents if v != "full")),
            version=versions,
            editing=st.booleans(),
        )
        def import_document(
            self, pid: int, actor: str | None, variant: str, version: str, editing: bool
        ) -> None:
            pid = self.editable(pid) if editing else pid
            self.driver.import_document(pid, self.driver.who(pid, actor), variant, version)

        @rule(
            actor=mostly(["@holder", "@secretary"], ACTORS),
            closed=st.integers(0, 4).map(lambda n: n == 2),
            assignee=st.one_of(st.just("@preparer"), mostly(LIKELY_ASSIGNEES, USERS)),
            reason=st.sampled_from([None, "Lomalla."]),
            version=versions,
            data=st.data(),
        )
        def reassign(
            self,
            actor: str | None,
            closed: bool,
            assignee: str,
            reason: str | None,
            version: str,
            data: st.DataObject,
        ) -> None:
            """Hand a task over (every kind of task alike; mostly open ones, sometimes a closed
            one): by its holder ("@holder"; for a queue, a secretary) or anyone else, to the
            proposal's preparer (four eyes for a review) or anyone else."""
            self._reassign(actor, closed, assignee, reason, version, data)

        @rule(
            actor=mostly(["@holder", "@secretary"], ACTORS),
            closed=st.integers(0, 4).map(lambda n: n == 2),
            assignee=st.one_of(st.just("@preparer"), mostly(LIKELY_ASSIGNEES, USERS)),
            reason=st.sampled_from([None, "Lomalla."]),
            version=versions,
            data=st.data(),
        )
        def reassign_again(
            self,
            actor: str | None,
            closed: bool,
            assignee: str,
            reason: str | None,
            version: str,
            data: st.DataObject,
        ) -> None:
            self._reassign(actor, closed, assignee, reason, version, data)

        def _reassign(
            self,
            actor: str | None,
            closed: bool,
            assignee: str,
            reason: str | None,
            version: str,
            data: st.DataObject,
        ) -> None:
            tasks = [
                (tid, t)
                for tid, t in sorted(self.driver.last.tasks.items())
                if (t.state != "open") == closed
            ]
            if not tasks:
                return
            kind = data.draw(st.sampled_from(sorted({t.kind for _, t in tasks})), label="kind")
            tid = data.draw(st.sampled_from([i for i, t in tasks if t.kind == kind]), label="task")
            task = self.driver.last.tasks[tid]
            pid = task.proposal_id
            if actor == "@holder":
                actor = self.driver.names[task.assignee_id] if task.assignee_id else "@secretary"
            to = self.driver.who(pid, assignee) or assignee
            self.driver.reassign(pid, self.driver.who(pid, actor), tid, to, reason, version)

        @rule(data=st.data())
        def four_eyes(self, data: st.DataObject) -> None:
            """The proposal's preparer, holding a role that could review it, takes a step with
            the four-eyes guard, or is handed an open task they may never hold (by its holder
            or a secretary)."""
            people, models, tasks = model.people, self.driver.models, self.driver.last.tasks
            steps = [
                ("step", pid, trigger)
                for pid, p in sorted(models.items())
                for trigger in triggers
                if any(
                    "reviewer_is_not_preparer" in route.guards
                    and model.roles(p, p.preparer) & set(route.roles)
                    for route in model.routes(p.state, trigger)
                )
            ]
            handovers = [
                ("handover", t.proposal_id, str(tid))
                for tid, t in sorted(tasks.items())
                if t.state == "open"
                and t.kind in model.four_eyes_kinds
                and (p := models[t.proposal_id])
                and people.roles(p.preparer, p.organisation, p.body)
                & ({Role(r) for r in t.roles} or model.kind_roles.get(t.kind, frozenset()))
            ]
            if not steps + handovers:
                return
            what, pid, which = data.draw(st.sampled_from(steps + handovers), label="four eyes")
            preparer = models[pid].preparer
            if what == "step":
                self.driver.fire(pid, preparer, which, "Perustelu.")
                return
            task = tasks[int(which)]
            holder = self.driver.names[task.assignee_id] if task.assignee_id else None
            actor = holder or self.driver.who(pid, "@secretary")
            self.driver.reassign(pid, actor, int(which), preparer, None)

        def live(self, pid: int) -> int:
            """The proposal, or if it has ended, one that has not (if any)."""
            models = self.driver.models
            found = sorted(q for q, p in models.items() if not model.states[p.state].final)
            if not model.states[models[pid].state].final or not found:
                return pid
            return found[sorted(models).index(pid) % len(found)]

        def editable(self, pid: int, *, answered: bool = False) -> int:
            """A proposal whose assessment can be edited (and has alternatives), if any."""
            models = self.driver.models
            found = sorted(
                q
                for q, p in models.items()
                if model.states[p.state].editable and (p.doc.alternatives or not answered)
            )
            # By place, not by id: ids differ between runs (PostgreSQL's sequences go on).
            return found[sorted(models).index(pid) % len(found)] if found else pid

        @rule(pid=proposals, actor=mostly(["@secretary"], ACTORS), body=bodies, version=versions)
        def schedule(self, pid: int, actor: str | None, body: str, version: str) -> None:
            self.driver.schedule(pid, self.driver.who(pid, actor), body, version)

        @precondition(lambda self: self.created < 3)
        @rule(
            target=proposals,
            actor=mostly(["prep", "prep2", "tek", "director"], ACTORS[4:]),
            presenter=mostly(["pres", "director"], USERS),
            body=bodies,
        )
        def create_proposal(self, actor: str | None, presenter: str, body: str) -> object:
            self.created += 1
            pid = self.driver.create(actor, presenter, body)
            return multiple() if pid is None else pid

        @invariant()
        def agrees_with_the_model(self) -> None:
            self.driver.check_invariants()

        def teardown(self) -> None:
            try:
                self.driver.check_chain()
            finally:
                self.savepoint.rollback()

    return WorkflowMachine


def test_random_steps_keep_every_workflow_invariant(migrated_engine: Engine) -> None:
    """Hundreds of random runs (the ``eva-workflow`` profile) on each backend."""
    profile = chosen_profile(migrated_engine.dialect.name)
    with environment(migrated_engine) as env:
        run_state_machine_as_test(workflow_machine(env), settings=profile)
