"""Webhooks: registered per organisation, POSTed as JSON to a real HTTP receiver on loopback
that checks the HMAC-SHA256 signature; a receiver that fails is retried; the event id lets
it de-duplicate."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from click.testing import CliRunner

from eva_engine.delivery.signing import signature, verify
from eva_engine.delivery.worker import deliver_pass, post_webhook
from eva_engine.errors import InvalidInput, NotFound, PermissionDenied
from eva_engine.models import utcnow
from eva_engine.services.notifications import outbox
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Channel, DeliveryState, NotificationKind
from tests.builders import ORG, as_, new_proposal, proposal_in
from tests.conftest import FreshDatabase, World
from tests.notify_support import BASE_URL, make_due, messages, settings, webhook_receiver


def register(eva: Eva, url: str, kinds: list[str] | None = None) -> outbox.NewWebhook:
    return outbox.create_webhook(
        eva,
        as_("admin"),
        outbox.CreateWebhook.model_validate(
            {"organisation": ORG, "url": url, "kinds": kinds or []}
        ),
    )


def hook_rows(eva: Eva) -> list[outbox.MessageView]:
    return messages(eva, channel=Channel.WEBHOOK)


def test_the_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    import hashlib  # noqa: PLC0415
    import hmac  # noqa: PLC0415

    body = b'{"kind":"overdue"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("s3cret", "1700000000", body) == f"sha256={expected}"
    assert verify("s3cret", "1700000000", body, f"sha256={expected}", now=1700000100)
    assert not verify("wrong", "1700000000", body, f"sha256={expected}", now=1700000100)
    assert not verify("s3cret", "1700000000", body + b" ", f"sha256={expected}", now=1700000100)
    assert not verify("s3cret", "1700000000", body, f"sha256={expected}", now=1700009999)
    assert not verify("s3cret", "yesterday", body, f"sha256={expected}")


def test_a_signed_event_reaches_the_receiver(eva: Eva, world: World) -> None:
    with webhook_receiver() as receiver:
        hook = register(eva, receiver.url)
        receiver.secret = hook.secret
        pid = new_proposal(eva)
        report = deliver_pass(eva, settings(None), scan=False)
        assert report.delivered == 1
    [request] = receiver.requests
    assert request["signed"]
    headers = request["headers"]
    payload = json.loads(request["body"])
    [row] = hook_rows(eva)
    assert row.state == DeliveryState.DELIVERED
    assert headers["x-eva-event-id"] == payload["event_id"] == row.event_id
    assert headers["x-eva-signature"].startswith("sha256=")
    assert abs(int(headers["x-eva-timestamp"]) - time.time()) < 60
    assert headers["content-type"].startswith("application/json")
    assert payload["kind"] == "assignment_made"
    assert payload["organisation"] == ORG
    assert payload["proposal"]["id"] == pid
    assert payload["assignment"]["kind"] == "prepare"
    assert payload["url"] == f"{BASE_URL}/proposals/{pid}"


def test_a_receiver_that_answers_500_gets_it_again_and_deduplicates(eva: Eva, world: World) -> None:
    with webhook_receiver() as receiver:
        hook = register(eva, receiver.url)
        receiver.secret = hook.secret
        receiver.plan = [500]
        new_proposal(eva)
        first = deliver_pass(eva, settings(None), scan=False)
        assert (first.delivered, first.retrying) == (0, 1)
        [row] = hook_rows(eva)
        assert row.state == DeliveryState.PENDING
        assert row.attempts == 1
        assert "answered HTTP 500" in (row.last_error or "")
        make_due(eva)
        second = deliver_pass(eva, settings(None), scan=False)
        assert second.delivered == 1
        make_due(eva)
        assert deliver_pass(eva, settings(None), scan=False).claimed == 0
    assert len(receiver.requests) == 2  # the same event twice: at least once
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    assert bodies[0] == bodies[1]  # same content, same event id...
    assert len(receiver.accepted) == 1  # ...so the receiver keeps it once
    [row] = hook_rows(eva)
    assert (row.state, row.attempts) == (DeliveryState.DELIVERED, 2)


def test_a_receiver_with_the_wrong_secret_refuses_and_it_is_retried(eva: Eva, world: World) -> None:
    with webhook_receiver() as receiver:
        register(eva, receiver.url)
        receiver.secret = "not-the-secret"  # noqa: S105
        new_proposal(eva)
        report = deliver_pass(eva, settings(None, max_attempts=2), scan=False)
        assert report.retrying == 1
        make_due(eva)
        assert deliver_pass(eva, settings(None, max_attempts=2), scan=False).dead == 1
    assert receiver.bad_signatures == 2
    [row] = hook_rows(eva)
    assert row.state == DeliveryState.DEAD
    assert "answered HTTP 401" in (row.last_error or "")


def test_a_receiver_that_is_down_loses_nothing(eva: Eva, world: World) -> None:
    with webhook_receiver() as receiver:
        url = receiver.url
    hook = register(eva, url)  # the receiver has gone away
    pid = proposal_in(eva, "screening")
    report = deliver_pass(eva, settings(None), scan=False)
    assert report.retrying == 1
    [row] = hook_rows(eva)
    assert "ConnectError" in (row.last_error or "")
    with webhook_receiver() as receiver:
        receiver.secret = hook.secret
        hook_rows_before = hook_rows(eva)
        # The receiver comes back on another port: the administrators point the hook there.
        with eva.uow() as uow:
            from eva_engine.db import outbox as store  # noqa: PLC0415

            stored = store.webhook(uow.repos.session, hook.id)
            assert stored is not None
            stored.url = receiver.url
            uow.commit()
        make_due(eva)
        assert deliver_pass(eva, settings(None), scan=False).delivered == len(hook_rows_before)
    assert [json.loads(r["body"])["proposal"]["id"] for r in receiver.requests] == [pid]


def test_a_disabled_webhook_gets_nothing_new(eva: Eva, world: World) -> None:
    hook = register(eva, "https://hooks.example.fi/x", ["overdue"])
    assert hook.kinds == ["overdue"]
    outbox.disable_webhook(eva, as_("admin"), hook.id)
    proposal_in(eva, "review")
    assert hook_rows(eva) == []
    [listed] = outbox.list_webhooks(eva, as_("admin"))
    assert not listed.active
    assert "secret" not in listed.model_dump()


def test_only_the_organisations_administrators_manage_webhooks(eva: Eva, world: World) -> None:
    with pytest.raises(PermissionDenied):
        outbox.create_webhook(
            eva,
            as_("prep"),
            outbox.CreateWebhook.model_validate(
                {"organisation": ORG, "url": "https://hooks.example.fi/x"}
            ),
        )
    hook = register(eva, "https://hooks.example.fi/x")
    with pytest.raises(NotFound):
        outbox.disable_webhook(eva, as_("outsider"), hook.id)
    with pytest.raises(PermissionDenied):
        outbox.list_webhooks(eva, as_("outsider"))
    with pytest.raises(ValueError, match="url"):
        outbox.CreateWebhook.model_validate({"organisation": ORG, "url": "ftp://x"})
    with pytest.raises(InvalidInput):
        register(eva, "https://hooks.example.fi/" + "x" * 500)


def test_post_webhook_sends_the_documented_headers(eva: Eva, world: World) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    delivery = outbox.Delivery(
        id=7,
        token=utcnow(),
        event_id="0f8b8c9e-1d2a-4b5c-8d7e-6f5a4b3c2d1e",
        kind=NotificationKind.OVERDUE,
        channel=Channel.WEBHOOK,
        attempts=0,
        payload={"proposal": {"id": 3}, "kind": "overdue"},
        webhook_url="https://hooks.example.fi/eva",
        webhook_secret="s3cret",  # noqa: S106
    )
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        assert post_webhook(delivery, settings(None), client) == 204
    [request] = seen
    headers = request.headers
    assert verify("s3cret", headers["X-Eva-Timestamp"], request.content, headers["X-Eva-Signature"])
    assert headers["X-Eva-Event-Id"] == delivery.event_id
    assert headers["X-Eva-Event-Kind"] == "overdue"
    assert headers["X-Eva-Delivery"] == "7"


def test_the_webhook_commands(fresh_databases: FreshDatabase) -> None:
    from eva_engine.cli import cli  # noqa: PLC0415

    url = fresh_databases.new_url()
    runner = CliRunner()

    def eva(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), env={"EVA_DATABASE_URL": url})
        assert result.exit_code == code, (args, result.output, result.exception)
        return result.stdout + result.stderr

    eva("db", "upgrade")
    eva(
        "orgs", "create", ORG, "--name-fi", "Testilä",
        "--case-pattern", r"\d+", "--case-example", "1",
    )  # fmt: skip
    created = eva(
        "webhooks", "create", "--org", ORG, "--url", "https://hooks.example.fi/eva",
        "--kind", "overdue", "--kind", "due_soon",
    )  # fmt: skip
    assert "secret (shown only now): " in created
    secret = created.split("secret (shown only now): ")[1].strip()
    assert len(secret) == 64
    listed = json.loads(eva("webhooks", "list", "--json"))
    assert [(h["url"], h["kinds"], h["active"]) for h in listed] == [
        ("https://hooks.example.fi/eva", ["overdue", "due_soon"], True)
    ]
    assert secret not in eva("webhooks", "list")
    assert "disabled" in eva("webhooks", "disable", str(listed[0]["id"]))
    listed_en = eva("--language", "en", "webhooks", "list")
    assert "(disabled; task overdue, task due soon)" in listed_en  # the kinds by their names
    assert "no webhook 99" in eva("webhooks", "disable", "99", code=3)
    assert "url" in eva("webhooks", "create", "--org", ORG, "--url", "not a url", code=7)
    assert "0 due soon, 0 overdue" in eva("notifications", "scan")


def test_the_documented_verification_code_accepts_eva_signatures() -> None:
    import re  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    doc = (Path(__file__).resolve().parent.parent / "docs" / "notifications.md").read_text()
    [code] = [c for c in re.findall(r"```python\n(.*?)```", doc, re.DOTALL) if "hmac" in c]
    namespace: dict[str, object] = {}
    exec(code, namespace)  # noqa: S102 - the documentation's own example
    check = namespace["eva_signature_ok"]
    assert callable(check)
    body = b'{"event_id":"x"}'
    now = str(int(time.time()))
    headers = {"X-Eva-Timestamp": now, "X-Eva-Signature": signature("k", now, body)}
    assert check("k", headers, body)
    assert not check("other", headers, body)
    assert not check("k", {**headers, "X-Eva-Timestamp": "1000"}, body)


def test_in_production_a_webhook_to_an_internal_address_is_refused_for_good(
    eva: Eva, world: World
) -> None:
    """Server-side request forgery: an administrator's webhook must not reach the server's own
    network in production (loopback here), unless that is allowed explicitly."""
    from eva_engine.config import NotifySettings  # noqa: PLC0415

    production = NotifySettings.from_env({"EVA_ENV": "production"})
    assert not production.webhook_allow_private
    assert NotifySettings.from_env(
        {"EVA_ENV": "production", "EVA_WEBHOOK_ALLOW_PRIVATE": "1"}
    ).webhook_allow_private
    assert NotifySettings.from_env({"EVA_ENV": "development"}).webhook_allow_private
    with webhook_receiver() as receiver:
        hook = register(eva, receiver.url)
        receiver.secret = hook.secret
        new_proposal(eva)
        report = deliver_pass(eva, settings(None, webhook_allow_private=False), scan=False)
        assert receiver.requests == []  # nothing was sent
    [row] = hook_rows(eva)
    assert row.state == DeliveryState.DEAD  # refused for good, not retried
    assert "non-public address 127.0.0.1" in (row.last_error or "")
    assert report.delivered == 0
