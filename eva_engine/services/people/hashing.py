"""Password hashing with a bounded memory: argon2id with the library's recommended parameters
takes 64 MiB for each hash it computes, so a web worker whose threads all check a password at
once would need that many times 64 MiB. Here each process computes one hash at a time (the
hash itself already runs on several CPU threads); a login waits for the one before it instead
of growing the worker. The parameters, and so the strength, are unchanged."""

from __future__ import annotations

import threading
from typing import Literal

from argon2 import PasswordHasher


class OneAtATime(PasswordHasher):
    """A ``PasswordHasher`` that computes at most one hash at a time in this process."""

    _computing = threading.Lock()

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        with self._computing:
            return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._computing:
            return super().verify(hash, password)
