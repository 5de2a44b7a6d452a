"""Where the rate limiter counts: eva's own database (the embedded default, shared by every
worker process with nothing else to run) or a standard ``limits`` storage given by URI
(``EVA_RATELIMIT_STORAGE_URI``: ``redis://…``, ``memcached://…``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from limits.errors import ConfigurationError as LimitsConfigurationError
from limits.storage import Storage, storage_from_string

from eva_engine.db.rate_limits import SCHEME, DatabaseStorage
from eva_engine.errors import ConfigurationError
from eva_engine.services.runtime import Eva

__all__ = ["SCHEME", "Storage", "storage"]


def storage(eva: Eva, uri: str | None = None) -> Storage:
    """The counters' storage. Its errors are raised as ``limits.errors.StorageError``."""
    if not uri or urlsplit(uri).scheme == SCHEME:
        return DatabaseStorage(database=eva.database, wrap_exceptions=True)
    try:
        found = storage_from_string(uri, wrap_exceptions=True)
    except LimitsConfigurationError as exc:
        raise ConfigurationError(f"EVA_RATELIMIT_STORAGE_URI is not usable: {exc}") from None
    if not isinstance(found, Storage):
        raise ConfigurationError(
            "EVA_RATELIMIT_STORAGE_URI must name a synchronous storage, not an async+ one"
        )
    return found
