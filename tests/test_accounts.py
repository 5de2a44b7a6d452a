"""Web accounts: argon2id passwords, logins that reveal nothing, sessions ended on the server."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from eva_engine.errors import InvalidInput, PermissionDenied
from eva_engine.models import AuditEvent
from eva_engine.services.history import trail
from eva_engine.services.people import accounts
from eva_engine.services.runtime import Eva
from tests.builders import OPERATOR, as_
from tests.conftest import World

PASSWORD = "kolme-sanaa-pitkä"  # noqa: S105 - a test password


@pytest.fixture
def prep_password(eva: Eva, world: World) -> str:
    accounts.set_password(eva, OPERATOR, "prep", PASSWORD)
    return PASSWORD


def events(eva: Eva) -> list[tuple[str, str]]:
    with eva.uow() as uow:
        rows = uow.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        return [(e.action, e.actor_name) for e in rows if e.action.startswith("user.log")]


def test_the_right_password_logs_in_and_the_hash_is_argon2id(eva: Eva, prep_password: str) -> None:
    user = accounts.authenticate(eva, "prep", prep_password)
    assert user is not None
    assert user.username == "prep"
    with eva.uow() as uow:
        stored = uow.repos.user_by_username("prep")
        assert stored is not None
        assert (stored.password_hash or "").startswith("$argon2id$")


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer_and_are_logged(
    eva: Eva, prep_password: str
) -> None:
    assert accounts.authenticate(eva, "prep", "wrong password!") is None
    assert accounts.authenticate(eva, "ghost", prep_password) is None
    assert events(eva) == [("user.login_failed", "prep"), ("user.login_failed", "unknown user")]


@pytest.mark.parametrize("typed", ["Salainen-Sana-2027!", "  prep-salasana ", "ghost", "PREP x"])
def test_a_typed_username_that_names_nobody_never_enters_the_history(
    eva: Eva, prep_password: str, typed: str
) -> None:
    # People type their password into the username field; the history is append-only.
    assert accounts.authenticate(eva, typed, prep_password) is None
    with eva.uow() as uow:
        rows = uow.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        recorded = json.dumps(
            [{c.name: getattr(e, c.name) for c in AuditEvent.__table__.columns} for e in rows],
            default=str,
        )
    assert typed.strip() not in recorded
    assert typed.strip().lower() not in recorded.lower()
    assert events(eva)[-1] == ("user.login_failed", accounts.UNKNOWN_USER)
    # A username that names a real user is recorded as that user.
    assert accounts.authenticate(eva, " PREP ", "väärin-arvattu-sana") is None
    assert events(eva)[-1] == ("user.login_failed", "prep")


def test_a_user_without_a_password_cannot_log_in(eva: Eva, world: World) -> None:
    assert accounts.authenticate(eva, "sec", "") is None


def test_logging_out_ends_the_session_on_the_server(eva: Eva, prep_password: str) -> None:
    user = accounts.authenticate(eva, "prep", prep_password)
    assert user is not None
    assert accounts.session_user(eva, user.id, user.epoch) is not None
    accounts.end_sessions(eva, user.id)
    assert accounts.session_user(eva, user.id, user.epoch) is None
    assert events(eva)[-1] == ("user.logout", "prep")


def test_disabling_an_account_ends_its_sessions_and_its_logins(
    eva: Eva, prep_password: str
) -> None:
    user = accounts.authenticate(eva, "prep", prep_password)
    assert user is not None
    accounts.set_active(eva, as_("admin"), "prep", active=False, organisation="testila")
    assert accounts.session_user(eva, user.id, user.epoch) is None
    assert accounts.authenticate(eva, "prep", prep_password) is None


def test_changing_the_own_password_needs_the_current_one_and_ends_sessions(
    eva: Eva, prep_password: str
) -> None:
    user = accounts.authenticate(eva, "prep", prep_password)
    assert user is not None
    with pytest.raises(InvalidInput, match="current password is wrong"):
        accounts.set_password(eva, as_("prep"), "prep", "uusi-hyvä-salasana", "arvaus")
    accounts.set_password(eva, as_("prep"), "prep", "uusi-hyvä-salasana", prep_password)
    assert accounts.session_user(eva, user.id, user.epoch) is None
    assert accounts.authenticate(eva, "prep", "uusi-hyvä-salasana") is not None


def test_a_weak_password_is_refused_with_every_reason(eva: Eva, world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        accounts.set_password(eva, OPERATOR, "prep", "prep123")
    assert [p.message for p in caught.value.problems] == [
        "The password is too short: give at least 12 characters.",
        "The password must not contain the username: choose another.",
    ]


def test_only_an_administrator_sets_another_users_password(eva: Eva, world: World) -> None:
    with pytest.raises(PermissionDenied):
        accounts.set_password(eva, as_("sec"), "prep", PASSWORD, organisation="testila")
    accounts.set_password(eva, as_("admin"), "prep", PASSWORD, organisation="testila")
    changes = [e for e in history_of_user(eva) if e[0] == "user.update"]
    assert changes[-1][1] == "<redacted>"


def history_of_user(eva: Eva) -> list[tuple[str, str]]:

    with eva.uow() as uow:
        rows = uow.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "user")
            .order_by(AuditEvent.occurred_at, AuditEvent.seq)  # across the users' chains
        ).all()
        return [(e.action, json.loads(e.after or "{}").get("password_hash", "")) for e in rows]


def test_history_is_untouched_by_the_session_epoch(eva: Eva, prep_password: str) -> None:
    user = accounts.authenticate(eva, "prep", prep_password)
    assert user is not None
    accounts.end_sessions(eva, user.id)
    assert [a for a, _ in history_of_user(eva)][-2:] == ["user.login", "user.logout"]
    assert trail.verify(eva).ok
