"""The report for a period and scope (docs/reports.md): read-only, in a fixed number of
queries (``eva_engine.db.reports``) folded here in one pass per proposal.

What a proposal was at a moment (its state, meeting, outcome, revision) is read from its
recorded changes in the audit history, not from its row now: a tabled or returned item has
left its meeting since, a withdrawn one its agenda. What a state means comes from the
proposal's own workflow version (each state's ``phase`` and ``final``), never its name."""

from __future__ import annotations

import gc
import statistics
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Annotated, Literal

from pydantic import Field, field_validator

from eva_engine.db.audit import PendingEvent
from eva_engine.db.reports import (
    AnswerCount,
    ChangeRow,
    FollowUpRow,
    MitigationRow,
    ProposalRow,
    ScreeningRow,
)
from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, NotFound, Text
from eva_engine.models import Body, Meeting, Organisation, User, utcnow
from eva_engine.services.access import (
    READ_INTERNAL_REPORT,
    READ_PUBLIC_REPORT,
    actor_for,
    log_disclosure,
    require_role_in,
)
from eva_engine.services.command import Command
from eva_engine.services.definitions import stored_bundle
from eva_engine.services.fields import PERIOD_PATTERN, Code
from eva_engine.services.reports.period import TIMEZONE, Period, parse_period
from eva_engine.services.reports.views import (
    AgendaRow,
    BodyRow,
    DecisionRow,
    Figure,
    FollowUpResultRow,
    Ground,
    GroupRow,
    ImpactRow,
    OutcomeCount,
    Outcomes,
    OverdueBodyRow,
    OverdueRow,
    ReportView,
    ResultCount,
    ScreeningFigures,
    Texts,
)
from eva_engine.services.runtime import Caller, Eva
from eva_engine.vocabulary import (
    AffectedGroup,
    Direction,
    FollowUpOutcome,
    FollowUpState,
    MeetingOutcome,
    Publicity,
    ScreeningOutcome,
)
from eva_engine.workflow.definition import State, WorkflowBundle

# Below this a count in a public report is shown as "< 5".
THRESHOLD = 5
# Outcomes by which the body made the decision (the others leave it undecided for now or for
# good); only the adopted ones (approved, amended) bring the chosen alternative's impacts.
DECIDING = (MeetingOutcome.APPROVED, MeetingOutcome.AMENDED, MeetingOutcome.REJECTED)
ADOPTED = (MeetingOutcome.APPROVED, MeetingOutcome.AMENDED)
# Who may read the internal report (with names and non-public proposals): grants in the
# organisation as a whole (``require_role_in`` with no body).
INTERNAL_ROLES = READ_INTERNAL_REPORT.roles
PUBLIC_ROLES = READ_PUBLIC_REPORT.roles
DISCLOSURE = "report.disclosed"  # a non-public proposal shown in an internal report
INTERNAL_READ = "report.internal_read"  # the internal report opened or exported

Progress = Callable[[str], None]
STEPS = ("access", "history", "assessments", "figures")


Output = Literal["html", "csv", "xlsx", "pdf"]
# A year, years or dates (``period.parse_period`` reads it).
Period_ = Annotated[
    str,
    Field(
        min_length=4,
        max_length=22,
        pattern=PERIOD_PATTERN,
        description="A year (2026), years (2025-2028) or dates (2026-01-01..2026-06-30)",
    ),
]


class ReportRequest(Command):
    organisation: Code = Field(min_length=1)
    period: Period_
    body: Code | None = None
    public: bool = True
    output: Output = "html"  # recorded with the disclosure

    @field_validator("period", mode="before")
    @classmethod
    def _readable(cls, value: object) -> object:
        """A period that cannot be read is refused with what to give instead."""
        parse_period(str(value))
        return value


@dataclass
class Handling:
    """One outcome recorded for a proposal at a meeting."""

    proposal_id: int
    at: datetime  # the meeting's start (the recording's time where no meeting is known)
    meeting_id: int | None
    outcome: MeetingOutcome
    revision: int


