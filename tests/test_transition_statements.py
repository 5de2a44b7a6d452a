"""A workflow step costs its writes and a fixed few statements more (issue 10, part 3): one
statement locks the proposal and reads with it everything its checks, effects and notices
need; one more reads the assessment's lists when a guard needs them, or the receivers of a
task it opens for a queue (submitting for review needs both); everything else the step does
is a write (the proposal, the tasks it closes and opens, its notices in one INSERT, its audit
events in another, the chain head). The count does not depend on how long the proposal's or
the organisation's history is.

How statements are counted: every call of SQLAlchemy's ``before_cursor_execute`` on the
database's engine is one statement as the driver sends it (a query; an INSERT of many rows is
one), less the transaction control the tests' rolled-back outer transaction adds
(SAVEPOINT, RELEASE, ROLLBACK TO)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from sqlalchemy import event

from eva_engine.services.assessment import documents
from eva_engine.services.runtime import Eva
from eva_engine.services.steps import transitions
from eva_engine.vocabulary import ScreeningOutcome
from tests.builders import as_, document, new_proposal, screen
from tests.conftest import World

CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")
WRITES = ("INSERT", "UPDATE", "DELETE")
# The normal path to the presenter's sign-off, with who takes each step and how many
# statements it may read beyond the two: submitting for review reads both the assessment's
# lists (its guards check every answer) and the receivers of the review queue (the holders of
# its roles), the one step that needs both.
PATH = (
    ("start_screening", "prep", 0),
    ("begin_assessment", "prep", 0),
    ("submit_for_review", "prep", 1),
    ("pass_review", "sec", 0),
    ("sign_off", "pres", 0),
)
BEYOND_WRITES = 2


@dataclass(frozen=True)
class Cost:
    statements: int
    writes: int

    @property
    def reads(self) -> int:
        return self.statements - self.writes


@contextmanager
def counted(eva: Eva) -> Iterator[list[str]]:
    statements: list[str] = []

    def note(*args: Any) -> None:
        sql = str(args[2]).lstrip().upper()  # (conn, cursor, statement, parameters, ...)
        if not sql.startswith(CONTROL):
            statements.append(sql)

    engine = eva.database.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def cost(eva: Eva, step: Callable[[], object]) -> Cost:
    with counted(eva) as statements:
        step()
    return Cost(len(statements), sum(1 for s in statements if s.startswith(WRITES)))


def walk(eva: Eva, pid: int, steps: int = len(PATH)) -> dict[str, Cost]:
    """The cost of each of the first ``steps`` steps of the normal path (the screening and
    the assessment are recorded between them, not counted)."""
    costs: dict[str, Cost] = {}
    for trigger, actor, _ in PATH[:steps]:
        if trigger == "begin_assessment":
            screen(eva, pid, ScreeningOutcome.LIGHT, "prep")
        if trigger == "submit_for_review":
            documents.import_assessment(
                eva, as_("prep"), pid, document(eva, ScreeningOutcome.LIGHT)
            )
        costs[trigger] = cost(eva, partial(transitions.fire, eva, as_(actor), pid, trigger))
    return costs


@pytest.mark.postgres
def test_a_workflow_step_runs_its_writes_and_at_most_two_statements_more(
    eva: Eva, world: World
) -> None:
    costs = walk(eva, new_proposal(eva))
    for trigger, _, extra in PATH:
        found = costs[trigger]
        assert found.writes >= 3, (trigger, found)  # the proposal, the chain head, the events
        assert found.statements <= found.writes + BEYOND_WRITES + extra, (trigger, found)


def review_round(eva: Eva, pid: int) -> tuple[Cost, Cost]:
    """Returned for revision by the reviewer and submitted again: the cost of each."""
    back = cost(
        eva,
        lambda: transitions.fire(eva, as_("sec"), pid, "return_for_revision", reason="Tarkenna."),
    )
    return back, cost(eva, lambda: transitions.fire(eva, as_("prep"), pid, "submit_for_review"))


@pytest.mark.postgres
def test_a_steps_statements_do_not_grow_with_the_history_of_the_proposal_or_organisation(
    eva: Eva, world: World
) -> None:
    fresh = walk(eva, new_proposal(eva))
    pid = new_proposal(eva)
    walk(eva, pid, 3)  # in review
    first = review_round(eva, pid)
    for _ in range(8):  # the proposal's own history grows by 8 rounds of review
        review_round(eva, pid)
    assert review_round(eva, pid) == first
    assert (
        cost(eva, lambda: transitions.fire(eva, as_("sec"), pid, "pass_review"))
        == fresh["pass_review"]
    )
    assert (
        cost(eva, lambda: transitions.fire(eva, as_("pres"), pid, "sign_off")) == fresh["sign_off"]
    )
    for _ in range(3):  # and the organisation's by more proposals walked the same way
        walk(eva, new_proposal(eva))
    assert walk(eva, new_proposal(eva)) == fresh
