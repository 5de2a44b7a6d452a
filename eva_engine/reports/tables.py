"""The report as tables in one language: the single source of every figure that the HTML
page, its charts, the CSV, the XLSX and the PDF show, so they can never disagree.

Each section is a function of ``SECTIONS`` (the view, a speaker) returning a ``Table``; a new
section is one more function there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from eva_engine.reports.labels import DIRECTIONS, GROUPS, OUTCOMES, RESULTS, SCREENING, SOURCES
from eva_engine.reports.language import Speaker
from eva_engine.services.reports.views import Figure, ReportView

SUPPRESSED = "< 5"
Number = int | float | None


@dataclass(frozen=True)
class Cell:
    """What a reader sees, and the number behind it (None: text, or suppressed)."""

    text: str
    number: Number = None


@dataclass(frozen=True)
class Chart:
    """A bar chart of some of the table's numeric columns, one bar group per row."""

    series: list[int]  # column indices
    percent: bool = False  # the values are shares (0-100)


@dataclass
class Table:
    id: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    chart: Chart | None = None
    note: str | None = None
    empty: str | None = None  # what to say when there are no rows
    listing: bool = False  # one row per proposal or follow-up: grows with the period


def count(speaker: Speaker, value: Figure) -> Cell:
    if value is None:
        return Cell(SUPPRESSED)
    return Cell(speaker.number(value), value)


def percent(speaker: Speaker, share: float | None) -> Cell:
    if share is None:
        return Cell("–")
    value = round(share * 100, 1)
    return Cell(speaker.number(value, 1), value)


def days(speaker: Speaker, value: float | None) -> Cell:
    if value is None:
        return Cell("–")
    return Cell(speaker.number(value, 1), value)


def text(value: str) -> Cell:
    return Cell(value)


def outcomes(view: ReportView, s: Speaker) -> Table:
    _ = s.gettext
    table = Table(
        "outcomes",
        _("Proposals handled at the meetings of the period"),
        [_("Outcome"), _("Count")],
        chart=Chart([1]),
        note=_(
            "Every handling at a meeting counts as what it was: a proposal tabled and later "
            "approved counts once as tabled and once as approved."
        ),
    )
    for item in view.outcomes.handled:
        table.rows.append([text(_(OUTCOMES[item.outcome.value])), count(s, item.count)])
    table.rows.append([text(_("withdrawn")), count(s, view.outcomes.withdrawn)])
    table.rows.append(
        [
            text(_("handled again after being returned for new preparation")),
            count(s, view.outcomes.handled_again),
        ]
    )
    return table


def screening(view: ReportView, s: Speaker) -> Table:
    _ = s.gettext
    figures = view.screening
    table = Table(
        "screening",
        _("Decisions and their screening"),
        [_("Decisions"), _("Count")],
        note=_("Decisions: proposals approved, approved as amended or rejected in the period."),
    )
    table.rows += [
        [text(_("decisions")), count(s, figures.decisions)],
        [text(_("screened")), count(s, figures.screened)],
        [text(_("not screened")), count(s, figures.not_screened)],
    ]
    for depth, value in figures.depth.items():
        table.rows.append([text(_(SCREENING[depth.value])), count(s, value)])
    return table


def exemptions(view: ReportView, s: Speaker) -> Table:
    _ = s.gettext
    table = Table(
        "exemptions",
        _("Grounds for needing no assessment"),
        [_("Ground"), _("Decisions")],
        chart=Chart([1]),
        empty=_("No decision of the period was exempt."),
    )
    for ground in view.screening.exemptions:
        table.rows.append([text(ground.text.get(s.language)), count(s, ground.count)])
    return table


def agenda(view: ReportView, s: Speaker) -> Table:
    _ = s.gettext
    table = Table(
        "agenda",
        _("Assessments complete when the meeting started"),
        [_("Body"), _("Agenda items"), _("Complete at the start"), _("Share (%)")],
        chart=Chart([3], percent=True),
        note=_(
            "An item was complete when, at the meeting's start, its recorded state was past "
            "preparation (signed off by the presenter, on the agenda or decided)."
        ),
    )
    for row in [*view.agenda, view.agenda_total]:
        name = row.name.get(s.language)
        label = f"{row.body} {name}" if row.body else _("Total")
        table.rows.append(
            [text(label), count(s, row.items), count(s, row.complete), percent(s, row.share)]
        )
    return table


def impacts(view: ReportView, s: Speaker) -> Table:
    _ = s.gettext
    table = Table(
        "impacts",
        _("Impacts of the chosen alternatives by area"),
        [_("Impact area")]
        + [_(DIRECTIONS[d]) for d in ("positive", "negative", "none", "unknown")],
        chart=Chart([1, 2]),
        note=_("Answers for the alternative chosen in proposals approved in the period."),
        empty=_("No proposal with an assessment was approved in the period."),
    )
    for row in view.impacts:
        table.rows.append(
            [
                text(row.title.get(s.language)),
                count(s, row.positive),
                count(s, row.negative),
                count(s, row.none),
                count(s, row.unknown),
            ]
        )
    return table


def groups(view: ReportView, s: Speaker) -> Table:
    _ = s.gettext
    table = Table(
        "groups",
        _("Population groups most often affected negatively"),
        [_("Group"), _("Decisions with a negative impact"), _("Of these, with mitigations")],
        chart=Chart([1, 2]),
        empty=_("No approved proposal of the period had a negative impact on a group."),
    )
    for row in view.groups:
        label = _(GROUPS[row.group]) if row.group in GROUPS else row.group
        table.rows.append([text(label), count(s, row.decisions), count(s, row.mitigated)])
    return table