# A recorded moment of a proposal: when, its state then, its meeting then (None: none).
Recorded = tuple[datetime, str | None, int | None]


@dataclass
class Timeline:
    """A proposal's recorded states, folded from its changes."""

    proposal: ProposalRow
    phases: dict[str, str]  # state id: its phase in the proposal's workflow version
    states: list[Recorded] = field(default_factory=list)
    handlings: list[Handling] = field(default_factory=list)
    created: datetime | None = None
    ready: datetime | None = None  # first reached a state past preparation (signed off)
    ended: datetime | None = None  # reached a final state
    withdrawn: datetime | None = None  # ended without a decision

    def at(self, moment: datetime) -> Recorded | None:
        """The proposal's recorded state and meeting at ``moment`` (None: it did not exist
        yet)."""
        found = None
        for recorded in self.states:
            if recorded[0] > moment:
                break
            found = recorded
        return found


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _fold(
    proposal: ProposalRow,
    changes: Iterable[ChangeRow],
    states: dict[str, State],
    phases: dict[str, str],
    meetings: dict[int, Meeting],
) -> Timeline:
    """The timeline of one proposal: each change sets the columns it names (the state, the
    meeting, the revision) and keeps the others; an outcome recorded is a handling at the
    meeting the proposal was on just before it, of the revision it had then."""
    line = Timeline(proposal, phases)
    state: str | None = None
    meeting_id: int | None = None
    revision: int | None = None
    recorded = line.states
    for _, when, new_state, meeting_named, new_meeting, outcome, new_revision in changes:
        before_meeting, before_revision = meeting_id, revision
        if new_state is not None:
            state = new_state
        if meeting_named:
            meeting_id = new_meeting
        if new_revision is not None:
            revision = new_revision
        recorded.append((when, state, meeting_id))
        if line.created is None:
            line.created = when
        if outcome is not None:
            meeting = meetings.get(before_meeting) if before_meeting is not None else None
            line.handlings.append(
                Handling(
                    proposal.id,
                    _utc(meeting.starts_at) if meeting is not None else when,
                    before_meeting,
                    MeetingOutcome(outcome),
                    int(before_revision or revision or 1),
                )
            )
        if new_state is not None:
            found = states.get(new_state)
            if found is None:
                continue
            if line.ready is None and found.phase != "preparation":
                line.ready = when
            if found.final and line.ended is None:
                line.ended = when
                if not found.decided:
                    line.withdrawn = when
    return line


def _suppress(public: bool) -> Callable[[int], Figure]:
    def figure(count: int) -> Figure:
        return None if public and 0 < count < THRESHOLD else count

    return figure


def _share(part: int, whole: int, public: bool) -> float | None:
    if whole == 0 or (public and (0 < part < THRESHOLD or whole < THRESHOLD)):
        return None
    return part / whole


def _names(fi: str, sv: str | None) -> Texts:
    return Texts(fi=fi, sv=sv or fi, en=fi)


def _access(
    repos: Repositories, user: User | None, request: ReportRequest
) -> tuple[Organisation, Body | None, str | None]:
    missing = f"no organisation {request.organisation!r}"
    missing_text = Text(
        N_("There is no organisation %(organisation)s among yours."),
        {"organisation": request.organisation},
    )
    org = repos.organisation_by_code(request.organisation)
    if org is None:
        raise NotFound(missing, text=missing_text)
    roles = PUBLIC_ROLES if request.public else INTERNAL_ROLES
    role = require_role_in(
        repos, user, org.id, None, roles, "read the internal report", missing, missing_text
    )
    body = None
    if request.body:
        body = repos.body_by_code(org.id, request.body)
        if body is None:
            raise NotFound(
                f"no body {request.body!r} in {org.code}",
                text=Text(
                    N_("There is no body %(body)s in this organisation: check its code."),
                    {"body": request.body},
                ),
            )
    return org, body, role.value if role else None


