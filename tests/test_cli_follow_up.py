"""``eva follow-up list|record|waive``: listing, recording a result and waiving (with and
without a reason), refusals named by field, and another organisation's follow-ups not found."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from eva_engine.rendering.language import format_date
from eva_engine.services.follow_up import queries
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import FollowUpState
from tests.api_support import api_app, api_as
from tests.builders import OPERATOR, build_foreign
from tests.conftest import World
from tests.exchange_support import run, run_json
from tests.follow_up_support import foreign_follow_up
from tests.test_follow_up import TODAY, decided, ids

__all__ = ["api_app", "api_as"]


def body(**changes: Any) -> dict[str, Any]:
    return {
        "value": "61 %",
        "measured_on": (TODAY - timedelta(days=10)).isoformat(),
        "source_kind": "teaviisari",
        "source_reference": "TEAviisari 2026, kuntajohto",
        "outcome": "as_predicted",
        **changes,
    }


# the command line ---------------------------------------------------------------------------
def test_the_command_line_lists_records_and_waives(eva: Eva, world: World) -> None:
    pid = decided(eva)
    first, second = ids(eva, pid)
    listed = run(eva, "--language", "en", "follow-up", "list", str(pid), "--as", "prep").stdout
    assert "2 open, 0 overdue" in listed
    assert "Mittari" in listed
    assert "Liikuntapaikkojen käyttäjämäärä" in listed
    mine = run_json(eva, "follow-up", "list", "--as", "prep")
    assert [i["follow_up_id"] for i in mine["items"]] == [first, second]
    recorded = run(
        eva,
        "--language",
        "en",
        "follow-up",
        "record",
        str(first),
        "--value",
        "61 %",
        "--measured-on",
        TODAY.isoformat(),
        "--source",
        "sotkanet",
        "--reference",
        "289",
        "--outcome",
        "worse",
        "--as",
        "prep",
    ).stdout
    assert "Result recorded" in recorded
    assert f"61 %, {format_date(TODAY, 'en')} (Worse than predicted)" in recorded
    missing = run(eva, "follow-up", "waive", str(second), "--reason", " ", "--as", "prep", code=7)
    assert "reason" in missing.stderr
    run(eva, "follow-up", "waive", str(second), "--reason", "Ei mitata.", "--as", "pres")
    states = [f.state for f in queries.proposal_follow_ups(eva, OPERATOR, pid).follow_ups]
    assert states == [FollowUpState.DONE, FollowUpState.WAIVED]
    waiting = run(eva, "--language", "en", "follow-up", "list", "--as", "prep").stdout
    assert "No follow-ups waiting." in waiting


def test_the_command_line_refuses_another_organisation_and_bad_input(
    eva: Eva, world: World
) -> None:
    foreign = build_foreign(eva)
    theirs = foreign_follow_up(eva, foreign)
    pid = decided(eva)
    first, _ = ids(eva, pid)
    nowhere = run(eva, "follow-up", "waive", str(theirs), "--reason", "x", "--as", "admin", code=3)
    assert f"no follow-up {theirs}" in nowhere.stderr
    future = (TODAY + timedelta(days=2)).isoformat()
    late = run(
        eva,
        "follow-up",
        "record",
        str(first),
        "--value",
        "1",
        "--measured-on",
        future,
        "--source",
        "own_data",
        "--outcome",
        "better",
        "--as",
        "prep",
        code=7,
    )
    assert "measured_on" in late.stderr
    overdue = run(eva, "follow-up", "list", "--overdue", "--as", "aud").stdout
    assert "No follow-ups waiting." in overdue