def bodies(view: ReportView, s: Speaker) -> Table:
    _ = s.gettext
    table = Table(
        "bodies",
        _("Completion per body"),
        [
            _("Body"),
            _("Proposals"),
            _("Signed off"),
            _("Completion (%)"),
            _("Signed off in the period"),
            _("Median days from draft to sign-off"),
        ],
        chart=Chart([3], percent=True),
        note=_(
            "Proposals: in preparation or decided at some time in the period. Completion: the "
            "share of them signed off by the presenter by the period's end."
        ),
    )
    for row in view.bodies:
        table.rows.append(
            [
                text(f"{row.body} {row.name.get(s.language)}"),
                count(s, row.proposals),
                count(s, row.completed),
                percent(s, row.completion),
                count(s, row.signed_off),
                days(s, row.median_days),
            ]
        )
    return table


def decisions(view: ReportView, s: Speaker) -> Table:
    _ = s.gettext
    columns = [_("Meeting"), _("Body"), _("Case number"), _("Title"), _("Outcome")]
    columns.append(_("Screening"))
    if not view.public:
        columns.append(_("Preparer"))
    table = Table(
        "decisions",
        _("Proposals handled"),
        columns,
        note=(
            _("Only public proposals are listed; no person is named.")
            if view.public
            else _(
                "Internal version: non-public proposals are listed, and their listing is "
                "recorded as a disclosure."
            )
        ),
        empty=_("No proposal was handled in the period."),
        listing=True,
    )
    for row in view.decisions:
        cells = [
            text(s.date(row.meeting)),
            text(row.body),
            text(row.case_number),
            text(row.title.get(s.language)),
            text(_(OUTCOMES[row.outcome.value])),
            text(_(SCREENING[row.screening.value]) if row.screening else "–"),
        ]
        if not view.public:
            cells.append(text(row.preparer or ""))
        table.rows.append(cells)
    return table


def follow_up_results(view: ReportView, s: Speaker) -> Table:
    _ = s.gettext
    table = Table(
        "follow-up-results",
        _("Follow-up results against the predictions"),
        [_("How the impact went"), _("Follow-ups")],
        chart=Chart([1]),
        note=_(
            "Follow-ups whose value was measured in the period, by how the impact went compared "
            "with the prediction for the chosen alternative (the latest result recorded), and "
            "follow-ups waived in the period."
        ),
    )
    for item in view.follow_up_results:
        table.rows.append([text(_(RESULTS[item.result])), count(s, item.count)])
    return table


def follow_ups(view: ReportView, s: Speaker) -> Table:
    _ = s.gettext
    table = Table(
        "follow-ups",
        _("Follow-up results of the period"),
        [
            _("Case number"),
            _("Body"),
            _("Indicator"),
            _("Predicted impact"),
            _("Measured value"),
            _("Measured on"),
            _("Source"),
            _("Result"),
        ],
        note=(
            _("Only follow-ups of public proposals are listed.")
            if view.public
            else _("Internal version: follow-ups of non-public proposals are listed too.")
        ),
        empty=_("No follow-up result was measured in the period."),
        listing=True,
    )
    for row in view.follow_ups:
        source = _(SOURCES[row.source.value]) if row.source else ""
        if row.reference:
            source = f"{source}: {row.reference}" if source else row.reference
        table.rows.append(
            [
                text(row.case_number),
                text(row.body),
                text(row.indicator),
                text(_(DIRECTIONS[row.predicted.value]) if row.predicted else "–"),
                text(row.value or "–"),
                text(s.date(row.measured_on) if row.measured_on else "–"),
                text(source or "–"),
                text(_(RESULTS[row.result])),
            ]
        )
    return table


def overdue(view: ReportView, s: Speaker) -> Table:
    _ = s.gettext
    table = Table(
        "overdue",
        _("Overdue follow-ups"),
        [_("Body"), _("Open follow-ups"), _("Of these, overdue")],
        chart=Chart([1, 2]),
        note=_(
            "Follow-ups still open on %(day)s (the period's last day, or today while the period "
            "runs), and of them those past their due date.",
            day=s.date(view.overdue_on),
        ),
    )
    for row in [*view.overdue_bodies, view.overdue_total]:
        label = f"{row.body} {row.name.get(s.language)}" if row.body else _("Total")
        table.rows.append([text(label), count(s, row.open), count(s, row.overdue)])
    return table


def overdue_list(view: ReportView, s: Speaker) -> Table:
    _ = s.gettext
    columns = [_("Due"), _("Body"), _("Case number"), _("Title"), _("Indicator")]
    columns.append(_("Days overdue"))
    if not view.public:
        columns.append(_("Responsible"))
    table = Table(
        "overdue-list",
        _("Follow-ups past their due date"),
        columns,
        note=(_("Only public proposals are listed; no person is named.") if view.public else None),
        empty=_("No follow-up was overdue."),
        listing=True,
    )
    for row in view.overdue:
        cells = [
            text(s.date(row.due)),
            text(row.body),
            text(row.case_number),
            text(row.title.get(s.language)),
            text(row.indicator),
            Cell(s.number(row.days), row.days),
        ]
        if not view.public:
            cells.append(text(row.responsible or ""))
        table.rows.append(cells)
    return table


Section = Callable[[ReportView, Speaker], Table]
SECTIONS: list[Section] = [
    outcomes,
    screening,
    exemptions,
    agenda,
    impacts,
    groups,
    bodies,
    decisions,
    follow_up_results,
    follow_ups,
    overdue,
    overdue_list,
]


def tables(view: ReportView, language: str) -> list[Table]:
    speaker = Speaker(language)
    return [section(view, speaker) for section in SECTIONS]