def report(
    eva: Eva,
    caller: Caller,
    request: ReportRequest,
    progress: Progress | None = None,
    *,
    now: datetime | None = None,
) -> ReportView:
    """The report. An internal one is a disclosure (TiHL 17 §): its opening or export is
    recorded, with each non-public proposal it lists, in a short transaction of its own.
    ``now``: when it is made (by default the clock's now)."""
    period = parse_period(request.period)
    step = progress or (lambda _name: None)
    with eva.reading() as uow:
        repos = uow.repos
        uow.audit.actor, user = actor_for(repos, caller)
        org, body, role = _access(repos, user, request)
        step(STEPS[0])
        view, listed = compute(
            repos, org, body, period, public=request.public, progress=step, now=now
        )
        if not request.public:
            uow.audit.role = role
            uow.audit.record(
                PendingEvent(
                    action=INTERNAL_READ,
                    entity_type="organisation",
                    entity_id=str(org.id),
                    organisation_id=org.id,
                    proposal_id=None,
                    before=None,
                    after={
                        "period": period.label,
                        "body": body.code if body else None,
                        "output": request.output,
                    },
                    reason=None,
                    role=role,
                )
            )
            for proposal in repos.proposals_by_ids(sorted(listed)):
                log_disclosure(uow.audit, proposal, DISCLOSURE)
            uow.commit()
        return view


class _Collector:
    """Python's cyclic garbage collector paused while reports are computed: the year's
    hundreds of thousands of rows are live tuples, and every collection of the oldest
    generation walks them all again (a third of a large city's report went to it). A report
    makes no reference cycles worth collecting in those seconds; the collector is re-enabled
    (if it was) when the last computation running ends, and collects then as usual."""

    lock = threading.Lock()
    running = 0  # computations running with the collector paused
    was_enabled = False

    @classmethod
    @contextmanager
    def paused(cls) -> Iterator[None]:
        with cls.lock:
            if cls.running == 0:
                cls.was_enabled = gc.isenabled()
                gc.disable()
            cls.running += 1
        try:
            yield
        finally:
            with cls.lock:
                cls.running -= 1
                if cls.running == 0 and cls.was_enabled:
                    gc.enable()


