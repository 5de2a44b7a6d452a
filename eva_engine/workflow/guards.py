"""Guards and routing conditions that workflow files name. A guard returns every missing item
(empty when it passes); a condition returns a yes or no that chooses between routes."""

from __future__ import annotations

from collections.abc import Callable

from eva_engine.checklists.completeness import missing_answers, unmitigated_negatives
from eva_engine.errors import N_, Problem, Text
from eva_engine.vocabulary import FollowUpState, ScreeningOutcome
from eva_engine.workflow.context import FlowContext

Guard = Callable[[FlowContext], list[Problem]]

# Where each missing item is, as people read it (translated by the web UI).
SCREENING = Text(N_("Screening"))
ALTERNATIVES = Text(N_("Alternatives"))
INDICATORS = Text(N_("Follow-up indicators"))
REVIEWER = Text(N_("Review"))
PRESENTER = Text(N_("Sign-off"))
MEETING = Text(N_("Meeting"))
FOLLOW_UPS = Text(N_("Follow-up"))
Condition = Callable[[FlowContext], bool]


def screening_recorded(ctx: FlowContext) -> list[Problem]:
    if ctx.assessment.screening is None:
        return [Problem.of("screening", Text(N_("screening has not been recorded")), SCREENING)]
    return []


def screening_requires_assessment(ctx: FlowContext) -> list[Problem]:
    screening = ctx.assessment.screening
    if screening is not None and screening.outcome == ScreeningOutcome.EXEMPT:
        return [
            Problem.of(
                "screening.outcome",
                Text(N_("screening is exempt: no assessment is needed")),
                SCREENING,
            )
        ]
    return []


def screening_is_exempt(ctx: FlowContext) -> list[Problem]:
    screening = ctx.assessment.screening
    if screening is not None and screening.outcome != ScreeningOutcome.EXEMPT:
        return [
            Problem.of(
                "screening.outcome",
                Text(
                    N_("screening found that a %(depth)s is needed: begin it first"),
                    {"depth": screening.outcome.value},
                ),
                SCREENING,
            )
        ]
    return []


def follow_up_indicators_exist(ctx: FlowContext) -> list[Problem]:
    if not ctx.assessment.indicators:
        return [
            Problem.of(
                "follow_up_indicators",
                Text(N_("there are no follow-up indicators to follow")),
                INDICATORS,
            )
        ]
    return []


def participation_plan_for_full(ctx: FlowContext) -> list[Problem]:
    screening = ctx.assessment.screening
    if (
        screening is not None
        and screening.outcome == ScreeningOutcome.FULL
        and not (screening.participation_plan or "").strip()
    ):
        return [
            Problem.of(
                "screening.participation_plan",
                Text(N_("a full assessment needs a participation and communication plan")),
                SCREENING,
            )
        ]
    return []


def chosen_alternative_marked(ctx: FlowContext) -> list[Problem]:
    chosen = [a for a in ctx.assessment.alternatives if a.chosen]
    if not ctx.assessment.alternatives:
        return [
            Problem.of(
                "alternatives",
                Text(N_("no alternatives: at least the chosen one is assessed")),
                ALTERNATIVES,
            )
        ]
    if len(chosen) != 1:
        return [
            Problem.of(
                "alternatives",
                Text(
                    N_("exactly one alternative must be chosen, not %(count)s"),
                    {"count": len(chosen)},
                ),
                ALTERNATIVES,
            )
        ]
    return []


def required_questions_answered(ctx: FlowContext) -> list[Problem]:
    screening = ctx.assessment.screening
    if screening is None or screening.outcome == ScreeningOutcome.EXEMPT:
        return []
    problems, _ = missing_answers(
        ctx.bundle.checklists,
        screening.outcome,
        ctx.assessment.alternatives,
        ctx.assessment.answers,
    )
    return problems


def significant_negatives_mitigated(ctx: FlowContext) -> list[Problem]:
    return unmitigated_negatives(
        ctx.assessment.alternatives,
        ctx.assessment.answers,
        ctx.assessment.mitigations,
        ctx.bundle.checklists,
    )


def follow_up_indicators_named(ctx: FlowContext) -> list[Problem]:
    screening = ctx.assessment.screening
    if screening is None or screening.outcome != ScreeningOutcome.FULL:
        return []
    if not ctx.assessment.indicators:
        return [
            Problem.of(
                "follow_up_indicators",
                Text(N_("a full assessment names follow-up indicators")),
                INDICATORS,
            )
        ]
    return []


def reviewer_is_not_preparer(ctx: FlowContext) -> list[Problem]:
    if ctx.actor_id == ctx.proposal.preparer_id:
        return [
            Problem.of(
                "reviewer",
                Text(N_("the preparer cannot review their own proposal (four eyes)")),
                REVIEWER,
            )
        ]
    return []


def actor_is_presenter(ctx: FlowContext) -> list[Problem]:
    if ctx.actor_id != ctx.proposal.presenter_id:
        return [
            Problem.of(
                "presenter", Text(N_("only the proposal's presenter can sign it off")), PRESENTER
            )
        ]
    return []


def meeting_scheduled(ctx: FlowContext) -> list[Problem]:
    if ctx.meeting is None:
        return [
            Problem.of(
                "meeting",
                Text(N_("the proposal has not been scheduled for a meeting")),
                MEETING,
            )
        ]
    return []


def follow_ups_settled(ctx: FlowContext) -> list[Problem]:
    """Every follow-up of the proposal is done, or waived with a reason."""
    problems = []
    names = {i.id: i.name for i in ctx.assessment.indicators}
    for index, follow_up in enumerate(ctx.follow_ups):
        if follow_up.state == FollowUpState.DONE:
            continue
        if follow_up.state == FollowUpState.WAIVED and (follow_up.waive_reason or "").strip():
            continue
        problems.append(
            Problem.of(
                f"follow_ups[{index}]",
                Text(
                    N_("%(indicator)s (due %(due)s) has no result: record it or waive it"),
                    {
                        "indicator": names.get(follow_up.indicator_id, index + 1),
                        "due": follow_up.due.isoformat(),
                    },
                ),
                FOLLOW_UPS,
            )
        )
    return problems


def screening_exempt(ctx: FlowContext) -> bool:
    screening = ctx.assessment.screening
    return screening is not None and screening.outcome == ScreeningOutcome.EXEMPT


def has_follow_up_indicators(ctx: FlowContext) -> bool:
    return bool(ctx.assessment.indicators)


GUARDS: dict[str, Guard] = {
    g.__name__: g
    for g in (
        screening_recorded,
        screening_requires_assessment,
        screening_is_exempt,
        participation_plan_for_full,
        chosen_alternative_marked,
        required_questions_answered,
        significant_negatives_mitigated,
        follow_up_indicators_named,
        follow_up_indicators_exist,
        reviewer_is_not_preparer,
        actor_is_presenter,
        meeting_scheduled,
        follow_ups_settled,
    )
}

CONDITIONS: dict[str, Condition] = {
    c.__name__: c for c in (screening_exempt, has_follow_up_indicators)
}

# The guards and conditions that read no more of the assessment than its screening: a step
# whose routes name only these is checked without reading the assessment's alternatives,
# answers, mitigations and indicators (the screening comes with the proposal's lock).
SCREENING_ONLY: frozenset[str] = frozenset(
    {
        screening_recorded.__name__,
        screening_requires_assessment.__name__,
        screening_is_exempt.__name__,
        participation_plan_for_full.__name__,
        reviewer_is_not_preparer.__name__,
        actor_is_presenter.__name__,
        meeting_scheduled.__name__,
        screening_exempt.__name__,
    }
)
