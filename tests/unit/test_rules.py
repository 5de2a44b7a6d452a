"""A rule of ``access`` is declared once and answers both questions: which role a user acts in
when a service checks it, and whether a page should offer the act at all."""

from __future__ import annotations

from eva_engine.models import RoleGrant
from eva_engine.services.access import ADMINISTER, EDIT_ASSESSMENT, PREPARE, READ_WHOLE_HISTORY
from eva_engine.vocabulary import Role


def grant(role: Role, body_id: int | None = None) -> RoleGrant:
    return RoleGrant(user_id=1, organisation_id=1, role=role, body_id=body_id)


def test_the_first_role_of_the_rule_that_is_held_is_the_role_acted_in() -> None:
    assert EDIT_ASSESSMENT.allowed({Role.EXPERT, Role.PREPARER}) == Role.PREPARER
    assert EDIT_ASSESSMENT.allowed({Role.EXPERT}) == Role.EXPERT
    assert EDIT_ASSESSMENT.allowed({Role.AUDITOR, Role.SECRETARY}) is None


def test_a_grant_for_one_body_allows_a_body_rule_but_not_a_whole_organisation_one() -> None:
    assert PREPARE.allowed_somewhere([grant(Role.PREPARER, body_id=7)])
    assert not ADMINISTER.allowed_somewhere([grant(Role.ADMIN, body_id=7)])
    assert ADMINISTER.allowed_somewhere([grant(Role.ADMIN)])
    held = [grant(Role.PREPARER), grant(Role.AUDITOR, body_id=7), grant(Role.AUDITOR)]
    assert READ_WHOLE_HISTORY.grants(held) == [held[2]]