def compute(
    repos: Repositories,
    org: Organisation,
    body: Body | None,
    period: Period,
    *,
    public: bool,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> tuple[ReportView, set[int]]:
    """The figures, and the ids of the non-public proposals the report lists. ``now``: the
    moment the report is made (the follow-ups still overdue are counted on it while the
    period runs)."""
    with _Collector.paused():
        return _compute(repos, org, body, period, public=public, progress=progress, now=now)


def _compute(
    repos: Repositories,
    org: Organisation,
    body: Body | None,
    period: Period,
    *,
    public: bool,
    progress: Progress | None,
    now: datetime | None,
) -> tuple[ReportView, set[int]]:
    step = progress or (lambda _name: None)
    figure = _suppress(public)
    queries = repos.report_queries(org.id, body.id if body else None)
    bodies = list(queries.bodies())
    meetings = queries.all_meetings()
    proposals = queries.proposals()
    changes = queries.changes(period.until)
    step(STEPS[1])
    screenings = {(s.proposal_id, s.revision): s for s in queries.screenings()}
    answers = queries.answer_counts()
    mitigations = queries.mitigations()
    follow_ups = queries.follow_ups()
    step(STEPS[2])

    bundles: dict[tuple[str, int], WorkflowBundle] = {}
    for row in proposals:
        key = (row.workflow_name, row.workflow_version)
        if key not in bundles:
            bundles[key] = stored_bundle(repos, *key)[0]
    by_proposal: dict[int, list[ChangeRow]] = {}
    for pid, group in groupby(changes, itemgetter(0)):  # read in the proposals' order
        by_proposal[pid] = list(group)
    states_of = {key: {s.id: s for s in b.workflow.states} for key, b in bundles.items()}
    phases_of: dict[tuple[str, int], dict[str, str]] = {
        key: {s.id: s.phase for s in found.values()} for key, found in states_of.items()
    }
    lines: dict[int, Timeline] = {}
    for row in proposals:
        key = (row.workflow_name, row.workflow_version)
        changed = by_proposal.get(row.id, [])
        lines[row.id] = _fold(row, changed, states_of[key], phases_of[key], meetings)

    handlings = [h for line in lines.values() for h in line.handlings if period.holds(h.at)]
    handlings.sort(key=lambda h: (h.at, h.proposal_id))
    outcomes = _outcomes(lines, handlings, period, figure)
    last: dict[int, Handling] = {}
    for handling in handlings:
        last[handling.proposal_id] = handling
    decided = {pid: h for pid, h in last.items() if h.outcome in DECIDING}
    adopted = {pid: h for pid, h in decided.items() if h.outcome in ADOPTED}
    screening = _screening(decided, screenings, lines, bundles, figure)
    agenda, total = _agenda(lines, meetings, bodies, period, public)
    impacts = _impacts(adopted, answers, bundles, figure)
    groups = _groups(adopted, answers, mitigations, figure)
    body_rows = _bodies(lines, bodies, period, public)
    decisions, listed = _decisions(handlings, lines, screenings, bodies, public)
    moment = min(period.until, now or utcnow())
    results, result_rows, shown = _results(follow_ups, lines, bodies, period, public)
    on, overdue_bodies, overdue_total, overdue, late = _overdue(
        follow_ups, lines, bodies, moment, public
    )
    listed |= shown | late
    step(STEPS[3])
    view = ReportView(
        organisation=org.code,
        organisation_name=_names(org.name_fi, org.name_sv),
        body=body.code if body else None,
        body_name=_names(body.name_fi, body.name_sv) if body else None,
        start=period.start,
        end=period.end,
        public=public,
        generated_at=datetime.now(UTC),
        outcomes=outcomes,
        screening=screening,
        agenda=agenda,
        agenda_total=total,
        impacts=impacts,
        groups=groups,
        bodies=body_rows,
        decisions=decisions,
        follow_up_results=results,
        follow_ups=result_rows,
        overdue_on=on,
        overdue_bodies=overdue_bodies,
        overdue_total=overdue_total,
        overdue=overdue,
    )
    return view, listed


def _outcomes(
    lines: dict[int, Timeline],
    handlings: list[Handling],
    period: Period,
    figure: Callable[[int], Figure],
) -> Outcomes:
    counts = Counter(h.outcome for h in handlings)
    again = set()
    for handling in handlings:
        earlier = lines[handling.proposal_id].handlings
        if any(e.outcome == MeetingOutcome.RETURNED and e.at < handling.at for e in earlier):
            again.add(handling.proposal_id)
    withdrawn = sum(
        1 for line in lines.values() if line.withdrawn is not None and period.holds(line.withdrawn)
    )
    return Outcomes(
        handled=[OutcomeCount(outcome=o, count=figure(counts[o])) for o in MeetingOutcome],
        withdrawn=figure(withdrawn),
        handled_again=figure(len(again)),
    )


def _screening(
    decided: dict[int, Handling],
    screenings: dict[tuple[int, int], ScreeningRow],
    lines: dict[int, Timeline],
    bundles: dict[tuple[str, int], WorkflowBundle],
    figure: Callable[[int], Figure],
) -> ScreeningFigures:
    depth: Counter[ScreeningOutcome] = Counter()
    grounds: Counter[str] = Counter()
    texts: dict[str, Texts] = {}
    screened = 0
    for pid, handling in decided.items():
        found = screenings.get((pid, handling.revision))
        if found is None:
            continue
        screened += 1
        depth[found.outcome] += 1
        if found.outcome == ScreeningOutcome.EXEMPT:
            ground = found.exemption or "other"
            grounds[ground] += 1
            if ground not in texts:
                row = lines[pid].proposal
                workflow = bundles[(row.workflow_name, row.workflow_version)].workflow
                choice = next((c for c in workflow.screening.exemptions if c.id == ground), None)
                texts[ground] = (
                    Texts(fi=choice.text.fi, sv=choice.text.sv, en=choice.text.en)
                    if choice
                    else Texts(fi=ground, sv=ground, en=ground)
                )
    return ScreeningFigures(
        decisions=figure(len(decided)),
        screened=figure(screened),
        not_screened=figure(len(decided) - screened),
        depth={d: figure(depth[d]) for d in ScreeningOutcome},
        exemptions=[
            Ground(id=g, text=texts[g], count=figure(n))
            for g, n in sorted(grounds.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    )


def _agenda(
    lines: dict[int, Timeline],
    meetings: dict[int, Meeting],
    bodies: list[Body],
    period: Period,
    public: bool,
) -> tuple[list[AgendaRow], AgendaRow]:
    """Items of the meetings that started in the period: proposals on the meeting at its
    start, and those an outcome was recorded for at it; complete: at the start the
    proposal's recorded state was past preparation (signed off, on the agenda, decided)."""
    figure = _suppress(public)
    in_period = {m.id: m for m in meetings.values() if period.holds(_utc(m.starts_at))}
    items: Counter[int] = Counter()
    complete: Counter[int] = Counter()
    for line in lines.values():
        # Only the meetings it was ever placed on or handled at (not every meeting per line).
        handled_at = {h.meeting_id for h in line.handlings}
        placed = {recorded[2] for recorded in line.states} | handled_at
        for meeting_id in sorted(m for m in placed if m in in_period):
            meeting = in_period[meeting_id]
            start = _utc(meeting.starts_at)
            then = line.at(start)
            on_agenda = then is not None and then[2] == meeting.id
            if not (on_agenda or meeting.id in handled_at):
                continue
            items[meeting.body_id] += 1
            if then is not None and _past_preparation(line, then[1]):
                complete[meeting.body_id] += 1
    rows = [
        AgendaRow(
            body=b.code,
            name=_names(b.name_fi, b.name_sv),
            items=figure(items[b.id]),
            complete=figure(complete[b.id]),
            share=_share(complete[b.id], items[b.id], public),
        )
        for b in bodies
    ]
    all_items, all_complete = sum(items.values()), sum(complete.values())
    total = AgendaRow(
        body="",
        name=Texts(fi="Yhteensä", sv="Totalt", en="Total"),
        items=figure(all_items),
        complete=figure(all_complete),
        share=_share(all_complete, all_items, public),
    )
    return rows, total


def _past_preparation(line: Timeline, state: str | None) -> bool:
    return state is not None and line.phases.get(state, "preparation") != "preparation"


def _area_titles(bundles: Iterable[WorkflowBundle]) -> dict[str, Texts]:
    titles: dict[str, Texts] = {}
    for bundle in bundles:
        for checklist in bundle.checklists:
            for area in checklist.areas:
                titles.setdefault(
                    area.id, Texts(fi=area.title.fi, sv=area.title.sv, en=area.title.en)
                )
    return titles


def _impacts(
    adopted: dict[int, Handling],
    answers: list[AnswerCount],
    bundles: dict[tuple[str, int], WorkflowBundle],
    figure: Callable[[int], Figure],
) -> list[ImpactRow]:
    counts: dict[str, Counter[Direction]] = defaultdict(Counter)
    for answer in answers:
        handling = adopted.get(answer.proposal_id)
        if handling is None or handling.revision != answer.revision:
            continue
        counts[answer.area][answer.direction] += answer.answers
    titles = _area_titles(bundles.values())
    order = list(titles)
    rows = []
    for area in sorted(counts, key=lambda a: (order.index(a) if a in order else len(order), a)):
        c = counts[area]
        rows.append(
            ImpactRow(
                area=area,
                title=titles.get(area, Texts(fi=area, sv=area, en=area)),
                positive=figure(c[Direction.POSITIVE]),
                negative=figure(c[Direction.NEGATIVE]),
                none=figure(c[Direction.NONE]),
                unknown=figure(c[Direction.UNKNOWN]),
            )
        )
    return rows


def _groups(
    adopted: dict[int, Handling],
    answers: list[AnswerCount],
    mitigations: list[MitigationRow],
    figure: Callable[[int], Figure],
) -> list[GroupRow]:
    measures = {(m.proposal_id, m.revision, m.question_id, m.alternative_id) for m in mitigations}
    affected: dict[str, set[int]] = defaultdict(set)
    mitigated: dict[str, set[int]] = defaultdict(set)
    for answer in answers:
        handling = adopted.get(answer.proposal_id)
        if handling is None or handling.revision != answer.revision:
            continue
        if answer.direction != Direction.NEGATIVE or answer.question_id is None:
            continue
        key = (answer.proposal_id, answer.revision, answer.question_id)
        has_measure = (*key, answer.alternative_id) in measures or (*key, None) in measures
        for group in answer.affected_groups:
            affected[group].add(answer.proposal_id)
            if has_measure:
                mitigated[group].add(answer.proposal_id)
    known = [g.value for g in AffectedGroup]
    ranked = sorted(
        affected,
        key=lambda g: (-len(affected[g]), known.index(g) if g in known else len(known), g),
    )
    return [
        GroupRow(group=g, decisions=figure(len(affected[g])), mitigated=figure(len(mitigated[g])))
        for g in ranked
    ]


def _bodies(
    lines: dict[int, Timeline], bodies: list[Body], period: Period, public: bool
) -> list[BodyRow]:
    figure = _suppress(public)
    by_body: dict[int, list[Timeline]] = defaultdict(list)
    for line in lines.values():
        by_body[line.proposal.body_id].append(line)
    rows = []
    for b in bodies:
        active = [
            line
            for line in by_body[b.id]
            if line.created is not None
            and line.created < period.until
            and (line.ended is None or line.ended >= period.since)
        ]
        completed = [line for line in active if line.ready is not None]
        signed = [
            line
            for line in completed
            if line.ready is not None and line.created is not None and period.holds(line.ready)
        ]
        days = [
            (line.ready - line.created).total_seconds() / 86400
            for line in signed
            if line.ready is not None and line.created is not None
        ]
        small = public and len(days) < THRESHOLD
        rows.append(
            BodyRow(
                body=b.code,
                name=_names(b.name_fi, b.name_sv),
                proposals=figure(len(active)),
                completed=figure(len(completed)),
                completion=_share(len(completed), len(active), public),
                signed_off=figure(len(signed)),
                median_days=round(statistics.median(days), 1) if days and not small else None,
            )
        )
    return rows


def _decisions(
    handlings: list[Handling],
    lines: dict[int, Timeline],
    screenings: dict[tuple[int, int], ScreeningRow],
    bodies: list[Body],
    public: bool,
) -> tuple[list[DecisionRow], set[int]]:
    codes = {b.id: b.code for b in bodies}
    rows, listed = [], set()
    for handling in handlings:
        row = lines[handling.proposal_id].proposal
        if row.publicity != Publicity.PUBLIC:
            if public:
                continue
            listed.add(row.id)
        found = screenings.get((row.id, handling.revision))
        rows.append(
            DecisionRow(
                case_number=row.case_number,
                title=_names(row.title_fi, row.title_sv),
                body=codes.get(row.body_id, ""),
                meeting=handling.at.astimezone(TIMEZONE).date(),
                outcome=handling.outcome,
                screening=found.outcome if found else None,
                preparer=None if public else row.preparer,
            )
        )
    return rows, listed


WAIVED = "waived"
RESULTS = (*(o.value for o in FollowUpOutcome), WAIVED)


def _day(moment: datetime) -> date:
    return _utc(moment).astimezone(TIMEZONE).date()


def _result(row: FollowUpRow, period: Period) -> str | None:
    """What the follow-up's result in the period was: its outcome when its value was
    measured in the period, "waived" when it was waived in the period, else None."""
    if row.state == FollowUpState.WAIVED:
        settled = row.settled_at
        return WAIVED if settled is not None and period.holds(settled) else None
    if row.outcome is None or row.measured_on is None:
        return None
    return row.outcome.value if period.start <= row.measured_on <= period.end else None


def _results(
    follow_ups: list[FollowUpRow],
    lines: dict[int, Timeline],
    bodies: list[Body],
    period: Period,
    public: bool,
) -> tuple[list[ResultCount], list[FollowUpResultRow], set[int]]:
    """Follow-up results of the period against the predictions: counted by how the impact
    went, and listed with the chosen alternative's predicted direction."""
    figure = _suppress(public)
    codes = {b.id: b.code for b in bodies}
    counts: Counter[str] = Counter()
    rows: list[FollowUpResultRow] = []
    shown: set[int] = set()
    for row in follow_ups:
        result = _result(row, period)
        line = lines.get(row.proposal_id)
        if result is None or line is None:
            continue
        counts[result] += 1
        proposal = line.proposal
        if proposal.publicity != Publicity.PUBLIC:
            if public:
                continue
            shown.add(proposal.id)
        waived = result == WAIVED
        rows.append(
            FollowUpResultRow(
                case_number=proposal.case_number,
                title=_names(proposal.title_fi, proposal.title_sv),
                body=codes.get(proposal.body_id, ""),
                indicator=row.indicator,
                predicted=row.predicted if row.question_id else None,
                value=None if waived else row.value,
                measured_on=None if waived else row.measured_on,
                source=None if waived else row.source_kind,
                reference=None if waived else row.source_reference,
                result=result,
            )
        )
    rows.sort(key=lambda r: (r.measured_on or date.max, r.case_number, r.indicator))
    return [ResultCount(result=r, count=figure(counts[r])) for r in RESULTS], rows, shown


def _overdue(
    follow_ups: list[FollowUpRow],
    lines: dict[int, Timeline],
    bodies: list[Body],
    moment: datetime,
    public: bool,
) -> tuple[date, list[OverdueBodyRow], OverdueBodyRow, list[OverdueRow], set[int]]:
    """The follow-ups open at ``moment`` (the period's end, or now while it runs), per body,
    and of them those past their due date on that day."""
    figure = _suppress(public)
    on = _day(moment - timedelta(microseconds=1))  # the day the moment ends
    opened: Counter[int] = Counter()
    late: Counter[int] = Counter()
    rows: list[OverdueRow] = []
    shown: set[int] = set()
    codes = {b.id: b.code for b in bodies}
    for row in follow_ups:
        line = lines.get(row.proposal_id)
        if line is None or _utc(row.created_at) >= moment:
            continue
        if row.settled_at is not None and _utc(row.settled_at) < moment:
            continue
        proposal = line.proposal
        opened[proposal.body_id] += 1
        if row.due >= on:
            continue
        late[proposal.body_id] += 1
        if proposal.publicity != Publicity.PUBLIC:
            if public:
                continue
            shown.add(proposal.id)
        rows.append(
            OverdueRow(
                case_number=proposal.case_number,
                title=_names(proposal.title_fi, proposal.title_sv),
                body=codes.get(proposal.body_id, ""),
                indicator=row.indicator,
                due=row.due,
                days=(on - row.due).days,
                responsible=None if public else row.responsible,
            )
        )
    rows.sort(key=lambda r: (r.due, r.case_number, r.indicator))
    per_body = [
        OverdueBodyRow(
            body=b.code,
            name=_names(b.name_fi, b.name_sv),
            open=figure(opened[b.id]),
            overdue=figure(late[b.id]),
        )
        for b in bodies
    ]
    total = OverdueBodyRow(
        body="",
        name=Texts(fi="Yhteensä", sv="Totalt", en="Total"),
        open=figure(sum(opened.values())),
        overdue=figure(sum(late.values())),
    )
    return on, per_body, total, rows, shown
