"""A reference model of a published workflow for the stateful property test
(tests/test_workflow_properties.py).

The model is built from the published bundle: its states (editable, final, decided), routes,
roles, reasons, guards, effects, task kinds (roles, four eyes), initial task and re-authenticated
steps are read from the definition, never listed here. What the definition only *names*
(a guard, a routing condition) is given a small independent meaning below, written from
docs/workflow.md rather than copied from ``eva_engine.workflow.guards``; a definition that names
one the model does not know is refused at once, so the model never silently ignores a rule.

For every operation the model answers: refused (and with which errors), or accepted (and what
the proposal and its open tasks then are)."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from eva_engine.errors import (
    Conflict,
    EvaError,
    GuardFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from eva_engine.services.assessment.documents import AnswerIn, AssessmentDocument
from eva_engine.vocabulary import Direction, Magnitude, Role, ScreeningOutcome
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


@dataclass(frozen=True)
class Refusal:
    """The operation must fail with one of ``errors`` and change nothing."""

    errors: tuple[type[EvaError], ...]
    why: str


def refuse(error: type[EvaError], why: str) -> Refusal:
    return Refusal((error,), why)


# people ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grant:
    organisation: str
    role: Role
    body: str | None = None


@dataclass(frozen=True)
class Person:
    username: str
    grants: tuple[Grant, ...]
    active: bool = True


class Directory:
    """Who holds which roles where, as the test set them up."""

    def __init__(self, people: Iterable[Person]) -> None:
        self.people = {p.username: p for p in people}

    def active(self, username: str) -> bool:
        person = self.people.get(username)
        return person is not None and person.active

    def roles(self, username: str, organisation: str, body: str) -> frozenset[Role]:
        person = self.people.get(username)
        if person is None:
            return frozenset()
        return frozenset(
            g.role
            for g in person.grants
            if g.organisation == organisation and g.body in (None, body)
        )

    def any_role(self, username: str, organisation: str) -> bool:
        person = self.people.get(username)
        return person is not None and any(g.organisation == organisation for g in person.grants)


# the assessment ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    direction: Direction
    magnitude: Magnitude | None
    duration: str | None
    certainty: str | None
    evidence_source: str | None
    affected_groups: tuple[str, ...]
    justification: str | None

    @classmethod
    def of(cls, answer: AnswerIn) -> Cell:
        return cls(
            direction=Direction(answer.direction),
            magnitude=Magnitude(answer.magnitude) if answer.magnitude else None,
            duration=answer.duration.value if answer.duration else None,
            certainty=answer.certainty.value if answer.certainty else None,
            evidence_source=answer.evidence_source,
            affected_groups=tuple(sorted(g.value for g in answer.affected_groups)),
            justification=answer.justification,
        )


@dataclass(frozen=True)
class Doc:
    """One assessment revision, keyed as the import keys it (alternative position; question
    and alternative; mitigation question and alternative; indicator name)."""

    summary: str | None = None
    alternatives: tuple[tuple[int, str, str | None, bool], ...] = ()
    answers: tuple[tuple[tuple[str, int], Cell], ...] = ()
    mitigations: tuple[tuple[tuple[str, int | None], str, str | None], ...] = ()
    indicators: tuple[tuple[str, str | None, str, date, str | None], ...] = ()

    @classmethod
    def of(cls, doc: AssessmentDocument) -> Doc:
        return cls(
            summary=doc.summary,
            alternatives=tuple(
                sorted((a.position, a.title, a.description, a.chosen) for a in doc.alternatives)
            ),
            answers=tuple(
                sorted(
                    (((a.question, a.alternative), Cell.of(a)) for a in doc.answers),
                    key=lambda kv: kv[0],
                )
            ),
            mitigations=tuple(
                sorted(
                    [
                        ((m.question, m.alternative), m.description, m.responsible)
                        for m in doc.mitigations
                    ],
                    key=lambda m: (m[0][0], -1 if m[0][1] is None else m[0][1]),
                )
            ),
            indicators=tuple(
                sorted(
                    (i.name, i.source, i.responsible, i.due, i.question)
                    for i in doc.follow_up_indicators
                )
            ),
        )

    @property
    def positions(self) -> set[int]:
        return {a[0] for a in self.alternatives}

    @property
    def cells(self) -> dict[tuple[str, int], Cell]:
        return dict(self.answers)

    def with_answers(self, answers: Sequence[AnswerIn], cleared: Iterable[tuple[str, int]]) -> Doc:
        replaced = {(a.question, a.alternative) for a in answers} | set(cleared)
        cells = {k: v for k, v in self.answers if k not in replaced}
        cells.update({(a.question, a.alternative): Cell.of(a) for a in answers})
        return Doc(
            summary=self.summary,
            alternatives=self.alternatives,
            answers=tuple(sorted(cells.items(), key=lambda kv: kv[0])),
            mitigations=self.mitigations,
            indicators=self.indicators,
        )


def document_is_invalid(  # noqa: PLR0911, PLR0912 - one return per rule
    doc: AssessmentDocument, questions: set[str]
) -> str | None:
    """Why the service must refuse to store the document (references and rules a schema
    cannot check), or None. Written from the document format's description."""
    positions = [a.position for a in doc.alternatives]
    if len(positions) != len(set(positions)):
        return "an alternative position is used twice"
    if sum(a.chosen for a in doc.alternatives) > 1:
        return "more than one alternative is chosen"
    cells = Counter((a.question, a.alternative) for a in doc.answers)
    for answer in doc.answers:
        if answer.question not in questions:
            return f"unknown question {answer.question}"
        if answer.alternative not in positions:
            return f"no alternative {answer.alternative}"
        if cells[(answer.question, answer.alternative)] > 1:
            return "a cell is answered twice"
        if answer.direction in (Direction.NONE, Direction.UNKNOWN) and answer.magnitude:
            return f"direction {answer.direction} with a magnitude"
    pairs = Counter((m.question, m.alternative) for m in doc.mitigations)
    for mitigation in doc.mitigations:
        if mitigation.question not in questions:
            return f"a mitigation of unknown question {mitigation.question}"
        if mitigation.alternative is not None and mitigation.alternative not in positions:
            return f"a mitigation of no alternative {mitigation.alternative}"
        if pairs[(mitigation.question, mitigation.alternative)] > 1:
            return "a mitigation twice"
    names = Counter(i.name for i in doc.follow_up_indicators)
    for indicator in doc.follow_up_indicators:
        if indicator.question is not None and indicator.question not in questions:
            return f"an indicator of unknown question {indicator.question}"
        if names[indicator.name] > 1:
            return f"indicator {indicator.name} twice"
    return None


