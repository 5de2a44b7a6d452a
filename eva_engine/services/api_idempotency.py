"""Stored results of POST requests sent with an ``Idempotency-Key``: a retry with the same key
and the same request gets the stored response instead of doing the change twice; the same key
with another request is refused. Keys are per user and kept for ``RETENTION``."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from sqlalchemy import delete, select

from eva_engine.errors import Conflict, NotFound
from eva_engine.models import IdempotencyRecord, utcnow
from eva_engine.services.runtime import Caller, Eva

RETENTION = timedelta(hours=24)


class StoredResponse(BaseModel):
    method: str
    path: str
    request_hash: str
    status_code: int
    body: str
    headers: dict[str, str]


def _user_id(eva: Eva, caller: Caller) -> int:
    with eva.uow() as uow:
        user = uow.repos.user_by_username(caller.username or "")
        if user is None:
            raise NotFound(f"no user {caller.username!r}")
        return user.id


IN_PROGRESS = 0  # the status of a claimed key whose request has not finished


def _stored(record: IdempotencyRecord) -> StoredResponse:
    return StoredResponse(
        method=record.method,
        path=record.path,
        request_hash=record.request_hash,
        status_code=record.status_code,
        body=record.response_body,
        headers=dict(record.response_headers),
    )


def claim(
    eva: Eva, caller: Caller, key: str, method: str, path: str, request_hash: str
) -> StoredResponse | None:
    """Claim the key before the request runs, so that two requests with one key sent at the
    same moment cannot both make the change: None if this request now holds the key; else
    what is stored for it (``status_code`` 0 while the other request is still running)."""
    user_id = _user_id(eva, caller)
    for _ in range(2):
        with eva.uow() as uow:
            uow.session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.created_at <= utcnow() - RETENTION
                )
            )
            record = uow.session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
                )
            )
            if record is not None:
                return _stored(record)
            uow.repos.add(
                IdempotencyRecord(
                    user_id=user_id,
                    key=key,
                    method=method,
                    path=path,
                    request_hash=request_hash,
                    status_code=IN_PROGRESS,
                    response_body="",
                    response_headers={},
                )
            )
            try:
                uow.commit()
            except Conflict:
                continue  # claimed by a concurrent request this instant: read what it holds
            return None
    raise Conflict("the Idempotency-Key is being claimed by another request; retry")


def complete(eva: Eva, caller: Caller, key: str, response: StoredResponse) -> None:
    """Store the response of the request that holds the key."""
    user_id = _user_id(eva, caller)
    with eva.uow() as uow:
        record = uow.session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
            )
        )
        if record is None:  # pragma: no cover - purged while the request ran
            return
        record.status_code = response.status_code
        record.response_body = response.body
        record.response_headers = response.headers
        uow.commit()


def release(eva: Eva, caller: Caller, key: str) -> None:
    """The request failed: the key is free again, so the client may retry with it."""
    user_id = _user_id(eva, caller)
    with eva.uow() as uow:
        uow.session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id,
                IdempotencyRecord.key == key,
                IdempotencyRecord.status_code == IN_PROGRESS,
            )
        )
        uow.commit()


def purge(eva: Eva) -> int:
    """Remove expired records; returns how many."""
    with eva.uow() as uow:
        result = uow.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= utcnow() - RETENTION)
        )
        uow.commit()
        return int(getattr(result, "rowcount", 0) or 0)
