"""Webhook signatures: ``X-Eva-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``
with the webhook's secret, ``X-Eva-Timestamp`` in Unix seconds. ``verify`` is what a receiver
does (``docs/notifications.md`` has a stand-alone copy)."""

from __future__ import annotations

import hashlib
import hmac
import time

SCHEME = "sha256="
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True if ``header`` signs this body and timestamp, and the timestamp is recent (a replayed
    old request is refused)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)