@dataclass(frozen=True)
class ScreeningRecord:
    outcome: ScreeningOutcome
    exemption: str | None
    reason: str | None
    participation_plan: str | None


# proposals ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """An open assignment: its kind, the named assignee (None: a queue) and the queue's roles."""

    kind: str
    assignee: str | None
    roles: tuple[str, ...] = ()


@dataclass
class ProposalModel:
    pid: int
    organisation: str
    body: str
    preparer: str
    presenter: str
    state: str
    revision: int = 1
    meeting: int | None = None
    section: bool = False
    outcome: str | None = None
    screening: ScreeningRecord | None = None
    doc: Doc = field(default_factory=Doc)
    tasks: list[Task] = field(default_factory=list)
    follow_ups: int = 0  # open follow-ups (no rule here records one: a closing guard holds)

    def copy(self) -> ProposalModel:
        return copy.deepcopy(self)


# the workflow ------------------------------------------------------------------------------
Predicate = Callable[[ProposalModel, str], bool]


class WorkflowModel:
    """What the workflow definition (plus the service rules around it) allows."""

    def __init__(self, bundle: WorkflowBundle, people: Directory) -> None:
        self.bundle = bundle
        self.workflow = bundle.workflow
        self.people = people
        self.states = {s.id: s for s in self.workflow.states}
        self.triggers = sorted({t.trigger for t in self.workflow.transitions})
        self.questions = {q.id: q for c in bundle.checklists for _, _, q in c.questions()}
        self.guards: dict[str, Predicate] = {
            "screening_recorded": lambda p, _: p.screening is not None,
            "screening_requires_assessment": lambda p, _: not _exempt(p),
            "screening_is_exempt": lambda p, _: p.screening is None or _exempt(p),
            "participation_plan_for_full": lambda p, _: (
                not (
                    _depth(p) == ScreeningOutcome.FULL
                    and not (p.screening and (p.screening.participation_plan or "").strip())
                )
            ),
            "chosen_alternative_marked": lambda p, _: sum(a[3] for a in p.doc.alternatives) == 1,
            "required_questions_answered": lambda p, _: self.complete(p),
            "significant_negatives_mitigated": lambda p, _: _mitigated(p.doc),
            "follow_up_indicators_named": lambda p, _: (
                _depth(p) != ScreeningOutcome.FULL or bool(p.doc.indicators)
            ),
            "follow_up_indicators_exist": lambda p, _: bool(p.doc.indicators),
            "reviewer_is_not_preparer": lambda p, actor: actor != p.preparer,
            "actor_is_presenter": lambda p, actor: actor == p.presenter,
            "meeting_scheduled": lambda p, _: p.meeting is not None,
            "follow_ups_settled": lambda p, _: p.follow_ups == 0,
        }
        self.conditions: dict[str, Callable[[ProposalModel], bool]] = {
            "screening_exempt": _exempt,
            "has_follow_up_indicators": lambda p: bool(p.doc.indicators),
        }
        unknown = sorted(
            {g for t in self.workflow.transitions for g in t.guards} - set(self.guards)
        ) + sorted(
            {c for t in self.workflow.transitions for c in [*t.when, *t.unless]}
            - set(self.conditions)
        )
        if unknown:
            raise AssertionError(f"the reference model does not know {', '.join(unknown)}")
        # What the definition declares beside its routes: task kinds (who takes a named task
        # over; which the preparer may never hold), the initial task, the steps whose actor
        # proves again who they are, the states where the body has decided.
        self.kind_roles = {k.id: frozenset(k.roles) for k in self.workflow.task_kinds}
        self.four_eyes_kinds = {k.id for k in self.workflow.task_kinds if k.four_eyes}
        self.initial_task = self.workflow.initial_task.kind
        self.confirmed_triggers = frozenset(
            t.trigger for t in self.workflow.transitions if t.reauthenticate
        )
        self.unschedulable = {s.id for s in self.workflow.states if s.final or s.phase == "decided"}

    # the assessment's completeness, from the checklists' required questions --------------
    def complete(self, p: ProposalModel) -> bool:
        depth = _depth(p)
        if depth is None or depth == ScreeningOutcome.EXEMPT:
            return True
        cells = p.doc.cells
        for question in self.questions.values():
            if not question.required_for(depth):
                continue
            for position in p.doc.positions:
                cell = cells.get((question.id, position))
                if cell is None:
                    return False
                if cell.direction in (Direction.POSITIVE, Direction.NEGATIVE):
                    if cell.magnitude is None or not (cell.justification or "").strip():
                        return False
                    if depth == ScreeningOutcome.FULL and (
                        cell.duration is None or cell.certainty is None
                    ):
                        return False
        return True

    # access -----------------------------------------------------------------------------
    def reach(self, p: ProposalModel, actor: str | None, *, named: bool = True) -> Refusal | None:
        """Who may see the proposal at all (every proposal of the test is public)."""
        if actor is None:
            return refuse(PermissionDenied, "the shell operator takes no step") if named else None
        if not self.people.active(actor):
            return refuse(PermissionDenied, f"{actor} is disabled")
        if not self.people.any_role(actor, p.organisation):
            return refuse(NotFound, f"{actor} has no role in {p.organisation}")
        return None

    def roles(self, p: ProposalModel, actor: str) -> frozenset[Role]:
        return self.people.roles(actor, p.organisation, p.body)

    # workflow steps ---------------------------------------------------------------------
    def routes(self, state: str, trigger: str) -> list[Transition]:
        return [
            t
            for t in self.workflow.transitions
            if t.trigger == trigger and state in t.sources(self.workflow.states)
        ]

    def judge(  # noqa: PLR0911 - one return per rule
        self,
        p: ProposalModel,
        actor: str | None,
        trigger: str,
        reason: str | None,
        *,
        confirmed: bool,
        stale: bool = False,
    ) -> Refusal | Transition:
        if trigger in self.confirmed_triggers and not confirmed:
            # Refused, whoever asks; which check says so first is the step's own business.
            return Refusal((EvaError,), f"{trigger} needs a confirmed caller")
        refusal = self.reach(p, actor)
        if refusal is not None:
            return refusal
        assert actor is not None
        if stale:
            return refuse(Conflict, "a stale expected version")
        candidates = self.routes(p.state, trigger)
        if not candidates:
            return refuse(TransitionNotAllowed, f"no {trigger} from {p.state}")
        route = next(
            (
                t
                for t in candidates
                if all(self.conditions[c](p) for c in t.when)
                and not any(self.conditions[c](p) for c in t.unless)
            ),
            None,
        )
        if route is None:
            return refuse(TransitionNotAllowed, f"no route of {trigger} from {p.state} now")
        if not self.roles(p, actor).intersection(route.roles):
            return refuse(PermissionDenied, f"{actor} holds none of {route.roles}")
        missing = [g for g in route.guards if not self.guards[g](p, actor)]
        if route.reason_required and not (reason or "").strip():
            missing.insert(0, "reason")
        if missing:
            return refuse(GuardFailed, f"{trigger} from {p.state}: {', '.join(missing)}")
        return route

    def take(self, p: ProposalModel, route: Transition) -> None:
        p.state = route.dest
        for effect in route.effects:
            self._effect(p, effect)

    def _effect(self, p: ProposalModel, effect: Effect) -> None:
        if isinstance(effect, CloseAssignments):
            if "*" in effect.kinds:
                p.tasks = []
            else:
                p.tasks = [t for t in p.tasks if t.kind not in effect.kinds]
        elif isinstance(effect, OpenAssignment):
            assignee = {"preparer": p.preparer, "presenter": p.presenter, "queue": None}
            p.tasks.append(
                Task(effect.kind, assignee[effect.assignee], tuple(r.value for r in effect.roles))
            )
        elif isinstance(effect, SetOutcome):
            p.outcome = effect.outcome.value
        elif isinstance(effect, OpenFollowUps):
            p.follow_ups += len(p.doc.indicators)
        elif isinstance(effect, SimpleEffect):
            if effect.do == "clear_outcome":
                p.outcome = None
            elif effect.do == "clear_meeting":
                p.meeting, p.section = None, False
            elif effect.do == "assign_section":
                p.section = p.section or p.meeting is not None
            elif effect.do == "new_revision":
                p.revision += 1  # a copy of the revision: same screening, same document
            else:  # pragma: no cover - the definition's schema lists every effect
                raise AssertionError(f"the reference model does not know effect {effect.do}")

    # editing the assessment ------------------------------------------------------------
    def judge_edit(self, p: ProposalModel, actor: str | None, *, stale: bool) -> Refusal | None:
        refusal = self.reach(p, actor)
        if refusal is not None:
            return refusal
        assert actor is not None
        if stale:
            return refuse(Conflict, "a stale expected version")
        if not self.roles(p, actor).intersection({Role.PREPARER, Role.EXPERT}):
            return refuse(PermissionDenied, f"{actor} neither prepares nor is an expert here")
        if not self.states[p.state].editable:
            return refuse(InvalidInput, f"{p.state} is not editable")
        return None

    def judge_screening(self, record: ScreeningRecord, criteria: list[str]) -> Refusal | None:
        screening = self.workflow.screening
        if record.outcome == ScreeningOutcome.EXEMPT:
            if not (record.reason or "").strip():
                return refuse(InvalidInput, "an exemption without its reason")
            if record.exemption not in {e.id for e in screening.exemptions}:
                return refuse(InvalidInput, f"exemption {record.exemption!r}")
        elif record.exemption is not None:
            return refuse(InvalidInput, "an exemption named for an assessment")
        if not set(criteria) <= {c.id for c in screening.criteria}:
            return refuse(InvalidInput, "an unknown criterion")
        return None

    def judge_answers(
        self, p: ProposalModel, answers: Sequence[AnswerIn], cleared: Sequence[tuple[str, int]]
    ) -> Refusal | Doc:
        if not p.doc.alternatives:
            return refuse(InvalidInput, "no alternatives yet")
        # The cells kept are stored, hence valid: only the new ones can be wrong.
        why = _answers_invalid(answers, p.doc.positions, set(self.questions))
        if why is not None:
            return refuse(InvalidInput, why)
        return p.doc.with_answers(answers, cleared)

    # assignments -----------------------------------------------------------------------
    def judge_reassign(  # noqa: PLR0911 - one return per rule
        self,
        p: ProposalModel,
        actor: str | None,
        task: Task,
        is_open: bool,
        assignee: str,
        *,
        stale: bool,
    ) -> Refusal | None:
        if actor is None:
            return refuse(PermissionDenied, "the shell operator reassigns nothing")
        refusal = self.reach(p, actor)
        if refusal is not None:
            return refusal
        if stale:
            return refuse(Conflict, "a stale expected version")
        if task.assignee != actor and not self.roles(p, actor).intersection(
            {Role.SECRETARY, Role.ADMIN}
        ):
            return refuse(PermissionDenied, f"{actor} may not hand over another's task")
        if not is_open:
            return refuse(InvalidInput, "the task is closed")
        if not self.people.active(assignee):
            return refuse(InvalidInput, f"{assignee} is no active user")
        if assignee == task.assignee:
            return refuse(InvalidInput, f"{assignee} holds it already")
        wanted = {Role(r) for r in task.roles} or set(self.kind_roles.get(task.kind, ()))
        held = self.roles(p, assignee)
        if not held or (wanted and not held & wanted):
            return refuse(InvalidInput, f"{assignee} holds none of {sorted(wanted)}")
        if task.kind in self.four_eyes_kinds and assignee == p.preparer:
            return refuse(InvalidInput, "four eyes: the preparer does not review")
        return None

    # scheduling ------------------------------------------------------------------------
    def judge_schedule(
        self, p: ProposalModel, actor: str | None, meeting_body: str, *, stale: bool
    ) -> Refusal | None:
        refusal = self.reach(p, actor, named=False)
        if refusal is not None:
            return refusal
        if stale:
            return refuse(Conflict, "a stale expected version")
        if actor is not None and Role.SECRETARY not in self.roles(p, actor):
            return refuse(PermissionDenied, f"{actor} is no secretary here")
        if meeting_body != p.body:
            return refuse(InvalidInput, "a meeting of another body")
        if p.state in self.unschedulable:
            return refuse(InvalidInput, f"a {p.state} proposal")
        return None

    # creating --------------------------------------------------------------------------
    def judge_create(  # noqa: PLR0911 - one return per rule
        self, organisation: str, actor: str | None, presenter: str, body: str
    ) -> Refusal | None:
        """The caller creates a proposal that they prepare themselves."""
        if actor is not None and not self.people.active(actor):
            return refuse(PermissionDenied, f"{actor} is disabled")
        if actor is not None and not self.people.any_role(actor, organisation):
            return refuse(NotFound, f"{actor} has no role in {organisation}")
        roles = self.people.roles(actor, organisation, body) if actor else frozenset()
        if actor is not None and not roles & {Role.PREPARER, Role.ADMIN}:
            return refuse(PermissionDenied, f"{actor} neither prepares nor administers {body}")
        if actor is None:
            return refuse(InvalidInput, "the shell operator names no preparer")
        if Role.PREPARER not in roles:
            return refuse(InvalidInput, f"{actor} cannot be the preparer for {body}")
        if not self.people.active(presenter):
            return refuse(NotFound, f"{presenter} is disabled")
        if Role.PRESENTER not in self.people.roles(presenter, organisation, body):
            return refuse(InvalidInput, f"{presenter} presents nothing for {body}")
        return None


def _depth(p: ProposalModel) -> ScreeningOutcome | None:
    return p.screening.outcome if p.screening else None


def _exempt(p: ProposalModel) -> bool:
    return _depth(p) == ScreeningOutcome.EXEMPT


def _mitigated(doc: Doc) -> bool:
    covered = {key for key, _, _ in doc.mitigations}
    return all(
        (q, pos) in covered or (q, None) in covered
        for (q, pos), cell in doc.answers
        if cell.direction == Direction.NEGATIVE and cell.magnitude == Magnitude.SIGNIFICANT
    )


def _answers_invalid(
    answers: Sequence[AnswerIn], positions: set[int], questions: set[str]
) -> str | None:
    cells = Counter((a.question, a.alternative) for a in answers)
    for answer in answers:
        if answer.question not in questions:
            return f"unknown question {answer.question}"
        if answer.alternative not in positions:
            return f"no alternative {answer.alternative}"
        if cells[(answer.question, answer.alternative)] > 1:
            return "a cell is answered twice"
        if answer.direction in (Direction.NONE, Direction.UNKNOWN) and answer.magnitude:
            return f"direction {answer.direction} with a magnitude"
    return None
