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


def find(eva: Eva, caller: Caller, key: str) -> StoredResponse | None:
    """The response stored for the caller's key, if it is recent enough."""
    user_id = _user_id(eva, caller)
    with eva.uow() as uow:
        record = uow.session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id,
                IdempotencyRecord.key == key,
                IdempotencyRecord.created_at > utcnow() - RETENTION,
            )
        )
        if record is None:
            return None
        return StoredResponse(
            method=record.method,
            path=record.path,
            request_hash=record.request_hash,
            status_code=record.status_code,
            body=record.response_body,
            headers=dict(record.response_headers),
        )


def store(eva: Eva, caller: Caller, key: str, response: StoredResponse) -> None:
    """Keep the response for the key. Expired records (of anyone) go at the same time, so the
    table holds about a day of keys. If a concurrent request with the same key stored its
    response first, that one is kept."""
    user_id = _user_id(eva, caller)
    with eva.uow() as uow:
        uow.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= utcnow() - RETENTION)
        )
        uow.repos.add(
            IdempotencyRecord(
                user_id=user_id,
                key=key,
                method=response.method,
                path=response.path,
                request_hash=response.request_hash,
                status_code=response.status_code,
                response_body=response.body,
                response_headers=response.headers,
            )
        )
        try:
            uow.commit()
        except Conflict:
            return


def purge(eva: Eva) -> int:
    """Remove expired records; returns how many."""
    with eva.uow() as uow:
        result = uow.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= utcnow() - RETENTION)
        )
        uow.commit()
        return int(getattr(result, "rowcount", 0) or 0)
