"""Stored results of POST requests sent with an ``Idempotency-Key``: a retry with the same key
and the same request gets the stored response instead of doing the change twice; the same key
with another request is refused. Keys are per user and kept for ``RETENTION``.

The record, the change and the stored response are one transaction: the entry point opens
``Eva.transaction()``, ``claim``s the key, runs the request, ``complete``s the record with the
response and commits once. A request that fails, or a process that dies before the commit,
leaves nothing behind (the key is free again); once committed, the response is there. A
duplicate sent at the same moment waits for the first one's transaction — on PostgreSQL on the
unique (user, key) index, on SQLite for the write lock — and then gets its stored response."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from eva_engine.db.idempotency import IdempotencyRecords
from eva_engine.errors import N_, NotFound, Text
from eva_engine.models import IdempotencyRecord, utcnow
from eva_engine.services.runtime import Caller, Eva

RETENTION = timedelta(hours=24)

# The status of a record whose request has not finished. Such a record is only ever seen by
# the transaction that made it; one found committed (left by an older version) means nothing.
IN_PROGRESS = 0


class StoredResponse(BaseModel):
    method: str
    path: str
    request_hash: str
    status_code: int
    body: str
    headers: dict[str, str]


def _user_id(eva: Eva, caller: Caller) -> int:
    with eva.reading() as uow:
        user = uow.repos.user_by_username(caller.username or "")
        if user is None:
            raise NotFound(
                Text(N_("There is no user %(username)s."), {"username": caller.username or ""})
            )
        return user.id


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
    """Claim the key for this request, inside the entry point's transaction: None if this
    request now holds it (and is to run), else the response stored for it. A concurrent
    request with the same key holds this one up until its transaction ends: committed, its
    response is returned; rolled back, the key is this request's."""
    user_id = _user_id(eva, caller)
    with eva.uow() as uow:
        # This user's expired records go (only theirs: the rows stay locked until the request
        # commits, and nobody else's request should wait for that).
        records = IdempotencyRecords(uow.session)
        records.remove_expired(utcnow() - RETENTION, user_id)
        existing = records.find(user_id, key)
        if existing is not None and existing.status_code == IN_PROGRESS:
            records.remove(existing)  # left unfinished by an older version: the key is free
            existing = None
        if existing is not None:
            return _stored(existing)
        values = {
            "user_id": user_id,
            "key": key,
            "method": method,
            "path": path,
            "request_hash": request_hash,
            "status_code": IN_PROGRESS,
            "response_body": "",
            "response_headers": {},
        }
        if records.insert_if_absent(values) is None:
            # Another request with this key committed while this one waited on the index.
            record = records.find(user_id, key)
            if record is not None:
                return _stored(record)
        uow.commit()
        return None


def complete(eva: Eva, caller: Caller, key: str, response: StoredResponse) -> None:
    """Store the response of the request that holds the key (committed with its change)."""
    user_id = _user_id(eva, caller)
    with eva.uow() as uow:
        record = IdempotencyRecords(uow.session).find(user_id, key)
        if record is None:  # pragma: no cover - claimed in this very transaction
            return
        record.status_code = response.status_code
        record.response_body = response.body
        record.response_headers = response.headers
        uow.commit()


def release(eva: Eva, caller: Caller, key: str) -> None:
    """The request did not succeed: its claim goes, so the client may retry with the key."""
    user_id = _user_id(eva, caller)
    with eva.uow() as uow:
        IdempotencyRecords(uow.session).remove_key(user_id, key, IN_PROGRESS)
        uow.commit()


def purge(eva: Eva) -> int:
    """Remove expired records; returns how many."""
    with eva.uow() as uow:
        removed = IdempotencyRecords(uow.session).remove_expired(utcnow() - RETENTION)
        uow.commit()
        return removed
